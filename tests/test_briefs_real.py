"""One brief of the seed article with the real models: SmolLM2-135M condensing, MiniLM selecting and checking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation import brief_fact_coverage, load_brief_facts
from assistant.grounding import GroundingChecker
from assistant.providers import chat_backend, embedding_backend
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def test_seed_brief_with_the_local_model_is_cited_grounded_and_neutral(tmp_path: Path) -> None:
    settings = Settings(llm="local", embeddings="local", data_dir=tmp_path / "data")
    embedding = embedding_backend(settings)
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension, name="brief-real")
    with Assistant(settings=settings, store=store, embedding=embedding, chat=chat_backend(settings),
                   checker=GroundingChecker(embeddings=embedding.embeddings)) as bot:
        assert bot.ingest([SEEDS]).new == 1
        brief = bot.brief(sorted(bot.store.article_ids()))
    shipped = brief.summary + brief.key_facts
    assert len(shipped) >= 5 and all(s.citations for s in shipped)
    assert brief.grounded_fraction >= 0.9
    assert brief.lint.hits == []
    assert brief.provenance.rewrites_accepted + brief.provenance.rewrites_rejected == len(shipped)
    facts = load_brief_facts(ROOT / "evals").facts
    assert brief_fact_coverage(facts, [s.text for s in brief.statements()]).hits >= 5
    seed_text = (SEEDS / "000_1ad185ed54b8e960.txt").read_text(encoding="utf-8")
    for statement in brief.statements():
        for citation in statement.citations:
            assert " ".join(citation.quote.split()) in " ".join(seed_text.split())
    assert json.loads(brief.model_dump_json())["provenance"]["model"].startswith("SmolLM2")
