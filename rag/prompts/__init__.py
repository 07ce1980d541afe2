"""Prompt templates and user-facing messages, kept as package data."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _messages(name: str = "messages.json") -> dict:
    return json.loads(template(name))


def message(key: str, language: str, messages: str = "messages.json", **values) -> str:
    """A user-facing message in ``language`` (English when missing) from a JSON file of this package."""
    table = _messages(messages)[key]
    text = table.get(language, table["en"]).format(**values)
    if language == "ko" and values:
        from ..text.josa import fix_particles   # "'{term}'은(는)" -> the particle the term takes

        text = fix_particles(text)
    return text


def off_topic_questions() -> list[str]:
    """Everyday questions no course answers (off_topic.json, both languages): what an off-topic question is near.
    Written by a helper who saw neither the project nor any gold question."""
    table = _messages("off_topic.json")
    return [q for language in sorted(table) for q in table[language]]
