"""Cut sections into chunks for indexing. Pure: no I/O.

A chunk never crosses a section. A long section is split at block boundaries with overlap and keeps its
section number. A table stays whole when it fits, otherwise it is split by rows, each piece keeping the
header so that a row is never read without its column names.
"""
from __future__ import annotations

import re

from ..text.markdown import plain
from ..types import Chunk, Section


def is_table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") or stripped.count(" | ") >= 1 or stripped.endswith(" |")


def split_blocks(text: str) -> list[tuple[str, list[str]]]:
    """Group lines into ("table", lines) and ("text", [line]) blocks, in order."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if is_table_line(line) or (blocks and blocks[-1][0] == "table" and blocks[-1][1][-1].rstrip().endswith("|")
                                   and line.lstrip().startswith("- ")):
            # raw-text tables continue a row on the next line ("... |" then "- more"): keep them together
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1].append(line)
                continue
            blocks.append(("table", [line]))
        else:
            blocks.append(("text", [line]))
    return blocks


def _table_pieces(lines: list[str], max_chars: int) -> list[str]:
    whole = "\n".join(lines)
    if len(whole) <= max_chars:
        return [whole]
    has_separator = len(lines) > 1 and set(lines[1].replace("|", "").strip()) <= set("-: ")
    header = lines[:2] if has_separator else lines[:1]
    pieces, current = [], list(header)
    for row in lines[len(header):]:
        if len(current) > len(header) and len("\n".join(current + [row])) > max_chars:
            pieces.append("\n".join(current))
            current = list(header)
        current.append(row)
    pieces.append("\n".join(current))
    return pieces


def _pack_text(lines: list[str], max_chars: int, overlap: int) -> list[str]:
    pieces, current = [], []
    for line in lines:
        if current and len("\n".join(current + [line])) > max_chars:
            pieces.append("\n".join(current))
            carried, size = [], 0
            for previous in reversed(current):    # overlap: carry trailing lines into the next piece
                # at least the last line, when it is not most of a chunk itself
                limit = overlap if carried else max(overlap, max_chars // 2)
                if size + len(previous) > limit:
                    break
                carried.insert(0, previous)
                size += len(previous)
            current = carried
        current.append(line)
    if current:
        pieces.append("\n".join(current))
    return pieces


def chunk_section(section: Section, max_chars: int = 900, overlap: int = 150) -> list[Chunk]:
    pieces: list[str] = []
    pending_text: list[str] = []
    for kind, lines in split_blocks(section.text):
        if kind == "text":
            pending_text.extend(lines)
            continue
        if pending_text:
            pieces.extend(_pack_text(pending_text, max_chars, overlap))
            pending_text = []
        pieces.extend(_table_pieces(lines, max_chars))
    if pending_text:
        pieces.extend(_pack_text(pending_text, max_chars, overlap))
    pieces = _merge_small(pieces, max_chars)
    if not pieces:
        pieces = [""]   # a heading with no text is still findable by its title
    return [
        Chunk(id=f"{section.doc}:{section.language}:{section.section}:{i}", doc=section.doc,
              section=section.section, title=section.title, chapter_title=section.chapter_title,
              language=section.language, text=piece, part=i)
        for i, piece in enumerate(pieces)
    ]


def _merge_small(pieces: list[str], max_chars: int) -> list[str]:
    # Short text right before a table (its lead-in) belongs with it when both fit.
    merged: list[str] = []
    for piece in pieces:
        if merged and len(merged[-1]) + len(piece) + 1 <= max_chars:
            merged[-1] = merged[-1] + "\n" + piece
        else:
            merged.append(piece)
    return merged


def index_text(chunk: Chunk) -> str:
    """What the indexes see: the heading path gives short chunks their topic."""
    return f"{chunk.section} {chunk.title} ({chunk.chapter_title})\n{chunk.text}".strip()


def chunk_sections(sections: list[Section], max_chars: int = 900, overlap: int = 150) -> list[Chunk]:
    return [chunk for section in sections for chunk in chunk_section(section, max_chars, overlap)]


# a bold line standing alone heads what follows ("**평균 원자량 구하기**", "**Three-way handshake:**"): alone it is a short
# line the line leg matches by chance across languages; joined to the line after it, that line carries its topic
_BOLD_HEADING = re.compile(r"^(\*\*|__)[^*_]+\1\s*:?$")


def section_units(section: Section) -> list[str]:
    """Lines of a section as answer units; a table row becomes "header: cell; header: cell"."""
    units, header, heading = [], None, ""
    for line in section.text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if header is None:
                header = cells
                continue
            pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells) if c]
            units.append(_headed(heading, plain("; ".join(pairs))))
            heading = ""
            continue
        header = None
        if _BOLD_HEADING.match(stripped):
            heading = plain(stripped).rstrip(":").strip()   # "**평균 원자량 구하기**": it heads the line after it
            continue
        # a bullet is "-" or "* " (a lone "*" would eat one mark of "**term**", a "-" before a digit is a minus
        # sign); ":" opens a section's summary
        units.append(_headed(heading, plain(re.sub(r"^-(?:\s+|(?![\d.]))|^\*\s+|^:\s*|^\d+\)\s*", "", stripped))))
        heading = ""
    if heading:
        units.append(heading)
    return [u for u in units if u]


def _headed(heading: str, unit: str) -> str:
    return f"{heading}: {unit}" if heading and unit else unit


def line_text(section: Section, unit: str) -> str:
    """What the line leg embeds for one line: its section's number and title give a short line its topic."""
    return f"{section.section} {section.title}\n{unit}"


def section_lines(sections: list[Section], chunks: list[Chunk]) -> list[dict]:
    """Every line of the notes (``section_units``), each with the chunk that holds it: a line found by the
    line leg brings its chunk into the hit like any other leg. A table row, rewritten as "header: cell",
    or a line cut across chunks falls back to its section's first chunk."""
    by_section: dict[tuple[str, str, str], list[int]] = {}
    for position, chunk in enumerate(chunks):
        by_section.setdefault((chunk.doc, chunk.language, chunk.section), []).append(position)
    plain_texts = [plain(chunk.text) for chunk in chunks]   # once, not once per line
    lines = []
    for section in sections:
        positions = by_section.get((section.doc, section.language, section.section))
        if not positions:
            continue
        for unit in section_units(section):
            holder = next((p for p in positions if unit in plain_texts[p]), positions[0])
            lines.append({"chunk": holder, "unit": unit, "text": line_text(section, unit)})
    return lines
