"""One brief statement at a time: condense with the model, check, fall back to the quoted source.

A 135M model cannot write a structured brief in one pass, but it can shorten one sentence.
Each rewrite is checked by the grounding checker against the chunk the sentence came from and
by the neutrality lint; a loaded term with a neutral alternative is replaced, and a rewrite that
still fails gives way to the source sentence itself, quoted and attributed to its outlet. The
citation quote is always a verbatim span of the cited chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant import evidence
from assistant.brief_schema import Dropped, LintHit, Origin, Statement
from assistant.claims_checks import profile, same_word, stem
from assistant.evidence import EvidenceSentence, check_against
from assistant.grounding import split_claims
from assistant.judge import Grounder
from assistant.neutrality import lexicon, lint_text, neutralise
from assistant.providers import ChatBackend
from assistant.schemas import Citation, Claim, RetrievedChunk, SourceText
from assistant.sentences import content_words
from assistant.stories import Unit

STATEMENT_PROMPT = "condense"  # the shared evidence step's prompt (assistant/evidence.py)
_MARK = re.compile(r"\s*\[\d+\]")


@dataclass
class Citer:
    """Numbers the chunks a brief cites, in order of first use, and builds their citations."""

    numbers: dict[str, int] = field(default_factory=dict)

    def cite(self, chunk: RetrievedChunk, quote: str) -> Citation:
        """A citation of ``quote`` (a verbatim span of ``chunk``) shaped as in ``ask --json``."""
        n = self.numbers.setdefault(chunk.chunk_id, len(self.numbers) + 1)
        return Citation(n=n, article_id=chunk.article_id, title=chunk.title, chunk_id=chunk.chunk_id, quote=quote,
                        source=chunk.source, published=chunk.published, url=chunk.url)


@dataclass
class Tally:
    """What the condense-check-fallback step did over a whole brief."""

    proposed: int = 0
    supported: int = 0
    accepted: int = 0
    rejected: int = 0
    dropped: list[Dropped] = field(default_factory=list)
    fixed: list[LintHit] = field(default_factory=list)

    def grounded_fraction(self) -> float:
        """Supported share of the statements proposed; 1.0 when nothing was proposed."""
        return self.supported / self.proposed if self.proposed else 1.0


def source_label(chunk: RetrievedChunk) -> str:
    """Who a quoted sentence is attributed to: the outlet, else the article's title."""
    if chunk.source and chunk.source != "unknown":
        return chunk.source
    return f"the article \u201c{chunk.title}\u201d"


def quoted(unit: Unit) -> str:
    """The source sentence quoted and attributed."""
    return f"According to {source_label(unit.chunk)}: \u201c{' '.join(unit.text.split())}\u201d"


def _verdict(checker: Grounder, text: str, chunk: RetrievedChunk) -> Claim:
    """Every claim of ``text`` against the one chunk it must rest on; the first failure decides."""
    sources = [SourceText(id=chunk.chunk_id, text=chunk.text)]
    claims = split_claims(text) or [text]
    verdicts = [checker.verdict(c, sources) for c in claims]
    failed = [v for v in verdicts if v.label != "supported"]
    return failed[0] if failed else verdicts[0]


def task_for(unit: Unit) -> str:
    """The instruction for one statement, naming the facts it must keep (a small model drops them otherwise)."""
    facts = list(dict.fromkeys(i.surface for i in profile(unit.text).items))[:8]
    keep = f" Keep {', '.join(facts)} exactly as written." if facts else ""
    return f"Restate sentence [1] in plain, neutral words.{keep} Say who says so when it characterises anyone."


_FREE_WORDS = frozenset("said say says according reported report".split())


def novel_words(text: str, sentence: str) -> list[str]:
    """Content words of a rewrite that its source sentence lacks (in any form), neutral alternatives aside.

    A condensation only deletes and attributes; a word the sentence does not have is where a small model
    invents ("fired a rocket over 100 times") or misspells a name ("Bint Jubay").
    """
    have = [stem(w) for w in content_words(sentence)]
    allowed = _FREE_WORDS | {w for e in lexicon() if e.neutral for w in content_words(e.neutral)}
    return [w for w in content_words(text)
            if w not in allowed and not any(same_word(stem(w), h) for h in have)]


def _checked(text: str, sentence: EvidenceSentence, checker: Grounder, tally: Tally, section: str) -> str | None:
    """The rewrite, neutralised when it holds a loaded term, if it is still supported; else None."""
    added = novel_words(text, sentence.text)
    verdict = _verdict(checker, text, sentence.chunk)
    if added or verdict.label != "supported":
        reason = "adds words the sentence lacks: " + ", ".join(added[:5]) if added else verdict.reason
        tally.dropped.append(Dropped(text=text, label="unsupported" if added else verdict.label,
                                     reason=reason or "not supported"))
        return None
    hits = lint_text(text, section=section)
    if not hits:
        return text
    fixed = neutralise(text)
    if fixed is not None and check_against(fixed, sentence, checker=checker).label == "supported":
        tally.fixed += [h.model_copy(update={"fixed": "neutral"}) for h in hits]
        return fixed
    return None


def condense(
    unit: Unit, *, chat: ChatBackend | None, checker: Grounder, citer: Citer, tally: Tally,
    section: str, max_tokens: int = 64,
) -> Statement | None:
    """Condense (the shared evidence step), check, fall back: the statement for ``unit``, or None."""
    tally.proposed += 1
    if chat is not None:
        sentence = EvidenceSentence(chunk=unit.chunk, n=1, start=unit.start, end=unit.end)
        result = evidence.condense([sentence], task=task_for(unit), chat=chat, checker=checker,
                                   max_sentences=1, max_tokens=max_tokens)
        tally.dropped += [Dropped(text=c.text, label=c.label, reason=c.reason or "not supported")
                          for c in result.claims if c.removed]
        text = _MARK.sub("", result.text).strip()
        accepted = None if result.fallback or result.label != "supported" or not text else (
            _checked(text, sentence, checker, tally, section))
        if accepted is not None:
            tally.accepted += 1
            tally.supported += 1
            return Statement(text=accepted, citations=[citer.cite(unit.chunk, unit.text)], label="supported",
                             origin="rewritten")
        tally.rejected += 1
    return verbatim(unit, checker=checker, citer=citer, tally=tally, section=section, quote_it=chat is not None)


def verbatim(
    unit: Unit, *, checker: Grounder, citer: Citer, tally: Tally, section: str, quote_it: bool = False
) -> Statement | None:
    """The source sentence as written when it is neutral (and ``quote_it`` is false), else quoted and attributed."""
    verdict = _verdict(checker, unit.text, unit.chunk)
    if verdict.label != "supported":
        tally.dropped.append(Dropped(text=unit.text, label=verdict.label, reason=verdict.reason or "not supported"))
        return None
    tally.supported += 1
    origin: Origin = "verbatim"
    text = " ".join(unit.text.split())
    hits = lint_text(text, section=section)
    tally.fixed += [h.model_copy(update={"fixed": "quoted"}) for h in hits]
    if hits or quote_it:
        text, origin = quoted(unit), "quoted"
    return Statement(text=text, citations=[citer.cite(unit.chunk, unit.text)], label="supported", origin=origin)


def propose_verbatim(unit: Unit, *, checker: Grounder, citer: Citer, tally: Tally, section: str) -> Statement | None:
    """A statement that the model does not rewrite (positions, timeline, contested sides), counted as proposed."""
    tally.proposed += 1
    return verbatim(unit, checker=checker, citer=citer, tally=tally, section=section)
