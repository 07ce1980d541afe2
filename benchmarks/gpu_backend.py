#!/usr/bin/env python
"""The project's own in-process paths on a GPU: ``rag``'s transformers generator and ``rag``'s Embedder.

benchmarks/gpu_generate.py measures raw model speed; this measures what a student waits for through our
code (chat template, streaming thread, query cache). Models are built in code with random weights and
real shapes (no downloads; only 64 MiB travels to the GPU machine):
- generator: Qwen2.5-0.5B shapes (vocab 151,936) with a byte-level tokenizer; lm_head rows outside the
  tokenizer's ids and the end-of-turn row are zeroed so greedy decoding writes printable tokens and runs
  the full max_new_tokens;
- embedder: multilingual-e5-small shapes as a sentence-transformers folder, loaded by rag.models.embedder.

    PYTHONPATH=. python benchmarks/gpu_backend.py --out OUT            # CUDA
    PYTHONPATH=. python benchmarks/gpu_backend.py --device cpu --tiny --out /tmp/x
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_generate import E5_SMALL, E5_TINY, QWEN_05B, QWEN_TINY, build_st_folder, environment  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_chat_model(shapes: dict, folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    alphabet = sorted(set(pre_tokenizers.ByteLevel.alphabet()))
    tok = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        chat_template=CHAT_TEMPLATE)
    torch.manual_seed(0)
    config = Qwen2Config(**{**shapes, "tie_word_embeddings": False}, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    model = Qwen2ForCausalLM(config)
    printable = [i for i, ch in enumerate(alphabet) if ch == "Ġ" or (ch.isascii() and ch.isalnum())]
    keep = torch.zeros(model.lm_head.weight.shape[0], dtype=torch.bool)
    keep[printable] = True
    with torch.no_grad():
        # only letters, digits and spaces can win the argmax: the streamer then emits text as it comes,
        # as it does for a real model (random bytes would be held back as incomplete UTF-8)
        model.lm_head.weight[~keep] = 0.0
        model.lm_head.weight[keep] = model.lm_head.weight[keep].abs() + 0.01
    model.to(torch.bfloat16).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def bench_generator(shapes: dict, device: str, prompt_chars: int, new_tokens: int, repeats: int) -> dict:
    from rag.config import load_settings
    from rag.llm.base import GenerationRequest, create_generator

    with tempfile.TemporaryDirectory() as tmp:
        build_chat_model(shapes, Path(tmp))
        settings = load_settings(environ={}, llm_model=tmp, device=device, home=Path(tmp) / "home")
        generator = create_generator("transformers", settings)
        start = time.perf_counter()
        generator.load()
        load_s = time.perf_counter() - start
        context = ("GPUs are optimized for highly parallel processing [4.5]. " * 100)[:prompt_chars]
        request = GenerationRequest("q", "ko", messages=[
            {"role": "system", "content": "Answer only from the notes."},
            {"role": "user", "content": context + "\nQuestion: GPU가 AI에 유리한 이유는?"}],
            max_new_tokens=new_tokens)
        prompt_tokens = generator.count_tokens(request.messages[1]["content"])
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        runs = []
        for _ in range(repeats + 1):   # the first run warms up kernels
            start = time.perf_counter()
            first, pieces = None, []
            for piece in generator.stream(request):
                first = first or time.perf_counter()
                pieces.append(piece)
            end = time.perf_counter()
            produced = generator.count_tokens("".join(pieces))   # ASCII byte-level: one token per character
            runs.append({"ttft_s": first - start, "total_s": end - start, "new_tokens": produced,
                         "decode_tok_s": (produced - 1) / max(end - first, 1e-9)})
        runs = runs[1:]
        med = lambda key: round(statistics.median(r[key] for r in runs), 4)  # noqa: E731
        return {"label": generator.label, "device": device, "load_s": round(load_s, 2), "prompt_tokens": prompt_tokens,
                "max_new_tokens": new_tokens, "ttft_s": med("ttft_s"), "total_s": med("total_s"),
                "new_tokens": med("new_tokens"), "decode_tok_s": med("decode_tok_s"),
                "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if device == "cuda" else None}


def bench_embedder(shapes: dict, device: str, n_texts: int) -> dict:
    from rag.config import load_settings
    from rag.models.embedder import load_embedder

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "hf"
        build_st_folder(shapes, folder)
        from gpu_generate import load_sentence_transformer

        st_folder = Path(tmp) / "st"
        load_sentence_transformer(folder, shapes["hidden_size"], "cpu").save(str(st_folder))
        embedder = load_embedder(str(st_folder), load_settings(environ={}, device=device, home=Path(tmp) / "h"))
        rng = torch.Generator().manual_seed(3)
        texts = [" ".join(f"w{int(i)}" for i in torch.randint(0, 5000, (60,), generator=rng)) for _ in range(n_texts)]
        embedder.embed_passages(texts[:64])
        start = time.perf_counter()
        embedder.embed_passages(texts)
        passages_s = time.perf_counter() - start
        queries = [f"question {i} w{i} w{i + 1}" for i in range(50)]
        start = time.perf_counter()
        for q in queries:
            embedder.embed_queries([q])
        query_ms = (time.perf_counter() - start) / len(queries) * 1000
        return {"device": device, "passages": n_texts, "passages_per_s": round(n_texts / passages_s, 1),
                "single_query_ms": round(query_ms, 2), "dim": embedder.dim}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    qwen, e5 = (QWEN_TINY, E5_TINY) if args.tiny else (QWEN_05B, E5_SMALL)
    result = {"environment": environment(args.device)}
    result["generator"] = bench_generator(qwen, args.device, 200 if args.tiny else 900, 16 if args.tiny else 128,
                                          1 if args.tiny else 3)
    result["generate_tok_s_breakdown"] = overhead_breakdown(qwen, args.device, 16 if args.tiny else 64)
    result["embedder"] = bench_embedder(e5, args.device, 128 if args.tiny else 2048)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backend_results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result



def overhead_breakdown(shapes: dict, device: str, new_tokens: int = 64) -> dict:
    """Where our streaming path loses time against a bare ``generate``: decode tok/s for each addition."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, TextIteratorStreamer
    import threading

    class Never(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return False

    with tempfile.TemporaryDirectory() as tmp:
        build_chat_model(shapes, Path(tmp))
        tok = AutoTokenizer.from_pretrained(tmp)
        model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.bfloat16).to(device).eval()
        ids = tok("GPUs are optimized for parallel work. " * 20, return_tensors="pt").to(device)
        base = dict(**ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
        results = {}
        for name in ("bare", "stopping_criteria", "streamer", "streamer+criteria"):
            kwargs = dict(base)
            if "criteria" in name or name == "stopping_criteria":
                kwargs["stopping_criteria"] = [Never()]
            for attempt in range(2):   # first call warms up
                start = time.perf_counter()
                if "streamer" in name:
                    streamer = TextIteratorStreamer(tok, skip_prompt=True)
                    worker = threading.Thread(target=lambda: model.generate(**kwargs, streamer=streamer))
                    worker.start()
                    for _ in streamer:
                        pass
                    worker.join()
                else:
                    with torch.inference_mode():
                        model.generate(**kwargs)
                if device == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - start
            results[name] = round(new_tokens / seconds, 1)
        return results


if __name__ == "__main__":
    main()
