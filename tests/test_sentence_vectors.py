"""Sentence vectors pooled from a chunk's own MiniLM pass (``MiniLMEmbeddings.pooled_sentences``), run for real."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.providers import MiniLMEmbeddings, minilm_dir
from assistant.sentences import sentence_spans

pytestmark = pytest.mark.slow

TEXT = (
    "Hezbollah launched over 100 Katyusha rockets at northern Israel on Tuesday. "
    "The central bank raised its interest rate by half a point to curb inflation. "
    "Bake the cake for an hour at 180 degrees."
)


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


def test_pooled_sentences_equal_the_mean_of_sentence_transformers_token_states(minilm: MiniLMEmbeddings) -> None:
    from sentence_transformers import SentenceTransformer

    from assistant.providers import _minilm_tokenizer

    spans = sentence_spans(TEXT)
    ours = np.array(minilm.pooled_sentences([TEXT, "Short."], [spans, [(0, 6)]])[0])
    tokens = SentenceTransformer(str(minilm_dir()), device="cpu").encode(TEXT, output_value="token_embeddings")
    offsets = _minilm_tokenizer().encode(TEXT, add_special_tokens=True).offsets
    assert len(offsets) == len(tokens)
    for (begin, end), mine in zip(spans, ours, strict=True):
        rows = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > begin]
        theirs = np.asarray(tokens[rows].mean(0))
        assert np.abs(mine - theirs / np.linalg.norm(theirs)).max() < 1e-4


def test_the_sentence_a_question_is_about_ranks_first(minilm: MiniLMEmbeddings) -> None:
    spans = sentence_spans(TEXT)
    vectors = np.array(minilm.pooled_sentences([TEXT], [spans])[0])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for question, wanted in (("How many rockets were fired?", 0), ("What did the bank do to rates?", 1),
                             ("How long should the cake bake?", 2)):
        query = np.array(minilm.embed_query(question))
        assert int(np.argmax(vectors @ query)) == wanted, question
