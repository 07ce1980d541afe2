"""The claim check's real decisions on a fresh run, against readers' labels (make_fresh_set, RUBRIC.md).

Flagged = the sentence was withheld in the run; bad = labelled contradicted or unsupported; filler is left out.
Also the share of shown (not withheld) model sentences that are bad: what a student would have read.

    python -m evals.faithfulness.score_fresh   # -> evals/reports/faithfulness/fresh.md
"""
from __future__ import annotations

import json
from pathlib import Path

from evals.faithfulness.score_detector import BAD, load_labels

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def main() -> None:
    rows = [json.loads(l) for l in (HERE / "fresh/sentences.jsonl").read_text(encoding="utf-8").splitlines() if l]
    labels = load_labels(HERE / "fresh", "labels_*.jsonl")
    lines = ["# The claim check's decisions on a fresh CPU-LLM run, judged by readers", "",
             "70 answerable bundled dev questions no earlier labelled set used, `RAG_ANSWER_MODE=write` at 8007653",
             "(evals/reports/faithfulness/fresh_write/); every sentence the model wrote, shown or withheld, labelled by",
             "two readers who saw neither the checker nor which sentences it withheld.", "",
             "| language | sentences | filler | bad | withheld | recall of bad | precision | bad share of shown |",
             "|---|---|---|---|---|---|---|---|"]
    for language in ("all", "ko", "en"):
        group = [r for r in rows if r["id"] in labels and language in ("all", r["lang"])]
        judged = [r for r in group if labels[r["id"]]["label"] != "filler"]
        bad = [r for r in judged if labels[r["id"]]["label"] in BAD]
        withheld = [r for r in judged if r["withheld"]]
        caught = [r for r in bad if r["withheld"]]
        shown = [r for r in judged if not r["withheld"]]
        fmt = lambda a, b: f"{a / b:.2f}" if b else "-"  # noqa: E731
        lines.append(f"| {language} | {len(group)} | {len(group) - len(judged)} | {len(bad)} | {len(withheld)} | "
                     f"{fmt(len(caught), len(bad))} | {fmt(len(caught), len(withheld))} | "
                     f"{fmt(len(bad) - len(caught), len(shown))} |")
    out = ROOT / "evals/reports/faithfulness/fresh.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
