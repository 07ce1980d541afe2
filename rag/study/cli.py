"""``rag quiz``: an interactive quiz in the terminal, ``--json`` to export one, ``--grade`` to grade one answer.

Registered by ``rag/cli.py``; errors are RagErrors, which it turns into a message and an exit code.
"""
from __future__ import annotations

import json

LETTERS = "ABCD"


def add_parser(sub) -> None:
    p = sub.add_parser("quiz", help="practice questions from the notes, graded, with progress kept")
    p.add_argument("--chapter", action="append", help="chapter number; repeat for several (default: all)")
    p.add_argument("--lang", choices=["ko", "en"], default="ko", help="language of the questions (default ko)")
    p.add_argument("-n", type=int, default=10, help="number of questions (default 10)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same quiz (--json default 0)")
    p.add_argument("--json", action="store_true", help="print the quiz (or, with --grade, the grade) as JSON")
    p.add_argument("--grade", nargs=2, metavar=("ITEM_ID", "ANSWER"), help="grade one answer to an item")
    p.add_argument("--student", default="cli", help="whose progress to use and record (default 'cli')")
    p.add_argument("--no-record", action="store_true", help="do not record answers in the progress database")
    p.add_argument("--course", help="course id (rag courses lists them) or course folder; env RAG_COURSE")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import load_settings
    from . import quiz

    settings = load_settings(course=args.course)
    if args.grade:
        item_id, answer = args.grade
        item = quiz.find(item_id, settings)
        grade = quiz.grade(item, answer, settings)
        if not args.no_record:
            from .progress import course_id, open_progress

            open_progress(settings).record(args.student, item, grade.verdict, course=course_id(settings))
        print(json.dumps(grade.to_dict(), ensure_ascii=False, indent=2) if args.json else
              f"{grade.verdict}: {grade.feedback}")
        return 0
    if args.json:
        items = quiz.generate(args.chapter, args.lang, n=args.n, seed=args.seed or 0, settings=settings)
        print(json.dumps({"items": [it.to_dict() for it in items]}, ensure_ascii=False, indent=2))
        return 0
    return interactive(args, settings)


def show_item(item, index: int, total: int) -> str:
    from .generate import text

    lines = [f"\n[{text('ui_question_of', item.language, i=index, n=total)}] ({item.section} {item.title})",
             item.question]
    lines += [f"  {LETTERS[i]}) {choice}" for i, choice in enumerate(item.choices)]
    return "\n".join(lines)


def interactive(args, settings, read=input, write=print) -> int:
    from . import quiz
    from .grade import AnswerError
    from .progress import course_id, open_progress

    progress = open_progress(settings)
    items = quiz.next_items(progress, args.student, args.chapter, args.lang, n=args.n, seed=args.seed,
                            settings=settings)
    tally = {"correct": 0, "partial": 0, "incorrect": 0}
    for index, item in enumerate(items, start=1):
        write(show_item(item, index, len(items)))
        while True:
            try:
                answer = read("> ")
            except EOFError:
                write("")
                return _summary(progress, args, settings, tally, write)
            try:
                grade = quiz.grade(item, answer, settings)
            except AnswerError as exc:   # empty, too long, control characters: ask again
                write(str(exc))
                continue
            break
        tally[grade.verdict] += 1
        if not args.no_record:
            progress.record(args.student, item, grade.verdict, course=course_id(settings))
        write(f"{grade.verdict.upper()}: {grade.feedback}")
    return _summary(progress, args, settings, tally, write)


def _summary(progress, args, settings, tally, write) -> int:
    from . import quiz
    from .generate import text

    n = sum(tally.values())
    write(text("ui_done", args.lang, correct=tally["correct"], partial=tally["partial"], n=n))
    write(text("ui_mastery", args.lang) + ": " + ", ".join(
        f"{text('ui_chapter', args.lang, chapter=c)} {m:.0%}"
        for c, m in progress.mastery(args.student, quiz.bank(settings), args.lang).items()))
    return 0
