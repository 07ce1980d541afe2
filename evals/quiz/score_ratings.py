"""Share of quiz items readers rated acceptable / fixable / reject (evals/quiz/RUBRIC.md), by language and kind.

    python -m evals.quiz.score_ratings [--items evals/quiz/items.jsonl] [--ratings 'evals/quiz/ratings_*.jsonl']
"""
from __future__ import annotations

import argparse
import glob
import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default=str(HERE / "items.jsonl"))
    parser.add_argument("--ratings", default=str(HERE / "ratings_*.jsonl"))
    parser.add_argument("--title", default="Quiz items rated by readers")
    args = parser.parse_args(argv)
    items = {json.loads(l)["id"]: json.loads(l) for l in Path(args.items).read_text(encoding="utf-8").splitlines() if l}
    counts: dict[str, Counter] = defaultdict(Counter)
    for path in sorted(glob.glob(args.ratings)):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            item = items[row["id"]]
            for group in ("all", f"language {item['language']}", f"kind {item['kind']}", f"course {item['course']}"):
                counts[group][row["rating"]] += 1
    lines = [f"# {args.title}", "", "| group | items | acceptable | fixable | reject |", "|---|---|---|---|---|"]
    for group in sorted(counts, key=lambda g: (g != "all", g)):
        c = counts[group]
        n = sum(c.values())
        lines.append(f"| {group} | {n} | {c['acceptable'] / n:.2f} | {c['fixable'] / n:.2f} | {c['reject'] / n:.2f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
