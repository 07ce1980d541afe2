"""How well the claim check finds the bad sentences of the labelled faithfulness set.

Each labelled sentence is judged again by ``rag.claims.ClaimChecker`` against the lines of the sections it cites
(every line of those sections stands in for the evidence lines of the original run, which reports do not keep),
with the question and the course's vocabulary as in the tutor. A sentence the checker withholds is "flagged".
Bad = labelled contradicted or unsupported; filler sentences are left out of recall and precision (withholding
one costs nothing). Reported per split ("fit": tune on it; "held": report only) and per question language.

    python -m evals.faithfulness.score_detector [--out evals/reports/faithfulness/detector.md]
"""
from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

from rag.claims import ClaimChecker
from rag.config import load_settings
from rag.engine import Engine
from rag.evidence import EvidenceLine
from rag.ingest.chunking import section_units

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
COURSES = {"nvidia-ai-infra-1": "corpus/nvidia-ai-infra-1", "bio-cell-ko": "evals/courses/bio-cell-ko",
           "econ-intro-en": "evals/courses/econ-intro-en"}
BAD = {"contradicted", "unsupported"}


def load_labels(folder: Path, pattern: str = "*.jsonl") -> dict[str, dict]:
    labels = {}
    for path in sorted(folder.glob(pattern)):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                labels[row["id"]] = row
    return labels


def evidence_for(rows: list[dict], answerer, language: str) -> list[EvidenceLine]:
    wanted = list(dict.fromkeys(number for row in rows for number in (row["cited"] or row["cited_text"])))
    lines, next_id = [], 1
    for number in wanted:
        section = (answerer.sections.get((_doc(answerer), number, language))
                   or next((s for (d, n, l), s in answerer.sections.items() if n == number), None))
        if section is None:
            continue
        for order, text in enumerate(section_units(section)):   # as the tutor's evidence lines are cut
            lines.append(EvidenceLine(next_id, section, text, 0.0, order))
            next_id += 1
    return lines


def _doc(answerer) -> str:
    return next(iter(answerer.sections))[0]


def flags(rows: list[dict]) -> dict[str, tuple[bool, str]]:
    """sentence id -> (flagged, reason), answers judged in order as the tutor does."""
    by_course = defaultdict(list)
    for row in rows:
        by_course[row["course"]].append(row)
    out = {}
    for course, course_rows in by_course.items():
        engine = Engine(load_settings({**os.environ, "RAG_NOTES": str(ROOT / COURSES[course])}))
        answerer = engine.answerer("extractive")
        answers = defaultdict(list)
        for row in course_rows:
            answers[row["id"].rsplit("-", 1)[0]].append(row)
        for answer_rows in answers.values():
            language = answer_rows[0]["lang"]
            checker = ClaimChecker(evidence_for(answer_rows, answerer, language), answer_rows[0]["question"],
                                   answerer._bilingual_tokens, answerer.similarity,
                                   course_terms=answerer.course_terms(), notes_tokens=answerer.notes_tokens(),
                                   notes_languages=answerer.vocabulary().languages,
                                   cross_similarity=(answerer.multilingual_similarity
                                                     if engine.settings.cross_language_sentences else None))
            for row in sorted(answer_rows, key=lambda r: int(r["id"].rsplit("-", 1)[1])):
                check = checker.check(row["sentence"])
                out[row["id"]] = (not check.supported, check.reason)
    return out


def score(rows, labels, flagged) -> dict:
    tp = fp = fn = tn = filler = 0
    for row in rows:
        label = labels[row["id"]]["label"]
        if label == "filler":
            filler += 1
            continue
        bad, hit = label in BAD, flagged[row["id"]][0]
        tp += bad and hit
        fn += bad and not hit
        fp += (not bad) and hit
        tn += (not bad) and not hit
    n = tp + fp + fn + tn
    return {"sentences": n + filler, "filler": filler, "bad": tp + fn, "bad_share": (tp + fn) / n if n else 0.0,
            "flagged": tp + fp, "recall": tp / (tp + fn) if tp + fn else None,
            "precision": tp / (tp + fp) if tp + fp else None,
            "bad_shown_share": fn / (fn + tn) if fn + tn else 0.0}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=HERE / "sentences.jsonl")
    parser.add_argument("--labels", type=Path, default=HERE / "labels")
    parser.add_argument("--out", type=Path, default=ROOT / "evals/reports/faithfulness/detector.md")
    parser.add_argument("--split", choices=["fit", "held", "both"], default="both",
                        help="score one split only (tune with --split fit; look at held once, at the end)")
    args = parser.parse_args(argv)
    rows = [json.loads(l) for l in args.sentences.read_text(encoding="utf-8").splitlines() if l.strip()]
    labels = load_labels(args.labels)
    rows = [r for r in rows if r["id"] in labels and args.split in ("both", r["split"])]
    flagged = flags(rows)
    groups = {"all": rows}
    for split in ("fit", "held") if args.split == "both" else (args.split,):
        groups[split] = [r for r in rows if r["split"] == split]
        for lang in ("ko", "en"):
            groups[f"{split} {lang}"] = [r for r in rows if r["split"] == split and r["lang"] == lang]
    fmt = lambda v: "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
    lines = ["# Claim-check detector on the labelled faithfulness set", "",
             f"{len(rows)} labelled sentences (evals/faithfulness/; labels by readers who did not see the checker).", "",
             "| group | sentences | filler | bad | bad share | flagged | recall of bad | precision | bad share shown |",
             "|---|---|---|---|---|---|---|---|---|"]
    result = {}
    for name, group in groups.items():
        s = score(group, labels, flagged)
        result[name] = s
        lines.append(f"| {name} | {s['sentences']} | {s['filler']} | {s['bad']} | {fmt(s['bad_share'])} | "
                     f"{s['flagged']} | {fmt(s['recall'])} | {fmt(s['precision'])} | {fmt(s['bad_shown_share'])} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"groups": result, "sentences": {i: {"flagged": f, "reason": r, "label": labels[i]["label"]}
                                         for i, (f, r) in flagged.items()}}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
