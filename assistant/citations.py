"""Reading a model's raw reply: its sentences with the valid ``[n]`` marks they carry, refusals, cut-off ends.

Citations are verified, never trusted: an ``[n]`` that was not given is dropped. Checking each sentence against
the one sentence it cites is ``assistant.evidence.check_draft``'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
