"""Evidence first: pick the sentences that bear on a question, let the model condense them, check, fall back.

Answers and briefs share this step. A small model garbles numbers, names and dates when it composes from whole
passages, but it rarely needs to: the fact is almost always in one retrieved sentence. So the model sees only a
few evidence sentences, writes at most two short sentences, each citing the one sentence it rests on, and every
sentence it writes is grounded against that one sentence alone (so facts fused from several sentences fail).
What fails is replaced by the cited sentence itself, verbatim, quoted and cited: a source sentence is never wrong
about the source, so this step never loses a fact that retrieval found.

Example::

    >>> picked = select_evidence(question, chunks, embeddings=embeddings)            # doctest: +SKIP
    >>> statement = condense(picked[:2], task=f"Answer the question: {question}",   # doctest: +SKIP
    ...                      chat=chat, checker=checker, style="abstractive")
    >>> statement.text, statement.fallback                                          # doctest: +SKIP
    ('Israeli strikes hit Khiam and Bint Jbeil [1].', False)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, Field

from assistant.answer_types import AnswerType, answer_type, fits
from assistant.citations import cited_sentences, drop_unfinished, is_refusal, is_statement
from assistant.claims_checks import profile
from assistant.claims_relations import relation_problems
from assistant.injection import addresses_ai, as_data
from assistant.judge import Grounder
from assistant.prompts import Prompt, load_prompt
from assistant.providers import ChatBackend
from assistant.schemas import Citation, Claim, Evidence, Label, RetrievedChunk, SourceText
from assistant.sentences import STOPWORDS, content_words, sentence_spans

Style = Literal["extractive", "abstractive"]
TokenSink = Callable[[str], None]
_NAME_OR_NUMBER = re.compile(r"\b[A-Z][\w'’-]*|\b\d[\d,.:/]*\d\b|\b\d\b")
WINDOW_MARGIN = 32  # tokens kept free for the chat template's own markers
MESSAGE_OVERHEAD = 8  # tokens a chat template adds around each message


class EvidenceSentence(BaseModel):
    """One sentence of a retrieved chunk: ``text == chunk.text[start:end]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk: RetrievedChunk
    n: int = Field(ge=1, description="Number of the chunk in the list it was selected from: its [n] mark.")
    start: int = Field(ge=0, description="Offset of the sentence in the chunk text.")
    end: int = Field(ge=0)
    score: float = Field(default=0.0, description="How much the sentence bears on the question (higher is better).")
    cosine: float = Field(default=0.0, description="MiniLM cosine of the sentence and the question.")

    @property
    def text(self) -> str:
        """The sentence, verbatim."""
        return self.chunk.text[self.start : self.end]

    def citation(self) -> Citation:
        """The citation of this sentence, shaped as in ``ask --json`` (the quote is this sentence)."""
        chunk = self.chunk
        return Citation(n=self.n, article_id=chunk.article_id, title=chunk.title, chunk_id=chunk.chunk_id,
                        quote=self.text, source=chunk.source, published=chunk.published, url=chunk.url)

    def evidence(self) -> Evidence:
        """The sentence as a claim's evidence span in its chunk."""
        return Evidence(source=self.chunk.chunk_id, quote=self.text, start=self.start, end=self.end)


class Statement(BaseModel):
    """What ``condense`` returns: checked text with ``[n]`` marks, its citations and its claims' verdicts."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="One or two sentences with [n] marks; empty when there was no evidence.")
    citations: list[Citation] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list, description="Verdicts; failed model sentences are removed.")
    label: Label = Field(description="supported when every kept claim is.")
    fallback: bool = Field(default=False, description="True when a verbatim evidence sentence stands in.")
    draft: str = Field(default="", description="The model's reply before checking; empty when extractive.")


@dataclass(frozen=True)
class Weights:
    """How selection mixes its signals (picked on the seed questions and RGB's tuning half)."""

    similarity: float = 0.5
    keywords: float = 0.35
    answer_type: float = 0.15
    relative_floor: float = 0.7  # keep sentences scoring at least this share of the best one


# -- selection ---------------------------------------------------------------------------------------------------


def split_evidence(chunks: Sequence[RetrievedChunk]) -> list[EvidenceSentence]:
    """Every sentence of ``chunks`` (numbered 1.. in order), each text once: overlapping chunks repeat sentences."""
    seen: set[str] = set()
    out: list[EvidenceSentence] = []
    for n, chunk in enumerate(chunks, start=1):
        for start, end in sentence_spans(chunk.text):
            key = " ".join(chunk.text[start:end].lower().split())
            # A sentence that addresses an AI model is an instruction planted in the article, never evidence.
            if key not in seen and is_statement(chunk.text[start:end]) and not addresses_ai(chunk.text[start:end]):
                seen.add(key)
                out.append(EvidenceSentence(chunk=chunk, n=n, start=start, end=end))
    return out


def select_evidence(
    question: str,
    chunks: Sequence[RetrievedChunk],
    *,
    embeddings: Embeddings,
    limit: int = 3,
    weights: Weights | None = None,
) -> list[EvidenceSentence]:
    """The few sentences of ``chunks`` that bear on ``question``, best first, with their scores.

    Each sentence scores ``similarity * cosine + keywords * overlap + answer_type * fit``: MiniLM cosine with the
    question, the share of the question's content words it holds, and whether it has the kind of fact asked for.
    """
    weights = weights or Weights()
    candidates = split_evidence(chunks)
    if not candidates:
        return []
    cosines = _cosines(question, [c.text for c in candidates], embeddings)
    kind = answer_type(question)
    scored = [
        c.model_copy(update={"score": round(_score(question, c.text, float(cos), kind, weights), 4),
                             "cosine": round(float(cos), 4)})
        for c, cos in zip(candidates, cosines, strict=True)
    ]
    scored.sort(key=lambda c: -c.score)
    floor = scored[0].score * weights.relative_floor
    return [c for c in scored if c.score >= floor][:limit]


@lru_cache(maxsize=4096)  # selection weighs each sentence by it, and the answer scorer asks again
def keyword_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words (crudely stemmed) found in the sentence."""
    wanted = list(dict.fromkeys(content_words(question)))
    if not wanted:
        return 0.0
    have = set(content_words(sentence))
    return sum(any(_same_word(w, h) for h in have) for w in wanted) / len(wanted)


def _score(question: str, sentence: str, cosine: float, kind: AnswerType, weights: Weights) -> float:
    fit = 1.0 if kind != "other" and fits(kind, sentence) else 0.0
    return weights.similarity * cosine + weights.keywords * keyword_overlap(question, sentence) + (
        weights.answer_type * fit
    )


def _cosines(question: str, sentences: list[str], embeddings: Embeddings) -> np.ndarray:
    query = np.asarray(embeddings.embed_query(question), dtype=np.float32)
    rows = np.asarray(embeddings.embed_documents(sentences), dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
    cosines: np.ndarray = np.clip(rows @ query / np.maximum(norms, 1e-12), 0.0, 1.0)
    return cosines


def _same_word(a: str, b: str) -> bool:
    """Crude stem equality: 'wounded'~'wounds', 'Israel'~'israeli'."""
    a, b = a.lower(), b.lower()
    n = min(len(a), len(b), 5)
    return a == b or (n >= 4 and a[:n] == b[:n])


# -- condense, check, fall back ----------------------------------------------------------------------------------


def condense(
    evidence: Sequence[EvidenceSentence],
    *,
    task: str,
    chat: ChatBackend,
    checker: Grounder,
    style: Style = "abstractive",
    max_sentences: int = 2,
    max_tokens: int = 96,
    on_token: TokenSink | None = None,
) -> Statement:
    """The evidence restated as ``task`` asks, every sentence checked against the one it cites.

    ``task`` is the instruction for the model ("Answer the question: ...", "Restate neutrally and attribute to
    the speaker."). ``extractive`` skips the model and gives the first ``max_sentences`` sentences verbatim.
    Citation numbers are the sentences' ``n``. ``on_token`` receives the model's reply as it is written.
    ``write_draft`` and ``check_draft`` are the two halves, for callers that report progress between them.
    """
    if not evidence:
        return Statement(text="", label="unsupported")
    if style == "extractive":
        return verbatim(evidence[:max_sentences])
    drafting = write_draft(evidence, task=task, chat=chat, max_tokens=max_tokens)
    while True:
        try:
            piece = next(drafting)
        except StopIteration as done:
            raw: str = done.value
            break
        if on_token is not None:
            on_token(piece)
    return check_draft(raw, evidence, checker=checker, max_sentences=max_sentences)


def draft_messages(
    evidence: Sequence[EvidenceSentence], *, task: str, prompt: Prompt | None = None
) -> list[BaseMessage]:
    """The condense prompt exactly as the model receives it (``prompt``: the condense prompt, already loaded)."""
    prompt = prompt or load_prompt("condense")
    return prompt.render(evidence=_numbered(evidence), task=" ".join(task.split()))


def fit_to_window(
    evidence: Sequence[EvidenceSentence], *, task: str, chat: ChatBackend, max_tokens: int
) -> tuple[list[EvidenceSentence], int]:
    """The best-ranked evidence whose condense prompt and reply fit the model's window, and how many were left out.

    What is measured is the prompt that is sent, so a long sentence (a paragraph without a full stop) cannot push
    the reply out of a small local window. Nothing fitting means the model is not asked at all.
    """
    kept = list(evidence)
    budget = chat.context_window - max_tokens - WINDOW_MARGIN
    prompt = load_prompt("condense")  # once per call, not once per sentence dropped
    while kept:
        messages = draft_messages(kept, task=task, prompt=prompt)
        if sum(chat.count_tokens(str(m.content)) + MESSAGE_OVERHEAD for m in messages) <= budget:
            break
        kept.pop()
    return kept, len(evidence) - len(kept)


def write_draft(
    evidence: Sequence[EvidenceSentence], *, task: str, chat: ChatBackend, max_tokens: int = 96
) -> Generator[str, None, str]:
    """The model's reply to the numbered evidence and ``task``, piece by piece; returns the whole reply,
    cut back to its last complete sentence when it ran out of tokens."""
    messages = draft_messages(evidence, task=task)
    reply = yield from chat.stream_reply(messages, max_tokens=max_tokens)
    raw = str(reply.content)
    return drop_unfinished(raw) if reply.response_metadata.get("finish_reason") == "length" else raw


def _numbered(evidence: Sequence[EvidenceSentence]) -> str:
    return "\n".join(f"[{i}] {as_data(e.text)}" for i, e in enumerate(evidence, start=1))


def check_draft(
    raw: str,
    evidence: Sequence[EvidenceSentence],
    *,
    checker: Grounder,
    max_sentences: int = 2,
    keep_unsupported: bool = False,
    fallback: bool = True,
) -> Statement:
    """Each sentence of the model's reply kept if the one sentence it cites supports it, else that sentence
    verbatim; a reply with no usable sentence gives the first evidence sentence verbatim.

    ``keep_unsupported`` keeps a failed sentence in the text, labelled, instead (the "flag" grounding policy);
    ``fallback=False`` drops it (the caller picks its own stand-in; the text may end up empty).
    """
    if not evidence:
        return Statement(text="", label="unsupported", draft=raw)
    written = [s for s in cited_sentences(raw, valid=set(range(1, len(evidence) + 1)))
               if is_statement(s.text) and not is_refusal(s.text)][:max_sentences]
    if not written:
        if not fallback:
            return Statement(text="", label="unsupported", draft=raw)
        return verbatim(evidence[:1]).model_copy(update={"draft": raw})
    parts: list[str] = []
    claims: list[Claim] = []
    cited: list[EvidenceSentence] = []
    fell_back = False
    for sentence in written:
        source = evidence[sentence.cited[0] - 1] if sentence.cited else _closest(sentence.text, evidence, checker)
        claim = check_against(sentence.text, source, checker=checker)
        if claim.label == "supported" or keep_unsupported:
            parts.append(_marked(sentence.text, source.n))
            claims.append(claim)
        else:
            claims.append(claim.model_copy(update={"removed": True}))
            if not fallback or any(source is c for c in cited):
                continue
            fell_back = True
            parts.append(_quoted(source))
            claims.append(_verbatim_claim(source, why=claim.reason))
        if not any(source is c for c in cited):
            cited.append(source)
    kept = [c for c in claims if not c.removed]
    label: Label = "supported" if kept and all(c.label == "supported" for c in kept) else "unsupported"
    return Statement(text=" ".join(parts), citations=_citations(cited), claims=claims, label=label,
                     fallback=fell_back, draft=raw)


def check_against(text: str, sentence: EvidenceSentence, *, checker: Grounder) -> Claim:
    """The verdict on ``text`` against the one sentence it cites, plus the strict checks that it adds no name
    or number that sentence lacks and changes none of its relations; the claim's evidence is placed in the chunk."""
    verdict = checker.verdict(text, [SourceText(id=sentence.chunk.chunk_id, text=sentence.text)])
    added = added_names_or_numbers(text, sentence.text)
    changed = relation_problems(profile(text), profile(sentence.text))
    if verdict.label == "supported" and added:
        verdict = verdict.model_copy(update={
            "label": "unsupported", "score": 0.0,
            "reason": "adds what the cited sentence lacks: " + ", ".join(added[:5]),
        })
    elif verdict.label == "supported" and changed:  # "a record" for "a debut", "released" for "announced"
        verdict = verdict.model_copy(update={"label": "contradicted", "score": 0.0, "reason": changed[0].reason})
    return verdict.model_copy(update={"evidence": sentence.evidence(), "citations": [sentence.n]})


def added_names_or_numbers(text: str, sentence: str) -> list[str]:
    """Names (capitalised words) and numbers of ``text`` that ``sentence`` does not contain.

    Names match exactly or as a demonym of the same stem ("Israel"/"Israeli", "Iran"/"Iranian"), not by a loose
    prefix: "Lebanese civilians" is not in a sentence that only says "Lebanon's".
    """
    have = _words(sentence)
    added: list[str] = []
    for i, match in enumerate(_NAME_OR_NUMBER.finditer(text)):
        for word in _words(match.group(0)):
            if i == 0 and match.start() == 0 and word in STOPWORDS:
                continue  # a capital only because it opens the sentence
            if not any(word == h or _demonym(word, h) for h in have):
                added.append(match.group(0).rstrip("'’-"))
    return list(dict.fromkeys(added))


def _words(text: str) -> list[str]:
    """Lower-case words, possessives dropped, hyphenated names split, digits kept whole ("4,000" is "4000")."""
    text = re.sub(r"['’]s\b", "", text.lower())
    return [w.replace(",", "") for w in re.findall(r"\d[\d,.]*\d|\w+", text)]


def _demonym(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and not short.isdigit() and long.startswith(short) and len(long) - len(short) <= 3


def _closest(text: str, evidence: Sequence[EvidenceSentence], checker: Grounder) -> EvidenceSentence:
    """The evidence sentence an uncited sentence is closest to."""
    sources = [SourceText(id=str(i), text=e.text) for i, e in enumerate(evidence)]
    found = checker.best_evidence(text, sources)
    return evidence[int(found[0].source)] if found else evidence[0]


def verbatim(evidence: Sequence[EvidenceSentence]) -> Statement:
    """The sentences themselves, quoted and cited."""
    unique = [e for i, e in enumerate(evidence) if all(e.text != o.text for o in evidence[:i])]
    return Statement(
        text=" ".join(_quoted(e) for e in unique),
        citations=_citations(unique),
        claims=[_verbatim_claim(e) for e in unique],
        label="supported",
        fallback=True,
    )


def _verbatim_claim(sentence: EvidenceSentence, *, why: str = "") -> Claim:
    reason = f"verbatim source sentence; the condensed one failed: {why}" if why else "verbatim source sentence"
    return Claim(text=sentence.text, label="supported", score=1.0, citations=[sentence.n],
                 evidence=sentence.evidence(), reason=reason)


def _quoted(sentence: EvidenceSentence) -> str:
    return f"\u201c{' '.join(sentence.text.split())}\u201d [{sentence.n}]"


def _marked(text: str, n: int) -> str:
    text = text.rstrip()
    if text[-1:] in ".!?":
        return f"{text[:-1]} [{n}]{text[-1]}"
    return f"{text} [{n}]."


def _citations(sentences: Sequence[EvidenceSentence]) -> list[Citation]:
    unique = {(s.n, s.text): s.citation() for s in sentences}
    return sorted(unique.values(), key=lambda c: (c.n, c.quote))
