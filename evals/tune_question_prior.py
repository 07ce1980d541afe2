"""Choose the labelled-question prior's k and weight (``Settings.question_prior_k/_weight``) on the DEV split only.

Each (k, weight) is run through the whole extractive evaluation, every item scored with its own writer's questions
held out of the bank (the runner does that: ``rag.index.question_bank.held_out``), so a point measures what the prior
does for a writer it has never seen. The largest citation precision + key-fact recall is named; weight 0 is the
retriever without the prior.

    python -m evals.tune_question_prior --gold evals/gold_dev.jsonl --out evals/reports/question_prior

Never run this on the test split: it fits.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

from rag.config import load_settings
from rag.engine import Engine

from .runner import is_test_split, load_gold, run_eval
from .tune_evidence import write_grid_report

GRID = {"question_prior_k": (2, 3, 4, 5), "question_prior_weight": (0.0, 0.5, 1.0, 1.5, 2.0)}
KEYS = ("citation_precision", "key_fact_recall", "false_refusal_rate", "refusal_recall", "recall@1")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default="evals/gold_dev.jsonl")
    parser.add_argument("--out", default="evals/reports/question_prior")
    args = parser.parse_args(argv)
    if is_test_split(load_gold(args.gold)):
        print("refusing to fit on the frozen test split; use the dev split", file=sys.stderr)
        return 2
    engine = Engine(load_settings())
    retriever = engine.retriever()
    shipped = retriever.settings
    rows = []
    try:
        for values in itertools.product(*GRID.values()):
            row = dict(zip(GRID, values))
            if row["question_prior_weight"] == 0 and row["question_prior_k"] != GRID["question_prior_k"][0]:
                continue   # weight 0 is the same run whatever k is
            retriever.settings = shipped.with_overrides(**row)
            with tempfile.TemporaryDirectory() as scratch:
                report = run_eval(args.gold, scratch, engine, generator="extractive", ablation=False,
                                  evidence_fn=False)
            metrics = report["metrics"]["all"]
            row.update({k: round(metrics[k], 4) for k in KEYS if metrics.get(k) is not None})
            row["objective"] = round(row["citation_precision"] + row["key_fact_recall"], 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        retriever.settings = shipped
    current = {name: getattr(shipped, name) for name in GRID}
    best = write_grid_report(Path(args.out), f"Labelled-question prior on `{args.gold}` (each item's writer held out "
                             "of the bank)", args.gold, rows, current)
    print(f"best: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
