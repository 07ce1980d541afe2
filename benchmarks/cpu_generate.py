#!/usr/bin/env python
"""CPU latency of a generator backend on a RAG-like prompt (sections 4.3-4.7 of the course notes).

    python benchmarks/cpu_generate.py llamacpp [max_new_tokens]      # the CPU default
    python benchmarks/cpu_generate.py transformers [max_new_tokens]  # same pack, dequantised (slow on CPU)

Prints, per question: prompt tokens, time to first token, decode tok/s, whole answer, resident memory.
Run both backends on the same machine, one after the other: ratios measured side by side are what count.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from rag.config import REPO_ROOT, load_settings
from rag.ingest.loaders import load_notes
from rag.llm.base import GenerationRequest, create_generator
from rag.prompts import template

QUESTIONS = ["GPU가 CPU보다 AI 연산에 유리한 이유는 무엇인가요?", "What are the weaknesses of a GPU compared with a CPU?"]


def rss_mb() -> tuple[int, int]:
    status = Path("/proc/self/status").read_text()
    get = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) // 1024  # noqa: E731
    return get("VmRSS"), get("VmHWM")


def main() -> None:
    backend = sys.argv[1]
    new_tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    sections = [s for s in load_notes([REPO_ROOT / "corpus"]).sections
                if s.language == "ko" and s.section in ("4.3", "4.4", "4.5", "4.6", "4.7")]
    notes = "\n".join(f"{s.section} {s.title}\n{s.text}" for s in sections)
    generator = create_generator(backend, load_settings())
    start = time.perf_counter()
    generator.load()
    print(json.dumps({"label": generator.label, "load_s": round(time.perf_counter() - start, 2),
                      "rss_peak_mb_after_load": rss_mb()}), flush=True)
    for question in QUESTIONS:
        language = "ko" if any("\uac00" <= ch <= "\ud7a3" for ch in question) else "en"
        system = template("answer_system.txt").format(language_name={"ko": "Korean", "en": "English"}[language])
        user = f"Course notes:\n<section number=\"4.3-4.7\">\n{notes}\n</section>\n\nQuestion: {question}"
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        prompt_tokens = generator.count_tokens(system) + generator.count_tokens(user)
        t0, first, pieces = time.perf_counter(), None, []
        for piece in generator.stream(GenerationRequest(question, language, messages=messages,
                                                        max_new_tokens=new_tokens)):
            first = first if first is not None else time.perf_counter() - t0
            pieces.append(piece)
        total = time.perf_counter() - t0
        text = "".join(pieces)
        produced = generator.count_tokens(text)
        print(json.dumps({"question": question, "prompt_tokens": prompt_tokens, "ttft_s": round(first, 2),
                          "new_tokens": produced, "decode_tok_s": round((produced - 1) / max(total - first, 1e-9), 2),
                          "total_s": round(total, 2), "rss_peak_mb": rss_mb(), "answer": text[:300]},
                         ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
