"""The learned answer scorer with real MiniLM, outside RGB: the seed article in a store that holds other stories.

The scorer was fitted on RGB's search snippets, where every passage is about the question; a user's store holds
other stories too. Those must not turn a question about one article into one of "several sources" whose answer
other articles should repeat, and they must not lend an answer to a question the seed article does not answer.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.grounding import GroundingChecker
from assistant.providers import chat_backend, embedding_backend
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow
EVALS = Path(__file__).resolve().parents[1] / "evals"
OTHER_STORIES = {
    "talks.txt": "Talks on a ceasefire in Gaza resumed in Cairo on Monday, with mediators from Egypt and Qatar "
                 "shuttling between the delegations. Officials said the gaps over a hostage exchange remained wide. "
                 "Aid agencies warned that food supplies in northern Gaza were running low.",
    "economy.txt": "Lebanon's economy shrank again last year as the banking crisis dragged on, the World Bank said. "
                   "Tourism in Beirut picked up over the summer, but hotel owners said bookings fell sharply after "
                   "the border clashes began.",
    "cabinet.txt": "Israel's war cabinet met late into the night to discuss the northern front, according to "
                   "officials. Residents of towns near the Lebanese border have been evacuated for months. "
                   "Opposition leaders called for new elections.",
}


@pytest.fixture(scope="module")
def crowded_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    folder = tmp_path_factory.mktemp("stories")
    for path in SEEDS.iterdir():
        shutil.copy(path, folder / path.name)
    for name, text in OTHER_STORIES.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    settings = Settings(llm="fake", embeddings="local", answer_style="extractive",
                        data_dir=tmp_path_factory.mktemp("data"))
    embedding = embedding_backend(settings)
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension, name="crowded")
    bot = Assistant(settings=settings, store=store, embedding=embedding, chat=chat_backend(settings),
                    checker=GroundingChecker(embeddings=embedding.embeddings))
    assert bot.ingest([folder]).new == 1 + len(OTHER_STORIES)
    yield bot
    bot.close()


def _questions(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (EVALS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_seed_questions_are_still_answered_with_other_stories_in_the_store(crowded_bot: Assistant) -> None:
    items = _questions("answerable.jsonl")
    right = 0
    for item in items:
        answer = crowded_bot.ask(str(item["question"]))
        facts = [str(f).lower() for f in item["facts"]]  # type: ignore[attr-defined]
        right += not answer.abstained and all(f in answer.answer.lower() for f in facts)
    assert right >= len(items) - 2  # 14 of 15 when written; the seed alone gives 15


def test_other_stories_lend_no_answer_to_what_the_seed_does_not_say(crowded_bot: Assistant) -> None:
    answered = [str(item["question"]) for item in _questions("unanswerable.jsonl")
                if not crowded_bot.ask(str(item["question"])).abstained]
    assert answered == []
