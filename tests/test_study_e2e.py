"""The Quiz tab in a real headless browser: take a question, answer it, see the grade with its section,
reload and find the progress kept; two browsers are two students; "Quiz me on chapter 4" in the chat; the quiz
follows the course picked in the chat.

Run: `pytest -m e2e tests/test_study_e2e.py` (needs /usr/bin/chromium and `playwright`). The app runs in a
subprocess with the fake chat engine on the bundled course (the quiz reads the notes itself), a second small course
registered beside it, and a progress database in tmp_path. Screenshots go to tmp_path (STUDY_E2E_SHOTS=DIR keeps
them somewhere else).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_quiz_courses import HISTORY, write_course
from tests.test_web_e2e import CHROMIUM, REPO, _free_port, _wait_http, chromium, stop

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 60000
PASSWORD = "e2e teacher pw"
# The fake chat engine (tests/test_web_handlers.py) on the bundled course, with what the course picker needs
SERVER = """
import importlib.util, sys
from dataclasses import replace
from rag import catalog
from rag.config import load_settings
from rag.web.ui import build_ui, serve
port, fake_path = int(sys.argv[1]), sys.argv[2]
spec = importlib.util.spec_from_file_location("web_fake", fake_path)
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)

class CourseFake(mod.FakeEngine):
    def __init__(self, settings):
        super().__init__()
        self.settings = settings

    def for_course(self, course_id):
        course = catalog.find(course_id, self.settings)
        return CourseFake(replace(self.settings, notes=course.notes, index_dir=None, course=course.id))

serve(build_ui(CourseFake(load_settings())), host="127.0.0.1", port=port)
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    pytest.importorskip("playwright.sync_api")
    home = tmp_path_factory.mktemp("study-home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", RAG_HOME=str(home), RAG_STUDY_DB=str(home / "study.sqlite3"),
               RAG_TEACHER_PASSWORD=PASSWORD)
    from rag import catalog

    catalog.register(home, catalog.load_course(write_course(home / "notes", "history", HISTORY)))
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(Path(__file__).with_name("test_web_handlers.py"))],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc, 180)
        yield {"url": url, "db": home / "study.sqlite3", "home": home}
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser(app):
    yield from chromium()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("STUDY_E2E_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _quiz_tab(page):
    page.get_by_role("tab", name=re.compile("Quiz")).click()
    page.locator("#rag-quiz-mastery .rag-mastery").wait_for(timeout=TIMEOUT_MS)


def _attempts_text(page) -> str:
    return page.locator("#rag-quiz-mastery .rag-attempts").inner_text()


def _start(page, chapter: str, language: str):
    page.locator("#rag-quiz-language label", has_text="English" if language == "en" else "한국어").click()
    page.locator(f"#rag-quiz-chapters input[name='{chapter}']").check()
    page.locator("#rag-quiz-start").click()
    page.locator("#rag-quiz-question .rag-quiz-question").wait_for(timeout=TIMEOUT_MS)


def _correct_answer(page) -> tuple[str, object]:
    """The current item's key, found the way a script would: `quiz.find(id)` on the same notes."""
    from rag.study import quiz

    item_id = page.locator("#rag-quiz-question .rag-quiz-question").get_attribute("data-item")
    item = quiz.find(item_id)
    return item.answer, item


def _answer(page, text: str, item=None):
    """Type the answer; a choice item's is clicked instead: the choice ``text`` names, else (a wrong answer) the
    first choice that is not the key. ``item``: the current item (default: found in the bundled notes)."""
    choices = page.locator("#rag-quiz-choices")
    if choices.is_visible():
        item = item or _correct_answer(page)[1]
        index = item.choices.index(text) if text in item.choices else next(
            i for i, c in enumerate(item.choices) if c != item.answer)
        choices.locator("label").nth(index).click()
    else:
        page.locator("#rag-quiz-answer textarea").fill(text)
    page.locator("#rag-quiz-check").click()
    page.locator("#rag-quiz-feedback .rag-quiz-feedback").wait_for(timeout=TIMEOUT_MS)


def test_answer_see_cited_feedback_reload_and_progress_is_kept(app, browser, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app["url"])
    _quiz_tab(page)
    assert "No answers yet" in _attempts_text(page) or "아직" in _attempts_text(page)
    _start(page, "4", "en")
    answer, item = _correct_answer(page)
    assert item.chapter == "4" and item.language == "en"
    _answer(page, answer)
    feedback = page.locator("#rag-quiz-feedback").inner_text()
    assert "Correct" in feedback and f"[{item.section}]" in feedback
    chip = page.locator("#rag-quiz-chip")
    assert item.section in chip.inner_text()
    chip.click()
    view = page.locator("#rag-quiz-section .rag-section")
    view.wait_for(timeout=TIMEOUT_MS)
    assert view.locator(".rag-col[lang=ko]").is_visible() and view.locator(".rag-col[lang=en]").is_visible()
    assert "1" in _attempts_text(page)
    page.screenshot(path=str(shots / "quiz_feedback.png"), full_page=True)

    page.reload()
    _quiz_tab(page)
    assert re.search(r"Answers so far: 1\b|1문항", _attempts_text(page))
    # the quiz in progress came back with the page: the answered question and its grade
    assert page.locator("#rag-quiz-question .rag-quiz-question").get_attribute("data-item") == item.id
    assert "Correct" in page.locator("#rag-quiz-feedback").inner_text()
    assert page.locator("#rag-quiz-chapters input[name='4']").is_checked()
    assert page.locator("#rag-quiz-language label", has_text="English").locator("input").is_checked()
    bar = page.locator('#rag-quiz-mastery .rag-mastery-row[data-chapter="4"] .rag-mastery-bar')
    assert float(re.search(r"width:\s*([\d.]+)%", bar.get_attribute("style")).group(1)) > 0
    page.locator("#rag-quiz-next").click()
    page.wait_for_function(
        f"() => document.querySelector('#rag-quiz-question .rag-quiz-question')?.dataset.item !== '{item.id}'",
        timeout=TIMEOUT_MS)
    page.screenshot(path=str(shots / "quiz_after_reload.png"), full_page=True)
    page.close()


def test_two_browsers_are_two_students(app, browser):
    first = browser.new_context(viewport={"width": 1100, "height": 900})
    second = browser.new_context(viewport={"width": 1100, "height": 900})
    a, b = first.new_page(), second.new_page()
    for page in (a, b):
        page.goto(app["url"])
        _quiz_tab(page)
    before_a = _attempts_text(a)
    assert "No answers yet" in _attempts_text(b) or "아직" in _attempts_text(b)
    _start(b, "6", "ko")
    _answer(b, "전혀 관계없는 답")
    assert "1" in _attempts_text(b)
    a.reload()
    _quiz_tab(a)
    assert _attempts_text(a) == before_a            # b's answer did not land in a's progress
    import sqlite3

    with sqlite3.connect(app["db"]) as db:
        students = db.execute("SELECT count(DISTINCT student) FROM attempts").fetchone()[0]
    assert students >= 2
    first.close()
    second.close()


def test_quiz_me_on_chapter_4_in_the_chat(app, browser, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app["url"])
    page.locator("#rag-input textarea").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator("#rag-input textarea").fill("Quiz me on chapter 4")
    page.locator("#rag-input textarea").press("Enter")
    question = page.locator("#rag-quiz-question .rag-quiz-question")
    question.wait_for(state="visible", timeout=TIMEOUT_MS)
    _, item = _correct_answer(page)
    assert item.chapter == "4" and item.language == "en"
    assert page.locator("#rag-quiz-chapters input[name='4']").is_checked()
    page.get_by_role("tab", name=re.compile("Chat")).click()
    assert "Quiz tab" in page.locator("#rag-chat").inner_text()           # the chat did not answer it itself
    page.screenshot(path=str(shots / "quiz_from_chat.png"), full_page=True)
    page.close()


def test_the_quiz_follows_the_course_picked_in_the_chat(app, browser, shots):
    """A quiz on the app's course, then History picked in the chat: the quiz area says the quiz was reset, offers
    History's chapters, and the quiz started there asks History's items, recorded under its course id."""
    import sqlite3

    from rag.config import load_settings
    from rag.study import quiz

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app["url"])
    _quiz_tab(page)
    _start(page, "4", "en")
    page.get_by_role("tab", name=re.compile("Chat")).click()
    page.locator("#rag-course input").click()
    page.get_by_role("option", name="History").click()
    _quiz_tab(page)
    notice = page.locator("#rag-quiz-question .rag-quiz-switched")
    notice.wait_for(timeout=TIMEOUT_MS)
    assert "History" in notice.inner_text() and "reset" in notice.inner_text()
    assert "History" in page.locator("#rag-quiz-course").inner_text()
    assert page.locator("#rag-quiz-chapters input").count() == 2       # History's chapters 7 and 8, not 1-6
    _start(page, "7", "en")
    item_id = page.locator("#rag-quiz-question .rag-quiz-question").get_attribute("data-item")
    item = quiz.find(item_id, load_settings(environ={"RAG_HOME": str(app["home"])}, course="history"))
    assert item.doc == "history" and item.chapter == "7"
    _answer(page, item.answer, item)
    assert page.locator("#rag-quiz-feedback .rag-quiz-verdict").get_attribute("data-verdict") == "correct"
    page.screenshot(path=str(shots / "quiz_course.png"), full_page=True)
    with sqlite3.connect(app["db"]) as db:
        assert db.execute("SELECT course FROM attempts WHERE item_id=?", (item_id,)).fetchall() == [("history",)]
    page.reload()   # the quiz comes back on History, and the chat's picker with it
    _quiz_tab(page)
    page.wait_for_function("() => document.querySelector('#rag-quiz-course')?.innerText.includes('History')",
                           timeout=TIMEOUT_MS)
    assert page.locator("#rag-quiz-question .rag-quiz-question").get_attribute("data-item") == item_id
    assert page.locator("#rag-course input").input_value() == "History"
    page.close()


def _choice_item(page):
    """Move through the quiz to its first choice item (answering typed items with a wrong answer)."""
    for _ in range(10):
        if page.locator("#rag-quiz-choices").is_visible():
            return _correct_answer(page)[1]
        before = page.locator("#rag-quiz-question .rag-quiz-question").get_attribute("data-item")
        _answer(page, "모르겠음")
        page.locator("#rag-quiz-next").click()
        page.wait_for_function(
            f"() => document.querySelector('#rag-quiz-question .rag-quiz-question')?.dataset.item !== '{before}'",
            timeout=TIMEOUT_MS)
    pytest.fail("no choice item in ten questions")


def test_a_choice_is_clicked_and_the_teacher_sees_the_class(app, browser, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app["url"])
    _quiz_tab(page)
    _start(page, "4", "en")
    item = _choice_item(page)
    assert not page.locator("#rag-quiz-answer").is_visible()          # a choice item: buttons, no text box
    labels = page.locator("#rag-quiz-choices label")
    assert labels.count() == len(item.choices) and labels.nth(0).inner_text().startswith("A) ")
    labels.nth(item.choices.index(item.answer)).click()
    page.locator("#rag-quiz-check").click()
    page.locator("#rag-quiz-feedback .rag-quiz-feedback").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#rag-quiz-feedback .rag-quiz-verdict").get_attribute("data-verdict") == "correct"
    page.screenshot(path=str(shots / "quiz_choice_clicked.png"), full_page=True)

    page.get_by_role("tab", name=re.compile("Teacher")).click()
    secret = page.locator("#rag-teacher-password input")
    secret.fill("not it")
    page.locator("#rag-teacher-open").click()
    page.locator("#rag-teacher-message .rag-error").wait_for(timeout=TIMEOUT_MS)
    assert not page.locator("#rag-teacher-summary").is_visible()
    secret.fill(PASSWORD)
    secret.press("Enter")
    cards = page.locator("#rag-teacher-summary .rag-teacher-cards")
    cards.wait_for(timeout=TIMEOUT_MS)
    answers = page.locator('#rag-teacher-summary [data-key="teacher_quiz_answers"] .rag-teacher-num')
    assert int(answers.inner_text()) >= 1
    assert not page.locator("#rag-teacher-password").is_visible()
    assert "Quiz mastery by chapter" in page.locator("#rag-teacher-mastery").inner_text()
    assert page.locator('#rag-teacher-mastery [data-chapter="4"]').count() == 1
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.locator("#rag-teacher-csv").click()
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("section,asked,refused,partial")
    page.screenshot(path=str(shots / "teacher.png"), full_page=True)
    page.close()


def test_the_teacher_brings_a_course_as_pdf(app, browser, shots, tmp_path):
    """Teacher tab > Bring a course: a PDF and a scanned one uploaded, the course indexed and registered, the
    scanned file listed as skipped with the reason."""
    from rag import catalog
    from tests.document_fixtures import make_pdf

    good = make_pdf(tmp_path / "lecture3.pdf", [["1. GPUs", "1.1 What a GPU is", "A GPU runs many small cores."],
                                                ["2. Clusters", "2.1 NVLink", "NVLink connects GPUs in a server."]])
    scan = make_pdf(tmp_path / "scan.pdf", [[]])
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app["url"])
    page.get_by_role("tab", name=re.compile("Teacher")).click()
    page.locator("#rag-teacher-password input").fill(PASSWORD)
    page.locator("#rag-teacher-open").click()
    page.locator("#rag-teacher-summary .rag-teacher-cards").wait_for(timeout=TIMEOUT_MS)
    page.locator("#rag-bring").get_by_text(re.compile("Bring a course")).first.click()
    page.locator("#rag-bring-files input[type=file]").set_input_files([str(good), str(scan)])
    page.locator("#rag-bring-title textarea, #rag-bring-title input").first.fill("GPU Week 3")
    page.locator("#rag-bring-go").click()
    result = page.locator("#rag-bring-result")
    result.wait_for(timeout=180000)   # the build loads the e5 model in this fresh home
    text = result.inner_text()
    assert "is ready" in text and "scan.pdf: looks like a scanned PDF" in text, text
    assert catalog.registered(app["home"])["gpu-week-3"].endswith("courses/gpu-week-3")
    assert (app["home"] / "courses" / "gpu-week-3" / "lecture3.pdf").is_file()
    page.screenshot(path=str(shots / "teacher_bring.png"), full_page=True)
    # the chat's course picker lists the new course at once, no reload
    page.get_by_role("tab", name=re.compile("Chat")).click()
    picker = page.locator("#rag-course input")
    picker.wait_for(timeout=TIMEOUT_MS)
    picker.click()
    page.get_by_role("option", name=re.compile("GPU Week 3")).wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(shots / "teacher_bring_picker.png"))
    page.close()
