"""Tune the refusal threshold on the gold set, and measure it honestly with k-fold cross-validation.

The answerer refuses when the evidence score of its hits is below a threshold (``score < threshold``).
On the training folds we pick the threshold that refuses the most unanswerable questions while
refusing at most ``max_false_refusal`` of the answerable ones; ties go to the lower threshold (fewer
refusals: a wrong refusal costs a student more than a hedged answer). Held-out folds then say what
that rule does on questions it was not fitted to; the threshold fitted on all items is the one to ship.

Candidate thresholds are the midpoints between consecutive distinct scores, plus the lowest score
(refuse nothing) and just above the highest (refuse everything): every distinct split of the items,
placed where it generalises best. Folds are stratified by label so each holds unanswerable questions.
Pure functions: scores come in, numbers go out; the scorer (``rag.answer.evidence_score``) is the caller's.
"""
from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence


@dataclass
class Rates:
    refusal_recall: float | None      # unanswerable items refused
    false_refusal_rate: float | None  # answerable items refused
    n_answerable: int
    n_unanswerable: int


@dataclass
class CVResult:
    threshold: float                  # fitted on all items: the default to ship
    in_sample: Rates                  # what that threshold does on the items it was fitted on
    held_out: Rates                   # pooled over the held-out folds
    fold_thresholds: list[float] = field(default_factory=list)
    folds: int = 5
    max_false_refusal: float = 0.05

    def to_dict(self) -> dict:
        return asdict(self)


def rates(scores: Sequence[float], answerable: Sequence[bool], threshold: float) -> Rates:
    refused = [s < threshold for s in scores]
    pos = [r for r, a in zip(refused, answerable) if not a]
    neg = [r for r, a in zip(refused, answerable) if a]
    return Rates(
        refusal_recall=sum(pos) / len(pos) if pos else None,
        false_refusal_rate=sum(neg) / len(neg) if neg else None,
        n_answerable=len(neg),
        n_unanswerable=len(pos),
    )


def candidate_thresholds(scores: Sequence[float]) -> list[float]:
    values = sorted(set(scores))
    if not values:
        return []
    mids = [(a + b) / 2 for a, b in zip(values, values[1:])]
    return [values[0], *mids, math.nextafter(values[-1], math.inf)]


def fit_threshold(scores: Sequence[float], answerable: Sequence[bool],
                  max_false_refusal: float = 0.05) -> float:
    """The threshold with the best refusal recall whose false refusal rate stays within the limit."""
    if len(scores) != len(answerable):
        raise ValueError(f"{len(scores)} scores but {len(answerable)} labels")
    candidates = candidate_thresholds(scores)
    if not candidates:
        raise ValueError("no scores to fit a threshold on")
    best, best_recall = candidates[0], -1.0
    for threshold in candidates:  # ascending, so a tie keeps the lower threshold
        r = rates(scores, answerable, threshold)
        if (r.false_refusal_rate or 0.0) > max_false_refusal + 1e-12:
            continue
        recall = r.refusal_recall if r.refusal_recall is not None else 0.0
        if recall > best_recall:
            best, best_recall = threshold, recall
    return best


def stratified_folds(answerable: Sequence[bool], k: int, seed: int = 0) -> list[list[int]]:
    """k lists of item indices; each label's items are shuffled, then dealt round-robin."""
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for label in (False, True):
        idx = [i for i, a in enumerate(answerable) if a == label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[(start + j) % k].append(i)
        start += len(idx)  # continue dealing where the other label stopped, to balance fold sizes
    return [sorted(f) for f in folds if f]


def cross_validate(scores: Sequence[float], answerable: Sequence[bool], k: int = 5,
                   max_false_refusal: float = 0.05, seed: int = 0) -> CVResult:
    if len(scores) != len(answerable):
        raise ValueError(f"{len(scores)} scores but {len(answerable)} labels")
    k = max(2, min(k, len(scores)))
    refused = [False] * len(scores)
    fold_thresholds = []
    for fold in stratified_folds(answerable, k, seed):
        held = set(fold)
        train = [i for i in range(len(scores)) if i not in held]
        threshold = fit_threshold([scores[i] for i in train], [answerable[i] for i in train],
                                  max_false_refusal)
        fold_thresholds.append(threshold)
        for i in fold:
            refused[i] = scores[i] < threshold
    # pooled held-out rates: encode each held-out decision as a score against threshold 0.5
    held_out = rates([0.0 if r else 1.0 for r in refused], answerable, 0.5)
    threshold = fit_threshold(scores, answerable, max_false_refusal)
    return CVResult(threshold=threshold, in_sample=rates(scores, answerable, threshold),
                    held_out=held_out, fold_thresholds=fold_thresholds, folds=k,
                    max_false_refusal=max_false_refusal)


def evidence_scores(hit_lists: Sequence[list], scorer: Callable[[list], float]) -> list[float]:
    """Apply the answerer's evidence scorer to each item's hits."""
    return [float(scorer(hits)) for hits in hit_lists]
