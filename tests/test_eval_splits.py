"""Dev and frozen test splits side by side: nothing is fitted on test, the summary shows both per language."""
import json

from evals import runner
from tests.test_eval_runner import GOLD, FakeEngine


def _write(path, items, split):
    path.write_text("".join(json.dumps({**i, "split": split, "origin": "v1"}, ensure_ascii=False) + "\n"
                            for i in items), encoding="utf-8")
    return path


def test_summary_puts_dev_and_test_side_by_side_and_fits_nothing_on_test(tmp_path):
    dev = _write(tmp_path / "gold_dev.jsonl", GOLD, "dev")
    test = _write(tmp_path / "gold_test.jsonl", GOLD, "test")
    scores = {g["question"]: s for g, s in zip(GOLD, (0.9, 0.8, 0.7, 0.2, 0.1))}
    reports = runner.run_splits([dev, test], tmp_path / "out", FakeEngine(), ablation=False,
                                evidence_fn=lambda question, hits: scores[question])
    assert set(reports) == {"dev", "test"}
    assert "threshold" in reports["dev"]["refusal_cv"]                 # fitted on dev ...
    assert "threshold" not in reports["test"]["refusal_cv"]            # ... never on test
    assert reports["test"]["frozen_test"] and not reports["dev"]["frozen_test"]
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    header = next(line for line in summary.splitlines() if line.startswith("| metric"))
    assert header.split(" | ")[1:] == ["dev all", "dev ko", "dev en", "test all", "test ko", "test en |"]
    assert "unsupported_claim_rate" in summary and "frozen test split" in summary
    assert (tmp_path / "out" / "dev" / "report.md").is_file() and (tmp_path / "out" / "test" / "report.md").is_file()


def test_expected_outcome_defaults_from_answerable_and_partial_is_kept(tmp_path):
    items = [dict(GOLD[0], expected="partial", missing=["H100"]), GOLD[3]]
    path = _write(tmp_path / "g.jsonl", items, "dev")
    gold = runner.load_gold(path)
    assert [g.expected for g in gold] == ["partial", "refuse"] and gold[0].missing == ["H100"]
