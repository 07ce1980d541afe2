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
from ..text.tokenize import normalise
from ..types import Answer, Citation, Hit
from . import render

log = logging.getLogger(__name__)

CSS_PATH = Path(__file__).with_name("static") / "style.css"

EXAMPLES = [
    "CPU와 GPU의 차이점은 무엇인가요?",
    "AI 워크플로우 4단계를 알려 주세요",
    "GPU 가상화의 이점은?",
    "What is the difference between a CPU and a GPU?",
    "What are the benefits of GPU virtualization?",
    "How is an AI data center monitored?",
]

# On a phone the section view is below the fold; bring it up when a chip is clicked.
SCROLL_TO_SECTION = "() => document.getElementById('rag-section-view')?.scrollIntoView({behavior: 'smooth'})"

# Light events (opening a section, picking a suggestion) must not wait behind a slow CPU answer.
LIGHT_CONCURRENCY = 8


@dataclass
class Session:
    """One browser session's conversation. Deep-copied per session by gr.State."""

    history: list[dict] = field(default_factory=list)   # raw {"role", "content"} turns for the engine
    display: list[dict] = field(default_factory=list)   # escaped HTML messages for the Chatbot
    citations: list[Citation] = field(default_factory=list)  # chips of the latest answer
    suggestions: list[Hit] = field(default_factory=list)     # buttons of the latest refusal
    language: str = "en"                                     # language of the latest answer


def _hidden():
    return gr.update(samples=[], visible=False)


def _samples(labels: list[str]):
    return gr.update(samples=[[x] for x in labels], visible=bool(labels))


class ChatHandlers:
    """Event handlers; each returns plain values or ``gr.update`` dicts so tests can read them."""

    def __init__(self, engine):
        self.engine = engine

    def respond(self, message: str, session: Session | None) -> Iterator[tuple]:
        """Stream one answer. Yields (chat, session, chips, suggestions, textbox)."""
        session = session if session is not None else Session()
        # lone surrogates and control characters would reach the page (gradio's JSON encoder rejects them)
        question = normalise(message or "").strip()
        if not question:
            yield list(session.display), session, gr.skip(), gr.skip(), ""
            return
        history = [dict(turn) for turn in session.history]  # the engine never sees our later edits
        session.display = session.display + [
            {"role": "user", "content": render.render_user_message(question)},
            {"role": "assistant", "content": render.render_streaming("…")},
        ]
        yield list(session.display), session, _hidden(), _hidden(), ""
        answer = None
        try:
            text = ""
            for piece in self.engine.ask(question, history=history, stream=True):
                if isinstance(piece, Answer):
                    answer = piece
                    break
                text += str(piece)
                session.display[-1] = {"role": "assistant", "content": render.render_streaming(text)}
                yield list(session.display), session, gr.skip(), gr.skip(), gr.skip()
            if answer is None:
                raise RagError("The engine finished without an answer; see the server log.")
        except RagError as exc:
            session.display[-1] = {"role": "assistant", "content": render.render_error(str(exc))}
            yield list(session.display), session, _hidden(), _hidden(), gr.skip()
            return
        except Exception as exc:  # the page must stay usable; details go to the server log
            log.exception("answering %r failed", question)
            message = f"Something went wrong while answering ({type(exc).__name__}). Please try again."
            session.display[-1] = {"role": "assistant", "content": render.render_error(message)}
            yield list(session.display), session, _hidden(), _hidden(), gr.skip()
            return
        yield self._finish(session, question, answer)

    def _finish(self, session: Session, question: str, answer: Answer) -> tuple:
        session.display[-1] = {"role": "assistant", "content": render.render_answer(answer)}
        session.history = session.history + [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
        session.citations = [] if answer.refused else render.unique_citations(answer.citations)
        session.suggestions = list(answer.suggestions) if answer.refused else []
        session.language = answer.language or session.language
        chips = _samples([render.chip_label(c) for c in session.citations])
        suggestions = _samples([render.suggestion_question(h, session.language) for h in session.suggestions])
        return list(session.display), session, chips, suggestions, gr.skip()

    def open_citation(self, index, session: Session | None) -> str:
        """HTML of the cited section, both languages, the quote highlighted."""
        if session is None or not isinstance(index, int) or not 0 <= index < len(session.citations):
            return ""
        citation = session.citations[index]
        try:
            view = self.engine.section_view(citation.doc, citation.section)
        except RagError as exc:
            return render.render_error(str(exc))
        return render.render_section(view or {}, citation, session.language)

    def pick_suggestion(self, index, session: Session | None) -> str:
        if session is None or not isinstance(index, int) or not 0 <= index < len(session.suggestions):
            return ""
        return render.suggestion_question(session.suggestions[index], session.language)

    @staticmethod
    def pick_example(index) -> str:
        return EXAMPLES[index] if isinstance(index, int) and 0 <= index < len(EXAMPLES) else ""

    @staticmethod
    def clear() -> tuple:
        """(chat, session, chips, suggestions, section view, textbox) for a fresh conversation."""
        return [], Session(), _hidden(), _hidden(), "", ""

    def status_html(self) -> str:
        try:
            return render.render_status(self.engine.status())
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
        demo.load(lambda: _header(h.status_html()), None, header, **{"concurrency_limit": None})
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
        section = gr.HTML("", elem_id="rag-section-view")
        examples = gr.Dataset(components=["textbox"], samples=[[q] for q in EXAMPLES], type="index",
                              label="예시 질문 · Example questions", elem_id="rag-examples")
        clear = gr.Button("대화 지우기 · Clear chat", variant="secondary", size="sm", elem_id="rag-clear")

        outputs = [chat, session, chips, suggest, box]
        answer_kw = dict(concurrency_limit=concurrency, concurrency_id="answer")
        light_kw = dict(concurrency_limit=LIGHT_CONCURRENCY)
        box.submit(h.respond, [box, session], outputs, **answer_kw)
        send.click(h.respond, [box, session], outputs, **answer_kw)
        chips.click(h.open_citation, [chips, session], [section], **light_kw).then(None, js=SCROLL_TO_SECTION)
        suggest.click(h.pick_suggestion, [suggest, session], [box], **light_kw).then(
            h.respond, [box, session], outputs, **answer_kw)
        examples.click(h.pick_example, [examples], [box], **light_kw).then(
            h.respond, [box, session], outputs, **answer_kw)
        cleared = [chat, session, chips, suggest, section, box]
        clear.click(h.clear, None, cleared, **light_kw)
        chat.clear(h.clear, None, cleared, **light_kw)   # the Chatbot's own trash icon
    demo.queue(default_concurrency_limit=concurrency)
    return demo


def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def serve(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: tuple[str, str] | None = None, block: bool = True):
    """Launch with our CSS. ``block=False`` returns once the server answers (tests, embedding)."""
    return demo.launch(server_name=host, server_port=port, share=share, auth=auth, css=css(),
                       prevent_thread_lock=not block, show_error=False, quiet=not block)


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


def make_engine(generator: str | None, environ: dict):
    from ..config import load_settings
    from ..engine import Engine

    engine = Engine(load_settings(environ=environ, generator=generator))
    engine.read_notes()   # unreadable notes fail here, with a message, before anything is served
    # index and models load once, now, in the background: the page is usable while they load
    threading.Thread(target=_warm_up, args=(engine,), daemon=True, name="warm-up").start()
    return engine


def _warm_up(engine) -> None:
    try:
        engine.warm_up()
    except RagError as exc:   # shown to the first visitor by the header and the first answer
        print(f"error: {exc}", file=sys.stderr)


def _header(status_html: str) -> str:
    return f'<div class="rag-header"><h1>AI 인프라 및 운영 · Course tutor</h1>{status_html}</div>'


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
        demo = build_ui(make_engine(args.generator, environ), concurrency=args.concurrency)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    serve(demo, host=args.host, port=args.port, share=args.share, auth=auth)
    return 0
