"""The Assistant facade: the one way the CLI, the UI and the evals ingest, ask and check.

Example::

    >>> from assistant.service import Assistant
    >>> from assistant.settings import Settings
    >>> with Assistant.from_settings(Settings(llm="fake", embeddings="fake", data_dir="/tmp/a")) as bot:
    ...     bot.ingest(["seeds"]).summary()          # doctest: +SKIP
    ...     bot.ask("Which areas were targeted?").answer  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType

from assistant.answering import AnswerEvent, AnswerWriter, AskEvent, StageEvent
from assistant.articles import discover, read_document, read_file
from assistant.brief_schema import Brief, Provenance
from assistant.briefs import BriefOptions, BriefTools, build_brief, fingerprint, now, package_version, prompt_hashes
from assistant.chunking import chunk_article
from assistant.citations import is_refusal
from assistant.copies import Signature, signature
from assistant.errors import ArticleError, AssistantError, InputError, PartialFileError, StoreError
from assistant.examples import example_questions
from assistant.fakes import NO_ANSWER
from assistant.fetch import Fetcher, FetchLimits, fetch_all, is_url
from assistant.grounding import GroundingChecker, Thresholds
from assistant.ingestion import IngestBatch, StoredPaths, batch_threads_for
from assistant.injection import safe_markdown
from assistant.judge import Grounder, LLMJudge
from assistant.prompts import load_prompt
from assistant.providers import ChatBackend, EmbeddingBackend, batch_threads, chat_backend, embedding_backend
from assistant.retrieval import HybridRetriever, RetrievalResult
from assistant.schemas import (
    Answer,
    Article,
    ArticleSummary,
    Claim,
    GroundingReport,
    IngestReport,
    RetrievalInfo,
    RetrievedChunk,
    SourceText,
    StoreStatus,
)
from assistant.settings import Settings
from assistant.store import ArticleStore
from assistant.uploads import display_name, read_upload

Progress = Callable[[int, int, str], None]
History = Sequence[tuple[str, str]]
RELEVANCE_FLOORS = {"local": 0.25, "fake": 0.12, "openai": 0.25}
ANSWER_SOURCES = 5  # at least this many sources a question (see Assistant.answer_k)


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

        offline = GroundingChecker(
            embeddings=embedding.embeddings, thresholds=Thresholds(relations=settings.check_relations)
        )
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
        self.store.check_local_answers()
        threads = batch_threads_for(self.settings.ingest_threads)
        stored = StoredPaths(self.store, [str(f) for f in files])
        with batch_threads(self.embedding.embeddings, threads), \
                IngestBatch(self.store, report, stored=stored) as batch:
            for done, path in enumerate(files, start=1):
                try:
                    articles = read_file(path)
                except PartialFileError as exc:  # the good lines of a .jsonl go in; each bad one is named
                    report.errors.extend(str(e) for e in exc.errors)
                    self._ingest_file(path, [a for a in exc.articles if isinstance(a, Article)], batch, report)
                except ArticleError as exc:
                    report.errors.append(str(exc))
                else:
                    self._ingest_file(path, articles, batch, report)
                if progress is not None:
                    progress(done, total, str(path))
            if urls:
                self._ingest_urls(urls, batch, report, progress=progress, offset=len(files), total=total)
            batch.flush()
        return report

    def _ingest_urls(
        self, urls: list[str], batch: IngestBatch, report: IngestReport, *, progress: Progress | None, offset: int,
        total: int,
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
                    self._ingest_file(url, articles, batch, report)
                if progress is not None:
                    progress(done, total, url)

    def _find_copy(self, sig: Signature, batch: IngestBatch, stale: set[str]) -> str | None:
        """The stored or waiting article whose text the signature ``sig`` copies; None when none qualifies."""
        threshold = self.settings.copy_threshold
        original = batch.find_copy(sig, threshold=threshold) or self.store.find_copy(sig, threshold=threshold)
        return None if original is None or original in stale or batch.deleting(original) else original

    def _ingest_file(self, path: Path | str, articles: list[Article], batch: IngestBatch, report: IngestReport) -> None:
        known = batch.stored.ids(str(path))
        stale = known - {a.id for a in articles}
        for article in articles:
            if article.id in known or batch.pending(article.id) or self.store.has_article(article.id):
                report.unchanged += 1
                continue
            # One signature per new article, computed here: the checks, the batch and the store's update share it.
            sig = signature(article.text) if self.settings.detects_copies() else None
            original = self._find_copy(sig, batch, stale) if sig is not None else None
            if original is not None:
                batch.add_outlet(original, article)  # now, or once the story it copies is written
                continue
            chunks = chunk_article(
                article,
                count_tokens=self.embedding.count_tokens,
                target_tokens=min(self.settings.chunk_tokens, self.embedding.max_tokens),
                overlap_tokens=self.settings.chunk_overlap_tokens,
                max_tokens=self.embedding.max_tokens,
            )
            batch.add(article, chunks, signature=sig)
        for article_id in stale:
            batch.delete(article_id)

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
        for event in self.ask_stream(question, history=history, sources=sources, since=since, until=until):
            if isinstance(event, AnswerEvent):
                return event.answer
        raise AssertionError("ask_stream ended without an answer")  # pragma: no cover - ask_stream always answers

    def ask_stream(
        self,
        question: str,
        *,
        history: History = (),
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Iterator[AskEvent]:
        """``ask`` as events: stages, the model's draft tokens, and last the checked ``Answer`` (an AnswerEvent).

        Example::

            >>> for event in bot.ask_stream("Which areas were targeted?"):  # doctest: +SKIP
            ...     print(event.kind)
        """
        question = self._validate(question)
        yield StageEvent(stage="retrieving")
        query = self.rewrite(question, history)
        found = self.answer_sources(query, sources=sources, since=since, until=until)
        info = RetrievalInfo(
            query=query, candidates=found.candidates, best_similarity=round(found.best_similarity, 4),
            best_coverage=round(found.best_coverage, 4),
            chunk_ids=[c.chunk_id for c in found.chunks],
        )
        if not self.bears_on_question(found):
            yield AnswerEvent(answer=self._abstain(question, info, note="nothing stored is about this question"))
            return
        chunks = found.chunks  # only their best sentences reach the model, fitted to its window there
        info = info.model_copy(update={"used": len(chunks)})
        writer = AnswerWriter(chat=self.chat, checker=self.checker, embeddings=self.embedding.embeddings,
                              style=self.settings.resolved_answer_style(),
                              keep_unsupported=self.settings.grounding_policy == "flag")
        for event in writer.events(question, query, chunks, info):
            if isinstance(event, AnswerEvent):  # article text may carry Markdown images or links: none leaves here
                safe = safe_markdown(event.answer.answer)
                event = AnswerEvent(answer=event.answer.model_copy(update={"answer": safe}))
            yield event

    def answer_sources(
        self, query: str, *, sources: Sequence[str] | None = None, since: date | None = None,
        until: date | None = None,
    ) -> RetrievalResult:
        """The chunks an answer is drawn from: ``answer_k`` retrieved, flagged ones withheld (see ``settings``)."""
        found = self.retriever.retrieve(query, k=self.answer_k, sources=sources, since=since, until=until)
        return self._withhold_flagged(found)

    def bears_on_question(self, found: RetrievalResult) -> bool:
        """False when nothing retrieved is about the question: the answer path abstains before reading sentences."""
        return bool(found.chunks) and (found.best_similarity >= self.min_relevance or found.best_coverage >= 0.5)

    @property
    def answer_k(self) -> int:
        """Sources retrieved for a question: ``top_k`` when set, else at least 5 whatever the model. The answer
        path reads only their best sentences, so more sources do not lengthen the prompt, and an answer two
        sources state is one the answer path may trust when it fits the question loosely."""
        return self.settings.top_k or max(self.chat.top_k, ANSWER_SOURCES)

    def _withhold_flagged(self, found: RetrievalResult) -> RetrievalResult:
        """Chunks flagged at ingestion as addressing an AI stay out of the prompt unless the settings allow them."""
        if self.settings.allow_flagged_sources:
            return found
        return dataclasses.replace(found, chunks=[c for c in found.chunks if not c.injection])

    def _abstain(
        self, question: str, info: RetrievalInfo, *, claims: list[Claim] | None = None, note: str = ""
    ) -> Answer:
        return Answer(question=question, answer=NO_ANSWER, abstained=True, citations=[], claims=claims or [],
                      model=self.chat.name, retrieval=info, note=note)

    # -- the library (used by the app) ---------------------------------------------------

    def ingest_uploads(
        self, files: Sequence[tuple[str, bytes]], *, max_bytes: int, progress: Progress | None = None
    ) -> IngestReport:
        """Store uploaded files by content; each name is only a label (``upload:NAME``), never a path."""
        report = IngestReport()
        self.store.check_local_answers()
        threads = batch_threads_for(self.settings.ingest_threads)
        with batch_threads(self.embedding.embeddings, threads), \
                IngestBatch(self.store, report) as batch:
            for done, (name, data) in enumerate(files, start=1):
                try:
                    articles = read_upload(name, data, max_bytes=max_bytes)
                except ArticleError as exc:
                    report.errors.append(str(exc))
                else:
                    self._ingest_file(Path(articles[0].path or name), articles, batch, report)
                if progress is not None:
                    progress(done, len(files), display_name(name))
            batch.flush()
        return report

    def library(self, query: str = "") -> list[ArticleSummary]:
        """Stored articles, newest first; ``query`` keeps those whose title, outlet or file name contain it."""
        needle = " ".join(query.split()).casefold()
        articles = self.store.list_articles()
        if not needle:
            return articles
        return [a for a in articles if needle in f"{a.title} {a.source} {a.path or ''}".casefold()]

    def delete_article(self, article_id: str) -> int:
        """Remove one article and its chunks; returns the chunks removed."""
        removed = self.store.delete_article(article_id)
        if not removed:
            raise InputError(f"no stored article has the id {article_id!r}; refresh the library and pick again")
        self.store.save()  # a lone delete is its own commit
        return removed

    def outlets(self) -> list[str]:
        """The outlets of the stored articles, for the source filter."""
        return sorted({a.source for a in self.store.list_articles()}, key=str.casefold)

    def suggested_questions(self, *, limit: int = 4) -> list[str]:
        """Questions about the names the newest articles repeat, as examples for a new reader."""
        newest = [f"{a.id}:0" for a in self.store.list_articles()[:8]]
        return example_questions((c.text for c in self.store.get_chunks(newest)), limit=limit)

    def status(self) -> StoreStatus:
        """Which models run and where the store lives, with its counts."""
        articles = self.store.list_articles()
        return StoreStatus(
            chat_model=self.chat.name, embeddings=self.embedding.name, store=self.store.location,
            articles=len(articles), chunks=sum(a.chunks for a in articles),
        )

    # -- briefs ----------------------------------------------------------------------

    def brief_chunks(
        self,
        article_ids: Sequence[str] = (),
        *,
        topic: str | None = None,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[RetrievedChunk]:
        """The chunks a brief is made from: the articles named, or the topic's hits grouped by article."""
        if topic is not None:
            topic = self._validate(topic)
            found = self.retriever.retrieve(topic, k=max(4 * self.retriever.k, 12), sources=sources, since=since,
                                            until=until)
            if not found.chunks:
                raise InputError(f"no stored article matches the topic '{topic}'; ingest articles about it first")
            return sorted(found.chunks, key=lambda c: (c.article_id, c.start))
        if not article_ids:
            raise InputError("no article given; pass article ids or files, or --topic TEXT")
        chunks: list[RetrievedChunk] = []
        for article_id in dict.fromkeys(article_ids):
            found_chunks = self.store.all_chunks(where={"article_id": article_id})
            if not found_chunks:
                raise InputError(f"article {article_id} is not stored; ingest its file first")
            chunks += sorted(found_chunks, key=lambda c: c.start)
        return chunks

    def brief_settings(self, *, mode: str) -> dict[str, str | int | float | bool | None]:
        """The settings that shape a brief: recorded in its provenance and in its fingerprint."""
        return {
            "mode": mode, "embeddings": self.embedding.name, "top_k": self.retriever.k,
            "chunk_tokens": self.settings.chunk_tokens, "chunk_overlap_tokens": self.settings.chunk_overlap_tokens,
            "grounding_judge": self.settings.grounding_judge, **BriefOptions().as_dict(),
            "statements": "free" if self.free_statements() else "bounded",
        }

    def free_statements(self) -> bool:
        """Whether brief statements take the freer path: a remote model in the abstractive (or auto) style."""
        return self.settings.resolved_llm() == "openai" and self.settings.resolved_answer_style() == "abstractive"

    def brief_provenance(
        self,
        chunks: Sequence[RetrievedChunk],
        *,
        topic: str | None = None,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Provenance:
        """Model, prompts, settings and articles of a brief, and their fingerprint (known before any model call)."""
        mode = "topic" if topic else ("merge" if len({c.article_id for c in chunks}) > 1 else "article")
        settings = self.brief_settings(mode=mode)
        if topic:
            settings.update(topic=topic, sources=",".join(sources or []) or None,
                            since=since.isoformat() if since else None, until=until.isoformat() if until else None)
        prompts = prompt_hashes()
        ids = sorted({c.article_id for c in chunks})
        return Provenance(
            model=self.chat.name, provider=self.settings.resolved_llm(), prompts=prompts, retrieval=settings,
            articles={i: i for i in ids}, package_version=package_version(), created=now(),
            fingerprint=fingerprint(article_ids=ids, settings={**settings, "model": self.chat.name}, prompts=prompts),
        )

    def brief(
        self,
        article_ids: Sequence[str] = (),
        *,
        topic: str | None = None,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        chunks: Sequence[RetrievedChunk] | None = None,
    ) -> Brief:
        """One neutral brief: of one article, of several merged into one story, or of a topic.

        ``chunks`` (from ``brief_chunks``) lets a batch read the store once and brief in worker threads.
        """
        if chunks is None:
            chunks = self.brief_chunks(article_ids, topic=topic, sources=sources, since=since, until=until)
        provenance = self.brief_provenance(chunks, topic=topic, sources=sources, since=since, until=until)
        tools = BriefTools(chat=self.chat, checker=self.checker, embeddings=self.embedding.embeddings,
                           count_tokens=self.chat.count_tokens, free=self.free_statements())
        return build_brief(chunks, tools=tools, provenance=provenance)

    # -- grounding -------------------------------------------------------------------

    def check(self, text: str, sources: Sequence[SourceText]) -> GroundingReport:
        """Grounding of any text against the given sources."""
        if not sources:
            raise InputError("no sources given; pass at least one --source FILE")
        return self.checker.check(text, sources)


__all__ = ["Assistant", "AssistantError"]
