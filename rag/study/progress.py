"""Each student's attempts and spaced-repetition state, in one SQLite file (standard library, WAL).

Leitner boxes: a correct answer moves the item up one box, a partial one keeps it, a wrong one sends it
back to box 1; each box waits longer before the item is due again. Every attempt is one transaction, so a
killed process loses nothing that was acknowledged. The schema version lives in ``PRAGMA user_version``
and is checked on open: a file from another version is refused with a message, never silently reused.
A server database later means another class with these methods behind ``open_progress``.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from ..errors import RagError
from .types import Attempt, QuizItem

SCHEMA_VERSION = 1
BOXES = 5
# seconds an item waits in each box before it is due again: box 1 comes back within the same sitting
INTERVALS = {1: 0, 2: 86400, 3: 3 * 86400, 4: 7 * 86400, 5: 21 * 86400}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    item_id TEXT NOT NULL,
    chapter TEXT NOT NULL,
    section TEXT NOT NULL,
    language TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'partial', 'incorrect')),
    answered_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_student ON attempts (student, answered_at);
CREATE TABLE IF NOT EXISTS boxes (
    student TEXT NOT NULL,
    item_id TEXT NOT NULL,
    chapter TEXT NOT NULL,
    language TEXT NOT NULL,
    box INTEGER NOT NULL,
    due REAL NOT NULL,
    PRIMARY KEY (student, item_id)
);
"""


class ProgressError(RagError):
    """The progress database cannot be opened or has another schema version."""

    exit_code = 7


def next_box(box: int, verdict: str) -> int:
    if verdict == "correct":
        return min(box + 1, BOXES)
    if verdict == "partial":
        return max(box, 1)
    return 1


class Progress:
    def __init__(self, path: Path, clock=time.time):
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()   # one connection shared by the web app's threads
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10,
                                       isolation_level=None)   # autocommit; transactions are explicit
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before it returns (NORMAL could lose the last ones on power loss)
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ProgressError(f"Cannot open the study database {self.path} ({exc}). Move it away to start "
                                "fresh, or set RAG_STUDY_DB to another file.") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        if version == 0 and tables == 0:
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            return
        if version != SCHEMA_VERSION:
            self._db.close()
            raise ProgressError(
                f"The study database {self.path} has schema version {version}; this version of course-rag "
                f"reads version {SCHEMA_VERSION}. Upgrade course-rag, or move the file away to start fresh "
                "(or set RAG_STUDY_DB to another file).")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing --------------------------------------------------------------------------------
    def record(self, student: str, item: QuizItem, verdict: str, when: float | None = None) -> int:
        """Store one attempt and move the item's box, in one transaction. Returns the new box."""
        when = self.clock() if when is None else when
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")   # read and write under one lock: two processes may share the file
            try:
                row = self._db.execute("SELECT box FROM boxes WHERE student=? AND item_id=?",
                                       (student, item.id)).fetchone()
                box = next_box(row[0] if row else 1, verdict)
                self._db.execute(
                    "INSERT INTO attempts (student, item_id, chapter, section, language, verdict, answered_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (student, item.id, item.chapter, item.section, item.language, verdict, when))
                self._db.execute(
                    "INSERT INTO boxes (student, item_id, chapter, language, box, due) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (student, item_id) DO UPDATE SET box=excluded.box, due=excluded.due",
                    (student, item.id, item.chapter, item.language, box, when + INTERVALS[box]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return box

    # -- reading --------------------------------------------------------------------------------
    def attempts(self, student: str) -> list[Attempt]:
        with self._lock:
            rows = self._db.execute(
                "SELECT student, item_id, chapter, section, language, verdict, answered_at FROM attempts "
                "WHERE student=? ORDER BY id", (student,)).fetchall()
        return [Attempt(*r) for r in rows]

    def boxes(self, student: str) -> dict[str, tuple[int, float]]:
        """item id -> (box, due time)."""
        with self._lock:
            rows = self._db.execute("SELECT item_id, box, due FROM boxes WHERE student=?", (student,)).fetchall()
        return {item: (box, due) for item, box, due in rows}

    def mastery(self, student: str, bank: list[QuizItem], language: str | None = None) -> dict[str, float]:
        """Chapter -> 0..1: the mean box height over the chapter's items (unseen items count as 0)."""
        boxes = self.boxes(student)
        totals: dict[str, list[float]] = {}
        for item in bank:
            if language and item.language != language:
                continue
            box = boxes.get(item.id, (0, 0))[0]
            totals.setdefault(item.chapter, []).append(max(box - 1, 0) / (BOXES - 1))
        return {c: sum(v) / len(v) for c, v in sorted(totals.items(), key=lambda kv: (len(kv[0]), kv[0]))}

    def plan(self, student: str, candidates: list[QuizItem], fresh: list[QuizItem], n: int) -> list[QuizItem]:
        """What to ask next: items due for review (longest overdue first), then new ones (``fresh``, in the
        seeded order), then the rest by how soon they fall due."""
        boxes, now = self.boxes(student), self.clock()
        due = sorted((it for it in candidates if it.id in boxes and boxes[it.id][1] <= now),
                     key=lambda it: (boxes[it.id][1], boxes[it.id][0]))
        new = [it for it in fresh if it.id not in boxes]
        later = sorted((it for it in candidates if it.id in boxes and boxes[it.id][1] > now),
                       key=lambda it: boxes[it.id][1])
        out: list[QuizItem] = []
        for item in due + new + later:
            if item.id not in {o.id for o in out}:
                out.append(item)
            if len(out) == n:
                break
        return out


_open: dict[str, Progress] = {}
_open_lock = threading.Lock()


def open_progress(settings) -> Progress:
    """The progress store the settings name (``RAG_STUDY_DB``), opened once per process."""
    path = settings.study_db_path
    with _open_lock:
        if str(path) not in _open:
            _open[str(path)] = Progress(path)
        return _open[str(path)]
