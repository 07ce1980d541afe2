"""A bilingual glossary mined from the notes themselves.

Korean course notes give English terms in parentheses ("병렬 처리(parallel processing)"). Those pairs let
the keyword leg find "오케스트레이션" for "orchestration" and the other way round, even for notes that have
no English companion.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from .language import has_hangul
from .tokenize import tokenize

_PAIR = re.compile(r"(?P<before>[^()\n]*?)\s?\((?P<en>[A-Za-z][A-Za-z0-9 ,&/.'\-]{0,60})\)")
_MAX_TERM_TOKENS = 4
# words that join a term to what comes before it, never part of it: "및 워크로드 균형", "반면 변위(displacement)"
_JOINERS = {"및", "과", "와", "위한", "대한", "반면", "그러나", "하지만", "또한", "그리고", "즉", "특히", "한편", "따라서",
            "이때", "또", "다만", "예를", "들어", "이를"}


@dataclass(frozen=True)
class GlossaryEntry:
    ko: str
    en: str
    ko_tokens: tuple[str, ...]
    en_tokens: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GlossaryEntry":
        return cls(data["ko"], data["en"], tuple(data["ko_tokens"]), tuple(data["en_tokens"]))


def _korean_term(before: str, en_words: int) -> str:
    bold = _bold_term(before)
    if bold is not None:
        return bold
    words = before.replace(":", " ").replace("**", " ").split()
    term: list[str] = []
    for word in reversed(words):
        if not has_hangul(word) or len(term) >= max(2, min(en_words, 3)):
            break
        term.insert(0, word)
    while term and (len(term[0]) <= 1 or term[0] in _JOINERS):   # "및 워크로드 균형" -> "워크로드 균형"
        term.pop(0)
    return " ".join(term)


def _bold_term(before: str) -> str | None:
    """The term a writer marked in bold right before the gloss: "물질을 **영양소(nutrient)**" or "**유당불내증**(lactose
    intolerance)" -> the bold words alone (not "물질을 영양소"); None where no bold span ends at the gloss."""
    stripped = before.rstrip()
    if stripped.count("**") % 2 == 1:                  # the gloss sits inside the bold span
        term = stripped[stripped.rfind("**") + 2:].strip()
    elif stripped.endswith("**") and stripped.count("**") >= 2:
        term = stripped[stripped.rfind("**", 0, len(stripped) - 2) + 2:-2].strip()
    else:
        return None
    words = term.split()
    return term if words and len(words) <= _MAX_TERM_TOKENS and has_hangul(term) else None


def loanwords(entries: list["GlossaryEntry"]) -> list[str]:
    """Single Korean words of the glossary, to register with the tokenizer so that a loanword such as
    "오케스트레이션" is one token wherever it appears (Kiwi splits unknown loanwords inconsistently)."""
    words = set()
    for entry in entries:
        words.update(re.findall(r"[\uac00-\ud7a3]{3,}", entry.ko))
    return sorted(words)


def mine_glossary(texts) -> list[GlossaryEntry]:
    entries: dict[tuple[str, str], GlossaryEntry] = {}
    for text in texts:
        for line in text.splitlines():
            for match in _PAIR.finditer(line):
                en = match.group("en").strip(" ,.")
                ko = _korean_term(match.group("before"), len(en.split()))
                if not ko or not en:
                    continue
                ko_tokens, en_tokens = tokenize(ko), tokenize(en)
                if not ko_tokens or not en_tokens or len(en_tokens) > _MAX_TERM_TOKENS:
                    continue
                entries.setdefault((ko, en.lower()), GlossaryEntry(ko, en, ko_tokens, en_tokens))
    return list(entries.values())


class Glossary:
    def __init__(self, entries: list[GlossaryEntry]):
        self.entries = entries

    def expand(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        """Add the other language's tokens for every term whose tokens all occur in the query."""
        present = set(tokens)
        extra: list[str] = []
        for entry in self.entries:
            for side, other in ((entry.en_tokens, entry.ko_tokens), (entry.ko_tokens, entry.en_tokens)):
                if len(side) <= 3 and set(side) <= present:
                    extra.extend(t for t in other if t not in present and t not in extra)
        return tokens + tuple(extra)

    def lookup(self, term: str) -> list[GlossaryEntry]:
        needle = term.lower()
        return [e for e in self.entries if needle in e.en.lower() or needle in e.ko]
