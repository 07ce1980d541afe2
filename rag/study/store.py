"""Where study data lives: one SQLite file (the default) or a PostgreSQL database, with one schema and its versions.

``RAG_STUDY_DB`` is a path, ``sqlite:///path`` or ``postgresql://user:password@host:port/database``
(``Settings.study_db_url``). Both hold the same tables, made and upgraded by ``MIGRATIONS``: an ordered list of
SQL steps, step N taking a database from version N-1 to N. On open, the steps a database lacks are applied in one
transaction (all or none: a failed upgrade leaves the old version intact); the version is ``PRAGMA user_version``
in SQLite and the one row of ``schema_version`` in PostgreSQL. A database at a newer version than this code is
refused with a message, never read or written. Every write is one transaction, so a killed process loses nothing
that was committed. SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns);
PostgreSQL through the standard driver, psycopg 3 (``pip install 'course-rag[postgres]'``), no ORM.

SQL here is written once with ``?`` placeholders and two type words filled in per database: ``{id}`` (an
auto-numbered key) and ``{real}`` (a double-precision float: PostgreSQL's REAL is single precision, too coarse
for a time in seconds).
"""
from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from pathlib import Path

from ..errors import RagError

# Each entry: the statements that take the database from the version before it to its own (1-based).
MIGRATIONS: list[tuple[str, ...]] = [
    # 1: each student's quiz attempts and Leitner boxes
    (
        """CREATE TABLE attempts (
            id {id},
            student TEXT NOT NULL,
            item_id TEXT NOT NULL,
            chapter TEXT NOT NULL,
            section TEXT NOT NULL,
            language TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'partial', 'incorrect')),
            answered_at {real} NOT NULL
        )""",
        "CREATE INDEX attempts_student ON attempts (student, answered_at)",
        """CREATE TABLE boxes (
            student TEXT NOT NULL,
            item_id TEXT NOT NULL,
            chapter TEXT NOT NULL,
            language TEXT NOT NULL,
            box INTEGER NOT NULL,
            due {real} NOT NULL,
            PRIMARY KEY (student, item_id)
        )""",
    ),
    # 2: the course of each attempt (attempts from version 1: ''), and the question log (issue 22). A question
    # keeps its text, language, outcome, the sections it cited and the closest ones (JSON lists), when, and the
    # anonymous id its asker was given (may be empty): nothing else about a student.
    (
        "ALTER TABLE attempts ADD COLUMN course TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX attempts_course ON attempts (course, answered_at)",
        """CREATE TABLE questions (
            id {id},
            course TEXT NOT NULL,
            student TEXT NOT NULL DEFAULT '',
            question TEXT NOT NULL,
            language TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('answer', 'partial', 'refused')),
            cited_sections TEXT NOT NULL DEFAULT '[]',
            closest_sections TEXT NOT NULL DEFAULT '[]',
            asked_at {real} NOT NULL
        )""",
        "CREATE INDEX questions_course ON questions (course, asked_at)",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)
_PG_LOCK = 7_220_022   # advisory lock key: one process migrates a PostgreSQL database at a time
_FIX = "set RAG_STUDY_DB to another database"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class ProgressError(RagError):
    """The study database cannot be opened or used, or has another schema version."""

    exit_code = 7


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class Database:
    """One connection, shared by a process's threads under a lock. ``read`` for queries, ``transaction`` for
    writes: ``with db.transaction() as run: run(sql, params)``."""

    dialect = ""
    types = {"id": "", "real": ""}    # the type words MIGRATIONS leave open
    _errors: tuple[type[BaseException], ...] = ()

    def __init__(self, where: str):
        self.where = where
        self._lock = threading.RLock()
        self._conn = None

    # -- per database ---------------------------------------------------------------------------------
    def _connect(self):
        raise NotImplementedError

    def _begin(self):
        """A context manager around one transaction on ``self._conn``."""
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    def _version(self, run) -> int:
        raise NotImplementedError

    def _set_version(self, run, version: int) -> None:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------
    def _run(self, sql: str, params=()) -> list[tuple]:
        cursor = self._conn.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    @contextlib.contextmanager
    def _guard(self):
        try:
            yield
        except self._errors as exc:
            raise ProgressError(f"The study database {self.where} failed ({_one_line(exc)}). Check that it "
                                f"can be reached and written, or {_FIX}.") from exc

    def _ready(self) -> None:
        if self._conn is None or self._closed():
            self._conn = self._connect()

    @contextlib.contextmanager
    def transaction(self):
        """All or nothing: committed when the block ends, rolled back when it raises."""
        with self._lock, self._guard():
            self._ready()
            with self._begin():
                yield self._run

    def read(self, sql: str, params=()) -> list[tuple]:
        """One query, outside any write transaction (it sees what was committed, and blocks no writer)."""
        with self._lock, self._guard():
            self._ready()
            return self._run(sql, params)

    def _closed(self) -> bool:
        return False

    def lock_key(self, run, key: str) -> None:
        """Serialise transactions on one key (a student's item) until this one ends. SQLite's BEGIN IMMEDIATE
        already serialises every writer."""

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def migrate(self) -> int:
        """Bring the schema to SCHEMA_VERSION (one transaction), or refuse a newer one. Returns the version found."""
        with self.transaction() as run:
            found = self._version(run)
            if found > SCHEMA_VERSION:
                raise ProgressError(
                    f"The study database {self.where} has schema version {found}; this version of course-rag "
                    f"reads version {SCHEMA_VERSION} and older. Upgrade course-rag (pip install -U course-rag) to "
                    f"use it, or {_FIX} (a new file or database starts empty).")
            for steps in MIGRATIONS[found:]:
                for statement in steps:
                    run(statement.format(**self.types))
            if found < SCHEMA_VERSION:
                self._set_version(run, SCHEMA_VERSION)
            return found


class SQLiteDatabase(Database):
    dialect = "sqlite"
    _errors = (sqlite3.Error,)
    types = {"id": "INTEGER PRIMARY KEY", "real": "REAL"}

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._conn = self._connect()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise ProgressError(f"Cannot open the study database {self.path} ({exc}). Move it away to start "
                                f"fresh, or {_FIX}.") from exc

    def _connect(self):
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30,
                               isolation_level=None)   # autocommit; transactions are explicit
        conn.execute("PRAGMA busy_timeout=30000")
        # switching a new file to WAL answers "locked" at once, without waiting, while another process opening it
        # at the same moment does the same: try again for as long as the busy timeout
        deadline = time.monotonic() + 30
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        # FULL: a commit is on disk before it returns (NORMAL could lose the last ones on power loss)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    @contextlib.contextmanager
    def _begin(self):
        # IMMEDIATE: the write lock is taken before the first read, so a read-then-write (a Leitner box, a
        # migration) is never interleaved with another process's
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _version(self, run) -> int:
        version = run("PRAGMA user_version")[0][0]
        if version == 0 and run("SELECT count(*) FROM sqlite_master WHERE type='table'")[0][0]:
            raise ProgressError(f"The study database {self.path} has tables but no schema version: it was not "
                                f"made by course-rag. Move it away to start fresh, or {_FIX}.")
        return version

    def _set_version(self, run, version: int) -> None:
        run(f"PRAGMA user_version={int(version)}")   # part of the transaction: rolled back with it


class PostgresDatabase(Database):
    dialect = "postgresql"
    types = {"id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "real": "DOUBLE PRECISION"}

    def __init__(self, url: str):
        super().__init__(redact(url))
        self.url = url
        try:
            import psycopg
        except ImportError as exc:
            raise ProgressError(f"RAG_STUDY_DB names a PostgreSQL database ({self.where}), which needs the psycopg "
                                "driver: pip install 'course-rag[postgres]' (or psycopg[binary]), or "
                                f"{_FIX}.") from exc
        self._psycopg = psycopg
        self._errors = (psycopg.Error,)
        try:
            with self._lock:
                self._conn = self._connect()
        except psycopg.Error as exc:
            raise ProgressError(f"Cannot connect to the study database {self.where} ({_one_line(exc)}). Check "
                                f"that the server is running and the URL's user, password and database, or "
                                f"{_FIX}.") from exc

    def _connect(self):
        return self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def _closed(self) -> bool:
        return self._conn.closed or self._conn.broken   # a restarted server: connect again

    def _begin(self):
        return self._conn.transaction()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _version(self, run) -> int:
        run("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK,))   # released at commit or rollback
        run("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), "
            "version INTEGER NOT NULL)")
        row = run("SELECT version FROM schema_version WHERE id = 1")
        if row:
            return row[0][0]
        if run("SELECT to_regclass('attempts') IS NOT NULL")[0][0]:
            raise ProgressError(f"The study database {self.where} has an attempts table but no schema version: it "
                                f"was not made by course-rag. Use another database or schema, or {_FIX}.")
        run("INSERT INTO schema_version (id, version) VALUES (1, 0)")
        return 0

    def _set_version(self, run, version: int) -> None:
        run("UPDATE schema_version SET version = ? WHERE id = 1", (version,))

    def lock_key(self, run, key: str) -> None:
        run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))


def open_database(target) -> Database:
    """A path, ``sqlite:///path`` or ``postgresql://...``, opened and migrated to SCHEMA_VERSION."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        db: Database = PostgresDatabase(text)
    else:
        db = SQLiteDatabase(Path(text[len("sqlite:///"):] if text.startswith("sqlite:///") else text))
    try:
        db.migrate()
    except BaseException:
        db.close()
        raise
    return db
