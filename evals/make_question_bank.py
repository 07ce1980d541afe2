"""Write the bundled course's labelled questions from the gold dev split.

    python -m evals.make_question_bank           # rewrite corpus/nvidia-ai-infra-1/questions.jsonl
    python -m evals.make_question_bank --check   # exit 1 if the committed file differs from what this writes

Every answerable dev item (covered or partly covered) becomes one line: its id, its writer (origin), the question
and its gold sections. Only dev: the frozen test split is never read here, so the prior the retriever draws from
these questions (rag/index/question_bank.py) is measured on test like anything else fitted on dev. Refused items
are left out: "not in the notes" is no section to lean towards.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.make_splits import DEV, read_jsonl

BANK = Path(__file__).resolve().parent.parent / "corpus" / "nvidia-ai-infra-1" / "questions.jsonl"


def bank_lines(dev_items: list[dict]) -> str:
    lines = [json.dumps({"id": item["id"], "origin": item.get("origin", ""), "question": item["question"],
                         "sections": item["gold_sections"]}, ensure_ascii=False)
             for item in dev_items if item["answerable"] and item.get("gold_sections")]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file; write nothing")
    args = parser.parse_args(argv)
    text = bank_lines(read_jsonl(DEV))
    if args.check:
        same = BANK.is_file() and BANK.read_text(encoding="utf-8") == text
        print(f"{BANK}: {'up to date' if same else 'differs from gold_dev.jsonl; run python -m evals.make_question_bank'}")
        return 0 if same else 1
    BANK.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} labelled questions to {BANK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
