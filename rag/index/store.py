"""The on-disk index: a versioned folder, written atomically, checked on load.

Layout: ``<index_dir>/builds/<id>/`` holds one complete build; ``<index_dir>/current`` is a symlink to
the live one. A build is written in full into a new folder, then the symlink is swapped with one
``os.replace`` (atomic on POSIX): a build killed part-way leaves the previous index in use.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import IndexMismatchError, IndexMissingError
from ..types import Chunk, Section

FORMAT = "course-rag-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class IndexData:
    root: Path
    manifest: dict
    sections: list[Section]
    chunks: list[Chunk]
    chunk_tokens: list[tuple[str, ...]]
    glossary: list[dict]
    loanwords: list[str]


def expected_manifest(settings, embedder_id: str, dim: int, notes_hash: str) -> dict:
    """The fields that must match for an index to be reused."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "embedder": embedder_id,
        "dim": dim,
        "chunking": {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap},
        "notes_hash": notes_hash,
    }


def mismatches(manifest: dict, expected: dict) -> list[str]:
    return [
        f"{key}: index has {manifest.get(key)!r}, now {value!r}"
        for key, value in expected.items() if manifest.get(key) != value
    ]


def current_build(index_dir: Path) -> Path:
    link = Path(index_dir) / "current"
    if not link.exists():
        raise IndexMissingError(f"No index at {index_dir}. Build it with: rag index")
    return link.resolve()


def read_manifest(index_dir: Path) -> dict:
    path = current_build(index_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexMismatchError(f"The index manifest {path} is unreadable ({exc}). Rebuild with: rag index") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {index_dir} has format {manifest.get('format')!r} v{manifest.get('format_version')}, "
            f"this version reads {FORMAT!r} v{FORMAT_VERSION}. Rebuild with: rag index")
    return manifest


def write_build(index_dir: Path, manifest: dict, sections: list[Section], chunks: list[Chunk],
                chunk_tokens: list[tuple[str, ...]], glossary: list[dict], loanwords: list[str],
                write_vectors) -> Path:
    """Write a complete build, then make it current. ``write_vectors(path)`` writes the FAISS file."""
    index_dir = Path(index_dir)
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = builds / (".tmp-" + build_id)
    staging.mkdir()
    try:
        with open(staging / "sections.jsonl", "w", encoding="utf-8") as out:
            for section in sections:
                out.write(json.dumps(asdict(section), ensure_ascii=False) + "\n")
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk, tokens in zip(chunks, chunk_tokens):
                out.write(json.dumps({**asdict(chunk), "tokens": list(tokens)}, ensure_ascii=False) + "\n")
        (staging / "glossary.json").write_text(
            json.dumps({"entries": glossary, "loanwords": loanwords}, ensure_ascii=False, indent=1), encoding="utf-8")
        write_vectors(staging / "dense.faiss")
        # the manifest goes last: a folder without one is never a complete build
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync_dir(staging)
        final = builds / build_id
        os.rename(staging, final)
        _swap_current(index_dir, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_old_builds(builds, keep=final)
    return final


def _swap_current(index_dir: Path, target: Path) -> None:
    tmp_link = index_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, index_dir), tmp_link)
    os.replace(tmp_link, index_dir / "current")


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())


def _remove_old_builds(builds: Path, keep: Path) -> None:
    for child in builds.iterdir():
        if child != keep and (not child.name.startswith(".tmp-") or _stale(child)):
            shutil.rmtree(child, ignore_errors=True)


def _stale(path: Path, seconds: float = 3600) -> bool:
    # a staging folder of a build killed part-way; a younger one may belong to a build still running
    return time.time() - path.stat().st_mtime > seconds


def read_build(index_dir: Path) -> IndexData:
    manifest = read_manifest(index_dir)
    root = current_build(index_dir)
    try:
        sections = [Section(**json.loads(line))
                    for line in (root / "sections.jsonl").read_text(encoding="utf-8").splitlines()]
        chunks, tokens = [], []
        for line in (root / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            tokens.append(tuple(data.pop("tokens")))
            chunks.append(Chunk(**data))
        glossary = json.loads((root / "glossary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexMismatchError(f"The index at {index_dir} is damaged ({exc}). Rebuild with: rag index") from exc
    if len(chunks) != manifest.get("n_chunks"):
        raise IndexMismatchError(f"The index at {index_dir} is incomplete ({len(chunks)} chunks, manifest says "
                                 f"{manifest.get('n_chunks')}). Rebuild with: rag index")
    return IndexData(root, manifest, sections, chunks, tokens, glossary["entries"], glossary["loanwords"])
