"""Many users at once (benchmarks/load_test.py), bounded: run with `pytest -m e2e tests/test_load.py`.

8 sessions x 5 questions over loopback with gradio_client against the real app process (extractive
generator; real index if RAG_HOME has one, else the fake embedder), and memory over 500 questions.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

load_test = pytest.importorskip("benchmarks.load_test", reason="run from the repository root")

SESSIONS, ROUNDS, DRIVE_CAP_S = 8, 5, 120


def test_concurrent_sessions_are_all_answered_in_their_own_session(tmp_path):
    pytest.importorskip("gradio_client")
    report = load_test.drive(SESSIONS, ROUNDS, concurrency=1, start_timeout=300, workdir=tmp_path)
    print("\nload:", report)
    assert report["problems"] == []                       # no answer in the wrong session, none missing
    assert report["answered"] == report["expected"] == SESSIONS * ROUNDS
    assert report["wall_s"] < DRIVE_CAP_S
    assert report["p95_s"] < DRIVE_CAP_S / 2


def test_memory_stays_flat_over_500_questions(tmp_path):
    engine, _ = load_test.make_engine(tmp_path)
    questions = [q["question"] for q in load_test.pick_questions(engine, 8)]
    report = load_test.memory_profile(engine, questions, total=500, checkpoints=(100, 500))
    print("\nmemory:", report)
    after_100, after_500 = report["rss_mb"][100], report["rss_mb"][500]
    assert report["errors"] == 0
    # caches (tokenizer lru 4096, gradio nothing: handlers only) may add a little; a leak per question would not
    assert after_500 - after_100 < max(25.0, 0.05 * after_100), report
