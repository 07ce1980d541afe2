"""``rag report``: what students asked and how they did, for the teacher, from the study store.

Two sources: the question log (kept when ``RAG_RECORD_QUESTIONS`` is on; the web chat turns it on with a notice)
and the quiz attempts. ``rag report --json [--course C] [--since YYYY-MM-DD]`` prints exactly::

    {"questions": N,
     "refused": [{"question": "...", "closest_sections": ["4.5", ...]}],
     "sections": {"4.5": {"asked": n, "refused": n, "partial": n}},
     "mastery": {"4": {"students": n, "mean": x}}}

A question counts for the sections its answer cited; a refused one cites none and counts for its closest sections
instead (so "refused" says where the notes came near but fell short). Without ``--json`` a readable text report;
``--csv PATH`` also writes the per-section table. Registered by ``rag/cli.py``; errors are RagErrors.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from datetime import datetime, timedelta

# a quiz verdict's share of "correct" in mastery: a partly correct answer counts half
CREDIT = {"correct": 1.0, "partial": 0.5, "incorrect": 0.0}


def build(progress, course: str | None = None, since: float | None = None) -> dict:
    """The report's figures from a ``Progress`` store; ``course``/``since`` (epoch seconds) narrow them."""
    questions = progress.questions(course, since)
    sections: dict[str, dict[str, int]] = {}
    for asked in questions:
        for section in dict.fromkeys(asked.cited_sections or asked.closest_sections):
            row = sections.setdefault(section, {"asked": 0, "refused": 0, "partial": 0})
            row["asked"] += 1
            if asked.outcome in ("refused", "partial"):
                row[asked.outcome] += 1
    shares = student_shares(progress.all_attempts(course, since))
    mastery = {chapter: {"students": len(v), "mean": round(sum(v) / len(v), 4)} for chapter, v in shares.items()}
    return {
        "questions": len(questions),
        "refused": [{"question": q.question, "closest_sections": q.closest_sections}
                    for q in questions if q.outcome == "refused"],
        "sections": {s: sections[s] for s in sorted(sections, key=_number_key)},
        "mastery": mastery,
    }


def student_shares(attempts) -> dict[str, list[float]]:
    """Chapter -> each student's mean credit over their attempts at its items (correct 1, partial 0.5, incorrect 0;
    every attempt counts, repeats included), chapters in number order. A chapter's mastery is their mean."""
    credit: dict[str, dict[str, list[float]]] = {}
    for attempt in attempts:
        credit.setdefault(attempt.chapter, {}).setdefault(attempt.student, []).append(CREDIT[attempt.verdict])
    return {chapter: [sum(v) / len(v) for v in credit[chapter].values()] for chapter in sorted(credit, key=_number_key)}


def mastery_spread(attempts) -> dict[str, dict]:
    """Chapter -> how the class did: students, mean, min, max and standard deviation (population) of their shares."""
    out = {}
    for chapter, shares in student_shares(attempts).items():
        mean = sum(shares) / len(shares)
        std = (sum((x - mean) ** 2 for x in shares) / len(shares)) ** 0.5
        out[chapter] = {"students": len(shares), "mean": round(mean, 4), "min": round(min(shares), 4),
                        "max": round(max(shares), 4), "std": round(std, 4)}
    return out


def gap_groups(questions, examples: int = 3) -> list[dict]:
    """Where the notes fell short: refused and partly covered questions grouped by the section closest to them (a
    partial answer without closest sections by the first one it cited; "" when neither), most questions first.
    Each group: section, refused, partial, and up to ``examples`` different questions, newest first."""
    groups: dict[str, dict] = {}
    for asked in reversed(questions):   # newest first, for the examples
        if asked.outcome not in ("refused", "partial"):
            continue
        section = next(iter(asked.closest_sections or asked.cited_sections), "")
        group = groups.setdefault(section, {"section": section, "refused": 0, "partial": 0, "examples": []})
        group[asked.outcome] += 1
        seen = {e.casefold() for e in group["examples"]}
        if len(group["examples"]) < examples and asked.question.strip().casefold() not in seen:
            group["examples"].append(asked.question.strip())
    return sorted(groups.values(), key=lambda g: (-(g["refused"] + g["partial"]), not g["section"],
                                                   _number_key(g["section"] or "0")))


def week_of(when: float) -> str:
    """The local date of the Monday that starts ``when``'s week ("2026-03-02")."""
    day = datetime.fromtimestamp(when).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def weekly_counts(questions, weeks: int | None = None) -> dict:
    """Questions per section per week, for a heat map: {"weeks": [Monday dates, every week from the first question's
    to the last's (the last ``weeks`` of them when given)], "sections": {section: [count per week]}}. A question
    counts for its sections as in ``build`` (cited, else closest)."""
    if not questions:
        return {"weeks": [], "sections": {}}
    first = datetime.fromisoformat(week_of(min(q.asked_at for q in questions))).date()
    last = datetime.fromisoformat(week_of(max(q.asked_at for q in questions))).date()
    columns = [(first + timedelta(days=7 * i)).isoformat() for i in range((last - first).days // 7 + 1)]
    if weeks:
        columns = columns[-weeks:]
    where = {week: i for i, week in enumerate(columns)}
    rows: dict[str, list[int]] = {}
    for asked in questions:
        column = where.get(week_of(asked.asked_at))
        if column is None:
            continue
        for section in dict.fromkeys(asked.cited_sections or asked.closest_sections):
            rows.setdefault(section, [0] * len(columns))[column] += 1
    return {"weeks": columns, "sections": {s: rows[s] for s in sorted(rows, key=_number_key)}}


def missed_items(attempts, n: int = 10) -> list[dict]:
    """The quiz items answered wrong most often: item, attempts, incorrect, partial, students (who tried it);
    only items missed at least once, most misses first (then the higher share missed)."""
    items: dict[str, dict] = {}
    for attempt in attempts:
        row = items.setdefault(attempt.item_id, {"item": attempt.item_id, "chapter": attempt.chapter,
                                                 "section": attempt.section, "attempts": 0, "incorrect": 0,
                                                 "partial": 0, "students": set()})
        row["attempts"] += 1
        row["students"].add(attempt.student)
        if attempt.verdict in ("incorrect", "partial"):
            row[attempt.verdict] += 1
    missed = [{**row, "students": len(row["students"])} for row in items.values() if row["incorrect"]]
    return sorted(missed, key=lambda r: (-r["incorrect"], -r["incorrect"] / r["attempts"], r["item"]))[:n]


def _number_key(label: str) -> tuple:
    """"4.10" after "4.9": numeric parts as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\s]+", label))


def as_text(report: dict, course: str | None = None, since: str | None = None) -> str:
    scope = ", ".join(x for x in (f"course {course}" if course else "every course",
                                  f"since {since}" if since else "") if x)
    lines = [f"Study report ({scope})", "", f"Questions asked: {report['questions']}"]
    if report["refused"]:
        lines.append(f"Not covered by the notes ({len(report['refused'])}):")
        lines += [f"  - {r['question']}   (closest: {', '.join(r['closest_sections']) or 'none'})"
                  for r in report["refused"]]
    if report["sections"]:
        lines += ["", f"{'Section':<10}{'asked':>7}{'refused':>9}{'partial':>9}"]
        lines += [f"{s:<10}{row['asked']:>7}{row['refused']:>9}{row['partial']:>9}"
                  for s, row in report["sections"].items()]
    lines += ["", "Quiz mastery by chapter (share correct, partial counting half; mean over students):"]
    lines += [f"  chapter {c}: {m['mean']:.0%} over {m['students']} student{'s' * (m['students'] != 1)}"
              for c, m in report["mastery"].items()] or ["  no quiz attempts"]
    return "\n".join(lines)


def write_csv(report: dict, path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["section", "asked", "refused", "partial"])
        for section, row in report["sections"].items():
            writer.writerow([section, row["asked"], row["refused"], row["partial"]])


def _date(text: str) -> str:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02") from None
    return text


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="what students asked and how they did (question log, quiz mastery)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--course", help="only this course (its id, as rag courses lists it); default: every course")
    p.add_argument("--since", type=_date, help="only from this day on (YYYY-MM-DD, local time)")
    p.add_argument("--csv", metavar="PATH", help="also write the per-section table to this CSV file")
    p.add_argument("--db", help="the study store (default: env RAG_STUDY_DB, else <home>/study.sqlite3)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import load_settings
    from ..errors import ConfigError
    from .progress import open_progress

    settings = load_settings(study_db=args.db)
    course = args.course
    if course:
        from .. import catalog

        try:   # a folder or a known id -> its id; an id only the store knows (another machine's course) as given
            course = catalog.find(course, settings).id
        except ConfigError:
            pass
    since = datetime.strptime(args.since, "%Y-%m-%d").timestamp() if args.since else None
    report = build(open_progress(settings), course, since)
    if args.csv:
        write_csv(report, args.csv)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else as_text(report, course, args.since))
    return 0
