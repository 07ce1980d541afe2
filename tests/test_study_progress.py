"""Progress in SQLite: Leitner boxes, what comes next, two students apart, schema versions, a killed writer."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from rag.config import load_settings
from rag.errors import ConfigError
from rag.study.progress import INTERVALS, Progress, ProgressError, next_box, open_progress
from rag.study.types import QuizItem


def item(n: int, chapter: str = "4") -> QuizItem:
    return QuizItem(id=f"ko-{chapter}.1-short-{n:08d}", kind="short", question=f"q{n}", answer="a", section=f"{chapter}.1",
                    title="t", chapter=chapter, evidence="a", language="ko")


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_leitner_moves():
    assert next_box(1, "correct") == 2 and next_box(5, "correct") == 5
    assert next_box(3, "partial") == 3 and next_box(4, "incorrect") == 1


def test_due_items_come_first_then_new_ones(tmp_path):
    clock = Clock()
    db = Progress(tmp_path / "p.sqlite3", clock=clock)
    items = [item(i) for i in range(6)]
    db.record("ann", items[0], "correct")      # box 2: due in a day
    db.record("ann", items[1], "incorrect")    # box 1: due now
    plan = db.plan("ann", items, items, 3)
    assert [p.id for p in plan] == [items[1].id, items[2].id, items[3].id]
    clock.now += INTERVALS[2] + 1
    plan = db.plan("ann", items, items, 2)
    assert [p.id for p in plan] == [items[1].id, items[0].id]    # both due now: the longer overdue first


def test_two_students_keep_separate_progress(tmp_path):
    db = Progress(tmp_path / "p.sqlite3")
    bank = [item(i) for i in range(4)] + [item(i, "5") for i in range(4)]
    db.record("ann", bank[0], "correct")
    db.record("ann", bank[0], "correct")
    db.record("bob", bank[4], "incorrect")
    assert [a.item_id for a in db.attempts("ann")] == [bank[0].id, bank[0].id]
    assert [a.item_id for a in db.attempts("bob")] == [bank[4].id]
    assert db.boxes("ann") and bank[0].id not in db.boxes("bob")
    ann, bob = db.mastery("ann", bank), db.mastery("bob", bank)
    assert ann["4"] == pytest.approx(2 / 4 / 4) and ann["5"] == 0.0
    assert bob == {"4": 0.0, "5": 0.0}


def test_progress_survives_reopening_and_uses_wal(tmp_path):
    path = tmp_path / "p.sqlite3"
    db = Progress(path)
    db.record("ann", item(1), "correct")
    db.close()
    again = Progress(path)
    assert len(again.attempts("ann")) == 1
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_schema_version_is_refused_with_a_message(tmp_path):
    path = tmp_path / "p.sqlite3"
    Progress(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version=99")
    with pytest.raises(ProgressError, match=r"schema version 99.*reads version 1.*RAG_STUDY_DB"):
        Progress(path)


def test_a_file_that_is_not_a_database_gets_a_message(tmp_path):
    path = tmp_path / "p.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProgressError, match="Move it away"):
        Progress(path)


def test_study_db_setting_is_a_path_or_sqlite_url(tmp_path):
    base = dict(environ={}, home=tmp_path)
    assert load_settings(**base).study_db_path == tmp_path / "study.sqlite3"
    assert load_settings(**base, study_db=f"sqlite:///{tmp_path}/x.db").study_db_path == tmp_path / "x.db"
    assert load_settings(environ={"RAG_STUDY_DB": str(tmp_path / "y.db")}).study_db_path == tmp_path / "y.db"
    with pytest.raises(ConfigError, match="only a file path"):
        load_settings(**base, study_db="postgresql://host/db").study_db_path
    assert open_progress(load_settings(**base)) is open_progress(load_settings(**base))


WRITER = """
import sys
from rag.study.progress import Progress
from rag.study.types import QuizItem
db = Progress(sys.argv[1])
for n in range(100000):
    it = QuizItem(id=f"ko-4.1-short-{n:08d}", kind="short", question="q", answer="a", section="4.1", title="t",
                  chapter="4", evidence="a", language="ko")
    db.record("killed", it, "correct")
    print(n, flush=True)       # acknowledged: committed before this line is written
"""


def test_a_killed_process_loses_nothing_it_committed(tmp_path):
    path = tmp_path / "p.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    acknowledged = -1
    deadline = time.monotonic() + 120
    while acknowledged < 50 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert acknowledged >= 50, "the writer did not get going"
    db = Progress(path)
    attempts = db.attempts("killed")
    assert len(attempts) >= acknowledged + 1             # every acknowledged attempt is there
    assert len(db.boxes("killed")) == len(attempts)      # and each one's box moved with it (one transaction)
    assert db._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
