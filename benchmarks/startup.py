#!/usr/bin/env python
"""Start-up benchmark: the code before the start-up work beside the code now, and a plain llama-index
pipeline, measured in the same run (issue 11, "Start-up").

    python benchmarks/startup.py --out benchmarks/reports [--runs 3] [--llm] [--before-rev e743900]

Rows (each the median of ``--runs`` new processes unless said otherwise, with the load average):

- ``rag ask --generator extractive`` wall time, new process to printed answer (Korean and English question);
  the llama-index baseline's row is its new process to retrieved nodes (it cannot answer without an LLM);
- a phase breakdown of that process for the current code, and ``python -X importtime``'s largest imports;
- web: launch to page served (``serve`` returned and ``GET /`` answered), and with ``--llm`` launch to the
  first streamed token and the whole first LLM answer of a question asked as soon as the page is up;
- fused search p50 warm (query cache off), per query encoder, beside llama-index's retriever (top 2);
- first index build and the rebuild after a one-section edit (in process, models loaded, as the build row
  of ``benchmarks/run.py``), and the same rebuild as a new ``rag index`` process.

"before" is ``git archive <before-rev>`` into a temp folder, run with the same virtualenv and models; each
code gets its own fresh index folder. Nothing under ``RAG_HOME`` is written except the ONNX export, which
the "after" code makes once if it is missing (timed separately, not in the start-up rows).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT = "@@RESULT "
QUESTIONS = {"ko": "CPU와 GPU의 차이점은 무엇인가요?", "en": "What are the benefits of GPU virtualization?"}
GOLD = REPO / "evals" / "gold_dev.jsonl"
EDIT_SECTION = "### 4.5 "   # the section edited for the rebuild rows (English notes)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def med(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


# --- children (run with PYTHONPATH = the code measured) ---------------------------------------------

def _settings(args, **extra):
    from rag.config import load_settings

    return load_settings(environ={}, home=args["home"], notes=[args["notes"]], index_dir=args["index_dir"],
                         generator=args.get("generator", "extractive"), **extra)


def child_phases(args: dict) -> dict:
    """Where a new process's time goes for the current code: imports, index + Kiwi + query encoder, answer."""
    t0 = time.perf_counter()
    from rag.engine import Engine

    t_import = time.perf_counter()
    engine = Engine(_settings(args), auto_index=False)
    engine.retriever()
    t_loaded = time.perf_counter()
    answer = engine.ask(args["question"], generator="extractive")
    t_answer = time.perf_counter()
    heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "llama_index") if m in sys.modules)
    encoder = getattr(engine, "query_embedder", engine.embedder)()
    return {"import_s": round(t_import - t0, 3), "load_s": round(t_loaded - t_import, 3),
            "answer_s": round(t_answer - t_loaded, 3), "heavy_modules": heavy, "answer_chars": len(answer.text),
            "query_encoder": getattr(encoder, "label", "torch"), "load": load()}


def child_search(args: dict) -> dict:
    from rag.engine import Engine

    engine = Engine(_settings(args, **({"query_encoder": args["encoder"]} if args.get("encoder") else {})),
                    auto_index=False)
    engine.retrieve("warm-up question: GPU")
    encoder = getattr(engine, "query_embedder", engine.embedder)()
    encoder._cache_size = 0   # every question is embedded, as in benchmarks/run.py
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    times = []
    for q in questions:
        t = time.perf_counter()
        engine.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(sorted(times)[int(0.95 * len(times))], 2),
            "n": len(times), "encoder": getattr(encoder, "label", "torch"), "load": load()}


def child_rebuild(args: dict) -> dict:
    """First build and the rebuild after editing one section, in process with the models loaded."""
    from rag.engine import Engine

    notes = Path(args["notes"])
    engine = Engine(_settings(args))
    engine.embedder()
    first = engine.build_index(force=True)
    target = notes / "nvidia-ai-infra-1" / "notes.en.md"
    text = target.read_text(encoding="utf-8")
    head = text.index(EDIT_SECTION)
    line_end = text.index("\n", head)
    target.write_text(text[:line_end + 1] + f"Edited at {time.time():.0f}: one new line in one section.\n"
                      + text[line_end + 1:], encoding="utf-8")
    second = engine.build_index()
    return {"first_build_s": round(first.seconds, 3), "rebuild_s": round(second.seconds, 3),
            "chunks": second.n_chunks, "embedded": getattr(second, "embedded", None), "load": load()}


def child_web(args: dict) -> dict:
    """Launch the web app as app.py does; page served, then a question asked at once through the engine."""
    t0 = float(os.environ["BENCH_T0"])
    from rag.web import ui

    environ = {"RAG_HOME": args["home"], "RAG_NOTES": args["notes"], "RAG_INDEX_DIR": args["index_dir"]}
    later = hasattr(ui, "start_warm_up")   # as ui.main does: models load once the page is served
    engine = ui.make_engine(args["generator"], environ, **({"warm": False} if later else {}))
    demo = ui.build_ui(engine)
    ui.serve(demo, port=args["port"], block=False)
    if later:
        ui.start_warm_up(engine)
    with urllib.request.urlopen(f"http://127.0.0.1:{args['port']}/", timeout=30) as page:
        ok = page.status == 200 and b"Course notes tutor" in page.read()
    out = {"page_s": round(time.time() - t0, 3), "page_ok": ok}
    if args.get("ask"):
        first, pieces, answer = None, 0, None
        for piece in engine.ask(args["question"], stream=True):
            if isinstance(piece, str):
                pieces += 1
                first = first or time.time() - t0
            else:
                answer = piece
        out.update(first_token_s=round(first, 3) if first else None, answer_s=round(time.time() - t0, 3),
                   generator=answer.generator, refused=answer.refused, notice=answer.notice[:200],
                   streamed_pieces=pieces, answer_chars=len(answer.text), answer_head=answer.text[:160])
    out["load"] = load()
    demo.close()
    return out


CHILDREN = {"phases": child_phases, "search": child_search, "rebuild": child_rebuild, "web": child_web}


# --- the parent ------------------------------------------------------------------------------------

def env_for(code: Path, home: Path, index_dir: Path, notes: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(PYTHONPATH=str(code), RAG_HOME=str(home), RAG_INDEX_DIR=str(index_dir), RAG_NOTES=str(notes),
               TOKENIZERS_PARALLELISM="false", **extra)
    return env


def run_child(code: Path, job: str, args: dict, env: dict, timeout: float = 600) -> dict:
    start = time.time()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", job, json.dumps(args)],
                          capture_output=True, text=True, timeout=timeout, cwd=code,
                          env={**env, "BENCH_T0": repr(start)})
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT)]
    if proc.returncode or not lines:
        return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-1200:]}"}
    return {**json.loads(lines[-1][len(RESULT):]), "wall_s": round(time.time() - start, 3)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_cli(code: Path, env: dict, argv: list[str], timeout: float = 600) -> dict:
    """Wall time of a new ``rag`` process, and its CPU time (user + system: what the load average cannot
    stretch, so the figure to compare across runs on a shared machine)."""
    start, cpu = time.time(), children_cpu()
    proc = subprocess.run([sys.executable, "-m", "rag.cli", *argv], capture_output=True, text=True, cwd=code,
                          env=env, timeout=timeout)
    wall = time.time() - start
    if proc.returncode:
        return {"error": proc.stderr[-800:], "wall_s": round(wall, 3)}
    return {"wall_s": round(wall, 3), "cpu_s": round(children_cpu() - cpu, 3), "load": load(),
            "chars": len(proc.stdout)}


def importtime(code: Path, env: dict, question: str, top: int = 10) -> list[tuple[str, float]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rag.cli", "ask", question, "--generator",
                           "extractive"], capture_output=True, text=True, cwd=code, env=env, timeout=300)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            # top-level imports only: their times include their children
            if cumulative.strip().isdigit() and not name.startswith("  "):
                rows.append((name.strip(), int(cumulative) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load()}] {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/reports")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--llm", action="store_true", help="also launch-to-first-LLM-answer in the web app")
    parser.add_argument("--before-rev", default="e743900", help="the code before the start-up work")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--child", nargs=2, metavar=("JOB", "ARGS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, os.getcwd())   # the code measured (the child runs in its folder)
        result = CHILDREN[args.child[0]](json.loads(args.child[1]))
        print(RESULT + json.dumps(result), flush=True)
        return 0

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "benchmarks"))
    import run as bench   # make_home, the llama-index children

    work = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    home = bench.make_home(work)
    before = work / "before-code"
    before.mkdir()
    archive = subprocess.run(["git", "archive", args.before_rev], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    codes = {"before": before, "after": REPO}
    report = {"command": "python benchmarks/startup.py " + " ".join(a for a in (argv or sys.argv[1:])),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "before_rev": args.before_rev,
              "after_rev": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                          text=True).stdout.strip(),
              "machine": bench.machine(), "rows": {}}
    rows = report["rows"]
    envs = {}
    for name, code in codes.items():
        notes = work / f"notes-{name}"
        shutil.copytree(REPO / "corpus", notes)
        index_dir = work / f"index-{name}"
        envs[name] = env_for(code, home, index_dir, notes)
        say(f"{name}: first build (new process, rag index)")
        rows[f"{name}/index_new_process"] = timed_cli(code, envs[name], ["index"])
    # the ONNX export, once (timed on its own; the start-up rows below reuse it)
    say("after: ONNX export if missing")
    rows["after/onnx_export"] = timed_cli(REPO, envs["after"], ["search", "GPU"])

    # the plain pipeline reads the notes files of one folder (SimpleDirectoryReader over *.md, not recursive)
    li_args = {"home": str(home), "notes": str(work / "notes-after" / "nvidia-ai-infra-1"),
               "index_dir": str(work / "index-li"), "work": str(work), "scale": 1, "real_embed": True,
               "n_questions": None, "n_asks": 0}
    say("llama-index: build, persist and search p50")
    rows["llama-index/build_search"] = bench.run_child("baseline", li_args)

    for run in range(args.runs):
        for lang, question in QUESTIONS.items():
            for name, code in codes.items():
                say(f"{name}: rag ask --generator extractive ({lang}) run {run + 1}")
                rows.setdefault(f"{name}/cli_extractive_{lang}", []).append(
                    timed_cli(code, envs[name], ["ask", question, "--generator", "extractive"]))
            say(f"llama-index: new process to retrieved nodes ({lang}) run {run + 1}")
            rows.setdefault(f"llama-index/start_{lang}", []).append(bench.run_child(
                "start_baseline", {**li_args, "question": question, "generator": "extractive"}))
    say("after: phases and importtime")
    rows["after/phases"] = run_child(REPO, "phases", {"home": str(home), "notes": str(work / "notes-after"),
                                                       "index_dir": str(work / "index-after"),
                                                       "question": QUESTIONS["ko"]}, envs["after"])
    rows["after/importtime"] = importtime(REPO, envs["after"], QUESTIONS["ko"])

    for name, encoders in (("before", [None]), ("after", ["onnx-int8", "onnx-fp32", "torch"])):
        for encoder in encoders:
            say(f"{name}: search p50 ({encoder or 'torch'})")
            rows[f"{name}/search/{encoder or 'torch'}"] = run_child(
                codes[name], "search", {"home": str(home), "notes": str(work / f"notes-{name}"),
                                        "index_dir": str(work / f"index-{name}"), "encoder": encoder}, envs[name])

    for name, code in codes.items():
        say(f"{name}: web page usable" + (" and first LLM answer" if args.llm else ""))
        for run in range(max(1, args.runs - 1)):
            rows.setdefault(f"{name}/web", []).append(run_child(code, "web", {
                "home": str(home), "notes": str(work / f"notes-{name}"), "index_dir": str(work / f"index-{name}"),
                "port": args.port + run + (10 if name == "after" else 0), "generator": "llamacpp" if args.llm else None,
                "ask": args.llm, "question": QUESTIONS["ko"]}, envs[name], timeout=900))

    for name, code in codes.items():
        say(f"{name}: first build and rebuild after a one-section edit (in process)")
        rows[f"{name}/rebuild"] = run_child(code, "rebuild", {
            "home": str(home), "notes": str(work / f"notes-{name}"), "index_dir": str(work / f"index-{name}")},
            envs[name], timeout=900)
        notes_en = work / f"notes-{name}" / "nvidia-ai-infra-1" / "notes.en.md"
        notes_en.write_text(notes_en.read_text(encoding="utf-8").replace(
            EDIT_SECTION, EDIT_SECTION + "(edited) ", 1), encoding="utf-8")
        say(f"{name}: rebuild after a one-section edit (new process, rag index)")
        rows[f"{name}/rebuild_new_process"] = timed_cli(code, envs[name], ["index"])

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "startup.md").write_text(render(report), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    say(f"wrote {out / 'startup.md'}")
    return 0


# --- the report ------------------------------------------------------------------------------------

def _walls(rows, key, field="wall_s"):
    runs = rows.get(key) or []
    runs = [runs] if isinstance(runs, dict) else runs
    return [r.get(field) for r in runs if isinstance(r, dict) and "error" not in r]


def _cell(values, loads=None) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    text = f"{statistics.median(values):.2f}"
    if len(values) > 1:
        text += f" ({', '.join(f'{v:.2f}' for v in values)})"
    return text


def _loads(rows, *keys) -> str:
    values = [r.get("load") for k in keys for r in (rows.get(k) if isinstance(rows.get(k), list) else [rows.get(k)])
              if isinstance(r, dict) and r.get("load") is not None]
    return f"{min(values):.2f}-{max(values):.2f}" if values else "n/a"


def render(report: dict) -> str:
    rows = report["rows"]
    m = report["machine"]
    lines = ["# Start-up: before / after (issue 11)", "",
             f"Command: `{report['command']}`, {report['created']}. Before = `{report['before_rev']}`, after = "
             f"`{report['after_rev']}` plus the working tree. Machine: {m['cpus']} cores ({m['cpu']}), load average "
             f"at start {', '.join(f'{x:.2f}' for x in m['load_at_start'])}; other helpers' jobs share these cores, so "
             "each row gives the 1-minute load range and the figures to compare are the ratios within a row. "
             "Seconds are medians (single runs in brackets).", "",
             "| figure | before | after | llama-index | after / before | aim | load |", "|---|---|---|---|---|---|---|"]

    def row(name, before, after, base, aim, load_keys):
        b, a = (med(before), med(after))
        ratio = f"{a / b:.2f}" if a and b else "n/a"
        lines.append(f"| {name} | {_cell(before)} | {_cell(after)} | {_cell(base) if base is not None else '-'} "
                     f"| {ratio} | {aim} | {_loads(rows, *load_keys)} |")

    for lang in ("ko", "en"):
        row(f"`rag ask --generator extractive` ({lang}), new process (s)",
            _walls(rows, f"before/cli_extractive_{lang}"),
            _walls(rows, f"after/cli_extractive_{lang}"), _walls(rows, f"llama-index/start_{lang}"), "<= 3",
            [f"before/cli_extractive_{lang}", f"after/cli_extractive_{lang}"])
    for lang in ("ko", "en"):
        row(f"  the same, CPU time of the process (user + system, s) ({lang})",
            _walls(rows, f"before/cli_extractive_{lang}", "cpu_s"),
            _walls(rows, f"after/cli_extractive_{lang}", "cpu_s"),
            None, "-", [])
    row("web: launch to page served (s)", _walls(rows, "before/web", "page_s"), _walls(rows, "after/web", "page_s"),
        None, "<= 5", ["before/web", "after/web"])
    if any("first_token_s" in r for r in rows.get("after/web", []) if isinstance(r, dict)):
        row("web: launch to first LLM token, question asked at once (s)", _walls(rows, "before/web", "first_token_s"),
            _walls(rows, "after/web", "first_token_s"), None, "-", ["before/web", "after/web"])
        row("web: launch to whole first LLM answer (s)", _walls(rows, "before/web", "answer_s"),
            _walls(rows, "after/web", "answer_s"), None, "<= 10", ["before/web", "after/web"])
    li = rows.get("llama-index/build_search", {})
    li_p50 = (li.get("retrieve") or {}).get("dense", {}).get("p50")
    for encoder in ("onnx-int8", "onnx-fp32", "torch"):
        after = rows.get(f"after/search/{encoder}", {})
        before = rows.get("before/search/torch", {})
        row(f"fused search p50, warm, query encoder {encoder} (ms)", [before.get("p50_ms")], [after.get("p50_ms")],
            [li_p50], f"<= 0.5x llama-index ({li_p50 * 0.5:.1f})" if li_p50 else "-",
            ["before/search/torch", f"after/search/{encoder}"])
    rb, ra = rows.get("before/rebuild", {}), rows.get("after/rebuild", {})
    li_build = (li.get("build") or {}).get("build_s")
    row("first index build, in process, models loaded (s)", [rb.get("first_build_s")], [ra.get("first_build_s")],
        [li_build], "<= llama-index", ["before/rebuild", "after/rebuild"])
    row(f"rebuild after a one-section edit, in process (s; after embedded {ra.get('embedded')} of {ra.get('chunks')} "
        "chunks)", [rb.get("rebuild_s")], [ra.get("rebuild_s")], None, "<= 2", ["before/rebuild", "after/rebuild"])
    row("rebuild after a one-section edit, new `rag index` process (s)", _walls(rows, "before/rebuild_new_process"),
        _walls(rows, "after/rebuild_new_process"), None, "-", [])
    row("first index build, new `rag index` process (s)", _walls(rows, "before/index_new_process"),
        _walls(rows, "after/index_new_process"), None, "-", [])
    ph = rows.get("after/phases", {})
    lines += ["", "## Where the after process spends its time (Korean question, in process)", "",
              f"imports {ph.get('import_s')} s; index + Kiwi + query encoder ({ph.get('query_encoder')}) loaded "
              f"together {ph.get('load_s')} s; the answer {ph.get('answer_s')} s; heavy modules imported: "
              f"{ph.get('heavy_modules')} (load {ph.get('load')}).", "",
              "`python -X importtime -m rag.cli ask ... --generator extractive`, largest top-level imports:", "",
              "| module | cumulative s |", "|---|---|"]
    lines += [f"| {name} | {secs:.3f} |" for name, secs in rows.get("after/importtime", [])]
    export = rows.get("after/onnx_export", {})
    lines += ["", f"One-time ONNX export (first `rag search` after the index, includes that search): "
                  f"{export.get('wall_s')} s.", ""]
    errors = [(k, r) for k, v in rows.items() for r in (v if isinstance(v, list) else [v])
              if isinstance(r, dict) and "error" in r]
    if errors:
        lines += ["## Errors", ""] + [f"- {k}: `{r['error'][-300:]}`" for k, r in errors]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
