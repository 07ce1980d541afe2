"""Rebuild the side-by-side summary of a report folder from its per-split reports.

``rag eval`` writes it itself when given several gold files; this is for splits run separately (the CPU LLM on
the test split runs for most of an hour, in the background, after the dev run was read):

    python -m evals.summary evals/reports/llamacpp      # reads dev/report.json and test/report.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .runner import write_summary

ORDER = ("dev", "test")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    found = {p.parent.name: p for p in folder.glob("*/report.json")}
    if not found:
        print(f"error: no */report.json under {folder}; run rag eval --out {folder}/dev first", file=sys.stderr)
        return 2
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    reports = {n: json.loads(found[n].read_text(encoding="utf-8")) for n in names}
    print(write_summary(reports, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
