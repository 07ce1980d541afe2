"""Run the gold set through an engine and write ``report.json``, ``report.md`` and plots.

The engine is duck-typed (``search(question, k, legs=None, glossary=None) -> list[Hit]`` and
``ask(question, generator=None) -> Answer``) so tests pass a fake. Per item we time ``ask`` (or
``search`` when retrieval only) and separately search with k=10 for the ranking metrics: the answerer's
own search is cut at ``top_k`` and would cap recall@k. The ablation and the refusal threshold
cross-validation need only retrieval, so they run in both modes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rag.errors import ConfigError, GenerationError
from rag.index.question_bank import held_out

from . import metrics as m
from .refusal_cv import cross_validate, rates

Progress = Callable[[str], None]
LANGS = ("ko", "en")
SEARCH_K = 10

# (name, legs, glossary): the retrieval ablation, cheapest first
ABLATIONS = (
    ("keyword only", ("keyword",), False),
    ("keyword + glossary", ("keyword",), True),
    ("dense only", ("dense",), False),
    ("lines only", ("lines",), False),
    ("hybrid, no line leg", ("dense", "keyword"), True),
    ("hybrid, no glossary", ("dense", "keyword", "lines"), False),
    ("hybrid + glossary", ("dense", "keyword", "lines"), True),
)


@dataclass
class GoldItem:
    id: str
    lang: str
    question: str
    answerable: bool
    gold_sections: list[str] = field(default_factory=list)
    key_facts: list[list[str]] = field(default_factory=list)
    type: str = ""
    expected: str = ""          # "answer" | "partial" | "refuse"
    split: str = ""             # "dev" | "test"
    origin: str = ""            # "v1" (first gold set) | "v2" (written for the frozen test split)
    style: str = ""
    missing: list[str] = field(default_factory=list)


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a JSONL gold file; a bad line raises ConfigError naming the line and the fix."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Gold file {path} not found. Pass an existing JSONL file with --gold.")
    items, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = _parse_gold_line(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}:{number}: bad gold item ({exc}). Each line needs id, lang "
                              "(ko|en), question, answerable, gold_sections, key_facts.") from exc
        if item.id in seen:
            raise ConfigError(f"{path}:{number}: duplicate id {item.id!r}; ids must be unique.")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise ConfigError(f"Gold file {path} has no items.")
    return items


def _parse_gold_line(raw: dict) -> GoldItem:
    if raw["lang"] not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {raw['lang']!r}")
    facts = [[f] if isinstance(f, str) else [str(x) for x in f] for f in raw.get("key_facts", [])]
    item = GoldItem(id=str(raw["id"]), lang=raw["lang"], question=str(raw["question"]),
                    answerable=bool(raw["answerable"]),
                    gold_sections=[str(s) for s in raw.get("gold_sections", [])],
                    key_facts=facts, type=str(raw.get("type", "")),
                    expected=str(raw.get("expected") or ("answer" if raw["answerable"] else "refuse")),
                    split=str(raw.get("split", "")), origin=str(raw.get("origin", "")),
                    style=str(raw.get("style", "")), missing=[str(x) for x in raw.get("missing", [])])
    if item.answerable and not item.gold_sections:
        raise ValueError("an answerable item needs at least one gold section")
    return item


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


# --- running the engine ---------------------------------------------------------------------------

class NotesContext:
    """The engine's notes, for auditing answers: section text in both languages, every notes token."""

    def __init__(self, engine):
        self.engine = engine
        self._texts: dict[tuple[str, str], str] = {}
        self._tokens: set[str] | None = None

    def section_text(self, doc: str, section: str) -> str:
        key = (doc, section)
        if key not in self._texts:
            view = self.engine.section_view(doc, section) if hasattr(self.engine, "section_view") else {}
            # the heading with its number: a chapter overview cites "3.2 Foundation Model" by its own heading
            self._texts[key] = "\n".join(f"{section} {v['title']}\n{v['text']}" for v in view.values() if v)
        return self._texts[key]

    def course_terms(self) -> set[str]:
        """Tokens of the glossary mined from the notes: the course's own technical terms."""
        if self._tokens is None:
            retriever = self.engine.retriever() if hasattr(self.engine, "retriever") else None
            entries = getattr(getattr(retriever, "glossary", None), "entries", [])
            self._tokens = {t for e in entries for t in (*e.ko_tokens, *e.en_tokens)}
        return self._tokens


def _audit(answer, item: GoldItem, notes: NotesContext | None) -> dict:
    if notes is None or answer.refused:
        return {}
    from .audit import audit

    cited = [notes.section_text(c.doc, c.section) for c in answer.citations]
    return audit(answer.text, answer.language, list(getattr(answer, "missing", []) or []), cited, item.question,
                 notes.course_terms())


def _run_item(engine, item: GoldItem, generator, retrieval_only: bool,
              notes: NotesContext | None = None) -> tuple[m.ScoredItem, dict]:
    if retrieval_only:
        start = time.perf_counter()
        hits = engine.search(item.question, k=SEARCH_K)
        latency = (time.perf_counter() - start) * 1000
        scored = m.ScoredItem(item.id, item.lang, item.answerable, item.gold_sections,
                              [h.section for h in hits], latency)
        return scored, {"hits": hits}
    # ask first, search after: the embedder caches query vectors, and a search just before would
    # hand ask a free embedding and understate its latency
    start = time.perf_counter()
    try:
        answer, error = engine.ask(item.question, generator=generator), None
    except GenerationError as exc:  # one failed answer should not sink a 40-minute run
        answer, error = None, str(exc)
    latency = (time.perf_counter() - start) * 1000
    hits = engine.search(item.question, k=SEARCH_K)
    extra: dict = {"hits": hits}
    if answer is None:
        extra["error"] = error
        scored = m.ScoredItem(item.id, item.lang, item.answerable, item.gold_sections,
                              [h.section for h in hits], latency, answer="", refused=False,
                              key_facts_found=[False] * len(item.key_facts))
        return scored, extra
    extra.update(generator=answer.generator, timings=dict(answer.timings))
    audit = _audit(answer, item, notes)
    scored = m.ScoredItem(
        item.id, item.lang, item.answerable, item.gold_sections, [h.section for h in hits], latency,
        answer=answer.text, refused=bool(answer.refused),
        citations=[c.section for c in answer.citations],
        key_facts_found=m.key_facts_found(answer.text, item.key_facts),
        expected=item.expected, outcome=getattr(answer, "outcome", "") or ("refused" if answer.refused else "answer"),
        n_sentences=audit.get("n_sentences", 0), unsupported=audit.get("unsupported", []),
        truncated=audit.get("truncated", False), repeated=audit.get("repeated", 0),
    )
    if getattr(answer, "notice", ""):
        extra["notice"] = answer.notice
    if getattr(answer, "withheld", None):
        extra["withheld"] = answer.withheld
    return scored, extra


# not a gold question: a gold one would be answered from the query cache when timed
WARM_UP_QUESTION = "워밍업: GPU는 무엇인가요? (warm-up: what is a GPU?)"


def warm_up(engine, generator, retrieval_only: bool, progress: Progress | None) -> float:
    """One untimed call first, so that lazy index building and model loading (minutes, once) are not
    counted as the first question's latency."""
    _say(progress, "warm-up (loading the index and models; not timed)")
    start = time.perf_counter()
    engine.search(WARM_UP_QUESTION, k=SEARCH_K)
    if not retrieval_only:
        try:
            engine.ask(WARM_UP_QUESTION, generator=generator)
        except GenerationError:
            pass  # the timed run records it per item
    return (time.perf_counter() - start) * 1000


def _run_items(engine, gold: list[GoldItem], generator, retrieval_only: bool, progress: Progress | None):
    """(scored items, report records, hit lists, generator labels), one of each per gold item."""
    scored, records, hit_lists, labels = [], [], [], []
    notes = None if retrieval_only else NotesContext(engine)
    for n, item in enumerate(gold, start=1):
        _say(progress, f"{'search' if retrieval_only else 'ask'} {n}/{len(gold)} {item.id}")
        # the retriever's labelled-question prior never draws on this item's writer, nor on its own text
        with held_out(item.origin, questions=(item.question,)):
            s, extra = _run_item(engine, item, generator, retrieval_only, notes)
        scored.append(s)
        hit_lists.append(extra["hits"])
        labels.append(extra.get("generator"))
        records.append(_item_record(item, s, extra))
    return scored, records, hit_lists, labels


def _item_record(item: GoldItem, scored: m.ScoredItem, extra: dict) -> dict:
    record = {
        "id": item.id, "lang": item.lang, "retrieved": m.distinct(scored.retrieved),
        "answer": scored.answer, "refused": scored.refused, "citations": scored.citations,
        "key_facts_found": scored.key_facts_found, "latency_ms": round(scored.latency_ms, 1),
        # extras that make a failure readable without the gold file at hand
        "question": item.question, "type": item.type, "answerable": item.answerable,
        "gold_sections": item.gold_sections, "expected": item.expected, "outcome": scored.outcome,
        "origin": item.origin, "style": item.style, "unsupported": scored.unsupported,
        "truncated": scored.truncated, "repeated": scored.repeated, "n_sentences": scored.n_sentences,
    }
    for key in ("error", "timings", "evidence_score", "notice", "withheld", "generator"):
        if key in extra:
            record[key] = extra[key]
    return record


def _by_language(items: list[m.ScoredItem], retrieval_only: bool) -> dict:
    out = {"all": m.aggregate(items, retrieval_only)}
    for lang in LANGS:
        out[lang] = m.aggregate([i for i in items if i.lang == lang], retrieval_only)
    return out


# --- ablation and refusal threshold ---------------------------------------------------------------

def run_ablation(engine, gold: list[GoldItem], progress: Progress | None = None) -> dict:
    """Retrieval-only metrics per language for each leg/glossary configuration."""
    rows = []
    for name, legs, glossary in ABLATIONS:
        scored = []
        for n, item in enumerate(gold, start=1):
            _say(progress, f"ablation [{name}] {n}/{len(gold)}")
            try:
                with held_out(item.origin, questions=(item.question,)):
                    hits = engine.search(item.question, k=SEARCH_K, legs=legs, glossary=glossary)
            except TypeError as exc:  # an engine without leg selection: say so in the report
                return {"skipped": f"engine.search does not take legs/glossary ({exc})", "rows": []}
            scored.append(m.ScoredItem(item.id, item.lang, item.answerable, item.gold_sections,
                                       [h.section for h in hits], 0.0))
        by_lang = {"all": m.retrieval_metrics(scored)}
        by_lang.update({lang: m.retrieval_metrics([s for s in scored if s.lang == lang]) for lang in LANGS})
        rows.append({"name": name, "legs": list(legs), "glossary": glossary, "metrics": by_lang})
    return {"rows": rows}


MAX_FALSE_REFUSAL = 0.02
Evidence = Callable[[str, list], float]   # (question, hits) -> evidence score, higher = better covered


def engine_evidence_fn(engine) -> Evidence | None:
    """The answerer's own score: ``rag.answer.evidence_score`` over ``engine.retrieve(...).features``."""
    try:
        from rag.answer import evidence_score
    except ImportError:
        return None
    if not hasattr(engine, "retrieve"):
        return None
    k = _top_k(engine)
    return lambda question, hits: evidence_score(engine.retrieve(question, k=k).features)


def is_test_split(gold: list[GoldItem]) -> bool:
    return bool(gold) and all(item.split == "test" for item in gold)


def run_refusal_cv(gold: list[GoldItem], hit_lists: list[list], evidence: Evidence,
                   current_threshold: float | None = None, fit: bool = True) -> dict:
    scores = [float(evidence(item.question, hits)) for item, hits in zip(gold, hit_lists)]
    labels = [item.answerable for item in gold]
    if all(labels) or not any(labels):
        return {"skipped": "the gold set needs both answerable and unanswerable items", "scores": scores}
    if not fit:
        result = {"skipped": "frozen test split: no threshold is fitted here", "scores": scores}
        if current_threshold is not None:
            result["current"] = {"threshold": current_threshold,
                                 **dataclasses.asdict(rates(scores, labels, current_threshold))}
        return result
    # 2%, not 5%: the term and slot checks (rag.answerability) refuse near-miss questions the score misses,
    # so the score only has to catch what is far from the notes, and a wrong refusal hides the notes
    result = cross_validate(scores, labels, max_false_refusal=MAX_FALSE_REFUSAL).to_dict()
    result["scores"] = scores
    if current_threshold is not None:  # what the shipped setting does, for comparison
        current = rates(scores, labels, current_threshold)
        result["current"] = {"threshold": current_threshold, **dataclasses.asdict(current)}
    return result


# --- the entry point ------------------------------------------------------------------------------

def run_eval(gold_path, out_dir, engine, generator: str | None = None, retrieval_only: bool = False,
             ablation: bool = True, progress: Progress | None = None, baseline: dict | bool | None = None,
             evidence_fn: Evidence | None | bool = None) -> dict:
    """Evaluate ``engine`` on the gold set; write the report files into ``out_dir``; return the report.

    ``baseline``: True runs the plain llama-index pipeline with the engine's models
    (``evals.baseline_llamaindex``) and shows it beside ours; a dict is such a result computed before.
    ``evidence_fn(question, hits)`` scores each item for the refusal threshold cross-validation;
    None = the engine's own (``engine_evidence_fn``) when it has one, False = skip.
    """
    gold = load_gold(gold_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    warmup_ms = warm_up(engine, generator, retrieval_only, progress)
    scored, records, hit_lists, labels = _run_items(engine, gold, generator, retrieval_only, progress)
    report = {
        "gold": str(gold_path),
        "n_items": len(gold),
        "generator": _generator_label(generator, labels, retrieval_only),
        "retrieval_only": retrieval_only,
        "metrics": _by_language(scored, retrieval_only),
        "items": records,
        "by_type": {t: m.aggregate([s for s, g in zip(scored, gold) if g.type == t], retrieval_only)
                    for t in sorted({g.type for g in gold})},
        "counts": _counts(gold),
        "warmup_ms": round(warmup_ms, 1),
        "settings": _settings_dict(engine),
        "machine": _machine(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    report["by_origin"] = {o: m.aggregate([s for s, g in zip(scored, gold) if g.origin == o], retrieval_only)
                           for o in sorted({g.origin for g in gold if g.origin}, key=_origin_order)}
    report["frozen_test"] = is_test_split(gold)
    scorer = engine_evidence_fn(engine) if evidence_fn is None else (evidence_fn or None)
    if scorer is not None:
        _say(progress, "refusal threshold cross-validation")
        current = getattr(getattr(engine, "settings", None), "refusal_threshold", None)
        # on the frozen test split nothing is fitted: only the shipped threshold is scored
        report["refusal_cv"] = run_refusal_cv(gold, hit_lists, scorer, current, fit=not report["frozen_test"])
        for record, score in zip(records, report["refusal_cv"]["scores"]):
            record["evidence_score"] = round(score, 6)
    if ablation:
        report["ablation"] = run_ablation(engine, gold, progress)
    if baseline is True:
        from .baseline_llamaindex import run_baseline_for_engine
        baseline = run_baseline_for_engine(engine, gold_path, generator, retrieval_only, progress)
    if baseline:
        report["baseline"] = {k: v for k, v in baseline.items() if k != "items"}
        (out_dir / "baseline.json").write_text(json.dumps(baseline, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    write_report(report, out_dir, scored)
    return report


def _origin_order(origin: str) -> tuple:
    # "v2" before "v10": writers in the order they wrote
    digits = origin.lstrip("v")
    return (0, int(digits), "") if digits.isdigit() else (1, 0, origin)


def _generator_label(requested, labels, retrieval_only: bool) -> str:
    if retrieval_only:
        return "none (retrieval only)"
    used = sorted({label for label in labels if label})
    return ", ".join(used) if used else (requested or "auto")


def _counts(gold: list[GoldItem]) -> dict:
    def count(items):
        return {"n": len(items), "answerable": sum(i.answerable for i in items),
                "unanswerable": sum(not i.answerable for i in items)}
    return {"all": count(gold), **{lang: count([g for g in gold if g.lang == lang]) for lang in LANGS}}


def _top_k(engine) -> int:
    return int(getattr(getattr(engine, "settings", None), "top_k", 5) or 5)


def _settings_dict(engine) -> dict | None:
    settings = getattr(engine, "settings", None)
    if settings is None or not dataclasses.is_dataclass(settings):
        return None
    out = {}
    for key, value in dataclasses.asdict(settings).items():
        if "key" in key:  # never write an API key into a committed report
            continue
        out[key] = [str(v) for v in value] if isinstance(value, (list, tuple)) else (
            value if isinstance(value, (int, float, bool, str)) or value is None else str(value))
    return out


def _machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}
    torch = sys.modules.get("torch")  # only if the engine loaded it: importing it costs seconds
    if torch is not None:
        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


# --- writing ----------------------------------------------------------------------------------------

def write_report(report: dict, out_dir: Path, scored: list[m.ScoredItem]) -> None:
    (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")
    plots = write_plots(scored, out_dir)
    (out_dir / "report.md").write_text(render_markdown(report, plots), encoding="utf-8")


def write_plots(scored: list[m.ScoredItem], out_dir: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")  # no display here, and a server has none either
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = list(range(1, SEARCH_K + 1))
    for lang in ("all", *LANGS):
        subset = scored if lang == "all" else [s for s in scored if s.lang == lang]
        curve = m.recall_curve(subset, SEARCH_K)
        if any(v is not None for v in curve):
            ax.plot(ks, [v if v is not None else float("nan") for v in curve], marker="o", label=lang)
    ax.set(xlabel="k", ylabel="recall@k", title="Recall@k (answerable questions)", ylim=(0, 1.02), xticks=ks)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "recall_at_k.png", dpi=100)
    plt.close(fig)
    names.append("recall_at_k.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    data = [[s.latency_ms for s in scored if s.lang == lang] for lang in LANGS]
    ax.hist([d for d in data if d], bins=20, label=[l for l, d in zip(LANGS, data) if d], stacked=True)
    for q, style in ((50, "--"), (95, ":")):
        value = m.percentile([s.latency_ms for s in scored], q)
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, label=f"p{q} {value:.0f} ms")
    ax.set(xlabel="latency (ms)", ylabel="questions", title="Latency per question")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "latency_hist.png", dpi=100)
    plt.close(fig)
    names.append("latency_hist.png")
    return names


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1.0 else f"{value:.0f}"
    return str(value)


def _metrics_table(report: dict) -> list[str]:
    columns = [("ours " + lang, report["metrics"][lang]) for lang in ("all", *LANGS)]
    if "baseline" in report:
        columns += [("baseline " + lang, report["baseline"]["metrics"][lang]) for lang in ("all", *LANGS)]
    lines = ["| metric | " + " | ".join(c for c, _ in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for key in m.METRIC_KEYS:
        lines.append(f"| {key} | " + " | ".join(_fmt(col.get(key)) for _, col in columns) + " |")
    return lines


def _columns_table(columns: list[tuple[str, dict]]) -> list[str]:
    lines = ["| metric | " + " | ".join(c for c, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key in m.METRIC_KEYS:
        lines.append(f"| {key} | " + " | ".join(_fmt(col.get(key)) for _, col in columns) + " |")
    return lines


def write_summary(reports: dict[str, dict], out_dir: Path) -> str:
    """dev and test side by side, per language: the table the README and closing notes quote."""
    columns = [(f"{name} {lang}", report["metrics"][lang]) for name, report in reports.items()
               for lang in ("all", *LANGS)]
    first = next(iter(reports.values()))
    lines = ["# Evaluation summary", "", f"- generator: {first['generator']}",
             f"- created: {first['created']}", ""]
    for name, report in reports.items():
        counts = report["counts"]["all"]
        lines.append(f"- {name}: `{report['gold']}` ({report['n_items']} items, {counts['unanswerable']} "
                     f"unanswerable){' — frozen test split, nothing tuned on it' if report.get('frozen_test') else ''}")
    lines += ["", *_columns_table(columns), ""]
    for name, report in reports.items():
        if report.get("by_origin") and len(report["by_origin"]) > 1:
            lines += [f"{name} by origin:", "", *_columns_table(list(report["by_origin"].items())), ""]
    lines += ["Per-item results, failures and every unsupported sentence: "
              + ", ".join(f"[{n}]({n}/report.md)" for n in reports), ""]
    text = "\n".join(lines)
    (out_dir / "summary.md").write_text(text, encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps({n: {k: r[k] for k in ("gold", "n_items", "generator", "metrics",
                                                                          "by_origin", "frozen_test")}
                                                      for n, r in reports.items()}, ensure_ascii=False, indent=2)
                                          + "\n", encoding="utf-8")
    return text


def run_splits(gold_paths: list, out_dir, engine, **kwargs) -> dict[str, dict]:
    """``run_eval`` on each gold file (dev, test) into ``out_dir/<name>``, and a side-by-side summary."""
    out_dir = Path(out_dir)
    reports = {}
    for path in gold_paths:
        name = Path(path).stem.replace("gold_", "")
        reports[name] = run_eval(path, out_dir / name, engine, **kwargs)
    write_summary(reports, out_dir)
    return reports


def _ablation_table(ablation: dict) -> list[str]:
    if ablation.get("skipped"):
        return [f"Skipped: {ablation['skipped']}"]
    head = " | ".join(f"{lang} {k}" for lang in LANGS for k in m.RETRIEVAL_KEYS)
    lines = [f"| configuration | {head} |", "|---" * (1 + len(LANGS) * len(m.RETRIEVAL_KEYS)) + "|"]
    for row in ablation["rows"]:
        cells = " | ".join(_fmt(row["metrics"][lang][k]) for lang in LANGS for k in m.RETRIEVAL_KEYS)
        lines.append(f"| {row['name']} | {cells} |")
    return lines


def _failures(report: dict) -> list[str]:
    lines = []
    misses = [r for r in report["items"]
              if r["answerable"] and not m.recall_at_k(r["retrieved"], r["gold_sections"], 5)]
    lines += [f"### Retrieval misses (recall@5 = 0): {len(misses)}", ""]
    lines += [f"- `{r['id']}` ({r['lang']}) {r['question']} - gold {', '.join(r['gold_sections'])}; "
              f"got {', '.join(r['retrieved'][:5]) or 'nothing'}" for r in misses]
    if not report["retrieval_only"]:
        false_refusals = [r for r in report["items"] if r["answerable"] and r["refused"]]
        missed = [r for r in report["items"] if not r["answerable"] and not r["refused"]]
        lines += ["", f"### Wrong refusals (answerable, refused): {len(false_refusals)}", ""]
        lines += [f"- `{r['id']}` ({r['lang']}) {r['question']}" for r in false_refusals]
        lines += ["", f"### Missed refusals (unanswerable, answered): {len(missed)}", ""]
        lines += [f"- `{r['id']}` ({r['lang']}) {r['question']} -> {_short(r['answer'])}" for r in missed]
    if not report["retrieval_only"]:
        partial = [r for r in report["items"] if r.get("expected") == "partial" or r.get("outcome") == "partial"]
        lines += ["", f"### Partly covered (expected or given): {len(partial)}", ""]
        lines += [f"- `{r['id']}` ({r['lang']}) expected {r.get('expected')}, got {r.get('outcome')}: {r['question']}"
                  for r in partial]
        unsupported = [(r, u) for r in report["items"] for u in r.get("unsupported", [])]
        lines += ["", f"### Unsupported sentences (a number, name or term not in the cited sections): "
                      f"{len(unsupported)}", ""]
        lines += [f"- `{r['id']}` {_short(u['sentence'], 200)} — not in cited: {', '.join(u['terms'])}"
                  for r, u in unsupported]
        withheld = [(r, w) for r in report["items"] for w in r.get("withheld", [])]
        lines += ["", f"### Sentences the claim check kept from the student: {len(withheld)}", ""]
        lines += [f"- `{r['id']}` {_short(w['sentence'], 200)} — {w['reason']}" for r, w in withheld]
        truncated = [r for r in report["items"] if r.get("truncated")]
        lines += ["", f"### Truncated answers: {len(truncated)}", ""]
        lines += [f"- `{r['id']}` ...{_short((r['answer'] or '')[-120:])}" for r in truncated]
    errors = [r for r in report["items"] if r.get("error")]
    if errors:
        lines += ["", f"### Errors: {len(errors)}", ""]
        lines += [f"- `{r['id']}`: {r['error']}" for r in errors]
    return lines


def _short(text: str | None, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + "..."


def _baseline_line(baseline: dict) -> str:
    line = f"Baseline: {baseline.get('description', 'llama-index')}."
    if baseline.get("context_hit") is not None:
        line += (f" Its nodes ({baseline.get('nodes', '?')} in all) each span several sections; recall counts"
                 f" the section a node overlaps most, while a gold section lies somewhere inside the retrieved"
                 f" nodes for {baseline['context_hit']:.1%} of answerable questions (context hit).")
    return line


def _refusal_lines(cv: dict) -> list[str]:
    if cv.get("skipped"):
        lines = [f"Skipped: {cv['skipped']}"]
        if "current" in cv:
            lines += ["", f"The shipped threshold ({cv['current']['threshold']:.4f}) alone gives refusal recall "
                          f"{_fmt(cv['current']['refusal_recall'])}, false refusal rate "
                          f"{_fmt(cv['current']['false_refusal_rate'])} (before the term and slot checks)."]
        return lines
    held, fit = cv["held_out"], cv["in_sample"]
    return [
        f"Threshold fitted on all items: **{cv['threshold']:.4f}** (refuse when the evidence score is "
        f"below it; at most {cv['max_false_refusal']:.0%} false refusals on the training folds).",
        "",
        "| | refusal recall | false refusal rate |",
        "|---|---|---|",
        f"| held out ({cv['folds']}-fold CV) | {_fmt(held['refusal_recall'])} | {_fmt(held['false_refusal_rate'])} |",
        f"| in sample (all items) | {_fmt(fit['refusal_recall'])} | {_fmt(fit['false_refusal_rate'])} |",
        "",
        "Fold thresholds: " + ", ".join(f"{t:.4f}" for t in cv["fold_thresholds"]),
    ] + (["", f"The current setting ({cv['current']['threshold']:.4f}) gives refusal recall "
          f"{_fmt(cv['current']['refusal_recall'])}, false refusal rate "
          f"{_fmt(cv['current']['false_refusal_rate'])} on all items."] if "current" in cv else [])


def render_markdown(report: dict, plots: list[str]) -> str:
    counts = report["counts"]
    lines = [
        "# Evaluation report", "",
        f"- gold: `{report['gold']}` ({report['n_items']} items: "
        + ", ".join(f"{lang} {counts[lang]['n']}" for lang in LANGS)
        + f"; {counts['all']['unanswerable']} unanswerable)",
        f"- generator: {report['generator']}",
        f"- warm-up (index and model loading, not counted in latency): {report['warmup_ms'] / 1000:.1f} s",
        f"- created: {report['created']} on {report['machine']['platform']} "
        f"({report['machine']['cpus']} CPUs{', ' + report['machine']['cuda'] if report['machine'].get('cuda') else ''})",
        "", "Retrieval metrics are over answerable questions; latency is the wall time of "
        + ("`search`." if report["retrieval_only"] else "`ask` (retrieval + generation)."),
        "", "## Metrics", "", *_metrics_table(report),
    ]
    if "baseline" in report:
        lines += ["", _baseline_line(report["baseline"])]
    if report.get("by_origin"):
        lines += ["", "## By origin (v1: the first gold set; v2: written for the frozen test split)", "",
                  *_columns_table([(o, v) for o, v in report["by_origin"].items()])]
    if "ablation" in report:
        lines += ["", "## Retrieval ablation", "", *_ablation_table(report["ablation"])]
    if "refusal_cv" in report:
        lines += ["", "## Refusal threshold", "", *_refusal_lines(report["refusal_cv"])]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += ["", "## Failures", "", *_failures(report), ""]
    return "\n".join(lines)
