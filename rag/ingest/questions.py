"""Read a course's labelled questions: questions students asked, each with the sections that answer it.

A course folder may hold ``questions.jsonl`` beside its notes, one JSON object a line::

    {"id": "en-041", "question": "What is the NGC Catalog?", "sections": ["5.1"], "origin": "v1"}

Retrieval uses them as a prior (``rag.index.question_bank``): a new question that reads like labelled ones
leans towards the sections that answered those. The bundled course's file is the dev split of the gold set
(``python -m evals.make_question_bank``); the frozen test split is never in it.

Like the notes, one bad line never stops the rest: it is a warning naming the file and line.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .sections import ParseWarning

QUESTIONS_FILE = "questions.jsonl"


@dataclass(frozen=True)
class LabelledQuestion:
    id: str
    question: str
    doc: str                        # the course (folder) whose sections these are
    sections: tuple[str, ...]       # section numbers that answer it, best first
    origin: str = ""                # who wrote it (a gold-set writer): evaluation holds a writer's own out


@dataclass
class LoadedQuestions:
    questions: list[LabelledQuestion]
    warnings: list[ParseWarning]
    files: list[tuple[str, str]]    # (path, sha256) of every file read

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for path, sha in sorted(self.files):
            digest.update(f"{Path(path).parent.name}/{Path(path).name}\0{sha}\n".encode())
        return digest.hexdigest()


def find_question_files(paths) -> list[Path]:
    """``questions.jsonl`` in every notes folder given (at any depth), or beside a notes file given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob(QUESTIONS_FILE) if p.is_file()))
        elif path.is_file() and (path.parent / QUESTIONS_FILE).is_file():
            found.append(path.parent / QUESTIONS_FILE)
    return list(dict.fromkeys(found))


def load_questions(paths, known_sections: set[tuple[str, str]]) -> LoadedQuestions:
    """The labelled questions of the notes at ``paths``; ``known_sections``: (doc, number) of every section
    read, so a question pointing at a section the notes lack is reported, not used."""
    result = LoadedQuestions([], [], [])
    for path in find_question_files(paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            result.warnings.append(ParseWarning(str(path), 0, f"cannot read it ({exc.strerror}); file skipped"))
            continue
        result.files.append((str(path), hashlib.sha256(data).hexdigest()))
        doc = path.parent.name
        for number, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if not raw.strip():
                continue
            problem, question = _parse(raw, doc, number, known_sections)
            if problem:
                result.warnings.append(ParseWarning(str(path), number, problem))
            else:
                result.questions.append(question)
    return result


def _parse(raw: str, doc: str, number: int, known_sections) -> tuple[str, LabelledQuestion | None]:
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg}); line skipped", None
    if not isinstance(item, dict):
        return "not a JSON object; line skipped", None
    question, sections = item.get("question"), item.get("sections")
    if not isinstance(question, str) or not question.strip():
        return 'no "question" text; line skipped', None
    if not isinstance(sections, list) or not sections or not all(isinstance(s, str) for s in sections):
        return '"sections" must be a non-empty list of section numbers like "4.5"; line skipped', None
    unknown = [s for s in sections if (doc, s) not in known_sections]
    if unknown:
        return f"section(s) {', '.join(unknown)} are not in the notes of {doc!r}; line skipped", None
    return "", LabelledQuestion(str(item.get("id") or f"{doc}:{number}"), question.strip(), doc, tuple(sections),
                                str(item.get("origin") or ""))
