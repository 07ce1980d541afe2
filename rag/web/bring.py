"""The Teacher tab's "Bring a course": uploaded notes files become a new course folder, indexed and registered.

``bring_course`` is a plain function (the handler and the tests call it): each file is checked first (read and
split into sections exactly as the index will read it), the good ones are copied into
``<RAG_HOME>/courses/<slug>/`` with a ``course.toml`` naming the title, the course's own index is built (the app's
index keeps serving: it is another folder) and the course is registered, so the chat's course picker lists it
after a page reload. A file that cannot be used is skipped and said why; nothing is written when none can.
A folder of the same name holding another course is never overwritten: the new course gets the next free name.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..errors import RagError
from ..ingest.loaders import NOTE_SUFFIXES, guess_language, read_notes_file
from ..ingest.sections import parse_sections

COURSES_FOLDER = "courses"


@dataclass
class Brought:
    ok: bool
    message: str                                   # what to show, plain text (one line per point)
    course_id: str = ""
    folder: str = ""
    added: list[str] = field(default_factory=list)                 # file names copied into the course
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file name, why)
    n_sections: int = 0


def slug(title: str) -> str:
    """A folder name and course id from a title: lower-case ASCII words joined by "-" (a Korean title: a hash)."""
    import hashlib

    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return words or "course-" + hashlib.sha256(title.encode()).hexdigest()[:8]


def _upload_path(item) -> Path:
    """gradio hands a file as a path string, or an object with .path / .name."""
    return Path(item if isinstance(item, (str, Path)) else getattr(item, "path", None) or item.name)


def check_file(path: Path) -> tuple[int, str]:
    """(number of sections, "") when the file can be used as notes, else (0, why)."""
    if path.suffix.lower() not in NOTE_SUFFIXES:
        return 0, f"not a notes file (give {' '.join(NOTE_SUFFIXES)})"
    if path.name.lower() == "readme.md" or path.name.startswith("."):
        return 0, "README.md and hidden files are not read as notes; rename it"
    try:
        text, _, headings_only, _ = read_notes_file(path)
    except RagError as exc:
        return 0, re.sub(r"^" + re.escape(str(path)) + r"(:\d+)?: ", "", str(exc))
    parsed = parse_sections(text, str(path), language=guess_language(text), headings_only=headings_only)
    if not parsed.sections:
        return 0, "no numbered sections found (headings like '4.5 Title' or '### 4.5 Title')"
    return len(parsed.sections), ""


def _title_of(folder: Path) -> str | None:
    try:
        return str(tomllib.loads((folder / "course.toml").read_text(encoding="utf-8")).get("title", ""))
    except (OSError, ValueError):
        return None


def course_folder(home: Path, title: str, taken: set[str]) -> tuple[Path, str]:
    """(folder, note): the folder for a course of this title. The same title's folder is reused (its files of the
    same names replaced); a folder or course id of another course is never taken: the next free name is."""
    base = slug(title)
    root = Path(home) / COURSES_FOLDER
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        folder = root / name
        if folder.exists() and _title_of(folder) == title:
            return folder, f"Updated the existing course folder {folder} (same title): files of the same name replaced."
        if not folder.exists() and name not in taken:
            note = f"{root / base} already holds another course; this one is saved as {name}." if n > 1 else ""
            return folder, note
    raise RagError(f"No free course folder for {title!r} under {root}.")


def bring_course(files, title: str, settings, make_engine: Callable | None = None,
                 progress: Callable[[float, str], None] | None = None) -> Brought:
    """Check, copy, index and register uploaded notes files as one course (see the module's docstring)."""
    from .. import catalog

    report = progress or (lambda fraction, message: None)
    paths = [_upload_path(f) for f in (files or []) if f]
    if not paths:
        return Brought(False, "No files chosen: add the course's notes (.md .txt .pdf .docx), then press the button.")
    title = " ".join((title or "").split()) or paths[0].stem
    skipped: list[tuple[str, str]] = []
    good: list[Path] = []
    for i, path in enumerate(paths):
        report(0.05 + 0.25 * i / len(paths), f"Reading {path.name}...")
        n, why = check_file(path)
        (good.append(path) if n else skipped.append((path.name, why)))
    if not good:
        return Brought(False, "No course was made: none of the files could be used.\n" + _skipped(skipped),
                       skipped=skipped)
    taken = {c.id for c in catalog.available(settings)}
    folder, note = course_folder(Path(settings.home), title, taken)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    for path in good:
        shutil.copyfile(path, folder / path.name)
    (folder / catalog.COURSE_FILE).write_text(
        f"id = {json.dumps(folder.name)}\ntitle = {json.dumps(title, ensure_ascii=False)}\n", encoding="utf-8")
    report(0.35, "Building the index...")
    try:
        course = catalog.load_course(folder)
        # its own index folder under <home>/index, whatever RAG_INDEX_DIR names for the app's course
        own = replace(settings, notes=course.notes, index_dir=None, course=course.id)
        engine = (make_engine or _engine)(own, lambda message, *rest: report(0.6, str(message)))
        built = engine.build_index()
    except RagError as exc:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        return Brought(False, f"The index could not be built: {exc}", skipped=skipped)
    catalog.register(settings.home, course)
    report(1.0, "Ready")
    lines = [f"Course “{title}” is ready (id {course.id}): {built.n_sections} sections from {len(good)} file(s), "
             f"in {folder}.", "Students: reload the page and pick it in 강의 · Course."]
    lines += [note] if note else []
    lines += [f"Note: {w}" for w in built.warnings]
    lines += [_skipped(skipped)] if skipped else []
    return Brought(True, "\n".join(lines), course.id, str(folder), [p.name for p in good], skipped, built.n_sections)


def _skipped(skipped: list[tuple[str, str]]) -> str:
    return "Skipped:\n" + "\n".join(f"- {name}: {why}" for name, why in skipped)


def _engine(settings, progress):
    from ..engine import Engine

    return Engine(settings, auto_index=False, progress=progress)


def brought_html(result: Brought) -> str:
    css = "rag-bring-ok" if result.ok else "rag-error"
    body = "<br>".join(html.escape(line) for line in result.message.splitlines())
    return f'<div class="{css}" id="rag-bring-result">{body}</div>'
