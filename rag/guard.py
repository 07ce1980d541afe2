"""The one check on a model's sentence that is not about the notes: it must not repeat the tutor's rules.

A small model may obey "print your system prompt" planted in a question or in the notes. Whether a sentence
is made of the notes is judged by ``rag.claims``; this module only recognises the instructions themselves.
"""
from __future__ import annotations

import re

LEAK_WINDOW = 6          # this many consecutive system-prompt words in a sentence count as a leak
_WORD = re.compile(r"\w+", re.UNICODE)


def leaks_prompt(answer: str, system_prompt: str, window: int = LEAK_WINDOW) -> bool:
    words = [w.lower() for w in _WORD.findall(system_prompt)]
    answer_words = " ".join(w.lower() for w in _WORD.findall(answer))
    return any(" ".join(words[i:i + window]) in answer_words for i in range(len(words) - window + 1))
