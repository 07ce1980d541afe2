"""Questions that name the notes' own structure: "chapter 3", "6장", "section 4.5", "4.5절".

A student reviewing asks "what does chapter 3 cover?" or "summarise section 4.5". Retrieval by meaning
cannot see a chapter number, and the words of such a question ("cover", "다루는 챕터") are in no section,
so the evidence looks weak and the tutor used to refuse exactly the questions that point straight at the
notes. Here the reference itself is the evidence: the named sections lead the hits, the weak-evidence
refusal does not apply, and a question that asks only what a chapter covers is answered with that
chapter's table of contents.

Only explicit cues count ("section", "chapter", "절", "장", "챕터", "§"): a bare "4.5" may be a number the
student asks about ("4.5 times faster?"), and "GPU 2장" is two cards, not chapter 2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text.tokenize import tokenize
from .types import Hit, Section

_SECTION = re.compile(
    r"(?:\b(?:section|sec\.?)\s*|§\s*|섹션\s*)(\d{1,2}\.\d{1,2})(?![\d.])"
    r"|(?<![\d.])(\d{1,2}\.\d{1,2})(?![\d.])\s*(?:절|섹션|\bsection\b)", re.IGNORECASE)
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7",
             "eighth": "8", "ninth": "9", "last": "last", "첫": "1", "첫번째": "1", "두번째": "2", "세번째": "3",
             "네번째": "4", "다섯번째": "5", "여섯번째": "6", "마지막": "last"}
_ORDINAL_CHAPTER = re.compile(r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|last)\s+chapter\b"
                              r"|(첫|첫 ?번째|두 ?번째|세 ?번째|네 ?번째|다섯 ?번째|여섯 ?번째|마지막)\s*(?:장|챕터|단원)(?![가-힣])"
                              r"|(첫|첫 ?번째|두 ?번째|세 ?번째|네 ?번째|다섯 ?번째|여섯 ?번째|마지막)\s*장(?=[은는이가을를에의도])",
                              re.IGNORECASE)
_CHAPTER = re.compile(
    r"\b(?:chapter|ch\.)\s*(\d{1,2})\b|(?:챕터|단원)\s*(\d{1,2})(?!\d)"
    r"|(?<![\w.])(?:제\s*)?(\d{1,2})\s*(?:장|챕터|단원)(?![가-힣])"
    r"|(?<![\w.])(?:제\s*)?(\d{1,2})\s*장(?=(?:은|는|이|가|을|를|에|에서|의|도|만|부터|까지|으로|이랑|하고)(?![가-힣]))",
    re.IGNORECASE)
# Words that only point at the structure or frame the request; what is left after them says whether the
# question asks about something inside the chapter or only what the chapter is about.
_FRAME = frozenset("""
    chapter chapters section sections part cover covers covered about topic topics content contents summary summarise
    summarize overview review reviewing quiz exam test study studying learn learning say says talk talks deal
    챕터 단원 장 절 섹션 내용 주제 요약 정리 개요 다루 시험 공부 복습 무슨 무엇 뭐 어떤 나오 설명
    """.split())


@dataclass
class Reference:
    sections: list[str] = field(default_factory=list)    # "4.5"
    chapters: list[str] = field(default_factory=list)    # "3"
    overview: bool = False                              # asks only what the chapter covers

    def __bool__(self) -> bool:
        return bool(self.sections or self.chapters)


def find_reference(question: str, known_sections: set[str]) -> Reference:
    """The sections and chapters the question names, keeping only those the notes have."""
    chapters_known = {number.split(".")[0] for number in known_sections}
    sections = [a or b for a, b in _SECTION.findall(question)]
    chapters = [next(filter(None, groups)) for groups in _CHAPTER.findall(question)]
    last = max(chapters_known, key=int, default="")
    for groups in _ORDINAL_CHAPTER.findall(question):
        number = _ORDINALS[next(filter(None, groups)).lower().replace(" ", "")]
        chapters.append(last if number == "last" else number)
    reference = Reference([s for s in dict.fromkeys(sections) if s in known_sections],
                          [c for c in dict.fromkeys(chapters) if c in chapters_known])
    if reference.chapters and not reference.sections:
        rest = _SECTION.sub(" ", _CHAPTER.sub(" ", _ORDINAL_CHAPTER.sub(" ", question)))
        reference.overview = not [t for t in tokenize(rest) if t not in _FRAME and not t.isdigit() and len(t) > 1]
    return reference


# "표에서", "in the comparison table", "which column": the student points at one of the notes' tables. Tables sit in
# detailed sections (4.5, 5.7, 6.4) whose key-message section (x.1) says the same words in a sentence and often ranks
# first, so the answer quoted the sentence and cited x.1 while the student asked for the table's cells.
_TABLE_WORDS = frozenset({"표", "칸", "table", "tables", "column", "columns"})


def asks_about_table(question: str) -> bool:
    """The question points at a table of the notes ("표 기준으로", "the scheduling column")."""
    return any(token in _TABLE_WORDS for token in tokenize(question))


def holds_table(section: Section) -> bool:
    return any(line.lstrip().startswith("|") for line in section.text.splitlines())


def chapter_sections(chapter: str, known_sections) -> list[str]:
    return sorted((s for s in known_sections if s.split(".")[0] == chapter), key=lambda s: tuple(map(int, s.split("."))))


def pin(hits: list[Hit], reference: Reference, sections_by_number: dict[str, Section], k: int) -> list[Hit]:
    """Hits with the named sections first (then the rest of the named chapters, then the other hits)."""
    wanted = list(reference.sections)
    for chapter in reference.chapters:
        # retrieval's own order inside the chapter, or the whole chapter when retrieval found none of it
        in_chapter = [h.section for h in hits if h.section.split(".")[0] == chapter]
        rest = chapter_sections(chapter, sections_by_number)
        if reference.overview:   # a table of contents reads in the notes' order
            wanted += chapter_sections(chapter, sections_by_number)
        else:
            wanted += in_chapter or rest
    wanted = list(dict.fromkeys(wanted))
    by_number = {h.section: h for h in hits}
    top = max((h.score for h in hits), default=1.0)
    pinned = []
    for number in wanted:
        hit = by_number.get(number)
        if hit is None:
            section = sections_by_number[number]
            hit = Hit(section.doc, number, section.title, 0.0)
        hit.score = top + 1.0 / (1 + len(pinned))   # above every retrieved hit, in the wanted order
        pinned.append(hit)
    others = [h for h in hits if h.section not in set(wanted)]
    # an overview lists the chapter and nothing else; otherwise the named sections lead the usual hits
    ranked = pinned if reference.overview else (pinned + others)[:k]
    for rank, hit in enumerate(ranked, start=1):
        hit.rank = rank
    return ranked
