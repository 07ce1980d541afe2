"""A sample of quiz items from every evaluation course, both languages, for readers to rate (evals/quiz/RUBRIC.md).

    python -m evals.quiz.sample_items [--per-course-language 25] [--courses FOLDER...]   # -> evals/quiz/items.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

from rag.config import load_settings
from rag.engine import Engine
from rag.study.generate import build_bank

ROOT = Path(__file__).resolve().parents[2]
COURSES = ["corpus/nvidia-ai-infra-1", "evals/courses/bio-cell-ko", "evals/courses/econ-intro-en"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-course-language", type=int, default=25)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--exclude", type=Path, nargs="*", default=[],
                        help="items.jsonl of earlier samples: none of their items again")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("items.jsonl"))
    parser.add_argument("--courses", nargs="*", default=COURSES, help="notes folders, relative to the repository")
    args = parser.parse_args(argv)
    seen = {json.loads(l)["id"] for path in args.exclude
            for l in path.read_text(encoding="utf-8").splitlines() if l.strip()}
    rows = []
    for notes in args.courses:
        engine = Engine(load_settings({**os.environ, "RAG_NOTES": str(ROOT / notes)}))
        bank = build_bank(engine.read_notes().sections)
        for language in ("ko", "en"):
            pool = [item for item in bank if item.language == language and item.id not in seen]
            rng = random.Random(f"{args.seed}:{notes}:{language}")
            # every kind the course has in this language, then the rest at random
            by_kind: dict[str, list] = {}
            for item in pool:
                by_kind.setdefault(item.kind, []).append(item)
            picked = [rng.choice(items) for items in by_kind.values()]
            rest = [item for item in pool if item not in picked]
            picked += rng.sample(rest, max(0, min(len(rest), args.per_course_language - len(picked))))
            for item in picked:
                rows.append({"id": item.id, "course": Path(notes).name, "language": language, "kind": item.kind,
                             "question": item.question, "choices": list(item.choices), "key": item.answer,
                             "section": f"{item.section} {item.title}", "notes_line": item.evidence})
    out = args.out
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} items -> {out}")


if __name__ == "__main__":
    main()
