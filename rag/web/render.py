"""Turn answers and sections into HTML for the web chat. Pure functions, no Gradio.

Everything that comes from the notes, the model or the user goes through Markdown with raw HTML
switched off (markdown-it escapes it) or through ``html.escape``; the only tags in the output are the
ones written here. The Chatbot and gr.HTML are handed finished HTML, so their own sanitisers are a
second line of defence, not the first.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

from ..types import Answer, Citation, Hit

# Private-use characters that mark a highlighted quote in Markdown text before rendering; they pass
# through markdown-it untouched and are swapped for <mark> afterwards.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MIN_FRAGMENT = 6   # shorter quote fragments ("- GPU") would highlight noise
# The same for section markers ("[4.4]") in answer text: swapped for chips after rendering, so the only
# thing that travels from the model's text into a chip is a section number matched by _SECTION.
_REF_OPEN, _REF_CLOSE = "\ue002", "\ue003"
_SENTINELS = (_MARK_OPEN, _MARK_CLOSE, _REF_OPEN, _REF_CLOSE)
_SECTION = r"\d{1,3}(?:\.\d{1,3}){1,3}"
# "[4.4]", "[§4.4]", "[Section 4.4]", "[4.4, 4.5]"; not "[4.4](link)", which is Markdown's own
_MARKER = re.compile(rf"\[\s*((?:(?:§|section)\s*)?{_SECTION}(?:\s*[,;]\s*(?:(?:§|section)\s*)?{_SECTION})*)\s*\](?!\()",
                     re.IGNORECASE)
# A chip that opens a section carries "rag-open rag-ref-<turn>-<section, _ for .>" in its class: the
# Chatbot's sanitiser drops data-* attributes but keeps classes. static/chips.js sends the name back.
_REF = re.compile(r"rag-ref-(\d{1,4})-(\d{1,3}(?:_\d{1,3}){1,3})")

LABELS = {
    "ko": {
        "refused": "노트에서 답을 찾지 못했습니다",
        "closest": "가장 가까운 섹션",
        "sources": "출처",
        "ko_col": "한국어 원문",
        "en_col": "English companion",
        "missing": "이 언어의 노트가 아직 없습니다.",
        "open": "섹션 열기",
    },
    "en": {
        "refused": "The notes do not cover this",
        "closest": "Closest sections",
        "sources": "Sources",
        "ko_col": "한국어 원문 (Korean original)",
        "en_col": "English companion",
        "missing": "No notes in this language for this section yet.",
        "open": "Open section",
    },
}
# Shown in place of an answer while the question waits for the one before it (both languages: the
# question's language is not known until the engine answers).
WAITING = "대기 중: 앞 질문에 답한 뒤 답합니다 · Queued: answered after the question above"


def labels(language: str) -> dict:
    return LABELS.get(language, LABELS["en"])


def bilingual(key: str, **values) -> str:
    """"한국어 · English" of a study-page message (rag/prompts/study_messages.json): labels shown before the
    page knows the student's language."""
    from ..prompts import message

    return " · ".join(message(key, lang, messages="study_messages.json", **values) for lang in ("ko", "en"))


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # html=False: raw HTML in notes or answers is shown as text. Images are off so nothing is fetched
    # from addresses written in a note; markdown-it already refuses javascript: links.
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


def _strip_sentinels(text: str) -> str:
    for sentinel in _SENTINELS:
        text = text.replace(sentinel, "")
    return text


def render_markdown(text: str) -> str:
    """Markdown -> safe HTML on one logical block (no blank lines, which would end a Chatbot HTML block)."""
    return _flatten(_markdown().render(_strip_sentinels(text or "")))


def render_answer_text(text: str, openable: dict | None = None, turn: int | None = None) -> str:
    """Answer Markdown -> safe HTML with each section marker ("[4.4]") shown as a chip.

    ``openable`` maps section numbers to their labels ("4.4 Title"); those chips carry the class
    ``rag-ref-<turn>-4_4`` so a click opens the section (static/chips.js). Markers of other
    sections are shown as plain chips. Markers are swapped for sentinels before Markdown so that
    "[4.4]" is never read as link syntax, and back to chips after it has escaped everything else.
    """
    def protect(match: re.Match) -> str:
        numbers = re.findall(_SECTION, match.group(1))
        return " ".join(_REF_OPEN + n + _REF_CLOSE for n in numbers)

    marked = _MARKER.sub(protect, _strip_sentinels(text or ""))
    rendered = _flatten(_markdown().render(marked))
    return re.sub(f"{_REF_OPEN}({_SECTION}){_REF_CLOSE}",
                  lambda m: _marker_chip(m.group(1), openable or {}, turn), rendered)


def _marker_chip(number: str, openable: dict, turn: int | None) -> str:
    label = openable.get(number)
    if label is None or turn is None:
        return f'<span class="rag-chip rag-chip-marker">{number}</span>'
    return f'<span class="rag-chip rag-chip-marker{_opens(turn, number)} title="{html.escape(label)}">{number}</span>'


def _opens(turn: int, number: str) -> str:
    """The rest of a chip's class attribute (closing quote included) that makes it open a section."""
    # role/tabindex: reachable and announced as a button; chips.js opens it on click, Enter or Space
    return f' rag-open rag-ref-{turn}-{number.replace(".", "_")}" role="button" tabindex="0"'


def parse_ref(ref) -> tuple[int, str] | None:
    """(turn, section) from a chip's "rag-ref-..." class name, or None for anything else."""
    match = _REF.fullmatch(ref) if isinstance(ref, str) else None
    return (int(match.group(1)), match.group(2).replace("_", ".")) if match else None


def _flatten(rendered: str) -> str:
    # Newlines inside <pre> are content; elsewhere they are only whitespace between tags.
    parts = re.split(r"(<pre>.*?</pre>)", rendered, flags=re.S)
    return "".join(p.replace("\n", "&#10;") if p.startswith("<pre>") else p.replace("\n", "") for p in parts)


def chip_label(item: Citation | Hit) -> str:
    """'4.5 CPU vs. GPU' - plain text; escape it where it becomes HTML."""
    return f"{item.section} {item.title}".strip()


def suggestion_question(hit: Hit, language: str) -> str:
    label = chip_label(hit)
    if language == "ko":
        return f"{label}에 대해 설명해 주세요"
    return f"Tell me about {label}"


def format_ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def total_ms(timings: dict) -> float:
    if "total" in timings:
        return float(timings["total"])
    return float(sum(timings.values()))


def render_meta(answer: Answer) -> str:
    """'extractive · 1.2 s' as an escaped HTML line; the stage breakdown goes in the tooltip."""
    parts = [html.escape(answer.generator or "?")]
    if answer.timings:
        parts.append(format_ms(total_ms(answer.timings)))
    detail = ", ".join(f"{k} {format_ms(v)}" for k, v in answer.timings.items())
    return f'<div class="rag-meta" title="{html.escape(detail)}">{" · ".join(parts)}</div>'


def render_chips(items: list, css_class: str = "rag-chip", turn: int | None = None) -> str:
    """Chips for citations or hits; with ``turn`` each one opens its section when clicked."""
    out = []
    for item in items:
        opens = turn is not None and re.fullmatch(_SECTION, item.section)
        attrs = _opens(turn, item.section) if opens else '"'
        out.append(f'<span class="{css_class}{attrs}>{html.escape(chip_label(item))}</span>')
    return "".join(out)


def render_user_message(question: str) -> str:
    return "<p>" + html.escape(question).replace("\n", "<br>") + "</p>"


def render_streaming(text: str) -> str:
    return f'<div class="rag-answer rag-streaming">{render_answer_text(text)}</div>'


def render_waiting() -> str:
    return f'<div class="rag-waiting">{html.escape(WAITING)}</div>'


def openable_sections(answer: Answer) -> list[Citation]:
    """What the chips of a finished answer open: its citations, or a refusal's closest sections."""
    if answer.refused:
        return [Citation(h.doc, h.section, h.title, "", h.score) for h in answer.suggestions]
    return unique_citations(answer.citations)


def render_answer(answer: Answer, turn: int | None = None) -> str:
    """The finished assistant message: notice, answer or refusal, source chips, generator and time.

    With ``turn`` (the answer's number in the conversation) its chips and markers open their sections
    when clicked, in this answer and in every later one.
    """
    lab = labels(answer.language)
    openable = {c.section: chip_label(c) for c in openable_sections(answer)}
    out = []
    if answer.notice:
        out.append(f'<div class="rag-notice">⚠ {html.escape(answer.notice)}</div>')
    if answer.refused:
        out.append(f'<div class="rag-refusal"><div class="rag-refusal-title">{lab["refused"]}</div>')
        out.append(render_answer_text(answer.text, openable, turn))
        if answer.suggestions:
            out.append(f'<div class="rag-chips"><span class="rag-chips-label">{lab["closest"]}:</span>')
            out.append(render_chips(answer.suggestions, "rag-chip rag-chip-suggest", turn) + "</div>")
        out.append("</div>")
    else:
        out.append(f'<div class="rag-answer">{render_answer_text(answer.text, openable, turn)}</div>')
        if answer.citations:
            out.append(f'<div class="rag-chips"><span class="rag-chips-label">{lab["sources"]}:</span>')
            out.append(render_chips(unique_citations(answer.citations), turn=turn) + "</div>")
    out.append(render_meta(answer))
    return "".join(out)


def render_error(message: str) -> str:
    return f'<div class="rag-error">{html.escape(message)}</div>'


def unique_citations(citations: list[Citation]) -> list[Citation]:
    """One chip per section, first (best) citation kept."""
    seen, out = set(), []
    for c in citations:
        if (c.doc, c.section) not in seen:
            seen.add((c.doc, c.section))
            out.append(c)
    return out



def _fragments(quote: str) -> list[str]:
    """Split a quote into pieces that each sit inside one line or one table cell.

    Extractive quotes re-join table rows ("CPU: - a - b; GPU: ..."), so ';', ': ' and ' - ' split too.
    """
    pieces = re.split(r"\n|\||;|\s:\s|:\s|\s-\s|(?<=[.!?。])\s+", quote or "")
    out = []
    for p in pieces:
        p = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", p).strip(" \t:;")
        if len(p) >= _MIN_FRAGMENT:
            out.append(p)
    return sorted(set(out), key=len, reverse=True)


def mark_quote(text: str, quote: str) -> tuple[str, int]:
    """Wrap each quote fragment found in ``text`` with the mark sentinels; returns (text, found)."""
    text = _strip_sentinels(text or "")
    spans: list[tuple[int, int]] = []
    for frag in _fragments(quote):
        pattern = r"\s+".join(re.escape(w) for w in frag.split())
        for m in re.finditer(pattern, text):
            if not any(m.start() < e and s < m.end() for s, e in spans):
                spans.append((m.start(), m.end()))
    for s, e in sorted(spans, reverse=True):
        text = text[:s] + _MARK_OPEN + text[s:e] + _MARK_CLOSE + text[e:]
    return text, len(spans)


def render_highlighted(text: str, quote: str) -> tuple[str, int]:
    marked, found = mark_quote(text, quote)
    rendered = _flatten(_markdown().render(marked))
    rendered = rendered.replace(_MARK_OPEN, '<mark class="rag-quote">').replace(_MARK_CLOSE, "</mark>")
    return rendered, found


def _column(side: dict | None, heading: str, quote: str, lab: dict, lang: str) -> tuple[str, int]:
    head = f'<div class="rag-col-head">{html.escape(heading)}</div>'
    if not side or not side.get("text"):
        return f'<div class="rag-col" lang="{lang}">{head}<p class="rag-muted">{lab["missing"]}</p></div>', 0
    body, found = render_highlighted(side["text"], quote)
    title = f'<div class="rag-col-title">{html.escape(side.get("title") or "")}</div>'
    return f'<div class="rag-col" lang="{lang}">{head}{title}<div class="rag-md">{body}</div></div>', found


def render_section(view: dict, citation: Citation, language: str = "en") -> str:
    """Korean original and English companion side by side, the citation's quote highlighted.

    A quote found in neither text (a paraphrase, say) is shown above the columns instead.
    """
    lab = labels(language)
    head = f'<div class="rag-section-head">{html.escape(chip_label(citation))}</div>'
    ko, found_ko = _column(view.get("ko"), lab["ko_col"], citation.quote, lab, "ko")
    en, found_en = _column(view.get("en"), lab["en_col"], citation.quote, lab, "en")
    quote = ""
    if citation.quote and not (found_ko or found_en):
        quote = f'<blockquote class="rag-quote-box">{html.escape(citation.quote)}</blockquote>'
    return f'<div class="rag-section">{head}{quote}<div class="rag-cols">{ko}{en}</div></div>'


def render_status(status: dict) -> str:
    """Engine status: generator and section count in the line, everything else in the tooltip."""
    status = status or {}
    shown = [k for k in ("generator", "sections") if k in status] or list(status)[:2]
    items = [f"{html.escape(str(k))}: <b>{html.escape(str(status[k]))}</b>" for k in shown]
    detail = html.escape(" · ".join(f"{k}: {v}" for k, v in status.items()))
    return f'<div class="rag-status" title="{detail}">' + " · ".join(items) + "</div>"
