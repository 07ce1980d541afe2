"""Join the reports of one gold file evaluated in shards into the report of the whole file.

The CPU LLM answers a question in seconds on one core, so a whole dev split takes hours on one; run shards side by
side, one per core, then join them:

    python -m evals.merge_reports --gold evals/gold_dev.jsonl --out evals/reports/llamacpp/dev SHARD_DIR...

Each shard is a ``rag eval`` run on a subset of the gold file's lines (same ids, same fields). The metrics are
recomputed over all items, in the gold file's order; per-shard extras that do not add up (warm-up time, the refusal
threshold cross-validation, the ablation) are left out, and the shards' own reports stay where they are.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.errors import ConfigError

from . import metrics as m
from .runner import _by_language, _counts, _origin_order, is_test_split, load_gold, write_report

SCORED_FIELDS = ("answer", "refused", "citations", "key_facts_found", "expected", "outcome", "n_sentences",
                 "unsupported", "truncated", "repeated")


def scored_item(record: dict, answerable: bool, gold_sections: list[str]) -> m.ScoredItem:
    return m.ScoredItem(record["id"], record["lang"], answerable, gold_sections, record.get("retrieved", []),
                        record.get("latency_ms", 0.0), **{k: record[k] for k in SCORED_FIELDS if k in record})


def merge(gold_path, shard_dirs: list) -> tuple[dict, list[m.ScoredItem]]:
    gold = load_gold(gold_path)
    shards = [json.loads((Path(d) / "report.json").read_text(encoding="utf-8")) for d in shard_dirs]
    records = {}
    for shard in shards:
        for record in shard["items"]:
            if record["id"] in records:
                raise ConfigError(f"item {record['id']} is in more than one shard")
            records[record["id"]] = record
    missing = [g.id for g in gold if g.id not in records]
    if missing:
        raise ConfigError(f"{len(missing)} items of {gold_path} are in no shard (first: {missing[0]}); run them too")
    retrieval_only = any(shard.get("retrieval_only") for shard in shards)
    ordered = [records[g.id] for g in gold]
    scored = [scored_item(r, g.answerable, g.gold_sections) for r, g in zip(ordered, gold)]
    report = {
        "gold": str(gold_path), "n_items": len(gold),
        "generator": "+".join(dict.fromkeys(shard["generator"] for shard in shards)),
        "retrieval_only": retrieval_only, "metrics": _by_language(scored, retrieval_only), "items": ordered,
        "by_type": {t: m.aggregate([s for s, g in zip(scored, gold) if g.type == t], retrieval_only)
                    for t in sorted({g.type for g in gold})},
        "counts": _counts(gold), "warmup_ms": max(shard.get("warmup_ms", 0.0) for shard in shards),
        "settings": shards[0].get("settings"), "machine": shards[0].get("machine"),
        "created": max(shard.get("created", "") for shard in shards),
        "shards": [str(d) for d in shard_dirs],
    }
    report["by_origin"] = {o: m.aggregate([s for s, g in zip(scored, gold) if g.origin == o], retrieval_only)
                           for o in sorted({g.origin for g in gold if g.origin}, key=_origin_order)}
    report["frozen_test"] = is_test_split(gold)
    return report, scored


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True, help="the whole gold file the shards were cut from")
    parser.add_argument("--out", required=True)
    parser.add_argument("shards", nargs="+", help="the shards' output folders (each holds report.json)")
    args = parser.parse_args(argv)
    try:
        report, scored = merge(args.gold, args.shards)
    except (ConfigError, OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"cannot merge: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_report(report, out, scored)
    print(f"{len(scored)} items from {len(args.shards)} shards -> {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
