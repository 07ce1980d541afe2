"""Readers' labels of the three answer paths on the same held-out questions (make_path_sets, ANSWER_RUBRIC.md).

    python -m evals.faithfulness.score_paths   # -> evals/reports/faithfulness/paths.md
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
LABELS = ("correct", "partial", "wrong", "off")


def main() -> None:
    key = {json.loads(l)["id"]: json.loads(l) for l in (HERE / "paths/key.jsonl").read_text().splitlines() if l}
    counts: dict = defaultdict(Counter)
    for path in sorted((HERE / "paths").glob("labels_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            which = key[row["id"]]
            course = "bundled course" if which["course"] == "bundled" else "other courses"
            for letter in "ABC":
                counts[(which[letter], "all")][row[letter]] += 1
                counts[(which[letter], course)][row[letter]] += 1
    lines = ["# Three answer paths judged blind by readers, same held-out questions", "",
             "95 questions of the faithfulness set's held split that at least one path answered (99 asked; the four all",
             "three refused left out), each answered by the CPU LLM writing (`RAG_ANSWER_MODE=write`, claim check of",
             "b7e24a3/bcbcacc), the CPU LLM selecting lines (`select`) and the extractive answerer; three readers with",
             "evals/faithfulness/ANSWER_RUBRIC.md, answers shown as A/B/C in random order. Runs:",
             "evals/reports/faithfulness/paths/; labels: evals/faithfulness/paths/labels_*.jsonl.", "",
             "| path | answers | correct | partial | wrong | off | correct + partial |", "|---|---|---|---|---|---|---|"]
    for path in ("write", "select", "extractive"):
        for course in ("all", "bundled course", "other courses"):
            c = counts[(path, course)]
            n = sum(c.values())
            if n:
                lines.append(f"| {path} ({course}) | {n} | " + " | ".join(f"{c[l] / n:.2f}" for l in LABELS)
                             + f" | {(c['correct'] + c['partial']) / n:.2f} |")
    out = ROOT / "evals/reports/faithfulness/paths.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
