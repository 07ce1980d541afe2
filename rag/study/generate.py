"""Quiz items from the notes' own structure; no LLM, deterministic.

What the notes give, and what becomes of it:
- definition lines "X : Y"        -> "what is X?" (key Y), "what is described as Y?" (key X), multiple choice
- arrowed sequences "a > b > c"    -> ordering
- two-column comparison tables     -> "which of the two ...?" (4.5 CPU vs GPU, 5.7, 6.4)
- plain lists (benefits, components) -> multiple choice, distractors from sibling lists
- Korean terms with English in parentheses -> term <-> translation

Every key is cut verbatim from its evidence line. The English companion follows the Korean notes line by
line, so each item also carries its key in the other language (``answer_alt``): an answer in either
language is graded on content. Item ids hash the content they came from, never the seed, so an id found
in one quiz (``rag quiz --json``) can be graded later (``rag quiz --grade ID``).
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field, replace

from ..prompts import message
from ..text.markdown import plain
from ..types import Section
from .types import QuizItem

_BULLET = re.compile(r"^(?:[-*]\s+|\d+\)\s*|:\s+)")
_DEFINITION = re.compile(r"^(?P<term>[^:]{2,60}?)\s+:\s+(?P<body>\S.*)$")
_DASH_DEFINITION = re.compile(r"^(?P<term>[^:—–]{2,60}?)\s+[—–]\s+(?P<body>\S.*)$")
_TABLE_RULE = re.compile(r":?-{2,}:?")
_CELL_ITEM = re.compile(r"(?:^|\s)-\s+")
_SEQUENCE = re.compile(r"\s>\s")
# a term in bold opening its line (after a list number, or an English article): "1. **Term**", "The **term**"
_BOLD_TERM = re.compile(r"^(?:\d{1,2}[.)]\s+)?(?:(?:The|A|An)\s+)?\*\*(?P<term>[^*]{1,60}?)\*\*(?P<rest>.*)$")
# what joins a bold term to its definition: a colon, a dash, "=", "is/are/means/refers to", Korean "란/이란/는/은"
_BOLD_SEPARATOR = re.compile(r"^(?::|[—–]|-(?=\s)|=|(?:is|are|means|refers to)\b|(?:이란|란|은|는)(?=\s))\s*")
MIN_LIST = 3          # a list shorter than this gives no good distractors
MC_CHOICES = 4
MAX_SHORT_KEY = 140   # characters: a short-answer key a student can write and a grader can check (set by hand)
NEAR_DISTRACTORS = 6  # multiple-choice distractors are drawn from this many nearest definitions
_YEAR_OR_NUMBER = re.compile(r"\d")
_PARENTHESISED = re.compile(r"\([^)]*\)")
# a table cell that only says yes or no ("없음", "있음 (미토콘드리아, ...)", "none"): asked "whose is it?" it reads as a
# riddle, not a question
# a date written beside a term: "(1855)", "(16세기 후반)", "(c. 1450)", "1884년 ...", "(Airy, 1855)"
_DATE = r"(?:(?:c\.|ca\.|약)\s*)?\d{1,4}(?:\s*[-~–]\s*\d{1,4})?\s*(?:년경|년대|년|세기(?:\s*(?:초|중반|후반|말|경))?|s)?"
_DATE_GLOSS = re.compile(r"\s*\(" + _DATE + r"\)")
_DATE_IN_GLOSS = re.compile(r",\s*" + _DATE + r"\)")
_DATED_START = re.compile(r"^\d{3,4}년(?:경)?\s+(?=\S)")
_BARE_VALUE = re.compile(r"^(?:없음|있음|없다|있다|해당 없음|none|yes|no|n/a|-|o|x)(?:\s*\(.*\))?$", re.IGNORECASE)
# The wording "what is X?" items were first written with: their ids hash it, so quiz progress and labels kept under
# those ids stay valid now that the question reads better.
_LEGACY_DEFINE = {"ko": "노트에 따르면 '{term}'은(는) 무엇인가요?", "en": "According to the notes, what is {term}?"}


def _lists_examples(body: str) -> bool:
    """The line lists things rather than defining one: three or more comma-separated parts, the first a short
    phrase with no sentence end in it ("drug development, medical device innovation, ...")."""
    parts = [p.strip() for p in re.split(r"[,、]", _PARENTHESISED.sub("", body))]
    return len(parts) >= 3 and len(parts[0].split()) <= 5 and not re.search(r"[.!?。]", parts[0])


def _section_index(number: str) -> int:
    parts = [int(p) for p in re.findall(r"\d+", number)[:2]] + [0, 0]
    return parts[0] * 100 + parts[1]


def _define_question(term: str, body: str, language: str, title: str) -> str:
    """"What is meant by X?" for a term; "What do the notes say about X?" for a dated event ("1838년 슐라이덴") or a
    term whose line lists examples rather than defining it ("AI in healthcare : drug development, ..., ..."). Both name
    the section: "what is meant by 'independent'?" alone has no one answer (readers of the ninth sample)."""
    dated = bool(_YEAR_OR_NUMBER.search(term))   # "1838년 슐라이덴": a dated event, whatever the key shows of it
    term = shown_term(term)
    if language == "en":
        words = term.split()
        if words and words[0][1:].islower() and all(w.islower() for w in words[1:]):
            term = term[0].lower() + term[1:]     # "Scarcity" -> "scarcity"; "NVIDIA AI" stays
    if dated or _lists_examples(body):
        return text("q_about", language, term=term, title=title)
    return text("q_define", language, term=term, title=title)


def text(key: str, language: str, **values) -> str:
    """A student-facing message in ``language`` (rag/prompts/study_messages.json)."""
    return message(key, language, messages="study_messages.json", **values)


# -- the notes' structure -------------------------------------------------------------------------

@dataclass
class Line:
    text: str                      # the line without its bullet and without emphasis marks
    raw: str
    indent: int
    summary: bool = False          # ": ..." opening line of a section
    marked: str = ""               # the line without its bullet, emphasis marks kept: "**Term**" names a term


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Parsed:
    section: Section
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def parse(section: Section) -> Parsed:
    out = Parsed(section)
    table: Table | None = None
    for raw in section.text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith(">"):
            table = None
            continue
        if stripped.startswith("|"):
            cells = [plain(c.strip()) for c in stripped.strip("|").split("|")]
            if all(_TABLE_RULE.fullmatch(c) for c in cells if c):
                continue
            if table is None:
                table = Table(cells, [])
                out.tables.append(table)
            else:
                table.rows.append(cells + [""] * (len(table.header) - len(cells)))
            continue
        table = None
        body = _BULLET.sub("", stripped)
        out.lines.append(Line(plain(body), stripped, len(raw) - len(raw.lstrip()), stripped.startswith(":"), body))
    return out



def cell_items(cell: str) -> list[str]:
    """"- a - b" -> ["a", "b"]; a plain cell is one item."""
    parts = [p.strip() for p in _CELL_ITEM.split(cell)]
    return [p for p in parts if p]


def _definition(line: Line):
    if line.summary:
        return None
    match = _DEFINITION.match(line.text)
    dash = None if match else _DASH_DEFINITION.match(line.text)
    if dash and len(dash.group("term").split()) <= 6:
        match = dash          # "Sagittal plane — vertical; divides the body ...": a glossary line with a dash
    if not match:
        return _bold_definition(line.marked)
    if not match or match.group("term").strip().endswith(("http", "https")):
        return None
    term, body = match.group("term").strip(), match.group("body").strip()
    if re.search(r"\s:\s", body) and re.search(r"\d", body):
        return None   # "계수비 CH₄ : H₂O = 1 : 2": a ratio, not a term and its definition (readers of the eighth sample)
    # "2. 중상학파": a numbered list's number is no part of the term; "??": a symbol, nothing to define in words
    term = re.sub(r"^\d{1,2}[.)]\s+", "", term)
    if body.startswith(("http://", "https://")) or len(body) < 4 or not re.search(r"\w", term):
        return None
    return term, body


def _bold_definition(marked: str):
    """(term, body) of a line that names its term in bold, as Markdown notes often do: "**Term**: body",
    "**Term** (gloss) — body", "The **term** is body", "**용어**란 body"; None otherwise (a bold phrase inside a
    sentence, a bold line standing as a heading, a paragraph's run-in heading "**Reliability.** ...")."""
    match = _BOLD_TERM.match(marked)
    if not match:
        return None
    term, rest = plain(match.group("term")).strip(), match.group("rest").strip()
    gloss = re.match(r"\(([^()]{1,60})\)\s*", rest)
    if gloss:   # "**ARP** (Address Resolution Protocol): ..." -> the term keeps its gloss, as "X (Y) : ..." lines do
        term, rest = f"{term} ({gloss.group(1)})", rest[gloss.end():]
    if term.endswith("."):
        return None   # "**Reliability.** Sequence numbers count bytes.": a paragraph's run-in heading, not a term
    if term.endswith(":"):                   # "**Term:** body"
        term, body = term[:-1].strip(), rest
    else:
        separator = _BOLD_SEPARATOR.match(rest)
        if not separator:
            return None
        body = rest[separator.end():]
    body = plain(body).strip()
    if len(body) < 4 or not re.search(r"\w", term) or body.startswith(("http://", "https://")):
        return None
    return term, body


def _list_items(parsed: Parsed) -> list[tuple[int, Line]]:
    """Plain list lines (no "term : body"), when the section is a list of at least MIN_LIST of them."""
    # a line with indented lines under it heads a sub-list ("명반응의 진행" above its steps): no item of the list
    heads = {i for i, l in enumerate(parsed.lines[:-1]) if parsed.lines[i + 1].indent > l.indent}
    items = [(i, l) for i, l in enumerate(parsed.lines)
             if not l.summary and l.indent == 0 and _definition(l) is None and ":" not in l.text and i not in heads]
    return items if len(items) >= MIN_LIST else []


# -- items ----------------------------------------------------------------------------------------

def _item_id(section: Section, kind: str, *parts: str) -> str:
    digest = hashlib.sha1("\0".join((section.doc, section.language, section.section, kind) + parts)
                          .encode("utf-8")).hexdigest()[:8]
    return f"{section.language}-{section.section}-{kind}-{digest}"


def _shuffled(values: list[str], key: str) -> list[str]:
    """Choices in an order fixed by the item (not the quiz seed), so "B" means the same thing later."""
    out = list(values)
    random.Random(key).shuffle(out)
    return out


class _Builder:
    def __init__(self, sections: list[Section]):
        self.by_key = {(s.doc, s.language, s.section): s for s in sections}
        self.parsed = {key: parse(s) for key, s in self.by_key.items()}
        self.items: list[QuizItem] = []
        self.seen: set[str] = set()
        self.alt_text = self._alt_texts()
        self.terms_asked: set[str] = set()   # Korean terms with an item already

    def _alt_texts(self) -> dict[str, str]:
        """Line text (and definition body, and table cell item) -> the companion's parallel one."""
        out: dict[str, str] = {}
        for key, parsed in self.parsed.items():
            other = self.companion(parsed.section)
            if other is None:
                continue
            for mine, theirs in zip(parsed.lines, other.lines):
                out.setdefault(mine.text, theirs.text)
                a, b = _definition(mine), _definition(theirs)
                if a and b:
                    out.setdefault(a[1], b[1])
                    out.setdefault(a[0], b[0])
            for t_mine, t_theirs in zip(parsed.tables, other.tables):
                for h_mine, h_theirs in zip(t_mine.header, t_theirs.header):
                    out.setdefault(h_mine, h_theirs)
                for r_mine, r_theirs in zip(t_mine.rows, t_theirs.rows):
                    for c_mine, c_theirs in zip(r_mine, r_theirs):
                        i_mine, i_theirs = cell_items(c_mine), cell_items(c_theirs)
                        if len(i_mine) == len(i_theirs):
                            for x, y in zip(i_mine, i_theirs):
                                out.setdefault(x, y)
        return out

    def companion(self, section: Section) -> Parsed | None:
        other = "en" if section.language == "ko" else "ko"
        return self.parsed.get((section.doc, other, section.section))

    def add(self, section: Section, kind: str, question: str, answer: str, evidence: str,
            choices=(), answer_alt: str = "", evidence_alt: str = "", id_parts=(), frame=None) -> None:
        """One item; ``frame`` (template key, values) of a choice item also asks it in the other language when the
        notes have no companion in it: a student of either language can practise any course, choosing among the
        notes' own words (graded by the choice, so no translation is needed)."""
        if answer not in evidence:   # the rule every item keeps: its key is written in its evidence
            return
        if kind in ("short", "term") and not _gives_something(question, answer):
            return                   # the question gives its own answer away ("what is described as: X are ...")
        item_id = _item_id(section, kind, *(id_parts or (question, answer)))
        if item_id in self.seen:
            return
        self.seen.add(item_id)
        other = self.companion(section)
        self.items.append(QuizItem(
            id=item_id, kind=kind, question=question, answer=answer, section=section.section,
            title=section.title, chapter=section.chapter, evidence=evidence, language=section.language,
            doc=section.doc, choices=tuple(choices), answer_alt=answer_alt, evidence_alt=evidence_alt,
            title_alt=other.section.title if other else "",
            choices_alt=tuple(self.alt_text.get(c, "") for c in choices)))
        if frame and choices and other is None:
            student = "en" if section.language == "ko" else "ko"
            key, values = frame
            cross_id = f"{student}-{section.section}-{kind}-" + item_id.rsplit("-", 1)[1]
            if cross_id not in self.seen:
                self.seen.add(cross_id)
                self.items.append(replace(self.items[-1], id=cross_id, question=text(key, student, **values),
                                          language=student))

    # definitions, sequences --------------------------------------------------------------------
    def definitions(self, key) -> None:
        parsed = self.parsed[key]
        section, lang = parsed.section, parsed.section.language
        other = self.companion(section)
        pool = self._chapter_definitions(section)
        for index, line in enumerate(parsed.lines):
            found = _definition(line)
            if not found:
                continue
            term, body = found
            alt_line = other.lines[index] if other and index < len(other.lines) else None
            alt = _definition(alt_line) if alt_line else None
            alt_term, alt_body = alt if alt else ("", "")
            alt_text = alt_line.text if alt_line else ""
            if len(_SEQUENCE.findall(body)) >= 2:
                self._order(section, term, body, line.text, alt_body, alt_text)
                continue
            # the key is the definition's first sentence: what follows it (an example, a year, a property) is more
            # than a student should have to write or a grader to match (readers of the fourth sample: "key two
            # long sentences; trim to first sentence"); the item keeps its id
            key, alt_key = first_sentence(body), first_sentence(alt_body)
            if key.rstrip().endswith(":"):
                continue   # "... it has two parts:": the definition is the list after it, not this line
            if len(key) <= MAX_SHORT_KEY:   # a longer key is a paragraph to recite, not an answer to grade
                self.add(section, "short", _define_question(term, body, lang, section.title), key, line.text,
                         answer_alt=alt_key, evidence_alt=alt_text,
                         id_parts=(_LEGACY_DEFINE[lang].format(term=term), body))
            if len(body) <= 160 and not _echoes(term, body):
                # (a description that uses the term's own word gives it away: "고속 스토리지 접근 필수" -> 스토리지;
                # the key is the term without a gloss that repeats it: "Networking (Networking)" -> "Networking")
                self.add(section, "short", text("q_reverse", lang, definition=body), _term_key(term, line.text), line.text,
                         answer_alt=alt_term, evidence_alt=alt_text)
            # (not a line cut before its list, "... it has two parts:", nor one holding a second definition)
            distractors = [b for _, t, b in pool if b != body and not re.search(r":\s*$|\s:\s", first_sentence(b))]
            # a key that repeats the term gives itself away among definitions of other terms
            gives_away = _echoes(term, body)   # "automotive" / "automakers", "인조반정" / "인조" too
            if len(distractors) >= MC_CHOICES - 1 and not gives_away:
                item_key = _item_id(section, "mc", term, body)
                # the nearest definitions are of the same kind (the same section's terms first): a choice from
                # another topic gives the answer away
                # (choosing among twice as many by a length like the key's was tried and dropped: readers of the fourth
                # sample found distractors of another kind, from farther sections: evals/reports/quiz/fourth.md)
                # every choice without its final period: only the key ending in one would point at it
                picked = [first_sentence(b).rstrip(" .") for b in
                          random.Random(item_key).sample(distractors[:NEAR_DISTRACTORS], MC_CHOICES - 1)]
                mc_key = key.rstrip(" .")
                self.add(section, "mc", text("q_mc_define", lang, term=shown_term(term)), mc_key, line.text,
                         choices=_shuffled(picked + [mc_key], item_key), answer_alt=alt_key.rstrip(" ."),
                         evidence_alt=alt_text, id_parts=(term, body), frame=("q_mc_define", dict(term=shown_term(term))))

    def _chapter_definitions(self, section: Section) -> list[tuple[str, str]]:
        """(distance, term, body) of the chapter's definitions, nearest section first."""
        out = []
        for (doc, lang, _), parsed in self.parsed.items():
            if doc == section.doc and lang == section.language and parsed.section.chapter == section.chapter:
                distance = abs(_section_index(parsed.section.section) - _section_index(section.section))
                out.extend((distance, *d) for d in map(_definition, parsed.lines)
                           if d and len(_SEQUENCE.findall(d[1])) < 2)
        return sorted(out, key=lambda d: d[0])

    def _order(self, section, what, body, evidence, alt_body, alt_text) -> None:
        stages = [s.strip() for s in _SEQUENCE.split(body)]
        if len(stages) < 3 or len(set(stages)) != len(stages):
            return
        item_key = _item_id(section, "order", what, body)
        choices = _shuffled(stages, item_key)
        if choices == stages:
            choices = stages[1:] + stages[:1]
        alt_stages = [s.strip() for s in _SEQUENCE.split(alt_body)] if alt_body else []
        self.add(section, "order", text("q_order", section.language, what=what), " > ".join(stages), evidence,
                 choices=choices, answer_alt=" > ".join(alt_stages) if len(alt_stages) == len(stages) else "",
                 evidence_alt=alt_text, id_parts=(what, body), frame=("q_order", dict(what=what)))

    # lists -------------------------------------------------------------------------------------
    def lists(self, key) -> None:
        parsed = self.parsed[key]
        section, lang = parsed.section, parsed.section.language
        items = _list_items(parsed)
        if not items:
            return
        other = self.companion(section)
        mine = {l.text for _, l in items}
        # the other lists' items, nearest section first: a choice from a neighbouring list is of the same kind
        here = _section_index(section.section)
        siblings = [text for _, text in sorted({(abs(_section_index(p.section.section) - here), l.text)
                                                for k, p in self.parsed.items()
                                                if k[0] == section.doc and k[1] == lang and k != key
                                                for _, l in _list_items(p) if l.text not in mine})]
        siblings = list(dict.fromkeys(siblings))
        if len(siblings) < MC_CHOICES - 1:
            return
        for index, line in items:
            item_key = _item_id(section, "mc", section.title, line.text)
            # a line another list repeats word for word is no wrong choice: two choices would be right
            near = [s for s in siblings if s.strip().lower() != line.text.strip().lower()][:2 * NEAR_DISTRACTORS]
            if len(near) < MC_CHOICES - 1:
                continue
            picked = random.Random(item_key).sample(near, MC_CHOICES - 1)
            alt = other.lines[index].text if other and index < len(other.lines) else ""
            self.add(section, "mc", text("q_mc_list", lang, title=section.title), line.text, line.text,
                     choices=_shuffled(picked + [line.text], item_key), answer_alt=alt, evidence_alt=alt,
                     id_parts=(section.title, line.text), frame=("q_mc_list", dict(title=section.title)))

    # tables ------------------------------------------------------------------------------------
    def tables(self, key) -> None:
        parsed = self.parsed[key]
        section, lang = parsed.section, parsed.section.language
        other = self.companion(section)
        for t_index, table in enumerate(parsed.tables):
            alt_table = other.tables[t_index] if other and t_index < len(other.tables) else None
            labelled = len(table.header) == 3          # first column names the row (4.5, 5.7)
            columns = table.header[1:] if labelled else table.header
            if len(columns) != 2 or not all(columns):
                continue
            if labelled and table.header[0].strip().lower() not in COMPARISON_LABELS:
                continue   # "신분 | 구성 | 특징": rows of things, columns of their attributes, not two things compared
            first = 1 if labelled else 0
            if not _parallel_columns([[row[first + c] for row in table.rows] for c in range(2)]):
                continue   # "Command | What it does": which column a cell sits in shows in its form, not in what it says
            if not _two_things_compared(columns, section):
                continue   # "Symptom | Likely cause", "뜻 | 예": a cell's kind tells its column (readers of the eighth sample)
            sides = [{i for row in table.rows for i in cell_items(row[first + c])} for c in range(2)]
            both_sides = sides[0] & sides[1]
            for r_index, row in enumerate(table.rows):
                row_name = row[0] if labelled else ""
                for c_offset, column in enumerate(columns):
                    cell = row[first + c_offset]
                    alt_items, alt_col, alt_row = [], "", ""
                    if alt_table and r_index < len(alt_table.rows):
                        alt_cells = alt_table.rows[r_index]
                        alt_items = cell_items(alt_cells[first + c_offset])
                        alt_col = (alt_table.header[1:] if labelled else alt_table.header)[c_offset]
                        alt_row = alt_cells[0] if labelled else ""
                    for i_index, item in enumerate(cell_items(cell)):
                        if item in both_sides or _BARE_VALUE.match(item):
                            continue   # "falls", "없음": a value, not a property of one side
                        if any(_echoes(column_name, item) or _spells(column_name, item) for column_name in columns):
                            continue   # "joins two branches with a merge commit": Merge or Rebase? the words say
                        alt_item = alt_items[i_index] if len(alt_items) == len(cell_items(cell)) else ""
                        evidence = f"{column} — {row_name}: {item}" if row_name else f"{column}: {item}"
                        evidence_alt = ((f"{alt_col} — {alt_row}: {alt_item}" if alt_row else f"{alt_col}: {alt_item}")
                                        if alt_item else "")
                        values = dict(item=item, a=columns[0], b=columns[1], row=row_name)
                        key = "q_two_way_row" if row_name else "q_two_way"
                        self.add(section, "mc", text(key, lang, **values), column, evidence, choices=columns,
                                 answer_alt=alt_col if alt_item else "", evidence_alt=evidence_alt,
                                 id_parts=(row_name, column, item), frame=(key, values))

    # term <-> translation ----------------------------------------------------------------------
    def terms(self, key) -> None:
        """From the Korean notes' "한국어 용어(English term)" pairs: a Korean item asks for the English
        term, an English item for the Korean one; both quote the Korean line."""
        from ..text.glossary import mine_glossary

        parsed = self.parsed[key]
        section = parsed.section
        if section.language != "ko":
            return
        en_section = self.companion(section)
        for index, line in enumerate(parsed.lines):
            for entry in mine_glossary([line.text]):
                ko, en = _trim_particles(entry.ko.strip()), entry.en.strip()
                if len(en) < 3 or en.lower() in ko.lower() or ko.lower() in en.lower():
                    continue
                if not re.search(r"[a-z]{3}", en):
                    continue   # "수산화 칼륨 (KOH)", "(DNA)": a formula or an acronym, not an English term to learn
                if ko not in line.text or en not in line.text:
                    continue
                if ko in self.terms_asked:
                    continue   # "신경망 (neural network)" and later "신경망 (Neural networks)": one item is enough
                if (_transliteration(ko, en) or _cut_short(line.text, ko, en) or not _clear_start(line.text, ko)
                        or not _same_size(ko, en) or not _noun_phrase(ko)):
                    # "포토리얼리스틱 (Photorealistic)": the question read aloud; "가속 (GPU Acceleration)": the Korean
                    # term was cut short (a Latin word of it is outside the mined span)
                    continue
                alt = en_section.lines[index].text if en_section and index < len(en_section.lines) else ""
                if en_section is not None and en.lower() not in alt.lower():
                    continue   # a typo the English companion corrected ("Coupmute-intensive"): not a key to learn
                self.terms_asked.add(ko)
                self.add(section, "term", text("q_term_en", "ko", ko=ko), en, line.text, evidence_alt=alt,
                         id_parts=("ko->en", ko, en))
                if en_section is not None:
                    self.add(en_section.section, "term", text("q_term_ko", "en", en=en), ko, line.text,
                             evidence_alt=alt, id_parts=("en->ko", ko, en))


# not "의": a genitive is often part of the term ("고도의 병렬 처리 (High parallel processing)")
_PARTICLE_END = ("과", "와", "을", "를", "은", "는", "가", "에", "로")


def _trim_particles(term: str) -> str:
    """"모델과 딥러닝 신경망" -> "딥러닝 신경망": a word ending in a particle belongs to the sentence, not the term."""
    words = term.split()
    while len(words) > 1 and any(w.endswith(_PARTICLE_END) and len(w) > 1 for w in words[:-1]):
        words.pop(0)
    return " ".join(words)


def _transliteration(ko: str, en: str) -> bool:
    """The Korean term is the English one written in Hangul: the same consonant skeleton (rag/text/loanwords.py),
    as a whole or word by word ("인프라 프로비저닝" / "Infrastructure Provisioning": each Korean word sounds like the
    start of an English one)."""
    from ..text.loanwords import hangul_skeleton, latin_skeleton

    skeleton = hangul_skeleton(ko.replace(" ", ""))
    if len(skeleton) >= 2 and skeleton == latin_skeleton(en.replace(" ", "")):
        return True
    if _sounds_alike(skeleton, latin_skeleton(en.replace(" ", ""))):
        return True
    english = [latin_skeleton(w) for w in en.split()]
    korean = [hangul_skeleton(w) for w in ko.split()]
    # one Korean word read aloud is enough: "워크로드 최적화" / "workload optimization" tests only 최적화
    return bool(korean) and any(len(k) >= 2 and any(e[:len(k)] == k or _sounds_alike(k, e) for e in english)
                                for k in korean)


def _sounds_alike(a: tuple, b: tuple) -> bool:
    """Two consonant skeletons of at least three sounds that differ by one sound at most, or one starts the other
    ("컴퓨팅" / "Compute", "오케스트레이션" / "Orchestration": Hangul spelling adds or shifts a sound)."""
    if min(len(a), len(b)) < 3:
        return False
    if a[:len(b)] == b or b[:len(a)] == a:
        return True
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _same_size(ko: str, en: str) -> bool:
    """The two sides name the same thing: not one Korean word for a three-word English phrase ("과정" / "AI to
    production"), not two things joined in English ("Performance & scalability") for one in Korean."""
    en_words, ko_words = en.split(), ko.split()
    if len(en_words) >= 3 and len(ko_words) == 1:
        return False
    joined_en = bool(re.search(r"&|\band\b", en))
    joined_ko = bool(re.search(r"및|[과와](?:\s|$)|,", ko))
    return joined_en == joined_ko or not joined_en


def _noun_phrase(ko: str) -> bool:
    """A term is a noun phrase: "대한 요구" (a modifier cut from its head), "받아 물", "지정하고, 3개" are not."""
    try:
        from ..text.tokenize import get_kiwi

        tokens = get_kiwi().tokenize(ko)
    except Exception:   # no Kiwi: keep the term
        return True
    return bool(tokens) and all(t.tag.startswith(("NN", "SL", "SN", "XSN", "XPN", "NR", "SH")) or t.tag == "SS"
                                or t.tag == "SP" or t.tag == "SO" for t in tokens)


_SENTENCE_END = re.compile(r"[.!?。]\s+(?=\S)")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|dr|mr|ms|st|no|fig)|\b[a-z])$", re.IGNORECASE)


# The first header cell of a table that compares two things row by row ("구분 | CPU | GPU"): a label for the rows'
# aspects, or none. A table whose first column names things ("신분 | 구성 | 특징", "State | Meaning | Area") lists
# their attributes instead. (Language data, any course.)
COMPARISON_LABELS = frozenset({"", "구분", "항목", "item", "items", "비교", "비교 항목", "비교항목", "기준", "특성", "측면", "aspect", "feature",
                               "features", "category", "criterion", "criteria", "property", "comparison", "dimension"})


def _two_things_compared(headers: list[str], section: Section) -> bool:
    """The two column headers are two things the notes compare, not two attributes of each row: both named in the
    section's own sentences ("CPU | GPU", "Merge | Rebase"), or two of a kind by their words ("수동 수송 | 능동
    수송", "Fiscal policy | Monetary policy", "정묘호란 | 병자호란"). "Symptom | Likely cause", "Region | Main
    functions", "뜻 | 예" are neither: which column a cell sits in shows in what kind of phrase it is."""
    prose = (section.title + "\n" + "\n".join(line for line in section.text.splitlines()
                                                if not line.strip().startswith("|"))).lower()
    cores = [_PARENTHESISED.sub("", plain(h)).strip().lower() for h in headers]
    if all(len(core) >= 2 and core in prose for core in cores):
        return True
    a, b = cores
    shared_word = {w for w in a.split() if len(w) >= 2} & {w for w in b.split() if len(w) >= 2}
    return bool(shared_word) or (len(a) >= 3 and len(b) >= 3 and (a[-2:] == b[-2:] or a[:4] == b[:4]))


def _parallel_columns(columns: list[list[str]]) -> bool:
    """The two columns hold the same kind of thing, so a cell's column is a question of what it says: "CPU | GPU"
    ("Low latency" | "High throughput"), not "Command | What it does" (code beside a sentence) or "만든 때와 인물 |
    특징" (dates beside descriptions). Judged by form: the share of cells with a number or with code, and their
    length (readers of the fifth sample rejected every item of a table of the second kind)."""
    def form(cells: list[str]) -> tuple[float, float, float]:
        cells = [c for c in cells if c.strip()] or [""]
        return (sum(bool(re.search(r"\d", c)) for c in cells) / len(cells),
                sum(bool(re.search(r"`|^\$ ", c)) for c in cells) / len(cells),
                max(1.0, sum(len(c) for c in cells) / len(cells)))
    (digits_a, code_a, length_a), (digits_b, code_b, length_b) = form(columns[0]), form(columns[1])
    # (lengths only tell when the cells are more than a word or two: "빠름, 큼" beside "작음" is the same kind)
    return (abs(digits_a - digits_b) < 0.5 and abs(code_a - code_b) < 0.5
            and (max(length_a, length_b) < 20 or max(length_a, length_b) / min(length_a, length_b) < 2.5))


def first_sentence(text: str) -> str:
    """The first sentence of a definition ("가수분해 효소가 들어 있는 막 주머니. 세포 안 소화와 ..." -> "가수분해 효소가
    들어 있는 막 주머니."), or the whole text when it has one, or when its first is too short to stand alone."""
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[:match.start()]):
            continue   # "e.g. ", "Dr. "
        return text if match.start() < 12 else text[:match.start() + 1]
    return text


def shown_term(term: str) -> str:
    """The term as a question shows it and a key gives it: a gloss that repeats it is dropped ("Compute platforms
    (Compute Platforms)"), and so is a date beside it ("티코 브라헤 (16세기 후반)", "1884년 다카키 가네히로",
    "에어리설 (Airy, 1855)"): readers asked for the name alone (evals/reports/quiz/seventh.md)."""
    def repeat(match: re.Match) -> str:
        before = term[:match.start()].strip().lower()
        return "" if before.endswith(match.group(1).strip().lower()) else match.group(0)
    undated = _DATE_GLOSS.sub("", _DATED_START.sub("", _DATE_IN_GLOSS.sub(")", term))).strip()
    return re.sub(r"\s*\(([^()]*)\)", repeat, undated or term).strip()


def _term_key(term: str, line: str) -> str:
    """The term as a key: as shown, or without its gloss where the shown form is not written in the line ("에어리설
    (Airy, 1855)" -> "에어리설"): every key is cut from its line."""
    shown = shown_term(term)
    return shown if shown in line else re.sub(r"\s*\([^()]*\)", "", shown).strip() or term


def _cut_short(line: str, ko: str, en: str) -> bool:
    """The mined Korean term lost a Latin word of it: "GPU 가속 (GPU Acceleration)" mined as 가속, "생성형 AI 서비스 활용
    (Generative AI as a Service)" as 서비스 활용: a Latin word just before it is one of the English term's words."""
    before = line[:line.find(ko)].split()[-2:]
    english = {w.lower() for w in en.split()}
    return any(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", w) and w.lower() in english for w in before)


_PHRASE_END = ("은", "는", "이", "가", "을", "를", "에", "로", "와", "과", "도", "서", "고", "며", "면")


def _clear_start(line: str, ko: str) -> bool:
    """Where the mined Korean term starts is plain: at the line's start, after punctuation or a Latin word, or after a
    word that ends a phrase ("...을 ", "...고 "). After another Hangul word ("사전 | 구성된 참조 어플리케이션") the
    miner's three-word limit may have cut the term: a quiz must not ask for half a term."""
    prefix = line[:line.find(ko)].rstrip()
    if not prefix or not ("가" <= prefix[-1] <= "힣"):
        return True
    return prefix.split()[-1].endswith(_PHRASE_END)


def _content_words(text: str) -> set[str]:
    from ..text.tokenize import tokenize

    return {t for t in tokenize(_PARENTHESISED.sub(" ", text)) if len(t) >= 2}


def _word_stems(text: str) -> set[str]:
    """Content words, a Latin one by its first five letters ("automotive", "automakers"; "generative", "generate"):
    two texts sharing one share what the word is about."""
    return {t[:5] if t.isascii() and len(t) >= 5 else t for t in _content_words(text)}


def _echoes(term: str, text: str) -> bool:
    """``text`` uses a word of ``term`` (its gloss included: "Explicit (declarative) memory" / "declare"), or the first
    two syllables of one of its Korean compounds ("인조반정" / "인조가 즉위"): it hints at the term."""
    def with_glosses(words: str) -> str:
        return words.replace("(", " ").replace(")", " ")
    if _word_stems(with_glosses(term)) & _word_stems(with_glosses(text)):
        return True
    # a numbered name ("4군 6진", "H100") loses its pieces in tokenising: such a piece written in the text gives it away
    if any(re.search(r"\d", piece) and piece in text for piece in _PARENTHESISED.sub(" ", term).split() if len(piece) >= 2):
        return True
    return any(len(w) >= 3 and w[:2] in text for w in re.findall(r"[가-힣]+", _PARENTHESISED.sub(" ", term)))


def _spells(latin_name: str, text: str) -> bool:
    """``text`` writes a Latin word of the name in Hangul letters ("Workflow" / "NVIDIA AI 워크플로우")."""
    from ..text.loanwords import MIN_CLASSES, consonant_count, hangul_skeleton, latin_skeleton

    sounds = {latin_skeleton(w) for w in re.findall(r"[A-Za-z]{4,}", latin_name)}
    return any(consonant_count(hangul_skeleton(w)) >= MIN_CLASSES and hangul_skeleton(w) in sounds
               for w in re.findall(r"[가-힣]{3,}", text))


def _gives_something(question: str, answer: str) -> bool:
    from ..text.tokenize import tokenize

    return bool(set(tokenize(answer)) - set(tokenize(question)))


def build_bank(sections: list[Section]) -> list[QuizItem]:
    """Every item the notes give, in the notes' order."""
    builder = _Builder(sections)
    for key in builder.parsed:
        builder.definitions(key)
        # (no "which of these is listed under <section>?" items: readers rejected 21 of 36 and passed 2; the key
        # shared the title's words or made no sense out of its list, evals/reports/quiz/first.md)
        builder.tables(key)
        builder.terms(key)
    order = {(s.language, s.section): i for i, s in enumerate(sections)}
    kinds = {"short": 0, "mc": 1, "order": 2, "term": 3}
    return sorted(builder.items, key=lambda it: (order.get((it.language, it.section), 0), kinds[it.kind]))


def select(bank: list[QuizItem], n: int = 10, seed: int = 0, chapters=None, language: str | None = None,
           exclude=()) -> list[QuizItem]:
    """``n`` items spread over sections and kinds, chosen by ``seed`` (same seed, same quiz)."""
    wanted = {str(c) for c in chapters} if chapters else None
    pool = [it for it in bank if (wanted is None or it.chapter in wanted)
            and (language is None or it.language == language) and it.id not in set(exclude)]
    rng = random.Random(seed)
    groups: dict[str, list[QuizItem]] = {}
    for item in pool:
        groups.setdefault(item.section, []).append(item)
    for section, items in groups.items():
        # one of each kind before a second of any: a section's many term pairs must not fill the quiz
        kinds = sorted({it.kind for it in items})
        rng.shuffle(kinds)
        rng.shuffle(items)
        seen: dict[str, int] = {}
        ranked = []
        for item in items:
            seen[item.kind] = seen.get(item.kind, 0) + 1
            ranked.append((seen[item.kind], kinds.index(item.kind), item))
        groups[section] = [item for *_, item in sorted(ranked, key=lambda r: (r[0], r[1]), reverse=True)]
    order = sorted(groups)
    rng.shuffle(order)
    picked: list[QuizItem] = []
    # term pairs are the most numerous kind; at most a quarter of a quiz unless nothing else is left
    term_cap = max(1, -(-n // 4))
    for capped in (True, False):
        while len(picked) < n:
            added = False
            for section in order:
                group = groups[section]
                allowed = [it for it in group if not (capped and it.kind == "term"
                                                      and sum(p.kind == "term" for p in picked) >= term_cap)]
                if allowed and len(picked) < n:
                    picked.append(allowed[-1])
                    group.remove(allowed[-1])
                    added = True
            if not added:
                break
    return picked
