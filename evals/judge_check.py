"""Measure the LLM's YES/NO check (``RAG_JUDGE``) on the DEV split, against the word rules alone.

The check matters only where the rules answer, so each item is answered by the rules (the extractive answerer:
retrieval, answerability, evidence) and, where they say "answer", the LLM is asked the judge prompt on the same
evidence lines. Reported: how many near misses its NO would catch, how many covered questions it would hide,
per language, and every NO on a covered question.

    python -m evals.judge_check --gold evals/gold_dev.jsonl --out evals/reports/judge

About 2-3 s per item on 2 cores with the CPU model. Never run it on the test split: it is a choice made on dev.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from rag.config import load_settings
from rag.engine import Engine

from .runner import is_test_split, load_gold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default="evals/gold_dev.jsonl")
    parser.add_argument("--generator", default="llamacpp", help="the LLM whose YES/NO is measured")
    parser.add_argument("--out", default="evals/reports/judge")
    args = parser.parse_args(argv)
    items = load_gold(args.gold)
    if is_test_split(items):
        print("judge_check chooses a setting: run it on the dev split only.", file=sys.stderr)
        return 2
    engine = Engine(load_settings(judge=True))
    rules, llm = engine.answerer("extractive"), engine.answerer(args.generator)
    rows = []
    for n, item in enumerate(items, start=1):
        ruled = rules.answer(item.question)
        if ruled.outcome != "answer":
            continue
        found = llm.gather(item.question, item.lang)
        says_no = llm._judged_uncovered(item.question, item.lang, found.evidence)
        rows.append({"id": item.id, "lang": item.lang, "expected": item.expected, "judge_no": says_no,
                     "question": item.question})
        print(f"[{n}/{len(items)}] {item.id} {'NO ' if says_no else 'YES'} {item.question[:70]}", file=sys.stderr)
    counts = Counter((r["lang"], "near miss" if r["expected"] == "refuse" else "covered", r["judge_no"]) for r in rows)
    n_refuse = sum(1 for i in items if i.expected == "refuse")
    n_answerable = len(items) - n_refuse
    caught = sum(v for (lang, kind, no), v in counts.items() if kind == "near miss" and no)
    hidden = sum(v for (lang, kind, no), v in counts.items() if kind == "covered" and no)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"gold": str(args.gold), "generator": llm.generator.label, "items": len(items),
               "answered_by_rules": len(rows), "near_misses_caught": caught, "covered_hidden": hidden,
               "refusal_recall_gain": round(caught / max(n_refuse, 1), 4),
               "false_refusal_gain": round(hidden / max(n_answerable, 1), 4),
               # the choice rule of evals/tune_answerability.py: refusal recall minus twice the false refusals
               "objective_change": round(caught / max(n_refuse, 1) - 2 * hidden / max(n_answerable, 1), 4),
               "by_language": {f"{lang} {kind} {'NO' if no else 'YES'}": v for (lang, kind, no), v in sorted(counts.items())}}
    (out / "judge.json").write_text(json.dumps({"summary": summary, "items": rows}, ensure_ascii=False, indent=1),
                                    encoding="utf-8")
    lines = ["# The LLM's YES/NO check on the rules' answers", "", "```", json.dumps(summary, ensure_ascii=False, indent=1),
             "```", "", "## Covered questions it would refuse", ""]
    lines += [f"- {r['id']}: {r['question']}" for r in rows if r["judge_no"] and r["expected"] != "refuse"]
    lines += ["", "## Near misses it would let through", ""]
    lines += [f"- {r['id']}: {r['question']}" for r in rows if not r["judge_no"] and r["expected"] == "refuse"]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
