"""llama.cpp (``llama-cpp-python``) on the offline GGUF pack: the fast CPU path.

It reads the Q4_K_M file directly (seconds to load, no dequantised copy) and decodes about 6x faster
than transformers bf16 on two cores (docs/MODELS.md). One model per process, cached by path: a
second Engine or a Gradio worker reuses it. llama.cpp contexts are not thread-safe, so one lock per
model serialises generations.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

from ..errors import GenerationError, ModelError
from ..models.gguf_pack import ensure_gguf, get_pack
from .base import GenerationRequest, Generator, register

N_CTX = 4096
_INSTALL = "pip install llama-cpp-python==0.3.36  (it compiles llama.cpp: several minutes on 2 cores)"

_MODELS: dict[str, object] = {}       # resolved GGUF path -> llama_cpp.Llama
_LOCKS: dict[str, threading.Lock] = {}
_CACHE_LOCK = threading.Lock()


def cpu_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def load_llama(path: Path):
    """The process-wide llama_cpp.Llama for a GGUF file (loaded on first use)."""
    key = str(Path(path).resolve())
    with _CACHE_LOCK:
        if key not in _MODELS:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelError(f"The llamacpp generator needs llama-cpp-python: {_INSTALL}") from exc
            threads = cpu_threads()
            try:
                _MODELS[key] = Llama(
                    model_path=key, n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads,
                    seed=0, verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelError(
                    f"llama.cpp could not load {key}: {exc}. Delete the file to have it rebuilt from the pack."
                ) from exc
            _LOCKS[key] = threading.Lock()
        return _MODELS[key], _LOCKS[key]


@register("llamacpp")
class LlamaCppGenerator(Generator):
    name = "llamacpp"
    # readers found 15% of this CPU model's written answers wrong, 1% of the notes' lines (rag/config.py answer_mode)
    auto_answer_mode = "quote"

    def __init__(self, settings):
        self.settings = settings
        # A .gguf file in llm_model overrides the pack (any llama.cpp-compatible chat model).
        custom = str(settings.llm_model or "")
        if custom.endswith(".gguf"):
            self._path = Path(custom).expanduser()
            if not self._path.is_file():
                raise ModelError(f"GGUF file {self._path} not found; fix RAG_LLM_MODEL or leave it empty for the pack.")
            self._model_id = self._path.stem.lower()
        else:
            self._path = None
            self._model_id = get_pack(settings.llm_pack).model_id

    @property
    def label(self) -> str:
        return f"llamacpp:{self._model_id}"

    def load(self):
        if self._path is None:
            self._path = ensure_gguf(self.settings.llm_pack, self.settings.models_dir)
        return load_llama(self._path)

    def count_tokens(self, text: str) -> int:
        llm, _ = self.load()
        return max(1, len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)))

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        llm, lock = self.load()
        if not lock.acquire(timeout=self.settings.timeout_s):
            raise GenerationError(
                f"The llama.cpp model was busy with another answer for {self.settings.timeout_s:g} s; "
                "try again, or raise RAG_TIMEOUT_S."
            )
        # Released when the stream ends, fails or is abandoned: close() (or dropping the last reference)
        # throws GeneratorExit in at the yield and this finally runs. _generate first closes llama.cpp's
        # own stream, so its clean-up runs while we still hold the model.
        try:
            yield from self._generate(llm, request)
        finally:
            lock.release()

    def _generate(self, llm, request: GenerationRequest) -> Iterator[str]:
        chunks = None
        try:
            chunks = llm.create_chat_completion(
                messages=request.messages, max_tokens=request.max_new_tokens,
                temperature=0.0, top_k=1, seed=0, stream=True,
            )
            for chunk in chunks:
                choice = chunk["choices"][0]
                request.finish_reason = choice.get("finish_reason") or request.finish_reason
                text = choice["delta"].get("content")
                if text:
                    yield text
        except ValueError as exc:  # llama.cpp raises ValueError when the prompt exceeds n_ctx
            raise GenerationError(
                f"llama.cpp rejected the prompt: {exc}. The context window is {N_CTX} tokens; "
                "lower context_tokens or max_new_tokens."
            ) from exc
        except RuntimeError as exc:
            raise GenerationError(f"llama.cpp failed while generating: {exc}.") from exc
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
