"""The LLM judge against a real ChatOpenAI talking to a judge stub on loopback: verdicts used, hard checks veto."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from assistant.errors import ModelError
from assistant.grounding import GroundingChecker
from assistant.judge import Grounder, JudgeVerdict, LLMJudge
from assistant.schemas import SourceText
from tests.conftest import SEED_FILE
from tests.openai_stub import StubState, openai_stub  # noqa: F401

Reply = Callable[[str, list[str]], str]  # (claim, numbered evidence sentences) -> message content


class JudgeStub:
    """What the judge stub answers, and the request bodies it received (over the shared OpenAI stub)."""

    def __init__(self, state: StubState) -> None:
        self.state = state
        self.reply: Reply = lambda claim, sentences: _verdict("unsupported", 0, "stub default")
        state.chat_reply = self._answer

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    @property
    def fail_with(self) -> int | None:
        return self.state.fail_with

    @fail_with.setter
    def fail_with(self, status: int | None) -> None:
        self.state.fail_with = status

    def _answer(self, body: dict[str, Any]) -> str:
        user = str(body["messages"][-1]["content"])
        claim = re.search(r"^Claim: (.*)$", user, re.MULTILINE)
        sentences = re.findall(r"^\[\d+\] (.*)$", user, re.MULTILINE)
        return self.reply(claim.group(1) if claim else "", sentences)


def _verdict(label: str, evidence: int, reason: str) -> str:
    return json.dumps({"label": label, "evidence": evidence, "reason": reason})


def _fixed(content: str) -> Reply:
    return lambda claim, sentences: content


@pytest.fixture
def judge_stub(openai_stub: tuple[str, StubState]) -> tuple[str, JudgeStub]:  # noqa: F811
    """(base_url, stub) of a running judge server; it stops after the test."""
    base_url, state = openai_stub
    return base_url, JudgeStub(state)


@pytest.fixture
def sources() -> list[SourceText]:
    return [SourceText(id=SEED_FILE.name, text=SEED_FILE.read_text(encoding="utf-8"))]


def make_judge(base_url: str) -> LLMJudge:
    model = ChatOpenAI(base_url=base_url, api_key="x", model="stub-judge", max_retries=0, timeout=5)  # type: ignore[arg-type]
    return LLMJudge(model=model, offline=GroundingChecker(embeddings=None))


def supports_with(word: str) -> Reply:
    """A judge that says supported, citing the first evidence sentence containing ``word``."""

    def reply(claim: str, sentences: list[str]) -> str:
        n = next(i for i, s in enumerate(sentences, 1) if word in s)
        return _verdict("supported", n, "the sentence says so")

    return reply


PARAPHRASE = "A food depot was wrecked in the raids."


def test_the_judges_verdict_is_used_for_a_paraphrase(
    judge_stub: tuple[str, JudgeStub], sources: list[SourceText]
) -> None:
    base_url, stub = judge_stub
    assert GroundingChecker().verdict(PARAPHRASE, sources).label == "unsupported"  # lexical alignment misses it
    stub.reply = supports_with("warehouse")
    claim = make_judge(base_url).verdict(PARAPHRASE, sources)
    assert claim.label == "supported" and claim.score == 1.0
    assert claim.evidence is not None and "warehouse" in claim.evidence.quote
    text = sources[0].text
    assert text[claim.evidence.start : claim.evidence.end] == claim.evidence.quote  # verbatim span


def test_hard_checks_veto_a_supported_verdict(judge_stub: tuple[str, JudgeStub], sources: list[SourceText]) -> None:
    base_url, stub = judge_stub
    stub.reply = supports_with("Katyusha")
    claim = make_judge(base_url).verdict("Hezbollah launched over 300 rockets.", sources)
    assert claim.label != "supported" and claim.score == 0.0
    assert "over 300" in claim.reason and "over 100" in claim.reason and "judge said supported" in claim.reason
    assert claim.evidence is not None and "over 100 Katyusha" in claim.evidence.quote


@pytest.mark.parametrize(("claim", "word", "why"), [
    ("Hamas launched over 100 Katyusha rockets towards Israeli military positions.", "Katyusha", "entity Hamas"),
    ("Hezbollah did not launch rockets towards Israeli military positions.", "Katyusha", "negation"),
    ("Israeli jets carried out airstrikes in the Bekaa Valley for a fifth consecutive day.", "jets", "ordinal fifth"),
    ("The war in Gaza broke out on November 8.", "October", "date November"),
])
def test_the_veto_covers_names_negation_ordinals_and_dates(
    judge_stub: tuple[str, JudgeStub], sources: list[SourceText], claim: str, word: str, why: str
) -> None:
    base_url, stub = judge_stub
    stub.reply = supports_with(word)
    verdict = make_judge(base_url).verdict(claim, sources)
    assert verdict.label == "contradicted" and why in verdict.reason


def test_check_asks_once_per_claim_and_scores_the_report(
    judge_stub: tuple[str, JudgeStub], sources: list[SourceText]
) -> None:
    base_url, stub = judge_stub

    def reply(claim: str, sentences: list[str]) -> str:
        if "depot" in claim:
            return supports_with("warehouse")(claim, sentences)
        return _verdict("unsupported", 0, "the evidence does not mention it")

    stub.reply = reply
    report = make_judge(base_url).check(f"{PARAPHRASE} The mayor of Beirut resigned on Friday.", sources)
    assert [c.label for c in report.claims] == ["supported", "unsupported"]
    assert report.score == 0.5 and len(stub.requests) == 2
    assert make_judge(base_url).check("", sources).score == 1.0 and len(stub.requests) == 2  # nothing to ask


def test_a_malformed_judge_reply_falls_back_to_the_offline_verdict(
    judge_stub: tuple[str, JudgeStub], sources: list[SourceText]
) -> None:
    base_url, stub = judge_stub
    offline = GroundingChecker().verdict(PARAPHRASE, sources)
    for content in ("Sure! It is supported.", '{"label": "maybe", "evidence": 1, "reason": "x"}',
                    '{"label": "supported", "evidence": 1, "reason": "x", "confidence": 0.9}'):
        stub.reply = _fixed(content)
        claim = make_judge(base_url).verdict(PARAPHRASE, sources)
        assert claim.label == offline.label == "unsupported", content
        assert claim.evidence == offline.evidence
        assert claim.reason.startswith("judge reply unreadable") and offline.reason in claim.reason


def test_the_request_carries_the_verdict_json_schema(
    judge_stub: tuple[str, JudgeStub], sources: list[SourceText]
) -> None:
    base_url, stub = judge_stub
    stub.reply = supports_with("warehouse")
    make_judge(base_url).verdict(PARAPHRASE, sources)
    (body,) = stub.requests
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    spec = response_format["json_schema"]
    assert spec["name"] == "JudgeVerdict" and spec["strict"] is True
    schema = spec["schema"]
    assert set(schema["properties"]) == set(schema["required"]) == {"label", "evidence", "reason"}
    assert schema["additionalProperties"] is False
    assert sorted(schema["properties"]["label"]["enum"]) == ["contradicted", "supported", "unsupported"]
    user = body["messages"][-1]["content"]
    assert f"Claim: {PARAPHRASE}" in user and "[1] " in user and "warehouse" in user


def test_a_server_failure_is_a_one_line_model_error(
    judge_stub: tuple[str, JudgeStub], sources: list[SourceText]
) -> None:
    base_url, stub = judge_stub
    stub.fail_with = 500
    with pytest.raises(ModelError) as caught:
        make_judge(base_url).check(f"{PARAPHRASE} Hezbollah launched over 300 rockets.", sources)
    message = str(caught.value)
    assert "HTTP 500" in message and "stub-judge" in message and "\n" not in message


def test_no_sources_needs_no_judge(judge_stub: tuple[str, JudgeStub]) -> None:
    base_url, stub = judge_stub
    claim = make_judge(base_url).verdict(PARAPHRASE, [])
    assert claim.label == "unsupported" and claim.reason == "no sources" and not stub.requests


def test_both_checkers_fit_the_grounder_protocol(judge_stub: tuple[str, JudgeStub]) -> None:
    checkers: list[Grounder] = [GroundingChecker(), make_judge(judge_stub[0])]
    assert all(callable(c.best_evidence) for c in checkers)
    assert JudgeVerdict.model_config.get("extra") == "forbid"


def test_a_model_without_structured_output_is_asked_for_json_text(sources: list[SourceText]) -> None:
    reply = 'Here you go: {"label": "supported", "evidence": 0, "reason": "a paraphrase of the warehouse sentence"}'
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    claim = LLMJudge(model=model, offline=GroundingChecker()).verdict(PARAPHRASE, sources)
    assert claim.label == "supported" and claim.evidence is not None and "warehouse" in claim.evidence.quote
