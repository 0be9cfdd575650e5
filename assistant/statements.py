"""One brief statement at a time: condense with the model, check, fall back to the quoted source.

A 135M model cannot write a structured brief in one pass, but it can shorten one sentence.
Each rewrite is checked by the grounding checker against the chunk the sentence came from and
by the neutrality lint; a loaded term with a neutral alternative is replaced, and a rewrite that
still fails gives way to the source sentence itself, quoted and attributed to its outlet. The
citation quote is always a verbatim span of the cited chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.brief_schema import Dropped, LintHit, Origin, Statement
from assistant.citations import drop_unfinished, is_refusal
from assistant.grounding import split_claims
from assistant.judge import Grounder
from assistant.neutrality import lint_text, neutralise
from assistant.prompts import load_prompt
from assistant.providers import ChatBackend
from assistant.schemas import Citation, Claim, RetrievedChunk, SourceText
from assistant.stories import Unit

STATEMENT_PROMPT = "brief_statement"


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


def rewrite(unit: Unit, chat: ChatBackend, *, max_tokens: int) -> str:
    """The model's one-sentence condensation of ``unit`` (bounded output), or '' when it gives none."""
    sentence = " ".join(unit.text.split())
    messages = load_prompt(STATEMENT_PROMPT).render(source=source_label(unit.chunk), sentence=sentence)
    reply = chat.limited(max_tokens).complete(messages)
    text = " ".join(str(reply.content).split())
    if reply.response_metadata.get("finish_reason") == "length":
        text = drop_unfinished(text)
    first = split_claims_first(text)
    return "" if not first or is_refusal(first) else first


def split_claims_first(text: str) -> str:
    """The reply's first line, without a leading label such as 'Rewritten:'."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    head, sep, rest = line.partition(":")
    return rest.strip() if sep and len(head.split()) <= 2 and rest.strip() else line.strip()


def _accept(text: str, unit: Unit, checker: Grounder, tally: Tally, section: str) -> tuple[str, Claim] | None:
    """The rewrite (neutralised when needed) if it is supported and lint-clean, else None."""
    verdict = _verdict(checker, text, unit.chunk)
    if verdict.label != "supported":
        tally.dropped.append(Dropped(text=text, label=verdict.label, reason=verdict.reason or "not supported"))
        return None
    hits = lint_text(text, section=section)
    if not hits:
        return text, verdict
    fixed = neutralise(text)
    if fixed is not None and _verdict(checker, fixed, unit.chunk).label == "supported":
        tally.fixed += [h.model_copy(update={"fixed": "neutral"}) for h in hits]
        return fixed, verdict
    tally.fixed += [h.model_copy(update={"fixed": "quoted"}) for h in hits]
    return None


def condense(
    unit: Unit, *, chat: ChatBackend | None, checker: Grounder, citer: Citer, tally: Tally,
    section: str, max_tokens: int = 64,
) -> Statement | None:
    """Condense, check, fall back: the statement for ``unit``, or None when even the source fails the checker."""
    tally.proposed += 1
    if chat is not None:
        proposal = rewrite(unit, chat, max_tokens=max_tokens)
        accepted = _accept(proposal, unit, checker, tally, section) if proposal else None
        if accepted is not None:
            tally.accepted += 1
            tally.supported += 1
            text, verdict = accepted
            quote = verdict.evidence.quote if verdict.evidence else unit.text
            return Statement(text=text, citations=[citer.cite(unit.chunk, quote)], label="supported",
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
