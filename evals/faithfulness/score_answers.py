"""Answer-level judgement of the two answer paths on the same held-out questions (ANSWER_RUBRIC.md).

Readers labelled answers A and B of each pair without knowing which path wrote which (``answers/key.jsonl`` holds
that); this joins the two and reports the share of correct / partial / wrong / off answers per path and course.

    python -m evals.faithfulness.score_answers   # -> evals/reports/faithfulness/answers.md
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
LABELS = ("correct", "partial", "wrong", "off")


def main() -> None:
    key = {json.loads(l)["id"]: json.loads(l) for l in (HERE / "answers/key.jsonl").read_text().splitlines() if l}
    counts: dict[str, Counter] = defaultdict(Counter)
    for path in sorted((HERE / "answers").glob("labels_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            pair = key[row["id"]]
            course = "bundled course" if pair["course"] == "nvidia-ai-infra-1" else "other courses"
            for side in "AB":
                counts[(pair[side], "all")][row[side]] += 1
                counts[(pair[side], course)][row[side]] += 1
    lines = ["# Whole answers judged by readers: CPU LLM vs extractive, same held-out questions", "",
             "The held split of the faithfulness set (answers whose sentences no constant was fitted on), each question",
             "answered by both paths (stored runs: the LLM's answers predate the structure checks of rag/claim_structure.py).",
             "Labels by two readers with evals/faithfulness/ANSWER_RUBRIC.md, blind to which path wrote which.", "",
             "| path | questions | correct | partial | wrong | off | correct + partial |", "|---|---|---|---|---|---|---|"]
    for path in ("extractive", "llm"):
        for course in ("all", "bundled course", "other courses"):
            c = counts[(path, course)]
            n = sum(c.values())
            if not n:
                continue
            shares = " | ".join(f"{c[label] / n:.2f}" for label in LABELS)
            lines.append(f"| {path} ({course}) | {n} | {shares} | {(c['correct'] + c['partial']) / n:.2f} |")
    out = ROOT / "evals/reports/faithfulness/answers.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
