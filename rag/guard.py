"""Checks on a model's answer before it is shown: the defence lives here, not in the model's goodwill.

A small model may obey instructions planted in notes or questions, or repeat its instructions. Whatever
it writes must (1) not reproduce the system prompt and (2) be made of the notes' words. An answer that
fails either is replaced by the extractive answer, with a notice.
"""
from __future__ import annotations

import re

from .text.tokenize import tokenize

LEAK_WINDOW = 6          # this many consecutive system-prompt words in the answer count as a leak
MIN_GROUNDING = 0.35     # share of the answer's keyword tokens that must occur in the retrieved notes
MIN_TOKENS_TO_JUDGE = 6  # shorter answers ("[4.5] 병렬 처리") are judged by their citations alone
_WORD = re.compile(r"\w+", re.UNICODE)


def leaks_prompt(answer: str, system_prompt: str, window: int = LEAK_WINDOW) -> bool:
    words = [w.lower() for w in _WORD.findall(system_prompt)]
    answer_words = " ".join(w.lower() for w in _WORD.findall(answer))
    return any(" ".join(words[i:i + window]) in answer_words for i in range(len(words) - window + 1))


def grounding(answer: str, notes_tokens: set[str]) -> float:
    tokens = [t for t in tokenize(answer) if not t.replace(".", "").isdigit()]
    if len(tokens) < MIN_TOKENS_TO_JUDGE:
        return 1.0
    return sum(t in notes_tokens for t in tokens) / len(tokens)


def answer_problem(answer: str, system_prompt: str, notes_tokens: set[str]) -> str:
    """"" when the answer may be shown, else why not."""
    if leaks_prompt(answer, system_prompt):
        return "the model repeated its instructions"
    share = grounding(answer, notes_tokens)
    if share < MIN_GROUNDING:
        return f"only {share:.0%} of the model's words come from the notes"
    return ""
