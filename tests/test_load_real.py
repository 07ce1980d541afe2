"""20 sessions at once against the real index and e5 embedder (threads in one process, as the web app
serves them): every question answered, each from sections of its own question, memory flat across rounds.

Slow (loads e5 and builds the index in a temporary folder): ``pytest -q -m slow tests/test_load_real.py``.
"""
from __future__ import annotations

import json
import resource
import threading
from pathlib import Path

import pytest

from rag.config import REPO_ROOT, load_settings

pytestmark = pytest.mark.slow

SESSIONS, ROUNDS = 20, 4


def _rss_mb() -> float:
    # current resident set (not the peak): /proc/self/statm pages * page size
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _questions() -> list[dict]:
    """20 answerable dev questions with 20 different first gold sections, both languages."""
    seen, picked = set(), []
    for line in (REPO_ROOT / "evals" / "gold_dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("expected") == "answer" and item["gold_sections"][0] not in seen:
            seen.add(item["gold_sections"][0])
            picked.append(item)
    assert len(picked) >= SESSIONS
    return picked[:SESSIONS]


def test_twenty_sessions_at_once_get_their_own_answers_and_memory_stays_flat(tmp_path):
    from rag.engine import Engine

    settings = load_settings(index_dir=tmp_path / "index", generator="extractive")
    engine = Engine(settings)
    engine.retriever()   # load and build once, outside the measurement
    items = _questions()
    # each question asked alone first: the pipeline is deterministic, so under load every session must get
    # exactly this answer (any cross-talk, a vector or a section from another question, changes it)
    alone = [engine.ask(item["question"]) for item in items]
    relevant = sum(bool({c.section for c in a.citations} & set(item["gold_sections"])) and not a.refused
                   for a, item in zip(alone, items))
    assert relevant >= 0.75 * SESSIONS, f"only {relevant}/{SESSIONS} answers cite their own gold section"
    rss = []
    for round_no in range(ROUNDS):
        results: dict[int, object] = {}
        start = threading.Barrier(SESSIONS)

        def session(i):
            start.wait()   # all 20 ask at the same moment
            results[i] = engine.ask(items[i]["question"])

        threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert sorted(results) == list(range(SESSIONS)), f"round {round_no}: lost questions"
        for i, answer in results.items():
            assert answer.question == alone[i].question, "an answer came back to another session"
            assert answer.text == alone[i].text, f"{items[i]['id']}: another answer under load"
            assert [c.section for c in answer.citations] == [c.section for c in alone[i].citations]
            assert answer.refused == alone[i].refused
        rss.append(_rss_mb())
    print("\nRSS MB per round:", [round(r, 1) for r in rss])
    assert rss[-1] - rss[1] < max(25.0, 0.05 * rss[1]), rss   # round 0 warms caches; after that, flat
