"""Model-written sentences from real evaluation runs, with the sections they cite, for independent labelling.

Reads the per-item answers that `rag eval` stored in CPU-LLM reports, keeps the part of each answer the model
wrote (before the appended notes lines), splits it into sentences, drops sentences that are a notes line word for
word (quoted, not written), and writes one row per sentence with the question and the full text of every section
it cites, in the student's language where the notes have it. The checker is not run here: labellers see the
sentence and the notes, nothing else.

    python -m evals.faithfulness.make_set            # -> evals/faithfulness/sentences.jsonl

Each answer's sentences go to one split by a hash of the report and item id ("fit": anything may be tuned on it;
"held": nothing may be).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
from pathlib import Path

from rag.claims import markers, split_sentences, strip_markers
from rag.config import load_settings
from rag.engine import Engine
from rag.prompts import message

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("sentences.jsonl")

# (report, notes folder, how many answers to take at most); chosen for spread: both question languages, the bundled
# course's dev and test splits and two fresh writers, and both other courses (as asked and bridged)
SOURCES = [
    ("evals/reports/llamacpp/test/report.json", "corpus/nvidia-ai-infra-1", 60),
    ("evals/reports/llamacpp/dev/report.json", "corpus/nvidia-ai-infra-1", 70),
    ("evals/reports/llamacpp/v9v10_ac99000/report.json", "corpus/nvidia-ai-infra-1", 60),
    ("evals/reports/courses/llamacpp/bio-cell-ko/report.json", "evals/courses/bio-cell-ko", 90),
    ("evals/reports/courses/llamacpp/econ-intro-en/report.json", "evals/courses/econ-intro-en", 90),
    ("evals/reports/courses/llamacpp_bridged/bio-cell-ko/report.json", "evals/courses/bio-cell-ko", 45),
    ("evals/reports/courses/llamacpp_bridged/econ-intro-en/report.json", "evals/courses/econ-intro-en", 45),
]
APPENDIX = [message("also_in_notes", lang) for lang in ("ko", "en")]


def _system_texts() -> list[re.Pattern]:
    """The tutor's own messages (partial-answer leads, notices), which the model did not write."""
    table = json.loads((ROOT / "rag/prompts/messages.json").read_text(encoding="utf-8"))
    patterns = []
    for value in table.values():
        for text in (value.values() if isinstance(value, dict) else [value]):
            for piece in (split_sentences(text) if isinstance(text, str) else []):
                parts = re.split(r"\{[^}]*\}", piece)
                if len("".join(parts)) > 8:
                    patterns.append(re.compile("[^\n]*?".join(map(re.escape, parts))))
    return patterns


SYSTEM_TEXTS = _system_texts()


def normalise(text: str) -> str:
    return re.sub(r"[\s*_`>#|:-]+", " ", strip_markers(text)).strip(" .").lower()


def model_part(answer: str) -> str:
    for marker in APPENDIX:
        answer = answer.split(marker)[0]
    return answer


def is_system_text(sentence: str) -> bool:
    body = strip_markers(sentence).strip()
    return any(p.search(body) and len(p.search(body).group(0)) >= 0.6 * len(body) for p in SYSTEM_TEXTS)


def sections_of(notes: str) -> dict:
    engine = Engine(load_settings({**os.environ, "RAG_NOTES": str(ROOT / notes)}))
    by_number: dict = {}
    for section in engine.read_notes().sections:
        by_number.setdefault(section.section, {})[section.language] = section
    return by_number


_CITED = re.compile(r"\[(\d{1,2}(?:\.\d{1,2})?)\]")


def shown_answer(item: dict, sections: dict) -> dict:
    """An answer as a reader judges it: its text and the full text of every section it cites, in the student's
    language where the notes have it."""
    texts = {}
    for number in dict.fromkeys(_CITED.findall(item["answer"])):
        by_lang = sections.get(number, {})
        section = by_lang.get(item.get("lang")) or next(iter(by_lang.values()), None)
        if section:
            texts[number] = f"{section.section} {section.title}\n{section.text}"
    return {"answer": item["answer"], "cited_text": texts}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def split_of(key: str) -> str:
    return "held" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 else "fit"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    for report_path, notes, limit in SOURCES:
        report = json.loads((ROOT / report_path).read_text(encoding="utf-8"))
        sections = sections_of(notes)
        note_lines = {normalise(line) for by_lang in sections.values() for s in by_lang.values()
                      for line in s.text.splitlines() if line.strip()}
        items = [i for i in report["items"] if i.get("outcome") != "refused"
                 and str(i.get("generator", "")).startswith("llamacpp") and i.get("answer")]
        random.Random(f"{args.seed}:{report_path}").shuffle(items)
        taken = 0
        for item in items:
            if taken >= limit:
                break
            sentences = []
            for sentence in split_sentences(model_part(item["answer"])):
                cited = markers(sentence)
                if not strip_markers(sentence).strip() or normalise(sentence) in note_lines:
                    continue
                sentences.append((sentence.strip(), cited))
            if not sentences:
                continue
            taken += 1
            key = f"{report_path}:{item['id']}"
            answer_cites = list(dict.fromkeys(number for _, cited in sentences for number in cited))
            for n, (sentence, cited) in enumerate(sentences):
                if is_system_text(sentence):
                    continue   # numbered all the same, so ids stay those of the first labelling batches
                texts = {}
                # a sentence without a marker is read against what the rest of its answer cites
                for number in cited or answer_cites:
                    by_lang = sections.get(number, {})
                    section = by_lang.get(item.get("lang")) or next(iter(by_lang.values()), None)
                    if section:
                        texts[number] = f"{section.section} {section.title}\n{section.text}"
                rows.append({"id": f"{hashlib.sha1(key.encode()).hexdigest()[:8]}-{n}", "split": split_of(key),
                             "source": report_path, "item": item["id"], "course": Path(notes).name,
                             "lang": item.get("lang"), "question": item["question"], "sentence": sentence,
                             "cited": cited, "cited_by_answer": not cited, "cited_text": texts, "answerable": item.get("answerable")})
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts: dict = {}
    for row in rows:
        counts[(row["course"], row["lang"], row["split"])] = counts.get((row["course"], row["lang"], row["split"]), 0) + 1
    print(f"{len(rows)} sentences -> {args.out}")
    for key in sorted(counts):
        print(" ", *key, counts[key])


if __name__ == "__main__":
    main()
