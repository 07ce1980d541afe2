"""In-process transformers generation: the GPU path, and a CPU fallback on the offline pack.

On CUDA it loads ``settings.llm_model`` (a hub id or a folder; Qwen2.5-1.5B-Instruct by default) in
bf16. On CPU it loads the bf16 folder converted once from the GGUF pack (or ``llm_model`` if set), in
bf16 where the CPU has avx512_bf16/AMX (faster than fp32 there) and in fp32 elsewhere (bf16 is far
slower without them); llama.cpp is faster still on CPU (docs/MODELS.md).
Generation is a greedy loop over the KV cache in the caller's thread (see ``_greedy``): it streams
text as it forms, and stops as soon as the caller stops reading.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, GenerationError, ModelError
from ..models.gguf_pack import ensure_bf16_folder, get_pack
from .base import GenerationRequest, Generator, register

DEFAULT_GPU_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"
_INSTALL = "pip install torch transformers accelerate"

_MODELS: dict[tuple[str, str], tuple[object, object]] = {}  # (source, device) -> (model, tokenizer)
_CACHE_LOCK = threading.Lock()


def _import_torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"The transformers generator needs torch and transformers: {_INSTALL}") from exc
    return torch


def resolve_device(setting: str) -> str:
    torch = _import_torch()
    if setting not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, not {setting!r}.")
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but torch sees no CUDA GPU; install a CUDA build of torch or use device=cpu.")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def cpu_has_fast_bf16() -> bool:
    """bf16 matmuls are fast only with avx512_bf16 or AMX; without them torch falls back to a path
    many times slower than fp32 (measured: no answer in 7 min on a 2-core AVX2 machine)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _load(source: str, device: str):
    torch = _import_torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.bfloat16
    if device == "cpu":
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        torch.set_num_threads(max(1, threads or 1))
        dtype = torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(device)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"transformers could not load model {source!r}: {exc}. Set RAG_LLM_MODEL to a local folder "
            "(no model hub is reachable offline) or leave it empty to use the offline pack on CPU."
        ) from exc
    except torch.cuda.OutOfMemoryError as exc:
        raise ModelError(f"Model {source!r} does not fit in GPU memory; choose a smaller RAG_LLM_MODEL.") from exc
    model.eval()
    if tokenizer.chat_template is None:
        raise ModelError(f"Model {source!r} has no chat template; use an instruct/chat model.")
    return model, tokenizer


def _as_list(value) -> list:
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


def _greedy(model, tokenizer, input_ids, max_new_tokens: int, stop_ids: set) -> Iterator[str]:
    """Greedy decoding with the KV cache, in the caller's thread, yielding text as it forms.

    Not ``generate`` + ``TextIteratorStreamer``: on an H200 that pair decoded a 0.5B model at 17 tok/s
    against 64 tok/s for bare ``generate`` (benchmarks/reports/gpu). Here no thread is needed, a reader
    that stops reading stops generation, and text is held back only while it ends in half a character.
    """
    import torch

    with torch.inference_mode():
        out = model(input_ids=input_ids, use_cache=True)
    generated: list[int] = []
    emitted = ""
    for _ in range(max_new_tokens):
        next_id = int(out.logits[0, -1].argmax())
        if next_id in stop_ids:
            break
        generated.append(next_id)
        text = tokenizer.decode(generated, skip_special_tokens=True)
        if len(text) > len(emitted) and not text.endswith("\ufffd"):
            yield text[len(emitted):]
            emitted = text
        with torch.inference_mode():
            step = torch.tensor([[next_id]], device=input_ids.device)
            out = model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)
    text = tokenizer.decode(generated, skip_special_tokens=True)
    if len(text) > len(emitted):
        yield text[len(emitted):]


@register("transformers")
class TransformersGenerator(Generator):
    name = "transformers"

    def __init__(self, settings):
        self.settings = settings
        self.device = resolve_device(settings.device)
        if settings.llm_model:
            self._source = str(settings.llm_model)
            self._model_id = Path(self._source).name if Path(self._source).exists() else self._source
        elif self.device == "cuda":
            self._source = DEFAULT_GPU_MODEL
            self._model_id = DEFAULT_GPU_MODEL
        else:
            self._source = None   # the bf16 folder of the pack, converted on first load
            self._model_id = get_pack(settings.llm_pack).model_id.replace("q4_k_m", "bf16")

    @property
    def label(self) -> str:
        return f"transformers:{self._model_id}"

    def load(self):
        if self._source is None:
            self._source = str(ensure_bf16_folder(self.settings.llm_pack, self.settings.models_dir))
        key = (self._source, self.device)
        with _CACHE_LOCK:
            if key not in _MODELS:
                _MODELS[key] = _load(self._source, self.device)
            return _MODELS[key]

    def count_tokens(self, text: str) -> int:
        _, tokenizer = self.load()
        return max(1, len(tokenizer.encode(text, add_special_tokens=False)))

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        torch = _import_torch()
        model, tokenizer = self.load()
        inputs = tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        stop_ids = {tokenizer.eos_token_id, *_as_list(getattr(model.generation_config, "eos_token_id", None))}
        try:
            yield from _greedy(model, tokenizer, inputs["input_ids"], request.max_new_tokens, stop_ids)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            raise self._as_generation_error(exc) from exc

    def _as_generation_error(self, exc: BaseException) -> GenerationError:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            torch.cuda.empty_cache()
            return GenerationError(
                f"Out of GPU memory while generating with {self._model_id}; lower max_new_tokens or "
                "context_tokens, or use a smaller RAG_LLM_MODEL."
            )
        return GenerationError(f"transformers generation with {self._model_id} failed: {exc}")
