"""The tutor's two answer paths on the same questions, for readers to judge answer by answer.

For every answer of the faithfulness set's held split (``sentences.jsonl``), the CPU LLM's full answer as the student
saw it and the extractive answer to the same question from the extractive run of the same gold file, each with the
full text of the sections it cites, in random order (A/B) so a reader judges each on its own.

    python -m evals.faithfulness.make_answer_pairs    # -> evals/faithfulness/answers/pairs.jsonl (+ key.jsonl)
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from evals.faithfulness.make_set import ROOT, sections_of, shown_answer, write_jsonl

HERE = Path(__file__).parent
EXTRACTIVE = {
    "evals/reports/llamacpp/test/report.json": "evals/reports/extractive/test/report.json",
    "evals/reports/llamacpp/dev/report.json": "evals/reports/extractive/dev/report.json",
    "evals/reports/courses/llamacpp/bio-cell-ko/report.json": "evals/reports/courses/extractive/bio-cell-ko/report.json",
    "evals/reports/courses/llamacpp/econ-intro-en/report.json": "evals/reports/courses/extractive/econ-intro-en/report.json",
    "evals/reports/courses/llamacpp_bridged/bio-cell-ko/report.json": "evals/reports/courses/extractive/bio-cell-ko/report.json",
    "evals/reports/courses/llamacpp_bridged/econ-intro-en/report.json": "evals/reports/courses/extractive/econ-intro-en/report.json",
}
NOTES = {"nvidia-ai-infra-1": "corpus/nvidia-ai-infra-1", "bio-cell-ko": "evals/courses/bio-cell-ko",
         "econ-intro-en": "evals/courses/econ-intro-en"}


def items(path: str) -> dict:
    return {i["id"]: i for i in json.loads((ROOT / path).read_text(encoding="utf-8"))["items"]}


def main() -> None:
    rows = [json.loads(l) for l in (HERE / "sentences.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    answers = {}
    for row in rows:
        if row["split"] == "held" and row["source"] in EXTRACTIVE:
            answers.setdefault((row["source"], row["item"]), row)
    rng = random.Random(11)
    pairs, key = [], []
    section_cache: dict = {}
    for (source, item_id), row in sorted(answers.items()):
        llm, extractive = items(source).get(item_id), items(EXTRACTIVE[source]).get(item_id)
        if not llm or not extractive or extractive.get("outcome") == "refused":
            continue
        sections = section_cache.setdefault(row["course"], sections_of(NOTES[row["course"]]))
        shown = {name: shown_answer(item, sections) for name, item in (("llm", llm), ("extractive", extractive))}
        order = ["llm", "extractive"]
        rng.shuffle(order)
        pair_id = f"{row['id'].rsplit('-', 1)[0]}"
        pairs.append({"id": pair_id, "lang": row["lang"], "question": row["question"],
                      "A": shown[order[0]], "B": shown[order[1]]})
        key.append({"id": pair_id, "A": order[0], "B": order[1], "course": row["course"], "source": source})
    out = HERE / "answers"
    out.mkdir(exist_ok=True)
    write_jsonl(out / "pairs.jsonl", pairs)
    write_jsonl(out / "key.jsonl", key)
    print(f"{len(pairs)} pairs -> {out}")


if __name__ == "__main__":
    main()
