"""The CLI builds a missing or stale index itself (progress on stderr) and says how to fix one it cannot
build (exit 4)."""
from __future__ import annotations

import json

from rag.cli import main


def _engine_factory(make_engine, **overrides):
    def make(settings, auto_index=False, progress=None, **_):
        engine = make_engine(auto_index=auto_index, **overrides)
        engine.progress = progress or engine.progress
        return engine
    return make


def test_search_and_ask_build_a_missing_index_with_progress_on_stderr(make_engine, capsys, monkeypatch):
    monkeypatch.setattr("rag.engine.Engine", _engine_factory(make_engine))
    assert main(["search", "CPU와 GPU의 차이점은?", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Building the index" in captured.err and "Index written" in captured.err
    assert json.loads(captured.out)["hits"][0]["section"] == "4.5"
    assert main(["ask", "What is vGPU?", "--json", "--generator", "extractive"]) == 0
    captured = capsys.readouterr()
    assert "Building the index" not in captured.err   # the index just built is reused
    assert json.loads(captured.out)["citations"]


def test_ask_rebuilds_a_stale_index(make_engine, tmp_path, capsys, monkeypatch):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n.md").write_text("## 1. Basics\n### 1.1 Alpha topic\nAlpha engines move freight.\n", encoding="utf-8")
    monkeypatch.setattr("rag.engine.Engine", _engine_factory(make_engine, notes=[notes]))
    assert main(["search", "alpha engines"]) == 0
    (notes / "n.md").write_text("## 1. Basics\n### 1.1 Alpha topic\nAlpha engines move freight.\n"
                                "### 1.2 Beta topic\nBeta boats carry grain downstream.\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["ask", "What do beta boats carry?", "--json", "--generator", "extractive"]) == 0
    captured = capsys.readouterr()
    assert "Building the index (notes_hash" in captured.err
    assert json.loads(captured.out)["citations"][0]["section"] == "1.2"


def test_an_index_that_cannot_be_written_exits_4_with_the_fix(make_engine, tmp_path, capsys, monkeypatch):
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("x")
    monkeypatch.setattr("rag.engine.Engine", _engine_factory(make_engine, index_dir=blocked / "index"))
    assert main(["ask", "What is vGPU?", "--generator", "extractive"]) == 4
    err = capsys.readouterr().err
    assert "\nerror: Could not write the index" in err and "RAG_INDEX_DIR" in err and "Traceback" not in err
    assert "Embedding" not in err   # found out before the embedding, not after
