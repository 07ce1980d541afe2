"""`rag report`: the teacher's figures from the question log and the quiz attempts, on SQLite and PostgreSQL;
questions logged by Engine.ask when record_questions is on, and only then."""
from __future__ import annotations

import csv
import json
from datetime import datetime

import pytest

from rag.cli import main
from rag.study.progress import Progress
from rag.study.report import build
from tests.store_fixtures import item, store_url  # noqa: F401  (store_url: a fixture)


def day(n: int, hour: int = 12) -> float:
    return datetime(2026, 3, n, hour).timestamp()   # local time, as --since reads its date


@pytest.fixture
def filled(store_url):
    db = Progress(store_url)
    db.record_question("infra", "CPU와 GPU의 차이는?", "ko", "answer", ["4.5", "4.4"], [], student="s1", when=day(1))
    db.record_question("infra", "What is Kubernetes?", "en", "refused", [], ["4.5", "6.2"], when=day(2))
    db.record_question("infra", "Why GPUs for training?", "en", "partial", ["4.5"], ["4.6"], student="s2",
                       when=day(3))
    db.record_question("econ", "What is opportunity cost?", "en", "answer", ["1.1"], [], when=day(3))
    # quiz attempts: ann 1 + 0.5 + 0 over three in chapter 4 (0.5), bob 2 of 2 (1.0) -> chapter 4: 0.75
    for student, chapter, verdict, when in [("ann", "4", "correct", day(1)), ("ann", "4", "partial", day(1)),
                                            ("ann", "4", "incorrect", day(1)), ("bob", "4", "correct", day(3)),
                                            ("bob", "4", "correct", day(3)), ("ann", "5", "partial", day(1))]:
        db.record(student, item(int(when) % 1000 + len(verdict), chapter), verdict, when=when, course="infra")
    db.record("carl", item(1, "1"), "correct", when=day(3), course="econ")
    return store_url


FULL = {
    "questions": 4,
    "refused": [{"question": "What is Kubernetes?", "closest_sections": ["4.5", "6.2"]}],
    "sections": {"1.1": {"asked": 1, "refused": 0, "partial": 0},
                 "4.4": {"asked": 1, "refused": 0, "partial": 0},
                 "4.5": {"asked": 3, "refused": 1, "partial": 1},
                 "6.2": {"asked": 1, "refused": 1, "partial": 0}},
    "mastery": {"1": {"students": 1, "mean": 1.0}, "4": {"students": 2, "mean": 0.75},
                "5": {"students": 1, "mean": 0.5}},
}


def test_report_figures_from_the_rows(filled):
    db = Progress(filled)
    assert build(db) == FULL
    infra = build(db, course="infra")
    assert infra["questions"] == 3 and "1.1" not in infra["sections"] and list(infra["mastery"]) == ["4", "5"]
    recent = build(db, course="infra", since=datetime(2026, 3, 2).timestamp())
    assert recent == {"questions": 2, "refused": FULL["refused"],
                      "sections": {"4.5": {"asked": 2, "refused": 1, "partial": 1},
                                   "6.2": {"asked": 1, "refused": 1, "partial": 0}},
                      "mastery": {"4": {"students": 1, "mean": 1.0}}}


@pytest.fixture
def env(monkeypatch, tmp_path):
    for key in [k for k in __import__("os").environ if k.startswith("RAG_") and not k.startswith("RAG_TEST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    return monkeypatch


def test_rag_report_json_has_exactly_the_issue_shape(filled, env, capsys, tmp_path):
    env.setenv("RAG_STUDY_DB", filled)
    assert main(["report", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == FULL and list(out) == ["questions", "refused", "sections", "mastery"]
    assert main(["report", "--json", "--course", "infra", "--since", "2026-03-02", "--csv", str(tmp_path / "s.csv")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == 2 and out["mastery"] == {"4": {"students": 1, "mean": 1.0}}
    with open(tmp_path / "s.csv", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["section", "asked", "refused", "partial"], ["4.5", "2", "1", "1"],
                                            ["6.2", "1", "1", "0"]]


def test_rag_report_text(filled, env, capsys):
    assert main(["report", "--db", filled]) == 0
    text = capsys.readouterr().out
    assert "Questions asked: 4" in text and "What is Kubernetes?   (closest: 4.5, 6.2)" in text
    assert "4.5" in text and "chapter 4: 75% over 2 students" in text


def test_rag_report_bad_date_and_unreachable_store(env, capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["report", "--since", "March"])
    assert exited.value.code == 2 and "not a date" in capsys.readouterr().err
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    assert main(["report", "--db", str(tmp_path / "junk.db")]) == 7
    assert "Move it away" in capsys.readouterr().err


def test_engine_logs_questions_only_when_asked_to(make_engine, tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    quiet = make_engine(study_db=url)
    quiet.ask("What are the four stages of the AI workflow?")
    engine = make_engine(study_db=url, record_questions=True)
    answer = engine.ask("What are the four stages of the AI workflow?")
    pieces = list(engine.ask("쿠버네티스 클러스터의 etcd 백업 방법은?", stream=True, student="anon-7"))
    quiet.ask("What is a GPU?", record=True, student="anon-8")
    logged = Progress(url).questions()
    assert [q.question for q in logged] == ["What are the four stages of the AI workflow?",
                                            "쿠버네티스 클러스터의 etcd 백업 방법은?", "What is a GPU?"]
    assert [q.student for q in logged] == ["", "anon-7", "anon-8"]
    first, second = logged[0], logged[1]
    assert first.course == "nvidia-ai-infra-1" and first.language == "en" and first.outcome == answer.outcome
    assert first.cited_sections == list(dict.fromkeys(c.section for c in answer.citations))
    assert second.outcome == pieces[-1].outcome and second.language == "ko"
