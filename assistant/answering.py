"""The answer path after retrieval: evidence sentences, a short condensed answer, the check, the verbatim fallback.

Its events let a caller show progress: the stages ("writing", "checking"), the model's tokens as a draft, and
finally the checked ``Answer``, which replaces the draft. ``Assistant.ask_stream`` adds the "retrieving" stage in
front; ``Assistant.ask`` keeps only the final answer.

Why an answer may differ from the draft: each sentence the model writes must be supported by the one evidence
sentence it cites, and the answer as a whole must give the kind of fact asked for (a count, a date, a place...).
Where the model's sentence fails, the best evidence sentence that does give that kind of fact answers instead,
verbatim and cited; where none does, the assistant abstains and says why.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field

from assistant.answer_candidates import (
    anchored,
    candidates,
    constraint_conflict,
    date_key,
    dates_in,
    relation_coverage,
    same_date,
)
from assistant.answer_types import KIND_NAMES, answer_type, unfit_reason
from assistant.answerability import answers_question
from assistant.evidence import (
    EvidenceSentence,
    Statement,
    Style,
    Weights,
    check_draft,
    fit_to_window,
    keyword_overlap,
    select_evidence,
    verbatim,
    write_draft,
)
from assistant.fakes import NO_ANSWER
from assistant.judge import Grounder
from assistant.providers import ChatBackend
from assistant.schemas import Answer, Claim, RetrievalInfo, RetrievedChunk

Stage = Literal["retrieving", "writing", "checking"]
# Tuned on RGB's tune half with bench/rgb_select.py (docs/benchmarks.md, "Answer path: evidence first").
RELATION_FLOOR = 0.5  # share of the question's relation words an answering sentence holds
MIN_SUPPORT = 2  # articles stating the candidate, when several were retrieved, unless the sentence fits tightly
TIGHT_OVERLAP = 1.0  # share of the question's content words that makes one source's sentence enough


class StageEvent(BaseModel):
    """The answer path entered a stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["stage"] = "stage"
    stage: Stage


class TokenEvent(BaseModel):
    """A piece of the model's draft, as it is written (not yet checked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["token"] = "token"
    text: str


class AnswerEvent(BaseModel):
    """The final, checked answer: it replaces the draft."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["answer"] = "answer"
    answer: Answer = Field(description="The answer as `ask --json` gives it.")


AskEvent = StageEvent | TokenEvent | AnswerEvent


@dataclass(frozen=True)
class AnswerWriter:
    """Writes the checked answer for a question from its retrieved chunks (all parts injected)."""

    chat: ChatBackend
    checker: Grounder
    embeddings: Embeddings
    style: Style
    evidence_limit: int = 3
    answer_pool: int = 8  # sentences searched for an answer candidate (the model sees evidence_limit of them)
    pool_floor: float = 0.6  # ... each scoring at least this share of the best one
    max_sentences: int = 2
    max_tokens: int = 96
    keep_unsupported: bool = False  # the "flag" grounding policy: failed sentences stay in, labelled

    def events(
        self, question: str, query: str, chunks: Sequence[RetrievedChunk], info: RetrievalInfo
    ) -> Iterator[AskEvent]:
        """Stages, draft tokens, then the answer (``question`` as asked, ``query`` standalone)."""
        pool = select_evidence(query, chunks, embeddings=self.embeddings, limit=self.answer_pool,
                               weights=Weights(relative_floor=self.pool_floor))
        picked = pool[: self.evidence_limit]
        if not picked:
            yield AnswerEvent(answer=abstention(question, info, model=self.chat.name,
                                                note="no sentence of the sources bears on the question"))
            return
        statement = None
        if self.style != "extractive":
            task = f"Answer the question: {query}"
            fitting, dropped = fit_to_window(picked, task=task, chat=self.chat, max_tokens=self.max_tokens)
            info = info.model_copy(update={"dropped_for_budget": dropped})
            if fitting:  # else no evidence sentence fits the window: the verbatim path answers
                yield StageEvent(stage="writing")
                raw = yield from _tokens(write_draft(fitting, task=task, chat=self.chat, max_tokens=self.max_tokens))
                yield StageEvent(stage="checking")
                statement = check_draft(raw, fitting, checker=self.checker, max_sentences=self.max_sentences,
                                        keep_unsupported=self.keep_unsupported, fallback=False)
        yield AnswerEvent(answer=self._final(question, query, info, pool, statement))

    def _final(
        self, question: str, query: str, info: RetrievalInfo, pool: Sequence[EvidenceSentence],
        statement: Statement | None,
    ) -> Answer:
        """The model's checked answer when it answers the question, else the best answering sentence verbatim."""
        failed: list[Claim] = []
        if statement is not None and statement.text:
            kept = " ".join(c.text for c in statement.claims if c.label == "supported" and not c.removed)
            if _fits(query, kept) and candidates(answer_type(query), query, kept):
                return self._answer(question, info, statement)
            # A draft that fails gives way to the best evidence sentence that fits, not to the one it cited.
            failed = [c.model_copy(update={"removed": True}) for c in statement.claims]
        elif statement is not None:
            failed = statement.claims
        choice = choose_answer(query, pool)
        if choice.sentence is None:
            return abstention(question, info, model=self.chat.name, claims=failed, note=choice.reason)
        chosen = verbatim([choice.sentence])
        return self._answer(question, info, chosen.model_copy(update={"claims": failed + chosen.claims}))

    def _answer(self, question: str, info: RetrievalInfo, statement: Statement) -> Answer:
        return Answer(question=question, answer=statement.text, abstained=False, citations=statement.citations,
                      claims=statement.claims, model=self.chat.name, retrieval=info)


@dataclass(frozen=True)
class Choice:
    """The sentence that answers, or why none does."""

    sentence: EvidenceSentence | None
    reason: str = ""


def choose_answer(question: str, pool: Sequence[EvidenceSentence]) -> Choice:
    """The evidence sentence holding the best-supported answer candidate; none (with the reason) when none does.

    A sentence qualifies when it holds the question's relation, does not contradict its year, number or ordinal,
    gives the kind of answer asked for, and holds a candidate (a span of that kind the question does not already
    name) near the relation asked. Support is the number of retrieved articles stating the candidate. With
    several articles retrieved, a candidate one source states qualifies only when its sentence fits tightly: one
    source stating a fact is normal in news, but a loose fit stated once is how on-topic snippets about another
    year or edition pass for answers. With one article, support cannot help and does not count. The best
    supported candidate wins, then the sentence's own score.
    """
    kind = answer_type(question)
    articles = len({e.chunk.article_id for e in pool})
    reasons: list[str] = []
    best: tuple[float, float, EvidenceSentence] | None = None
    for sentence in pool:
        why = _unfit(question, sentence)
        found = [] if why else [c for c in candidates(kind, question, sentence.text)
                                if kind in ("reason", "other") or anchored(question, sentence.text, c)]
        if not found:
            reasons.append(why or f"no {KIND_NAMES[kind]} in the sources that the question does not already name")
            continue
        support = max(_support(c, pool, dated=kind == "date") for c in found)
        tight = keyword_overlap(question, sentence.text) >= TIGHT_OVERLAP
        if support < min(MIN_SUPPORT, articles) and not tight:
            reasons.append("only one source says it, and loosely: " + found[0])
            continue
        rank = (min(support, MIN_SUPPORT), sentence.score)
        if best is None or rank > best[:2]:
            best = (*rank, sentence)
    if best is None:
        return Choice(None, reasons[0] if reasons else "no sentence of the sources bears on the question")
    return Choice(best[2])


def _unfit(question: str, sentence: EvidenceSentence) -> str:
    """Why ``sentence`` cannot answer ``question``; empty when it may.

    The sentence must hold the question's relation ("won", "director"); the names it is about may sit elsewhere in
    its passage (search snippets and headlines name the subject once), but the passage must speak of them.
    """
    passage = sentence.chunk.text
    if relation_coverage(question, sentence.text) < RELATION_FLOOR:
        return "the sources do not say this of what the question asks about"
    return (constraint_conflict(question, sentence.text, passage)
            or answers_question(question, sentence.text, min_coverage=0.0).reason
            or answers_question(question, passage).reason
            or unfit_reason(question, sentence.text, numbers=False))


def _support(candidate: str, pool: Sequence[EvidenceSentence], *, dated: bool = False) -> int:
    """How many retrieved articles state ``candidate`` (in any of their evidence chunks); dates match in any
    spelling ("Oct. 27, 2017", "27 October 2017")."""
    key = date_key(candidate) if dated else None
    chunks = {e.chunk.chunk_id: e.chunk for e in pool}.values()
    if key is not None:
        return len({c.article_id for c in chunks if any(same_date(key, k) for k in dates_in(c.text))})
    low = " ".join(candidate.lower().split())
    return len({c.article_id for c in chunks if low in " ".join(c.text.lower().split())})


def _fits(question: str, text: str) -> bool:
    """``text`` gives the kind of answer ``question`` asks for, by both the answerability and answer-type checks."""
    return answers_question(question, text).ok and not unfit_reason(question, text)


def _tokens(drafting: Generator[str, None, str]) -> Generator[TokenEvent, None, str]:
    """The draft's pieces as events; returns the whole reply."""
    while True:
        try:
            piece = next(drafting)
        except StopIteration as done:
            return str(done.value)
        yield TokenEvent(text=piece)


def abstention(
    question: str, info: RetrievalInfo, *, model: str, claims: Sequence[Claim] = (), note: str = ""
) -> Answer:
    """The answer that says the sources do not say, with the reason."""
    return Answer(question=question, answer=NO_ANSWER, abstained=True, citations=[], claims=list(claims),
                  model=model, retrieval=info, note=note)
