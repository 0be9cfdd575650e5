"""The per-sentence record of the answer path: each fact read once per question, and the same as read alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

import assistant.answer_facts as answer_facts
from assistant.answer_candidates import anchored, constraint_conflict, relation_coverage
from assistant.answer_facts import RELATION_FLOOR, PoolFacts, answer_spans, bearing_articles, support_of
from assistant.answer_types import unfit_reason
from assistant.answerability import answers_question
from assistant.answering import choose_answer
from assistant.evidence import EvidenceSentence, split_evidence
from assistant.schemas import RetrievedChunk

QUESTIONS = (
    "Who won the 2019 tournament?",
    "When was the game released?",
    "How many rockets were fired at Israel?",
    "Which areas in southern Lebanon were targeted?",
    "Why did the talks collapse?",
)
TEXTS = (
    "Simona Halep won the 2019 tournament in two sets. Tickets went on sale on March 3, 2019. Is she the best?",
    "Simona Halep of Romania won the 2019 tournament. The game was released on June 19, 2020 in Europe.",
    "Hezbollah fired over 100 rockets at Israel. Strikes hit the areas of Khiam and Bint Jbeil in southern Lebanon.",
    "The talks collapsed because neither side would move. Halep said she was tired after the 2018 final.",
)


def _pool() -> list[EvidenceSentence]:
    chunks = [RetrievedChunk(chunk_id=f"a{i}:0", article_id=f"a{i}", title=f"Story {i}", text=t)
              for i, t in enumerate(TEXTS)]
    return [e.model_copy(update={"score": 1.0 - i / 100, "cosine": 0.5 - i / 200})
            for i, e in enumerate(split_evidence(chunks))]


@pytest.mark.parametrize("question", QUESTIONS)
def test_each_record_says_what_the_functions_say_of_the_sentence_alone(question: str) -> None:
    pool = _pool()
    facts = PoolFacts(question, pool)
    for sentence, record in zip(pool, facts.sentences, strict=True):
        spans = answer_spans(question, sentence.text)
        assert list(record.spans) == spans
        assert list(record.anchors) == [anchored(question, sentence.text, c) for c in spans]
        # written out as the scorer had it before the record: relation floor, the question's form, then the type
        expected = ("the sources do not say this of what the question asks about"
                    if relation_coverage(question, sentence.text) < RELATION_FLOOR
                    else (answers_question(question, sentence.text, min_coverage=0.0).reason
                          or answers_question(question, sentence.chunk.text).reason
                          or unfit_reason(question, sentence.text, numbers=False)))
        assert record.fit_problem == expected
        assert record.conflict == constraint_conflict(question, sentence.text, sentence.chunk.text)
        assert record.relation == relation_coverage(question, sentence.text)
        assert record.eligible == (not sentence.text.rstrip().endswith("?") and bool(spans)
                                   and answers_question(question, sentence.text, min_coverage=0.0).ok)
        assert [facts.support(c) for c in spans] == [support_of(c, pool, dated=facts.dated) for c in spans]
    assert facts.bearing == bearing_articles(pool)


def _counting(monkeypatch: pytest.MonkeyPatch, name: str, key: Callable[..., str]) -> Counter[str]:
    """Count the calls of ``answer_facts.NAME`` by the text ``key`` picks from its arguments."""
    calls: Counter[str] = Counter()
    inner = getattr(answer_facts, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls[key(*args, **kwargs)] += 1
        return inner(*args, **kwargs)

    monkeypatch.setattr(answer_facts, name, counted)
    return calls


@pytest.mark.parametrize("question", QUESTIONS)
def test_choosing_an_answer_reads_each_sentence_and_passage_once(
    question: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = _counting(monkeypatch, "candidates", lambda kind, q, sentence: sentence)
    forms = _counting(monkeypatch, "answers_question", lambda q, text, **_: text)
    cues = _counting(monkeypatch, "cue_distance", lambda q, sentence, candidate: f"{sentence}|{candidate}")
    stated = _counting(monkeypatch, "states", lambda candidate, text, **_: f"{candidate}|{text}")
    choose_answer(question, _pool())
    assert spans and max(spans.values()) == 1
    # a sentence's own form once, and each passage once, however many of its sentences were asked about
    assert max(forms.values()) == 1
    assert not cues or max(cues.values()) == 1
    assert not stated or max(stated.values()) == 1


def test_a_sentence_asking_a_question_is_not_read_for_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = _counting(monkeypatch, "candidates", lambda kind, q, sentence: sentence)
    facts = PoolFacts("Who won the 2019 tournament?", _pool())
    asking = [r for r in facts.sentences if r.text.endswith("?")]
    assert asking and not any(r.eligible for r in asking)
    assert not any(r.text in spans for r in asking)
