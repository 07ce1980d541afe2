"""Markdown emphasis in notes: what a student reads is the words, not the marks.

Teachers' Markdown notes mark terms in bold ("The **mean** is ...") and write run-in sub-headings as bold lines
("**pH**" above the lines about it). Quoted as evidence or offered as a quiz choice, the marks are noise (and a
bullet rule that strips one "*" leaves "*pH**"). A bold line standing alone heads the line after it and is joined to
it there (``rag.ingest.chunking.section_units``): "**평균 원자량 구하기**" tells a how-to question what the steps below are.
"""
from __future__ import annotations

import re

_EMPHASIS = re.compile(r"(\*\*|__)(?P<inner>\S(?:.*?\S)?)\1")


def plain(text: str) -> str:
    """Emphasis marks dropped: "**mean**" -> "mean"."""
    return _EMPHASIS.sub(r"\g<inner>", text)

