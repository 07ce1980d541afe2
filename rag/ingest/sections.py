"""Split course notes into numbered sections.

Reads Markdown (``### 4.5 CPU vs. GPU``) and plain text (``4.5 CPU vs. GPU`` at the start of a line) alike.
Pure functions: text in, sections and warnings out; file handling lives in ``loaders``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..types import Section

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_NUMBERED = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.?\s+(\S.*?)\s*$")
# Page chrome of blog exports: dropped lines, and a marker after which nothing is course text.
_CHROME_LINES = {"반응형"}
_CHROME_END = re.compile(r"카테고리의 다른 글\s*$")
_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")


@dataclass(frozen=True)
class ParseWarning:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass
class ParsedNotes:
    meta: dict
    sections: list[Section]
    warnings: list[ParseWarning]


def split_front_matter(text: str) -> tuple[dict, list[str], int]:
    """Return (metadata, remaining lines, number of lines consumed)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, lines, 0
    meta: dict = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, lines[i + 1:], i + 1
        match = _FRONT_MATTER_KEY.match(line.strip())
        if match:
            meta[match.group(1).lower()] = match.group(2).strip().strip('"')
    return {}, lines, 0  # no closing fence: treat it all as text


def _heading(line: str, markdown: bool, headings_only: bool = False) -> tuple[str, str] | None:
    """(number, title) if the line is a numbered heading."""
    stripped = line.strip()
    md = _MD_HEADING.match(stripped)
    if md:
        stripped = md.group(2)
    elif headings_only or (markdown and not _looks_like_plain_heading(stripped)):
        return None
    match = _NUMBERED.match(stripped)
    if not match or "|" in stripped:
        return None
    return match.group(1), match.group(2)


def _looks_like_plain_heading(line: str) -> bool:
    # A plain-text heading is a short line that starts with its number; list items like "1) ..." are not.
    return len(line) <= 120 and bool(_NUMBERED.match(line))


def parse_sections(text: str, source: str = "<text>", doc: str = "notes", language: str = "ko",
                   headings_only: bool = False) -> ParsedNotes:
    """``headings_only``: only Markdown heading lines ("### 4.5 Title") are headings, and every numbered one is
    taken as written (text converted from PDF/Word, whose headings the converter wrote: a body line "1.5 million
    GPUs" or "3. Install" stays text)."""
    meta, lines, offset = split_front_matter(text)
    doc = meta.get("doc", doc)
    language = meta.get("language", language)
    markdown = source.endswith((".md", ".markdown")) or any(_MD_HEADING.match(l) for l in lines[:200])
    warnings: list[ParseWarning] = []
    sections: list[dict] = []
    chapter, chapter_title = "", ""
    current: dict | None = None

    for index, raw in enumerate(lines, start=offset + 1):
        line = raw.rstrip()
        if line.strip() in _CHROME_LINES:
            continue
        if _CHROME_END.search(line):
            break
        heading = _heading(line, markdown, headings_only)
        if heading and "." not in heading[0] and (headings_only or _accept_chapter(heading[0], chapter, current)):
            chapter, chapter_title = heading
            current = None
            continue
        if heading and "." in heading[0]:
            number, title = heading
            major = number.split(".")[0]
            if major != chapter:
                chapter, chapter_title = major, chapter_title if major == chapter else ""
            current = {"section": number, "title": title, "chapter": chapter,
                       "chapter_title": chapter_title, "line": index, "body": []}
            sections.append(current)
            continue
        if current is not None:
            if _MD_HEADING.match(line.strip()):
                continue  # unnumbered headings (document title) are not section text
            current["body"].append(line)
    return ParsedNotes(meta, _finish(sections, doc, language, source, warnings), warnings)


def _accept_chapter(number: str, chapter: str, current: dict | None) -> bool:
    # "3. foo" inside a section is a numbered list item unless it is the next chapter's number.
    if not chapter:
        return current is None or int(number) >= 1
    return int(number) == int(chapter) + 1


def _finish(raw_sections: list[dict], doc: str, language: str, source: str,
            warnings: list[ParseWarning]) -> list[Section]:
    by_number: dict[str, Section] = {}
    for item in raw_sections:
        body = _tidy(item["body"])
        if not body:
            warnings.append(ParseWarning(source, item["line"],
                                         f"section {item['section']} has a heading but no text"))
        if item["section"] in by_number:
            first = by_number[item["section"]]
            warnings.append(ParseWarning(
                source, item["line"],
                f"duplicate section number {item['section']} (first at line {first.line}); "
                "its text was appended to the first one"))
            by_number[item["section"]] = Section(**{**first.__dict__, "text": _tidy([first.text, body])})
            continue
        by_number[item["section"]] = Section(
            doc=doc, section=item["section"], title=item["title"], chapter=item["chapter"],
            chapter_title=item["chapter_title"], language=language, text=body, source=source,
            line=item["line"])
    return list(by_number.values())


def _tidy(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()
