"""The "any course" table: per course and question language, from `rag eval` reports.

    python -m evals.course_table evals/reports/courses/extractive/econ-intro-en ... [--markdown]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = [("false_refusal_rate", "false refusals"), ("refusal_recall", "refusal recall"),
           ("key_fact_recall", "key facts"), ("citation_precision", "citation precision"),
           ("language_match", "answer in the student's language")]


def rows(report_dir: Path):
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    course = report_dir.name
    for lang in ("ko", "en"):
        metrics = report["metrics"][lang]
        yield [f"{course} ({report['generator']})", lang] + [
            "-" if metrics.get(key) is None else f"{metrics[key]:.2f}" for key, _ in COLUMNS]


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    print("| course (answerer) | question language | " + " | ".join(name for _, name in COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for folder in args:
        for row in rows(Path(folder)):
            print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
