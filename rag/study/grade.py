"""Grade a free-text answer against an item's key: correct / partial / incorrect, with cited feedback.

Coverage of the key's terms decides, not string equality: Kiwi morphemes for Korean, light stemming for
English, the key in both languages (the companion notes' parallel line) plus the notes' glossary, so an
English answer to a Korean item is graded on what it says. Words the question already gives away never
count (a copy of the question covers nothing), and rare words weigh more than common ones. When an
embedder is given, a paraphrase that shares few words but means the key can still be lifted one step.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import RagError
from ..text.glossary import Glossary
from ..text.tokenize import normalise, tokenize
from .generate import text as message
from .types import Grade, QuizItem

# Coverage of the key's (idf-weighted) terms. Chosen by reading answers, before the labelled set was
# written; evals/study_eval.py reports agreement with that set.
CORRECT_COVERAGE = 0.5
PARTIAL_COVERAGE = 0.15       # about one of the key's rarer words
KEY_TERMS = 6                 # the rarest words of a long key: a definition is answered by its core words
# Embedding similarity lifts a verdict by one step only next to some word coverage: e5 cosines between any
# two sentences on the same topic are high, so similarity alone must never make an answer correct.
SIMILARITY_LIFT = 0.9
MC_PICK = 0.5                 # share of a choice's own words an answer must name to pick it
COPY_SHARE = 0.8              # answers made of the question's words ...
COPY_LENGTH = 0.5             # ... and at least this long relative to it are copies
_LETTER = re.compile(r"^\s*[\(\[]?\s*([A-Da-d1-4])\s*[\)\]\.:]?\s*$")
_LETTERS = re.compile(r"^[\s,>\-→]*(?:[\(\[]?[A-Da-d1-4][\)\]\.]?[\s,>\-→]*)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class AnswerError(RagError):
    """A student's answer that cannot be graded as given (empty, too long, control characters)."""

    exit_code = 2


def check_answer(answer, language: str = "en", max_chars: int = 1000) -> str:
    """The answer, cleaned, or AnswerError with a message in ``language``."""
    raw = "" if answer is None else str(answer)
    bad = _CONTROL.search(raw)
    if bad:
        raise AnswerError(message("err_control", language, char=f"U+{ord(bad.group()):04X}"))
    if len(raw) > max_chars:
        raise AnswerError(message("err_too_long", language, n=len(raw), limit=max_chars))
    clean = normalise(raw).strip()
    if not clean:
        raise AnswerError(message("err_empty", language))
    return clean


@dataclass
class Resources:
    """What grading consults besides the item: the notes' glossary and word rarity."""

    glossary: Glossary | None = None
    idf: dict[str, float] | None = None
    default_idf: float = 1.0

    def weight(self, token: str) -> float:
        return (self.idf or {}).get(token, self.default_idf)


def make_idf(lines) -> tuple[dict[str, float], float]:
    docs = [set(tokenize(l)) for l in lines]
    df: dict[str, int] = {}
    for d in docs:
        for t in d:
            df[t] = df.get(t, 0) + 1
    n = max(len(docs), 1)
    return {t: math.log(1 + n / c) for t, c in df.items()}, math.log(1 + n)


def student_language(answer: str, fallback: str) -> str:
    """Korean if the answer has Hangul; English if it has English words beyond a term or two."""
    if any("\uac00" <= ch <= "\ud7a3" for ch in answer):
        return "ko"
    words = re.findall(r"[A-Za-z]{2,}", answer)
    if len(words) >= 3 or (fallback == "en" and words):
        return "en"
    return fallback


def _matches(key_token: str, answer_tokens: set[str]) -> bool:
    if key_token in answer_tokens:
        return True
    if "-" in key_token:          # "gpu-optimized" ~ "GPU optimized"
        return all(_matches(part, answer_tokens) for part in key_token.split("-") if part)
    if key_token.isascii() and len(key_token) >= 5:   # optimized ~ optimization, virtualized ~ virtualization
        return any(t.isascii() and len(t) >= 5 and t[:5] == key_token[:5] for t in answer_tokens)
    return False


def _key_terms(key: str, exclude: set[str], res: Resources) -> list[str]:
    terms = [t for t in dict.fromkeys(tokenize(key)) if t not in exclude]
    return sorted(terms, key=lambda t: -res.weight(t))[:KEY_TERMS]


def _coverage(terms: list[str], answer_tokens: set[str], res: Resources) -> tuple[float, list[str]]:
    if not terms:
        return 0.0, []
    hit = [t for t in terms if _matches(t, answer_tokens)]
    return sum(res.weight(t) for t in hit) / sum(res.weight(t) for t in terms), hit


def _answer_tokens(answer: str, question_tokens: set[str], res: Resources, translate: bool) -> set[str]:
    tokens = tuple(t for t in tokenize(answer) if t not in question_tokens)
    if translate and res.glossary is not None:
        tokens = res.glossary.expand(tokens)
    return set(tokens) - question_tokens


def _is_copy(answer: str, question: str) -> bool:
    a, q = set(tokenize(answer)), set(tokenize(question))
    if not a:
        return False
    return len(a & q) / len(a) >= COPY_SHARE and len(answer) >= COPY_LENGTH * len(question)


def _similarity(embedder, answer: str, keys: list[str]) -> float | None:
    if embedder is None:
        return None
    keys = [k for k in keys if k]
    vectors = embedder.embed_queries([answer] + keys)
    return float(max(vectors[0] @ v for v in vectors[1:])) if keys else None


def grade(item: QuizItem, answer: str, res: Resources | None = None, embedder=None, max_chars: int = 1000) -> Grade:
    res = res or Resources()
    answer = check_answer(answer, item.language, max_chars)
    # a term item's answer is in the other language by design ("What Korean term ...?"): the student reads the quiz
    # in the item's language, so the feedback stays in it
    language = item.language if item.kind == "term" else student_language(answer, item.language)
    question_tokens = set(tokenize(item.question))
    if _is_copy(answer, item.question):
        return _grade(item, "incorrect", language, "fb_copy", reason="copies the question")
    if item.kind == "mc":
        return _grade_choice(item, answer, language, question_tokens, res)
    if item.kind == "order":
        return _grade_order(item, answer, language)
    translate = item.kind != "term"     # a term item asks for the translation: the glossary would give it away
    tokens = _answer_tokens(answer, question_tokens, res, translate)
    keys = [(item.answer, _key_terms(item.answer, question_tokens, res))]
    if item.answer_alt and translate:
        exclude = set(res.glossary.expand(tuple(question_tokens))) if res.glossary else question_tokens
        keys.append((item.answer_alt, _key_terms(item.answer_alt, exclude, res)))
    scored = [(*_coverage(terms, tokens, res), terms) for _, terms in keys]
    coverage, hit, terms = max(scored, key=lambda s: s[0])
    similarity = _similarity(embedder, answer, [item.answer, item.answer_alt])
    # a term is a few words and each one counts ("비지도 학습" is not "강화 학습"): all of them for correct
    correct_at = 0.999 if item.kind == "term" else CORRECT_COVERAGE
    verdict = ("correct" if coverage >= correct_at else "partial" if coverage >= PARTIAL_COVERAGE
               else "incorrect")
    # never for a term: its translation is the question's own word, which embeds close to the key
    if similarity is not None and similarity >= SIMILARITY_LIFT and coverage > 0 and item.kind != "term":
        verdict = {"incorrect": "partial", "partial": "correct"}.get(verdict, verdict)
    missing = [t for t in terms if t not in hit]
    grade_ = _grade(item, verdict, language, {"correct": "fb_correct", "partial": "fb_partial",
                                              "incorrect": "fb_incorrect"}[verdict], missing=missing)
    grade_.coverage, grade_.similarity, grade_.matched, grade_.missing = coverage, similarity, hit, missing
    return grade_


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip().rstrip(".").lower()


def _grade_choice(item, answer, language, question_tokens, res) -> Grade:
    choices = list(item.choices)
    letter = _LETTER.match(answer)
    if letter:
        index = "abcd".find(letter.group(1).lower()) if letter.group(1).isalpha() else int(letter.group(1)) - 1
        picked = [choices[index]] if 0 <= index < len(choices) else []
        verdict = "correct" if picked == [item.answer] else "incorrect"
        return _grade(item, verdict, language, "fb_correct" if verdict == "correct" else "fb_incorrect")
    alts = list(item.choices_alt) + [""] * (len(choices) - len(item.choices_alt))
    # a choice copied whole is that choice, whatever words the others share with it
    same = [c for c, a in zip(choices, alts) if _plain(answer) in (_plain(c), _plain(a))]
    if len(same) == 1:
        verdict = "correct" if same[0] == item.answer else "incorrect"
        return _grade(item, verdict, language, "fb_correct" if verdict == "correct" else "fb_incorrect")
    # no glossary here: a choice is named in either language through its companion text (choices_alt),
    # and a glossary term that spans two choices ("대규모 데이터셋의 활용") would name both
    tokens = set(tokenize(answer))
    own = [set(tokenize(c)) | set(tokenize(a)) for c, a in zip(choices, alts)]
    scores = []
    for i, (choice, alt) in enumerate(zip(choices, alts)):
        others = set().union(*(own[j] for j in range(len(choices)) if j != i))
        best = 0.0
        for side in (choice, alt):
            terms = [t for t in dict.fromkeys(tokenize(side)) if t not in others] if side else []
            best = max(best, _coverage(terms, tokens, res)[0])
        scores.append(best)
    picked = [c for c, s in zip(choices, scores) if s >= MC_PICK]
    key_score = scores[choices.index(item.answer)]
    if len(picked) == 1:
        verdict = "correct" if picked[0] == item.answer else "incorrect"
        return _grade(item, verdict, language, "fb_correct" if verdict == "correct" else "fb_incorrect",
                      coverage=key_score)
    if len(picked) > 1:
        return _grade(item, "incorrect", language, "fb_several", coverage=key_score, reason="names several choices")
    if key_score >= PARTIAL_COVERAGE and key_score > max(s for c, s in zip(choices, scores) if c != item.answer):
        return _grade(item, "partial", language, "fb_partial", coverage=key_score, missing=[item.answer])
    return _grade(item, "incorrect", language, "fb_incorrect", coverage=key_score)


def _grade_order(item, answer, language) -> Grade:
    stages = item.answer.split(" > ")
    letters = _LETTERS.match(answer)
    if letters:
        marks = re.findall(r"[A-Da-d1-4]", answer)
        named = [item.choices["abcd".find(m.lower()) if m.isalpha() else int(m) - 1] for m in marks
                 if ("abcd".find(m.lower()) if m.isalpha() else int(m) - 1) < len(item.choices)]
        order = [stages.index(s) for s in named if s in stages]
    else:
        order = []
        lowered = answer.lower()
        for variant in (stages, item.answer_alt.split(" > ") if item.answer_alt else []):
            if len(variant) != len(stages):
                continue
            found = []
            for index, stage in enumerate(variant):
                positions = [lowered.find(t) for t in tokenize(stage) if lowered.find(t) >= 0]
                if positions:
                    found.append((min(positions), index))
            if len(found) > len(order):
                order = [index for _, index in sorted(found)]
    run = _longest_increasing(order)
    n = len(stages)
    if len(order) == n and run == n:
        verdict, key = "correct", "fb_correct"
    elif run >= n - 1:
        verdict, key = "partial", "fb_order_partial"
    else:
        verdict, key = "incorrect", "fb_incorrect"
    return _grade(item, verdict, language, key, coverage=run / n)


def _longest_increasing(values: list[int]) -> int:
    best = [1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i]:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


def _grade(item: QuizItem, verdict: str, language: str, key: str, missing=(), coverage: float = 0.0,
           reason: str = "") -> Grade:
    """The verdict's message, then the evidence quoted and the section cited, in the student's language."""
    other = language != item.language and item.kind != "term"
    evidence = item.evidence_alt if other and item.evidence_alt else item.evidence
    title = item.title_alt if other and item.title_alt else item.title
    answer = item.answer_alt if other and item.answer_alt else item.answer
    head = message(key, language, answer=answer, missing=", ".join(missing) or "-")
    cite = message("fb_cite", language, section=item.section, title=title, evidence=evidence)
    return Grade(verdict=verdict, feedback=f"{head} {cite}", section=item.section, evidence=evidence,
                 language=language, item_id=item.id, coverage=coverage, reason=reason or verdict)
