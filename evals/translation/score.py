"""Readers' labels of the CPU model's line translations (``make_set.py``, ``RUBRIC.md``): counts and agreement.

    python -m evals.translation.score        -> evals/reports/translation/report.md
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
LABELS = ("faithful", "minor", "wrong", "garbled")


def main() -> int:
    items = {r["id"]: r for r in map(json.loads, (HERE / "set.jsonl").read_text(encoding="utf-8").splitlines())}
    readers = {p.stem: {r["id"]: r["label"] for r in map(json.loads, p.read_text(encoding="utf-8").splitlines())}
               for p in sorted((HERE / "labels").glob("*.jsonl"))}
    lines = ["# Can the CPU model translate the notes' lines? (issue 20, part 4)", "",
             f"{len(items)} lines of the two one-language courses (`python -m evals.translation.make_set`), translated "
             "one per call by the CPU model, labelled blind by readers who saw only `RUBRIC.md` and the pairs.", "",
             "| reader | course | " + " | ".join(LABELS) + " | usable (faithful + minor) |", "|---|---|" + "---|" * 5]
    for name, labels in readers.items():
        for course in sorted({r["course"] for r in items.values()}) + ["all"]:
            ids = [i for i, r in items.items() if course in ("all", r["course"])]
            counts = Counter(labels[i] for i in ids)
            usable = (counts["faithful"] + counts["minor"]) / len(ids)
            lines.append(f"| {name} | {course} | " + " | ".join(str(counts[k]) for k in LABELS) + f" | {usable:.0%} |")
    if len(readers) >= 2:
        a, b = list(readers.values())[:2]
        same = sum(a[i] == b[i] for i in items) / len(items)
        usable_same = sum((a[i] in LABELS[:2]) == (b[i] in LABELS[:2]) for i in items) / len(items)
        lines += ["", f"Agreement: same label {same:.0%}; same usable / not usable {usable_same:.0%}."]
    out = HERE.parent / "reports" / "translation" / "report.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
