"""Sentences, chunks, tokens and prompts: the pure pieces under ingestion and answering."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import tokens
from assistant.chunking import chunk_article
from assistant.errors import ConfigError
from assistant.prompts import load_prompt, parse_prompt
from assistant.providers import MINILM_MAX_TOKENS, minilm_count_tokens
from assistant.schemas import Article
from assistant.sentences import split_sentences
from tests.conftest import SEED_FILE


def seed_article() -> Article:
    return Article(id="seed", title="t", text=SEED_FILE.read_text(encoding="utf-8").strip())


def test_sentences_keep_abbreviations_and_initials() -> None:
    text = "Mr. Smith met Dr. J. Jones at 3 p.m. on Monday. The U.N. Security Council met. Did it end? Yes!"
    assert split_sentences(text) == [
        "Mr. Smith met Dr. J. Jones at 3 p.m. on Monday.",
        "The U.N. Security Council met.",
        "Did it end?",
        "Yes!",
    ]


def test_sentences_of_the_seed() -> None:
    sentences = split_sentences(SEED_FILE.read_text(encoding="utf-8"))
    assert len(sentences) == 18
    assert sentences[5].startswith("Among the locations targeted")
    assert sentences[5].endswith("(also known as Bint Jubayl).")


def test_chunks_are_exact_sentence_aligned_slices_within_minilm_limit() -> None:
    article = seed_article()
    chunks = chunk_article(article, count_tokens=minilm_count_tokens, target_tokens=120, overlap_tokens=30)
    assert len(chunks) >= 3
    sentence_starts = {article.text.index(s) for s in split_sentences(article.text)}
    for n, chunk in enumerate(chunks):
        assert chunk.id == f"seed:{n}"
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.start in sentence_starts
        assert chunk.text.strip() == chunk.text and chunk.text
        assert chunk.tokens == minilm_count_tokens(chunk.text) <= 120
    assert chunks[-1].end == len(article.text)
    # Neighbours overlap or touch: no sentence is lost between chunks.
    for left, right in itertools.pairwise(chunks):
        assert right.start <= left.end or not article.text[left.end : right.start].strip()


def test_chunks_overlap_when_sentences_fit() -> None:
    text = " ".join(f"Sentence number {i} is short." for i in range(40))
    article = Article(id="a", title="t", text=text)
    chunks = chunk_article(article, count_tokens=minilm_count_tokens, target_tokens=60, overlap_tokens=20)
    assert all(right.start < left.end for left, right in itertools.pairwise(chunks))


def test_an_over_long_sentence_is_cut_at_words_below_the_model_limit() -> None:
    text = "word " * 1000 + "end."
    article = Article(id="long", title="t", text=text.strip())
    chunks = chunk_article(article, count_tokens=minilm_count_tokens, target_tokens=400, overlap_tokens=0)
    assert len(chunks) >= 4
    assert all(c.tokens <= MINILM_MAX_TOKENS for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "").strip()


def test_overlap_must_be_smaller_than_target() -> None:
    with pytest.raises(ValueError):
        chunk_article(seed_article(), count_tokens=len, target_tokens=50, overlap_tokens=50)


def test_tiktoken_vocabularies_load_offline_and_match_tiktoken_ids() -> None:
    assert tokens.encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert tokens.encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert tokens.encoding_for_model("gpt-4o-mini").name == "o200k_base"
    assert tokens.count_tokens("<|endoftext|> is text here") > 1
    with pytest.raises(ConfigError):
        tokens.encoding("p50k_base")


def test_prompt_files_load_and_render_braces_verbatim() -> None:
    prompt = load_prompt("condense")
    assert prompt.variables == {"evidence", "task"}
    messages = prompt.render(evidence="[1] a {task} b", task="What is {context}?")
    assert "[1] a {task} b" in str(messages[-1].content)
    assert "What is {context}?" in str(messages[-1].content)
    assert load_prompt("rewrite").variables == {"history", "question"}


@pytest.mark.parametrize(
    "text",
    [
        "## user\n{a}",  # no front matter
        "---\nvariables: a, b\n---\n## user\n{a}",  # declared but unused
        "---\nvariables: a\n---\n## user\n{a} {b}",  # used but undeclared
        "---\nvariables: a\n---\n## system\n{a}",  # no user section
    ],
)
def test_prompt_variable_mismatches_are_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_prompt("bad", text)


def test_render_refuses_missing_or_extra_values() -> None:
    prompt = load_prompt("condense")
    with pytest.raises(ConfigError):
        prompt.render(evidence="x")
    with pytest.raises(ConfigError):
        prompt.render(evidence="x", task="y", extra="z")


def _reference_chunks(
    article: Article, *, count: Callable[[str], int], target: int, overlap: int
) -> list[tuple[int, int, int]]:
    """The chunker as it was before it reused counts: every chunk's text counted once more at the end."""
    from assistant.chunking import _next_start, _units

    text, units, first = article.text, _units(article.text, count=count, limit=target), 0
    out: list[tuple[int, int, int]] = []
    while first < len(units):
        last = first
        while last + 1 < len(units) and count(text[units[first][0] : units[last + 1][1]]) <= target:
            last += 1
        start, end = units[first][0], units[last][1]
        out.append((start, end, count(text[start:end])))
        if last + 1 >= len(units):
            break
        first = _next_start(units, first, last, overlap)
    return out


@pytest.mark.parametrize(("target", "overlap"), [(180, 40), (60, 20), (25, 5)])
def test_chunks_and_their_counts_match_counting_every_chunk_again(target: int, overlap: int, tmp_path: Path) -> None:
    from bench.pipeline import make_corpus  # news-shaped articles beside the seed

    others = [Article(id=f"a{i}", title="t", text=path.read_text(encoding="utf-8").strip())
              for i, path in enumerate(make_corpus(tmp_path, 12))]
    for counter in (minilm_count_tokens, tokens.count_tokens):
        for item in [seed_article(), *others]:
            got = [(c.start, c.end, c.tokens) for c in chunk_article(
                item, count_tokens=counter, target_tokens=target, overlap_tokens=overlap)]
            assert got == _reference_chunks(item, count=counter, target=target, overlap=overlap)
