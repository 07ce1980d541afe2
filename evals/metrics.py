"""Evaluation metrics: pure functions over plain data, no I/O.

Conventions (the tests in ``tests/test_eval_metrics.py`` work them by hand):

- Sections are compared as strings ("4.5"). Retrieval lists are deduplicated by section, keeping the
  first occurrence, before the cut-off ``k``: a retriever that returns 4.5 three times has not found
  three sections.
- Recall@k is a hit rate: 1.0 if any gold section is among the first k distinct retrieved sections.
  A question's gold list holds alternatives, any one of which answers it.
- Key facts are lists of acceptable surface forms; a fact is found when any form occurs in the answer
  after NFKC normalisation, case folding and whitespace collapsing (so "GPU  Direct" matches
  "gpu direct", and full-width Latin letters match ASCII).
- Citation precision of an answer with no citations is 0.0: an answer the student cannot check is
  not a precise one. Refused answers are not scored for citations (they are scored by the refusal
  metrics instead), so ``aggregate`` averages citation precision over answered answerable items.
- Metrics that have no item to average over are None, never 0.0, so an empty language slice does not
  look like a failure.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

RETRIEVAL_KEYS = ("recall@1", "recall@5", "mrr@10")
ANSWER_KEYS = ("refusal_recall", "false_refusal_rate", "key_fact_recall", "citation_precision",
               "language_match", "partial_recall", "partial_rate", "unsupported_claim_rate", "truncated_rate",
               "repeated_sentence_rate")
LATENCY_KEYS = ("latency_p50_ms", "latency_p95_ms")
METRIC_KEYS = RETRIEVAL_KEYS + ANSWER_KEYS + LATENCY_KEYS


@dataclass
class ScoredItem:
    """One gold question joined with what the system did; the input of ``aggregate``."""

    id: str
    lang: str                           # the question's language, "ko" or "en"
    answerable: bool
    gold_sections: list[str]
    retrieved: list[str]                # sections, best first
    latency_ms: float
    answer: str | None = None           # None when retrieval only
    refused: bool | None = None
    citations: list[str] = field(default_factory=list)
    key_facts_found: list[bool] = field(default_factory=list)
    expected: str = ""                  # "answer" | "partial" | "refuse" ("" = from answerable)
    outcome: str = ""                   # what the system did: "answer" | "partial" | "refused"
    n_sentences: int = 0                # sentences of the answer (boilerplate excluded)
    unsupported: list[dict] = field(default_factory=list)   # {"sentence", "terms"} not in the cited sections
    truncated: bool = False
    repeated: int = 0                   # sentences that repeat an earlier one

    def __post_init__(self):
        if not self.expected:
            self.expected = "answer" if self.answerable else "refuse"
        if not self.outcome and self.refused is not None:
            self.outcome = "refused" if self.refused else "answer"


def distinct(sections: Iterable[str]) -> list[str]:
    """Sections in first-seen order, duplicates dropped."""
    seen: set[str] = set()
    out = []
    for s in sections:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def first_hit_rank(retrieved: Sequence[str], gold: Iterable[str], k: int) -> int | None:
    """1-based rank of the first gold section among the first k distinct sections, or None."""
    gold_set = set(gold)
    for rank, section in enumerate(distinct(retrieved)[:k], start=1):
        if section in gold_set:
            return rank
    return None


def recall_at_k(retrieved: Sequence[str], gold: Iterable[str], k: int) -> float:
    return 1.0 if first_hit_rank(retrieved, gold, k) is not None else 0.0


def mrr_at_k(retrieved: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    rank = first_hit_rank(retrieved, gold, k)
    return 1.0 / rank if rank else 0.0


def normalize_text(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def key_facts_found(answer: str, key_facts: Sequence[Sequence[str] | str]) -> list[bool]:
    """For each fact, whether any of its surface forms occurs in the answer."""
    haystack = normalize_text(answer or "")
    found = []
    for fact in key_facts:
        forms = [fact] if isinstance(fact, str) else list(fact)
        found.append(any(normalize_text(f) and normalize_text(f) in haystack for f in forms))
    return found


def key_fact_recall(found: Sequence[bool]) -> float | None:
    """Share of key facts found; None when the item lists none (nothing to recall)."""
    return sum(found) / len(found) if found else None


def citation_precision(cited: Sequence[str], gold: Iterable[str]) -> float:
    """Distinct cited sections that are gold / distinct cited sections; 0.0 when nothing is cited."""
    cited_set = distinct(cited)
    if not cited_set:
        return 0.0
    gold_set = set(gold)
    return sum(1 for s in cited_set if s in gold_set) / len(cited_set)


_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str | None:
    """"ko" when Hangul is at least a fifth of the letters, "en" when there are letters, else None.

    A fifth, not a half: Korean answers about this course are full of English terms (GPU, vGPU, CUDA),
    while an English answer quoting one Korean term stays far below it.
    """
    hangul = len(_HANGUL.findall(text or ""))
    latin = len(_LATIN.findall(text or ""))
    if hangul + latin == 0:
        return None
    return "ko" if hangul / (hangul + latin) >= 0.2 else "en"


def language_match(answer: str, expected: str) -> bool:
    """Whether the answer text is written in the question's language (judged from the text itself)."""
    return detect_language(answer) == expected


_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")
_COMPLETE = re.compile(r"(?:[.!?。:)\]]|다|요|음|임|함|됨)\s*$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MARKERS = re.compile(r"\[[^\]]{0,12}\]")


def sentences(text: str, boilerplate: Sequence[str] = ()) -> list[str]:
    """Answer sentences and bullet lines, with fixed tutor phrases (leads, notices) removed."""
    for phrase in boilerplate:
        if phrase:
            text = text.replace(phrase, "\n")
    out, pending = [], ""
    for piece in _SENTENCE_END.split(text or ""):
        if re.fullmatch(r"\s*\d{1,2}[.)]\s*", piece or ""):   # "1." of a numbered list opens the next item
            pending = piece.strip() + " "
            continue
        body = _MARKERS.sub("", piece).strip(" -*\t")
        if re.search(r"\w", body):
            out.append(pending + piece.strip())
            pending = ""
    return out


def is_truncated(text: str, boilerplate: Sequence[str] = ()) -> bool:
    """The answer stops mid-sentence (the token limit cut it): its last sentence doesn't end like one."""
    parts = sentences(text, boilerplate)
    return bool(parts) and not _COMPLETE.search(parts[-1])


def repeated_sentences(parts: Sequence[str], tokens_of, threshold: float = 0.8) -> int:
    """Sentences whose content tokens mostly repeat an earlier sentence's (Jaccard >= threshold)."""
    seen: list[set] = []
    count = 0
    for part in parts:
        tokens = set(tokens_of(_MARKERS.sub("", part)))
        if not tokens:
            continue
        if any(len(tokens & t) / len(tokens | t) >= threshold for t in seen):
            count += 1
        seen.append(tokens)
    return count


def unsupported_terms(sentence: str, terms: Iterable[str], support_tokens: set, support_text: str) -> list[str]:
    """Numbers, names and course terms of one sentence that its cited sections (and the question) lack.

    ``terms`` are the sentence's checkable terms, chosen by the caller: names (digits or capitals inside),
    Korean nouns, and words that the notes use elsewhere. A number counts when its digits are absent.
    """
    haystack = normalize_text(support_text)
    body = re.sub(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+", "", _MARKERS.sub("", sentence))   # list numbering is layout
    missing = [n for n in _NUMBER.findall(body) if n not in haystack]
    missing += [t for t in terms if t not in support_tokens and normalize_text(t) not in haystack]
    return list(dict.fromkeys(missing))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def retrieval_metrics(items: Sequence[ScoredItem]) -> dict:
    answerable = [i for i in items if i.answerable]
    return {
        "recall@1": _mean(recall_at_k(i.retrieved, i.gold_sections, 1) for i in answerable),
        "recall@5": _mean(recall_at_k(i.retrieved, i.gold_sections, 5) for i in answerable),
        "mrr@10": _mean(mrr_at_k(i.retrieved, i.gold_sections, 10) for i in answerable),
    }


def answer_metrics(items: Sequence[ScoredItem]) -> dict:
    answerable = [i for i in items if i.answerable]
    unanswerable = [i for i in items if not i.answerable]
    answered = [i for i in answerable if not i.refused]
    shown = [i for i in items if not i.refused]            # every answer a student saw, covered or not
    partial_items = [i for i in items if i.expected == "partial"]
    n_sentences = sum(i.n_sentences for i in shown)
    return {
        # partly covered questions answered in part, saying what is missing
        "partial_recall": _mean(1.0 if i.outcome == "partial" else 0.0 for i in partial_items),
        "partial_rate": _mean(1.0 if i.outcome == "partial" else 0.0 for i in items),
        "unsupported_claim_rate": (sum(len(i.unsupported) for i in shown) / n_sentences) if n_sentences else None,
        "truncated_rate": _mean(1.0 if i.truncated else 0.0 for i in shown),
        "repeated_sentence_rate": (sum(i.repeated for i in shown) / n_sentences) if n_sentences else None,
        "refusal_recall": _mean(1.0 if i.refused else 0.0 for i in unanswerable),
        "false_refusal_rate": _mean(1.0 if i.refused else 0.0 for i in answerable),
        # a refused answerable item found none of its facts: it counts as 0, not as missing
        "key_fact_recall": _mean(
            (0.0 if i.refused and i.key_facts_found else key_fact_recall(i.key_facts_found))
            for i in answerable
        ),
        "citation_precision": _mean(citation_precision(i.citations, i.gold_sections) for i in answered),
        "language_match": _mean(1.0 if language_match(i.answer or "", i.lang) else 0.0 for i in items),
    }


def aggregate(items: Sequence[ScoredItem], retrieval_only: bool = False) -> dict:
    """The metric dict ``M`` of the report; answer metrics are None when retrieval only."""
    metrics = retrieval_metrics(items)
    if retrieval_only:
        metrics.update({key: None for key in ANSWER_KEYS})
    else:
        metrics.update(answer_metrics(items))
    latencies = [i.latency_ms for i in items]
    metrics["latency_p50_ms"] = percentile(latencies, 50)
    metrics["latency_p95_ms"] = percentile(latencies, 95)
    return {key: metrics[key] for key in METRIC_KEYS}


def recall_curve(items: Sequence[ScoredItem], max_k: int = 10) -> list[float | None]:
    """Recall@k for k = 1..max_k over answerable items (for the plot)."""
    answerable = [i for i in items if i.answerable]
    return [_mean(recall_at_k(i.retrieved, i.gold_sections, k) for i in answerable)
            for k in range(1, max_k + 1)]
