"""Readers' labels of answer paths on the same held-out questions (ANSWER_RUBRIC.md), joined with the key.

    python -m evals.faithfulness.score_paths            # paths/ (write, select, extractive) -> reports/faithfulness/paths.md
    python -m evals.faithfulness.score_paths --set answers   # answers/ (the stored LLM run vs extractive) -> answers.md
"""
from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
LABELS = ("correct", "partial", "wrong", "off")
INTROS = {
    "paths": ["# Three answer paths judged blind by readers, same held-out questions", "",
              "95 questions of the faithfulness set's held split that at least one path answered (99 asked; the four all",
              "three refused left out), each answered by the CPU LLM writing (`RAG_ANSWER_MODE=write`, claim check of",
              "b7e24a3/bcbcacc), the CPU LLM selecting lines (`select`) and the extractive answerer; three readers with",
              "evals/faithfulness/ANSWER_RUBRIC.md, answers shown as A/B/C in random order. Runs:",
              "evals/reports/faithfulness/paths/; labels: evals/faithfulness/paths/labels_*.jsonl."],
    "answers": ["# Whole answers judged by readers: CPU LLM vs extractive, same held-out questions", "",
                "The held split of the faithfulness set (answers whose sentences no constant was fitted on), each question",
                "answered by both paths (stored runs: the LLM's answers predate the structure checks of rag/claim_structure.py).",
                "Labels by two readers with evals/faithfulness/ANSWER_RUBRIC.md, blind to which path wrote which."],
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(INTROS), default="paths")
    args = parser.parse_args(argv)
    folder = HERE / args.set
    key = {json.loads(l)["id"]: json.loads(l) for l in (folder / "key.jsonl").read_text().splitlines() if l}
    counts: dict = defaultdict(Counter)
    for path in sorted(folder.glob("labels_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            which = key[row["id"]]
            course = "bundled course" if which["course"] in ("bundled", "nvidia-ai-infra-1") else "other courses"
            for letter in "ABC":
                if letter in which and letter in row:
                    counts[(which[letter], "all")][row[letter]] += 1
                    counts[(which[letter], course)][row[letter]] += 1
    lines = INTROS[args.set] + ["", "| path | answers | correct | partial | wrong | off | correct + partial |",
                                "|---|---|---|---|---|---|---|"]
    for name in sorted({p for p, _ in counts}, key=["write", "llm", "select", "extractive"].index):
        for course in ("all", "bundled course", "other courses"):
            c = counts[(name, course)]
            n = sum(c.values())
            if n:
                lines.append(f"| {name} ({course}) | {n} | " + " | ".join(f"{c[l] / n:.2f}" for l in LABELS)
                             + f" | {(c['correct'] + c['partial']) / n:.2f} |")
    out = ROOT / f"evals/reports/faithfulness/{args.set}.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
