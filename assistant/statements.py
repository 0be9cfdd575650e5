"""One brief statement at a time: condense with the model, check, fall back to the quoted source.

A 135M model cannot write a structured brief in one pass, but it can shorten one sentence.
Each rewrite is checked by the grounding checker against the chunk the sentence came from and
by the neutrality lint; a loaded term with a neutral alternative is replaced, and a rewrite that
still fails gives way to the source sentence itself, quoted and attributed to its outlet. The
citation quote is always a verbatim span of the cited chunk.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage

from assistant.brief_rewrite import RewriteSchema, ask_rewrite
from assistant.brief_schema import Dropped, LintHit, Origin, Statement
from assistant.citations import is_refusal
from assistant.claims_checks import profile, same_word, stem
from assistant.evidence import EvidenceSentence, added_names_or_numbers, check_against
from assistant.grounding import split_claims
from assistant.injection import as_data
from assistant.judge import Grounder
from assistant.neutrality import lexicon, lint_text, neutralise
from assistant.prompts import load_prompt
from assistant.providers import ChatBackend
from assistant.schemas import Citation, Claim, RetrievedChunk, SourceText
from assistant.sentences import content_words, split_sentences
from assistant.stories import Unit

STATEMENT_PROMPT = "statement"  # prompts/statement.md: the rewrite is decoded under a JSON schema
_MAX_CHARS = 320  # a rewrite of one sentence is never longer than this, whatever the sentence
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


def task_for(unit: Unit) -> str:
    """The instruction for one statement, naming the facts it must keep (a small model drops them otherwise)."""
    facts = list(dict.fromkeys(i.surface for i in profile(unit.text).items))[:8]
    keep = f" Keep {', '.join(facts)} exactly as written." if facts else ""
    return f"Restate sentence [1] in plain, neutral words.{keep} Say who says so when it characterises anyone."


def free_task_for(unit: Unit, shown: int) -> str:
    """The instruction of the freer path: sentence [1], optionally joined with one other sentence of its source."""
    if shown < 2:
        return task_for(unit)
    return (f"Write one neutral statement of sentence [1]. You may join it with one of sentences [2] to [{shown}] "
            "when they belong together; cite every sentence you use. Attribute every characterisation to its speaker.")


_NAME = re.compile(r"\b[A-Z][\w-]*")  # names must be copied exactly: "Bint Jubay" is not "Bint Jubayl"
_FREE_WORDS = frozenset("said say says according reported report".split())


def novel_words(text: str, sentence: str) -> list[str]:
    """Content words of a rewrite that its source sentence lacks (in any form), neutral alternatives aside.

    A condensation only deletes and attributes; a word the sentence does not have is where a small model
    invents ("fired a rocket over 100 times") or misspells a name ("Bint Jubay").
    """
    have = [stem(w) for w in content_words(sentence)]
    allowed = _FREE_WORDS | {w for e in lexicon() if e.neutral for w in content_words(e.neutral)}
    novel = [w for w in content_words(text) if w not in allowed and not any(same_word(stem(w), h) for h in have)]
    exact = {w.lower() for w in _NAME.findall(sentence)}
    names = [w for i, w in enumerate(_NAME.findall(text))
             if w.lower() not in exact and not (i == 0 and text.startswith(w))]
    return list(dict.fromkeys(novel + names))


def _checked(text: str, cited: Sequence[Unit], checker: Grounder, tally: Tally, section: str,
             *, strict: bool) -> str | None:
    """The rewrite, neutralised when it holds a loaded term, if it is still supported; else None.

    ``strict`` (the small model's path) also refuses any content word the cited sentences lack.
    """
    joined = " ".join(u.text for u in cited)
    added = novel_words(text, joined) if strict else []
    verdict = _cited_verdict(text, cited, checker)
    if verdict.label == "supported":
        verdict = _verdict(checker, text, cited)
    if added or verdict.label != "supported" or not _finished(text):
        reason = ("adds words the sentence lacks: " + ", ".join(added[:5]) if added
                  else verdict.reason if verdict.label != "supported" else "cut off at the length bound")
        tally.dropped.append(Dropped(text=text, label="unsupported" if added else verdict.label,
                                     reason=reason or "not supported"))
        return None
    hits = lint_text(text, section=section)
    if not hits:
        return text
    fixed = neutralise(text)
    if fixed is not None and _cited_verdict(fixed, cited, checker).label == "supported":
        tally.fixed += [h.model_copy(update={"fixed": "neutral"}) for h in hits]
        return fixed
    return None


def whole_sentences(text: str, limit: int) -> str:
    """The first ``limit`` finished sentences of a rewrite: a small model that has restated its sentence goes on
    writing until the length bound stops it mid-phrase, and only what it finished is a statement."""
    sentences = split_sentences(" ".join(text.split()))
    finished = list(itertools.takewhile(_finished, sentences))[:limit]
    return " ".join(finished or sentences[:1])  # nothing finished: the check reports it cut off


def _finished(text: str) -> bool:
    """A statement ends as a sentence does (a length bound can stop a rewrite mid-phrase)."""
    return text.rstrip()[-1:] in set(".!?\"\u201d'\u2019)")


def _cited_verdict(text: str, cited: Sequence[Unit], checker: Grounder) -> Claim:
    """``text`` against the cited sentences alone, plus the strict check that it adds no name or number."""
    if len(cited) == 1:
        unit = cited[0]
        sentence = EvidenceSentence(chunk=unit.chunk, n=1, start=unit.start, end=unit.end)
        return check_against(text, sentence, checker=checker)
    joined = " ".join(u.text for u in cited)
    verdict = checker.verdict(text, [SourceText(id=cited[0].chunk.chunk_id, text=joined)])
    added = added_names_or_numbers(text, joined)
    if verdict.label == "supported" and added:
        return verdict.model_copy(update={"label": "unsupported", "reason": "adds what the cited sentences lack: "
                                          + ", ".join(added[:5])})
    return verdict


def _verdict(checker: Grounder, text: str, cited: Sequence[Unit]) -> Claim:
    """Every claim of ``text`` against the chunks it must rest on; the first failure decides."""
    chunks = {u.chunk.chunk_id: u.chunk for u in cited}
    sources = [SourceText(id=c.chunk_id, text=c.text) for c in chunks.values()]
    claims = split_claims(text) or [text]
    verdicts = [checker.verdict(c, sources) for c in claims]
    failed = [v for v in verdicts if v.label != "supported"]
    return failed[0] if failed else verdicts[0]


def rewrite_messages(shown: Sequence[str], task: str) -> list[BaseMessage]:
    """The statement prompt over the shown sentences, numbered from 1."""
    numbered = "\n".join(f"[{i}] {as_data(' '.join(text.split()))}" for i, text in enumerate(shown, start=1))
    return load_prompt(STATEMENT_PROMPT).render(evidence=numbered, task=" ".join(task.split()))


def bounds(shown: Sequence[Unit], *, free: bool) -> RewriteSchema:
    """How long a rewrite may be and what it may cite: the small model restates [1] in about its length; the
    freer path may join [1] with one other sentence."""
    if not free or len(shown) < 2:
        return RewriteSchema(sentences=1, max_chars=min(len(shown[0].text) + 24, _MAX_CHARS))
    longest_other = max(len(u.text) for u in shown[1:])
    return RewriteSchema(sentences=len(shown), max_chars=min(len(shown[0].text) + longest_other + 40, 2 * _MAX_CHARS),
                         max_cites=2)


def condense(
    unit: Unit, *, chat: ChatBackend | None, checker: Grounder, citer: Citer, tally: Tally,
    section: str, max_tokens: int = 64, context: Sequence[Unit] = (), free: bool = False,
) -> Statement | None:
    """Rewrite under a schema, check, fall back: the statement for ``unit``, or None.

    ``free`` (strong models) shows ``context`` (other sentences of the same source) too and lets the rewrite
    join [1] with one of them, citing both; the small model's path restates [1] alone. Both pass the same
    grounding check, lint and fallback.
    """
    tally.proposed += 1
    if chat is not None:
        shown = [unit, *context] if free else [unit]
        schema = bounds(shown, free=free)
        task = free_task_for(unit, len(shown)) if free else task_for(unit)
        tokens = max(max_tokens, schema.max_chars // 3 + 16)  # the JSON around the text, and room to close it
        rewrite = ask_rewrite(chat, rewrite_messages([u.text for u in shown], task), schema, max_tokens=tokens)
        cited = [shown[n - 1] for n in dict.fromkeys(rewrite.cites)] if rewrite is not None else []
        text = whole_sentences(_MARK.sub("", rewrite.text), 2 if free else 1) if rewrite is not None else ""
        accepted = None if not text or is_refusal(text) or unit not in cited else _checked(
            text, cited, checker, tally, section, strict=not free)
        if accepted is not None:
            tally.accepted += 1
            tally.supported += 1
            return Statement(text=accepted, citations=[citer.cite(u.chunk, u.text) for u in cited],
                             label="supported", origin="rewritten")
        tally.rejected += 1
    return verbatim(unit, checker=checker, citer=citer, tally=tally, section=section, quote_it=chat is not None)


def verbatim(
    unit: Unit, *, checker: Grounder, citer: Citer, tally: Tally, section: str, quote_it: bool = False
) -> Statement | None:
    """The source sentence as written when it is neutral (and ``quote_it`` is false), else quoted and attributed."""
    verdict = _verdict(checker, unit.text, [unit])
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


_HEADLINE_CHARS = 110


def headline(summary: Sequence[Statement], *, chat: ChatBackend, checker: Grounder) -> str | None:
    """A headline the model writes from the summary (the freer path), or None when it fails a check.

    The headline cites summary statements; it must be supported by them, add no name or number they lack and
    hold no loaded term outside a quotation.
    """
    texts = [s.text for s in summary]
    if not texts:
        return None
    schema = RewriteSchema(sentences=len(texts), max_chars=_HEADLINE_CHARS, max_cites=len(texts))
    task = "Write one neutral headline of at most 12 words for these statements; cite the ones it rests on."
    rewrite = ask_rewrite(chat, rewrite_messages(texts, task), schema, max_tokens=_HEADLINE_CHARS // 3 + 16)
    if rewrite is None:
        return None
    text = " ".join(_MARK.sub("", rewrite.text).split()).rstrip(".")
    cited = " ".join(texts[n - 1] for n in dict.fromkeys(rewrite.cites))
    verdict = checker.verdict(text, [SourceText(id="summary", text=cited)])
    if verdict.label != "supported" or added_names_or_numbers(text, cited) or lint_text(text, section="headline"):
        return None
    return text
