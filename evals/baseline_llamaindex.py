"""The gold set through a plain llama-index pipeline, scored with the same metrics as ours.

The pipeline is what the llama-index starter does: ``SimpleDirectoryReader`` over the same notes files,
``VectorStoreIndex.from_documents``, the default response synthesiser and prompt. Two variants
(``VARIANTS``, ``--variant``): ``top2``, the starter's defaults (``SentenceSplitter`` of 1024 tokens with
200 overlap, ``similarity_top_k=2``), and ``top5``, its fair best against ours: the splitter at our chunk
budget (``RAG_CHUNK_CHARS``/``RAG_CHUNK_OVERLAP``, 900/150 characters) and ``similarity_top_k=5``, as many
passages as our top-5 sections. Only the models are ours: the same e5 embedder (through
``rag.models.embedder.LlamaIndexEmbedding``) and, when answering, the same generator through a small
``CustomLLM`` adapter. ``Settings.llm`` is never left to resolve to OpenAI.

Mapping nodes back to sections (plain nodes carry no section metadata; that is the point of the
baseline): SimpleDirectoryReader keeps each file's text verbatim and every node records its character
span in it (``start_char_idx``/``end_char_idx``; when missing, the node text is searched for in the
file). Each section owns the characters from its heading line to the next section's heading in the same
file (``Section.source`` and ``Section.line`` from our parser). A node maps to the section it overlaps
most (ties: the earlier one); nodes of 1024 tokens usually span several sections, so ``context_hit``
also reports whether any gold section overlaps the retrieved nodes at all.

Answers: a plain pipeline neither cites nor refuses. The sections of the returned source nodes count as
its citations (what a UI built on it would show as sources), and an answer counts as a refusal when it
says the context does not contain the answer (``REFUSAL_MARKERS``, a heuristic).
"""
from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from rag.errors import ConfigError

from . import metrics as m
from .runner import LANGS, GoldItem, load_gold



@dataclass(frozen=True)
class Variant:
    name: str
    top_k: int
    our_chunking: bool   # SentenceSplitter at our chunk size/overlap in characters, not its 1024/200 tokens
    description: str


VARIANTS = {
    "top2": Variant("top2", 2, False, "llama-index defaults: SimpleDirectoryReader, SentenceSplitter (1024/200 "
                                      "tokens), VectorStoreIndex, similarity_top_k=2, same e5 embedder"),
    "top5": Variant("top5", 5, True, "llama-index at our chunk budget: SimpleDirectoryReader, SentenceSplitter "
                                     "({chars}/{overlap} characters, as ours), VectorStoreIndex, "
                                     "similarity_top_k=5, same e5 embedder"),
}
TOP_K = VARIANTS["top2"].top_k
DESCRIPTION = VARIANTS["top2"].description
REFUSAL_MARKERS = (
    "not mentioned", "does not mention", "doesn't mention", "not provided", "does not provide",
    "doesn't provide", "no information", "not contain", "cannot answer", "can't answer",
    "unable to answer", "not in the context", "don't know", "do not know",
    "언급되어 있지 않", "언급되지 않", "정보가 없", "나와 있지 않", "알 수 없", "포함되어 있지 않", "답할 수 없",
)


# --- mapping nodes to sections (pure) --------------------------------------------------------------

def section_spans(text: str, sections: Sequence) -> list[tuple[int, int, str]]:
    """(start, end, section) character spans of one file's sections, from their heading lines."""
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    ordered = sorted(sections, key=lambda s: s.line)
    spans = []
    for this, nxt in zip(ordered, [*ordered[1:], None]):
        start = line_starts[min(this.line - 1, len(line_starts) - 1)]
        end = line_starts[min(nxt.line - 1, len(line_starts) - 1)] if nxt else len(text)
        spans.append((start, end, this.section))
    return spans


def overlapping_sections(spans, start: int, end: int) -> list[str]:
    """Sections overlapping [start, end), most overlap first (ties keep file order)."""
    overlaps = [(min(end, e) - max(start, s), i, sec) for i, (s, e, sec) in enumerate(spans)]
    return [sec for size, _, sec in sorted(overlaps, key=lambda t: (-t[0], t[1])) if size > 0]


def node_span(node, doc_text: str) -> tuple[int, int] | None:
    start, end = getattr(node, "start_char_idx", None), getattr(node, "end_char_idx", None)
    if start is not None and end is not None:
        return start, end
    content = node.get_content()
    found = doc_text.find(content)
    return (found, found + len(content)) if found >= 0 else None


def looks_like_refusal(text: str) -> bool:
    folded = m.normalize_text(text or "")
    return not folded or any(marker in folded for marker in REFUSAL_MARKERS)


# --- the llama-index side ----------------------------------------------------------------------------

def _llama_index():
    try:
        import llama_index.core as core
    except ImportError as exc:
        raise ConfigError("The baseline needs llama-index-core: pip install llama-index-core") from exc
    return core


def make_llm(generator, language_of: Callable[[], str], question_of: Callable[[], str]):
    """A llama-index CustomLLM that sends the prompt llama-index rendered to our Generator."""
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback
    from pydantic import PrivateAttr

    from rag.llm.base import GenerationRequest

    class GeneratorLLM(CustomLLM):
        context_window: int = 4096
        num_output: int = 256
        model_name: str = "rag-generator"
        _generator: Any = PrivateAttr()

        def __init__(self, gen, **kwargs):
            super().__init__(**kwargs)
            self._generator = gen

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=self.context_window, num_output=self.num_output,
                               model_name=self.model_name)

        def _request(self, prompt: str) -> GenerationRequest:
            return GenerationRequest(question=question_of(), language=language_of(),
                                     messages=[{"role": "user", "content": prompt}],
                                     max_new_tokens=self.num_output)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
            return CompletionResponse(text=self._generator.complete(self._request(prompt)))

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
            text = ""
            for piece in self._generator.stream(self._request(prompt)):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

    return GeneratorLLM(generator, model_name=getattr(generator, "label", "rag-generator"))


def build_index(files: Sequence[Path], embed_model, chunk_size: int | None = None,
                chunk_overlap: int | None = None, in_characters: bool = False):
    """The default pipeline. ``chunk_size`` None keeps llama-index's default splitter; else a
    ``SentenceSplitter`` of that size (tokens, or characters with ``in_characters``: our chunk unit)."""
    core = _llama_index()
    with contextlib.redirect_stdout(io.StringIO()):  # llama-index prints when the LLM is disabled
        core.Settings.llm = None
    core.Settings.embed_model = embed_model
    documents = core.SimpleDirectoryReader(input_files=[str(f) for f in files]).load_data()
    transformations = None
    if chunk_size is not None:
        from llama_index.core.node_parser import SentenceSplitter
        overlap = chunk_size // 5 if chunk_overlap is None else chunk_overlap
        # the splitter measures with its tokenizer; `list` makes its unit one character, like ours
        transformations = [SentenceSplitter(chunk_size=chunk_size, chunk_overlap=overlap,
                                            tokenizer=list if in_characters else None)]
    index = core.VectorStoreIndex.from_documents(documents, transformations=transformations)
    return index, {str(Path(d.metadata["file_path"]).resolve()): d.text for d in documents}


def _spans_by_file(sections, doc_texts: dict) -> dict:
    by_file: dict[str, list] = {}
    for s in sections:
        by_file.setdefault(str(Path(s.source).resolve()), []).append(s)
    return {path: section_spans(doc_texts[path], secs) for path, secs in by_file.items() if path in doc_texts}


def map_nodes(nodes, spans_by_file: dict, doc_texts: dict) -> tuple[list[str], list[str]]:
    """(primary section per node, every section the nodes overlap) for retrieved nodes, best first."""
    primary, covered = [], []
    for scored in nodes:
        node = getattr(scored, "node", scored)
        path = str(Path(node.metadata.get("file_path", "")).resolve())
        span = node_span(node, doc_texts.get(path, ""))
        overlap = overlapping_sections(spans_by_file.get(path, []), *span) if span else []
        if overlap:
            primary.append(overlap[0])
        covered.extend(overlap)
    return primary, m.distinct(covered)


# --- the run ------------------------------------------------------------------------------------------

def variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ConfigError(f"Unknown baseline variant {name!r}; choose from: {', '.join(VARIANTS)}.")
    return VARIANTS[name]


def run_baseline(gold_path, sections, embed_model, generator=None, retrieval_only: bool = True,
                 chunk_size: int | None = None, progress: Callable[[str], None] | None = None,
                 variant_name: str = "top2", chunk_budget: tuple[int, int] = (900, 150)) -> dict:
    """Evaluate the plain pipeline; returns {"description", "metrics": {all, ko, en}, "items", ...}.

    ``sections`` come from our parser (``rag.ingest.loaders.load_notes(settings.notes).sections``);
    their ``source`` files are what the pipeline reads. ``variant_name`` picks a row of ``VARIANTS``;
    ``chunk_budget`` is our (chunk characters, overlap) for the variant that uses it; ``chunk_size``
    (tokens) overrides the splitter (tests pass a small one).
    """
    if not retrieval_only and generator is None:
        raise ConfigError("The baseline needs a generator to answer; pass one or use retrieval only.")
    chosen = variant(variant_name)
    gold = load_gold(gold_path)
    files = sorted({Path(s.source) for s in sections})
    if chunk_size is None and chosen.our_chunking:
        index, doc_texts = build_index(files, embed_model, chunk_budget[0], chunk_budget[1], in_characters=True)
    else:
        index, doc_texts = build_index(files, embed_model, chunk_size)
    spans = _spans_by_file(sections, doc_texts)
    current: dict = {}
    engine = None
    if not retrieval_only:
        llm = make_llm(generator, lambda: current["lang"], lambda: current["question"])
        engine = index.as_query_engine(llm=llm, similarity_top_k=chosen.top_k)
    retriever = index.as_retriever(similarity_top_k=chosen.top_k)

    scored, records = [], []
    for n, item in enumerate(gold, start=1):
        if progress:
            progress(f"baseline {n}/{len(gold)} {item.id}")
        current.update(lang=item.lang, question=item.question)
        s, record = _run_item(item, retriever, engine, spans, doc_texts)
        scored.append(s)
        records.append(record)
    answerable = [r for r in records if r["answerable"]]
    description = chosen.description.format(chars=chunk_budget[0], overlap=chunk_budget[1])
    return {
        "description": description + ("" if retrieval_only else f", generator {generator.label}"),
        "variant": chosen.name,
        "top_k": chosen.top_k,
        "retrieval_only": retrieval_only,
        "metrics": {"all": m.aggregate(scored, retrieval_only),
                    **{lang: m.aggregate([s for s in scored if s.lang == lang], retrieval_only)
                       for lang in LANGS}},
        "context_hit": (sum(r["context_hit"] for r in answerable) / len(answerable)) if answerable else None,
        "nodes": len(index.docstore.docs),
        "items": records,
    }


def _run_item(item: GoldItem, retriever, engine, spans, doc_texts) -> tuple[m.ScoredItem, dict]:
    start = time.perf_counter()
    if engine is None:
        nodes, answer = retriever.retrieve(item.question), None
    else:
        response = engine.query(item.question)
        nodes, answer = response.source_nodes, str(response.response or "")
    latency = (time.perf_counter() - start) * 1000
    primary, covered = map_nodes(nodes, spans, doc_texts)
    s = m.ScoredItem(item.id, item.lang, item.answerable, item.gold_sections, primary, latency)
    if answer is not None:
        s.answer, s.refused, s.citations = answer, looks_like_refusal(answer), m.distinct(primary)
        s.key_facts_found = m.key_facts_found(answer, item.key_facts)
    record = {"id": item.id, "lang": item.lang, "retrieved": m.distinct(primary), "answer": s.answer,
              "refused": s.refused, "citations": s.citations, "key_facts_found": s.key_facts_found,
              "latency_ms": round(latency, 1), "answerable": item.answerable,
              "covered": covered, "context_hit": bool(set(covered) & set(item.gold_sections))}
    return s, record


def run_baseline_for_engine(engine, gold_path, generator: str | None = None, retrieval_only: bool = True,
                            progress: Callable[[str], None] | None = None, variant_name: str = "top2") -> dict:
    """The baseline with the models an ``rag.engine.Engine`` has already loaded (same embedder, same
    generator), over the notes it indexed, at its chunk budget for the ``top5`` variant."""
    from rag.models.embedder import Embedder, LlamaIndexEmbedding

    shared = engine.embedder()
    # same loaded model, but no query cache: ours already embedded every gold question, and cache
    # hits would make the baseline's latency look near zero
    model = getattr(shared, "model", None) or shared._model
    embed_model = LlamaIndexEmbedding(Embedder(model, shared.model_id, cache_size=0))
    gen = None if retrieval_only else engine.generator(generator)
    if gen is not None and not getattr(gen, "uses_llm", True):
        gen = None  # the extractive backend reads our hits, not a prompt: nothing to give llama-index
    result = run_baseline(gold_path, engine.read_notes().sections, embed_model, gen,
                          retrieval_only=gen is None, progress=progress, variant_name=variant_name,
                          chunk_budget=(engine.settings.chunk_chars, engine.settings.chunk_overlap))
    if gen is None and not retrieval_only:
        result["description"] += " (retrieval only: the chosen generator is not an LLM)"
    return result


def ours_retrieval(engine, gold_path, progress: Callable[[str], None] | None = None) -> dict:
    """Our retrieval on the same items, scored the same way, for the side-by-side table."""
    gold = load_gold(gold_path)
    scored = []
    for n, item in enumerate(gold, start=1):
        if progress:
            progress(f"ours {n}/{len(gold)} {item.id}")
        start = time.perf_counter()
        hits = engine.search(item.question, k=10)
        latency = (time.perf_counter() - start) * 1000
        scored.append(m.ScoredItem(item.id, item.lang, item.answerable, item.gold_sections,
                                   [h.section for h in hits], latency))
    return {"description": f"hybrid dense + keyword (BM25 over Kiwi morphemes), one hit per section, chunks "
                           f"{engine.settings.chunk_chars}/{engine.settings.chunk_overlap} characters",
            "metrics": {"all": m.aggregate(scored, True),
                        **{lang: m.aggregate([s for s in scored if s.lang == lang], True) for lang in LANGS}}}


def side_by_side(columns: dict[str, dict], gold_path, command: str = "") -> str:
    """Markdown: retrieval metrics of each run (ours, each variant) per language, one column each."""
    names = list(columns)
    lines = [f"# Retrieval: ours beside a plain llama-index pipeline ({Path(gold_path).name})", "",
             *([f"Command: `{command}`", ""] if command else []),
             *[f"- **{name}**: {columns[name]['description']}" for name in names], "",
             "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for lang in ("all", *LANGS):
        for key in m.RETRIEVAL_KEYS:
            cells = [columns[n]["metrics"][lang][key] for n in names]
            lines.append(f"| {key} {lang} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    extra = [("nodes in the index", "nodes", "{}"), ("gold section inside the retrieved text", "context_hit", "{:.3f}")]
    for label, key, fmt in extra:
        lines.append(f"| {label} | " + " | ".join(
            "-" if columns[n].get(key) is None else fmt.format(columns[n][key]) for n in names) + " |")
    lines += ["", "Sections of a llama-index node: the section it overlaps most (a node may span several; "
                  "`context_hit` counts any overlap). Latency is not compared here (`benchmarks/run.py` does).", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m evals.baseline_llamaindex [--gold evals/gold_dev.jsonl] [--variant top2,top5] [--generator NAME]
    [--out evals/reports/baseline]"""
    import argparse
    import json
    import sys

    from rag.config import load_settings
    from rag.engine import Engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default="evals/gold_dev.jsonl")
    parser.add_argument("--variant", default=",".join(VARIANTS),
                        help=f"comma-separated, from: {', '.join(VARIANTS)} (default: all, side by side)")
    parser.add_argument("--generator", default=None, help="answer with this generator (default: retrieval only)")
    parser.add_argument("--no-ours", action="store_true", help="leave out our own retrieval column")
    parser.add_argument("--out", default="evals/reports/baseline", help="folder for the JSON files and report.md")
    args = parser.parse_args(argv)
    names = [variant(v.strip()).name for v in args.variant.split(",") if v.strip()]
    engine = Engine(load_settings())   # its embedder (and generator) serve both sides
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    columns: dict[str, dict] = {} if args.no_ours else {"ours": ours_retrieval(engine, args.gold, say)}
    for name in names:
        result = run_baseline_for_engine(engine, args.gold, args.generator, args.generator is None, say, name)
        (out / f"baseline_{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                                                   encoding="utf-8")
        columns[f"llama-index {name}"] = result
    summary = {name: {k: v for k, v in col.items() if k != "items"} for name, col in columns.items()}
    summary["gold"] = args.gold
    summary["command"] = "python -m evals.baseline_llamaindex " + " ".join(argv if argv is not None else sys.argv[1:])
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report = side_by_side(columns, args.gold, summary["command"])
    (out / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
