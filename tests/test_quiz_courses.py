"""The Quiz tab follows the course picked in the chat: its items, chapters, mastery and recorded attempts are
that course's; switching course resets the quiz in progress. Handlers called directly, two small courses."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gradio")

from rag import catalog  # noqa: E402
from rag.config import load_settings  # noqa: E402

NOTES = """---
doc: {doc}
language: en
title: {doc} notes
---

{body}
"""
ECON = """## 1. Choices

### 1.1 Costs

- Opportunity cost : the value of the next best alternative given up.
- Sunk cost : a cost already paid that cannot be recovered.
- Marginal cost : the cost of producing one more unit.
- Fixed cost : a cost that does not change with output.
"""
HISTORY = """## 7. Printing

### 7.1 The press

- Printing press : a machine Gutenberg built around 1450 in Mainz.
- Movable type : metal letters that are set and reused for each page.
- Incunabula : books printed in Europe before 1501.
- Woodcut : a picture cut into a wooden block and printed from it.

## 8. Exploration

### 8.1 Voyages

- Caravel : a small fast ship the Portuguese sailed along Africa.
- Astrolabe : an instrument that measures the height of the sun and stars.
"""


def write_course(root: Path, name: str, body: str) -> Path:
    """A course folder of English-only notes and a course.toml titled after it."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.en.md").write_text(NOTES.format(doc=name, body=body), encoding="utf-8")
    (folder / "course.toml").write_text(f'title = "{name.title()}"\n', encoding="utf-8")
    return folder


@pytest.fixture
def two_courses(tmp_path):
    """(chat handlers, quiz handlers) of an app on "econ" with "history" registered beside it."""
    from rag.engine import Engine
    from rag.web.quiz import QuizHandlers
    from rag.web.ui import ChatHandlers
    from tests.conftest import FakeEmbedder

    home = tmp_path / "home"
    econ = write_course(tmp_path, "econ", ECON)
    catalog.register(home, catalog.load_course(write_course(tmp_path, "history", HISTORY)))
    settings = load_settings(environ={}, home=home, notes=[econ], generator="extractive")
    chat = ChatHandlers(Engine(settings, embedder=FakeEmbedder()))
    return chat, QuizHandlers(chat.engine, chat=chat)


def test_after_picking_course_b_the_quiz_chapters_items_and_attempts_are_b_s(two_courses):
    from rag.study.progress import open_progress
    from rag.web.ui import Session

    chat, h = two_courses
    state = h.load(None)[0]
    assert state["course"] == "" and h.chapter_choices() == [("1. Choices", "1")]
    state = h.start([], "en", state, "econ")[0]
    item = h.course("econ").find(state["items"][0])
    assert item.doc == "econ"
    state = h.answer(item.answer, state)[0]
    assert state["answered"]                                        # a quiz on econ, half done

    state, question, *_, mastery, _, chapters, course = h.pick_course("history", state)
    assert state["course"] == "history" and state["items"] == [] and state["tally"]["correct"] == 0
    assert "History" in question and "was reset" in question       # the quiz area says the quiz ended
    assert chapters["choices"] == [("7. Printing", "7"), ("8. Exploration", "8")] and chapters["value"] == []
    assert "History" in course and "No answers yet" in mastery      # progress is per course
    assert 'data-chapter="7"' in mastery and 'data-chapter="1"' not in mastery
    # the chat's engine over the course: built once, its models shared
    assert h.course("history").settings is chat.engine_for(Session(course="history")).settings

    state, question, *_ = h.start(["7"], "en", state, "history")
    items = [h.course("history").find(i) for i in state["items"]]
    assert items and {(it.doc, it.chapter, it.language) for it in items} == {("history", "7", "en")}
    assert f'data-item="{items[0].id}"' in question
    state, _, _, feedback, *_, mastery, _ = h.answer(items[0].answer, state)
    assert "rag-verdict-correct" in feedback and "Answers so far: 1." in mastery
    progress = open_progress(h.settings)
    assert [a.item_id for a in progress.all_attempts(course="history")] == [items[0].id]
    assert [a.course for a in progress.attempts(state["student"])] == ["econ", "history"]

    # the language choice still picks the items: English-only notes give Korean choice items too
    korean = [h.course("history").find(i) for i in h.start([], "ko", state, "history")[0]["items"]]
    assert korean and all(it.language == "ko" and it.kind == "mc" and it.doc == "history" for it in korean)

    # back on econ: its own chapters and its one attempt; the Teacher tab stays on the app's course
    state, question, *_, mastery, _, chapters, _ = h.pick_course("econ", state)
    assert state["course"] == "" and chapters["choices"] == [("1. Choices", "1")]
    assert "was reset" in question and "Answers so far: 1." in mastery
    assert {it.doc for it in h.full_bank()} == {"econ"}


def test_picking_the_same_course_again_keeps_the_quiz_and_a_chat_quiz_request_uses_the_chat_s_course(two_courses):
    from rag.web.ui import Session

    _, h = two_courses
    state = h.pick_course("history", h.load(None)[0])[0]
    state = h.start(["8"], "en", state)[0]
    kept, question, *_ = h.pick_course("history", state)            # a page reload restoring the picker
    assert kept["items"] == state["items"] and "was reset" not in question
    assert h.load(kept)[0]["items"] == state["items"]                # the quiz comes back with the page
    chat_session = Session(course="history")
    tabs, view_state, *_, chapters, language, course = h.chat_intent("Quiz me on chapter 7", h.load(None)[0],
                                                                    chat_session)
    assert view_state["course"] == "history" and language["value"] == "en" and chapters["value"] == ["7"]
    assert {h.course("history").find(i).chapter for i in view_state["items"]} == {"7"}
    gone = {**state, "course": "no-such-course"}                      # a course no longer offered
    assert h.load(gone)[0]["course"] == "" and h.load(gone)[0]["items"] == []
