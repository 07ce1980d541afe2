"""A second labelled set from a fresh run, scored as the tutor decided: every sentence the CPU model wrote, shown or
withheld by the claim check, for questions no earlier set used.

``rag eval`` keeps each answer's text and the sentences the claim check withheld (``withheld``). This takes both:
shown sentences (the model's part of the answer, as in make_set) with the sections they cite, and withheld ones
with the sections retrieval put first (their raw line markers are not kept). Readers label them with RUBRIC.md;
``score_fresh`` then reports recall and precision of the check's real decisions.

    python -m evals.faithfulness.make_fresh_set REPORT.json NOTES_FOLDER   # -> evals/faithfulness/fresh/sentences.jsonl
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from evals.faithfulness.make_set import is_system_text, model_part, normalise, sections_of, write_jsonl
from rag.claims import markers, split_sentences, strip_markers

HERE = Path(__file__).parent


def section_texts(numbers, sections: dict, language: str) -> dict:
    texts = {}
    for number in numbers:
        by_lang = sections.get(number, {})
        section = by_lang.get(language) or next(iter(by_lang.values()), None)
        if section:
            texts[number] = f"{section.section} {section.title}\n{section.text}"
    return texts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("notes")
    parser.add_argument("--out", type=Path, default=HERE / "fresh" / "sentences.jsonl")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    sections = sections_of(args.notes)
    note_lines = {normalise(line) for by_lang in sections.values() for s in by_lang.values()
                  for line in s.text.splitlines() if line.strip()}
    rows = []
    for item in report["items"]:
        if item.get("outcome") == "refused" or not str(item.get("generator", "")).startswith(("llamacpp", "extractive")):
            continue
        key = hashlib.sha1(f"{args.report}:{item['id']}".encode()).hexdigest()[:8]
        lang = item.get("lang")
        shown = [] if item.get("generator") == "extractive" else split_sentences(model_part(item["answer"]))
        for n, sentence in enumerate(shown):
            if not strip_markers(sentence).strip() or normalise(sentence) in note_lines or is_system_text(sentence):
                continue
            rows.append({"id": f"{key}-s{n}", "item": item["id"], "lang": lang, "question": item["question"],
                         "sentence": sentence.strip(), "withheld": False, "reason": "",
                         "cited_text": section_texts(markers(sentence) or item.get("citations", []), sections, lang)})
        for n, withheld in enumerate(item.get("withheld") or []):
            rows.append({"id": f"{key}-w{n}", "item": item["id"], "lang": lang, "question": item["question"],
                         "sentence": withheld["sentence"].strip(), "withheld": True, "reason": withheld["reason"],
                         "cited_text": section_texts(item.get("retrieved", [])[:3], sections, lang)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out, rows)
    print(f"{len(rows)} sentences ({sum(r['withheld'] for r in rows)} withheld) -> {args.out}")


if __name__ == "__main__":
    main()
