"""CI's quality floor: a retrieval-only evaluation of the committed gold set with the real embedder.

Floors sit a little under the figures in evals/reports/extractive/ (lowest language of either split:
recall@5 0.970, Korean test; MRR@10 0.864, English dev, with the grown dev and the test split's new items);
a change that loses retrieval quality fails here before it lands. Both splits are checked: a floor is a
regression alarm, not something fitted, so reading it on the frozen test split tunes nothing.
"""
import pytest

from rag.config import REPO_ROOT, load_settings

RECALL_AT_5_FLOOR = 0.95
MRR_FLOOR = 0.83


@pytest.mark.slow
@pytest.mark.parametrize("split", ["dev", "test"])
def test_retrieval_quality_stays_above_the_floor(tmp_path, split):
    from evals.runner import run_eval
    from rag.engine import Engine

    engine = Engine(load_settings(generator="extractive"))   # RAG_HOME: CI's model cache
    report = run_eval(REPO_ROOT / "evals" / f"gold_{split}.jsonl", tmp_path, engine, retrieval_only=True,
                      ablation=False, evidence_fn=False)
    for language in ("ko", "en"):
        metrics = report["metrics"][language]
        assert metrics["recall@5"] >= RECALL_AT_5_FLOOR, (split, language, metrics)
        assert metrics["mrr@10"] >= MRR_FLOOR, (split, language, metrics)
