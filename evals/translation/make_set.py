"""Can the CPU model translate the notes' lines faithfully? (issue 20, part 4: a translated companion, measured
before it is built.) Translates a fixed sample of lines of the two one-language courses, Korean -> English and
English -> Korean, one line per call, and writes them for blind reading (``RUBRIC.md``).

    python -m evals.translation.make_set [--n 40]      -> evals/translation/set.jsonl (id, course, source, translation)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

HERE = Path(__file__).parent
COURSES = {"bio-cell-ko": ("Korean", "English"), "econ-intro-en": ("English", "Korean")}


def sample_lines(course: str, n: int) -> list[str]:
    from rag.ingest.chunking import section_units
    from rag.ingest.loaders import load_notes

    notes = load_notes([Path("evals/courses") / course])
    units = [u for s in notes.sections for u in section_units(s) if len(u) >= 25 and not u.endswith(":")]
    return random.Random(f"translation:{course}").sample(units, min(n, len(units)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args(argv)
    from rag.config import load_settings
    from rag.engine import Engine
    from rag.llm.base import GenerationRequest

    generator = Engine(load_settings()).generator("llamacpp")
    prompt = (HERE / "prompt.txt").read_text(encoding="utf-8")
    rows, seconds = [], []
    for course, (source, target) in COURSES.items():
        os.environ["RAG_NOTES"] = str(Path("evals/courses") / course)
        for i, line in enumerate(sample_lines(course, args.n)):
            start = time.perf_counter()
            text = generator.complete(GenerationRequest(
                line, "en" if target == "English" else "ko",
                messages=[{"role": "user", "content": prompt.format(source=source, target=target, line=line)}],
                max_new_tokens=160))
            seconds.append(time.perf_counter() - start)
            rows.append({"id": f"{course}-{i:02d}", "course": course, "source_language": source,
                         "source": line, "translation": text.strip().splitlines()[0] if text.strip() else ""})
            print(rows[-1]["id"], f"{seconds[-1]:.1f}s", flush=True)
    with open(HERE / "set.jsonl", "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    seconds.sort()
    print(f"{len(rows)} lines, p50 {seconds[len(seconds) // 2]:.1f} s per line ({generator.label})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
