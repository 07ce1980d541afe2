"""The no-model answerer: the most relevant lines and table rows of the top sections, cited.

It runs anywhere, instantly, and never says anything the notes don't: the floor under every LLM backend
and what they fall back to when they fail.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from ..text.tokenize import tokenize
from ..types import Section
from .base import GenerationRequest, Generator, register

MAX_UNITS = 6
OTHER_SECTION_SHARE = 0.8
_LEAD = {"ko": "노트의 관련 내용입니다:", "en": "Here is what the notes say:"}


@dataclass
class Unit:
    section: Section
    text: str
    score: float
    order: int


def section_units(section: Section) -> list[str]:
    """Lines of a section as answer units; a table row becomes "header: cell; header: cell"."""
    units, header = [], None
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
            units.append("; ".join(pairs))
            continue
        header = None
        units.append(re.sub(r"^[-*:]\s*|^\d+\)\s*", "", stripped))
    return [u for u in units if u]


def unit_score(unit_tokens: set[str], wanted: set[str], weights: dict[str, float]) -> float:
    """Rare shared words count more; long units (whole table rows) must earn their length."""
    overlap = sum(weights.get(t, 1.0) for t in wanted & unit_tokens)
    return overlap / (1.0 + 0.04 * len(unit_tokens))


def select_units(request: GenerationRequest, max_units: int = MAX_UNITS) -> list[Unit]:
    wanted = set(request.query_tokens)
    scored: list[Unit] = []
    for rank, section in enumerate(request.sections[:3]):
        # A section whose title matches the question answers it with all its lines ("benefits of GPU
        # virtualization" -> every item of 5.3), even lines that repeat none of the question's words.
        title_score = 0.8 * unit_score(set(tokenize(section.title)), wanted, request.token_weights)
        for order, text in enumerate(section_units(section)):
            score = unit_score(set(tokenize(text)), wanted, request.token_weights) + title_score
            scored.append(Unit(section, text, score - 0.3 * rank if score > 0 else 0.0, order))
    if not scored:
        return []
    best = max(u.score for u in scored)
    if best <= 0:   # nothing overlaps (e.g. a paraphrase): the top section's first lines
        chosen = [u for u in scored if u.section is request.sections[0]][:3]
    else:
        top = request.sections[0]
        # lines of the best section at half the best score; other sections must come close to the best,
        # so an answer cites the sections that answer it, not every neighbour that shares a word
        chosen = sorted((u for u in scored if u.score >= best * (0.5 if u.section is top else OTHER_SECTION_SHARE)),
                        key=lambda u: -u.score)[:max_units]
    section_order = {id(s): i for i, s in enumerate(request.sections)}
    return sorted(chosen, key=lambda u: (section_order[id(u.section)], u.order))


def compose(units: list[Unit], language: str) -> str:
    lines = [_LEAD.get(language, _LEAD["en"])]
    lines += [f"- {u.text} [{u.section.section}]" for u in units]
    return "\n".join(lines)


@register("extractive")
class ExtractiveGenerator(Generator):
    name = "extractive"
    uses_llm = False

    def __init__(self, settings=None):
        self.settings = settings

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        yield compose(select_units(request), request.language)
