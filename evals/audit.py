"""Audit one shown answer, sentence by sentence, against the sections it cites.

Independent of the answerer's own claim check (``rag.claims``): it looks at the final text and the cited
sections' full text in both languages, the way a teacher checking the answer would. A sentence is
unsupported when it holds a number, a name (digits or capitals inside a Latin word, or a Korean proper
noun) or a course term (a word of the glossary mined from the notes: "병렬 처리", "orchestration") that
the cited sections and the question don't have. Generic words ("역할", "has", "중요") are not terms: a
sentence vague in those words is not counted here (the claim check's own token test still applies).
"""
from __future__ import annotations

import re

from rag.llm.extractive import lead
from rag.prompts import message
from rag.text.tokenize import tokenize

from . import metrics as m

_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def boilerplate(language: str, missing: list[str]) -> list[str]:
    """The tutor's fixed phrases in an answer: not claims about the course."""
    phrases = [lead("ko"), lead("en")]
    if missing:
        phrases.append(message("partial", language, missing=", ".join(missing)))
    return phrases


def korean_proper_nouns(text: str) -> list[str]:
    if not _HANGUL.search(text):
        return []
    from rag.text.tokenize import get_kiwi

    return [t.form for t in get_kiwi().tokenize(text) if t.tag == "NNP" and len(t.form) >= 2]


def names(text: str) -> list[str]:
    return [w for w in _LATIN.findall(text)
            if len(w) >= 2 and (any(c.isdigit() for c in w) or any(c.isupper() for c in w[1:]) or w.isupper())]


def audit(answer_text: str, language: str, missing: list[str], cited_texts: list[str], question: str,
          course_terms: set[str]) -> dict:
    parts = m.sentences(answer_text, boilerplate(language, missing))
    support_text = "\n".join(cited_texts) + "\n" + question
    support_tokens = set(tokenize(support_text))
    unsupported = []
    for sentence in parts:
        body = re.sub(r"\[[^\]]{0,12}\]", "", sentence)
        tokens = set(tokenize(body))
        terms = set(names(body)) | set(korean_proper_nouns(body)) | {t for t in tokens if t in course_terms}
        # compare like with like: names and nouns by their tokens, so "GPU의" and "GPUs" match "gpu"
        terms = {t for t in terms if not set(tokenize(t)) or not set(tokenize(t)) <= support_tokens}
        lacking = m.unsupported_terms(body, sorted(terms), support_tokens, support_text)
        if lacking:
            unsupported.append({"sentence": sentence, "terms": lacking})
    return {
        "n_sentences": len(parts),
        "unsupported": unsupported,
        "truncated": m.is_truncated(answer_text, boilerplate(language, missing)),
        "repeated": m.repeated_sentences(parts, tokenize),
    }
