"""Which language a question is in: the answer follows it."""
from __future__ import annotations

import re

_WORD = re.compile(r"[^\s]+")


def has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in text)


def detect_language(text: str) -> str:
    """"ko" or "en". Mixed questions count words: a word with any Hangul is Korean; Korean grammar puts
    its endings last, so a question whose last word is Korean is Korean ("GPU acceleration 이 뭐야?")."""
    words = [w for w in _WORD.findall(text) if any(ch.isalpha() for ch in w)]
    if not words:
        return "en"
    korean = [has_hangul(w) for w in words]
    if korean[-1] or sum(korean) > len(words) - sum(korean):
        return "ko"
    return "en"


def script_profile(text: str) -> dict[str, int]:
    """Letters by script, to tell Korean/English from other languages."""
    counts = {"hangul": 0, "latin": 0, "other": 0}
    for ch in text:
        if not ch.isalpha():
            continue
        if "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e":
            counts["hangul"] += 1
        elif ch.isascii():
            counts["latin"] += 1
        else:
            counts["other"] += 1
    return counts
