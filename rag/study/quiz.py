"""Study mode for scripts: ``from rag import quiz``.

    items = quiz.generate(chapters=[4], language="en", n=10, seed=1)
    result = quiz.grade(items[0].id, "GPUs are optimized for parallel tasks")
    print(result.verdict, result.feedback)

The item bank is built from the notes named by the settings (no index, no model needed) and cached per
notes content. Items whose question does not retrieve their own section in the top 3 through the real
retriever are left out (``evals/study_eval.py`` finds them and writes ``dropped_items.json``).
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from ..config import Settings, load_settings
from ..errors import RagError
from .generate import build_bank, select, text
from .grade import Resources, grade as _grade, make_idf
from .types import Grade, QuizItem

DROPPED_PATH = Path(__file__).with_name("dropped_items.json")
_lock = threading.Lock()
_cache: dict[str, tuple[list[QuizItem], Resources]] = {}


class QuizError(RagError):
    """A quiz cannot be made or graded as asked (unknown item, no items for those chapters, ...)."""

    exit_code = 2


class UnknownItemError(QuizError):
    pass


@lru_cache(maxsize=1)
def dropped_ids() -> frozenset[str]:
    if not DROPPED_PATH.exists():
        return frozenset()
    return frozenset(json.loads(DROPPED_PATH.read_text(encoding="utf-8")).get("dropped", []))


def _load(settings: Settings | None, sections=None) -> tuple[list[QuizItem], Resources]:
    from ..ingest.loaders import load_notes

    if sections is None:
        notes = load_notes((settings or load_settings()).notes)
        key, sections = notes.content_hash, notes.sections
    else:
        key = str(hash(tuple((s.doc, s.language, s.section, s.text) for s in sections)))
    with _lock:
        if key not in _cache:
            resources_ = _resources(sections)   # first: it teaches the tokenizer the notes' loanwords
            _cache[key] = (build_bank(sections), resources_)
        return _cache[key]


def _resources(sections) -> Resources:
    from ..text import tokenize as tokenizer
    from ..text.glossary import Glossary, loanwords, mine_glossary
    from .generate import parse

    # the same tokenizer as the index: loanwords of the glossary whole ("스케줄링", not 스케줄 + 링)
    texts = [s.title + "\n" + s.text for s in sections]
    tokenizer.register_words(loanwords(mine_glossary(texts)))
    lines = []
    for s in sections:
        parsed = parse(s)
        lines.extend(l.text for l in parsed.lines)
        lines.extend(c for t in parsed.tables for row in t.rows for c in row if c)
    idf, default = make_idf(lines)
    glossary = Glossary(mine_glossary(texts))
    return Resources(glossary=glossary, idf=idf, default_idf=default)


def bank(settings: Settings | None = None, sections=None, include_dropped: bool = False) -> list[QuizItem]:
    """Every item the notes give (those that failed the retrieval check left out unless asked)."""
    items, _ = _load(settings, sections)
    return items if include_dropped else [it for it in items if it.id not in dropped_ids()]


def resources(settings: Settings | None = None, sections=None) -> Resources:
    return _load(settings, sections)[1]


def chapters(settings: Settings | None = None, sections=None) -> list[str]:
    return sorted({it.chapter for it in bank(settings, sections)}, key=lambda c: (len(c), c))


def generate(chapters=None, language: str = "ko", n: int = 10, seed: int = 0, settings: Settings | None = None,
             sections=None, exclude=()) -> list[QuizItem]:
    """``n`` items on ``chapters`` (all when None) in ``language``; the same arguments give the same quiz."""
    if language not in ("ko", "en"):
        raise QuizError(f"Quiz language must be 'ko' or 'en', not {language!r}.")
    if n < 1:
        raise QuizError(f"A quiz needs at least one question (-n {n}).")
    items = select(bank(settings, sections), n=n, seed=seed, chapters=chapters, language=language, exclude=exclude)
    if not items:
        raise QuizError(text("err_no_items", language, chapters=", ".join(map(str, chapters or [])) or "all"))
    return items


def find(item_id: str, settings: Settings | None = None, sections=None) -> QuizItem:
    for item in bank(settings, sections, include_dropped=True):
        if item.id == item_id:
            return item
    language = "ko" if str(item_id).startswith("ko-") else "en"
    raise UnknownItemError(text("err_unknown_item", language, item=str(item_id)[:80]))


def grade(item: QuizItem | str, answer: str, settings: Settings | None = None, embedder=None,
          sections=None) -> Grade:
    """Grade ``answer`` to an item (or an item id): verdict, feedback quoting the notes, the section."""
    settings = settings or load_settings()
    if isinstance(item, str):
        item = find(item, settings, sections)
    return _grade(item, answer, resources(settings, sections), embedder=embedder,
                  max_chars=settings.study_max_answer_chars)


def next_items(progress, student: str, chapters=None, language: str = "ko", n: int = 10, seed: int | None = None,
               settings: Settings | None = None, sections=None) -> list[QuizItem]:
    """The next quiz for ``student``: items due for review first, then new ones in the seed's order.

    Without a seed, the student's number of attempts is the seed: each new quiz brings other new items,
    and the same state gives the same quiz."""
    if seed is None:
        seed = len(progress.attempts(student))
    candidates = generate(chapters, language, n=10**6, seed=seed, settings=settings, sections=sections)
    return progress.plan(student, candidates, candidates, n)
