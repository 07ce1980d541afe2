"""The Gradio chat: a thin shell around an engine object passed in.

``ChatHandlers`` holds the logic and is called directly by tests (no server); ``build_ui`` only wires
it to components. The engine is shared by every browser session; each session's conversation lives in
its own ``gr.State`` (a ``Session``). Not here on purpose: accounts, saved chats, uploads.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import gradio as gr

from ..errors import ConfigError, RagError
from ..prompts import message
from ..text.tokenize import normalise
from ..types import Answer, Citation, Hit
from . import render

log = logging.getLogger(__name__)

CSS_PATH = Path(__file__).with_name("static") / "style.css"
CHIPS_JS_PATH = Path(__file__).with_name("static") / "chips.js"

def course_examples(engine) -> list[str]:
    """The example questions of the engine's course (its ``course.toml``); none when it gives none."""
    from ..config import load_settings
    from ..catalog import current

    try:
        # an engine without settings (a stand-in) serves the default course
        return list(current(getattr(engine, "settings", None) or load_settings()).examples)
    except RagError:
        return []

# On a phone the section view is below the fold; bring it up when a chip is clicked.
SCROLL_TO_SECTION = "() => document.getElementById('rag-section-view')?.scrollIntoView({behavior: 'smooth'})"

# Light events (opening a section, picking a suggestion) must not wait behind a slow CPU answer.
LIGHT_CONCURRENCY = 8

# Shown in the answer bubble while the language model still loads at start (the question waits for it,
# then streams: one kind of answer, not an extractive one first; see README "Start-up").
LOADING_LLM = message("loading_llm", "en")   # both languages in one line (rag/prompts/messages.json)


@dataclass
class Turn:
    """A finished answer's openable sections (its chips), and its language for the section labels."""

    language: str
    sections: list[Citation]


@dataclass
class Session:
    """One browser session's conversation. Deep-copied per session by gr.State.

    Gradio hands the same object to every event of the session, also to two at once (a question sent
    while another streams), so the handlers change it only under their lock.
    """

    history: list[dict] = field(default_factory=list)   # raw {"role", "content"} turns for the engine
    display: list[dict] = field(default_factory=list)   # escaped HTML messages for the Chatbot
    citations: list[Citation] = field(default_factory=list)  # chips of the latest answer
    suggestions: list[Hit] = field(default_factory=list)     # buttons of the latest refusal
    language: str = "en"                                     # language of the latest answer
    turns: list[Turn] = field(default_factory=list)          # every finished answer; chips name it by index
    pending: list[tuple[str, int]] = field(default_factory=list)  # queued (question, its display row)
    answering: bool = False                                  # an answer loop runs for this session
    cleared: int = 0                                         # times cleared; an answer begun before stops
    course: str = ""                                         # the course picked ("" = the app's own)
    # the question log (rag report, the Teacher tab): each question is kept under the browser's anonymous id (the
    # Quiz tab's, copied in on page load) unless the student unticks the notice under the input
    student: str = ""
    record: bool = True


def _hidden():
    return gr.update(samples=[], visible=False)


def _samples(labels: list[str]):
    return gr.update(samples=[[x] for x in labels], visible=bool(labels))


class ChatHandlers:
    """Event handlers; each returns plain values or ``gr.update`` dicts so tests can read them."""

    def __init__(self, engine):
        self.engine = engine
        self._lock = threading.Lock()   # guards every Session: one session's events may run at once
        self._engines: dict[str, object] = {}   # course id -> engine over it (shares the app engine's models)
        self._engines_lock = threading.Lock()
        self._courses: list[tuple[str, str]] | None = None

    def courses(self) -> list[tuple[str, str]]:
        """(title, id) of every course a student may pick: the app's own first. Read once per app (each answer and
        header asks); ``course_choices`` reads them again on each page load, so a course registered later (the
        Teacher tab's "Bring a course", ``rag index``) shows after a reload."""
        if self._courses is None:
            self._courses = self._read_courses()
        return self._courses

    def course_choices(self):
        """The course picker, read afresh (on page load)."""
        self._courses = self._read_courses()
        return gr.update(choices=self._courses, visible=len(self._courses) > 1)

    def _read_courses(self) -> list[tuple[str, str]]:
        from ..catalog import available, current

        settings = getattr(self.engine, "settings", None)
        if settings is None or not hasattr(self.engine, "for_course"):
            return []
        try:
            own = current(settings)
            return [(own.title, own.id)] + [(c.title, c.id) for c in available(settings) if c.id != own.id]
        except RagError:
            return []

    def engine_for(self, session: Session | None):
        """The engine over the session's course (built on first use, then shared by every session on it)."""
        return self.course_engine(session.course if session is not None else "")

    def course_engine(self, course: str):
        """The engine over the course ``course`` ("" = the app's own); the Quiz tab takes its course's notes here."""
        own = self.courses()[:1]
        if not course or (own and own[0][1] == course):
            return self.engine
        with self._engines_lock:
            if course not in self._engines:
                self._engines[course] = self.engine.for_course(course)
            return self._engines[course]

    def pick_course(self, course: str, session: Session | None) -> tuple:
        """A new course starts a new conversation: (chat, session, chips, suggestions, section view, textbox,
        examples, header)."""
        session = session if session is not None else Session()
        with self._lock:
            session.course = course or ""
        cleared = self.clear(session)
        examples = course_examples(self.engine_for(session))
        return (*cleared, gr.update(samples=[[q] for q in examples], visible=bool(examples)), self.header_html(session))

    def submit(self, message: str, session: Session | None) -> tuple:
        """Show the question at once and queue it. Returns (chat, session, textbox).

        A question sent while another is being answered is not lost: it appears in the chat marked as
        queued and is answered after the current one (``answer_pending`` takes the queue in order).
        """
        session = session if session is not None else Session()
        # lone surrogates and control characters would reach the page (gradio's JSON encoder rejects them)
        question = normalise(message or "").strip()
        with self._lock:
            if question:
                busy = session.answering or bool(session.pending)
                session.display.append({"role": "user", "content": render.render_user_message(question)})
                from .quiz import quiz_note   # "Quiz me on chapter 4": the Quiz tab takes it, not the engine

                if quiz_note(question):
                    session.display.append({"role": "assistant", "content": quiz_note(question)})
                    return list(session.display), session, ""
                placeholder = render.render_waiting() if busy else render.render_streaming("…")
                session.display.append({"role": "assistant", "content": placeholder})
                session.pending.append((question, len(session.display) - 1))
            return list(session.display), session, ""

    def answer_pending(self, session: Session | None) -> Iterator[tuple]:
        """Answer the session's queued questions in order, streaming. Yields (chat, session, chips, suggestions).

        One loop per session: called while a loop runs (a second question's own event), it returns at
        once and the running loop answers that question too.
        """
        with self._lock:
            elsewhere_or_none = session is None or session.answering or not session.pending
            if not elsewhere_or_none:
                session.answering = True
        if elsewhere_or_none:   # (never yield while holding the lock: a generator may be left suspended)
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            while True:
                with self._lock:
                    if not session.pending:
                        session.answering = False
                        return
                    question, row = session.pending.pop(0)
                yield from self._answer(session, question, row)
        finally:   # also when the browser goes away mid-stream: the next question starts a new loop
            with self._lock:
                session.answering = False

    def respond(self, message: str, session: Session | None) -> Iterator[tuple]:
        """Submit and answer in one event: the ``/respond`` API endpoint (scripts, load tests).

        Yields (chat, session, chips, suggestions, textbox).
        """
        chat, session, box = self.submit(message, session)
        yield chat, session, gr.skip(), gr.skip(), box
        if not session.pending:   # an empty question: nothing was queued
            return
        for chat, session_, chips, suggestions in self.answer_pending(session):
            yield chat, session_, chips, suggestions, gr.skip()

    def _show(self, session: Session, row: int, html: str, cleared: int) -> list[dict]:
        with self._lock:
            if session.cleared == cleared:   # else the chat was cleared while this answer streamed
                session.display[row] = {"role": "assistant", "content": html}
            return list(session.display)

    def _answer(self, session: Session, question: str, row: int) -> Iterator[tuple]:
        history = [dict(turn) for turn in session.history]  # the engine never sees our later edits
        cleared = session.cleared
        waiting = LOADING_LLM if self.llm_loading() else "…"
        yield self._show(session, row, render.render_streaming(waiting), cleared), session, _hidden(), _hidden()
        answer = None
        try:
            text = ""
            for piece in self.engine_for(session).ask(question, history=history, stream=True,
                                                      student=session.student, record=session.record):
                if session.cleared != cleared:
                    return   # nobody is waiting for this answer any more; closing the stream stops it
                if isinstance(piece, Answer):
                    answer = piece
                    break
                text += str(piece)
                yield self._show(session, row, render.render_streaming(text), cleared), session, gr.skip(), gr.skip()
            if answer is None:
                raise RagError("The engine finished without an answer; see the server log.")
        except RagError as exc:
            yield self._show(session, row, render.render_error(str(exc)), cleared), session, _hidden(), _hidden()
            return
        except Exception as exc:  # the page must stay usable; details go to the server log
            log.exception("answering %r failed", question)
            message = f"Something went wrong while answering ({type(exc).__name__}). Please try again."
            yield self._show(session, row, render.render_error(message), cleared), session, _hidden(), _hidden()
            return
        yield self._finish(session, question, answer, row, cleared)

    def _finish(self, session: Session, question: str, answer: Answer, row: int, cleared: int) -> tuple:
        with self._lock:
            if session.cleared != cleared:
                return list(session.display), session, gr.skip(), gr.skip()
            turn = len(session.turns)
            session.turns.append(Turn(answer.language or session.language, render.openable_sections(answer)))
            session.history = session.history + [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer.text},
            ]
            session.citations = [] if answer.refused else render.unique_citations(answer.citations)
            session.suggestions = list(answer.suggestions) if answer.refused else []
            session.language = answer.language or session.language
        chat = self._show(session, row, render.render_answer(answer, turn), cleared)
        chips = _samples([render.chip_label(c) for c in session.citations])
        suggestions = _samples([render.suggestion_question(h, session.language) for h in session.suggestions])
        return chat, session, chips, suggestions

    def open_citation(self, index, session: Session | None) -> str:
        """HTML of the cited section, both languages, the quote highlighted."""
        if session is None or not isinstance(index, int) or not 0 <= index < len(session.citations):
            return ""
        return self._section(session.citations[index], session.language, session)

    def open_ref(self, ref, session: Session | None) -> str:
        """The section behind a chip inside any answer, named by its class ``rag-ref-<turn>-<section>``."""
        parsed = render.parse_ref(ref)
        if session is None or parsed is None or parsed[0] >= len(session.turns):
            return ""
        turn = session.turns[parsed[0]]
        citation = next((c for c in turn.sections if c.section == parsed[1]), None)
        return self._section(citation, turn.language, session) if citation else ""

    def open_ref_event(self, session: Session | None, event: gr.EventData) -> str:
        return self.open_ref(getattr(event, "_data", None) and event._data.get("ref"), session)

    def _section(self, citation: Citation, language: str, session: Session | None = None) -> str:
        try:
            view = self.engine_for(session).section_view(citation.doc, citation.section)
        except RagError as exc:
            return render.render_error(str(exc))
        return render.render_section(view or {}, citation, language)

    def set_record(self, share, session: Session | None) -> Session:
        """The consent box under the input: unticked, this session's questions are no longer logged."""
        session = session if session is not None else Session()
        with self._lock:
            session.record = bool(share)
        return session

    def pick_suggestion(self, index, session: Session | None) -> str:
        if session is None or not isinstance(index, int) or not 0 <= index < len(session.suggestions):
            return ""
        return render.suggestion_question(session.suggestions[index], session.language)

    def pick_example(self, index, session: Session | None = None) -> str:
        examples = course_examples(self.engine_for(session))
        return examples[index] if isinstance(index, int) and 0 <= index < len(examples) else ""

    def clear(self, session: Session | None = None) -> tuple:
        """(chat, session, chips, suggestions, section view, textbox) for a fresh conversation.

        The session is emptied in place, not replaced: an answer still streaming into it holds the same
        object, sees ``cleared`` change and stops, instead of bringing the old conversation back.
        """
        session = session if session is not None else Session()
        with self._lock:
            session.cleared += 1
            session.pending.clear()
            session.display.clear()
            session.history, session.turns, session.citations, session.suggestions = [], [], [], []
        return [], session, _hidden(), _hidden(), "", ""

    def llm_loading(self) -> bool:
        state = getattr(self.engine, "llm_state", None)   # engines in tests may not have one
        return callable(state) and state() == "loading"

    def status_refresh(self, session: Session | None = None) -> tuple:
        """(header, timer): the header again, and the timer stopped once the language model is loaded."""
        return self.header_html(session), gr.Timer(active=self.llm_loading())

    def header_html(self, session: Session | None = None) -> str:
        """The session's course title over its engine's status line."""
        course = session.course if session is not None and session.course else ""
        titles = dict((cid, title) for title, cid in self.courses())
        title = titles.get(course) or next(iter(titles.values()), "")
        return _header(self.status_html(session), title)

    def status_html(self, session: Session | None = None) -> str:
        try:
            return render.render_status(self.engine_for(session).status())
        except RagError as exc:
            return render.render_error(str(exc))


def build_ui(engine, concurrency: int = 1) -> gr.Blocks:
    """The chat page around ``engine``; run it with ``serve`` (``launch(css=css())``)."""
    h = ChatHandlers(engine)
    with gr.Blocks(title="Course notes tutor") as demo:
        # a function, not the class: gradio would try to serialise a dataclass type as a value
        session = gr.State(lambda: Session())
        # The page is served while models load (make_engine warms up in the background); the header
        # fills in when they are ready, and a question asked before then waits for them.
        header = gr.HTML(_header('<span class="rag-status">loading models… · 모델을 불러오는 중…</span>'))
        courses = h.courses()
        course_pick = gr.Dropdown(choices=courses, value=courses[0][1] if courses else None, label="강의 · Course",
                                  visible=len(courses) > 1, elem_id="rag-course", interactive=True)
        demo.load(h.header_html, [session], header, **{"concurrency_limit": None})
        demo.load(h.course_choices, None, course_pick, concurrency_limit=None, show_progress="hidden")
        # the header says "(loading…)" beside the generator until the language model is in memory
        status_timer = gr.Timer(1.0)
        status_timer.tick(h.status_refresh, [session], [header, status_timer], **{"concurrency_limit": None})
        # latex off: "$" in notes is money, not maths; our HTML is escaped already, sanitising is a backstop
        chat = gr.Chatbot(elem_id="rag-chat", show_label=False, height="60vh", latex_delimiters=[],
                          sanitize_html=True, buttons=["copy", "copy_all"],
                          placeholder="질문하세요 · Ask a question about the course notes")
        chips = gr.Dataset(components=["textbox"], samples=[], type="index", label="출처 · Sources (click to open)",
                           visible=False, elem_id="rag-chips", elem_classes=["rag-chip-row"])
        suggest = gr.Dataset(components=["textbox"], samples=[], type="index", elem_id="rag-suggest",
                             label="관련 섹션 질문하기 · Ask about a close section", visible=False,
                             elem_classes=["rag-chip-row", "rag-suggest-row"])
        with gr.Row(elem_id="rag-input-row"):
            box = gr.Textbox(show_label=False, placeholder="질문 / question…", scale=5, elem_id="rag-input",
                             max_lines=6, autofocus=True)
            send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="rag-send")
        # the question log is kept with consent, said where the question is typed (rag report, the Teacher tab)
        share = gr.Checkbox(value=True, label=render.bilingual("ui_share"), info=render.bilingual("ui_share_info"),
                            elem_id="rag-share", container=False)
        section = gr.HTML("", elem_id="rag-section-view")
        # chips inside any answer (earlier ones too) open their section through this empty element
        chip_bridge = gr.HTML("", js_on_load=CHIPS_JS_PATH.read_text(encoding="utf-8"), elem_id="rag-chip-bridge",
                              apply_default_css=False)
        examples = gr.Dataset(components=["textbox"], samples=[[q] for q in course_examples(engine)], type="index",
                              label="예시 질문 · Example questions", elem_id="rag-examples",
                              visible=bool(course_examples(engine)))
        clear = gr.Button("대화 지우기 · Clear chat", variant="secondary", size="sm", elem_id="rag-clear")

        answer_kw = dict(concurrency_limit=concurrency, concurrency_id="answer")
        light_kw = dict(concurrency_limit=LIGHT_CONCURRENCY)
        # Asking is two events: `submit` shows the question at once, marked as queued while another answer
        # streams ("multiple": a second Enter is never dropped), and `answer_pending` streams the answers.
        submit_kw = dict(**light_kw, trigger_mode="multiple", show_progress="hidden")
        asked, answered = [chat, session, box], [chat, session, chips, suggest]

        def ask_from(event):
            return event(h.submit, [box, session], asked, **submit_kw).then(
                h.answer_pending, [session], answered, **answer_kw)

        ask_from(box.submit)
        ask_from(send.click)
        ask_from(suggest.click(h.pick_suggestion, [suggest, session], [box], **light_kw).then)
        ask_from(examples.click(h.pick_example, [examples, session], [box], **light_kw).then)
        chips.click(h.open_citation, [chips, session], [section], **light_kw).then(None, js=SCROLL_TO_SECTION)
        chip_bridge.open_section(h.open_ref_event, [session], [section], **light_kw).then(None, js=SCROLL_TO_SECTION)
        cleared = [chat, session, chips, suggest, section, box]
        clear.click(h.clear, [session], cleared, **light_kw)
        share.change(h.set_record, [share, session], [session], **light_kw, show_progress="hidden")
        course_pick.change(h.pick_course, [course_pick, session], cleared + [examples, header], **light_kw)
        chat.clear(h.clear, [session], cleared, **light_kw)   # the Chatbot's own trash icon
        # One call from question to finished chat, for scripts and load tests (gradio_client: /respond);
        # the page itself uses the two events above.
        api = gr.Button(visible=False)
        api.click(h.respond, [box, session], [chat, session, chips, suggest, box], api_name="respond", **answer_kw)
    demo.queue(default_concurrency_limit=concurrency)
    from .quiz import with_quiz_tab   # study mode: this page in a Chat tab beside a Quiz tab (rag/web/quiz.py)

    return with_quiz_tab(demo, engine, concurrency, chat=h)


def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def serve(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: tuple[str, str] | None = None, block: bool = True, quiet: bool | None = None):
    """Launch with our CSS. ``block=False`` returns once the server answers (tests, embedding)."""
    return demo.launch(server_name=host, server_port=port, share=share, auth=auth, css=css(),
                       prevent_thread_lock=not block, show_error=False, quiet=(not block) if quiet is None else quiet)


# --- command line: `python app.py` and `rag chat` -------------------------------------------------

def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth / RAG_WEB_AUTH must look like user:password (both non-empty).")
    return user, password


def parse_args(argv: list[str] | None, environ: dict) -> argparse.Namespace:
    from ..config import load_settings

    defaults = load_settings(environ=environ)   # the one place that reads RAG_* variables
    p = argparse.ArgumentParser(prog="rag chat", description="Serve the course-notes chat in a browser.")
    p.add_argument("--host", default=defaults.web_host,
                   help="address to bind (env RAG_WEB_HOST; default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=defaults.web_port,
                   help="port (env RAG_WEB_PORT; default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.add_argument("--auth", default=defaults.web_auth or None, help="user:password login (env RAG_WEB_AUTH)")
    p.add_argument("--concurrency", type=int, default=defaults.web_concurrency,
                   help="answers computed at once (env RAG_WEB_CONCURRENCY; default 1, right for a CPU model)")
    p.add_argument("--generator", default=None, help="generator backend (default: settings / RAG_GENERATOR)")
    return p.parse_args(argv)


def make_engine(generator: str | None, environ: dict, warm: bool = True):
    from ..config import load_settings
    from ..engine import Engine

    engine = Engine(load_settings(environ=environ, generator=generator))
    engine.read_notes()   # unreadable notes fail here, with a message, before anything is served
    if warm:
        start_warm_up(engine)
    return engine


def start_warm_up(engine) -> None:
    """Index and models load once, in the background: the page is usable while they load."""
    threading.Thread(target=_warm_up, args=(engine,), daemon=True, name="warm-up").start()


def _warm_up(engine) -> None:
    try:
        engine.warm_up()
    except RagError as exc:   # shown to the first visitor by the header and the first answer
        print(f"error: {exc}", file=sys.stderr)


def _header(status_html: str, title: str = "") -> str:
    """The page header: the course's title (its course.toml or notes), then the status line."""
    import html as _html

    heading = f"{_html.escape(title)} · Course tutor" if title else "Course tutor · 강의 튜터"
    return f'<div class="rag-header"><h1>{heading}</h1>{status_html}</div>'


def main(argv: list[str] | None = None, environ: dict | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    try:
        args = parse_args(argv, environ)
        auth = parse_auth(args.auth)
        if args.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1.")
        if args.host not in ("127.0.0.1", "localhost") and auth is None:
            print(f"warning: serving on {args.host} without --auth; anyone on the network can use it.",
                  file=sys.stderr)
        engine = make_engine(args.generator, environ, warm=False)
        demo = build_ui(engine, concurrency=args.concurrency)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    # the page first, then the models: loaded while gradio built and started its server they held the page
    # back (kiwipiepy holds the GIL while it loads), 9.2 s -> 4.6 s to a served page with the first answer
    # no later (benchmarks/reports/startup.md)
    serve(demo, host=args.host, port=args.port, share=args.share, auth=auth, block=False, quiet=False)
    start_warm_up(engine)
    demo.block_thread()
    return 0
