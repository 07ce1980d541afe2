"""Read course notes from files and folders into sections.

One bad file never stops the others: it is reported as a warning naming the file (and line), and the
rest are still indexed. Only when nothing at all can be read is it an error.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import NotesError
from ..types import Section
from .documents import DOCUMENT_SUFFIXES, read_bytes, read_document
from .sections import ParseWarning, parse_sections

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
NOTE_SUFFIXES = TEXT_SUFFIXES + DOCUMENT_SUFFIXES   # PDF and Word are converted (rag/ingest/documents.py)
MAX_FILE_BYTES = 5 * 1024 * 1024   # course notes are kilobytes; megabytes means a wrong file
_LANG_SUFFIX = re.compile(r"\.(ko|en)$")


@dataclass
class LoadedNotes:
    sections: list[Section] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)   # (path, sha256) of every file read

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for path, sha in sorted(self.files):
            digest.update(f"{Path(path).name}\0{sha}\n".encode())
        return digest.hexdigest()


def find_note_files(paths) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in NOTE_SUFFIXES
                                and p.name.lower() != "readme.md" and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise NotesError(f"Notes path {path} does not exist. Give a notes file or folder (rag index PATH).")
    return files


def guess_language(text: str) -> str:
    hangul = sum(1 for ch in text if "\uac00" <= ch <= "\ud7a3")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "ko" if hangul * 3 >= latin else "en"


def _doc_and_language(path: Path) -> tuple[str, str | None]:
    stem = path.stem
    match = _LANG_SUFFIX.search(stem)
    language = match.group(1) if match else None
    stem = _LANG_SUFFIX.sub("", stem)
    # notes.ko.md inside a course folder: the folder names the course
    doc = path.parent.name if stem in ("notes", "index", "README") else stem
    return doc, language


def read_text_file(path: Path) -> tuple[str, str]:
    """Return (text, sha256) or raise NotesError naming the file."""
    data = read_bytes(path, MAX_FILE_BYTES)
    if b"\x00" in data[:8192]:
        raise NotesError(f"{path}: looks like a binary file, not text notes; remove it from the notes folder.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NotesError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); "
                         "save it as UTF-8 (e.g. iconv -f cp949 -t utf-8).") from exc
    return text, hashlib.sha256(data).hexdigest()


def read_notes_file(path: Path) -> tuple[str, str, bool, list[str]]:
    """(notes text, sha256, headings_only, warnings) of a text, PDF or Word file; NotesError naming the file."""
    if path.suffix.lower() in DOCUMENT_SUFFIXES:
        converted = read_document(path)
        return converted.text, converted.sha256, converted.headings_only, converted.warnings
    return *read_text_file(path), False, []


def _after_earlier_files(sections: list[Section], earlier: list[Section], offsets: dict) -> tuple[list[Section], str]:
    """A file whose section numbers an earlier file of the course already uses in the same language (two lectures,
    each numbered from 1) continues after it: chapter N becomes chapter N + the earlier files' last chapter, so that a
    citation names one place. A companion (the same notes in the other language) takes its notes' numbers, whichever
    comes first. ``offsets``: doc -> the shift its first file got, kept across files."""
    docs = {x.doc for x in sections}
    others = [s for s in earlier if s.doc not in docs]
    offset = next((offsets[d] for d in docs if d in offsets), None)
    if offset is None:
        taken = {(s.language, s.section) for s in others}
        clash = any((s.language, s.section) in taken for s in sections)
        offset = max((int(s.chapter) for s in others if s.chapter.isdigit()), default=0) if clash else 0
        offsets.update({d: offset for d in docs})
    if not offset:
        return sections, ""

    def shifted(number: str) -> str:
        head, _, rest = number.partition(".")
        return f"{int(head) + offset}" + (f".{rest}" if rest else "") if head.isdigit() else number

    moved = [replace(s, section=shifted(s.section), chapter=shifted(s.chapter)) for s in sections]
    return moved, (f"its section numbers are also used by an earlier file of the course: cited here as chapters "
                   f"{moved[0].chapter}-{moved[-1].chapter} (sections {sections[0].section} -> {moved[0].section}, ...); "
                   "number the files' chapters apart to choose the numbers yourself")


def load_notes(paths) -> LoadedNotes:
    result = LoadedNotes()
    offsets: dict[str, int] = {}
    for path in find_note_files(paths):
        try:
            text, sha, headings_only, notes = read_notes_file(path)
        except NotesError as exc:
            # "path:line: message" or "path: message": the warning names the file (and line) once
            where = re.match(re.escape(str(path)) + r"(?::(\d+))?: ", str(exc))
            line, text = (int(where.group(1) or 0), str(exc)[where.end():]) if where else (0, str(exc))
            result.warnings.append(ParseWarning(str(path), line, text))
            continue
        doc, language = _doc_and_language(path)
        parsed = parse_sections(text, str(path), doc=doc, language=language or guess_language(text),
                                headings_only=headings_only)
        result.files.append((str(path), sha))
        if path.suffix.lower() in DOCUMENT_SUFFIXES:   # lines of the converted text, not of the file
            parsed.warnings[:] = [ParseWarning(w.source, 0, w.message) for w in parsed.warnings]
        result.warnings.extend([ParseWarning(str(path), 0, note) for note in notes] + parsed.warnings)
        if not parsed.sections:
            result.warnings.append(ParseWarning(str(path), 0, "no numbered sections found "
                                                "(headings like '4.5 Title' or '### 4.5 Title'); file skipped"))
        sections, renumbered = _after_earlier_files(parsed.sections, result.sections, offsets)
        if renumbered:
            result.warnings.append(ParseWarning(str(path), 0, renumbered))
        result.sections.extend(sections)
    if not result.sections:
        detail = "; ".join(str(w) for w in result.warnings) or "no notes files found"
        raise NotesError(f"No course sections could be read from {', '.join(map(str, paths))}: {detail}")
    return result
