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

from assistant.answer_types import unfit_reason
from assistant.answerability import answers_question
from assistant.evidence import (
    EvidenceSentence,
    Statement,
    Style,
    check_draft,
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


@dataclass(frozen=True)
class AnswerWriter:
    """Writes the checked answer for a question from its retrieved chunks (all parts injected)."""

    chat: ChatBackend
    checker: Grounder
    embeddings: Embeddings
    style: Style
    evidence_limit: int = 3
    max_sentences: int = 2
    max_tokens: int = 96
    keep_unsupported: bool = False  # the "flag" grounding policy: failed sentences stay in, labelled

    def events(
        self, question: str, query: str, chunks: Sequence[RetrievedChunk], info: RetrievalInfo
    ) -> Iterator[AskEvent]:
        """Stages, draft tokens, then the answer (``question`` as asked, ``query`` standalone)."""
        picked = select_evidence(query, chunks, embeddings=self.embeddings, limit=self.evidence_limit)
        if not picked:
            yield AnswerEvent(answer=abstention(question, info, model=self.chat.name,
                                                note="no sentence of the sources bears on the question"))
            return
        if self.style == "extractive":
            statement = None
        else:
            yield StageEvent(stage="writing")
            drafting = write_draft(picked, task=f"Answer the question: {query}", chat=self.chat,
                                   max_tokens=self.max_tokens)
            raw = yield from _tokens(drafting)
            yield StageEvent(stage="checking")
            statement = check_draft(raw, picked, checker=self.checker, max_sentences=self.max_sentences,
                                    keep_unsupported=self.keep_unsupported, fallback=False)
        yield AnswerEvent(answer=self._final(question, query, info, picked, statement))

    def _final(
        self, question: str, query: str, info: RetrievalInfo, picked: Sequence[EvidenceSentence],
        statement: Statement | None,
    ) -> Answer:
        """The model's checked answer when it answers the question, else the best fitting sentence verbatim."""
        failed: list[Claim] = []
        if statement is not None and statement.text:
            kept = " ".join(c.text for c in statement.claims if c.label == "supported" and not c.removed)
            if _fits(query, kept):
                return self._answer(question, info, statement)
            # A draft that fails gives way to the best evidence sentence that fits, not to the one it cited.
            failed = [c.model_copy(update={"removed": True}) for c in statement.claims]
        elif statement is not None:
            failed = statement.claims
        fitting = [e for e in picked if _fits(query, e.text)]
        if not fitting:
            reason = answers_question(query, picked[0].text).reason or unfit_reason(query, picked[0].text)
            return abstention(question, info, model=self.chat.name, claims=failed, note=reason)
        chosen = verbatim(fitting[:1])
        return self._answer(question, info, chosen.model_copy(update={"claims": failed + chosen.claims}))

    def _answer(self, question: str, info: RetrievalInfo, statement: Statement) -> Answer:
        return Answer(question=question, answer=statement.text, abstained=False, citations=statement.citations,
                      claims=statement.claims, model=self.chat.name, retrieval=info)


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
