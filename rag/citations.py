"""Citations you can trust: only sections that were retrieved, each with the text that supports it."""
from __future__ import annotations

import re

from .ingest.chunking import section_units
from .text.tokenize import tokenize
from .types import Citation, Hit, Section

_MARKER = re.compile(r"\[\s*(?:§|section\s*)?(\d{1,3}(?:\.\d{1,3})+)\s*\]", re.IGNORECASE)
_INLINE = re.compile(r"(?:§|[Ss]ection\s+|섹션\s*)(\d{1,3}(?:\.\d{1,3})+)")
MIN_SUPPORT = 0.2        # share of the answer's tokens a section must hold to support it
RELATIVE_SUPPORT = 0.8   # ... and at least this share of the best-supporting section's


def cited_numbers(text: str) -> list[str]:
    numbers = [m.group(1) for m in _MARKER.finditer(text)] + [m.group(1) for m in _INLINE.finditer(text)]
    return list(dict.fromkeys(numbers))


def strip_invalid_markers(text: str, valid: set[str]) -> str:
    """Remove markers naming sections that were not retrieved, so the text never shows them."""
    return _MARKER.sub(lambda m: m.group(0) if m.group(1) in valid else "", text)


def best_quote(section: Section, answer_tokens: set[str], max_units: int = 2) -> tuple[str, float]:
    """The lines of a section that share most tokens with the answer, and that share."""
    scored = []
    for unit in section_units(section):
        tokens = set(tokenize(unit))
        if tokens:
            scored.append((len(tokens & answer_tokens) / len(tokens), unit))
    scored.sort(key=lambda item: -item[0])
    top = [unit for score, unit in scored[:max_units] if score > 0]
    support = scored[0][0] if scored else 0.0
    return ("\n".join(top) if top else (section.text.splitlines() or [""])[0]), support


def attach_citations(answer: str, hits: list[Hit], sections: list[Section], bilingual_tokens,
                     evidence=()) -> list[Citation]:
    """Citations for an answer: the retrieved sections it names, else those whose text supports it.

    ``bilingual_tokens(section)`` returns the tokens of a section in both languages, so an English answer
    written from the English companion still matches a section whose quote is shown in Korean.
    """
    by_number = {hit.section: (hit, section) for hit, section in zip(hits, sections)}
    answer_tokens = set(tokenize(answer))
    named = [n for n in cited_numbers(answer) if n in by_number]
    citations = []
    for number in named:
        hit, section = by_number[number]
        # the evidence lines the answer was written from are the quote a student checks it against
        lines = [line.text for line in evidence if line.number == number]
        quote = "\n".join(_said_lines(lines, answer_tokens)) if lines else best_quote(section, answer_tokens)[0]
        citations.append(Citation(hit.doc, hit.section, section.title, quote, hit.score))
    if citations:
        return citations
    supports = [(_support(answer_tokens, bilingual_tokens(section)), hit, section) for hit, section in zip(hits, sections)]
    best = max((s for s, _, _ in supports), default=0.0)
    for support, hit, section in supports:
        # sections that merely share the topic's words ("GPU", "AI") with the answer are not its source
        if support >= max(MIN_SUPPORT, RELATIVE_SUPPORT * best):
            quote, _ = best_quote(section, answer_tokens)
            citations.append(Citation(hit.doc, hit.section, section.title, quote, hit.score))
    return citations


def _said_lines(lines: list[str], answer_tokens: set[str]) -> list[str]:
    """The section's evidence lines the answer repeats words of, in reading order: the quote shows every
    line a sentence came from (at most the evidence's few lines), else the first three."""
    said = [line for line in lines if set(tokenize(line)) & answer_tokens]
    return said or lines[:3]


def _support(answer_tokens: set[str], section_tokens: set[str]) -> float:
    if not answer_tokens:
        return 0.0
    return len(answer_tokens & section_tokens) / len(answer_tokens)
