"""The study store under test, once per database: a SQLite file, and a PostgreSQL schema of its own when
RAG_TEST_POSTGRES_URL names a server (`.ci/postgres start` makes a throwaway one; `.ci/run` does it for CI).
Without it the PostgreSQL variants are skipped, saying why (they fail instead with RAG_TEST_POSTGRES_REQUIRED=1)."""
from __future__ import annotations

import os
import sqlite3
import time
import uuid
from functools import lru_cache
from urllib.parse import quote

import pytest

from rag.study.store import redact
from rag.study.types import QuizItem

POSTGRES_URL = os.environ.get("RAG_TEST_POSTGRES_URL", "")


@lru_cache(maxsize=1)
def postgres_missing() -> str:
    """Why the PostgreSQL variants cannot run ("" when they can)."""
    if not POSTGRES_URL:
        return "RAG_TEST_POSTGRES_URL is unset: no PostgreSQL server to test against (eval \"$(.ci/postgres start)\")"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install -e '.[test]'"
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers at {redact(POSTGRES_URL)} ({str(exc).strip()})"
    return ""


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A URL naming an empty study store: sqlite:////tmp/.../study.sqlite3, or postgresql://... whose
    search_path is a fresh schema, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.sqlite3'}"
        return
    if postgres_missing():   # CI (.ci/run) starts a server and sets RAG_TEST_POSTGRES_REQUIRED: no skipping there
        (pytest.fail if os.environ.get("RAG_TEST_POSTGRES_REQUIRED") else pytest.skip)(postgres_missing())
    schema = "t_" + uuid.uuid4().hex[:16]
    _admin(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{joiner}options={quote(f'-c search_path={schema}')}"
    _admin(f"DROP SCHEMA {schema} CASCADE")


def set_version(url: str, version: int) -> None:
    """Write a schema version straight into the store, as another version of course-rag would."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as raw:
            raw.execute(f"PRAGMA user_version={int(version)}")
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (version,))


def item(n: int, chapter: str = "4", section: str | None = None) -> QuizItem:
    return QuizItem(id=f"ko-{chapter}.1-short-{n:08d}", kind="short", question=f"q{n}", answer="a",
                    section=section or f"{chapter}.1", title="t", chapter=chapter, evidence="a", language="ko")


def write_many(url: str, student: str, n: int, start_at: float) -> None:
    """One writer of the concurrency test (run in its own process): n attempts and n questions."""
    from rag.study.progress import Progress

    while time.time() < start_at:   # both processes start writing together
        time.sleep(0.001)
    db = Progress(url)
    for i in range(n):
        db.record(student, item(i), "correct", course="c")
        db.record_question("c", f"{student} question {i}", "en", "answer", ["4.1"], [], student=student)
    db.close()
