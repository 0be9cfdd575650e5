"""From a model's raw answer to checked citations and labelled claims.

Citations are verified, never trusted: an ``[n]`` that was not given is dropped, every
quote is the supporting sentence found in the cited chunk (a verbatim substring), and a
sentence the model forgot to cite is aligned with the retrieved sentences instead.
Each sentence then gets a grounding verdict; what the sources do not support is removed
(or flagged, by setting).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.grounding import split_claims
from assistant.judge import Grounder
from assistant.schemas import Citation, Claim, RetrievedChunk, SourceText
from assistant.sentences import sentence_spans

_MARK = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_REFUSAL = re.compile(
    r"\b(sources? (do|does) not (say|mention|contain|provide|state|answer)|"
    r"(is|are) not (mentioned|stated|given|provided) in the sources|"
    r"no information (about|on)|cannot (be )?answer|can't answer|do not know|don't know)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CitedSentence:
    """One sentence of an answer with the valid source numbers it cites."""

    text: str
    cited: tuple[int, ...]


def cited_sentences(answer: str, *, valid: set[int]) -> list[CitedSentence]:
    """Split an answer into sentences; keep only ``[n]`` markers whose ``n`` was given."""
    out: list[CitedSentence] = []
    for sentence in split_claims_keep_marks(answer):
        numbers: list[int] = []
        for match in _MARK.finditer(sentence):
            numbers.extend(int(n) for n in re.split(r"\s*,\s*", match.group(1)))
        text = _MARK.sub("", sentence).strip()
        if text:
            out.append(CitedSentence(text=text, cited=tuple(dict.fromkeys(n for n in numbers if n in valid))))
    return out


_LEAD_IN = re.compile(
    r"^[^.:\n]{0,80}\b(source|sources|answer|question)\b[^.:\n]{0,40}:\s*", re.IGNORECASE
)


def split_claims_keep_marks(answer: str) -> list[str]:
    """Sentences of ``answer``, line by line, lead-ins ("The answer is:") removed, marks kept."""
    pieces: list[str] = []
    for line in answer.splitlines():
        pieces.extend(_line_sentences(_LEAD_IN.sub("", line.strip())))
    return pieces


def _line_sentences(answer: str) -> list[str]:
    spans = sentence_spans(answer)
    pieces: list[str] = []
    for i, (start, end) in enumerate(spans):
        # A mark written after the full stop ("... here. [2]") belongs to the sentence before it.
        nxt = spans[i + 1][0] if i + 1 < len(spans) else len(answer)
        tail = answer[end:nxt]
        lead = re.match(r"(\s*\[[\d,\s]+\])+", tail)
        piece = answer[start:end] + (lead.group(0) if lead else "")
        if pieces and re.fullmatch(r"(\s*\[[\d,\s]+\])+\.?", piece):
            pieces[-1] += " " + piece
            continue
        pieces.append(piece)
    return pieces


def drop_unfinished(answer: str) -> str:
    """Cut a reply that ran out of tokens back to its last complete sentence."""
    spans = sentence_spans(answer)
    if spans and answer[: spans[-1][1]].rstrip()[-1:] not in ".!?]\"'”)":
        spans = spans[:-1]
    return answer[: spans[-1][1]] if spans else ""


def is_statement(text: str) -> bool:
    """False for list numbers and lead-ins ("1.", "The sources are:") that assert nothing."""
    stripped = text.strip()
    return len(re.findall(r"[A-Za-z]{2,}", stripped)) >= 2 and not stripped.endswith(":")


def is_refusal(text: str) -> bool:
    """True when the sentence says the sources do not answer."""
    return bool(_REFUSAL.search(text))


@dataclass(frozen=True)
class Grounded:
    """The checked answer: its text, citations and every claim's verdict."""

    text: str
    citations: list[Citation]
    claims: list[Claim]


def _with_marks(sentence: str, numbers: Sequence[int]) -> str:
    """``sentence`` with ``[n]`` marks placed before its final punctuation."""
    sentence = sentence.rstrip()
    marks = "".join(f" [{n}]" for n in numbers)
    if sentence[-1:] in ".!?":
        return sentence[:-1] + marks + sentence[-1]
    return sentence + marks


def _source(n: int, chunk: RetrievedChunk) -> SourceText:
    return SourceText(id=str(n), text=chunk.text)


def _verdict(checker: Grounder, claim: str, sources: list[SourceText]) -> Claim:
    """The verdict against all sources, then against the one chunk it would cite: an answer sentence
    must rest on the passage it cites, not on facts fused from several."""
    verdict = checker.verdict(claim, sources)
    if verdict.label != "supported" or verdict.evidence is None:
        return verdict
    cited = [s for s in sources if s.id == verdict.evidence.source]
    alone = checker.verdict(claim, cited)
    return verdict if alone.label == "supported" else alone


def ground_answer(
    answer: str,
    *,
    chunks: Sequence[RetrievedChunk],
    checker: Grounder,
    remove_unsupported: bool = True,
) -> Grounded:
    """Verify citations, align uncited sentences, label claims, and drop or flag the unsupported."""
    numbered = {n: c for n, c in enumerate(chunks, start=1)}
    everything = [_source(n, c) for n, c in numbered.items()]
    citations: dict[tuple[int, str], Citation] = {}
    claims: list[Claim] = []
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in cited_sentences(answer, valid=set(numbered)):
        if is_refusal(sentence.text) or not is_statement(sentence.text):
            continue
        for part in split_claims(sentence.text):
            if " ".join(part.lower().split()) in seen:
                continue  # overlapping chunks hold the same sentence; a model may copy it twice
            seen.add(" ".join(part.lower().split()))
            cited_first = [_source(n, numbered[n]) for n in sentence.cited]
            rest = [s for s in everything if int(s.id) not in sentence.cited]
            claim = _verdict(checker, part, cited_first + rest)
            supported = claim.label == "supported" and claim.evidence is not None
            numbers: list[int] = []
            if supported and claim.evidence is not None:
                n = int(claim.evidence.source)
                numbers = [n]
                chunk = numbered[n]
                citations.setdefault(
                    (n, claim.evidence.quote),
                    Citation(
                        n=n,
                        article_id=chunk.article_id,
                        title=chunk.title,
                        chunk_id=chunk.chunk_id,
                        quote=claim.evidence.quote,
                        source=chunk.source,
                        published=chunk.published,
                        url=chunk.url,
                    ),
                )
            removed = not supported and remove_unsupported
            claims.append(claim.model_copy(update={"citations": numbers, "removed": removed}))
            if not removed:
                kept.append(_with_marks(part, numbers))
    ordered = sorted(citations.values(), key=lambda c: (c.n, c.quote))
    return Grounded(text=" ".join(kept), citations=ordered, claims=claims)
