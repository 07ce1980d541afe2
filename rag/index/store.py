"""The on-disk index: a versioned folder, written atomically, checked on load.

Layout: ``<index_dir>/builds/<id>/`` holds one complete build; ``<index_dir>/current`` is a symlink to
the live one. A build is written in full into a new folder, then the symlink is swapped with one
``os.replace`` (atomic on POSIX): a build killed part-way leaves the previous index in use.

Concurrency (several processes or threads may read and build the same index):
- a reader resolves ``current`` once and reads that build's manifest and data together;
- a reader holds a shared ``flock`` on the build's ``.readers`` file while it loads, and a build folder
  is only pruned when no reader holds it and it is neither current nor one of the newest ``KEEP_BUILDS``;
- builders take an exclusive ``flock`` on ``<index_dir>/.build.lock`` while they write, swap and prune,
  so one builder can never prune the build another has just made current.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from ..errors import IndexMismatchError, IndexMissingError
from ..types import Chunk, Section

FORMAT = "course-rag-index"
# v2: one vector per line of the notes (lines.faiss, lines.jsonl) beside the chunk vectors, for the line leg;
# v3: lines.jsonl also holds each line's own text ("unit"), so evidence selection can use its cosine;
# v4: the course's labelled questions and their vectors (questions.jsonl, questions.faiss), for the section prior
# v5: line units without Markdown emphasis marks, glossary terms cut at a bold mark
# v6: glossary terms without a connective before them ("반면 변위" -> "변위")
# v7: a bold heading line joined to the line after it
FORMAT_VERSION = 7
MANIFEST = "manifest.json"
READERS = ".readers"          # readers hold a shared flock on it while they load the build
BUILD_LOCK = ".build.lock"    # builders hold an exclusive flock on it while they write, swap and prune
KEEP_BUILDS = 2               # the current build and the one before it: a reader that resolved it just
                              # before a swap can still load it


@dataclass
class IndexData:
    root: Path
    manifest: dict
    sections: list[Section]
    chunks: list[Chunk]
    chunk_tokens: list[tuple[str, ...]]
    glossary: list[dict]
    loanwords: list[str]
    lines: list[dict]          # {"chunk": the chunk holding the line, "unit": the line, "text": what was embedded}
    questions: list[dict]      # LabelledQuestion fields, in the order of questions.faiss


def expected_manifest(settings, embedder_id: str, dim: int, notes_hash: str, questions_hash: str) -> dict:
    """The fields that must match for an index to be reused."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "embedder": embedder_id,
        "dim": dim,
        "chunking": {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap},
        "notes_hash": notes_hash,
        "questions_hash": questions_hash,
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


def read_manifest(index_dir: Path, root: Path | None = None) -> dict:
    """The manifest of ``root`` (default: the current build, resolved once)."""
    path = (root or current_build(index_dir)) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexMismatchError(f"The index manifest {path} is unreadable ({exc}). Rebuild with: rag index") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {index_dir} has format {manifest.get('format')!r} v{manifest.get('format_version')}, "
            f"this version reads {FORMAT!r} v{FORMAT_VERSION}. Rebuild with: rag index")
    return manifest


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive across processes and threads (each call opens its own file description)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / BUILD_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _new_build_id() -> str:
    # sortable by creation time, to the nanosecond, so "the newest builds" is a sort by name
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now // 1_000_000_000))
    return f"{stamp}-{now % 1_000_000_000:09d}-{uuid.uuid4().hex[:6]}"


def write_build(index_dir: Path, manifest: dict, sections: list[Section], chunks: list[Chunk],
                chunk_tokens: list[tuple[str, ...]], glossary: list[dict], loanwords: list[str],
                write_vectors, lines: list[dict], write_line_vectors, questions: list[dict],
                write_question_vectors) -> Path:
    """Write a complete build, then make it current. ``write_vectors(path)`` writes the chunks' FAISS
    file, ``write_line_vectors(path)`` the lines' one, ``write_question_vectors(path)`` the labelled questions'."""
    index_dir = Path(index_dir)
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir):
        build_id = _new_build_id()
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
                json.dumps({"entries": glossary, "loanwords": loanwords}, ensure_ascii=False, indent=1),
                encoding="utf-8")
            with open(staging / "lines.jsonl", "w", encoding="utf-8") as out:
                for line in lines:
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
            with open(staging / "questions.jsonl", "w", encoding="utf-8") as out:
                for question in questions:
                    out.write(json.dumps(question, ensure_ascii=False) + "\n")
            write_vectors(staging / "dense.faiss")
            write_line_vectors(staging / "lines.faiss")
            write_question_vectors(staging / "questions.faiss")
            (staging / READERS).touch()
            # the manifest goes last: a folder without one is never a complete build
            (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
            _fsync_dir(staging)
            final = builds / build_id
            os.rename(staging, final)
            _fsync_dir(builds, files=False)
            _swap_current(index_dir, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove_old_builds(index_dir, builds)
    return final


def _swap_current(index_dir: Path, target: Path) -> None:
    tmp_link = index_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, index_dir), tmp_link)
    os.replace(tmp_link, index_dir / "current")
    _fsync_dir(index_dir, files=False)   # the rename of the link itself must reach the disk


def _fsync_dir(path: Path, files: bool = True) -> None:
    """fsync the files in ``path`` (when ``files``) and the directory itself, so its entries (new names,
    renames) are durable too: fsyncing a file does not persist the directory entry that names it."""
    if files:
        for child in path.iterdir():
            if child.is_file():
                with open(child, "rb") as handle:
                    os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_builds(index_dir: Path, builds: Path) -> None:
    """Called with the build lock held. Keeps the current build and the newest ``KEEP_BUILDS``; an older
    build is removed only when no reader holds it (else the next build prunes it)."""
    link = index_dir / "current"
    current = link.resolve() if link.exists() else None
    complete = sorted((c for c in builds.iterdir() if not c.name.startswith(".")), key=lambda c: c.name)
    keep = set(complete[-KEEP_BUILDS:]) | ({current} if current else set())
    for child in builds.iterdir():
        if child.name.startswith(".tmp-"):
            if _stale(child):
                shutil.rmtree(child, ignore_errors=True)
        elif child not in keep:
            _remove_unless_read(child)


def _remove_unless_read(build: Path) -> None:
    try:
        handle = open(build / READERS, "rb")
    except FileNotFoundError:   # a build from before reader locks, or half-removed: nothing to wait for
        shutil.rmtree(build, ignore_errors=True)
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return   # a reader is loading it
        # the manifest first: a reader that gets the lock after us sees an incomplete build and re-resolves
        (build / MANIFEST).unlink(missing_ok=True)
        shutil.rmtree(build, ignore_errors=True)


def _stale(path: Path, seconds: float = 3600) -> bool:
    # a staging folder of a build killed part-way; a younger one may belong to a build still running
    return time.time() - path.stat().st_mtime > seconds


@contextlib.contextmanager
def open_build(index_dir: Path) -> Iterator[IndexData]:
    """The current build, read as one: ``current`` is resolved once, and the build cannot be pruned until
    the ``with`` block ends (load anything else from ``data.root`` inside it)."""
    for _ in range(3):
        root = current_build(index_dir)
        try:
            handle = open(root / READERS, "rb")
        except FileNotFoundError:
            if _moved(index_dir, root):
                continue   # pruned between resolving and opening: ``current`` has moved on
            handle = None  # a build written before reader locks (or a damaged one: _read says so)
        with handle if handle is not None else contextlib.nullcontext():
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_SH)
                if not (root / MANIFEST).exists() and _moved(index_dir, root):
                    continue   # pruned while we waited for the lock
            yield _read(index_dir, root)
            return
    raise IndexMismatchError(f"The index at {index_dir} kept changing while it was read (other builds running?). "
                             "Try again, or rebuild with: rag index")


def _moved(index_dir: Path, root: Path) -> bool:
    try:
        return current_build(index_dir) != root
    except IndexMissingError:
        return False


def read_build(index_dir: Path) -> IndexData:
    with open_build(index_dir) as data:
        return data


def _read(index_dir: Path, root: Path) -> IndexData:
    manifest = read_manifest(index_dir, root)
    try:
        sections = [Section(**json.loads(line))
                    for line in (root / "sections.jsonl").read_text(encoding="utf-8").splitlines()]
        chunks, tokens = [], []
        for line in (root / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            tokens.append(tuple(data.pop("tokens")))
            chunks.append(Chunk(**data))
        glossary = json.loads((root / "glossary.json").read_text(encoding="utf-8"))
        lines = [json.loads(line) for line in (root / "lines.jsonl").read_text(encoding="utf-8").splitlines()]
        if any(not 0 <= line["chunk"] < len(chunks) or "unit" not in line for line in lines):
            raise ValueError("a line points at no chunk")
        questions = [json.loads(line) for line in (root / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexMismatchError(f"The index at {index_dir} is damaged ({exc}). Rebuild with: rag index") from exc
    if len(chunks) != manifest.get("n_chunks"):
        raise IndexMismatchError(f"The index at {index_dir} is incomplete ({len(chunks)} chunks, manifest says "
                                 f"{manifest.get('n_chunks')}). Rebuild with: rag index")
    if len(questions) != manifest.get("n_questions", 0):
        raise IndexMismatchError(f"The index at {index_dir} is incomplete ({len(questions)} labelled questions, "
                                 f"manifest says {manifest.get('n_questions')}). Rebuild with: rag index")
    return IndexData(root, manifest, sections, chunks, tokens, glossary["entries"], glossary["loanwords"], lines,
                     questions)
