"""Compare answerability rule variants on the DEV split only, and say which one to ship and why.

Retrieval and evidence lines are computed once per item; each variant of ``rag.answerability.Rules`` and of the
refusal threshold then re-decides answer / partial / refuse (no generation: the decision is the same for every
generator before an LLM's own vote). The choice rule, fixed before looking at the results: among variants with
at most 5% false refusals, the highest refusal recall; ties -> fewer false refusals, then the simpler rule.

    python -m evals.tune_answerability --gold evals/gold_dev.jsonl --out evals/reports/answerability

Never run this on the test split: it fits.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict
from pathlib import Path

from rag.answer import evidence_score
from rag.answerability import PARTIAL, REFUSE, Rules, assess
from rag.config import load_settings
from rag.engine import Engine
from rag.evidence import select_evidence

from .runner import load_gold

MAX_FALSE_REFUSAL = 0.05


def prepared(engine, gold):
    answerer = engine.answerer("extractive")
    rows = []
    for item in gold:
        retrieval = answerer.retriever.retrieve(item.question)
        hits = retrieval.hits[:answerer.settings.top_k]
        sections = [answerer.section_for(h, item.lang) for h in hits]
        weights = {t: answerer.retriever.keyword.idf.get(t, 0.0) for t in retrieval.expanded_tokens}
        lines = select_evidence(sections, retrieval.expanded_tokens, weights)
        rows.append((item, "\n".join(line.text for line in lines), evidence_score(retrieval.features)))
    return answerer.vocabulary(), rows


def score_variant(rows, vocab, rules: Rules, threshold: float) -> dict:
    outcomes = {"answer": [], "partial": [], "refuse": []}
    for item, lines, score in rows:
        decision = assess(item.question, item.lang, lines, score, threshold, vocab, rules)
        outcomes[item.expected].append((item, decision.outcome))
    covered = outcomes["answer"] + outcomes["partial"]
    return {
        "false_refusal_rate": _share(covered, lambda o: o == REFUSE),
        "false_refusals_ko": _share([x for x in covered if x[0].lang == "ko"], lambda o: o == REFUSE),
        "false_refusals_en": _share([x for x in covered if x[0].lang == "en"], lambda o: o == REFUSE),
        "refusal_recall": _share(outcomes["refuse"], lambda o: o == REFUSE),
        "partial_recall": _share(outcomes["partial"], lambda o: o == PARTIAL),
        "wrong_refusals": [i.id for i, o in covered if o == REFUSE],
        "missed_refusals": [i.id for i, o in outcomes["refuse"] if o != REFUSE],
    }


def _share(pairs, test) -> float | None:
    return sum(1 for _, o in pairs if test(o)) / len(pairs) if pairs else None


def variants(base_threshold: float):
    nouns = [("hard", 0.0), ("off", 0.0)] + [("soft", s) for s in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]
    thresholds = [base_threshold + d for d in (-0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15)]
    for (noun_rule, noun_score), dictionary, numbers, anchors, threshold in itertools.product(
            nouns, (True, False), (True, False), (True, False), thresholds):
        yield Rules(noun_rule, noun_score, dictionary, numbers, anchors), round(threshold, 4)


def complexity(rules: Rules) -> int:
    return (rules.korean_nouns != "off") + rules.english_dictionary + rules.question_numbers + rules.anchors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default="evals/gold_dev.jsonl")
    parser.add_argument("--out", default="evals/reports/answerability")
    args = parser.parse_args(argv)
    gold = load_gold(args.gold)
    if any(item.split == "test" for item in gold):
        print("error: this script fits rules; run it on the dev split only", file=sys.stderr)
        return 2
    engine = Engine(load_settings(generator="extractive"))
    vocab, rows = prepared(engine, gold)
    base = engine.settings.refusal_threshold
    results = []
    for rules, threshold in variants(base):
        results.append({"rules": asdict(rules), "threshold": threshold, **score_variant(rows, vocab, rules, threshold)})
    eligible = [r for r in results if (r["false_refusal_rate"] or 0) <= MAX_FALSE_REFUSAL]
    pool = eligible or results
    best = max(pool, key=lambda r: (r["refusal_recall"] or 0, -(r["false_refusal_rate"] or 0),
                                    -complexity(Rules(**r["rules"])), -abs(r["threshold"] - base)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "variants.json").write_text(json.dumps({"gold": args.gold, "n": len(gold), "chosen": best,
                                                   "variants": results}, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    lines = ["# Answerability variants on the dev split", "",
             f"Gold: `{args.gold}` ({len(gold)} items). Choice rule: at most {MAX_FALSE_REFUSAL:.0%} false refusals, "
             "then the highest refusal recall, then fewer false refusals, then the simpler rule.", "",
             "| korean nouns | noun score | dictionary | numbers | anchors | threshold | false refusals (ko / en) "
             "| refusal recall | partial recall |", "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (-(r["refusal_recall"] or 0), r["false_refusal_rate"] or 0))[:40]:
        rules = r["rules"]
        lines.append(f"| {rules['korean_nouns']} | {rules['korean_noun_score']} | {rules['english_dictionary']} | "
                     f"{rules['question_numbers']} | {rules['anchors']} | {r['threshold']} | {r['false_refusal_rate']:.3f} "
                     f"({r['false_refusals_ko']:.3f} / {r['false_refusals_en']:.3f}) | {r['refusal_recall']:.3f} | "
                     f"{'-' if r['partial_recall'] is None else format(r['partial_recall'], '.3f')} |")
    lines += ["", f"Chosen: `{best['rules']}`, threshold {best['threshold']}.",
              f"Wrong refusals left: {', '.join(best['wrong_refusals']) or 'none'}; "
              f"missed refusals: {', '.join(best['missed_refusals']) or 'none'}.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[-3:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
