"""Split the original (v1) gold items into a dev and a test split, reproducibly.

    python -m evals.make_splits                  # rewrite evals/gold_dev.jsonl and evals/gold_test.jsonl
    python -m evals.make_splits --check          # exit 1 if the committed files differ from what this writes
    python -m evals.make_splits --source FILE    # take the v1 items from FILE (the first run used the old
                                                 # evals/gold.jsonl: `git show e743900:evals/gold.jsonl`)

The v1 items are stratified by (lang, type); each stratum is shuffled with a seed derived from SEED and the
stratum's name and halved, so anyone can rerun this and see that the split was not picked by hand. Without
--source the v1 items are read back from the two split files, so a rerun gives byte-identical files.
New (v2) items live after the v1 half of their split, in the order they were written; this script keeps them
as they are: the test split's v2 items (ids ko-t001...) and, written later and separately, the dev split's v2
items (ids ko-d001...). The test file is frozen by its sha256 (evals/SPLITS.md).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

EVALS = Path(__file__).resolve().parent
DEV = EVALS / "gold_dev.jsonl"
TEST = EVALS / "gold_test.jsonl"
SEED = 20250610
V1_FIELDS = ("id", "lang", "question", "answerable", "gold_sections", "key_facts", "type")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _id_key(item_id: str) -> tuple[str, int]:
    # "ko-012" -> ("ko", 12): a canonical order that does not depend on which file an item sits in
    lang, number = re.fullmatch(r"(ko|en)-(\d+)", item_id).groups()
    return lang, int(number)


def split_v1(items: list[dict], seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """(dev, test) for the v1 items, each in canonical id order, with split/origin/expected set."""
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for item in sorted(items, key=lambda i: _id_key(i["id"])):
        strata[(item["lang"], item["type"])].append(item)
    dev, test = [], []
    odd_seen = 0
    for (lang, kind) in sorted(strata):
        members = list(strata[(lang, kind)])
        random.Random(f"{seed}:{lang}:{kind}").shuffle(members)
        n_test = len(members) // 2
        if len(members) % 2:
            # odd strata give their extra item to dev and test in turn, so the halves stay the same size
            n_test += odd_seen % 2
            odd_seen += 1
        test += members[:n_test]
        dev += members[n_test:]
    return (_finish(dev, "dev"), _finish(test, "test"))


def _finish(items: list[dict], split: str) -> list[dict]:
    out = []
    for item in sorted(items, key=lambda i: _id_key(i["id"])):
        record = {field: item[field] for field in V1_FIELDS}
        record.update(split=split, origin="v1", expected="answer" if item["answerable"] else "refuse")
        out.append(record)
    return out


def render(items: list[dict]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def build(source: Path | None = None) -> tuple[str, str]:
    """The text of (gold_dev.jsonl, gold_test.jsonl) as this script would write them."""
    existing_test = read_jsonl(TEST) if TEST.is_file() else []
    existing_dev = read_jsonl(DEV) if DEV.is_file() else []
    if source is not None:
        v1 = read_jsonl(source)
    else:
        v1 = [item for item in existing_dev + existing_test if item.get("origin", "v1") == "v1"]
    if not v1:
        raise SystemExit("no v1 items found: pass --source with the original gold file")
    # v2 items were written for one split each (never shuffled between them), so each file keeps its own
    # (and the v3, v4 dev items, written later by a third and a fourth writer, after them)
    dev_v2 = [item for item in existing_dev if item.get("origin") in ("v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11")]
    test_v2 = [item for item in existing_test if item.get("origin") in ("v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11")]
    dev, test = split_v1(v1)
    return render(dev + dev_v2), render(test + test_v2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="JSONL file with the v1 items (default: the split files)")
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)
    dev_text, test_text = build(args.source)
    if args.check:
        stale = [p.name for p, text in ((DEV, dev_text), (TEST, test_text))
                 if not p.is_file() or p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"out of date: {', '.join(stale)} (rerun python -m evals.make_splits)", file=sys.stderr)
            return 1
        print("split files match evals/make_splits.py")
        return 0
    DEV.write_text(dev_text, encoding="utf-8")
    TEST.write_text(test_text, encoding="utf-8")
    print(f"wrote {DEV.name} ({dev_text.count(chr(10))} items) and {TEST.name} ({test_text.count(chr(10))} items)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
