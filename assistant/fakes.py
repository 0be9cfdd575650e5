"""Deterministic fake chat model and embeddings, shipped so CI, CLI and UI can run without a model.

``fake`` is an ordinary backend name (``ASSISTANT_LLM=fake``, ``ASSISTANT_EMBEDDINGS=fake``).
The fakes behave like their real counterparts in the ways the pipeline depends on:
the embeddings put texts that share words close together, and the chat model answers
from the numbered sources in its prompt, citing them, or says the sources do not say.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from assistant.sentences import content_words, split_sentences

NO_ANSWER = "The sources do not say."


class HashingEmbeddings(Embeddings):
    """Feature-hashed bag of words and word pairs, L2-normalised: shared words mean nearby vectors."""

    def __init__(self, *, size: int = 384) -> None:
        self.size = size

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.size, 1.0 if (value >> 63) & 1 else -1.0

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.size
        words = content_words(text)
        features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
        for feature in features:
            index, sign = self._bucket(feature)
            vector[index] += sign
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:
            index, _ = self._bucket("\x00empty")
            vector[index] = 1.0
            return vector
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question the same way as documents."""
        return self._embed(text)


FakeMode = Literal["quote", "errors"]

_SOURCE_LINE = re.compile(r"^\[(\d+)\]\s*(?:\([^)]*\)\s*)?(.*)$")
_QUESTION_LINE = re.compile(r"^(?:Question|Task):\s*(.*)$", re.IGNORECASE)


def _parse_prompt(prompt: str) -> tuple[dict[int, str], str]:
    sources: dict[int, str] = {}
    question = ""
    current: int | None = None
    for line in prompt.splitlines():
        if line.strip() in ("<sources>", "</sources>"):
            current = None
        elif match := _SOURCE_LINE.match(line):
            current = int(match.group(1))
            sources[current] = match.group(2)
        elif match := _QUESTION_LINE.match(line):
            question = match.group(1)
            current = None
        elif current is not None and line.strip():
            sources[current] += " " + line.strip()
        else:
            current = None
    return sources, question


_SWAPS = [
    (re.compile(r"\b(\d+)\b"), lambda m: str(int(m.group(1)) * 3 + 7)),
    (re.compile(r"\bsecond\b"), lambda m: "fifth"),
    (re.compile(r"\bHezbollah\b"), lambda m: "Hamas"),
    (re.compile(r"\bhave\b"), lambda m: "have not"),
]


def plant_error(sentence: str) -> str:
    """Change one fact of ``sentence`` (a number, an ordinal, an actor or the polarity)."""
    for pattern, replace in _SWAPS:
        changed, count = pattern.subn(replace, sentence, count=1)
        if count:
            return changed
    return "Officials confirmed that the ceasefire was signed in Geneva."


class FakeChatModel(BaseChatModel):
    """Answers from the prompt's numbered sources: the best-overlapping sentences, cited as [n].

    ``mode="errors"`` plants one wrong fact in each answer sentence, for testing the checker.
    """

    mode: FakeMode = "quote"
    max_sentences: int = 2
    min_overlap: int = 2

    @property
    def _llm_type(self) -> str:
        return "assistant-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: object,
    ) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        text = self.respond(prompt)
        response_format = kwargs.get("response_format")
        if isinstance(response_format, dict) and isinstance(response_format.get("schema"), dict):
            text = json.dumps(fill_rewrite(response_format["schema"], text))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def respond(self, prompt: str) -> str:
        """The deterministic answer to one rendered prompt."""
        sources, question = _parse_prompt(prompt)
        if not question:
            return self._rewrite_or_echo(prompt)
        wanted = set(content_words(question))
        scored: list[tuple[int, int, int, str]] = []
        for n, text in sources.items():
            for order, sentence in enumerate(split_sentences(text)):
                overlap = len(wanted & set(content_words(sentence)))
                if overlap >= self.min_overlap:
                    scored.append((-overlap, n, order, sentence))
        if not scored:
            return NO_ANSWER
        best = sorted(scored)[: self.max_sentences]
        parts = []
        for _, n, _, sentence in best:
            if self.mode == "errors":
                sentence = plant_error(sentence)
            parts.append(f"{sentence.rstrip('.')} [{n}].")
        return " ".join(parts)

    @staticmethod
    def _rewrite_or_echo(prompt: str) -> str:
        lines = [line for line in prompt.splitlines() if line.strip()]
        for line in reversed(lines):
            if line.lower().startswith("follow-up:"):
                return line.split(":", 1)[1].strip()
        return lines[-1] if lines else NO_ANSWER


def fill_rewrite(schema: dict[str, Any], answer: str) -> dict[str, Any]:
    """The answer in the shape of a ``{"text", "cites"}`` schema, within its bounds, as a grammar would force.

    ``text`` is the answer without its ``[n]`` marks, cut to ``maxLength``; ``cites`` are its marks that the
    schema allows (the first allowed number when it has none).
    """
    props = schema.get("properties", {})
    limit = int(props.get("text", {}).get("maxLength", len(answer)))
    cites_schema = props.get("cites", {})
    allowed = [int(n) for n in cites_schema.get("items", {}).get("enum", [1])]
    marks = [int(n) for n in re.findall(r"\[(\d+)\]", answer) if int(n) in allowed]
    cites = list(dict.fromkeys(marks or allowed[:1]))[: int(cites_schema.get("maxItems", 1))]
    text = re.sub(r"\s*\[\d+\]", "", answer).strip()[:limit]
    return {"text": text, "cites": cites}


def fake_chat_model(*, mode: FakeMode = "quote") -> FakeChatModel:
    """The shipped fake chat model."""
    return FakeChatModel(mode=mode)
