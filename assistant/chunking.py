"""Article -> Chunks: token-aware, sentence-aligned, overlapping, pure.

Each chunk is an exact slice ``article.text[start:end]`` so that every quote taken
from a chunk is also a verbatim quote of the article. Token counts use the
embedding model's own tokenizer: MiniLM silently truncates past 256 word pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.schemas import Article, Chunk
from assistant.sentences import sentence_spans

TokenCounter = Callable[[str], int]
_WORD_END = re.compile(r"\S+\s*")


def _split_long(text: str, start: int, end: int, *, count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into word-aligned pieces of at most ``limit`` tokens."""
    pieces: list[tuple[int, int]] = []
    piece_start = start
    piece_end = start
    for match in _WORD_END.finditer(text, start, end):
        candidate_end = match.start() + len(match.group(0).rstrip())
        if piece_end > piece_start and count(text[piece_start:candidate_end]) > limit:
            pieces.append((piece_start, piece_end))
            piece_start = match.start()
        piece_end = candidate_end
    if piece_end > piece_start:
        pieces.append((piece_start, piece_end))
    return pieces


def _units(text: str, *, count: TokenCounter, limit: int) -> list[tuple[int, int, int]]:
    """Sentences (or pieces of over-long ones) as ``(start, end, tokens)``."""
    units: list[tuple[int, int, int]] = []
    for start, end in sentence_spans(text):
        tokens = count(text[start:end])
        if tokens <= limit:
            units.append((start, end, tokens))
            continue
        for s, e in _split_long(text, start, end, count=count, limit=limit):
            units.append((s, e, count(text[s:e])))
    return units


def _next_start(units: list[tuple[int, int, int]], first: int, last: int, overlap: int) -> int:
    """Index of the first unit of the next chunk: back off from ``last`` while within ``overlap`` tokens."""
    start = last + 1
    carried = 0
    while start - 1 > first and carried + units[start - 1][2] <= overlap:
        start -= 1
        carried += units[start][2]
    return start


def _grow(
    text: str, units: list[tuple[int, int, int]], first: int, *, count: TokenCounter, limit: int
) -> tuple[int, int]:
    """The last unit of the chunk that starts at unit ``first``, and the chunk's token count.

    The count is the one the last accepted candidate got (or the first unit's own), so a chunk's text
    is never counted twice: token counts are most of the chunker's time.
    """
    last, tokens = first, units[first][2]
    while last + 1 < len(units):
        candidate = count(text[units[first][0] : units[last + 1][1]])
        if candidate > limit:
            break
        last, tokens = last + 1, candidate
    return last, tokens


def chunk_article(
    article: Article,
    *,
    count_tokens: TokenCounter,
    target_tokens: int = 180,
    overlap_tokens: int = 40,
    max_tokens: int = 256,
) -> list[Chunk]:
    """Split ``article`` into chunks of about ``target_tokens`` (never over ``max_tokens``)."""
    if overlap_tokens >= target_tokens:
        raise ValueError("overlap_tokens must be smaller than target_tokens")
    limit = min(target_tokens, max_tokens)
    text = article.text
    units = _units(text, count=count_tokens, limit=limit)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last, tokens = _grow(text, units, first, count=count_tokens, limit=limit)
        start, end = units[first][0], units[last][1]
        chunks.append(
            Chunk(
                id=f"{article.id}:{len(chunks)}",
                article_id=article.id,
                n=len(chunks),
                text=text[start:end],
                start=start,
                end=end,
                tokens=tokens,
            )
        )
        if last + 1 >= len(units):
            break
        first = _next_start(units, first, last, overlap_tokens)
    return chunks
