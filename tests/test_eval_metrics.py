"""Metric tests worked by hand (numbers in the comments are the hand computation)."""
import math

import pytest

from evals import metrics as m
from evals.metrics import ScoredItem


# --- ranking -------------------------------------------------------------------------------------

def test_three_queries_scored_by_hand():
    # q1: gold 4.5 at rank 1             -> R@1 1, R@5 1, RR 1
    # q2: gold 5.2 at rank 3             -> R@1 0, R@5 1, RR 1/3
    # q3: gold 6.4 not in the top 10     -> R@1 0, R@5 0, RR 0
    runs = [
        (["4.5", "4.6", "1.1"], ["4.5"]),
        (["5.1", "5.3", "5.2", "5.4"], ["5.2"]),
        (["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "2.5", "3.1", "6.4"], ["6.4"]),
    ]
    assert [m.recall_at_k(r, g, 1) for r, g in runs] == [1.0, 0.0, 0.0]
    assert [m.recall_at_k(r, g, 5) for r, g in runs] == [1.0, 1.0, 0.0]
    assert [m.mrr_at_k(r, g, 10) for r, g in runs] == pytest.approx([1.0, 1 / 3, 0.0])
    # 6.4 sits at distinct rank 11: inside k=11, outside k=10
    assert m.mrr_at_k(runs[2][0], ["6.4"], 11) == pytest.approx(1 / 11)
    items = [ScoredItem(str(i), "ko", True, g, r, 10.0) for i, (r, g) in enumerate(runs)]
    agg = m.aggregate(items, retrieval_only=True)
    assert agg["recall@1"] == pytest.approx(1 / 3)
    assert agg["recall@5"] == pytest.approx(2 / 3)
    assert agg["mrr@10"] == pytest.approx((1 + 1 / 3 + 0) / 3)  # 0.4444


def test_duplicates_in_retrieved_do_not_use_up_k():
    # raw ranks: 4.6, 4.6, 4.6, 4.5 -> distinct: 4.6, 4.5 -> gold at distinct rank 2
    retrieved = ["4.6", "4.6", "4.6", "4.5"]
    assert m.recall_at_k(retrieved, ["4.5"], 2) == 1.0
    assert m.recall_at_k(retrieved, ["4.5"], 1) == 0.0
    assert m.mrr_at_k(retrieved, ["4.5"]) == 0.5


def test_any_gold_alternative_counts_and_ties_take_the_best_rank():
    # two gold alternatives at ranks 2 and 3: the first one found gives RR 1/2
    assert m.mrr_at_k(["1.1", "5.7", "2.2"], ["2.2", "5.7"]) == 0.5
    assert m.recall_at_k(["1.1", "5.7", "2.2"], ["2.2", "5.7"], 2) == 1.0


def test_empty_lists():
    assert m.recall_at_k([], ["4.5"], 5) == 0.0
    assert m.mrr_at_k([], ["4.5"]) == 0.0
    assert m.recall_at_k(["4.5"], [], 5) == 0.0
    assert m.citation_precision([], ["4.5"]) == 0.0  # an uncited answer counts as imprecise
    assert m.key_facts_found("anything", []) == []
    assert m.key_fact_recall([]) is None
    assert m.percentile([], 50) is None


# --- answers ---------------------------------------------------------------------------------------

def test_key_facts_forms_case_and_whitespace():
    answer = "GPU는 수천 개의  CUDA 코어로 병렬 처리를 합니다."
    facts = [["cuda core", "CUDA 코어"], ["병렬"], ["Tensor Core", "텐서 코어"]]
    assert m.key_facts_found(answer, facts) == [True, True, False]
    assert m.key_fact_recall(m.key_facts_found(answer, facts)) == pytest.approx(2 / 3)
    # NFKC: a full-width "ＧＰＵ" in the gold form matches "gpu" in the answer
    assert m.key_facts_found("the gpu", [["ＧＰＵ"]]) == [True]
    # a plain string is taken as a single form, not as a list of characters
    assert m.key_facts_found("vGPU sharing", ["vgpu", "xyz"]) == [True, False]


def test_citation_precision_counts_distinct_sections():
    # cited 4.5, 4.5, 4.6 -> distinct {4.5, 4.6}; gold {4.5} -> 1/2
    assert m.citation_precision(["4.5", "4.5", "4.6"], ["4.5"]) == 0.5
    assert m.citation_precision(["4.5"], ["4.5", "4.6"]) == 1.0


def test_language_detection():
    assert m.language_match("GPU는 병렬 처리에 강합니다.", "ko")
    # a Korean answer dense with English terms is still Korean
    assert m.language_match("vGPU는 NVIDIA GPU를 VM에서 공유하게 하는 기술입니다.", "ko")
    assert m.language_match("A GPU has thousands of cores.", "en")
    assert not m.language_match("A GPU has thousands of cores.", "ko")
    assert not m.language_match("", "en")


def test_percentile_interpolates():
    values = [10.0, 20.0, 30.0, 40.0]
    assert m.percentile(values, 50) == 25.0           # halfway between 20 and 30
    assert m.percentile(values, 95) == pytest.approx(38.5)  # rank 2.85 -> 30 + 0.85 * 10
    assert m.percentile([7.0], 95) == 7.0


# --- aggregate ---------------------------------------------------------------------------------------

def _answer_items():
    return [
        # answered right, cites gold and a wrong section, 1 of 2 facts
        ScoredItem("a1", "ko", True, ["4.5"], ["4.5", "4.6"], 100.0, answer="GPU는 코어가 많다",
                   refused=False, citations=["4.5", "4.6"], key_facts_found=[True, False]),
        # answerable but refused (a false refusal); facts not counted as found
        ScoredItem("a2", "en", True, ["5.2"], ["5.2"], 200.0, answer="The notes do not cover this.",
                   refused=True, citations=[], key_facts_found=[False]),
        # unanswerable, refused in Korean
        ScoredItem("u1", "ko", False, [], ["1.1"], 300.0, answer="노트에 없는 내용입니다.", refused=True),
        # unanswerable, answered in the wrong language
        ScoredItem("u2", "en", False, [], ["2.1"], 400.0, answer="노트에 따르면 ...", refused=False),
    ]


def test_aggregate_by_hand():
    agg = m.aggregate(_answer_items())
    assert list(agg) == list(m.METRIC_KEYS)
    assert agg["recall@1"] == 1.0                 # a1 and a2 both rank gold first
    assert agg["refusal_recall"] == 0.5           # u1 refused, u2 not
    assert agg["false_refusal_rate"] == 0.5       # a2 refused
    assert agg["key_fact_recall"] == 0.25         # a1 1/2, a2 0 (refused)
    assert agg["citation_precision"] == 0.5       # only a1 answered: 1 of 2 cited is gold
    assert agg["language_match"] == 0.75          # u2 answered in Korean to an English question
    assert agg["latency_p50_ms"] == 250.0
    assert agg["latency_p95_ms"] == pytest.approx(385.0)


def test_aggregate_retrieval_only_and_empty_slices():
    agg = m.aggregate(_answer_items(), retrieval_only=True)
    assert all(agg[k] is None for k in m.ANSWER_KEYS)
    assert agg["mrr@10"] == 1.0
    empty = m.aggregate([])
    assert all(v is None for v in empty.values())
    only_unanswerable = m.aggregate([_answer_items()[2]])
    assert only_unanswerable["recall@5"] is None and only_unanswerable["refusal_recall"] == 1.0
    assert only_unanswerable["false_refusal_rate"] is None


def test_recall_curve_is_monotone():
    items = [ScoredItem("x", "ko", True, ["3.2"], ["1.1", "3.2", "3.3"], 1.0),
             ScoredItem("y", "ko", True, ["6.1"], ["6.2", "6.3", "6.1"], 1.0)]
    curve = m.recall_curve(items, 4)
    assert curve == [0.0, 0.5, 1.0, 1.0]
    assert all(a <= b for a, b in zip(curve, curve[1:]))
    assert not any(math.isnan(v) for v in curve)


# --- refusal threshold ------------------------------------------------------------------------------

from evals import refusal_cv as cv  # noqa: E402


def test_fit_threshold_separable():
    # answerable 0.6, 0.7, 0.8; unanswerable 0.1, 0.3 -> best split is the midpoint of 0.3 and 0.6
    scores = [0.1, 0.3, 0.6, 0.7, 0.8]
    labels = [False, False, True, True, True]
    assert cv.fit_threshold(scores, labels) == pytest.approx(0.45)
    r = cv.rates(scores, labels, 0.45)
    assert (r.refusal_recall, r.false_refusal_rate) == (1.0, 0.0)


def test_fit_threshold_respects_the_false_refusal_limit():
    # 20 answerable at 0.50..0.69 and one answerable at 0.2; unanswerable at 0.1, 0.3, 0.4.
    # Refusing all three unanswerable needs t > 0.4, which also refuses the 0.2 answerable: 1/21 = 4.8%
    # false refusals, within 5%. A 10% limit changes nothing; a 1% limit allows only t <= 0.2 (refuse 0.1).
    answerable = [0.5 + i / 100 for i in range(20)] + [0.2]
    unanswerable = [0.1, 0.3, 0.4]
    scores = answerable + unanswerable
    labels = [True] * 21 + [False] * 3
    assert cv.fit_threshold(scores, labels, 0.05) == pytest.approx(0.45)
    assert cv.fit_threshold(scores, labels, 0.01) == pytest.approx(0.15)
    # no answerable item may be refused: the 0.2 one caps the threshold at the 0.1/0.2 midpoint


def test_fit_threshold_ties_go_lower():
    # unanswerable at 0.2 only; thresholds 0.25 and 0.35 (refusing answerable 0.3 too) would tie on
    # recall but the second breaks the limit; with no limit the tie still goes to the lower one
    scores = [0.2, 0.3, 0.9]
    labels = [False, True, True]
    assert cv.fit_threshold(scores, labels, max_false_refusal=1.0) == pytest.approx(0.25)


def test_cross_validation_on_synthetic_scores():
    import random
    rng = random.Random(1)
    answerable = [rng.gauss(0.7, 0.05) for _ in range(60)]
    unanswerable = [rng.gauss(0.4, 0.05) for _ in range(20)]
    result = cv.cross_validate(answerable + unanswerable, [True] * 60 + [False] * 20, k=5)
    assert len(result.fold_thresholds) == 5
    assert 0.45 < result.threshold < 0.65          # between the two clusters
    assert result.held_out.refusal_recall > 0.9     # clusters 6 sigma apart
    assert result.held_out.false_refusal_rate <= 0.05
    assert result.held_out.n_answerable == 60 and result.held_out.n_unanswerable == 20


def test_folds_are_stratified_and_partition_the_items():
    labels = [True] * 13 + [False] * 7
    folds = cv.stratified_folds(labels, 5, seed=3)
    assert sorted(i for f in folds for i in f) == list(range(20))
    assert all(any(not labels[i] for i in f) for f in folds)  # every fold holds an unanswerable item
    assert cv.stratified_folds(labels, 5, seed=3) == folds    # deterministic
