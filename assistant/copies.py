"""Syndicated and near-duplicate copies: the same story carried by several outlets, stored once.

A wire story reprinted with another headline, a trimmed ending or a rewritten paragraph shares
most of its word sequences with the original; two outlets reporting the same event in their own
words share almost none. So each text is reduced to a MinHash signature (datasketch) of its word
shingles, and a new article is a copy of a stored one when the estimated share of the shorter
text's shingles found in the longer one (containment) reaches ``threshold``, and the two are of
comparable length (a roundup that quotes a whole wire story is not a copy of it).

Signatures are compared with every stored one in one numpy pass: exact for the thousands of
articles a local store holds, where an LSH index would trade recall for speed it does not need.
The store keeps the signatures in a file beside its keyword index (``CopyIndex.save``/``load``) and
updates them with every write while copy detection is on, so checking a new article never reads or re-hashes
the stored ones. A new article's signature is computed once (``signature``) and handed on: to the checks, to the
waiting batch, and to the store's update after the write.
``bench/copies.py`` chooses the threshold and shingle size on a development split and reports
precision and recall on a held-out split, against MiniLM similarity.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from datasketch import MinHash
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.schemas import RetrievedChunk

# Chosen on the development split of bench/copies.py (see docs/benchmarks.md).
DEFAULT_THRESHOLD = 0.3
DEFAULT_SHINGLE = 4
NUM_PERM = 128
MIN_LENGTH_RATIO = 0.5
# Two short items can share a stock phrase ("floods hit the northern valley") by chance: a copy must share at
# least this many word shingles (estimated), so a one-line item is never merged on a phrase. From bench/copies.py.
DEFAULT_MIN_SHARED = 5
_SEED = 1
FILE_FORMAT = 1
"""Layout of a saved ``CopyIndex``; a file of another format is rebuilt, never misread."""
_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def numbers(text: str) -> frozenset[str]:
    """The figures a text states (counts, dates, times, scores), as written."""
    return frozenset(_NUMBER.findall(text))


def shingles(text: str, size: int = DEFAULT_SHINGLE) -> set[bytes]:
    """Lower-cased word n-grams; a text shorter than n words is one shingle."""
    words = _WORD.findall(text.casefold())
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


@dataclass(frozen=True)
class Signature:
    """A text's MinHash values and its exact shingle count (needed to turn Jaccard into containment), with the
    shingle size they were made with and the figures the text states (``CopyIndex.find`` compares them)."""

    values: np.ndarray
    size: int
    shingle: int = DEFAULT_SHINGLE
    figures: frozenset[str] = frozenset()


def signature(text: str, *, size: int = DEFAULT_SHINGLE) -> Signature:
    """The MinHash signature of a text's shingles (the costly part of a copy check: compute it once per text)."""
    grams = shingles(text, size)
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED)
    minhash.update_batch(list(grams))
    return Signature(values=np.asarray(minhash.hashvalues, dtype=np.uint64), size=len(grams), shingle=size,
                     figures=numbers(text))


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Share of the smaller set inside the larger, from their Jaccard index and sizes."""
    smaller = min(size_a, size_b)
    if smaller == 0:
        return 0.0
    shared = jaccard * (size_a + size_b) / (1.0 + jaccard)
    return min(1.0, shared / smaller)


def copy_score(a: Signature, b: Signature, *, min_shared: int = DEFAULT_MIN_SHARED) -> float:
    """How much of one text is found in the other; 0 when their lengths are too far apart or too little is shared."""
    if not a.size or not b.size or min(a.size, b.size) < MIN_LENGTH_RATIO * max(a.size, b.size):
        return 0.0
    jaccard = float(np.count_nonzero(a.values == b.values)) / NUM_PERM
    if jaccard * (a.size + b.size) / (1.0 + jaccard) < min_shared:
        return 0.0
    return containment(jaccard, a.size, b.size)


class SavedCopies(BaseModel):
    """The part of a saved ``CopyIndex`` besides its signature matrix, checked when read back."""

    model_config = ConfigDict(extra="forbid")

    format: int = Field(description="FILE_FORMAT of the writer.")
    chunks: int = Field(description="Chunks in the store when saved: a store changed behind our back differs.")
    shingle: int
    ids: list[str]
    sizes: list[int]
    numbers: list[list[str]]


@dataclass
class CopyIndex:
    """Signatures of the stored articles; ``find`` names the stored article a new text copies, if any."""

    threshold: float = DEFAULT_THRESHOLD
    shingle: int = DEFAULT_SHINGLE
    min_shared: int = DEFAULT_MIN_SHARED
    _ids: list[str] = field(default_factory=list)
    _values: list[np.ndarray] = field(default_factory=list)
    _sizes: list[int] = field(default_factory=list)
    _numbers: list[frozenset[str]] = field(default_factory=list)
    _matrix: npt.NDArray[np.uint64] | None = None  # the signatures stacked, rebuilt after a change

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._ids

    def add(self, article_id: str, text: str | Signature) -> None:
        """Remember a stored article by its text or its ``signature`` (a second add of the same id replaces the
        first)."""
        sig = self.signature_of(text)
        self.remove(article_id)
        self._ids.append(article_id)
        self._values.append(sig.values)
        self._sizes.append(sig.size)
        self._numbers.append(sig.figures)
        self._matrix = None

    def signature_of(self, text: str | Signature) -> Signature:
        """``text``'s signature at this index's shingle size (a signature given is checked, not recomputed)."""
        if isinstance(text, str):
            return signature(text, size=self.shingle)
        if text.shingle != self.shingle:
            raise ValueError(f"a signature of {text.shingle}-word shingles cannot be compared with an index of "
                             f"{self.shingle}-word ones; compute it with signature(text, size={self.shingle})")
        return text

    def remove(self, article_id: str) -> None:
        """Forget an article that left the store."""
        for i in reversed([i for i, known in enumerate(self._ids) if known == article_id]):
            del self._ids[i], self._values[i], self._sizes[i], self._numbers[i]
            self._matrix = None

    def scores(self, text: str | Signature) -> list[tuple[str, float]]:
        """Every stored article with its copy score against ``text`` (or its signature), best first."""
        if not self._ids:
            return []
        sig = self.signature_of(text)
        if not sig.size:
            return []
        if self._matrix is None:
            self._matrix = np.vstack(self._values)
        sizes = np.asarray(self._sizes, dtype=np.float64)
        jaccard = np.count_nonzero(self._matrix == sig.values, axis=1) / NUM_PERM
        smaller = np.minimum(sizes, sig.size)
        shared = jaccard * (sizes + sig.size) / (1.0 + jaccard)
        score = np.minimum(1.0, shared / smaller)
        score[smaller < MIN_LENGTH_RATIO * np.maximum(sizes, sig.size)] = 0.0
        score[shared < self.min_shared] = 0.0
        order = np.argsort(-score, kind="stable")
        return [(self._ids[i], float(score[i])) for i in order]

    def find(self, text: str | Signature, *, threshold: float | None = None) -> str | None:
        """The stored article that ``text`` (or its signature) is a copy of, or None.

        A near-copy that states a figure its original lacks (a changed death toll, another date) is not a
        copy: it is another account, stored in full so that a brief can show the disagreement.
        """
        if not self._ids:
            return None
        limit = self.threshold if threshold is None else threshold
        sig = self.signature_of(text)
        position = {article_id: i for i, article_id in enumerate(self._ids)}
        for article_id, score in self.scores(sig):
            if score < limit:
                return None
            if sig.figures <= self._numbers[position[article_id]]:
                return article_id
        return None

    def save(self, path: Path, *, chunks: int) -> None:
        """Write the signatures to ``path`` (a temporary file, then a rename: never half a file)."""
        meta = SavedCopies(format=FILE_FORMAT, chunks=chunks, shingle=self.shingle, ids=self._ids, sizes=self._sizes,
                           numbers=[sorted(n) for n in self._numbers])
        matrix = np.vstack(self._values) if self._values else np.zeros((0, NUM_PERM), dtype=np.uint64)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as out:
            np.savez(out, values=matrix, meta=np.array(meta.model_dump_json()))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, chunks: int) -> CopyIndex | None:
        """The index saved at ``path``, or None when it is missing, unreadable or not of a store of ``chunks``."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                values = np.asarray(saved["values"], dtype=np.uint64)
                meta = SavedCopies.model_validate_json(str(saved["meta"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, ValidationError, json.JSONDecodeError):
            return None
        rows = len(meta.ids)
        if (meta.format, meta.chunks) != (FILE_FORMAT, chunks) or values.shape != (rows, NUM_PERM) or \
                len(meta.sizes) != rows or len(meta.numbers) != rows:
            return None
        index = cls(shingle=meta.shingle)
        index._ids, index._sizes = list(meta.ids), list(meta.sizes)
        index._values = list(values)
        index._numbers = [frozenset(n) for n in meta.numbers]
        return index


def stored_texts(chunks: list[RetrievedChunk]) -> dict[str, str]:
    """Each stored article's text from its chunks in order (overlaps repeat shingles, which sets ignore)."""
    by_article: dict[str, list[RetrievedChunk]] = {}
    for chunk in chunks:
        by_article.setdefault(chunk.article_id, []).append(chunk)
    return {aid: "\n".join(c.text for c in sorted(parts, key=lambda c: c.start)) for aid, parts in by_article.items()}
