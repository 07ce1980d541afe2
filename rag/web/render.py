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

LABELS = {
    "ko": {
        "refused": "노트에서 답을 찾지 못했습니다",
        "closest": "가장 가까운 섹션",
        "sources": "출처",
        "ko_col": "한국어 원문",
        "en_col": "English companion",
        "missing": "이 언어의 노트가 아직 없습니다.",
    },
    "en": {
        "refused": "The notes do not cover this",
        "closest": "Closest sections",
        "sources": "Sources",
        "ko_col": "한국어 원문 (Korean original)",
        "en_col": "English companion",
        "missing": "No notes in this language for this section yet.",
    },
}


def labels(language: str) -> dict:
    return LABELS.get(language, LABELS["en"])


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # html=False: raw HTML in notes or answers is shown as text. Images are off so nothing is fetched
    # from addresses written in a note; markdown-it already refuses javascript: links.
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


def render_markdown(text: str) -> str:
    """Markdown -> safe HTML on one logical block (no blank lines, which would end a Chatbot HTML block)."""
    text = (text or "").replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
    return _flatten(_markdown().render(text))


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


def render_chips(items: list, css_class: str = "rag-chip") -> str:
    return "".join(f'<span class="{css_class}">{html.escape(chip_label(i))}</span>' for i in items)


def render_user_message(question: str) -> str:
    return "<p>" + html.escape(question).replace("\n", "<br>") + "</p>"


def render_streaming(text: str) -> str:
    return f'<div class="rag-answer rag-streaming">{render_markdown(text)}</div>'


def render_answer(answer: Answer) -> str:
    """The finished assistant message: notice, answer or refusal, source chips, generator and time."""
    lab = labels(answer.language)
    out = []
    if answer.notice:
        out.append(f'<div class="rag-notice">⚠ {html.escape(answer.notice)}</div>')
    if answer.refused:
        out.append(f'<div class="rag-refusal"><div class="rag-refusal-title">{lab["refused"]}</div>')
        out.append(render_markdown(answer.text))
        if answer.suggestions:
            out.append(f'<div class="rag-chips"><span class="rag-chips-label">{lab["closest"]}:</span>')
            out.append(render_chips(answer.suggestions, "rag-chip rag-chip-suggest") + "</div>")
        out.append("</div>")
    else:
        out.append(f'<div class="rag-answer">{render_markdown(answer.text)}</div>')
        if answer.citations:
            out.append(f'<div class="rag-chips"><span class="rag-chips-label">{lab["sources"]}:</span>')
            out.append(render_chips(unique_citations(answer.citations)) + "</div>")
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
    text = (text or "").replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
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
