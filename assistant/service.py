"""The Assistant facade: the one way the CLI, the UI and the evals ingest, ask and check.

Example::

    >>> from assistant.service import Assistant
    >>> from assistant.settings import Settings
    >>> with Assistant.from_settings(Settings(llm="fake", embeddings="fake", data_dir="/tmp/a")) as bot:
    ...     bot.ingest(["seeds"]).summary()          # doctest: +SKIP
    ...     bot.ask("Which areas were targeted?").answer  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType

from assistant.answerability import answers_question
from assistant.articles import discover, read_document, read_file
from assistant.chunking import chunk_article
from assistant.citations import drop_unfinished, ground_answer, is_refusal
from assistant.copies import CopyIndex, stored_texts
from assistant.errors import ArticleError, AssistantError, InputError, StoreError
from assistant.fakes import NO_ANSWER
from assistant.fetch import Fetcher, FetchLimits, fetch_all, is_url
from assistant.grounding import GroundingChecker
from assistant.judge import Grounder, LLMJudge
from assistant.prompts import load_prompt
from assistant.providers import ChatBackend, EmbeddingBackend, chat_backend, embedding_backend
from assistant.retrieval import HybridRetriever
from assistant.schemas import (
    Answer,
    Article,
    Claim,
    GroundingReport,
    IngestReport,
    RetrievalInfo,
    RetrievedChunk,
    SourceText,
)
from assistant.settings import Settings
from assistant.store import ArticleStore

Progress = Callable[[int, int, str], None]
History = Sequence[tuple[str, str]]
RELEVANCE_FLOORS = {"local": 0.25, "fake": 0.12, "openai": 0.25}


def number_sources(chunks: Sequence[RetrievedChunk]) -> str:
    """The sources block of the answer prompt: ``[n] text``, one chunk a line.

    Titles are left out: small models copy them into answers as if they were findings.
    """
    return "\n".join(f"[{n}] {' '.join(chunk.text.split())}" for n, chunk in enumerate(chunks, start=1))


class Assistant:
    """Ingest articles, answer questions with checked citations, and check any text's grounding."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: ArticleStore | Callable[[], ArticleStore],
        embedding: EmbeddingBackend,
        chat: ChatBackend,
        checker: Grounder,
    ) -> None:
        self.settings = settings
        self._store = store if isinstance(store, ArticleStore) else None
        self._open_store = store if not isinstance(store, ArticleStore) else None
        self._retriever: HybridRetriever | None = None
        self._copies: CopyIndex | None = None
        self.embedding = embedding
        self.chat = chat
        self.checker = checker
        self.min_relevance = (
            settings.min_relevance
            if settings.min_relevance is not None
            else RELEVANCE_FLOORS[settings.embeddings]
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Assistant:
        """Build every component the settings name; the only place that does."""
        settings = settings or Settings()
        embedding = embedding_backend(settings)
        chat = chat_backend(settings)

        def store() -> ArticleStore:
            return ArticleStore.open(
                settings=settings,
                embeddings=embedding.embeddings,
                embedding_model=embedding.name,
                dimension=embedding.dimension,
            )

        offline = GroundingChecker(embeddings=embedding.embeddings)
        checker: Grounder = (
            LLMJudge(model=chat.model, offline=offline) if settings.grounding_judge == "llm" else offline
        )
        return cls(settings=settings, store=store, embedding=embedding, chat=chat, checker=checker)

    @property
    def store(self) -> ArticleStore:
        """The vector store, opened (and locked) on first use, so `check` never touches it."""
        if self._store is None:
            if self._open_store is None:
                raise StoreError("the store was closed; create a new Assistant")
            self._store = self._open_store()
        return self._store

    @property
    def retriever(self) -> HybridRetriever:
        """Hybrid retrieval over the store."""
        if self._retriever is None:
            self._retriever = HybridRetriever(
                store=self.store, embeddings=self.embedding.embeddings, k=self.settings.top_k or self.chat.top_k
            )
        return self._retriever

    def close(self) -> None:
        """Release the store (and its lock) if it was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None
            self._retriever = None
            self._copies = None

    def __enter__(self) -> Assistant:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- ingestion -----------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], *, progress: Progress | None = None) -> IngestReport:
        """Store the articles found under ``paths`` (files, folders, http(s) URLs of pages, feeds and PDFs).

        Unchanged articles cost nothing, changed ones replace the old, and a syndicated copy of a
        stored story is recorded as one more outlet of it instead of being stored again.
        """
        items = [str(p) for p in paths]
        urls = [item for item in items if is_url(item)]
        files, errors = discover([Path(item) for item in items if not is_url(item)])
        report = IngestReport(errors=[str(e) for e in errors])
        total = len(files) + len(urls)
        for done, path in enumerate(files, start=1):
            try:
                articles = read_file(path)
            except ArticleError as exc:
                report.errors.append(str(exc))
            else:
                self._ingest_file(path, articles, report)
            if progress is not None:
                progress(done, total, str(path))
        if urls:
            self._ingest_urls(urls, report, progress=progress, offset=len(files), total=total)
        return report

    def _ingest_urls(
        self, urls: list[str], report: IngestReport, *, progress: Progress | None, offset: int, total: int
    ) -> None:
        limits = FetchLimits(timeout=self.settings.fetch_timeout, max_bytes=self.settings.fetch_max_bytes,
                             max_redirects=self.settings.fetch_max_redirects)
        with Fetcher(limits) as fetcher:
            for done, (url, got) in enumerate(fetch_all(urls, fetcher), start=offset + 1):
                try:
                    if isinstance(got, ArticleError):
                        raise got
                    articles = read_document(got.data, kind=got.kind, where=url, url=got.url, path=url)
                except ArticleError as exc:
                    report.errors.append(str(exc))
                else:
                    self._ingest_file(url, articles, report)
                if progress is not None:
                    progress(done, total, url)

    def copy_index(self) -> CopyIndex:
        """Signatures of every stored article, built from the store on first use in this session."""
        if self._copies is None:
            index = CopyIndex(threshold=self.settings.copy_threshold)
            for article_id, text in stored_texts(self.store.all_chunks()).items():
                index.add(article_id, text)
            self._copies = index
        return self._copies

    def _ingest_file(self, path: Path | str, articles: list[Article], report: IngestReport) -> None:
        stale = self.store.path_article_ids(str(path)) - {a.id for a in articles}
        for article in articles:
            if self.store.has_article(article.id):
                report.unchanged += 1
                continue
            original = self.copy_index().find(article.text) if self.settings.copy_threshold <= 1 else None
            if original is not None and original not in stale:
                if self.store.add_outlet(original, article):
                    report.copies += 1
                else:
                    report.unchanged += 1
                continue
            chunks = chunk_article(
                article,
                count_tokens=self.embedding.count_tokens,
                target_tokens=min(self.settings.chunk_tokens, self.embedding.max_tokens),
                overlap_tokens=self.settings.chunk_overlap_tokens,
                max_tokens=self.embedding.max_tokens,
            )
            report.chunks_added += self.store.add_article(article, chunks)
            self.copy_index().add(article.id, article.text)
            report.new += 1
        for article_id in stale:
            self.store.delete_article(article_id)
            self.copy_index().remove(article_id)
            report.replaced += 1

    def is_empty(self) -> bool:
        """True when no article is stored yet."""
        return self.store.count() == 0

    # -- answering -------------------------------------------------------------------

    def _validate(self, question: str) -> str:
        cleaned = " ".join(question.split())
        if not cleaned:
            raise InputError("the question is empty; type a question about the articles")
        if len(cleaned) > self.settings.max_question_chars:
            raise InputError(
                f"the question is {len(cleaned)} characters long; keep it under {self.settings.max_question_chars}"
            )
        return cleaned

    def rewrite(self, question: str, history: History) -> str:
        """A follow-up made standalone with the conversation; the question itself when there is none."""
        if not history:
            return question
        turns = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
        messages = load_prompt("rewrite").render(history=turns, question=question)
        rewritten = " ".join(str(self.chat.complete(messages).content).split())
        if not rewritten or len(rewritten) > 3 * len(question) + 200 or is_refusal(rewritten):
            return f"{history[-1][0]} {question}"
        return rewritten

    def _pack(self, question: str, chunks: list[RetrievedChunk]) -> tuple[list[RetrievedChunk], int]:
        """Drop the lowest-ranked chunks until the prompt and the answer fit the model's window."""
        prompt = load_prompt(self.chat.answer_prompt)
        budget = self.chat.context_window - self.settings.answer_max_tokens - 32
        kept = list(chunks)
        while kept:
            messages = prompt.render(sources=number_sources(kept), question=question)
            if sum(self.chat.count_tokens(str(m.content)) + 8 for m in messages) <= budget:
                break
            kept.pop()
        return kept, len(chunks) - len(kept)

    def ask(
        self,
        question: str,
        *,
        history: History = (),
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Answer:
        """Answer from the stored articles only, citing them; abstain when they do not say."""
        question = self._validate(question)
        query = self.rewrite(question, history)
        found = self.retriever.retrieve(query, sources=sources, since=since, until=until)
        info = RetrievalInfo(
            query=query, candidates=found.candidates, best_similarity=round(found.best_similarity, 4),
            best_coverage=round(found.best_coverage, 4),
            chunk_ids=[c.chunk_id for c in found.chunks],
        )
        if not found.chunks or (found.best_similarity < self.min_relevance and found.best_coverage < 0.5):
            return self._abstain(question, info, note="nothing stored is about this question")
        chunks, dropped = self._pack(query, found.chunks)
        info = info.model_copy(update={"used": len(chunks), "dropped_for_budget": dropped,
                                       "chunk_ids": [c.chunk_id for c in chunks]})
        if not chunks:
            return self._abstain(question, info, note="no source fits the model's context window")
        messages = load_prompt(self.chat.answer_prompt).render(sources=number_sources(chunks), question=query)
        reply = self.chat.complete(messages)
        raw = str(reply.content)
        if reply.response_metadata.get("finish_reason") == "length":
            raw = drop_unfinished(raw)
        grounded = ground_answer(
            raw, chunks=chunks, checker=self.checker,
            remove_unsupported=self.settings.grounding_policy == "remove",
        )
        if not grounded.citations or not grounded.text:
            return self._abstain(question, info, claims=grounded.claims, note="no claim of the reply is supported")
        supported = " ".join(c.text for c in grounded.claims if c.label == "supported")
        fits = answers_question(query, supported)
        if not fits.ok:
            return self._abstain(question, info, claims=grounded.claims, note=fits.reason)
        return Answer(question=question, answer=grounded.text, abstained=False, citations=grounded.citations,
                      claims=grounded.claims, model=self.chat.name, retrieval=info)

    def _abstain(
        self, question: str, info: RetrievalInfo, *, claims: list[Claim] | None = None, note: str = ""
    ) -> Answer:
        return Answer(question=question, answer=NO_ANSWER, abstained=True, citations=[], claims=claims or [],
                      model=self.chat.name, retrieval=info, note=note)

    # -- grounding -------------------------------------------------------------------

    def check(self, text: str, sources: Sequence[SourceText]) -> GroundingReport:
        """Grounding of any text against the given sources."""
        if not sources:
            raise InputError("no sources given; pass at least one --source FILE")
        return self.checker.check(text, sources)


__all__ = ["Assistant", "AssistantError", "number_sources"]
