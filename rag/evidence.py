"""Question + retrieved sections -> the evidence lines that answer it, each with a short id.

Both answerers start here. The extractive answer is these lines, cited; an LLM sees only these lines
(never whole sections), so it has less to drift from, a shorter prompt to read on a CPU, and every
sentence it writes can be checked against the few lines it cites (``rag.claims``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .ingest.chunking import section_units
from .text.tokenize import tokenize
from .types import Section

MAX_LINES = 6
# The four constants below were refitted on the 512 gold_dev items with the line leg on, extractive answers
# (`python -m evals.tune_evidence`, report in evals/reports/evidence/), choosing the largest citation precision +
# key-fact recall: the previous fit (1.0, 0.2, 0.8, no line cosine) gave 0.831 + 0.778 on the same items;
# (0.9, 0.2, 1.6, 2.0) gives 0.874 + 0.821, nearly all of it from the line cosine (+0.04 key facts). Grid: OTHER
# 0.9-1.0, TOP 0.2, PENALTY 1.2-3.0, LINE 0-4 (a first pass over OTHER 0.9-1.1, TOP 0.2-0.3, PENALTY 0.8-1.6 put
# the best at its largest penalty); refusal recall moved by two items (0.835 -> 0.823).
# A line of another section than the best one is kept only when it scores this share of the best line:
# an answer cites the sections that answer it, not every neighbour sharing a word.
OTHER_SECTION_SHARE = 0.9
# Lines of the best section are kept down to this share of the best line (up to MAX_LINES): the best section
# is usually the answer, and its weaker lines often hold the rest of a list.
TOP_SECTION_SHARE = 0.2
# A section whose title matches the question answers it with all its lines ("benefits of GPU
# virtualization" -> every item of 5.3), even lines that repeat none of the question's words.
TITLE_WEIGHT = 0.8
RANK_PENALTY = 1.6              # a line's score minus this per rank of its section (fitted as above)
# A line's cosine with the question (the line leg's, scaled 0-1 over the candidate lines) adds this much: a
# paraphrase ("graphics chip" for GPU) shares no word with the line that answers it.
LINE_COSINE_WEIGHT = 2.0


@dataclass(frozen=True)
class EvidenceLine:
    """One line or table row of the notes, as shown to the LLM and quoted in citations."""

    id: int             # 1-based, the marker an LLM cites: [1]
    section: Section
    text: str
    score: float
    order: int          # position of the line inside its section

    @property
    def number(self) -> str:
        return self.section.section


def unit_score(unit_tokens: set[str], wanted: set[str], weights: dict[str, float]) -> float:
    """Rare shared words count more; long units (whole table rows) must earn their length."""
    overlap = sum(weights.get(t, 1.0) for t in wanted & unit_tokens)
    return overlap / (1.0 + 0.04 * len(unit_tokens))


def select_evidence(sections: list[Section], query_tokens, token_weights: dict[str, float],
                    max_lines: int = MAX_LINES, line_cosines=None) -> list[EvidenceLine]:
    """The lines of the top three sections that best match the question, in reading order, numbered.

    ``line_cosines``: (doc, language, section, line) -> the question's cosine with the line (the line leg's).
    """
    wanted = set(query_tokens)
    candidates = [(rank, section, order, text) for rank, section in enumerate(sections[:3])
                  for order, text in enumerate(section_units(section))]
    closeness = _scaled_cosines(candidates, line_cosines if line_cosines is not None else {})
    scored: list[tuple[Section, str, float, int]] = []
    titles: dict[int, float] = {}
    for (rank, section, order, text), close in zip(candidates, closeness):
        if rank not in titles:
            titles[rank] = TITLE_WEIGHT * unit_score(set(tokenize(section.title)), wanted, token_weights)
        score = unit_score(set(tokenize(text)), wanted, token_weights) + titles[rank] + LINE_COSINE_WEIGHT * close
        scored.append((section, text, score - RANK_PENALTY * rank if score > 0 else 0.0, order))
    if not scored:
        return []
    best = max(s[2] for s in scored)
    if best <= 0:   # nothing overlaps (e.g. a paraphrase): the top section's first lines
        chosen = [s for s in scored if s[0] is sections[0]][:3]
    else:
        top = sections[0]
        chosen = sorted((s for s in scored
                         if s[2] >= best * (TOP_SECTION_SHARE if s[0] is top else OTHER_SECTION_SHARE)),
                        key=lambda s: -s[2])[:max_lines]
    section_order = {id(s): i for i, s in enumerate(sections)}
    chosen.sort(key=lambda s: (section_order[id(s[0])], s[3]))
    return [EvidenceLine(n, section, text, score, order)
            for n, (section, text, score, order) in enumerate(chosen, start=1)]


# A "where do the notes mention X" question gets one line from every section that mentions X, kept when it scores
# this share of the best such line, at most MAX_MENTION_SECTIONS of them. Fitted on the 712 gold_dev items
# (`python -m evals.tune_evidence --mentions`, evals/reports/evidence_mentions/; share 0.5-0.9, 3-6 sections; a
# flat optimum, 1.666-1.670 everywhere): citation precision + key facts 1.663 without mention evidence, 1.670 with
# (0.8, 4): key facts 0.805 -> 0.814, citation precision 0.858 -> 0.856 (a section that says the word but is not in
# the gold list costs precision).
MENTION_SHARE = 0.8
MAX_MENTION_SECTIONS = 4


def select_mentions(sections: list[Section], query_tokens, token_weights: dict[str, float],
                    line_cosines=None, frame=frozenset(), twins: dict | None = None,
                    quoted=(), term_groups=None) -> list[EvidenceLine]:
    """The best line of each section that mentions what the question names, in the notes' order.

    "컨테이너 얘기 나오는 곳 다 모아줘" is answered by every section that says it (5.1, 5.5, 6.4), not the one that
    retrieval ranks first. ``sections``: every section to look in (the whole notes, or a chapter the question
    names); ``frame``: tokens that frame the question ("mention", "나오는") and name nothing; ``twins``: section
    number -> the same section in the other language, read line by line beside it when both have as many lines
    (the English companion is a line-by-line translation, and a line may name the term in one language only);
    ``quoted``: terms the student quoted ("'지능형'"), which a mentioning line must contain as written;
    ``term_groups``: each question term with its translations (a set each), scored once per line."""
    wanted = {t for t in query_tokens if t not in frame}
    # a term and its translations count once: "NGC Containers : ... 컨테이너" says container no more than
    # "컨테이너 기반" does
    terms = [group - frame for group in (term_groups or [{t} for t in wanted]) if group - frame]
    if not terms:
        return []
    candidates, readings = [], []
    for section in sections:
        units = section_units(section)
        twin = (twins or {}).get(section.section)
        twin_units = section_units(twin) if twin is not None else []
        for order, text in enumerate(units):
            candidates.append((0, section, order, text))
            readings.append([(section, text)] + ([(twin, twin_units[order])] if len(twin_units) == len(units) else []))
    if not candidates:
        return []
    cosines = line_cosines if line_cosines is not None else {}
    flat = [(0, sec, 0, text) for pairs in readings for sec, text in pairs]
    closeness = iter(_scaled_cosines(flat, cosines))
    best_by_section: dict[int, tuple[float, Section, int, str]] = {}
    for (_, section, order, text), pairs in zip(candidates, readings):
        score = float("-inf")
        for _, reading in pairs:
            close = next(closeness)
            if quoted and not any(q.lower() in reading.lower() for q in quoted):
                continue
            overlap = _term_score(set(tokenize(reading)), terms, token_weights)
            if overlap > 0:     # a mention shares a word with the question; closeness alone is no mention
                score = max(score, overlap + LINE_COSINE_WEIGHT * close)
        if score > best_by_section.get(id(section), (float("-inf"),))[0]:
            best_by_section[id(section)] = (score, section, order, text)
    if not best_by_section:
        return []
    top = max(entry[0] for entry in best_by_section.values())
    kept = sorted((e for e in best_by_section.values() if e[0] >= MENTION_SHARE * top), key=lambda e: -e[0])
    kept = kept[:MAX_MENTION_SECTIONS]
    position = {id(section): i for i, section in enumerate(sections)}
    kept.sort(key=lambda e: (position[id(e[1])], e[2]))
    return [EvidenceLine(n, section, text, score, order) for n, (score, section, order, text) in enumerate(kept, start=1)]


def _term_score(unit_tokens: set[str], terms: list[set[str]], weights: dict[str, float]) -> float:
    """``unit_score`` with each term counted once, by its rarest form the unit holds."""
    overlap = sum(max(weights.get(t, 1.0) for t in group & unit_tokens) for group in terms if group & unit_tokens)
    return overlap / (1.0 + 0.04 * len(unit_tokens))


def _scaled_cosines(candidates, line_cosines) -> list[float]:
    """Each candidate line's cosine with the question mapped to 0-1 over the candidates (0 when unknown)."""
    cosines = [line_cosines.get((section.doc, section.language, section.section, text))
               for _, section, _, text in candidates]
    known = [c for c in cosines if c is not None]
    if len(known) < 2 or max(known) == min(known):
        return [0.0] * len(candidates)
    low, spread = min(known), max(known) - min(known)
    return [(c - low) / spread if c is not None else 0.0 for c in cosines]


def numbered_block(lines: list[EvidenceLine]) -> str:
    """The evidence as the LLM reads it: "[1] (4.5 CPU vs. GPU) line"."""
    return "\n".join(f"[{line.id}] ({line.number} {line.section.title}) {line.text}" for line in lines)


def table_of_contents(sections: list[Section]) -> list[EvidenceLine]:
    """A chapter overview: one line per section, its number and title ("what does chapter 3 cover?")."""
    return [EvidenceLine(n, section, f"{section.section} {section.title}", 1.0, 0)
            for n, section in enumerate(sections, start=1)]


def add_slot_lines(lines: list[EvidenceLine], sections: list[Section], unfilled) -> list[EvidenceLine]:
    """Evidence that also holds the asked-for slot when a retrieved section has it.

    ``unfilled(text) -> bool`` says whether lines still lack what the question asks for (a URL, a number).
    "카탈로그 사이트 주소 알려줘" retrieves 5.5, whose best-matching lines describe the catalog while its URL
    line shares no word with the question: without this the tutor would say the notes have no link.
    """
    text = "\n".join(line.text for line in lines)
    if not unfilled(text):
        return lines
    for section in sections[:3]:
        for order, unit in enumerate(section_units(section)):
            if not unfilled(unit):
                added = EvidenceLine(len(lines) + 1, section, unit, 0.0, order)
                return lines + [added]
    return lines
