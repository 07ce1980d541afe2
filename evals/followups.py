"""Follow-up questions: does rewriting "그럼 단점은?" with the conversation find the right section?

    python -m evals.followups [--gold evals/gold_followups.jsonl] [--generator NAME] [--out DIR]

Each item (`evals/gold_followups.jsonl`): `id`, `lang`, `history` (turns), `question` (meaningless alone),
`gold_sections` (empty: the follow-up should be refused). Scores recall@5 of the raw follow-up against the
rewritten one; with an LLM generator the rewrite is the LLM's, otherwise the rule (previous question + new one).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .metrics import recall_at_k

DEFAULT_GOLD = Path(__file__).parent / "gold_followups.jsonl"


def load_followups(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def run_followups(path, engine, generator: str | None = None) -> dict:
    answerer = engine.answerer(generator)
    items = []
    for item in load_followups(path):
        raw = [h.section for h in engine.search(item["question"], k=5)]
        standalone = answerer.standalone_question(item["question"], item["history"])
        rewritten = [h.section for h in engine.search(standalone, k=5)]
        items.append({"id": item["id"], "lang": item["lang"], "question": item["question"], "standalone": standalone,
                      "gold": item["gold_sections"], "raw": raw, "rewritten": rewritten})
    scored = [i for i in items if i["gold"]]
    mean = lambda key: (sum(recall_at_k(i[key], i["gold"], 5) for i in scored) / len(scored)) if scored else None  # noqa: E731
    mean1 = lambda key: (sum(recall_at_k(i[key], i["gold"], 1) for i in scored) / len(scored)) if scored else None  # noqa: E731
    return {"gold": str(path), "generator": answerer.generator.label, "n_items": len(items),
            "recall@1_raw": mean1("raw"), "recall@1_rewritten": mean1("rewritten"),
            "recall@5_raw": mean("raw"), "recall@5_rewritten": mean("rewritten"), "items": items}


def to_markdown(result: dict) -> str:
    lines = [f"# Follow-up questions ({result['n_items']} items, rewrite by {result['generator']})", "",
             f"As asked: recall@1 **{result['recall@1_raw']:.3f}**, recall@5 **{result['recall@5_raw']:.3f}**; "
             f"rewritten with the conversation: recall@1 **{result['recall@1_rewritten']:.3f}**, recall@5 "
             f"**{result['recall@5_rewritten']:.3f}** (items with gold sections).", "",
             "| id | question | rewritten for retrieval | gold | top 5 as asked | top 5 rewritten |", "|---|---|---|---|---|---|"]
    for i in result["items"]:
        cells = [i["id"], i["question"], i["standalone"], ", ".join(i["gold"]) or "(refuse)", ", ".join(i["raw"]),
                 ", ".join(i["rewritten"])]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from rag.config import load_settings
    from rag.engine import Engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=str(DEFAULT_GOLD))
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--out", default="evals/reports/followups")
    args = parser.parse_args(argv)
    result = run_followups(args.gold, Engine(load_settings(generator=args.generator)), args.generator)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "followups.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "followups.md").write_text(to_markdown(result), encoding="utf-8")
    print(f"recall@1/@5 as asked {result['recall@1_raw']:.3f}/{result['recall@5_raw']:.3f}, rewritten "
          f"{result['recall@1_rewritten']:.3f}/{result['recall@5_rewritten']:.3f} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
