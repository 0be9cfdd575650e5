"""Can the local model read? SmolLM2-135M as a judge of RGB's sentences, against MiniLM's cosine.

Usage::

    python bench/rgb_reader.py [--limit N] [--json]   # tune half only (even ids); 32 min on a shared 2-core machine

Why: the extractive answer path decides from MiniLM similarity, word overlap and answer-type fit whether a retrieved
sentence answers the question, and on RGB that decision is where accuracy and negative rejection are lost (the
right sentence is ranked first far more often than the answers show). The local model never writes the answer
there; this asks whether it could at least judge one, scoring every sentence of every passage of the tune half's
questions four ways:

- ``cosine``: MiniLM's cosine between question and sentence (the baseline);
- ``question_pmi``: how much more likely the model finds the question after the sentence than after nothing, per
  question token (zero-shot question likelihood, the reranking signal of Sachan et al., 2022);
- ``answer_pmi``: how much more likely it finds the sentence as the answer to the question than on its own, per
  sentence token;
- ``judge``: log P("Yes") - log P("No") when asked, in its chat template, whether the text answers the question.

A sentence is an answer when it holds RGB's answer (RGB's own scoring); negative passages that state it are left out.
Figures per signal:

- ``sentence_auc``: answer sentences against the negatives' sentences, pooled over questions;
- ``questions_won``: the share of questions whose best answer sentence outscores their own best negative sentence
  (ties count half). This is the decision the answer path has to make (answer from the mixed passages, abstain on
  the negatives alone) with one threshold for every question, and 0.5 is a coin's.

It changes nothing and tunes nothing; the report half (odd ids) is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.providers import MiniLMEmbeddings, smollm2_path  # noqa: E402
from assistant.rgb_eval import DEFAULT_RGB_FILE, RgbRecord, load_rgb  # noqa: E402
from assistant.sentences import split_sentences  # noqa: E402
from bench.common import machine, report  # noqa: E402

SIGNALS = ("cosine", "question_pmi", "answer_pmi", "judge")
MAX_CHARS = 600  # RGB's snippets are short; this only bounds a run-on sentence's context


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


class Reader:
    """SmolLM2 in-process with every position's logits kept, so a text's likelihood costs one pass."""

    def __init__(self) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(smollm2_path()), n_ctx=512, logits_all=True, verbose=False, seed=7,
                         n_threads=os.cpu_count() or 1)
        self.yes = self.llm.tokenize(b"Yes", add_bos=False)[0]
        self.no = self.llm.tokenize(b"No", add_bos=False)[0]

    def continuation(self, prefix: str, text: str) -> tuple[float, int]:
        """Summed log-probability of ``text``'s tokens after ``prefix``, and their count."""
        head = self.llm.tokenize(prefix.encode("utf-8"), add_bos=True)
        tail = self.llm.tokenize(text.encode("utf-8"), add_bos=False)
        self.llm.reset()
        self.llm.eval(head + tail)
        logp = _log_softmax(np.asarray(self.llm.scores[len(head) - 1:len(head) + len(tail) - 1]))
        return float(sum(logp[i, token] for i, token in enumerate(tail))), len(tail)

    def judge(self, question: str, sentence: str) -> float:
        """log P(Yes) - log P(No) for "does the text answer the question?" in the model's chat template."""
        prompt = ("<|im_start|>system\nYou check facts.<|im_end|>\n<|im_start|>user\n"
                  f"Text: {sentence}\nQuestion: {question}\nDoes the text answer the question? Reply Yes or No."
                  "<|im_end|>\n<|im_start|>assistant\n")
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        self.llm.reset()
        self.llm.eval(tokens)
        logp = _log_softmax(np.asarray(self.llm.scores[len(tokens) - 1]))
        return float(logp[self.yes] - logp[self.no])


def score_question(record: RgbRecord, reader: Reader, embed: Callable[[str], np.ndarray]) -> list[dict[str, Any]]:
    """Every sentence of the question's passages with its label and the four signals."""
    question_alone, question_tokens = reader.continuation("Text:\nQuestion:", " " + record.query)
    question_vector = embed(record.query)
    rows = []
    for kind, passages in (("positive", record.positive), ("negative", record.negative)):
        for passage in passages:
            for sentence in split_sentences(" ".join(passage.split())):
                if len(sentence.split()) < 4:
                    continue
                answers = record.found_in(sentence)
                if kind == "negative" and answers:
                    continue  # a negative that states the answer (RGB's label noise)
                text = sentence[:MAX_CHARS]
                after, _ = reader.continuation(f"Text: {text}\nQuestion:", " " + record.query)
                given, n = reader.continuation(f"Question: {record.query}\nAnswer:", " " + text)
                alone, _ = reader.continuation("Answer:", " " + text)
                rows.append({
                    "id": record.id, "kind": kind, "answer": answers,
                    "cosine": float(np.dot(question_vector, embed(text))),
                    "question_pmi": (after - question_alone) / question_tokens,
                    "answer_pmi": (given - alone) / n,
                    "judge": reader.judge(record.query, text),
                })
    return rows


def auc(higher: Sequence[float], lower: Sequence[float]) -> float | None:
    """Chance that a random ``higher`` item outscores a random ``lower`` one (ties count half)."""
    if not higher or not lower:
        return None
    a, b = np.asarray(higher)[:, None], np.asarray(lower)[None, :]
    return round(float((a > b).mean() + 0.5 * (a == b).mean()), 3)


def figures(rows: Sequence[dict[str, Any]]) -> dict[str, object]:
    """Sentence-level and per-question AUC of each signal."""
    ids = sorted({r["id"] for r in rows})
    result: dict[str, object] = {}
    for signal in SIGNALS:
        answers = [r[signal] for r in rows if r["answer"]]
        negatives = [r[signal] for r in rows if r["kind"] == "negative"]
        won = []
        for i in ids:
            mine = [r for r in rows if r["id"] == i]
            a = [r[signal] for r in mine if r["answer"]]
            n = [r[signal] for r in mine if r["kind"] == "negative"]
            if a and n:
                won.append(1.0 if max(a) > max(n) else 0.5 if max(a) == max(n) else 0.0)
        result[signal] = {"sentence_auc": auc(answers, negatives),
                          "questions_won": round(sum(won) / len(won), 3) if won else None,
                          "questions_compared": len(won)}
    result["questions"] = len(ids)
    result["answer_sentences"] = sum(1 for r in rows if r["answer"])
    result["negative_sentences"] = sum(1 for r in rows if r["kind"] == "negative")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / DEFAULT_RGB_FILE, help="RGB's en_fact.json")
    parser.add_argument("--limit", type=int, help="at most this many tune-half questions")
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    parser.add_argument("--rows", type=Path, help="also write each sentence's label and scores (no text) as JSON")
    args = parser.parse_args(argv)
    records = [r for r in load_rgb(args.data) if r.half == "tune"][:args.limit]
    reader = Reader()
    minilm = MiniLMEmbeddings()

    def embed(text: str) -> np.ndarray:
        return np.asarray(minilm.embed_query(text))

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for done, record in enumerate(records, start=1):
        rows.extend(score_question(record, reader, embed))
        print(f"\r{done}/{len(records)} questions", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if args.rows is not None:
        args.rows.write_text(json.dumps(rows), encoding="utf-8")
    result = {"half": "tune", **figures(rows), "seconds": round(time.perf_counter() - started, 1),
              "machine": machine()}
    report(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
