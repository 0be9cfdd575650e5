"""Fast offline harness for the extractive answer path on RGB: retrieval cached once, selection scored in seconds.

Usage::

    python bench/rgb_select.py --build            # retrieve for every tune-half question once (a few minutes)
    python bench/rgb_select.py --json             # score selection + abstention on the cache (seconds)
    python bench/rgb_select.py --show-failures    # one line per miss, to read what went wrong (tune half only)
    python bench/rgb_select.py --fold A --json    # the same figures on one fold of the tune half (A: id % 4 == 0)
    python bench/rgb_select.py --fit --json       # fit the answer scorer on each fold, check it on the other
                                                  # (--drop, --l2, --vote, --loose-labels, --tight: variants)
    python bench/rgb_select.py --fit --write --drop conflict,unfit,closeness --tight 1.0   # ... and ship it

Why: ``assistant eval --set rgb`` ingests every question's passages into a fresh store, twice, and that dominates
its run time; the extractive answer path after retrieval needs no language model at all. So ``--build`` runs the
real ingestion and retrieval (MiniLM, hybrid retrieval, the local model's prompt budget) exactly as
``Assistant.ask`` does and stores, per question and run (``mixed``: positives and negatives; ``negative``:
negatives only), the chunks the answer path receives. Scoring then runs the real ``AnswerWriter`` (extractive) on
those chunks, with sentence embeddings cached too, and prints the figures ``assistant eval --set rgb`` reports,
plus how often the top evidence sentences hold RGB's answer.

The cache holds RGB text (CC BY-NC-SA 4.0, evaluation use only), so it is written outside the project (default: the
system temporary folder). Only the tune half (even ids) is meant for this harness: the report half is measured with
``assistant eval --set rgb --half report`` alone, never looked at item by item.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.answer_scorer import FEATURES, SCORER_FILE, ScorerModel  # noqa: E402
from assistant.answering import AnswerEvent, AnswerWriter  # noqa: E402
from assistant.evidence import select_evidence  # noqa: E402
from assistant.grounding import GroundingChecker  # noqa: E402
from assistant.providers import ChatBackend, chat_backend, embedding_backend  # noqa: E402
from assistant.rgb_eval import (  # noqa: E402
    DEFAULT_RGB_FILE,
    RgbRecord,
    RgbRow,
    half_figures,
    load_rgb,
    passage_store,
)
from assistant.schemas import Answer, RetrievalInfo, RetrievedChunk  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.rgb_folds import DEFAULT_L2, FOLDS, cross_check, fit_on, fold_of, pool_items  # noqa: E402

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "assistant-rgb-select"
RUNS = ("mixed", "negative")


class CachedEmbeddings(Embeddings):
    """MiniLM with every vector kept by text (and saved to the cache), so rescoring embeds nothing twice."""

    def __init__(self, inner: Embeddings, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.vectors: dict[str, list[float]] = {}
        if path.is_file():
            data = np.load(path, allow_pickle=False)
            self.vectors = dict(zip(data["texts"].tolist(), data["vectors"].tolist(), strict=True))
        self.dirty = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts``, embedding only the ones not seen yet."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.inner.embed_documents(missing), strict=True))
            self.dirty = True
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The query's vector (MiniLM embeds queries and documents alike)."""
        return self.embed_documents([text])[0]

    def save(self) -> None:
        """Write the vectors whole (temporary file renamed into place)."""
        if not self.dirty:
            return
        texts = list(self.vectors)
        partial = self.path.with_name(self.path.name + ".part.npz")
        np.savez(partial, texts=np.array(texts), vectors=np.array([self.vectors[t] for t in texts]))
        partial.replace(self.path)


def build(settings: Settings, records: Sequence[RgbRecord], cache: Path) -> int:
    """Run ingestion and retrieval for each record's two runs; write the chunks the answer path would get."""
    embedding = embedding_backend(settings)
    chat = chat_backend(settings)
    checker = GroundingChecker(embeddings=embedding.embeddings)
    items = []
    for done, record in enumerate(records, start=1):
        for run in RUNS:
            passages = [*record.positive, *record.negative] if run == "mixed" else record.negative
            items.append({"id": record.id, "run": run, "query": record.query, "answer": record.parts(),
                          **_retrieve(record.query, passages, settings, embedding, chat, checker)})
        print(f"\rretrieved {done}/{len(records)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / "items.json.part"
    partial.write_text(json.dumps(items), encoding="utf-8")
    partial.replace(cache / "items.json")
    return len(items)


def _retrieve(query: str, passages: Sequence[str], settings: Settings, embedding: object, chat: ChatBackend,
              checker: GroundingChecker) -> dict[str, object]:
    """What ``Assistant.ask_stream`` hands ``AnswerWriter``: the same steps, on a fresh store of ``passages``."""
    from assistant.providers import EmbeddingBackend

    assert isinstance(embedding, EmbeddingBackend)
    with passage_store(passages, settings=settings, embedding=embedding, chat=chat, checker=checker) as bot:
        found = bot.answer_sources(query)  # the answer path's own steps: retrieval, then its relevance gate
        gated = not bot.bears_on_question(found)
        chunks = [] if gated else list(found.chunks)
    info = RetrievalInfo(query=query, candidates=found.candidates, best_similarity=found.best_similarity,
                         best_coverage=found.best_coverage, used=len(chunks))
    return {"gated": gated, "info": info.model_dump(mode="json"),
            "chunks": [c.model_dump(mode="json") for c in chunks]}


def score(items: Sequence[dict[str, object]], embeddings: Embeddings, chat: ChatBackend,
          *, show: bool = False, scorer: ScorerModel | None = None) -> dict[str, object]:
    """The extractive answer path on every cached item; the eval's figures (counted by ``half_figures``, as
    ``assistant eval --set rgb`` counts them) and the evidence's hit rates."""
    writer = AnswerWriter(chat=chat, checker=GroundingChecker(embeddings=embeddings), embeddings=embeddings,
                          style="extractive", scorer=scorer)
    outcomes: dict[int, dict[str, object]] = {}  # per question, the fields of its eval row from its two runs
    top1 = top3 = 0
    for item in items:
        record = RgbRecord(id=int(str(item["id"])), query=str(item["query"]), answer=item["answer"],  # type: ignore[arg-type]
                           fakeanswer="", positive=[], positive_wrong=[], negative=[])
        chunks = [RetrievedChunk.model_validate(c) for c in item["chunks"]]  # type: ignore[attr-defined]
        answer = _answer(writer, record.query, chunks, RetrievalInfo.model_validate(item["info"]))
        fields = outcomes.setdefault(record.id, {"id": record.id, "half": record.half, "seconds": 0.0})
        if item["run"] == "mixed":
            fields.update(_mixed_outcome(record, answer))
            picked = select_evidence(record.query, chunks, embeddings=embeddings, limit=3,
                                     weights=None) if chunks else []
            top1 += bool(picked) and record.found_in(picked[0].text)
            top3 += any(record.found_in(p.text) for p in picked)
            if show and not fields["correct"]:
                print(f"MISS  {record.id:3d} {record.query!r} want={record.parts()} got={_short(answer)}")
        else:
            fields.update(_negative_outcome(record, answer))
            if show and fields["wrong_with_citation"]:
                print(f"WRONG {record.id:3d} {record.query!r} got={_short(answer)}")
    rows = [_eval_row(fields) for fields in outcomes.values()]
    counted = half_figures(rows)
    n = max(counted.questions, 1)
    return {"questions": counted.questions, "accuracy": counted.accuracy,
            "mixed_answer_rate": counted.mixed_answer_rate,
            "negative_rejection": counted.negative_rejection,
            "wrong_with_citation_per_100": counted.wrong_with_citation_per_100,
            "evidence_top1_holds_answer": round(top1 / n, 3),
            "evidence_top3_holds_answer": round(top3 / n, 3),
            "second_figure_any_spelling": {"accuracy": counted.accuracy_any_spelling,
                                           "wrong_with_citation_per_100": counted.wrong_any_spelling_per_100}}


def _mixed_outcome(record: RgbRecord, answer: Answer) -> dict[str, object]:
    """The eval row's fields from the run on positives and negatives (as ``rgb_eval`` judges them)."""
    return {"mixed_abstained": answer.abstained, "correct": not answer.abstained and record.found_in(answer.answer),
            "mixed_words": len(answer.answer.split()),
            "correct_any_spelling": not answer.abstained and record.found_loosely(answer.answer)}


def _negative_outcome(record: RgbRecord, answer: Answer) -> dict[str, object]:
    """The eval row's fields from the run on negatives only: an answer with a citation that lacks RGB's is wrong."""
    cited = not answer.abstained and bool(answer.citations)
    return {"negative_abstained": answer.abstained,
            "wrong_with_citation": cited and not record.found_in(answer.answer),
            "wrong_any_spelling": cited and not record.found_loosely(answer.answer)}


def _eval_row(fields: dict[str, object]) -> RgbRow:
    """One question's row; both its runs must be in the cache."""
    try:
        return RgbRow.model_validate(fields)
    except ValidationError as exc:
        raise SystemExit(f"error: the cache lacks a run of question {fields['id']}; rebuild it with --build") from exc


def fit(items: Sequence[dict[str, object]], embeddings: Embeddings, *, drop: str, l2: float, vote: bool,
        loose: bool, tight: float | None, write: bool) -> dict[str, object]:
    """Cross-fold figures of the scorer without the ``drop`` features; with ``write``, the scorer fitted on the
    whole tune half (threshold from the folds) written into the package."""
    unknown = sorted(set(filter(None, drop.split(","))) - set(FEATURES))
    if unknown:
        raise SystemExit(f"error: unknown features {unknown}; known: {', '.join(FEATURES)}")
    features = [f for f in FEATURES if f not in drop.split(",")]
    pools = pool_items(items, embeddings, loose=loose)
    checked = cross_check(pools, features=features, l2=l2, vote=vote, tight_overlap=tight)
    threshold = float(str(checked["threshold"]))
    note = (f"RGB en_fact tune half (even ids, {len({p.id for p in pools})} questions, mixed and negative-only runs, "
            f"{sum(len(p.labels) for p in pools)} sentences, labelled by "
            f"{'RGB matching or another spelling' if loose else 'RGB matching'}), L2 {l2}; threshold {threshold} "
            "chosen on the out-of-fold results of folds A (id % 4 == 0) and B (id % 4 == 2); "
            f"bench/rgb_select.py --fit --write{' --drop ' + drop if drop else ''}"
            f"{f' --tight {tight}' if tight is not None else ''}")
    model = fit_on(pools, features=features, l2=l2, threshold=threshold, vote=vote, tight_overlap=tight,
                   fitted_on=note)
    if write:
        partial = SCORER_FILE.with_name(SCORER_FILE.name + ".part")
        partial.write_text(model.model_dump_json(indent=2) + "\n", encoding="utf-8")
        partial.replace(SCORER_FILE)
    return {**checked, "features": features, "l2": l2, "vote": vote, "loose_labels": loose, "tight": tight,
            "coef": dict(zip(model.features, model.coef, strict=True)), "written": write}


def _answer(writer: AnswerWriter, query: str, chunks: list[RetrievedChunk], info: RetrievalInfo) -> Answer:
    if not chunks:
        return Answer(question=query, answer="", abstained=True, model="-", retrieval=info)
    for event in writer.events(query, query, chunks, info):
        if isinstance(event, AnswerEvent):
            return event.answer
    raise AssertionError("the answer path ended without an answer")


def _short(answer: Answer) -> str:
    return f"ABSTAIN ({answer.note})" if answer.abstained else repr(answer.answer[:160])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rgb-file", type=Path, default=ROOT / DEFAULT_RGB_FILE)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"cache folder (default {DEFAULT_CACHE})")
    parser.add_argument("--half", choices=["tune", "report"], default="tune",
                        help="tune (default); report only to build the cache, never to look at failures")
    parser.add_argument("--build", action="store_true", help="(re)run ingestion and retrieval into the cache")
    parser.add_argument("--top-k", type=int, help="chunks retrieved per question (default: the local model's)")
    parser.add_argument("--show-failures", action="store_true", help="print each miss (refused for --half report)")
    parser.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    parser.add_argument("--fold", choices=FOLDS, help="score one fold of the tune half only (A: id %% 4 == 0, B: 2)")
    parser.add_argument("--fit", action="store_true",
                        help="fit the answer scorer on each fold and measure it on the other (tune half only)")
    parser.add_argument("--write", action="store_true",
                        help=f"with --fit: fit on the whole tune half and write {SCORER_FILE.name}")
    parser.add_argument("--drop", default="", help="with --fit: features to leave out, comma-separated")
    parser.add_argument("--vote", action="store_true",
                        help="with --fit: a candidate's chance adds up across the articles stating it (noisy-or)")
    parser.add_argument("--loose-labels", action="store_true",
                        help="with --fit: a sentence giving the answer in another spelling counts as holding it")
    parser.add_argument("--tight", type=float, metavar="SHARE",
                        help="with --fit: a sentence holding this share of the question's words and passing the "
                             "rules answers under the threshold too")
    parser.add_argument("--l2", type=float, default=DEFAULT_L2, help=f"with --fit: L2 penalty (default {DEFAULT_L2})")
    args = parser.parse_args()
    if args.half == "report" and (args.show_failures or args.fit or args.fold):
        parser.error("--show-failures, --fit and --fold are for the tune half only")
    if args.write and not args.fit:
        parser.error("--write needs --fit")
    cache = args.cache / (args.half if args.top_k is None else f"{args.half}-k{args.top_k}")
    started = time.perf_counter()
    if args.build:
        records = [r for r in load_rgb(args.rgb_file) if r.half == args.half]
        build(Settings(llm="local", embeddings="local", top_k=args.top_k), records, cache)
    items_file = cache / "items.json"
    if not items_file.is_file():
        print(f"error: no cache at {items_file}; run with --build first", file=sys.stderr)
        return 2
    built = time.perf_counter()
    items = json.loads(items_file.read_text(encoding="utf-8"))
    embeddings = CachedEmbeddings(embedding_backend(Settings(embeddings="local")).embeddings,
                                  cache / "vectors.npz")
    chat = chat_backend(Settings(llm="fake", embeddings="local"))
    if args.fold:
        items = [i for i in items if fold_of(int(str(i["id"]))) == args.fold]
    if args.fit:
        figures = fit(items, embeddings, drop=args.drop, l2=args.l2, vote=args.vote, loose=args.loose_labels,
                      tight=args.tight, write=args.write)
    else:
        figures = score(items, embeddings, chat, show=args.show_failures)
    embeddings.save()
    figures.update({"half": args.half, "fold": args.fold or "both", "build_seconds": round(built - started, 1),
                    "score_seconds": round(time.perf_counter() - built, 1), "machine": machine()})
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
