"""`rag quiz`: the JSON shapes scripts rely on, grading one answer, bad input, the interactive loop;
and the Quiz tab's handlers without a browser."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from rag.cli import main
from rag.config import REPO_ROOT


@pytest.fixture
def home(tmp_path, monkeypatch):
    for key in [k for k in list(__import__("os").environ) if k.startswith("RAG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_export_has_exactly_the_issue_shape(home, capsys):
    code, out, _ = run(capsys, "quiz", "--json", "--chapter", "4", "--lang", "en", "-n", "5", "--seed", "7")
    data = json.loads(out)
    assert code == 0 and list(data) == ["items"] and len(data["items"]) == 5
    for item in data["items"]:
        assert list(item) == ["id", "kind", "question", "choices", "answer", "section", "evidence", "language"]
        assert item["section"].startswith("4.") and item["language"] == "en" and item["answer"] in item["evidence"]
    assert json.loads(run(capsys, "quiz", "--json", "--chapter", "4", "--lang", "en", "-n", "5", "--seed", "7")[1]) == data


def test_grade_json_shape_and_it_is_recorded(home, capsys):
    item = json.loads(run(capsys, "quiz", "--json", "-n", "1", "--lang", "en")[1])["items"][0]
    code, out, _ = run(capsys, "quiz", "--grade", item["id"], item["answer"], "--json", "--student", "ann")
    grade = json.loads(out)
    assert code == 0 and list(grade) == ["verdict", "feedback", "section", "evidence"]
    assert grade["verdict"] == "correct" and grade["section"] == item["section"] and grade["evidence"] in grade["feedback"]
    from rag.config import load_settings
    from rag.study.progress import Progress

    assert [a.item_id for a in Progress(load_settings().study_db_path).attempts("ann")] == [item["id"]]


@pytest.mark.parametrize("answer, needle", [("", "empty"), ("a" * 10_000, "too long"), ("GPU\x07", "control")])
def test_bad_answers_exit_2_with_a_message(home, capsys, answer, needle):
    item = json.loads(run(capsys, "quiz", "--json", "-n", "1", "--lang", "en")[1])["items"][0]
    code, out, err = run(capsys, "quiz", "--grade", item["id"], answer, "--json")
    assert code == 2 and out == "" and needle in err and "Traceback" not in err


def test_unknown_item_and_chapter_exit_2(home, capsys):
    code, _, err = run(capsys, "quiz", "--grade", "en-9.9-mc-deadbeef", "x", "--json")
    assert code == 2 and "rag quiz --json" in err
    code, _, err = run(capsys, "quiz", "--json", "--chapter", "42", "--lang", "en")
    assert code == 2 and "42" in err


def test_a_real_process_prints_a_message_not_a_traceback(home):
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "quiz", "--grade", "nope", "answer"], cwd=REPO_ROOT,
                          capture_output=True, text=True, env={**__import__("os").environ, "RAG_HOME": str(home)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "nope" in proc.stderr


def test_interactive_quiz_asks_again_on_empty_input_and_records(home):
    from rag.config import load_settings
    from rag.study import quiz
    from rag.study.cli import interactive
    from rag.study.progress import open_progress

    settings = load_settings()
    args = SimpleNamespace(student="cli-test", chapter=["4"], lang="ko", n=2, seed=1, no_record=False)
    expected = quiz.next_items(open_progress(settings), "cli-test", ["4"], "ko", n=2, seed=1, settings=settings)
    answers = iter(["", expected[0].answer, "전혀 모르겠음"])
    printed: list[str] = []
    assert interactive(args, settings, read=lambda prompt: next(answers), write=printed.append) == 0
    text = "\n".join(printed)
    assert "답이 비어 있습니다" in text and "CORRECT" in text and "INCORRECT" in text
    assert f"[{expected[0].section}]" in text and "장별 숙달도" in text
    assert [a.verdict for a in open_progress(settings).attempts("cli-test")] == ["correct", "incorrect"]


def test_quiz_tab_handlers_without_a_browser(home):
    from rag.config import load_settings
    from rag.study import quiz
    from rag.web.quiz import QuizHandlers, quiz_request

    h = QuizHandlers(SimpleNamespace(), settings=load_settings())
    state = h.load(None)[0]
    assert len(state["student"]) == 32 and state["items"] == []
    state, question, *_ = h.start(["5"], "en", state)
    assert len(state["items"]) == 10 and 'data-item="' in question
    item = quiz.find(state["items"][0])
    empty = h.answer("   ", state)
    assert "empty" in empty[3] and empty[0]["answered"] is False
    state, _, _, feedback, chip, _, mastery, _ = h.answer(item.answer, state)
    assert state["answered"] and "rag-verdict-correct" in feedback and item.section in chip["value"]
    assert "Answers so far: 1." in mastery
    assert item.section in h.open_section(state) and "<mark" in h.open_section(state)
    state = h.next(state)[0]
    assert state["index"] == 1 and not state["answered"]
    other = h.load(None)[0]
    assert other["student"] != state["student"] and "아직 답한 문항이 없습니다" in h._mastery_html(other)
    assert quiz_request("Quiz me on chapter 4") == (["4"], "en")
    assert quiz_request("4장 퀴즈 내줘") == (["4"], "ko")
    assert quiz_request("quiz on chapters 4 and 5") == (["4", "5"], "en")
    assert quiz_request("What is a GPU?") is None


def test_choice_items_are_answered_by_clicking_and_graded_as_typing_the_letter(home):
    from rag.config import load_settings
    from rag.study import quiz
    from rag.web.quiz import QuizHandlers

    h = QuizHandlers(SimpleNamespace(), settings=load_settings())
    state = h.start(["4"], "en", h.load(None)[0])[0]
    items = [quiz.find(i) for i in state["items"]]
    kinds = {it.kind for it in items}
    assert "mc" in kinds and kinds - {"mc"}, kinds                  # a mix, so both views are seen
    typed = next(i for i, it in enumerate(items) if it.kind != "mc")
    view = h._view({**state, "index": typed})
    assert view[2]["visible"] is True and view[7]["visible"] is False   # a typed answer: the box, no buttons
    index = next(i for i, it in enumerate(items) if it.kind == "mc")
    item, state = items[index], {**state, "index": index}
    _, question, box, *_, choices = h._view(state)
    assert box["visible"] is False and choices["visible"] is True and choices["interactive"] is True
    letters = "ABCD"[:len(item.choices)]
    assert choices["choices"] == [(f"{x}) {c}", x) for x, c in zip(letters, item.choices)]
    assert "rag-quiz-choices" not in question                      # listed once: as the buttons
    key = letters[item.choices.index(item.answer)]
    wrong = next(x for x in letters if x != key)
    for pick, verdict in ((wrong, "incorrect"), (key, "correct")):
        # grading is unchanged: the click is graded exactly as typing its letter or the choice's text
        assert quiz.grade(item, pick).verdict == verdict
        assert quiz.grade(item, item.choices[letters.index(pick)]).verdict == verdict
    answered, *_, shown = h.answer("", state, wrong)
    assert answered["last"]["verdict"] == "incorrect" and answered["last"]["picked"] == wrong
    assert shown["value"] == wrong and shown["interactive"] is False
    answered = h.answer("", state, key)[0]
    assert answered["last"]["verdict"] == "correct"
    assert h.answer("", state, None)[3].count("rag-error") == 1     # nothing clicked: asked to answer
    assert h.answer(key, state, None)[0]["last"]["verdict"] == "correct"   # typing the letter still works
    two_way = next(it for it in quiz.bank() if it.kind == "mc" and len(it.choices) == 2)
    state = {**state, "items": [two_way.id], "index": 0, "answered": False, "last": None}
    assert [v for _, v in h._view(state)[7]["choices"]] == ["A", "B"]
    assert h.answer("", state, "A")[0]["last"]["verdict"] == quiz.grade(two_way, "A").verdict


def test_page_load_gives_the_chat_the_quiz_students_id(home):
    from rag.web.ui import Session, build_ui
    from tests.test_web_handlers import FakeEngine

    page = build_ui(FakeEngine())
    on_load = next(f.fn for f in page.fns.values() if getattr(f.fn, "__name__", "") == "on_load")
    saved = {"student": "c" * 32, "items": [], "index": 0, "answered": False, "language": "en", "chapters": [],
             "tally": {"correct": 0, "partial": 0, "incorrect": 0}, "last": None}
    chat = on_load(saved, Session())[-1]
    assert isinstance(chat, Session) and chat.student == "c" * 32    # the same anonymous id, nothing else
    fresh = on_load(None, Session())
    assert fresh[-1].student == fresh[0]["student"] and len(fresh[0]["student"]) == 32


def test_chat_hands_a_quiz_request_to_the_quiz_tab_instead_of_the_engine():
    from rag.web.ui import ChatHandlers, Session
    from tests.test_web_handlers import FakeEngine

    handlers = ChatHandlers(FakeEngine())
    chat, session, box = handlers.submit("Quiz me on chapter 4", Session())
    assert box == "" and session.pending == [] and "Chapter 4" in chat[-1]["content"] and "Quiz tab" in chat[-1]["content"]
    chat, session, box = handlers.submit("What is a GPU?", session)
    assert session.pending and session.pending[-1][0] == "What is a GPU?"
