"""The Quiz tab: pick chapters and a language, answer, see the grade with the cited line, watch mastery grow.

Each browser is a student: a random id kept in the browser's localStorage (``gr.BrowserState``) together
with the quiz in progress, so closing the browser and coming back continues where it stopped; attempts
and spaced-repetition boxes live in the study store of ``RAG_STUDY_DB`` (``rag.study.progress``).
``QuizHandlers`` holds the logic and is called directly by tests; ``add_quiz_tab`` only wires it.
"""
from __future__ import annotations

import html
import logging
import re
import secrets
import threading
import uuid
from functools import cached_property

import gradio as gr

from ..errors import RagError
from ..text.language import detect_language
from ..text.tokenize import normalise
from ..types import Citation
from . import render

log = logging.getLogger(__name__)

QUIZ_LENGTH = 10
STORAGE_KEY = "course-rag-quiz"
_VERDICT_STYLE = {"correct": "#1b7f3b", "partial": "#a36a00", "incorrect": "#b42318"}
_LABELS = {
    "ko": {"correct": "정답", "partial": "부분 정답", "incorrect": "오답", "pick": "장을 고르고 퀴즈를 시작하세요.",
           "answer": "답", "check": "채점", "next": "다음 문항", "start": "퀴즈 시작", "chapters": "장 (비우면 전체)",
           "language": "언어", "open": "노트에서 보기", "course": "강의",
           "course_hint": "채팅 탭의 강의 선택에서 바꿀 수 있습니다",
           "switched": "강의가 「{title}」(으)로 바뀌었습니다.",
           "reset": "진행 중이던 퀴즈는 초기화되었습니다 (진도는 강의별로 남아 있습니다)."},
    "en": {"correct": "Correct", "partial": "Partly correct", "incorrect": "Incorrect",
           "pick": "Pick chapters and start a quiz.", "answer": "Answer", "check": "Check", "next": "Next question",
           "start": "Start quiz", "chapters": "Chapters (none = all)", "language": "Language",
           "open": "Open in the notes", "course": "Course", "course_hint": "change it in the Chat tab's course picker",
           "switched": "The course is now “{title}”.",
           "reset": "The quiz in progress was reset (progress is kept per course)."},
}
# "Quiz me on chapter 4", "quiz on chapters 4 and 5", "4장 퀴즈", "4장 문제 내줘", "퀴즈: 4장"
_QUIZ_WORD = re.compile(r"\bquiz\b|\btest me\b|퀴즈|문제\s*(?:내|풀)|시험", re.IGNORECASE)
_CHAPTER_EN = re.compile(r"\bch(?:apter|\.)?s?\s*((?:\d{1,2}\s*(?:,|and|&)?\s*)+)", re.IGNORECASE)
_CHAPTER_KO = re.compile(r"(\d{1,2})\s*장")


def quiz_request(message: str) -> tuple[list[str], str] | None:
    """(chapters, language) when a chat message asks for a quiz, else None. [] chapters = all."""
    text = normalise(message or "")
    if not _QUIZ_WORD.search(text) or len(text) > 120:
        return None
    chapters = _CHAPTER_KO.findall(text)
    for group in _CHAPTER_EN.findall(text):
        chapters += re.findall(r"\d{1,2}", group)
    return sorted(set(chapters), key=int), detect_language(text)


def quiz_note(message: str) -> str:
    """What the chat shows for a quiz request (the Quiz tab starts the quiz); "" for any other message."""
    request = quiz_request(message)
    if request is None:
        return ""
    from ..study.generate import text

    chapters, language = request
    which = ", ".join(text("ui_chapter", language, chapter=c) for c in chapters) or "1-6"
    return f'<div class="rag-answer rag-quiz-note"><p>{html.escape(text("ui_chat_note", language, chapters=which))}</p></div>'


def _labels(language: str) -> dict:
    return _LABELS.get(language, _LABELS["en"])


def new_state() -> dict:
    """What the browser keeps: who the student is and the quiz in progress (item ids, not items)."""
    return {"student": "", "items": [], "index": 0, "answered": False, "language": "ko", "chapters": [],
            "tally": {"correct": 0, "partial": 0, "incorrect": 0}, "last": None, "course": ""}


class CourseQuiz:
    """One course's side of the quiz: its settings (those of the chat's engine over it), notes, bank and the
    course id its attempts are recorded under."""

    def __init__(self, settings):
        self.settings = settings

    @cached_property
    def sections(self):
        from ..ingest.loaders import load_notes

        return load_notes(self.settings.notes).sections

    @cached_property
    def id(self) -> str:
        from ..study.progress import course_id

        return course_id(self.settings)

    @cached_property
    def title(self) -> str:
        from ..catalog import current

        try:
            return current(self.settings).title
        except RagError:
            return self.id

    def bank(self, include_dropped: bool = False):
        from ..study import quiz

        return quiz.bank(self.settings, self.sections, include_dropped=include_dropped)

    def find(self, item_id: str):
        from ..study import quiz

        return quiz.find(item_id, self.settings, self.sections)

    def chapter_choices(self) -> list[tuple[str, str]]:
        """(label, chapter) in the notes' order, the Korean title where the notes have one (a course in one
        language has its chapters all the same)."""
        seen: dict[str, str] = {}
        for s in self.sections:
            if s.chapter not in seen or (s.language == "ko" and s.chapter_title):
                seen[s.chapter] = f"{s.chapter}. {s.chapter_title}" if s.chapter_title else s.chapter
        return [(label, chapter) for chapter, label in seen.items()]


class QuizHandlers:
    """Event handlers of the Quiz tab. Every one takes and returns the browser-kept ``state`` dict.

    The quiz is on the course the student picked in the chat (``state["course"]``, "" = the app's own): ``chat``,
    the chat's ``ChatHandlers``, gives the engine over it (built once, its models shared), whose settings name its
    notes. Without ``chat`` every quiz is on the app's own course."""

    def __init__(self, engine, settings=None, chat=None):
        from ..config import load_settings

        self.engine = engine
        self.settings = settings or getattr(engine, "settings", None) or load_settings()
        self.chat = chat
        self._lock = threading.Lock()
        self._courses: dict[str, CourseQuiz] = {}
        self._courses_lock = threading.Lock()

    # -- what the tab needs, loaded on first use (the chat must not wait for it) ----------------------
    @cached_property
    def own(self) -> CourseQuiz:
        """The app's own course (the Teacher tab's)."""
        return CourseQuiz(self.settings)

    @property
    def sections(self):
        return self.own.sections

    def course(self, course: str | None = "") -> CourseQuiz:
        """The quiz side of course ``course`` (an id; "" or None: the app's own)."""
        key = self._key(course)
        if not key:
            return self.own
        with self._courses_lock:
            if key not in self._courses:
                self._courses[key] = CourseQuiz(self.chat.course_engine(key).settings)
            return self._courses[key]

    def _key(self, course) -> str:
        """What the state keeps for a course: "" for the app's own, else its id."""
        return "" if not course or self.chat is None or course == self.own.id else str(course)

    def bank(self, course: str = ""):
        return self.course(course).bank()

    def full_bank(self):
        """Every item, those left out of quizzes too (old attempts may name them): the Teacher tab's lookup."""
        return self.own.bank(include_dropped=True)

    def progress(self):
        from ..study.progress import open_progress

        return open_progress(self.settings)

    def chapter_choices(self, course: str = "") -> list[tuple[str, str]]:
        return self.course(course).chapter_choices()

    def _item(self, item_id: str, course: str = ""):
        return self.course(course).find(item_id)

    # -- events ---------------------------------------------------------------------------------------
    def load(self, state) -> tuple:
        """Page (re)load: make sure the browser has a student id; show the quiz it left unfinished."""
        state = self._ensure(state)
        if state["course"] and state["course"] not in {c for _, c in (self.chat.courses() if self.chat else [])}:
            state, _ = self._switched(state, "")   # a course no longer offered: back to the app's own
        return self._view(state)

    def start(self, chapters, language, state, course=None) -> tuple:
        """A new quiz; ``course``: the course picked in the chat (None: the one the state is on)."""
        from ..study import quiz

        state = self._ensure(state)
        if course is not None and self._key(course) != state["course"]:
            state, _ = self._switched(state, course)
        language = language if language in ("ko", "en") else "ko"
        chapters = [str(c) for c in (chapters or [])]
        try:
            on = self.course(state["course"])
            items = quiz.next_items(self.progress(), state["student"], chapters or None, language, n=QUIZ_LENGTH,
                                    settings=on.settings, sections=on.sections)
        except RagError as exc:
            return self._view(state, error=str(exc))
        state.update(items=[it.id for it in items], index=0, answered=False, language=language, chapters=chapters,
                     tally={"correct": 0, "partial": 0, "incorrect": 0}, last=None)
        return self._view(state)

    def answer(self, text, state, choice=None) -> tuple:
        """Grade the answer: for a choice item the clicked choice (its letter, which the grader reads as typing
        "B" would be read), else the typed text."""
        from ..study import quiz
        from ..study.grade import AnswerError

        state = self._ensure(state)
        if not state["items"] or state["index"] >= len(state["items"]) or state["answered"]:
            return self._view(state)
        picked = ""
        try:
            on = self.course(state["course"])
            item = on.find(state["items"][state["index"]])
            picked = choice if _is_choice(item) and choice in tuple(_LETTERS[:len(item.choices)]) else ""
            grade = quiz.grade(item, picked or text, on.settings, sections=on.sections)
            course = on.id
        except AnswerError as exc:   # empty, too long, control characters: say so, keep the question
            return self._view(state, error=str(exc), keep_answer=True)
        except RagError as exc:
            return self._view(state, error=str(exc))
        with self._lock:
            self.progress().record(state["student"], item, grade.verdict, course=course)
        state = {**state, "answered": True, "tally": {**state["tally"], grade.verdict: state["tally"][grade.verdict] + 1},
                 "last": {"verdict": grade.verdict, "feedback": grade.feedback, "section": grade.section,
                          "evidence": grade.evidence, "language": grade.language, "item": item.id,
                          "picked": picked}}
        return self._view(state)

    def next(self, state) -> tuple:
        state = self._ensure(state)
        if state["items"] and state["answered"]:
            state = {**state, "index": state["index"] + 1, "answered": False, "last": None}
        return self._view(state)

    def pick_course(self, course, state) -> tuple:
        """The chat's course picker changed: the quiz follows it. Another course ends the quiz in progress (the
        quiz area says so) and offers its chapters; its progress is its own. Returns the view, the chapters and
        the course line."""
        state = self._ensure(state)
        if self._key(course) == state["course"]:   # the page restoring the picker: the quiz goes on
            return (*self._view(state), gr.update(choices=self._chapters(state), value=state["chapters"]),
                    self.course_html(state))
        state, had_quiz = self._switched(state, course)
        lab = _labels(state["language"])
        notice = lab["switched"].format(title=self._title(state)) + ((" " + lab["reset"]) if had_quiz else "")
        return (*self._view(state, notice=notice), gr.update(choices=self._chapters(state), value=[]),
                self.course_html(state))

    def _switched(self, state, course) -> tuple[dict, bool]:
        """(the state on ``course``, no quiz in it; whether a quiz was in progress)."""
        had_quiz = bool(state["items"]) and state["index"] < len(state["items"])
        return {**state, "items": [], "index": 0, "answered": False, "chapters": [], "last": None,
                "tally": {"correct": 0, "partial": 0, "incorrect": 0}, "course": self._key(course)}, had_quiz

    def _chapters(self, state) -> list[tuple[str, str]]:
        try:
            return self.chapter_choices(state["course"])
        except RagError:
            return []

    def _title(self, state) -> str:
        try:
            return self.course(state["course"]).title
        except RagError:
            return state["course"]

    def course_html(self, state) -> str:
        """The line over the quiz naming its course (only when the chat offers more than one)."""
        if self.chat is None or len(self.chat.courses()) < 2:
            return ""
        lab = _labels((state or {}).get("language", "ko"))
        return (f'<div class="rag-quiz-course"><strong>{html.escape(lab["course"])}:</strong> '
                f'<span class="rag-quiz-course-title">{html.escape(self._title(self._ensure(state)))}</span> '
                f'<span style="opacity:0.7">· {html.escape(lab["course_hint"])}</span></div>')

    def open_section(self, state) -> str:
        """The section of the last graded answer, both languages, its evidence line highlighted."""
        last = (state or {}).get("last") if isinstance(state, dict) else None
        if not last:
            return ""
        on = self.course(state.get("course"))
        item = on.find(last["item"])
        view = {}
        for lang in ("ko", "en"):
            found = next((s for s in on.sections if s.doc == item.doc and s.section == item.section
                          and s.language == lang), None)
            view[lang] = {"title": found.title, "text": found.text} if found else None
        title = item.title_alt if last["language"] != item.language and item.title_alt else item.title
        quote = last["evidence"].split(": ", 1)[-1] if item.kind == "mc" and " — " in last["evidence"] else last["evidence"]
        return render.render_section(view, Citation(item.doc, item.section, title, quote, 1.0), last["language"])

    def chat_intent(self, message, state, chat_session=None) -> tuple:
        """A chat message like "Quiz me on chapter 4": switch to the Quiz tab and start that quiz.

        The chat empties its textbox as it takes the question, so the message is read back from the chat
        session (its last user turn) when the textbox value arrives empty."""
        if not (message or "").strip() and chat_session is not None:
            message = _last_user_message(chat_session)
        request = quiz_request(message)
        if request is None:
            return (gr.skip(),) * 12   # the tabs, the eight parts of the view, chapters, language, course line
        chapters, language = request
        # on the course the chat is on (the picker's change has normally switched the quiz to it already)
        view = self.start(chapters, language, state, getattr(chat_session, "course", None))
        return (gr.Tabs(selected="quiz"), *view, gr.update(choices=self._chapters(view[0]), value=chapters),
                gr.update(value=language), self.course_html(view[0]))

    # -- rendering ------------------------------------------------------------------------------------
    def _ensure(self, state) -> dict:
        if isinstance(state, dict) and state.get("student"):
            return {**new_state(), **state}
        return {**new_state(), "student": uuid.uuid4().hex}

    def _view(self, state, error: str = "", keep_answer: bool = False, notice: str = "") -> tuple:
        """(state, question html, answer box, feedback html, section chip, section view, mastery html,
        choices): a choice item is answered by clicking one of its choices, any other by typing. ``notice``:
        a line over an empty quiz (the course changed)."""
        lab = _labels(state.get("language", "ko"))
        question, chip, item = "", gr.update(visible=False), None
        items, index = state.get("items") or [], state.get("index", 0)
        if items and index < len(items):
            try:
                item = self._item(items[index], state.get("course"))
                question = _question_html(item, index, len(items), listed=not _is_choice(item))
            except RagError as exc:   # the notes changed under a stored quiz: start again
                state = {**state, "items": [], "index": 0}
                error = error or str(exc)
        elif items:
            from ..study.generate import text

            tally = state["tally"]
            question = (f'<div class="rag-quiz-done">{html.escape(text("ui_done", state["language"], n=len(items), correct=tally["correct"], partial=tally["partial"]))}</div>')
        else:
            question = f'<div class="rag-quiz-empty">{html.escape(lab["pick"])}</div>'
            if notice:
                question = f'<div class="rag-quiz-switched" style="font-weight:600">{html.escape(notice)}</div>' + question
        feedback = ""
        last = state.get("last")
        if last:
            color = _VERDICT_STYLE[last["verdict"]]
            verdict = _labels(last["language"])[last["verdict"]]   # the feedback opens with it in words
            feedback = (f'<div class="rag-quiz-feedback rag-verdict-{last["verdict"]}" '
                        f'style="border-left:4px solid {color};padding:8px 12px">'
                        f'<span class="rag-quiz-verdict" data-verdict="{last["verdict"]}" title="{html.escape(verdict)}">'
                        f'{html.escape(last["feedback"])}</span></div>')
            chip = gr.update(visible=True, value=f'[{last["section"]}] {_labels(last["language"])["open"]}')
        if error:
            feedback = render.render_error(error) + feedback
        clickable = item is not None and _is_choice(item)
        box = gr.skip() if keep_answer else gr.update(value="", interactive=item is not None, visible=not clickable)
        choices = gr.skip() if keep_answer else _choices_update(item if clickable else None, state)
        mastery = self._mastery_html(state)
        return (state, question, box, feedback, chip, "", mastery, choices)

    def _mastery_html(self, state) -> str:
        from ..study.generate import text

        language = state.get("language", "ko")
        try:
            on = self.course(state.get("course"))
            progress = self.progress()
            levels = progress.mastery(state["student"], on.bank(), language)
            # this course's attempts (those kept before attempts named their course: the app's own course's)
            attempts = [a for a in progress.attempts(state["student"])
                        if a.course == on.id or (not a.course and on is self.own)]
        except RagError as exc:
            return render.render_error(str(exc))
        counts: dict[str, int] = {}
        for a in attempts:
            counts[a.chapter] = counts.get(a.chapter, 0) + 1
        rows = []
        for chapter, level in levels.items():
            label = html.escape(text("ui_chapter", language, chapter=chapter))
            rows.append(
                f'<div class="rag-mastery-row" data-chapter="{html.escape(chapter)}" style="display:flex;gap:8px;'
                f'align-items:center;margin:2px 0"><span style="width:5em">{label}</span>'
                f'<div style="flex:1;background:#e5e7eb;border-radius:4px;height:12px">'
                f'<div class="rag-mastery-bar" style="width:{level * 100:.1f}%;min-width:{2 if level else 0}px;'
                f'background:#2563eb;height:12px;border-radius:4px"></div></div>'
                f'<span style="width:9em;font-size:0.9em">{level:.0%} · '
                f'{html.escape(text("ui_answered", language, n=counts.get(chapter, 0)))}</span></div>')
        total = len(attempts)
        summary = text("ui_attempts", language, n=total) if total else text("ui_no_attempts", language)
        return (f'<div class="rag-mastery"><div style="font-weight:600">{html.escape(text("ui_mastery", language))}'
                f'</div>{"".join(rows)}<div class="rag-attempts">{html.escape(summary)}</div></div>')


def _last_user_message(chat_session) -> str:
    for turn in reversed(getattr(chat_session, "display", None) or []):
        if isinstance(turn, dict) and turn.get("role") == "user":
            return html.unescape(re.sub(r"<[^>]+>", " ", str(turn.get("content", "")))).strip()
    return ""


_LETTERS = "ABCD"


def _is_choice(item) -> bool:
    """Multiple choice and two-way ("CPU or GPU?") items: one of the choices is the answer (order items list
    their stages too, but are answered by typing an order)."""
    return item.kind == "mc" and bool(item.choices)


def _choices_update(item, state) -> dict:
    """The clickable choices of a choice item (value: the letter the grader reads), hidden for other items; after
    the answer they stay, the pick shown and no longer clickable."""
    if item is None:
        return gr.update(choices=[], value=None, visible=False)
    last = state.get("last") or {}
    answered = bool(state.get("answered"))
    return gr.update(choices=[(f"{_LETTERS[i]}) {c}", _LETTERS[i]) for i, c in enumerate(item.choices)],
                     value=(last.get("picked") or None) if answered else None, visible=True, interactive=not answered)


def _question_html(item, index: int, total: int, listed: bool = True) -> str:
    """The question; ``listed``: its choices under it (a choice item shows them as buttons instead)."""
    from ..study.generate import text

    head = html.escape(text("ui_question_of", item.language, i=index + 1, n=total))
    choices = "".join(f"<li><strong>{_LETTERS[i]}</strong>) {html.escape(c)}</li>"
                      for i, c in enumerate(item.choices)) if listed else ""
    choices = f'<ol class="rag-quiz-choices" style="list-style:none;padding-left:0">{choices}</ol>' if choices else ""
    return (f'<div class="rag-quiz-question" data-item="{html.escape(item.id)}"><div style="opacity:0.7">{head} · '
            f'{html.escape(item.section)} {html.escape(item.title)}</div>'
            f'<p style="font-size:1.1em">{html.escape(item.question)}</p>{choices}</div>')


def _browser_secret(settings) -> str:
    """The key the browser-kept state is encrypted with; kept in RAG_HOME so that it survives a restart
    (a new random key each start would make every returning student a new one)."""
    from pathlib import Path

    path = Path(settings.home) / "study-browser-secret"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(16), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()
    except OSError:   # a read-only home: progress still works within one server run
        return secrets.token_hex(16)


def browser_state(settings) -> gr.BrowserState:
    """The student's id and quiz in progress, in localStorage. Made outside the tabs: a component in a tab
    that is not shown yet is not mounted, and would not have read localStorage when the page loads."""
    return gr.BrowserState(new_state(), storage_key=STORAGE_KEY, secret=_browser_secret(settings))


def build_quiz_tab(h: QuizHandlers, state: gr.BrowserState, picker=None) -> dict:
    """The Quiz tab's components and events, inside the current Blocks context; ``picker``: the chat's course
    picker, which the quiz follows. Returns the parts the chat needs to start a quiz ("quiz me on chapter 4")."""
    lab_ko, lab_en = _labels("ko"), _labels("en")
    both = lambda key: f"{lab_ko[key]} · {lab_en[key]}"   # noqa: E731
    course = gr.HTML("", elem_id="rag-quiz-course")   # which course is quizzed (several offered)
    with gr.Row():
        chapters = gr.CheckboxGroup(choices=[], label=both("chapters"), elem_id="rag-quiz-chapters", scale=4)
        language = gr.Radio([("한국어", "ko"), ("English", "en")], value="ko", label=both("language"),
                            elem_id="rag-quiz-language", scale=1)
        start = gr.Button(both("start"), variant="primary", elem_id="rag-quiz-start", scale=1)
    question = gr.HTML("", elem_id="rag-quiz-question")
    # a choice item's choices as buttons (hidden for the other kinds; the text box is hidden for a choice item)
    choice = gr.Radio(choices=[], value=None, label=render.bilingual("ui_choose"), visible=False,
                      elem_id="rag-quiz-choices")
    with gr.Row():
        box = gr.Textbox(show_label=False, placeholder=both("answer") + "…", elem_id="rag-quiz-answer", scale=5,
                         interactive=False, max_lines=4)
        check = gr.Button(both("check"), variant="primary", elem_id="rag-quiz-check", scale=1, min_width=80)
    feedback = gr.HTML("", elem_id="rag-quiz-feedback")
    with gr.Row():
        chip = gr.Button("", visible=False, size="sm", elem_id="rag-quiz-chip", elem_classes=["rag-chip"])
        following = gr.Button(both("next"), size="sm", elem_id="rag-quiz-next")
    section = gr.HTML("", elem_id="rag-quiz-section")
    mastery = gr.HTML("", elem_id="rag-quiz-mastery")

    view = [state, question, box, feedback, chip, section, mastery, choice]
    light = dict(concurrency_limit=8, show_progress="hidden")
    start.click(h.start, [chapters, language, state, *([picker] if picker is not None else [])], view, **light)
    check.click(h.answer, [box, state, choice], view, **light)
    box.submit(h.answer, [box, state, choice], view, **light)
    following.click(h.next, [state], view, **light)
    chip.click(h.open_section, [state], [section], **light)
    if picker is not None:
        picker.change(h.pick_course, [picker, state], [*view, chapters, course], **light)
    return {"handlers": h, "state": state, "view": view, "chapters": chapters, "language": language,
            "course": course}


def with_quiz_tab(chat_page: gr.Blocks, engine, concurrency: int = 1, chat=None) -> gr.Blocks:
    """The chat page and the Quiz tab side by side. The chat page is rendered unchanged inside the first
    tab (``Blocks.render``, as ``gr.TabbedInterface`` does), so its events and API names stay as they are.
    ``chat``: the chat's ``ChatHandlers``; the quiz follows its course picker and uses its engines."""
    h = QuizHandlers(engine, chat=chat)
    blocks = list(chat_page.blocks.values())
    chat_session = next((b for b in blocks if type(b).__name__ == "State"), None)
    picker = next((b for b in blocks if getattr(b, "elem_id", None) == "rag-course"), None) if chat else None
    with gr.Blocks(title=chat_page.title) as page:
        state = browser_state(h.settings)
        with gr.Tabs(elem_id="rag-tabs") as tabs:
            with gr.Tab("채팅 · Chat", id="chat", elem_id="rag-tab-chat"):
                chat_page.render()
            with gr.Tab("퀴즈 · Quiz", id="quiz", elem_id="rag-tab-quiz"):
                parts = build_quiz_tab(h, state, picker)
            with gr.Tab("교사 · Teacher", id="teacher", elem_id="rag-tab-teacher"):
                from .teacher import build_teacher_tab   # the class's questions and quiz figures, by the app's course

                teacher = build_teacher_tab(h.settings, sections=lambda: h.sections, bank=h.full_bank,
                                            engine=h.engine)
            if picker is not None and "brought" in teacher:
                # a course the teacher just brought is in the chat's picker (and so the quiz's) without a reload
                teacher["brought"].then(chat.course_choices, None, picker, concurrency_limit=None,
                                        show_progress="hidden")

        def on_load(saved, chat=None):   # the controls come back as the student left them, with the quiz
            view = h.load(saved)
            state = view[0]
            if chat is not None:   # the chat logs questions under the same anonymous id (and nothing else)
                chat.student = state["student"]
            # the picker back on the quiz's course (its change event moves the chat there too)
            course = [gr.update(value=state["course"] or h.own.id)] if picker is not None else []
            return (*view, gr.update(choices=h._chapters(state), value=state.get("chapters") or []),
                    gr.update(value=state.get("language") or "ko"), h.course_html(state), *course,
                    *([chat] if chat is not None else []))

        linked = [chat_session] if chat_session is not None else []
        page.load(on_load, [parts["state"], *linked], [*parts["view"], parts["chapters"], parts["language"],
                                                        parts["course"], *([picker] if picker is not None else []),
                                                        *linked],
                  concurrency_limit=None, show_progress="hidden")
        # "Quiz me on chapter 4" typed in the chat starts that quiz in the Quiz tab
        inputs = [parts["state"]] + linked
        for block in blocks:
            if getattr(block, "elem_id", None) in ("rag-input", "rag-send"):
                trigger = block.submit if isinstance(block, gr.Textbox) else block.click
                box = next(b for b in blocks if getattr(b, "elem_id", None) == "rag-input")
                trigger(h.chat_intent, [box, *inputs], [tabs, *parts["view"], parts["chapters"], parts["language"],
                                                        parts["course"]],
                        concurrency_limit=8,
                        show_progress="hidden")
    page.queue(default_concurrency_limit=concurrency)
    return page
