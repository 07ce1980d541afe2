"""The Teacher tab: its figures (rag/study/report.py's plain functions) and its handlers behind the password, on a
SQLite study store in tmp_path. No server, no browser."""
from __future__ import annotations

import csv
from datetime import datetime

import pytest

gr = pytest.importorskip("gradio")

from rag.config import load_settings  # noqa: E402
from rag.study import report  # noqa: E402
from rag.study.progress import Progress  # noqa: E402
from rag.study.types import QuizItem  # noqa: E402
from rag.web import teacher  # noqa: E402
from rag.web.teacher import FIGURES, TeacherHandlers  # noqa: E402
from tests.store_fixtures import item  # noqa: E402

COURSE = "nvidia-ai-infra-1"   # the bundled course: the app's own when nothing else is set


def day(month: int, n: int, hour: int = 12) -> float:
    return datetime(2026, month, n, hour).timestamp()


def fill(db: Progress, course: str = COURSE) -> None:
    """Three weeks of questions (Mondays 2 Mar, 9 Mar, 16 Mar 2026) and two students' quiz attempts."""
    ask = db.record_question
    ask(course, "CPU와 GPU의 차이는?", "ko", "answer", ["4.5"], [], student="s1", when=day(3, 2))
    ask(course, "What is Kubernetes?", "en", "refused", [], ["4.5", "6.2"], student="s2", when=day(3, 3))
    ask(course, "what is kubernetes? ", "en", "refused", [], ["4.5"], student="s1", when=day(3, 10))
    ask(course, "<b>Why</b> GPUs for training & cooling?", "en", "partial", ["4.5"], [], student="s2",
        when=day(3, 17))
    ask(course, "What is BlueField?", "en", "refused", [], ["6.2"], when=day(3, 18))
    ask(course, "How tall is Jensen?", "en", "refused", [], [], when=day(3, 18))
    ask("other-course", "What is opportunity cost?", "en", "refused", [], ["1.1"], when=day(3, 18))
    # ann: chapter 4 at 1/3 (1 correct of 3), bob: 1.0 -> mean 0.6667, min 0.3333, max 1.0, std 0.3333
    for student, n, verdict in [("ann", 1, "incorrect"), ("ann", 1, "incorrect"), ("ann", 2, "correct"),
                                ("bob", 1, "correct"), ("bob", 2, "correct")]:
        db.record(student, item(n, "4"), verdict, when=day(3, 5), course=course)
    db.record("ann", item(3, "5"), "partial", when=day(3, 6), course=course)
    db.record("ann", item(4, "5"), "incorrect", when=day(3, 6), course=course)


@pytest.fixture
def store(tmp_path):
    db = Progress(f"sqlite:///{tmp_path / 'study.sqlite3'}")
    fill(db)
    return db


def test_gaps_are_refused_and_partial_questions_by_closest_section(store):
    groups = report.gap_groups(store.questions(COURSE))
    assert [(g["section"], g["refused"], g["partial"]) for g in groups] == [
        ("4.5", 2, 1), ("6.2", 1, 0), ("", 1, 0)]                # most first; no close section last
    # examples newest first, a repeat (case, spaces) shown once
    assert groups[0]["examples"] == ["<b>Why</b> GPUs for training & cooling?", "what is kubernetes?"]
    assert report.gap_groups(store.questions(COURSE), examples=1)[0]["examples"] == [
        "<b>Why</b> GPUs for training & cooling?"]
    assert report.gap_groups([]) == []


def test_weekly_counts_fill_every_week_and_count_like_the_report(store):
    weekly = report.weekly_counts(store.questions(COURSE))
    assert weekly["weeks"] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert weekly["sections"] == {"4.5": [2, 1, 1], "6.2": [1, 0, 1]}
    assert report.weekly_counts(store.questions(COURSE), weeks=2)["sections"] == {"4.5": [1, 1], "6.2": [0, 1]}
    assert report.weekly_counts([]) == {"weeks": [], "sections": {}}
    assert report.week_of(day(3, 8)) == "2026-03-02" and report.week_of(day(3, 9, 0)) == "2026-03-09"


def test_mastery_spread_and_missed_items(store):
    attempts = store.all_attempts(COURSE)
    spread = report.mastery_spread(attempts)
    assert spread["4"] == {"students": 2, "mean": 0.6667, "min": 0.3333, "max": 1.0, "std": 0.3333}
    assert spread["5"] == {"students": 1, "mean": 0.25, "min": 0.25, "max": 0.25, "std": 0.0}
    # the spread's means are the report's mastery
    assert {c: m["mean"] for c, m in spread.items()} == {
        c: m["mean"] for c, m in report.build(store, COURSE)["mastery"].items()}
    missed = report.missed_items(attempts)
    assert [(m["item"], m["incorrect"], m["partial"], m["attempts"], m["students"]) for m in missed] == [
        (item(1, "4").id, 2, 0, 3, 2), (item(4, "5").id, 1, 0, 1, 1)]   # never-missed items are left out
    assert report.missed_items(attempts, n=1)[0]["item"] == item(1, "4").id


def handlers(tmp_path, password="s3cret pw", store=None):
    settings = load_settings(environ={}, home=tmp_path / "home", study_db=str(tmp_path / "study.sqlite3"),
                             teacher_password=password)
    bank = [QuizItem(id=item(1, "4").id, kind="short", question="What is a <DPU>?", answer="a", section="4.1",
                     title="t", chapter="4", evidence="a", language="en")]
    return TeacherHandlers(settings, sections=lambda: [], bank=lambda: bank, progress=store)


def test_password_from_the_setting_opens_the_figures(store, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher, "WRONG_PASSWORD_DELAY_S", 0)
    h = handlers(tmp_path, store=store)
    assert h.enabled and h.check("s3cret pw") and not h.check("s3cret") and not h.check(None)
    locked = h.unlock("guess", False)
    assert locked[0] is False and locked[2] == "" and "rag-error" in locked[3] and locked[4]["visible"] is False
    assert all(isinstance(x, type(gr.skip())) for x in locked[5:]) and len(locked) == 5 + len(FIGURES)
    assert all(isinstance(x, type(gr.skip())) for x in h.refresh(False))      # nothing while locked
    opened = h.unlock("s3cret pw", False)
    assert opened[0] is True and opened[1]["visible"] is False and opened[2] == "" and opened[4]["visible"] is True
    summary, gaps, busiest, heat, mastery, missed, download = opened[5:]
    assert 'data-key="teacher_questions"><div class="rag-teacher-num">6<' in summary   # the app's course only
    assert 'data-key="teacher_askers"><div class="rag-teacher-num">2<' in summary
    # student text is escaped wherever it is shown
    assert "&lt;b&gt;Why&lt;/b&gt; GPUs for training &amp; cooling?" in gaps and "<b>Why" not in gaps
    assert gaps.index('data-section="4.5"') < gaps.index('data-section="6.2"')
    frame = busiest
    assert list(frame.columns) == ["section", "outcome", "questions"]
    assert frame.groupby("section")["questions"].sum().to_dict() == {"4.5": 4, "6.2": 2}
    assert list(dict.fromkeys(frame["section"])) == ["4.5", "6.2"]             # busiest first
    assert "2026-03-02" in heat and heat.count('class="rag-heat"') == 6
    assert 'data-chapter="4"' in mastery and "67% · 33–100% · σ 33 · n=2" in mastery
    assert "What is a &lt;DPU&gt;?" in missed and "정답 · Answer: a<" in missed and f"<code>{item(4, '5').id}</code>" in missed   # id when unknown
    with open(download["value"], encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["section", "asked", "refused", "partial"], ["4.5", "4", "2", "1"],
                                            ["6.2", "2", "2", "0"]]
    store.record_question(COURSE, "One more?", "en", "answer", ["6.2"], [])
    assert 'rag-teacher-num">7<' in h.refresh(True)[0]                         # refresh reads the store again


def test_no_password_set_means_no_figures(tmp_path, store):
    h = handlers(tmp_path, password="", store=store)
    assert not h.enabled and not h.check("") and not h.check("anything")
    assert h.unlock("", False)[0] is False


def test_empty_store_shows_none_yet(tmp_path):
    h = handlers(tmp_path, store=Progress(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    summary, gaps, busiest, heat, mastery, missed, _ = h.figures()
    assert 'rag-teacher-num">0<' in summary and busiest.empty
    for part in (gaps, heat, mastery, missed):
        assert "None yet." in part


def test_the_tab_says_how_to_set_the_password_when_none_is_set(tmp_path, monkeypatch):
    from rag.web.ui import build_ui
    from tests.test_web_handlers import FakeEngine

    for key in [k for k in __import__("os").environ if k.startswith("RAG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_HOME", str(tmp_path))

    def parts(page):
        return {getattr(b, "elem_id", None): b for b in page.blocks.values()}

    off = parts(build_ui(FakeEngine()))
    assert "RAG_TEACHER_PASSWORD=" in off["rag-teacher-off"].value and "rag-teacher-password" not in off
    monkeypatch.setenv("RAG_TEACHER_PASSWORD", "pw")
    on = parts(build_ui(FakeEngine()))
    assert on["rag-teacher-password"].type == "password" and "rag-teacher-off" not in on
    assert on["rag-teacher-figures"].visible is False            # nothing shown before the password


def test_a_course_brought_in_the_teacher_tab_refreshes_the_course_picker(tmp_path, monkeypatch):
    """No reload needed: the "Bring a course" button's event is followed by the chat picker's refresh (the quiz
    follows that picker)."""
    from rag.web.ui import build_ui
    from tests.test_web_handlers import FakeEngine

    for key in [k for k in __import__("os").environ if k.startswith("RAG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    monkeypatch.setenv("RAG_TEACHER_PASSWORD", "pw")
    page = build_ui(FakeEngine())
    blocks = {getattr(b, "elem_id", None): b for b in page.blocks.values()}
    deps = page.config["dependencies"]
    bring = [d for d in deps if any(target[0] == blocks["rag-bring-go"]._id for target in d["targets"])]
    assert len(bring) == 1
    followers = [d for d in deps if d.get("trigger_after") == bring[0]["id"]]
    assert any(blocks["rag-course"]._id in d["outputs"] for d in followers)
