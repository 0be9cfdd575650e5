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

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field

from assistant.answer_candidates import candidates
from assistant.answer_facts import PoolFacts
from assistant.answer_scorer import ScorerModel, feature_rows, load_scorer, votes
from assistant.answer_types import KIND_NAMES, answer_type, unfit_reason
from assistant.answerability import answers_question
from assistant.evidence import (
    EvidenceSentence,
    Statement,
    Style,
    Weights,
    check_draft,
    fit_to_window,
    select_evidence,
    verbatim,
    write_draft,
)
from assistant.fakes import NO_ANSWER
from assistant.judge import Grounder
from assistant.providers import ChatBackend
from assistant.schemas import Answer, Claim, RetrievalInfo, RetrievedChunk

Stage = Literal["retrieving", "writing", "checking"]


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


ANSWER_POOL = 60  # sentences the scorer weighs for the answer (about five retrieved chunks' worth)


def answer_pool(query: str, chunks: Sequence[RetrievedChunk], embeddings: Embeddings, *,
                limit: int = ANSWER_POOL) -> list[EvidenceSentence]:
    """The sentences the answer scorer weighs, best first: every retrieved sentence up to ``limit``, no relative
    floor. The scorer was fitted on exactly this pool, so its fitting and its benchmarks build it here too."""
    return select_evidence(query, chunks, embeddings=embeddings, limit=limit, weights=Weights(relative_floor=0.0))


@dataclass(frozen=True)
class AnswerWriter:
    """Writes the checked answer for a question from its retrieved chunks (all parts injected)."""

    chat: ChatBackend
    checker: Grounder
    embeddings: Embeddings
    style: Style
    evidence_limit: int = 3
    answer_pool: int = ANSWER_POOL
    pool_floor: float = 0.6  # the model sees evidence_limit of those scoring at least this share of the best one
    scorer: ScorerModel | None = None  # None: the fitted one shipped with the package
    max_sentences: int = 2
    max_tokens: int = 96
    keep_unsupported: bool = False  # the "flag" grounding policy: failed sentences stay in, labelled

    def events(
        self, question: str, query: str, chunks: Sequence[RetrievedChunk], info: RetrievalInfo
    ) -> Iterator[AskEvent]:
        """Stages, draft tokens, then the answer (``question`` as asked, ``query`` standalone)."""
        pool = answer_pool(query, chunks, self.embeddings, limit=self.answer_pool)
        picked = [e for e in pool if e.score >= pool[0].score * self.pool_floor][: self.evidence_limit]
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
        """The model's checked answer when it answers the question, else the best answering sentence verbatim;
        whether the sources answer at all is the scorer's decision (``choose_answer``) for both, so a fluent draft
        cannot answer where no sentence of the sources does."""
        failed: list[Claim] = []
        choice = choose_answer(query, pool, scorer=self.scorer)
        if statement is not None and statement.text:
            kept = " ".join(c.text for c in statement.claims if c.label == "supported" and not c.removed)
            if choice.sentence is not None and _fits(query, kept) and candidates(answer_type(query), query, kept):
                return self._answer(question, info, statement)
            # A draft that fails gives way to the best evidence sentence that fits, not to the one it cited.
            failed = [c.model_copy(update={"removed": True}) for c in statement.claims]
        elif statement is not None:
            failed = statement.claims
        if choice.sentence is None:
            return abstention(question, info, model=self.chat.name, claims=failed, note=choice.reason)
        chosen = verbatim([choice.sentence])
        return self._answer(question, info, chosen.model_copy(update={"claims": failed + chosen.claims}))

    def _answer(self, question: str, info: RetrievalInfo, statement: Statement) -> Answer:
        return Answer(question=question, answer=statement.text, abstained=False, citations=statement.citations,
                      claims=statement.claims, model=self.chat.name, retrieval=info)


@dataclass(frozen=True)
class Choice:
    """The sentence that answers, or why none does, with the scorer's probability for the best sentence."""

    sentence: EvidenceSentence | None
    reason: str = ""
    probability: float = 0.0


def choose_answer(question: str, pool: Sequence[EvidenceSentence], *, scorer: ScorerModel | None = None) -> Choice:
    """The evidence sentence most likely to hold the answer by the learned scorer, or none (with the reason) when
    even the best is under the scorer's threshold.

    Three rules stay absolute, because no weighing can make them right: a sentence that asks a question answers
    nothing; a typed question ("who", "when", "how many", "where") needs a candidate of its kind that it does not
    already name; and that fact must sit where the question's form asks for it (a number beside the counted thing,
    a name beside "the name of X", a date for "when", a place for "where": ``answers_question``). Everything else
    (the relation asked, the question's year, how many sources state the candidate, similarity) is a feature of
    ``answer_scorer``, weighed as fitted rather than as a verdict.

    The threshold was chosen on pools of several on-topic search snippets. With a single article bearing on the
    question (``bearing_articles``: other stories retrieved beside it do not count; support cannot count either)
    the scorer only ranks, and the rules decide whether the best sentence answers: it must hold the relation asked,
    agree with the question's year and number, and hold a candidate near the relation's cue. With several, a best
    sentence under the threshold may still answer when it holds every word the question asks and passes the rules,
    provided no other bearing article offers an answer (``ScorerModel.tight_overlap``).
    """
    if not pool:
        return Choice(None, "no sentence of the sources bears on the question")
    model = scorer or load_scorer()
    facts = PoolFacts(question, pool)
    eligible = [i for i, sentence in enumerate(facts.sentences) if sentence.eligible]
    if not eligible:
        return Choice(None, f"no {KIND_NAMES[facts.kind]} in the sources that the question does not already name")
    probabilities = model.probabilities(feature_rows(facts))
    if len(facts.bearing) == 1:
        return _one_article(facts, eligible, probabilities)
    chances = votes(facts, probabilities, eligible) if model.vote else {i: float(probabilities[i]) for i in eligible}
    best = max(eligible, key=lambda i: (chances[i], float(probabilities[i]), pool[i].score))
    chance = round(chances[best], 4)
    if chance >= model.threshold:
        return Choice(pool[best], probability=chance)
    alone = len({pool[i].chunk.article_id for i in eligible} & facts.bearing) <= 1
    tight = _tight(facts, eligible, probabilities, model.tight_overlap) if alone else None
    if tight is not None:
        return Choice(pool[tight], probability=round(float(probabilities[tight]), 4))
    return Choice(None, f"no sentence of the sources clearly answers it ({_weakness(facts, best)}; "
                        f"score {chance:.2f} < {model.threshold:.2f})", chance)


def _tight(facts: PoolFacts, eligible: Sequence[int], probabilities: np.ndarray, overlap: float | None) -> int | None:
    """The best-scored sentence that says all the question asks (``overlap`` of its content words) and passes the
    rules: one source stating a fact plainly is normal in news. The caller asks only where no other article bearing
    on the question offers an answer (a related story that does not say is no rival)."""
    if overlap is None:
        return None
    tight = [i for i in eligible if facts.sentences[i].overlap >= overlap and not facts.sentences[i].rule_problem]
    return max(tight, key=lambda i: float(probabilities[i]), default=None)


def _one_article(facts: PoolFacts, eligible: Sequence[int], probabilities: np.ndarray) -> Choice:
    """The best-scored sentence among those the rules let answer; none, with the first rule broken, otherwise."""
    passing = [i for i in eligible if not facts.sentences[i].rule_problem]
    if not passing:
        return Choice(None, facts.sentences[eligible[0]].rule_problem)
    pool = facts.pool
    best = max(passing, key=lambda i: (float(probabilities[i]), pool[i].score))
    return Choice(pool[best], probability=round(float(probabilities[best]), 4))


def _weakness(facts: PoolFacts, best: int) -> str:
    """What the best sentence lacks, in words: the rule it breaks, or that no other source states its answer."""
    sentence = facts.sentences[best]
    if sentence.fit_problem:
        return sentence.fit_problem
    spans = sentence.spans
    if len(facts.bearing) > 1 and spans and facts.support(spans[0]) < 2:
        return f"only one source says it, and loosely: {spans[0]}"
    return "it fits the question loosely"


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
