"""Courses as data (the course catalog): a course is a folder of notes plus an optional ``course.toml``.

```
my-course/
  notes.ko.md / notes.en.md / *.md / *.txt   the notes, in one language or both (companions by section number)
  course.toml                                 optional: id, title, languages, example questions
  questions.jsonl                             optional: labelled questions (rag/ingest/questions.py)
```

``course.toml``::

    id = "bio-cell"                 # default: the folder name
    title = "Cell biology"          # default: the notes' front-matter title, else the id
    languages = ["ko"]              # default: the languages of the notes files
    examples = ["세포막의 역할은?", "What does the mitochondrion do?"]

Nothing here knows any course: the bundled one is simply the first course folder in ``corpus/``. Each course has
its own index folder under ``<RAG_HOME>/index/``, so switching courses never rebuilds another's index.
``rag index PATH`` records the course in ``<RAG_HOME>/courses.json`` so ``--course ID`` finds it later.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .ingest.loaders import NOTE_SUFFIXES, TEXT_SUFFIXES

COURSE_FILE = "course.toml"
REGISTRY_FILE = "courses.json"
_FRONT_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.MULTILINE)
_FRONT_LANGUAGE = re.compile(r"^language:\s*(ko|en)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    notes: tuple[Path, ...]                     # what the index is built from
    languages: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    path: Path | None = None                    # the course folder (or file)
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def _notes_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in NOTE_SUFFIXES
                  and p.name.lower() != "readme.md" and not p.name.startswith("."))


def is_course_folder(folder: Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and ((folder / COURSE_FILE).is_file() or bool(_notes_files(folder)))


def load_course(path) -> Course:
    """The course at ``path``: a course folder, or a single notes file. ConfigError when ``course.toml`` is bad."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"Course path {path} does not exist. Give a folder of notes (or one notes file).")
    folder = path if path.is_dir() else path.parent
    config: dict = {}
    toml_path = folder / COURSE_FILE
    if path.is_dir() and toml_path.is_file():
        try:
            config = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{toml_path}: cannot read it ({exc}). Fix the file or remove it "
                              "(every field is optional).") from exc
    files = _notes_files(folder) if path.is_dir() else [path]
    front = ""
    for file in [f for f in files if f.suffix.lower() in TEXT_SUFFIXES][:4]:   # no front matter in PDF/Word
        try:
            front += file.read_text(encoding="utf-8", errors="replace")[:2000] + "\n"
        except OSError:
            pass
    course_id = str(config.get("id") or (path.name if path.is_dir() else path.stem))
    title_match = _FRONT_TITLE.search(front)
    title = str(config.get("title") or (title_match.group(1).strip("\"'") if title_match else course_id))
    languages = config.get("languages") or sorted(set(_FRONT_LANGUAGE.findall(front))
                                                  | {m for f in files for m in re.findall(r"\.(ko|en)\.", f.name)})
    examples = config.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        raise ConfigError(f"{toml_path}: 'examples' must be a list of question strings.")
    known = {"id", "title", "languages", "examples"}
    return Course(course_id, title, (path,), tuple(str(x) for x in languages), tuple(examples), path,
                  {k: v for k, v in config.items() if k not in known})


def courses_in(path) -> list[Course]:
    """The courses under ``path``: itself when it is a course folder or a notes file, else each course subfolder
    (``corpus/`` holds one folder per course)."""
    path = Path(path)
    if path.is_file() or is_course_folder(path):
        return [load_course(path)]
    if path.is_dir():
        return [load_course(sub) for sub in sorted(path.iterdir()) if is_course_folder(sub)]
    return []


def index_key(notes) -> str:
    """A folder name for the index of these notes: readable (the course folder's name) and unique (a hash of the
    resolved paths), so two courses never share or overwrite an index."""
    paths = sorted(str(Path(p).expanduser().resolve()) for p in notes)
    name = Path(paths[0]).name if len(paths) == 1 else "notes"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem if Path(name).suffix else name).strip("-")[:40] or "notes"
    return f"{slug}-{hashlib.sha256(chr(10).join(paths).encode()).hexdigest()[:8]}"


def _registry_path(home) -> Path:
    return Path(home) / REGISTRY_FILE


def registered(home) -> dict[str, str]:
    """Course id -> path of the courses ``rag index`` has built (damaged or absent registry: none)."""
    try:
        data = json.loads(_registry_path(home).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def register(home, course: Course) -> None:
    """Remember where a course lives, atomically (best effort: a read-only home only loses ``--course``)."""
    entries = registered(home)
    entries[course.id] = str(Path(course.path or course.notes[0]).expanduser().resolve())
    try:
        Path(home).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".courses-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(entries, out, ensure_ascii=False, indent=1)
        os.replace(tmp, _registry_path(home))
    except OSError:
        pass


def available(settings) -> list[Course]:
    """Every course a student can pick: the bundled ones first, then those ``rag index`` registered."""
    from .config import bundled_notes

    found: dict[str, Course] = {}
    for course in courses_in(bundled_notes()):
        found.setdefault(course.id, course)
    for course_id, path in registered(settings.home).items():
        if course_id not in found and Path(path).exists():
            try:
                found[course_id] = load_course(path)
            except ConfigError:
                continue
    return list(found.values())


def find(name: str, settings) -> Course:
    """The course called ``name`` (its id), or a path to a course folder; ConfigError listing the known ids."""
    courses = available(settings)
    for course in courses:
        if course.id == name:
            return course
    if Path(name).expanduser().exists():
        return load_course(name)
    known = ", ".join(c.id for c in courses) or "none"
    raise ConfigError(f"No course called {name!r}. Known courses: {known}. "
                      f"Index a new one first: rag index path/to/notes-folder")


def current(settings) -> Course:
    """The course the settings' notes are: the one course folder they name, else an unnamed course of them."""
    if len(settings.notes) == 1:
        found = courses_in(settings.notes[0])
        if len(found) == 1:
            return found[0]
    return Course(index_key(settings.notes), index_key(settings.notes), tuple(settings.notes))
