#!/usr/bin/env python
"""Standalone GPU throughput check for the two models this project runs: no downloads, no `rag` import.

Needs only torch, transformers and sentence-transformers, so it runs on a bare GPU machine. Both models
are built in code with random weights: speed and memory depend on the shapes, not the weights.

(a) A Qwen2-architecture chat model with Qwen2.5-0.5B shapes, in bf16: load time (from a saved folder),
    prefill tok/s for a 900-token prompt, time to first token, decode tok/s for 128 new tokens (greedy,
    min_new_tokens so it never stops early), peak GPU memory.
(b) A BERT with multilingual-e5-small shapes as a sentence-transformers model (mean pooling, normalise):
    texts/s for batches of 64 texts of ~60 tokens, in fp32 and in fp16/bf16.

    python benchmarks/gpu_generate.py --out bench-out                  # CUDA, real shapes (<3 min on H100)
    python benchmarks/gpu_generate.py --device cpu --tiny --out /tmp/b # smoke test on CPU (seconds)

Writes results.json and results.md to --out.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch

QWEN_05B = dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                intermediate_size=4864, vocab_size=151936, max_position_embeddings=32768,
                rope_theta=1_000_000.0, tie_word_embeddings=True, rms_norm_eps=1e-6)
QWEN_TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=1000, max_position_embeddings=2048, tie_word_embeddings=True)
E5_SMALL = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536,
                vocab_size=250037, max_position_embeddings=512, type_vocab_size=2)
E5_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               vocab_size=6000, max_position_embeddings=512, type_vocab_size=2)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: str) -> tuple[float, object]:
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def peak_mb(device: str) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device == "cuda" else None


def reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# ---- (a) generation --------------------------------------------------------------------------------

def build_qwen_folder(shapes: dict, folder: Path) -> int:
    """Random-init a Qwen2 model in bf16 and save it; returns the parameter count."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**shapes, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    torch.manual_seed(0)
    init_device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(init_device):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    params = sum(p.numel() for p in model.parameters())
    del model
    return params


def bench_generation(shapes: dict, device: str, prompt_tokens: int, new_tokens: int, repeats: int) -> dict:
    from transformers import Qwen2ForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        params = build_qwen_folder(shapes, Path(tmp))
        if device == "cuda":
            torch.cuda.empty_cache()
        reset_peak(device)
        load_s, model = timed(
            lambda: Qwen2ForCausalLM.from_pretrained(tmp, dtype=torch.bfloat16).to(device).eval(), device)
    gen = torch.Generator().manual_seed(1)
    prompt = torch.randint(2, shapes["vocab_size"], (1, prompt_tokens), generator=gen).to(device)
    mask = torch.ones_like(prompt)
    greedy = dict(do_sample=False, temperature=None, top_p=None, top_k=None, pad_token_id=1, eos_token_id=None)

    def generate(n: int):
        return model.generate(input_ids=prompt, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, **greedy)

    with torch.inference_mode():
        timed(lambda: generate(4), device)                       # warm-up: kernels, allocator
        prefill = [timed(lambda: model(input_ids=prompt, attention_mask=mask, use_cache=True), device)[0]
                   for _ in range(repeats)]
        first = [timed(lambda: generate(1), device)[0] for _ in range(repeats)]
        full = []
        for _ in range(repeats):
            seconds, out = timed(lambda: generate(new_tokens), device)
            assert out.shape[1] == prompt_tokens + new_tokens, "generation stopped early"
            full.append(seconds)
    prefill_s, first_s, full_s = (statistics.median(x) for x in (prefill, first, full))
    return {
        "params_m": round(params / 1e6, 1),
        "dtype": "bf16",
        "load_s": round(load_s, 3),
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "prefill_s": round(prefill_s, 4),
        "prefill_tok_s": round(prompt_tokens / prefill_s, 1),
        "time_to_first_token_s": round(first_s, 4),
        "generate_s": round(full_s, 3),
        "decode_tok_s": round((new_tokens - 1) / max(full_s - first_s, 1e-9), 1),
        "peak_mem_mb": peak_mb(device),
    }


# ---- (b) embeddings --------------------------------------------------------------------------------

def build_st_folder(shapes: dict, folder: Path, words: int = 5000) -> None:
    """A BERT with e5-small shapes plus a word-level tokenizer, saved as a transformers folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {tok: i for i, tok in enumerate(specials + [f"w{i}" for i in range(words)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]", model_max_length=512).save_pretrained(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(**shapes)).save_pretrained(folder)


def load_sentence_transformer(folder: Path, hidden: int, device: str):
    with warnings.catch_warnings():  # `models` moved in sentence-transformers 6; the old path still works
        warnings.simplefilter("ignore", DeprecationWarning)
        from sentence_transformers import SentenceTransformer, models
    modules = [models.Transformer(str(folder), max_seq_length=512), models.Pooling(hidden, "mean"), models.Normalize()]
    return SentenceTransformer(modules=modules, device=device)


def bench_embeddings(shapes: dict, device: str, batches: int, batch_size: int, text_words: int) -> list[dict]:
    rng = torch.Generator().manual_seed(2)
    texts = [" ".join(f"w{int(i)}" for i in torch.randint(0, 5000, (text_words,), generator=rng))
             for _ in range(batches * batch_size)]
    # fp16 on GPU (what an embedder usually runs in there); bf16 on CPU, where fp16 matmuls are slow
    half, half_name = (torch.float16, "fp16") if device == "cuda" else (torch.bfloat16, "bf16")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        build_st_folder(shapes, Path(tmp))
        for name, dtype in (("fp32", torch.float32), (half_name, half)):
            model = load_sentence_transformer(Path(tmp), shapes["hidden_size"], device).to(dtype)
            reset_peak(device)
            model.encode(texts[:batch_size], batch_size=batch_size)   # warm-up
            seconds, emb = timed(lambda: model.encode(texts, batch_size=batch_size, convert_to_numpy=True), device)
            assert emb.shape == (len(texts), shapes["hidden_size"])
            results.append({
                "dtype": name, "texts": len(texts), "batch_size": batch_size,
                "tokens_per_text": text_words + 2, "seconds": round(seconds, 3),
                "texts_per_s": round(len(texts) / seconds, 1), "peak_mem_mb": peak_mb(device),
            })
            del model
    return results


# ---- report ----------------------------------------------------------------------------------------

def environment(device: str) -> dict:
    import sentence_transformers
    import transformers

    env = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "sentence_transformers": sentence_transformers.__version__, "device": device,
           "cpu_threads": torch.get_num_threads()}
    if device == "cuda":
        env.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda)
    return env


def to_markdown(result: dict) -> str:
    g, env = result["generation"], result["environment"]
    lines = [f"# GPU generation benchmark ({env.get('gpu', env['device'])}{', tiny shapes' if result['tiny'] else ''})", "",
             f"torch {env['torch']}, transformers {env['transformers']}, "
             f"sentence-transformers {env['sentence_transformers']}; random weights, shapes as named.", "",
             f"## Qwen2 chat model ({g['params_m']} M params, {g['dtype']})", "",
             "| load s | prompt tok | prefill tok/s | first token s | new tok | decode tok/s | peak MB |",
             "|---|---|---|---|---|---|---|",
             f"| {g['load_s']} | {g['prompt_tokens']} | {g['prefill_tok_s']} | {g['time_to_first_token_s']} | "
             f"{g['new_tokens']} | {g['decode_tok_s']} | {g['peak_mem_mb']} |", "",
             "## e5-small-shaped sentence-transformers embedder", "",
             "| dtype | texts | batch | tokens/text | seconds | texts/s | peak MB |", "|---|---|---|---|---|---|---|"]
    for e in result["embeddings"]:
        lines.append(f"| {e['dtype']} | {e['texts']} | {e['batch_size']} | {e['tokens_per_text']} | "
                     f"{e['seconds']} | {e['texts_per_s']} | {e['peak_mem_mb']} |")
    lines += ["", f"Total wall time {result['wall_s']} s."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes for a quick smoke test")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prompt-tokens", type=int, default=None, help="default 900 (tiny 64)")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 128 (tiny 16)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs, median kept (default 3, tiny 1)")
    parser.add_argument("--embed-batches", type=int, default=None, help="batches of 64 texts (default 20, tiny 2)")
    args = parser.parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no GPU")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    prompt_tokens = args.prompt_tokens or (64 if args.tiny else 900)
    new_tokens = args.new_tokens or (16 if args.tiny else 128)
    repeats = args.repeats or (1 if args.tiny else 3)
    start = time.perf_counter()
    result = {"tiny": args.tiny, "environment": environment(device)}
    result["generation"] = bench_generation(QWEN_TINY if args.tiny else QWEN_05B, device,
                                            prompt_tokens, new_tokens, repeats)
    batches = args.embed_batches or (2 if args.tiny else 20)
    result["embeddings"] = bench_embeddings(E5_TINY if args.tiny else E5_SMALL, device, batches, 64, 58)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "results.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


if __name__ == "__main__":
    main()
