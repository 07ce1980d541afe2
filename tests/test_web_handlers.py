"""Web chat handlers called directly with a fake engine: no server, no browser, no models."""
from __future__ import annotations

import re
import time

import pytest

gr = pytest.importorskip("gradio")

from rag.errors import GenerationError  # noqa: E402
from rag.types import Answer, Citation, Hit  # noqa: E402
from rag.web import render  # noqa: E402
from rag.web.ui import ChatHandlers, Session, build_ui  # noqa: E402

XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">'
DOC = "nvidia-ai-infra-1"
TABLE_KO = (
    "CPU와 GPU의 비교입니다.\n\n| 구분 | CPU | GPU |\n|---|---|---|\n"
    "| 특징 | 순차 작업에 최적화 | 병렬 작업 (parallel tasks)에 최적화 |\n"
)
TABLE_EN = (
    "A comparison of CPU and GPU.\n\n| Aspect | CPU | GPU |\n|---|---|---|\n"
    "| Trait | optimised for serial tasks | optimised for parallel tasks |\n"
)


class FakeEngine:
    """Speaks the engine interface the UI codes against; records every call."""

    def __init__(self):
        self.calls: list[dict] = []

    def status(self) -> dict:
        return {"generator": "fake", "sections": 3}

    def ask(self, question, history=None, stream=False, generator=None, student="", record=None):
        self.calls.append({"question": question, "history": [dict(t) for t in (history or [])], "student": student,
                           "record": record})
        answer = self._answer(question)
        if not stream:
            return answer
        # "slowly": a CPU model's pace, so a browser can send another question while this one streams
        return self._stream(answer, 0.25 if "slowly" in question else 0.0)

    @staticmethod
    def _stream(answer, delay=0.0):
        words = answer.text.split(" ")
        for i, w in enumerate(words):
            time.sleep(delay)
            yield w if i == 0 else " " + w
        yield answer

    def _answer(self, question: str) -> Answer:
        ko = bool(re.search(r"[가-힣]", question))
        lang = "ko" if ko else "en"
        cite = Citation(DOC, "4.5", "CPU vs. GPU", "병렬 작업 (parallel tasks)에 최적화", 0.9)
        if "boom" in question:
            return self._fail()
        if "weather" in question or "날씨" in question:
            return Answer(
                text="노트에 없는 내용입니다." if ko else "The notes do not cover this.",
                language=lang, refused=True, generator="fake", timings={"total": 12.0},
                suggestions=[Hit(DOC, "4.5", "CPU vs. GPU", 0.1), Hit(DOC, "5.2", "vGPU란", 0.05)],
            )
        if "xss" in question:
            return Answer(text=f"Danger {XSS} here", language="en", refused=False, generator=XSS,
                          citations=[Citation("xss", "9.9", XSS, XSS, 0.5)], notice=XSS,
                          timings={"total": 5.0})
        if "virtualization" in question or "가상화" in question:
            vgpu = Citation(DOC, "5.2", "vGPU란", "하나의 GPU를 여러 가상 머신이 나누어 씁니다", 0.8)
            text = ("[5.2] 가상화는 하나의 GPU를 여러 가상 머신이 나누어 쓰게 합니다." if ko
                    else "[5.2] Virtualization lets several virtual machines share one GPU.")
            return Answer(text=text, language=lang, refused=False, generator="fake-gen", citations=[vgpu],
                          timings={"total": 30.0})
        if "slowly" in question:
            text = ("[4.5] GPUs are built for parallel work: thousands of small cores run the same "
                    "operation on many numbers at once, while a CPU has few cores for serial tasks.")
            return Answer(text=text, language="en", refused=False, generator="fake-gen", citations=[cite],
                          timings={"total": 4000.0})
        text = "GPU는 병렬 작업에 최적화되어 있습니다 [4.5]." if ko else "GPUs are built for parallel work [4.5]."
        return Answer(text=text, language=lang, refused=False, generator="fake-gen",
                      citations=[cite, cite], timings={"retrieve": 20.0, "generate": 1480.0},
                      notice="" if ko else "The LLM was unavailable; showing an extractive answer.")

    @staticmethod
    def _fail():
        raise GenerationError("The model server did not answer; start it or choose --generator extractive.")

    def section_view(self, doc, section):
        if doc == "xss":
            return {"ko": {"title": XSS, "text": f"본문 {XSS}\n\n| a | b |\n|---|---|\n| {XSS} | x |"},
                    "en": None}
        if section == "5.2":
            return {"ko": {"title": "vGPU란", "text": "하나의 GPU를 여러 가상 머신이 나누어 씁니다."},
                    "en": {"title": "What is vGPU", "text": "Several virtual machines share one GPU."}}
        return {"ko": {"title": "CPU vs. GPU", "text": TABLE_KO}, "en": {"title": "CPU vs. GPU", "text": TABLE_EN}}


def run(handlers: ChatHandlers, question: str, session: Session | None = None) -> list[tuple]:
    return list(handlers.respond(question, session if session is not None else Session()))


def last_html(steps) -> str:
    return steps[-1][0][-1]["content"]


@pytest.fixture
def handlers():
    return ChatHandlers(FakeEngine())


def test_streaming_yields_growing_text(handlers):
    steps = run(handlers, "What is a GPU for?")
    streamed = [s[0][-1]["content"] for s in steps[1:-1]]
    assert len(streamed) >= 3
    lengths = [len(re.sub(r"<[^>]+>", "", h)) for h in streamed]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    assert steps[0][4] == ""                      # the textbox is cleared at once
    assert steps[-1][0][0]["role"] == "user" and "What is a GPU for?" in steps[-1][0][0]["content"]


def test_final_answer_has_chips_generator_time_and_notice(handlers):
    steps = run(handlers, "What is a GPU for?")
    final = last_html(steps)
    assert final.count('class="rag-chip rag-open') == 1   # duplicate citations collapse to one chip
    assert "4.5 CPU vs. GPU" in final
    assert "fake-gen" in final and "1.5 s" in final
    assert 'class="rag-notice"' in final and "extractive answer" in final
    chips = steps[-1][2]
    assert chips["visible"] is True and chips["samples"] == [["4.5 CPU vs. GPU"]]
    assert steps[-1][3]["visible"] is False


def test_citation_click_shows_both_languages_with_quote_highlighted(handlers):
    session = run(handlers, "CPU와 GPU의 차이는?")[-1][1]
    view = handlers.open_citation(0, session)
    assert 'lang="ko"' in view and 'lang="en"' in view
    assert "<table>" in view and view.count("<table>") == 2      # tables render as tables
    assert '<mark class="rag-quote">병렬 작업 (parallel tasks)에 최적화</mark>' in view
    assert "optimised for parallel tasks" in view
    assert handlers.open_citation(7, session) == ""              # stale index: nothing, no crash


def test_escaping_holds_in_answer_chips_and_section(handlers):
    steps = run(handlers, "xss please")
    final = last_html(steps)
    assert "&lt;script&gt;" in final
    for html in (final, *(s[0][-1]["content"] for s in steps)):
        assert "<script" not in html.lower() and "<img" not in html.lower()
    session = steps[-1][1]
    view = handlers.open_citation(0, session)
    assert "<script" not in view.lower() and "<img" not in view.lower()
    assert "&lt;img src=x onerror=" in view                      # shown as text
    assert "No notes in this language" in view                   # missing English companion
    user = run(handlers, XSS)[-1][0][0]["content"]
    assert "<script" not in user.lower() and "&lt;script&gt;" in user


def test_refusal_is_styled_and_offers_suggestions_by_language(handlers):
    steps = run(handlers, "What is the weather today?")
    final = last_html(steps)
    assert 'class="rag-refusal"' in final and 'class="rag-answer"' not in final
    suggest = steps[-1][3]
    assert suggest["visible"] is True
    assert suggest["samples"] == [["Tell me about 4.5 CPU vs. GPU"], ["Tell me about 5.2 vGPU란"]]
    assert steps[-1][2]["visible"] is False                      # no source chips on a refusal
    session = steps[-1][1]
    assert handlers.pick_suggestion(0, session) == "Tell me about 4.5 CPU vs. GPU"
    ko = run(handlers, "오늘 날씨 어때?")[-1]
    assert ko[3]["samples"][0] == ["4.5 CPU vs. GPU에 대해 설명해 주세요"]


def test_follow_up_passes_history(handlers):
    session = run(handlers, "What is a GPU for?")[-1][1]
    session = run(handlers, "And a CPU?", session)[-1][1]
    first, second = handlers.engine.calls
    assert first["history"] == []
    assert second["history"] == [
        {"role": "user", "content": "What is a GPU for?"},
        {"role": "assistant", "content": "GPUs are built for parallel work [4.5]."},
    ]
    assert len(session.history) == 4 and len(session.display) == 4


def test_sessions_do_not_share_state(handlers):
    a = run(handlers, "What is a GPU for?", Session())[-1][1]
    b = run(handlers, "What is the weather today?", Session())[-1][1]
    assert a is not b and len(a.history) == 2 and len(b.history) == 2
    assert a.citations and not b.citations and b.suggestions and not a.suggestions
    assert handlers.engine.calls[1]["history"] == []


def test_gradio_state_gives_each_session_a_fresh_object():
    demo = build_ui(FakeEngine())
    states = [b for b in demo.blocks.values() if type(b).__name__ == "State" and callable(b.value)]
    assert len(states) == 1
    first, second = states[0].value(), states[0].value()
    first.history.append({"role": "user", "content": "x"})
    assert second.history == [] and isinstance(second, Session)


def test_engine_error_becomes_a_message_and_empty_input_is_ignored(handlers):
    steps = run(handlers, "boom")
    assert 'class="rag-error"' in last_html(steps) and "--generator extractive" in last_html(steps)
    assert steps[-1][1].history == []                            # failed turns are not sent as history
    assert run(handlers, "   ")[-1][0] == []


def test_clear_resets_everything(handlers):
    chat, session, chips, suggest, section, box = handlers.clear()
    assert chat == [] and session.history == [] and chips["visible"] is False and section == "" and box == ""


def test_mark_quote_handles_lists_tables_and_missing_quotes():
    text = "- 첫째 문장입니다.\n- 둘째 문장입니다.\n\n| a | b |\n|---|---|\n| 셀 안의 긴 내용 | y |"
    marked, found = render.mark_quote(text, "첫째 문장입니다. 둘째 문장입니다. | 셀 안의 긴 내용")
    assert found == 3
    html, _ = render.render_highlighted(text, "셀 안의 긴 내용")
    assert '<td><mark class="rag-quote">셀 안의 긴 내용</mark></td>' in html
    assert render.mark_quote(text, "not in the text at all")[1] == 0
    # an extractive quote that re-joins a table row still finds its cells
    row = "| Trait | - optimised for serial tasks - suited to control | - optimised for parallel tasks |"
    quote = "Category: Trait; CPU: - optimised for serial tasks - suited to control; GPU: - optimised for parallel tasks"
    assert render.mark_quote(row, quote)[1] == 3


def test_cli_options(monkeypatch):
    from rag.errors import ConfigError
    from rag.web import ui

    args = ui.parse_args([], {"RAG_WEB_PORT": "9000", "RAG_WEB_AUTH": "u:p"})
    assert (args.host, args.port, args.share, ui.parse_auth(args.auth)) == ("127.0.0.1", 9000, False, ("u", "p"))
    assert ui.parse_args(["--port", "7000", "--host", "0.0.0.0"], {}).port == 7000
    with pytest.raises(ConfigError):
        ui.parse_auth("nopassword")


# --- issue 11: questions queued while another streams; chips of every answer open; markers as chips

def test_question_sent_while_answering_is_shown_queued_and_answered_next(handlers):
    session = Session()
    chat, session, box = handlers.submit("What is a GPU for?", session)
    loop = handlers.answer_pending(session)
    next(loop)                                      # the first answer has started
    next(loop)                                      # ... and is streaming
    chat, session, box = handlers.submit("What is GPU virtualization?", session)
    assert box == "" and len(chat) == 4
    assert "What is GPU virtualization?" in chat[2]["content"] and "rag-waiting" in chat[3]["content"]
    # its own event finds the loop running and leaves the question to it
    assert all(v == gr.skip() for v in next(handlers.answer_pending(session)))
    steps = list(loop)
    final = steps[-1][0]
    assert [m["role"] for m in final] == ["user", "assistant"] * 2
    assert "parallel work" in final[1]["content"] and "share one GPU" in final[3]["content"]
    assert not any("rag-waiting" in m["content"] for m in final)
    first, second = handlers.engine.calls
    assert second["history"][0] == {"role": "user", "content": "What is a GPU for?"}   # answered after the first
    assert session.pending == [] and session.answering is False


def test_chips_of_earlier_answers_and_markers_open_their_section(handlers):
    session = run(handlers, "What is a GPU for?")[-1][1]                         # turn 0 cites 4.5
    session = run(handlers, "What is GPU virtualization?", session)[-1][1]       # turn 1 cites 5.2
    first, second = session.display[1]["content"], session.display[3]["content"]
    refs_first = re.findall(r"rag-ref-[\d_-]+", first)
    assert refs_first and set(refs_first) == {"rag-ref-0-4_5"}                  # the marker and the source chip
    assert set(re.findall(r"rag-ref-[\d_-]+", second)) == {"rag-ref-1-5_2"}
    assert 'rag-section-head">4.5 CPU vs. GPU' in handlers.open_ref("rag-ref-0-4_5", session)
    assert 'rag-section-head">5.2 vGPU란' in handlers.open_ref("rag-ref-1-5_2", session)
    for bad in ("rag-ref-0-5_2", "rag-ref-7-4_5", "rag-ref-0-4_5 x", "0|4.5", None, 3):
        assert handlers.open_ref(bad, session) == ""
    assert "[4.5]" not in first and "[5.2]" not in second


def test_markers_become_chips_and_nothing_else_becomes_html():
    hostile = '[4.5] <img src=x onerror=alert(1)> [9.9" onclick="x] [4.5, 5.2] [4.5](javascript:alert(1)) `[4.5]`'
    html = render.render_answer_text(hostile, {"4.5": "4.5 CPU <b>vs</b> GPU"}, turn=2)
    tags = re.findall(r"<(\w+)([^>]*)>", html)
    assert {tag for tag, _ in tags} <= {"p", "span", "code"}
    attributes = {name for _, attrs in tags for name in re.findall(r'(\S+?)="', attrs)}
    assert attributes <= {"class", "role", "tabindex", "title"}, attributes
    assert html.count("rag-ref-2-4_5") == 3                 # two markers and the one in a code span
    assert '<span class="rag-chip rag-chip-marker">5.2</span>' in html   # not cited: shown, opens nothing
    assert 'title="4.5 CPU &lt;b&gt;vs&lt;/b&gt; GPU"' in html
    # only "[4.5](javascript:...)" keeps its brackets: link syntax, which markdown-it shows as plain text
    assert re.sub(r"<[^>]+>", "", html).count("[4.5]") == 1 and "[4.5](javascript:" in html
    # while streaming nothing opens yet; private-use sentinels typed by a model are dropped
    assert "rag-open" not in render.render_streaming("GPUs [4.5] \ue002x\ue003")
    assert "\ue002" not in render.render_streaming("GPUs [4.5] \ue002x\ue003")


def test_clear_while_streaming_stops_the_old_answer(handlers):
    session = Session()
    handlers.submit("Explain slowly what a GPU is", session)
    loop = handlers.answer_pending(session)
    next(loop)
    handlers.submit("What is GPU virtualization?", session)    # queued behind it
    chat, same, *_ = handlers.clear(session)
    assert chat == [] and same is session and session.pending == []
    rest = list(loop)
    assert all(step[0] == [] for step in rest)                  # the old answer never comes back
    assert session.history == [] and session.answering is False


def test_a_refusals_closest_section_chips_open_those_sections(handlers):
    session = run(handlers, "What is the weather today?")[-1][1]
    refusal = session.display[1]["content"]
    assert set(re.findall(r"rag-ref-[\d_-]+", refusal)) == {"rag-ref-0-4_5", "rag-ref-0-5_2"}
    view = handlers.open_ref("rag-ref-0-5_2", session)
    assert 'rag-section-head">5.2 vGPU란' in view and "rag-quote-box" not in view   # no quote: not a citation


def test_chat_logs_questions_under_the_browser_id_until_the_student_unticks_sharing(handlers):
    session = Session(student="b" * 32)
    assert session.record is True                                   # the notice's box starts ticked
    run(handlers, "What is a GPU for?", session)
    assert handlers.engine.calls[-1]["student"] == "b" * 32 and handlers.engine.calls[-1]["record"] is True
    assert handlers.set_record(False, session) is session and session.record is False
    run(handlers, "What is GPU virtualization?", session)
    assert handlers.engine.calls[-1]["record"] is False             # unticked: nothing logged for this session
    handlers.clear(session)                                         # a new conversation keeps the choice
    run(handlers, "What is the weather today?", session)
    assert handlers.engine.calls[-1]["record"] is False and handlers.engine.calls[-1]["student"] == "b" * 32
    handlers.set_record(True, session)
    run(handlers, "What is a GPU for?", session)
    assert handlers.engine.calls[-1]["record"] is True


def test_the_sharing_notice_is_under_the_chat_input_ticked():
    demo = build_ui(FakeEngine())
    boxes = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "rag-share"]
    assert len(boxes) == 1 and boxes[0].value is True
    assert "선생님께 공유" in boxes[0].label and "Share my questions with the teacher (anonymous)" in boxes[0].label
