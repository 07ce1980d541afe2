"""Each student's attempts and spaced-repetition state, and the question log, in the study store.

Leitner boxes: a correct answer moves the item up one box, a partial one keeps it, a wrong one sends it
back to box 1; each box waits longer before the item is due again. Every attempt is one transaction, so a
killed process loses nothing that was acknowledged. The store is a SQLite file (WAL) or a PostgreSQL database
(``RAG_STUDY_DB``); its schema is versioned and migrated on open, and a newer one is refused with a message
(``rag/study/store.py``). With ``RAG_RECORD_QUESTIONS`` on, each asked question is kept too (``log_answer``):
its text, language, outcome and sections, and the anonymous id its asker was given, nothing else.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from functools import lru_cache

from .store import SCHEMA_VERSION, Database, ProgressError, open_database  # noqa: F401  (re-exported)
from .types import AskedQuestion, Attempt, QuizItem

BOXES = 5
# seconds an item waits in each box before it is due again: box 1 comes back within the same sitting
INTERVALS = {1: 0, 2: 86400, 3: 3 * 86400, 4: 7 * 86400, 5: 21 * 86400}
OUTCOMES = ("answer", "partial", "refused")
_ATTEMPT = "student, item_id, chapter, section, language, verdict, answered_at, course"
_QUESTION = "course, question, language, outcome, cited_sections, closest_sections, asked_at, student"
log = logging.getLogger("rag.study")


def next_box(box: int, verdict: str) -> int:
    if verdict == "correct":
        return min(box + 1, BOXES)
    if verdict == "partial":
        return max(box, 1)
    return 1


class Progress:
    """The study store: ``Progress(path)``, ``Progress("sqlite:///path")`` or ``Progress("postgresql://...")``."""

    def __init__(self, target, clock=time.time):
        self.db: Database = open_database(target)
        self.path = getattr(self.db, "path", None)   # the SQLite file; None for a server
        self.clock = clock

    def close(self) -> None:
        self.db.close()

    # -- writing --------------------------------------------------------------------------------
    def record(self, student: str, item: QuizItem, verdict: str, when: float | None = None, course: str = "") -> int:
        """Store one attempt and move the item's box, in one transaction. Returns the new box."""
        when = self.clock() if when is None else when
        with self.db.transaction() as run:
            self.db.lock_key(run, f"{student}|{item.id}")   # one read-then-write of a box at a time
            row = run("SELECT box FROM boxes WHERE student=? AND item_id=?", (student, item.id))
            box = next_box(row[0][0] if row else 1, verdict)
            run(f"INSERT INTO attempts ({_ATTEMPT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (student, item.id, item.chapter, item.section, item.language, verdict, when, course))
            run("INSERT INTO boxes (student, item_id, chapter, language, box, due) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (student, item_id) DO UPDATE SET box=excluded.box, due=excluded.due",
                (student, item.id, item.chapter, item.language, box, when + INTERVALS[box]))
        return box

    def record_question(self, course: str, question: str, language: str, outcome: str, cited=(), closest=(),
                        student: str = "", when: float | None = None) -> None:
        """Keep one asked question (one transaction). ``cited``/``closest``: section numbers ("4.5")."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
        when = self.clock() if when is None else when
        with self.db.transaction() as run:
            run(f"INSERT INTO questions ({_QUESTION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (course, question, language, outcome, json.dumps(list(cited), ensure_ascii=False),
                 json.dumps(list(closest), ensure_ascii=False), when, student or ""))

    # -- reading --------------------------------------------------------------------------------
    def attempts(self, student: str) -> list[Attempt]:
        rows = self.db.read(f"SELECT {_ATTEMPT} FROM attempts WHERE student=? ORDER BY id", (student,))
        return [Attempt(*r) for r in rows]

    def all_attempts(self, course: str | None = None, since: float | None = None) -> list[Attempt]:
        """Every student's attempts, oldest first; only ``course``'s and those from ``since`` on when given."""
        where, params = _filters("answered_at", course, since)
        return [Attempt(*r) for r in self.db.read(f"SELECT {_ATTEMPT} FROM attempts{where} ORDER BY id", params)]

    def questions(self, course: str | None = None, since: float | None = None) -> list[AskedQuestion]:
        """The question log, oldest first; only ``course``'s and those asked from ``since`` on when given."""
        where, params = _filters("asked_at", course, since)
        rows = self.db.read(f"SELECT {_QUESTION} FROM questions{where} ORDER BY id", params)
        return [AskedQuestion(course, question, language, outcome, json.loads(cited), json.loads(closest), when,
                              student)
                for course, question, language, outcome, cited, closest, when, student in rows]

    def boxes(self, student: str) -> dict[str, tuple[int, float]]:
        """item id -> (box, due time)."""
        rows = self.db.read("SELECT item_id, box, due FROM boxes WHERE student=?", (student,))
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


def _filters(column: str, course: str | None, since: float | None) -> tuple[str, tuple]:
    clauses, params = [], []
    if course is not None:
        clauses.append("course = ?")
        params.append(course)
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(float(since))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


_open: dict[str, Progress] = {}
_open_lock = threading.Lock()


def open_progress(settings) -> Progress:
    """The study store the settings name (``RAG_STUDY_DB``), opened once per process."""
    url = settings.study_db_url
    with _open_lock:
        if url not in _open:
            _open[url] = Progress(url)
        return _open[url]


@lru_cache(maxsize=64)
def course_id(settings) -> str:
    """The id attempts and questions are kept under: the course's id (``rag courses``)."""
    from .. import catalog

    return catalog.find(settings.course, settings).id if settings.course else catalog.current(settings).id


def log_answer(settings, answer, student: str = "") -> bool:
    """Keep one answered (or refused) question in the question log when ``settings.record_questions`` is on.
    Never fails the answer: a store that cannot be written is logged (``rag.study``) and False returned."""
    if not settings.record_questions:
        return False
    cited = list(dict.fromkeys(c.section for c in answer.citations))
    closest = list(dict.fromkeys(h.section for h in answer.suggestions))
    try:
        open_progress(settings).record_question(course_id(settings), answer.question, answer.language,
                                                answer.outcome, cited, closest, student=student)
    except Exception as exc:   # noqa: BLE001 - the student still gets the answer
        log.warning("question not recorded: %s", exc)
        return False
    return True
