"""Races on the on-disk index (rag/index/store.py): readers against builders, builders against builders.

Each test drives the interleaving that used to go wrong, deterministically, through the module's seams
(current_build, _swap_current, os.fsync); each failed on the code before the fix (see the commit message).
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from rag.errors import IndexMismatchError
from rag.index import store
from rag.types import Chunk, Section


def _write(index_dir: Path, n_chunks: int, label: str) -> Path:
    """A tiny complete build whose manifest and data both say ``label`` and hold ``n_chunks`` chunks."""
    section = Section("doc", "1.1", label, "1", "chapter", "en", f"text of {label}")
    chunks = [Chunk(f"doc:en:1.1:{i}", "doc", "1.1", label, "chapter", "en", f"{label} part {i}", i)
              for i in range(n_chunks)]
    manifest = {"format": store.FORMAT, "format_version": store.FORMAT_VERSION, "label": label,
                "n_chunks": n_chunks, "n_sections": 1}
    return store.write_build(index_dir, manifest, [section], chunks, [("t",)] * n_chunks, [], [label],
                             lambda path: path.write_bytes(label.encode()), [{"chunk": 0, "unit": label, "text": label}],
                             lambda path: path.write_bytes(label.encode()), [],
                             lambda path: path.write_bytes(label.encode()))


def test_a_read_pairs_each_manifest_with_its_own_data(tmp_path, monkeypatch):
    index = tmp_path / "index"
    first = _write(index, 2, "first")
    # the second build is written elsewhere and moved in, so this test does not depend on pruning
    second = (index / "builds" / "second")
    shutil.move(_write(tmp_path / "other", 5, "second"), second)
    real_current = store.current_build
    calls = []

    def current_then_swap(index_dir):
        # a builder swaps ``current`` right after each time a reader resolves it
        found = real_current(index_dir)
        calls.append(found)
        store._swap_current(index, second if found == first else first)
        return found

    monkeypatch.setattr(store, "current_build", current_then_swap)
    data = store.read_build(index)
    assert calls, "the reader must resolve current through current_build"
    label = data.manifest["label"]
    assert data.root.name == (first if label == "first" else second).name
    assert [s.title for s in data.sections] == [label] and len(data.chunks) == data.manifest["n_chunks"]
    assert data.loanwords == [label]


def test_the_previous_build_stays_for_readers_that_resolved_it(tmp_path):
    index = tmp_path / "index"
    first = _write(index, 1, "first")
    second = _write(index, 1, "second")
    # a reader that resolved ``current`` just before the second build can still load the first
    assert (first / store.MANIFEST).is_file() and (first / "dense.faiss").read_bytes() == b"first"
    third = _write(index, 1, "third")
    builds = sorted(p.name for p in (index / "builds").iterdir())
    assert builds == sorted([second.name, third.name]), "only the current build and the one before are kept"
    assert store.read_build(index).manifest["label"] == "third"


def test_a_build_held_by_a_reader_is_not_removed(tmp_path):
    index = tmp_path / "index"
    first = _write(index, 1, "first")
    with store.open_build(index) as data:
        assert data.root == first
        _write(index, 1, "second")
        _write(index, 1, "third")
        # first is neither current nor among the newest two, but it is being read
        assert (data.root / "dense.faiss").read_bytes() == b"first"
    _write(index, 1, "fourth")
    assert not first.exists(), "once the reader is done, the next build prunes it"


def test_two_builders_never_leave_current_dangling(tmp_path, monkeypatch):
    index = tmp_path / "index"
    _write(index, 1, "zero")
    real_swap = store._swap_current
    second_done = threading.Event()
    first_swapped = threading.Event()

    def slow_first_swap(index_dir, target):
        real_swap(index_dir, target)
        if threading.current_thread().name == "first":
            first_swapped.set()
            # let the second builder run to the end between our swap and our pruning, if it can
            second_done.wait(timeout=1.0)

    monkeypatch.setattr(store, "_swap_current", slow_first_swap)
    errors = []

    def build(label, done=None):
        try:
            _write(index, 1, label)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            if done:
                done.set()

    first = threading.Thread(target=build, args=("one",), name="first")
    first.start()
    assert first_swapped.wait(timeout=30)
    second = threading.Thread(target=build, args=("two", second_done), name="second")
    second.start()
    first.join(timeout=30)
    second.join(timeout=30)
    assert not errors
    link = index / "current"
    assert link.resolve().is_dir(), f"current points at a removed build: {os.readlink(link)}"
    assert store.read_build(index).manifest["label"] in {"one", "two"}


def test_directories_are_fsynced_not_just_files(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append((Path(os.readlink(f"/proc/self/fd/{fd}")), os.path.isdir(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    index = tmp_path / "index"
    build = _write(index, 1, "first")
    dirs = {path for path, is_dir in synced if is_dir}
    # the new build folder (staging, renamed), the builds folder that names it, the folder of ``current``
    assert index.resolve() in dirs and (index / "builds").resolve() in dirs
    assert any(p.name == ".tmp-" + build.name or p == build.resolve() for p in dirs)


def test_a_damaged_current_build_still_says_how_to_fix_it(tmp_path):
    index = tmp_path / "index"
    build = _write(index, 1, "first")
    (build / store.MANIFEST).unlink()
    with pytest.raises(IndexMismatchError, match="rag index"):
        store.read_build(index)
