#!/usr/bin/env python
"""Speed benchmarks: ours beside a plain llama-index pipeline, measured in the same run.

    python benchmarks/run.py [--quick] [--llm] [--out benchmarks/reports]

Measures index build (time, peak memory) for the course notes and synthetic corpora 10x and 100x
their size, retrieval latency per leg, extractive ``ask`` latency, start-up of a new process, and with
``--llm`` the CPU LLM pack (llama.cpp, transformers bf16). The llama-index baseline runs as its defaults
(``top2``) and at our chunk budget with 5 passages (``top5``), ``--baseline-variants``. Each measurement runs in its own child
process (``--child``) so peak memory is that job's alone and one job's caches cannot help another.
Every figure is written with the load average at the time: other people's jobs share these cores.

Embedding at 10x/100x: e5 on 2 cores needs ~0.3 s per chunk, so 6,600 chunks would take half an hour.
Unless ``--real-embed`` is given, large corpora reuse the 1x vectors of the chunk they repeat (the
synthetic notes differ only in numbers) and the embedding time is projected from tokens x the 1x rate
measured in this run; everything else in the build is measured. The report says which is which.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NOTES_DIR = REPO / "corpus" / "nvidia-ai-infra-1"
GOLD = REPO / "evals" / "gold_dev.jsonl"  # questions to time; dev, so nothing here looks at the frozen test split
RESULT = "@@RESULT "
MODEL_SOURCES = [Path(os.environ.get("RAG_HOME", "/nonexistent")) / "models", Path("/tmp/raghome/models"),
                 Path.home() / ".cache" / "course-rag" / "models"]
HEADING = re.compile(r"^(#{1,6}\s+)(\d{1,3})(?=[.\s])")
E5_CACHE = "e5_vectors.npz"


# --- small helpers --------------------------------------------------------------------------------

def load() -> float:
    return round(os.getloadavg()[0], 2)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def stats(ms: list[float]) -> dict:
    ordered = sorted(ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ms), "p50": round(statistics.median(ordered), 2), "p95": round(pick(0.95), 2),
            "mean": round(statistics.fmean(ordered), 2), "load": load()}


def gold_questions(n: int | None = None) -> list[str]:
    items = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item["question"] for item in items][:n]


def canonical(text: str) -> str:
    """The synthetic copies differ from the notes only in numbers."""
    return re.sub(r"\d+", "#", text)


# --- the bench home: cached models, fresh index ---------------------------------------------------

def make_home(work: Path) -> Path:
    """A RAG_HOME whose models/ links to the already converted models (nothing is converted here)."""
    models = work / "home" / "models"
    models.mkdir(parents=True, exist_ok=True)
    for source in MODEL_SOURCES:
        if source.is_dir():
            for entry in source.iterdir():
                if not entry.name.startswith(".") and not (models / entry.name).exists():
                    (models / entry.name).symlink_to(entry.resolve())
    return work / "home"


def make_corpus(scale: int, folder: Path) -> Path:
    """The notes repeated ``scale`` times; copy i has its chapter numbers offset by i x (chapters)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(NOTES_DIR.glob("notes.*.md")):
        text = source.read_text(encoding="utf-8")
        front, body = _split_front_matter(text)
        chapters = max(int(m.group(2)) for line in body.splitlines() if (m := HEADING.match(line)))
        copies = [body]
        for i in range(1, scale):
            copies.append("\n".join(HEADING.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + i * chapters}", line)
                                    for line in body.splitlines()))
        (folder / source.name).write_text(front + "\n\n".join(copies), encoding="utf-8")
    return folder


def _split_front_matter(text: str) -> tuple[str, str]:
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4) + 5
        return text[:end], text[end:]
    return "", text


# --- an embedder that times passages and can replay 1x vectors ------------------------------------

class BenchEmbedder:
    """Our ``Embedder`` (query cache off: every question is embedded) with passage embedding timed.

    ``replay``: passages whose number-free text was embedded at 1x get that vector; others get a
    deterministic pseudo-vector. Tokens are counted either way, to project the real embedding time."""

    def __init__(self, settings, replay: dict | None = None):
        from rag.models.embedder import Embedder, load_embedder

        real = load_embedder(settings.embedder, settings)
        self.inner = Embedder(real.model, real.model_id, cache_size=0)
        self.model_id, self.dim = real.model_id, real.dim
        self.replay = replay
        self.embed_s, self.tokens, self.misses, self.n = 0.0, 0, 0, 0
        self.seen: dict[str, "object"] = {}

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        import numpy as np

        texts = list(texts)
        self.n += len(texts)
        self.tokens += self.count_tokens(texts)
        start = time.perf_counter()
        if self.replay is None:
            vectors = self.inner.embed_passages(texts)
        else:
            vectors = np.stack([self._replayed(t) for t in texts]) if texts else np.zeros((0, self.dim), "float32")
        self.embed_s += time.perf_counter() - start
        for text, vector in zip(texts, vectors):
            self.seen[canonical(text)] = vector
        return vectors

    def _replayed(self, text: str):
        import numpy as np

        key = canonical(text)
        if key in self.replay:
            return self.replay[key]
        self.misses += 1
        seed = int(hashlib.md5(key.encode()).hexdigest()[:8], 16)
        vector = np.random.default_rng(seed).standard_normal(self.dim).astype("float32")
        return vector / np.linalg.norm(vector)

    def count_tokens(self, texts) -> int:
        tokenizer = self.inner.model.tokenizer
        limit = self.inner.model.max_seq_length
        return sum(min(limit, len(ids)) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"])

    def save(self, path: Path) -> None:
        import numpy as np

        keys = list(self.seen)
        np.savez(path, keys=np.array(keys, dtype=object), vectors=np.stack([self.seen[k] for k in keys]))


def load_replay(path: Path) -> dict:
    import numpy as np

    data = np.load(path, allow_pickle=True)
    return dict(zip(data["keys"].tolist(), data["vectors"]))


def build_stats(emb: BenchEmbedder, total_s: float, replayed: bool) -> dict:
    return {"build_s": round(total_s, 3), "embed_s": round(emb.embed_s, 3) if not replayed else None,
            "other_s": round(total_s - emb.embed_s, 3), "embed_tokens": emb.tokens, "embedded": emb.n,
            "replay_misses": emb.misses if replayed else None, "replayed": replayed}


# --- child jobs -----------------------------------------------------------------------------------

def settings_for(args: dict):
    from rag.config import load_settings

    return load_settings(environ={}, home=args["home"], notes=[args["notes"]], index_dir=args["index_dir"],
                         generator="extractive", max_new_tokens=args.get("max_new_tokens", 256))


def child_ours(args: dict) -> dict:
    from rag.engine import Engine

    settings = settings_for(args)
    replay_path = Path(args["work"]) / ("ours-" + E5_CACHE)
    replayed = args["scale"] > 1 and not args["real_embed"]
    start = time.perf_counter()
    emb = BenchEmbedder(settings, load_replay(replay_path) if replayed else None)
    out = {"scale": args["scale"], "model_load_s": round(time.perf_counter() - start, 3), "rss_models_mb": rss_mb()}
    engine = Engine(settings, embedder=emb)
    load_before = load()
    report = engine.build_index(force=True)
    out["build"] = {**build_stats(emb, report.seconds, replayed), "chunks": report.n_chunks,
                    "sections": report.n_sections, "peak_rss_mb": peak_rss_mb(), "load": load_before}
    if args["scale"] == 1:
        emb.save(replay_path)
    questions = gold_questions(args["n_questions"])
    engine.retrieve("warm-up question: GPU", legs=("dense", "keyword"))
    out["retrieve"] = {}
    for name, legs in (("keyword", ("keyword",)), ("dense", ("dense",)), ("fused", ("dense", "keyword"))):
        times = []
        for q in questions:
            t = time.perf_counter()
            engine.retrieve(q, legs=legs)
            times.append((time.perf_counter() - t) * 1000)
        out["retrieve"][name] = stats(times)
    engine.ask("warm-up: what is a GPU?", generator="extractive")
    times, stages = [], {}
    for q in questions[: args["n_asks"]]:
        t = time.perf_counter()
        answer = engine.ask(q, generator="extractive")
        times.append((time.perf_counter() - t) * 1000)
        for stage, ms in answer.timings.items():
            stages.setdefault(stage, []).append(ms)
    out["ask_extractive"] = {**stats(times), "stages_p50": {k: round(statistics.median(v), 2) for k, v in stages.items()}}
    out["rss_end_mb"] = rss_mb()
    return out


def child_baseline(args: dict) -> dict:
    from evals.baseline_llamaindex import build_index, variant
    from rag.models.embedder import LlamaIndexEmbedding

    settings = settings_for(args)
    chosen = variant(args.get("variant", "top2"))
    replay_path = Path(args["work"]) / (f"baseline-{chosen.name}-" + E5_CACHE)
    replayed = args["scale"] > 1 and not args["real_embed"]
    start = time.perf_counter()
    emb = BenchEmbedder(settings, load_replay(replay_path) if replayed else None)
    out = {"scale": args["scale"], "model_load_s": round(time.perf_counter() - start, 3), "rss_models_mb": rss_mb()}
    load_before = load()
    start = time.perf_counter()
    import llama_index.core  # noqa: F401  (its import is part of the plain pipeline's build)
    files = sorted(Path(args["notes"]).glob("*.md"))
    if chosen.our_chunking:   # top5: the splitter at our chunk size/overlap, in characters like ours
        index, _ = build_index(files, LlamaIndexEmbedding(emb), settings.chunk_chars, settings.chunk_overlap,
                               in_characters=True)
    else:
        index, _ = build_index(files, LlamaIndexEmbedding(emb))
    total = time.perf_counter() - start
    out["variant"], out["top_k"] = chosen.name, chosen.top_k
    out["build"] = {**build_stats(emb, total, replayed), "chunks": len(index.docstore.docs),
                    "peak_rss_mb": peak_rss_mb(), "load": load_before}
    if args["scale"] == 1:
        emb.save(replay_path)
        if chosen.name == "top2":   # the start-up rows load this one
            index.storage_context.persist(str(Path(args["work"]) / "li_store"))
    retriever = index.as_retriever(similarity_top_k=chosen.top_k)
    retriever.retrieve("warm-up question: GPU")
    times = []
    for q in gold_questions(args["n_questions"]):
        t = time.perf_counter()
        retriever.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    out["retrieve"] = {"dense": stats(times)}
    out["rss_end_mb"] = rss_mb()
    return out


def child_start_ours(args: dict) -> dict:
    t0 = time.perf_counter()
    from rag.engine import Engine

    settings = settings_for(args)
    answer = Engine(settings, auto_index=False).ask(args["question"], generator=args["generator"])
    return {"in_process_s": round(time.perf_counter() - t0, 3), "answer_chars": len(answer.text),
            "generator": answer.generator, "timings": answer.timings, "peak_rss_mb": peak_rss_mb()}


def _baseline_index(args: dict, settings):
    from llama_index.core import Settings as LISettings, StorageContext, load_index_from_storage

    from rag.models.embedder import Embedder, LlamaIndexEmbedding, load_embedder

    real = load_embedder(settings.embedder, settings)
    LISettings.llm = None
    LISettings.embed_model = LlamaIndexEmbedding(Embedder(real.model, real.model_id, cache_size=0))
    return load_index_from_storage(StorageContext.from_defaults(persist_dir=str(Path(args["work"]) / "li_store")))


def child_start_baseline(args: dict) -> dict:
    t0 = time.perf_counter()
    import contextlib
    import io

    settings = settings_for(args)
    with contextlib.redirect_stdout(io.StringIO()):
        index = _baseline_index(args, settings)
    if args["generator"] == "extractive":  # no LLM: the plain pipeline's answer is its retrieved nodes
        nodes = index.as_retriever(similarity_top_k=2).retrieve(args["question"])
        size = sum(len(n.node.get_content()) for n in nodes)
    else:
        size = len(str(_baseline_engine(index, args["generator"], settings, "en", args["question"])
                       .query(args["question"])))
    return {"in_process_s": round(time.perf_counter() - t0, 3), "answer_chars": size, "peak_rss_mb": peak_rss_mb()}


def _baseline_engine(index, generator_name: str, settings, language: str, question: str, streaming=False):
    from evals.baseline_llamaindex import TOP_K, make_llm
    from rag.llm.base import create_generator

    generator = create_generator(generator_name, settings)
    current = {"lang": language, "q": question}
    llm = make_llm(generator, lambda: current["lang"], lambda: current["q"])
    engine = index.as_query_engine(llm=llm, similarity_top_k=TOP_K, streaming=streaming)
    engine.current, engine.generator = current, generator
    return engine


def child_llm(args: dict) -> dict:
    """One backend on a few questions, ours then the plain pipeline with the same model object."""
    import contextlib
    import io

    from rag.engine import Engine
    from rag.text.language import detect_language

    settings = settings_for(args)
    name = args["generator"]
    engine = Engine(settings, auto_index=False)
    start = time.perf_counter()
    generator = engine.generator(name)
    generator.complete(_tiny_request(settings))  # load the model and warm it
    out = {"backend": generator.label, "load_s": round(time.perf_counter() - start, 2), "ours": [], "baseline": []}
    questions = gold_questions()[: args["n_llm"]]
    for q in questions:
        out["ours"].append(_timed_stream(
            lambda: (p for p in engine.ask(q, stream=True, generator=name) if isinstance(p, str)), generator))
    out["ours_rss_mb"] = rss_mb()
    with contextlib.redirect_stdout(io.StringIO()):
        index = _baseline_index(args, settings)
    # the backends cache loaded models per process: the plain pipeline drives the same model object
    base = _baseline_engine(index, name, settings, "en", "", streaming=True)
    for q in questions:
        base.current.update(lang=detect_language(q), q=q)
        out["baseline"].append(_timed_stream(lambda: base.query(q).response_gen, generator))
    out["peak_rss_mb"] = peak_rss_mb()
    out["load"] = load()
    return out


def _tiny_request(settings):
    from rag.llm.base import GenerationRequest

    return GenerationRequest("hi", "en", messages=[{"role": "user", "content": "Say OK."}], max_new_tokens=4)


def _timed_stream(make_pieces, generator) -> dict:
    start = time.perf_counter()
    first, text = None, ""
    for piece in make_pieces():
        if first is None and piece.strip():
            first = time.perf_counter() - start
        text += piece
    total = time.perf_counter() - start
    tokens = generator.count_tokens(text) if text else 0
    decode = total - (first or total)
    return {"ttft_s": round(first or total, 3), "total_s": round(total, 3), "tokens": tokens,
            "tok_s": round((tokens - 1) / decode, 2) if tokens > 1 and decode > 0 else None, "load": load()}


def child_fix_kiwi(args: dict) -> dict:
    """Registering the index's loanwords in a fresh Kiwi, then the first question: per word (before) or
    in one batch (after)."""
    from rag.index import store
    from rag.text import tokenize as tk

    words = store.read_build(Path(args["index_dir"])).loanwords
    start = time.perf_counter()
    if args["mode"] == "before":   # the old loop: analyse a word, add it, analyse the next (a rebuild each)
        kiwi = tk._get_kiwi()
        for word in words:
            if tk._splits_into_nouns(kiwi, word):
                kiwi.add_user_word(word, "NNP", 0.0)
        tk.tokenize.cache_clear()
    else:
        tk.register_words(words, checked=args["mode"] == "after-checked")
    tk.tokenize("오케스트레이션과 스케줄링의 차이는?")
    return {"seconds": round(time.perf_counter() - start, 3), "words": len(words), "load": load()}


def child_fix_dense(args: dict) -> dict:
    """Dense scoring per question at 1x and 100x sizes: FAISS search + reconstruct all + BLAS (before),
    cached vectors + einsum + argpartition (after). Random unit vectors: only the sizes matter."""
    import faiss
    import numpy as np

    from rag.index.dense import DenseIndex

    out = {}
    for n in (66, 6600):
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((n, 384)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        flat = faiss.IndexFlatIP(384)
        flat.add(vectors)
        path = Path(args["work"]) / f"fix-{n}.faiss"
        faiss.write_index(flat, str(path))
        dense, queries = DenseIndex(path), vectors[:50] + 0.05
        before = lambda q: (dense.search(q, 20), dense.index.reconstruct_n(0, dense.index.ntotal) @ q)  # noqa: E731
        after = lambda q: DenseIndex.top(dense.all_scores(q), 20)  # noqa: E731
        for name, fn in (("before", before), ("after", after), ("before ", before), ("after ", after)):
            times = []
            for q in queries:
                t = time.perf_counter()
                fn(q)
                times.append((time.perf_counter() - t) * 1000)
            out.setdefault(f"{n} chunks", {})[name.strip()] = stats(times)   # the second round is kept
    return out


def child_fix_threads(args: dict) -> dict:
    """Passage batch (the 1x chunks) and single questions with 2 torch threads vs 1."""
    import torch

    from rag.ingest.chunking import chunk_sections, index_text
    from rag.ingest.loaders import load_notes
    from rag.models.embedder import load_embedder

    settings = settings_for(args)
    model = load_embedder(settings.embedder, settings).model
    texts = [index_text(c) for c in chunk_sections(load_notes(settings.notes).sections)][: args.get("n_chunks", 24)]
    out = {}
    for threads in (2, 1):
        torch.set_num_threads(threads)
        t = time.perf_counter()
        model.encode(texts, prompt_name="passage", batch_size=32, normalize_embeddings=True)
        out[f"passages x{len(texts)}, {threads} threads (s)"] = {"value": round(time.perf_counter() - t, 2), "load": load()}
        times = []
        for q in gold_questions(20):
            t = time.perf_counter()
            model.encode([q], prompt_name="query", normalize_embeddings=True)
            times.append((time.perf_counter() - t) * 1000)
        out[f"one question, {threads} threads (ms)"] = stats(times)
    return out


CHILDREN = {"fix_kiwi": child_fix_kiwi, "fix_dense": child_fix_dense, "fix_threads": child_fix_threads,
            "ours": child_ours, "baseline": child_baseline, "start_ours": child_start_ours,
            "start_baseline": child_start_baseline, "llm": child_llm}


# --- the parent -----------------------------------------------------------------------------------

def run_child(job: str, args: dict, timeout: float = 1800) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", job, json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    wall = time.perf_counter() - start
    lines = [l for l in proc.stdout.splitlines() if l.startswith(RESULT)]
    if proc.returncode or not lines:
        return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}", "wall_s": round(wall, 2)}
    return {**json.loads(lines[-1][len(RESULT):]), "wall_s": round(wall, 2)}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load()}] {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x and 10x, fewer questions (~3-5 min)")
    parser.add_argument("--llm", action="store_true", help="also the CPU LLM pack (llamacpp, transformers)")
    parser.add_argument("--out", default="benchmarks/reports")
    parser.add_argument("--scales", default=None, help="comma-separated corpus multiples (default 1,10,100)")
    parser.add_argument("--real-embed", action="store_true", help="embed large corpora for real (slow)")
    parser.add_argument("--n-llm", type=int, default=5)
    parser.add_argument("--baseline-variants", default="top2,top5",
                        help="llama-index baselines to build and search: top2 (its defaults), top5 (our chunk "
                             "budget, 5 passages); start-up and LLM rows use top2")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--render", help="only re-render the Markdown and plots from this report.json")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.render:
        write_report(json.loads(Path(opts.render).read_text(encoding="utf-8")), Path(opts.out))
        return 0
    if opts.child:
        result = CHILDREN[opts.child[0]](json.loads(opts.child[1]))
        print(RESULT + json.dumps(result), flush=True)
        return 0

    scales = [int(s) for s in (opts.scales or ("1,10" if opts.quick else "1,10,100")).split(",")]
    if scales[0] != 1:
        scales = [1] + scales   # 1x gives the vectors and rates the larger corpora reuse
    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    home = make_home(work)
    common = {"home": str(home), "work": str(work), "real_embed": opts.real_embed,
              "n_questions": 40 if opts.quick else None, "n_asks": 20 if opts.quick else 50,
              "n_llm": opts.n_llm, "max_new_tokens": opts.max_new_tokens}
    report = {"command": "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), "scales": {}, "startup": {}}
    try:
        for scale in scales:
            notes = make_corpus(scale, work / f"corpus-{scale}x" / "nvidia-ai-infra-1")
            args = {**common, "scale": scale, "notes": str(notes), "index_dir": str(work / f"index-{scale}x")}
            say(f"{scale}x: ours")
            ours = run_child("ours", args)
            report["scales"][str(scale)] = {"ours": ours}
            for name in [v.strip() for v in opts.baseline_variants.split(",") if v.strip()]:
                say(f"{scale}x: llama-index baseline {name}")
                key = "baseline" if name == "top2" else f"baseline-{name}"
                report["scales"][str(scale)][key] = run_child("baseline", {**args, "variant": name})
        one = {**common, "scale": 1, "notes": str(work / "corpus-1x" / "nvidia-ai-infra-1"),
               "index_dir": str(work / "index-1x"), "question": "CPU와 GPU의 차이점은 무엇인가요?"}
        gens = ["extractive"] + (["llamacpp"] if opts.llm and _imports("llama_cpp") else [])
        for gen in gens:
            for side in ("ours", "baseline"):
                say(f"start-up {side} {gen}")
                report["startup"][f"{side}/{gen}"] = {**run_child("start_" + side, {**one, "generator": gen}),
                                                      "load": load()}
        report["fixes"] = run_fixes(one)
        if opts.llm:
            report["llm"] = run_llm(one, home)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_report(report, out)
    say(f"report written to {out}/report.md")
    return 0


def run_fixes(one: dict) -> dict:
    """Each speed fix against the code it replaced, side by side in this run (fresh processes)."""
    fixes = {"kiwi": {}}
    for mode in ("before", "after", "after-checked", "before", "after", "after-checked"):
        say(f"fix: Kiwi loanwords {mode}")
        fixes["kiwi"].setdefault(mode, []).append(run_child("fix_kiwi", {**one, "mode": mode}))
    say("fix: dense scoring")
    fixes["dense"] = run_child("fix_dense", one)
    say("fix: torch threads")
    fixes["threads"] = run_child("fix_threads", one)
    return fixes


def run_llm(one: dict, home: Path) -> dict:
    results = {}
    if _imports("llama_cpp"):
        say("LLM: llamacpp")
        results["llamacpp"] = run_child("llm", {**one, "generator": "llamacpp"}, timeout=3600)
    else:
        results["llamacpp"] = {"skipped": "llama_cpp does not import (pip install llama-cpp-python==0.3.36)"}
    from rag.models.gguf_pack import bf16_folder_path, get_pack

    from rag.config import load_settings

    pack = get_pack(load_settings(environ={}).llm_pack)
    if (bf16_folder_path(pack, home / "models") / "config.json").exists():
        say("LLM: transformers bf16")
        results["transformers"] = run_child("llm", {**one, "generator": "transformers"}, timeout=3600)
    else:
        results["transformers"] = {"skipped": "the bf16 folder is not converted (rag ask --generator transformers "
                                              "converts it once)"}
    return results


def _imports(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def machine() -> dict:
    import platform

    return {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(), "python": platform.python_version(),
            "cpu": _cpu_name(), "load_at_start": os.getloadavg()}


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# --- the report -----------------------------------------------------------------------------------

AIMS = [("fused search p50, 1x (ms)", 30), ("fused search p50, 100x (ms)", 60), ("index build, 1x (s)", 5),
        ("extractive ask p50, 1x (ms)", 100), ("new process to first answer (s)", 10)]


def projected_build(report: dict, side: str, scale: str) -> float | None:
    """Measured build, with replayed embedding replaced by tokens x the 1x embedding rate."""
    build = report["scales"].get(scale, {}).get(side, {}).get("build")
    one = report["scales"].get("1", {}).get(side, {}).get("build")
    if not build or not one:
        return None
    if not build["replayed"]:
        return build["build_s"]
    rate = one["embed_s"] / max(1, one["embed_tokens"])
    return round(build["other_s"] + build["embed_tokens"] * rate, 2)


def growth(xs: list[float], ys: list[float]) -> str:
    """Exponent b of y ~ x^b (least squares in log-log) and the factor per 10x."""
    import math

    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x and y and y > 0]
    if len(points) < 2:
        return "n/a"
    mx = sum(p[0] for p in points) / len(points)
    my = sum(p[1] for p in points) / len(points)
    b = sum((x - mx) * (y - my) for x, y in points) / (sum((x - mx) ** 2 for x, _ in points) or 1)
    return f"x^{b:.2f} ({10 ** b:.1f}x per 10x)"


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "n/a"


def fmt(value, digits=1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _get(d: dict, *path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def write_report(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, out)
    lines = [
        "# Benchmarks: ours vs. a plain llama-index pipeline",
        "",
        f"Command: `{report['command']}`, {report['created']}. Machine: {report['machine']['cpus']} cores "
        f"({report['machine']['cpu']}), Python {report['machine']['python']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in report['machine']['load_at_start'])}. "
        "Other people's jobs share these cores: every figure carries the 1-minute load average (`load`) "
        "when it was taken, and each ratio compares two figures of the same run.",
        "",
        "Baseline: llama-index defaults (`SimpleDirectoryReader`, `SentenceSplitter` 1024/200 tokens, "
        "`VectorStoreIndex`, `similarity_top_k=2`) with the same e5 embedder through "
        "`rag.models.embedder.LlamaIndexEmbedding` and the same LLM object where one is used. Query "
        "embedding cache off on both sides (and distinct gold questions): every search embeds its question.",
        "",
    ]
    lines += _build_section(report) + _retrieval_section(report) + _variants_section(report) + _ask_section(report)
    lines += _startup_section(report) + _llm_section(report) + _fixes_section(report) + _aims_section(report)
    lines += ["", *[f"![{name}]({name})" for name in plots], ""]
    errors = [(k, side, v[side]["error"]) for k, v in report["scales"].items() for side in v if "error" in v[side]]
    errors += [(k, "", v["error"]) for k, v in report.get("startup", {}).items() if "error" in v]
    if errors:
        lines += ["## Errors", ""] + [f"- {k} {side}: `{e[-400:]}`" for k, side, e in errors]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _build_section(report: dict) -> list[str]:
    lines = ["## Index build (cached models, fresh index folder)", "",
             "| corpus | chunks ours / base | ours build s (embed + rest) | base build s (embed + rest) | ratio "
             "| ours peak RSS MB | base peak RSS MB | ratio | load |", "|---|---|---|---|---|---|---|---|---|"]
    xs, ours_y, base_y, ours_rest, base_rest = [], [], [], [], []
    for scale, data in report["scales"].items():
        o, b = _get(data, "ours", "build"), _get(data, "baseline", "build")
        if not o or not b:
            continue
        po, pb = projected_build(report, "ours", scale), projected_build(report, "baseline", scale)
        tag = "" if not o["replayed"] else " (embed projected)"
        lines.append(
            f"| {scale}x{tag} | {o['chunks']} / {b['chunks']} | {fmt(po, 2)} ({fmt(_embed(po, o), 2)} + {fmt(o['other_s'], 2)}) "
            f"| {fmt(pb, 2)} ({fmt(_embed(pb, b), 2)} + {fmt(b['other_s'], 2)}) | {ratio(po, pb)} "
            f"| {fmt(o['peak_rss_mb'])} | {fmt(b['peak_rss_mb'])} | {ratio(o['peak_rss_mb'], b['peak_rss_mb'])} "
            f"| {o['load']} / {b['load']} |")
        xs.append(int(scale)); ours_y.append(po); base_y.append(pb)
        ours_rest.append(o["other_s"]); base_rest.append(b["other_s"])
    lines += ["", f"Growth with corpus size: ours {growth(xs, ours_y)} (without embedding: {growth(xs, ours_rest)}); "
                  f"baseline {growth(xs, base_y)} (without embedding: {growth(xs, base_rest)}).",
              "Peak RSS is the whole build process (models included). `rest` = everything but passage "
              "embedding (parsing, Kiwi tokens, BM25 data, FAISS and node writing), always measured; at 10x/100x "
              "the embedding is projected from the tokens embedded x this run's 1x rate unless `--real-embed`.", ""]
    return lines


def _embed(total, build):
    return round(total - build["other_s"], 2) if total is not None else None


def _retrieval_section(report: dict) -> list[str]:
    lines = ["## Retrieval latency, warm (ms; gold questions, query embedding included)", "",
             "| corpus | keyword p50 / p95 | dense p50 / p95 | fused p50 / p95 | base (dense, top 2) p50 / p95 "
             "| fused / base p50 | dense / base p50 | load |", "|---|---|---|---|---|---|---|---|"]
    for scale, data in report["scales"].items():
        r, b = _get(data, "ours", "retrieve"), _get(data, "baseline", "retrieve", "dense")
        if not r or not b:
            continue
        cell = lambda s: f"{s['p50']:.1f} / {s['p95']:.1f}"  # noqa: E731
        lines.append(f"| {scale}x | {cell(r['keyword'])} | {cell(r['dense'])} | {cell(r['fused'])} | {cell(b)} "
                     f"| {ratio(r['fused']['p50'], b['p50'])} | {ratio(r['dense']['p50'], b['p50'])} "
                     f"| {r['fused']['load']} / {b['load']} |")
    return lines + [""]


def _variants_section(report: dict) -> list[str]:
    """Other llama-index baselines (top5: our chunk budget and depth) beside ours, one row each."""
    rows = []
    for scale, data in report["scales"].items():
        ours = _get(data, "ours", "retrieve", "fused")
        for key in sorted(k for k in data if k.startswith("baseline-")):
            b, r = _get(data, key, "build"), _get(data, key, "retrieve", "dense")
            if not b or not r or not ours:
                continue
            built = projected_build(report, key, scale)
            rows.append(f"| {scale}x | {key.split('-', 1)[1]} | {data[key]['top_k']} | {b['chunks']} "
                        f"| {fmt(built, 2)} ({fmt(_embed(built, b), 2)} + {fmt(b['other_s'], 2)}) "
                        f"| {r['p50']:.1f} / {r['p95']:.1f} | {ratio(ours['p50'], r['p50'])} | {b['load']} / {r['load']} |")
    if not rows:
        return []
    return ["## llama-index at our chunk budget (SentenceSplitter at our chunk size/overlap in characters)", "",
            "| corpus | variant | passages | chunks | build s (embed + rest) | retrieve p50 / p95 ms "
            "| ours fused / this p50 | load build / search |", "|---|---|---|---|---|---|---|---|", *rows, ""]


def _ask_section(report: dict) -> list[str]:
    lines = ["## `ask` with the extractive generator, warm (ms)", "",
             "A plain llama-index pipeline cannot answer without an LLM; its column is its retrieval, the "
             "part it would run before one.", "",
             "| corpus | ours p50 / p95 | stages p50 | base retrieve p50 | ratio | load |", "|---|---|---|---|---|---|"]
    for scale, data in report["scales"].items():
        a, b = _get(data, "ours", "ask_extractive"), _get(data, "baseline", "retrieve", "dense")
        if not a or not b:
            continue
        stages = ", ".join(f"{k} {v:.1f}" for k, v in a["stages_p50"].items())
        lines.append(f"| {scale}x | {a['p50']:.1f} / {a['p95']:.1f} | {stages} | {b['p50']:.1f} "
                     f"| {ratio(a['p50'], b['p50'])} | {a['load']} |")
    return lines + [""]


def _startup_section(report: dict) -> list[str]:
    lines = ["## Start-up: a new process to its first answer (1x index and models cached)", "",
             "| generator | ours s (in process) | base s (in process) | ratio | ours / base peak RSS MB | load |",
             "|---|---|---|---|---|---|"]
    for gen in sorted({k.split("/")[1] for k in report.get("startup", {})}):
        o, b = report["startup"].get(f"ours/{gen}", {}), report["startup"].get(f"baseline/{gen}", {})
        lines.append(f"| {gen} | {fmt(o.get('wall_s'), 2)} ({fmt(o.get('in_process_s'), 2)}) "
                     f"| {fmt(b.get('wall_s'), 2)} ({fmt(b.get('in_process_s'), 2)}) | {ratio(o.get('wall_s'), b.get('wall_s'))} "
                     f"| {fmt(o.get('peak_rss_mb'))} / {fmt(b.get('peak_rss_mb'))} | {o.get('load')} |")
    return lines + ["", "The baseline loads its persisted index (`load_index_from_storage`) and, for the extractive "
                        "row, returns its retrieved nodes (it has no answer without an LLM).", ""]


def _llm_section(report: dict) -> list[str]:
    if "llm" not in report:
        return ["## CPU LLM pack", "", "Not run (add `--llm`).", ""]
    lines = ["## CPU LLM pack (5 questions each; same loaded model for both pipelines)", "",
             "| backend | pipeline | TTFT p50 s | tokens/s p50 | whole answer p50 s | tokens p50 | RSS MB | load |",
             "|---|---|---|---|---|---|---|---|"]
    for name, data in report["llm"].items():
        if "skipped" in data or "error" in data:
            lines.append(f"| {name} | - | {data.get('skipped') or data.get('error')[-300:]} | | | | | |")
            continue
        for side in ("ours", "baseline"):
            runs = data[side]
            med = lambda key: statistics.median([r[key] for r in runs if r[key] is not None] or [0])  # noqa: E731
            rss = data["ours_rss_mb"] if side == "ours" else data["peak_rss_mb"]
            lines.append(f"| {data['backend']} | {side} | {med('ttft_s'):.2f} | {med('tok_s'):.1f} | {med('total_s'):.2f} "
                         f"| {med('tokens'):.0f} | {rss} | {runs[-1]['load']} |")
    return lines + ["", "RSS: ours after its answers; baseline row: the process peak (both pipelines, one model).", ""]


def _fixes_section(report: dict) -> list[str]:
    fixes = report.get("fixes")
    if not fixes:
        return []
    lines = ["## Speed fixes, before / after in this run", "",
             "| fix | before | after | load |", "|---|---|---|---|"]
    kiwi = fixes.get("kiwi", {})
    secs = lambda runs: ", ".join(fmt(r.get("seconds"), 2) for r in runs)  # noqa: E731
    if kiwi:
        loads = ", ".join(str(r.get("load")) for runs in kiwi.values() for r in runs)
        lines.append(f"| Kiwi: add the index's loanwords, then a first question (s, fresh process; two runs) "
                     f"| per word: {secs(kiwi.get('before', []))} | one batch: {secs(kiwi.get('after', []))}; "
                     f"batch without re-checking (`checked=True`): {secs(kiwi.get('after-checked', []))} | {loads} |")
    for size, runs in (fixes.get("dense") or {}).items():
        if isinstance(runs, dict) and "before" in runs:
            lines.append(f"| dense scoring per question, {size} (ms p50 / p95) | {runs['before']['p50']:.2f} / "
                         f"{runs['before']['p95']:.2f} | {runs['after']['p50']:.2f} / {runs['after']['p95']:.2f} "
                         f"| {runs['after']['load']} |")
    threads = fixes.get("threads") or {}
    for what in ("passages", "one question"):
        two = next((v for k, v in threads.items() if k.startswith(what) and "2 threads" in k), None)
        one = next((v for k, v in threads.items() if k.startswith(what) and "1 threads" in k), None)
        if two and one:
            key = "value" if "value" in two else "p50"
            label = next(k for k in threads if k.startswith(what) and "2 threads" in k).replace(", 2 threads", "")
            lines.append(f"| torch threads, {label}{' p50' if key == 'p50' else ''} | 2 threads: {two[key]} "
                         f"| 1 thread: {one[key]} | {two['load']} / {one['load']} |")
    return lines + [""]


def _aims_section(report: dict) -> list[str]:
    scales = report["scales"]
    top = str(max(int(s) for s in scales))
    values = [_get(scales, "1", "ours", "retrieve", "fused", "p50"),
              _get(scales, "100", "ours", "retrieve", "fused", "p50"),
              _get(scales, "1", "ours", "build", "build_s"),
              _get(scales, "1", "ours", "ask_extractive", "p50"),
              _get(report, "startup", "ours/extractive", "wall_s")]
    lines = ["## Aims (2 cores)", "", "| aim | target | measured | met |", "|---|---|---|---|"]
    for (name, target), value in zip(AIMS, values):
        met = "n/a" if value is None else ("yes" if value < target else "no")
        lines.append(f"| {name} | < {target} | {fmt(value, 2)} | {met} |")
    if top != "100":
        lines.append(f"| (largest corpus run: {top}x) | | | |")
    return lines + [""]


def write_plots(report: dict, out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    scales = sorted(int(s) for s in report["scales"])
    names = []
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for side, label in (("ours", "ours"), ("baseline", "llama-index")):
        ys = [projected_build(report, side, str(s)) for s in scales]
        ax.plot(scales, ys, marker="o", label=f"{label} build (s)")
        rest = [_get(report["scales"][str(s)], side, "build", "other_s") for s in scales]
        ax.plot(scales, rest, marker="x", linestyle="--", label=f"{label} without embedding")
    ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlabel("corpus size (x course notes)")
    ax.set_ylabel("seconds"); ax.set_title("Index build"); ax.legend(fontsize=7); fig.tight_layout()
    fig.savefig(out / "build.png", dpi=110); plt.close(fig); names.append("build.png")
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for leg in ("keyword", "dense", "fused"):
        ax.plot(scales, [_get(report["scales"][str(s)], "ours", "retrieve", leg, "p50") for s in scales],
                marker="o", label=f"ours {leg}")
    ax.plot(scales, [_get(report["scales"][str(s)], "baseline", "retrieve", "dense", "p50") for s in scales],
            marker="s", label="llama-index retrieve")
    ax.set_xscale("log"); ax.set_yscale("log"); ax.set_xlabel("corpus size (x course notes)")
    ax.set_ylabel("p50 ms"); ax.set_title("Warm retrieval latency"); ax.legend(fontsize=7); fig.tight_layout()
    fig.savefig(out / "retrieval.png", dpi=110); plt.close(fig); names.append("retrieval.png")
    return names


if __name__ == "__main__":
    raise SystemExit(main())
