"""Prompt templates and user-facing messages, kept as package data."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _messages() -> dict:
    return json.loads(template("messages.json"))


def message(key: str, language: str, **values) -> str:
    table = _messages()[key]
    return table.get(language, table["en"]).format(**values)
