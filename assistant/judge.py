"""LLM judge: a strong model labels each claim against the best evidence sentences; offline checks still veto.

The offline ``GroundingChecker`` aligns each claim with its best evidence span first (cheap); the judge model then
reads the claim with the top few source sentences, numbered, and returns a structured ``JudgeVerdict`` (JSON
schema on OpenAI and compatible servers). A judge is good at paraphrase and bad at noticing that "over 300" is not
"over 100", so the hard checks of ``assistant.claims_checks`` (numbers, dates, ordinals, names, negation,
antonyms) keep their veto: a claim they object to is never labelled supported. Evidence quotes stay verbatim
source spans.

Example::

    >>> judge = LLMJudge(model=chat.model, offline=GroundingChecker(embeddings=embeddings))  # doctest: +SKIP
    >>> judge.check("Hezbollah launched over 300 rockets.", sources).claims[0].label  # doctest: +SKIP
    'contradicted'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.exceptions import ModelRefusalError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, Field

from assistant.claims_checks import Index, Problem, Profile, find_problems, profile
from assistant.grounding import GroundingChecker, split_claims
from assistant.prompts import load_prompt
from assistant.providers import model_errors
from assistant.schemas import Claim, Evidence, GroundingReport, Label, SourceText
from assistant.sentences import sentence_spans
from assistant.structured import stepped_structured_output

# Exceptions meaning the judge's reply could not be read: bad JSON, a schema mismatch (pydantic's ValidationError and
# LangChain's OutputParserException are ValueErrors), or a refusal. Server failures are not among them.
_UNREADABLE = (ValueError, ModelRefusalError)
_CACHE_LIMIT = 16


class JudgeVerdict(BaseModel):
    """The judge model's reply for one claim."""

    model_config = ConfigDict(extra="forbid")

    label: Label = Field(description="supported, unsupported or contradicted, by the evidence sentences only.")
    evidence: int = Field(description="Number of the evidence sentence that decides the label; 0 when none does.")
    reason: str = Field(description="Why this label, in at most 20 words.")


class Grounder(Protocol):
    """What answering and checking need from a grounding checker: the offline one and the judge both fit."""

    def check(self, text: str, sources: Sequence[SourceText]) -> GroundingReport:
        """Ground every claim of ``text``."""
        ...

    def verdict(self, claim: str, sources: Sequence[SourceText]) -> Claim:
        """One claim's verdict."""
        ...

    def best_evidence(self, claim: str, sources: Sequence[SourceText]) -> tuple[Evidence, float] | None:
        """The source span that best matches ``claim``."""
        ...


@dataclass(frozen=True)
class _Sentence:
    """One source sentence as a candidate piece of evidence."""

    source: str
    start: int
    end: int
    text: str
    profile: Profile

    def evidence(self) -> Evidence:
        return Evidence(source=self.source, quote=self.text, start=self.start, end=self.end)


@dataclass(frozen=True)
class _Prepared:
    """The sources as the judge sees them: sentences to show, and the hard checks' index (as the offline one)."""

    sentences: list[_Sentence]
    index: Index


@dataclass(frozen=True)
class _Case:
    """One claim on its way through the judge: the offline best span, its alignment and the sentences to show."""

    claim: str
    best: Evidence | None
    aligned: bool
    candidates: list[_Sentence]


class LLMJudge:
    """Labels claims with a judge model, vetoed by the offline hard checks; same interface as GroundingChecker."""

    def __init__(
        self, *, model: BaseChatModel, offline: GroundingChecker, top_k: int = 4, max_concurrency: int = 4
    ) -> None:
        """``top_k`` source sentences go to the judge per claim; claims of one check are sent concurrently."""
        self.model = model
        self.offline = offline
        self.top_k = top_k
        self.max_concurrency = max_concurrency
        self.name = str(getattr(model, "model_name", None) or type(model).__name__)
        self._judge = _structured(model)
        self._prepared: dict[tuple[tuple[str, str], ...], _Prepared] = {}

    def check(self, text: str, sources: Sequence[SourceText]) -> GroundingReport:
        """Ground every claim of ``text``; the score is the share of supported claims."""
        verdicts = self._verdicts(split_claims(text), sources)
        return GroundingReport(score=_score(verdicts), claims=verdicts)

    def verdict(self, claim: str, sources: Sequence[SourceText]) -> Claim:
        """One claim's label, score, evidence span and reason."""
        return self._verdicts([claim], sources)[0]

    def best_evidence(self, claim: str, sources: Sequence[SourceText]) -> tuple[Evidence, float] | None:
        """The offline checker's best span for ``claim`` (citation quotes need no model call)."""
        return self.offline.best_evidence(claim, sources)

    def _verdicts(self, claims: Sequence[str], sources: Sequence[SourceText]) -> list[Claim]:
        if not claims:
            return []
        prepared = self._prepare(sources)
        cases = [self._case(c, sources, prepared) for c in claims]
        asked = [c for c in cases if c.candidates]
        replies = dict(zip(map(id, asked), self._ask(asked), strict=True))
        return [
            self._decide(c, replies[id(c)], sources, prepared) if id(c) in replies
            else self.offline.verdict(c.claim, sources)  # nothing to show the judge (no sources): offline says so
            for c in cases
        ]

    def _case(self, claim: str, sources: Sequence[SourceText], prepared: _Prepared) -> _Case:
        found = self.offline.best_evidence(claim, sources)
        if found is None:
            return _Case(claim, None, False, [])
        best, alignment = found
        thresholds = self.offline.thresholds
        floor = thresholds.min_alignment if self.offline.embeddings is not None else thresholds.min_alignment_lexical
        return _Case(claim, best, alignment >= floor, _candidates(claim, best, prepared, k=self.top_k))

    def _ask(self, cases: Sequence[_Case]) -> list[JudgeVerdict | BaseException]:
        """One request per claim, sent concurrently; server failures become one-line ModelErrors."""
        if not cases:
            return []
        prompt = load_prompt("judge")
        inputs = [prompt.render(claim=c.claim, evidence=_numbered(c.candidates)) for c in cases]
        with model_errors(f"the judge model '{self.name}'"):
            replies = self._judge.batch(inputs, config={"max_concurrency": self.max_concurrency},
                                        return_exceptions=True)
            out: list[JudgeVerdict | BaseException] = []
            for reply in replies:
                if isinstance(reply, BaseException) and not isinstance(reply, _UNREADABLE):
                    raise reply
                out.append(_as_verdict(reply))
        return out

    def _decide(
        self, case: _Case, reply: JudgeVerdict | BaseException, sources: Sequence[SourceText], prepared: _Prepared
    ) -> Claim:
        """The judge's label unless it says supported and the hard checks object; evidence is its pick."""
        if isinstance(reply, BaseException):
            offline = self.offline.verdict(case.claim, sources)
            said = " ".join(str(reply).split())[:120]
            reason = f"judge reply unreadable ({type(reply).__name__}: {said}); offline verdict"
            return offline.model_copy(update={"reason": f"{reason}: {offline.reason}" if offline.reason else reason})
        picked = case.candidates[reply.evidence - 1] if 0 < reply.evidence <= len(case.candidates) else None
        mine = profile(case.claim)
        # The offline alignment's hard checks, as the offline checker runs them (only above its alignment floor),
        # and the same checks against the sentence the judge picked.
        against_best = self._hard_problems(mine, case.best.quote, prepared) if case.best and case.aligned else []
        against_picked = (
            self._hard_problems(mine, picked.text, prepared)
            if picked and (case.best is None or picked.text != case.best.quote)
            else []
        )
        problems = [*against_best, *against_picked]
        judged = " ".join(reply.reason.split())[:300]
        evidence = picked.evidence() if picked else case.best
        if reply.label == "supported" and problems:
            label = _hard_label(problems)
            evidence = case.best if against_best or not picked else evidence
            reason = f"judge said supported ({judged}); overruled by offline checks: {_joined(problems)}"
        else:
            label = reply.label
            reason = f"judge: {judged}" + (f"; offline checks: {_joined(problems)}" if problems else "")
        return Claim(text=case.claim, label=label, score=1.0 if label == "supported" else 0.0, evidence=evidence,
                     reason=reason)

    def _hard_problems(self, claim: Profile, evidence: str, prepared: _Prepared) -> list[Problem]:
        """What the offline hard checks (numbers, dates, names, negation) find wrong against one evidence span."""
        thresholds = self.offline.thresholds
        return find_problems(claim, profile(evidence), prepared.index, min_context=thresholds.min_context,
                             swap_context=thresholds.swap_context)

    def _prepare(self, sources: Sequence[SourceText]) -> _Prepared:
        """Sentences and index of a set of sources, kept for the next check against the same sources."""
        texts = dict.fromkeys((s.text, s.id) for s in sources)  # ordered, one entry per (text, id)
        unique: dict[str, str] = {}
        for text, source_id in texts:
            unique.setdefault(text, source_id)  # the first id of a text names it, as in the offline evidence
        key = tuple(sorted(unique.items()))
        cached = self._prepared.get(key)
        if cached is None:
            if len(self._prepared) >= _CACHE_LIMIT:
                self._prepared.clear()
            cached = self._prepared[key] = _prepare(unique)
        return cached


def _prepare(texts: dict[str, str]) -> _Prepared:
    """Index the sources the way GroundingChecker does: sentences and adjacent pairs, and the whole."""
    sentences: list[_Sentence] = []
    units: list[Profile] = []
    whole = Profile()
    for text, source_id in sorted(texts.items()):
        mine = [_Sentence(source_id, s, e, text[s:e], profile(text[s:e])) for s, e in sentence_spans(text)]
        sentences += mine
        units += [s.profile for s in mine] + [a.profile.merged(b.profile) for a, b in itertools.pairwise(mine)]
        whole = whole.merged(profile(text))
    return _Prepared(sentences, Index(whole, units))


def _candidates(claim: str, best: Evidence | None, prepared: _Prepared, *, k: int) -> list[_Sentence]:
    """The sentences of the offline best span, then those sharing most of the claim's words, in source order."""
    inside = [
        s for s in prepared.sentences
        if best is not None and s.source == best.source and best.start <= s.start and s.end <= best.end
    ]
    words = profile(claim).content
    others = [s for s in prepared.sentences if all(s is not i for i in inside)]
    shares = [prepared.index.share(words, s.profile.stems) for s in others]
    ranked = [s for share, s in sorted(zip(shares, others, strict=True), key=lambda p: -p[0]) if share > 0]
    chosen = set(map(id, (inside + ranked)[: max(k, len(inside))]))
    return [s for s in prepared.sentences if id(s) in chosen]


def _numbered(sentences: Sequence[_Sentence]) -> str:
    return "\n".join(f"[{n}] {' '.join(s.text.split())}" for n, s in enumerate(sentences, 1))


def _structured(model: BaseChatModel) -> Runnable[list[BaseMessage], Any]:
    """The model bound to the verdict schema: JSON schema, JSON object or its reply parsed, as the server allows."""
    return stepped_structured_output(model, JudgeVerdict, parse=_parse_reply)


def _parse_reply(message: BaseMessage) -> JudgeVerdict:
    """A verdict from a reply's text: the first JSON object in it."""
    found = re.search(r"\{.*\}", str(message.content), re.DOTALL)
    if not found:
        raise ValueError(f"no JSON object in the reply: {str(message.content)[:80]!r}")
    return JudgeVerdict.model_validate_json(found.group(0))


def _as_verdict(reply: object) -> JudgeVerdict | BaseException:
    """The structured reply as a verdict; a dict is validated, anything else is unreadable."""
    if isinstance(reply, JudgeVerdict | BaseException):
        return reply
    if isinstance(reply, dict):
        try:
            return JudgeVerdict.model_validate(reply)
        except ValueError as exc:
            return exc
    return ValueError(f"unexpected judge reply {str(reply)[:80]!r}")


def _hard_label(problems: Sequence[Problem]) -> Label:
    if any(p.label == "contradicted" for p in problems):
        return "contradicted"
    return "unsupported" if problems else "supported"


def _joined(problems: Sequence[Problem]) -> str:
    return "; ".join(dict.fromkeys(p.reason for p in problems))


def _score(verdicts: Sequence[Claim]) -> float:
    if not verdicts:
        return 1.0
    return sum(v.label == "supported" for v in verdicts) / len(verdicts)
