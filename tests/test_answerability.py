"""Answer-type checks: a true sentence that does not answer the question is not an answer."""

from __future__ import annotations

import pytest

from assistant.answerability import answers_question

SENTENCE = "Hezbollah launched over 100 Katyusha rockets towards several Israeli military positions."


@pytest.mark.parametrize(
    ("question", "answer", "ok"),
    [
        ("How many rockets did Hezbollah launch?", SENTENCE, True),
        ("How many soldiers did Hezbollah wound?", SENTENCE, False),
        ("How many Israeli positions were hit by rockets?", "Israeli positions were hit by rockets.", False),
        ("How many members died?", "The strike killed two members of the group.", True),
        ("When did the floods reach the city?", "The floods reached the city on Tuesday night.", True),
        ("On what date did the talks start?", "The talks started after a long delay.", False),
        ("What is the name of the mayor who resigned?", "The mayor, Anna Berg, resigned on Friday.", True),
        ("What is the name of the mayor who resigned?", "The mayor resigned after a vote in Oslo.", False),
        ("Where did the ministers meet?", "The ministers met in Geneva on Monday.", True),
        ("Where did the ministers meet?", "The ministers met to discuss the budget; talks resume next month.", False),
        ("What did the court decide about the merger?", "The court blocked the merger on Monday.", True),
        ("What did the court decide about the merger?", "Shares of the bank rose two percent.", False),
    ],
)
def test_answer_types(question: str, answer: str, ok: bool) -> None:
    verdict = answers_question(question, answer)
    assert verdict.ok is ok, verdict.reason
    assert bool(verdict.reason) is not ok
