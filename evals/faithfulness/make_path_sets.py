"""Three answer paths on the same held-out questions, for readers to judge blind (ANSWER_RUBRIC.md).

The CPU LLM writing its own sentences (``RAG_ANSWER_MODE=write``, checked by rag/claims.py), the CPU LLM only
picking the notes' lines that answer (``RAG_ANSWER_MODE=select``), and the extractive answerer, each run with
``rag eval`` on the 99 held-out questions of the faithfulness set (``evals/reports/faithfulness/paths/<path>/
<course>/report.json``). Each question's three answers are shown as A, B, C in random order, each with the full
text of the sections it cites; ``key.jsonl`` says which is which.

    python -m evals.faithfulness.make_path_sets   # -> evals/faithfulness/paths/{sets.jsonl,key.jsonl}
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from evals.faithfulness.make_set import ROOT, sections_of, shown_answer, write_jsonl

HERE = Path(__file__).parent
PATHS = ("write", "select", "extractive")
COURSES = {"bundled": "corpus/nvidia-ai-infra-1", "bio": "evals/courses/bio-cell-ko", "econ": "evals/courses/econ-intro-en"}


def main() -> None:
    rng = random.Random(13)
    sets, key = [], []
    for course, notes in COURSES.items():
        sections = sections_of(notes)
        runs = {path: {i["id"]: i for i in json.loads((ROOT / f"evals/reports/faithfulness/paths/{path}/{course}/"
                                                                 "report.json").read_text(encoding="utf-8"))["items"]}
                for path in PATHS}
        for item_id, first in runs[PATHS[0]].items():
            if not all(item_id in runs[path] for path in PATHS):
                continue
            shown = {path: shown_answer(runs[path][item_id], sections) for path in PATHS}
            if len(shown) != len(PATHS):
                continue
            order = list(PATHS)
            rng.shuffle(order)
            sets.append({"id": f"{course}:{item_id}", "lang": first.get("lang"), "question": first["question"],
                         **{letter: shown[path] for letter, path in zip("ABC", order)}})
            key.append({"id": f"{course}:{item_id}", **dict(zip("ABC", order)), "course": course})
    out = HERE / "paths"
    out.mkdir(exist_ok=True)
    write_jsonl(out / "sets.jsonl", sets)
    write_jsonl(out / "key.jsonl", key)
    print(f"{len(sets)} questions -> {out}")


if __name__ == "__main__":
    main()
