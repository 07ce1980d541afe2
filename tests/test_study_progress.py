"""The study store, on SQLite and on PostgreSQL (``store_url``; the latter skipped without RAG_TEST_POSTGRES_URL):
Leitner boxes, what comes next, two students apart, schema versions and migrations, two writers at once, a killed
writer, the question log."""
from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from rag.config import load_settings
from rag.errors import ConfigError
from rag.study import store
from rag.study.progress import INTERVALS, Progress, ProgressError, log_answer, next_box, open_progress
from rag.types import Answer, Citation, Hit
from tests.store_fixtures import item, set_version, store_url, write_many  # noqa: F401  (store_url: a fixture)

# the schema of version 1, as course-rag wrote it before the question log (issue 22)
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY, student TEXT NOT NULL, item_id TEXT NOT NULL, chapter TEXT NOT NULL,
    section TEXT NOT NULL, language TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'partial', 'incorrect')), answered_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_student ON attempts (student, answered_at);
CREATE TABLE IF NOT EXISTS boxes (
    student TEXT NOT NULL, item_id TEXT NOT NULL, chapter TEXT NOT NULL, language TEXT NOT NULL,
    box INTEGER NOT NULL, due REAL NOT NULL, PRIMARY KEY (student, item_id)
);
PRAGMA user_version=1;
"""


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_leitner_moves():
    assert next_box(1, "correct") == 2 and next_box(5, "correct") == 5
    assert next_box(3, "partial") == 3 and next_box(4, "incorrect") == 1


def test_due_items_come_first_then_new_ones(store_url):
    clock = Clock()
    db = Progress(store_url, clock=clock)
    items = [item(i) for i in range(6)]
    db.record("ann", items[0], "correct")      # box 2: due in a day
    db.record("ann", items[1], "incorrect")    # box 1: due now
    plan = db.plan("ann", items, items, 3)
    assert [p.id for p in plan] == [items[1].id, items[2].id, items[3].id]
    clock.now += INTERVALS[2] + 1
    plan = db.plan("ann", items, items, 2)
    assert [p.id for p in plan] == [items[1].id, items[0].id]    # both due now: the longer overdue first


def test_two_students_keep_separate_progress(store_url):
    db = Progress(store_url)
    bank = [item(i) for i in range(4)] + [item(i, "5") for i in range(4)]
    db.record("ann", bank[0], "correct")
    db.record("ann", bank[0], "correct", course="infra")
    db.record("bob", bank[4], "incorrect")
    assert [a.item_id for a in db.attempts("ann")] == [bank[0].id, bank[0].id]
    assert [a.course for a in db.attempts("ann")] == ["", "infra"]
    assert [a.item_id for a in db.attempts("bob")] == [bank[4].id]
    assert db.boxes("ann") and bank[0].id not in db.boxes("bob")
    ann, bob = db.mastery("ann", bank), db.mastery("bob", bank)
    assert ann["4"] == pytest.approx(2 / 4 / 4) and ann["5"] == 0.0
    assert bob == {"4": 0.0, "5": 0.0}
    assert [a.student for a in db.all_attempts()] == ["ann", "ann", "bob"]
    assert [a.student for a in db.all_attempts(course="infra")] == ["ann"]


def test_progress_survives_reopening(store_url):
    db = Progress(store_url)
    db.record("ann", item(1), "correct", when=1234.5678)
    db.close()
    again = Progress(store_url)
    assert [a.answered_at for a in again.attempts("ann")] == [1234.5678]   # double precision on both
    assert again.db.migrate() == store.SCHEMA_VERSION                     # nothing left to migrate


def test_sqlite_uses_wal_and_a_full_sync(tmp_path):
    db = Progress(tmp_path / "p.sqlite3")
    assert db.db.read("PRAGMA journal_mode")[0][0] == "wal"
    assert db.db.read("PRAGMA synchronous")[0][0] == 2    # FULL


def test_a_newer_schema_version_is_refused_with_a_message(store_url):
    Progress(store_url).record("ann", item(1), "correct")
    set_version(store_url, 99)
    with pytest.raises(ProgressError, match=r"schema version 99.*reads version 2 and older.*Upgrade course-rag.*"
                                            r"RAG_STUDY_DB"):
        Progress(store_url)
    set_version(store_url, store.SCHEMA_VERSION)          # untouched by the refusal
    assert len(Progress(store_url).attempts("ann")) == 1


def test_a_version_1_sqlite_file_migrates_forward_keeping_its_rows(tmp_path):
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.executescript(V1_SCHEMA)
        raw.executemany("INSERT INTO attempts (student, item_id, chapter, section, language, verdict, answered_at) "
                        "VALUES (?, ?, '4', '4.1', 'ko', ?, ?)",
                        [("ann", "i1", "correct", 10.0), ("ann", "i1", "partial", 20.0), ("bob", "i2", "incorrect", 30.0)])
        raw.execute("INSERT INTO boxes VALUES ('ann', 'i1', '4', 'ko', 2, 86420.0)")
    raw.close()
    db = Progress(path)
    assert db.db.read("PRAGMA user_version")[0][0] == store.SCHEMA_VERSION == 2
    assert [(a.item_id, a.verdict, a.answered_at, a.course) for a in db.attempts("ann")] == [
        ("i1", "correct", 10.0, ""), ("i1", "partial", 20.0, "")]
    assert db.boxes("ann") == {"i1": (2, 86420.0)} and len(db.attempts("bob")) == 1
    assert db.record("ann", item(1), "correct", course="c") == 2 and len(db.all_attempts()) == 4
    db.record_question("c", "what?", "en", "refused", [], ["4.5"])
    assert [q.question for q in db.questions()] == ["what?"]


def test_a_failed_migration_changes_nothing(store_url, monkeypatch):
    Progress(store_url).record("ann", item(1), "correct")
    set_version(store_url, 1)     # as if written by version 1: step 2 would run again (and fail: it exists)...
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1] + [("CREATE TABLE boxes (x INTEGER)",)] +
                        store.MIGRATIONS[1:])   # ...after a step that fails at once
    monkeypatch.setattr(store, "SCHEMA_VERSION", 3)
    with pytest.raises(ProgressError, match="failed"):
        Progress(store_url)
    monkeypatch.undo()
    set_version(store_url, store.SCHEMA_VERSION)
    assert len(Progress(store_url).attempts("ann")) == 1


def test_a_file_that_is_not_a_database_gets_a_message(tmp_path):
    path = tmp_path / "p.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProgressError, match="Move it away"):
        Progress(path)


def test_someone_elses_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE notes (x)")
    raw.close()
    with pytest.raises(ProgressError, match="not made by course-rag"):
        Progress(path)


def test_an_unreachable_server_gets_a_message():
    pytest.importorskip("psycopg")
    with pytest.raises(ProgressError, match=r"Cannot connect to the study database postgresql://ann:\*\*\*@127\.0\.0\.1:9/x.*"
                                            r"RAG_STUDY_DB") as caught:
        Progress("postgresql://ann:secret@127.0.0.1:9/x")
    assert "secret" not in str(caught.value)


def test_study_db_setting_is_a_path_or_url(tmp_path):
    base = dict(environ={}, home=tmp_path)
    assert load_settings(**base).study_db_path == tmp_path / "study.sqlite3"
    assert load_settings(**base).study_db_url == f"sqlite:///{tmp_path}/study.sqlite3"
    assert load_settings(**base, study_db=f"sqlite:///{tmp_path}/x.db").study_db_path == tmp_path / "x.db"
    assert load_settings(environ={"RAG_STUDY_DB": str(tmp_path / "y.db")}).study_db_path == tmp_path / "y.db"
    url = "postgresql://rag:pw@db.example:5433/study"
    assert load_settings(**base, study_db=url).study_db_url == url
    with pytest.raises(ConfigError, match="PostgreSQL database, not a file"):
        load_settings(**base, study_db=url).study_db_path
    with pytest.raises(ConfigError, match="postgresql://user:password@host:port/database"):
        load_settings(**base, study_db="mysql://host/db").study_db_url
    assert load_settings(environ={"RAG_TEST_POSTGRES_URL": url}).study_db == ""   # the tests' own, no setting
    assert open_progress(load_settings(**base)) is open_progress(load_settings(**base))


def test_two_processes_writing_at_once_keep_every_row(store_url):
    n = 60
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 3     # both open the fresh store and write from the same moment
    writers = [context.Process(target=write_many, args=(store_url, student, n, start_at)) for student in ("p1", "p2")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    db = Progress(store_url)
    for student in ("p1", "p2"):
        assert [a.item_id for a in db.attempts(student)] == [item(i).id for i in range(n)]
        assert len(db.boxes(student)) == n
    questions = db.questions(course="c")
    assert len(questions) == 2 * n and {q.student for q in questions} == {"p1", "p2"}


WRITER = """
import sys
from rag.study.progress import Progress
from rag.study.types import QuizItem
db = Progress(sys.argv[1])
for n in range(100000):
    it = QuizItem(id=f"ko-4.1-short-{n:08d}", kind="short", question="q", answer="a", section="4.1", title="t",
                  chapter="4", evidence="a", language="ko")
    db.record("killed", it, "correct")
    db.record_question("c", f"question {n}", "en", "answer", ["4.1"], [])
    print(n, flush=True)       # acknowledged: both committed before this line is written
"""


def test_a_killed_process_loses_nothing_it_committed(store_url):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, store_url], stdout=subprocess.PIPE, text=True,
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
    db = Progress(store_url)
    attempts = db.attempts("killed")
    assert len(attempts) >= acknowledged + 1             # every acknowledged attempt is there
    assert len(db.boxes("killed")) == len(attempts)      # and each one's box moved with it (one transaction)
    assert len(db.questions()) >= acknowledged + 1
    if db.db.dialect == "sqlite":
        assert db.db.read("PRAGMA integrity_check")[0][0] == "ok"


def test_question_log_round_trip(store_url):
    clock = Clock()
    db = Progress(store_url, clock=clock)
    db.record_question("infra", "GPU와 CPU의 차이는?", "ko", "answer", ["4.5", "4.4"], [], student="s1")
    clock.now += 86400
    db.record_question("infra", "What is Kubernetes?", "en", "refused", [], ["6.2", "6.1"])
    db.record_question("econ", "What is opportunity cost?", "en", "partial", ["1.1"], ["1.2"], student="s2")
    everything = db.questions()
    assert [(q.course, q.question, q.language, q.outcome, q.cited_sections, q.closest_sections, q.student)
            for q in everything] == [
        ("infra", "GPU와 CPU의 차이는?", "ko", "answer", ["4.5", "4.4"], [], "s1"),
        ("infra", "What is Kubernetes?", "en", "refused", [], ["6.2", "6.1"], ""),
        ("econ", "What is opportunity cost?", "en", "partial", ["1.1"], ["1.2"], "s2")]
    assert everything[0].asked_at == 1_000_000.0
    assert [q.question for q in db.questions(course="infra", since=1_000_000.0 + 1)] == ["What is Kubernetes?"]
    assert db.questions(course="nope") == []
    with pytest.raises(ValueError):
        db.record_question("infra", "q", "en", "maybe")


def test_answers_are_logged_only_when_the_setting_is_on(store_url, tmp_path):
    answer = Answer(text="...", language="en", refused=False, generator="extractive", question="What is a DPU?",
                    citations=[Citation(doc="d", section="4.7", title="DPU", quote="q", score=1.0),
                               Citation(doc="d", section="4.7", title="DPU", quote="r", score=0.9)],
                    suggestions=[Hit(doc="d", section="4.8", title="x", score=0.1)])
    base = dict(home=tmp_path, study_db=store_url, course=str(tmp_path / "econ-intro"))
    (tmp_path / "econ-intro").mkdir()
    (tmp_path / "econ-intro" / "notes.md").write_text("# 1. Intro\n## 1.1 Cost\ntext\n", encoding="utf-8")
    assert log_answer(load_settings(environ={}, **base), answer) is False
    assert log_answer(load_settings(environ={}, **base, record_questions=True), answer, student="anon-1") is True
    assert log_answer(load_settings(environ={"RAG_RECORD_QUESTIONS": "1"}, **base), answer) is True
    logged = Progress(store_url).questions()
    assert [(q.course, q.outcome, q.cited_sections, q.closest_sections, q.student) for q in logged] == [
        ("econ-intro", "answer", ["4.7"], ["4.8"], "anon-1"), ("econ-intro", "answer", ["4.7"], ["4.8"], "")]
