"""Course notes brought as PDF or Word (.docx), converted to the Markdown-like text ``parse_sections`` reads.

The converter writes every heading itself ("## 4. Chapter", "### 4.5 Section"), so the text is parsed with
``headings_only`` and chunking, citations and the quiz work as for Markdown notes. Numbering:

* a heading that is already numbered ("4.5 CPU vs GPU") keeps its number; the others are numbered in order from
  the heading levels (1, 1.1, 1.2, 2, 2.1, ...). One level only: they are the sections of one chapter (1.1, 1.2,
  ...) named after the document. Text under a chapter heading before its first section is section N.0 (N.1 when
  the chapter has no sections); text before the first heading is section 0.1.
* DOCX: heading paragraphs (style "Heading 1/2/3", "제목 1/2/3"); paragraphs as lines, list paragraphs as "- "
  bullets, tables as Markdown tables.
* PDF, in this order: (1) its outline (bookmarks), each entry cut out of the page text where its title is found
  there (else from the top of its page); (2) numbered heading lines in the text ("4.5 Title" on a line of its
  own), used only when they are consistent: at least two sections, numbers in ascending order, none repeated, and
  their text at least half of the document's; (3) one section per page, "1.N p. N" (the citation names the page).
  Lines wrapped by the page layout are joined back into paragraphs.

Errors name the file: a scanned PDF (no text layer), a password-protected or damaged file, one over
``MAX_DOCUMENT_BYTES``. ``loaders.load_notes`` turns each into a warning and goes on with the other files.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NotesError
from .sections import parse_sections

DOCUMENT_SUFFIXES = (".pdf", ".docx")
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024   # slides exported as PDF carry images: larger than text notes
MIN_PAGE_CHARS = 16                     # a page with fewer non-space characters has no real text layer
_NUMBERED_TITLE = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.?\s+(\S.*?)\s*$")
_HEADING_STYLE = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(?:title|제목)$", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[•▪◦●○■□➢►‣∙·]\s*|[-*]\s+)")
_SENTENCE_END = re.compile(r"[.!?:;。)\]」』]$")
_LIST_START = re.compile(r"^(?:[•▪◦●○■□➢►‣∙·*-]\s|\d{1,3}[.)]\s|\d{1,3}(?:\.\d{1,3})+\s|\|)")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"        # an encrypted .docx (or an old .doc) is an OLE file, not a zip


@dataclass
class Converted:
    text: str                 # notes text with numbered headings
    sha256: str               # of the file and its converted text: a better converter rebuilds the index
    headings_only: bool       # True: only the converter's "#" lines are headings (see parse_sections)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Heading:
    level: int                # 1 = top
    title: str
    lines: list[str] = field(default_factory=list)


def read_document(path: Path) -> Converted:
    """The PDF or DOCX at ``path`` as notes text, or NotesError naming the file."""
    path = Path(path)
    data = read_bytes(path, MAX_DOCUMENT_BYTES)
    title = path.stem
    if path.suffix.lower() == ".pdf":
        text, headings_only, warnings = _pdf_text(path, data, title)
    else:
        text, headings_only, warnings = _docx_text(path, data, title), True, []
    sha = hashlib.sha256(hashlib.sha256(data).digest() + text.encode("utf-8")).hexdigest()
    return Converted(text, sha, headings_only, warnings)


def read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, or NotesError naming it when it is over ``limit`` bytes or cannot be read."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise NotesError(f"{path}: {size / 1e6:.1f} MB is too large for course notes "
                             f"(limit {limit // (1024 * 1024)} MB); split it or remove it.")
        return path.read_bytes()
    except OSError as exc:
        raise NotesError(f"{path}: cannot read it ({exc.strerror}).") from exc


# -- numbering: headings -> "## N. Title" / "### N.M Title" ----------------------------------------------

def outline_markdown(title: str, preamble: list[str], headings: list[_Heading]) -> str:
    """Notes text for a document's headings (in order, each with the lines under it)."""
    out: list[str] = []
    top = min((h.level for h in headings), default=0)
    if len(headings) > 1 and [h.level for h in headings].count(top) == 1 and headings[0].level == top \
            and not _NUMBERED_TITLE.match(headings[0].title):
        # one top heading over all the others is the document's title ("Lecture notes" > chapters)
        title, preamble, headings = headings[0].title, preamble + headings[0].lines, headings[1:]
    if not headings:
        return "\n".join([f"## 1. {title}", f"### 1.1 {title}", *_body(preamble)]) + "\n"
    if any(line.strip() for line in preamble):
        out += [f"## 0. {title}", f"### 0.1 {title}", *_body(preamble), ""]
    numbered = _number(title, headings)
    for i, (parts, heading_title, lines) in enumerate(numbered):
        number = ".".join(map(str, parts))
        following = numbered[i + 1][0] if i + 1 < len(numbered) else []
        has_children = len(following) > len(parts) and following[:len(parts)] == parts
        has_text = any(line.strip() for line in lines)
        if len(parts) == 1:
            out.append(f"## {number}. {heading_title}")
            if has_text:
                out.append(f"### {number}.{0 if has_children else 1} {heading_title}")
        elif has_text or not has_children:   # an empty heading over sub-sections: they carry its number
            out.append(f"### {number} {heading_title}")
        out += [*_body(lines), ""]
    return "\n".join(out) + "\n"


def _number(title: str, headings: list[_Heading]) -> list[tuple[list[int], str, list[str]]]:
    explicit = [_NUMBERED_TITLE.match(h.title) for h in headings]
    levels = sorted({h.level for h, m in zip(headings, explicit) if not m})
    rank = {level: i + 1 for i, level in enumerate(levels)}
    # one level of unnumbered headings and no numbered chapter: the sections of one chapter named after the file
    flat = len(levels) == 1 and not any(m and "." not in m.group(1) for m in explicit)
    counters: list[int] = []
    out: list[tuple[list[int], str, list[str]]] = []
    if flat and not (explicit[0] and "." in explicit[0].group(1)):
        counters = [1]
        out.append(([1], title, []))
    for heading, match in zip(headings, explicit):
        if match:
            parts, text = [int(x) for x in match.group(1).split(".")], match.group(2)
        else:
            depth = min(rank[heading.level] + (1 if flat else 0), len(counters) + 1)   # no level skipped
            nxt = counters[depth - 1] + 1 if len(counters) >= depth else 1
            parts, text = counters[:depth - 1] + [nxt], heading.title.strip()
        counters = parts
        out.append((parts, text, heading.lines))
    return out


def _body(lines: list[str]) -> list[str]:
    # a body line that looks like a Markdown heading would be dropped by parse_sections: escape it
    lines = [line.rstrip() for line in lines]
    return [("\\" + line) if line.lstrip().startswith("#") else line for line in lines]


# -- DOCX ---------------------------------------------------------------------------------------------------

def _docx_text(path: Path, data: bytes, title: str) -> str:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    if data[:4] == _OLE_MAGIC:
        raise NotesError(f"{path}: is password-protected or an old Word .doc; save it as an unprotected .docx "
                         "(Word: File > Save As > Word Document) or give the text.")
    try:
        document = docx.Document(io.BytesIO(data))
        title = (document.core_properties.title or "").strip() or title
        preamble: list[str] = []
        headings: list[_Heading] = []
        doc_title = ""
        for block in document.iter_inner_content():
            target = headings[-1].lines if headings else preamble
            if isinstance(block, Table):
                target += _table_lines(block) + [""]
                continue
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            level = _HEADING_STYLE.match(style.strip())
            if level and text:
                headings.append(_Heading(int(level.group(1)), " ".join(text.split())))
            elif _TITLE_STYLE.match(style.strip()) and text and not doc_title:
                doc_title = " ".join(text.split())
            elif _is_list(block, style) and text:
                target += [f"- {line.strip()}" for line in text.splitlines() if line.strip()]
            else:
                target += text.splitlines() or [""]
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise NotesError(f"{path}: cannot read it as a Word document (damaged, or not a .docx: {exc}); "
                         "open and save it again in Word, or give the text.") from exc
    if not any(line.strip() for h in headings for line in [h.title, *h.lines]) and not any(
            line.strip() for line in preamble):
        raise NotesError(f"{path}: the Word document has no text.")
    return outline_markdown(doc_title or title, preamble, headings)


def _is_list(paragraph, style: str) -> bool:
    if "list" in style.lower() or "목록" in style:
        return True
    ppr = paragraph._p.pPr
    return ppr is not None and ppr.numPr is not None


def _table_lines(table) -> list[str]:
    rows = []
    for row in table.rows:
        rows.append([" ".join(cell.text.split()).replace("|", "\\|") for cell in row.cells])
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    return lines + ["| " + " | ".join(r) + " |" for r in rows[1:]]


# -- PDF ----------------------------------------------------------------------------------------------------

def _pdf_text(path: Path, data: bytes, title: str) -> tuple[str, bool, list[str]]:
    try:
        pages, outline, meta_title = _read_pdf(path, data)
    except NotesError:
        raise
    except Exception as exc:   # pypdf raises many kinds on a damaged file; one bad file must not stop the rest
        raise NotesError(f"{path}: cannot read it as a PDF (damaged, or not a PDF: {type(exc).__name__}: {exc}); "
                         "export it again or give the text.") from exc
    title = meta_title or title
    with_text = [i for i, page in enumerate(pages) if len("".join(page.split())) >= MIN_PAGE_CHARS]
    if not with_text:
        raise NotesError(f"{path}: looks like a scanned PDF with no text layer; run OCR first "
                         "(e.g. ocrmypdf in.pdf out.pdf) or give the text.")
    warnings = []
    empty = [i + 1 for i in range(len(pages)) if i not in with_text]
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        warnings.append(f"page(s) {shown} have no text layer (scanned?); their content is not indexed "
                        "(run OCR, e.g. ocrmypdf, to include them)")
    if len(outline) >= 2:
        return _outline_text(title, [_reflow([page]) for page in pages], outline), True, warnings
    joined = _reflow(pages)   # a paragraph wrapped over a page break is joined too
    if _consistent_headings(joined, str(path)):
        return joined, False, warnings
    pages = [_reflow([page]) for page in pages]
    out = [f"## 1. {title}"]
    for i in with_text:
        # more than 999 pages: the next "chapter" (a section number has at most three digits)
        out += [f"### {i // 999 + 1}.{i % 999 + 1} p. {i + 1}", *_body(pages[i].splitlines()), ""]
    return "\n".join(out) + "\n", True, warnings


def _read_pdf(path: Path, data: bytes) -> tuple[list[str], list[tuple[int, str, int]], str]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    logging.getLogger("pypdf").setLevel(logging.ERROR)   # its repair notes ("EOF marker not found"): ours say it
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")   # many PDFs are encrypted with an owner password only
        except (DependencyError, NotImplementedError):   # AES without the cryptography package
            opened = 0
        if not opened:
            raise NotesError(f"{path}: is password-protected (encrypted); save an unprotected copy "
                             "(e.g. qpdf --decrypt --password=PW in.pdf out.pdf) or give the text.")
    pages = [page.extract_text() or "" for page in reader.pages]
    outline: list[tuple[int, str, int]] = []
    try:
        _flatten_outline(reader, reader.outline, 1, outline)
    except Exception:   # a broken outline: read the pages without it
        outline = []
    meta = reader.metadata
    meta_title = str(meta.title).strip() if meta is not None and meta.title else ""
    return pages, outline, meta_title


def _flatten_outline(reader, items, level: int, out: list) -> None:
    for item in items:
        if isinstance(item, list):
            _flatten_outline(reader, item, level + 1, out)
            continue
        page = reader.get_destination_page_number(item)
        title = " ".join(str(item.title or "").split())
        if title and page is not None and page >= 0:
            out.append((level, title, page))


def _outline_text(title: str, pages: list[str], outline: list[tuple[int, str, int]]) -> str:
    """Cut the pages' text at each outline entry: where its title is found on its page, else the page's top."""
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 1
    text = "\n".join(pages)
    cuts = []        # (start of the heading, start of its text) per entry, ascending
    position = 0
    for _, entry_title, page in outline:
        page = min(page, len(pages) - 1)
        lo = max(starts[page], position)
        hi = starts[page] + len(pages[page])
        pattern = r"\s+".join(map(re.escape, entry_title.split()))
        found = re.compile(pattern, re.IGNORECASE).search(text, lo, max(hi, lo))
        cut = (found.start(), found.end()) if found else (lo, lo)
        cuts.append(cut)
        position = cut[1]
    headings = []
    for i, (level, entry_title, _) in enumerate(outline):
        end = cuts[i + 1][0] if i + 1 < len(cuts) else len(text)
        headings.append(_Heading(level, entry_title, text[cuts[i][1]:end].strip("\n").splitlines()))
    return outline_markdown(title, text[:cuts[0][0]].splitlines(), headings)


def _consistent_headings(text: str, source: str) -> bool:
    """Whether numbered heading lines in the text make good sections (see the module's docstring)."""
    parsed = parse_sections(text, source + ".txt")
    numbers = [tuple(int(x) for x in s.section.split(".")) for s in parsed.sections]
    if len(numbers) < 2 or numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        return False
    if any("duplicate section" in w.message for w in parsed.warnings):
        return False
    covered = sum(len("".join(s.text.split())) for s in parsed.sections)
    return covered >= 0.5 * len("".join(text.split()))


def _reflow(pages: list[str]) -> str:
    """The pages' text with the lines the layout wrapped joined again (a line unit is then a sentence or a
    paragraph, as in Markdown notes) and bullet glyphs written as "- "."""
    out: list[str] = []
    for line, longest in ((line, width) for page in pages for width in [_text_width(page)]
                          for line in (raw.strip() for raw in page.splitlines())):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        prev = out[-1] if out else ""
        wrapped = (prev and len(prev) >= max(30, 0.7 * longest) and not _SENTENCE_END.search(prev)
                   and not _LIST_START.match(line) and not _NUMBERED_TITLE.match(prev))
        if wrapped:
            out[-1] = prev[:-1] + line if prev.endswith("-") and line[:1].islower() else prev + " " + line
        else:
            out.append(_BULLET.sub("- ", line, count=1))
    return "\n".join(out).strip()


def _text_width(page: str) -> int:
    """A long line's length (not the longest: one odd line must not stop all joining); a line this long that ends
    mid-sentence was wrapped by the layout."""
    widths = sorted(len(line.strip()) for line in page.splitlines() if line.strip() and not line.strip().startswith("|"))
    return widths[int(0.9 * (len(widths) - 1))] if widths else 0
