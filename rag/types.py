"""Plain data passed between the stages of the pipeline.

Nothing here imports from the rest of ``rag``: every other module may import these.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Language = Literal["ko", "en"]


@dataclass(frozen=True)
class Section:
    """One numbered section of a course's notes, in one language."""

    doc: str            # document id, shared by a course's Korean notes and English companion
    section: str        # "4.5"
    title: str          # "CPU vs. GPU"
    chapter: str        # "4"
    chapter_title: str  # "GPU로 AI 가속화"
    language: str       # "ko" or "en"
    text: str           # body of the section, Markdown (tables as Markdown tables)
    source: str = ""    # file the section was read from
    line: int = 0       # 1-based line of its heading in that file


@dataclass(frozen=True)
class Chunk:
    """A piece of one section that is indexed; never crosses a section."""

    id: str             # "{doc}:{language}:{section}:{part}"
    doc: str
    section: str
    title: str
    chapter_title: str
    language: str
    text: str
    part: int = 0

    @property
    def section_key(self) -> tuple[str, str]:
        return (self.doc, self.section)


@dataclass
class Hit:
    """A section found for a question, with the chunks that matched it."""

    doc: str
    section: str
    title: str
    score: float                      # fused score (higher is better)
    rank: int = 0                     # 1-based, after fusion and dedup by section
    chunks: list[Chunk] = field(default_factory=list)
    chunk_ids: list[int] = field(default_factory=list)          # positions of those chunks in the index
    leg_ranks: dict[str, int] = field(default_factory=dict)   # leg name -> best rank in that leg
    leg_scores: dict[str, float] = field(default_factory=dict)  # leg name -> best raw score

    def to_dict(self) -> dict:
        return {
            "doc": self.doc,
            "section": self.section,
            "title": self.title,
            "score": round(self.score, 6),
            "rank": self.rank,
            "leg_ranks": self.leg_ranks,
            "leg_scores": {k: round(v, 6) for k, v in self.leg_scores.items()},
            "text": self.chunks[0].text if self.chunks else "",
        }


@dataclass
class Citation:
    doc: str
    section: str
    title: str
    quote: str
    score: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["score"] = round(self.score, 6)
        return d


@dataclass
class Answer:
    text: str
    language: str
    refused: bool
    generator: str
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)   # stage -> milliseconds
    question: str = ""
    suggestions: list[Hit] = field(default_factory=list)      # closest sections when refused
    notice: str = ""                                          # e.g. a fallback message shown to the user
    outcome: str = ""                                         # "answer", "partial" or "refused"
    missing: list[str] = field(default_factory=list)          # what the notes don't cover (partial, refused)
    withheld: list[dict] = field(default_factory=list)        # model sentences the claim check kept back, and why

    def __post_init__(self):
        if not self.outcome:
            self.outcome = "refused" if self.refused else "answer"

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "language": self.language,
            "refused": self.refused,
            "generator": self.generator,
            "citations": [c.to_dict() for c in self.citations],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "suggestions": [{"doc": h.doc, "section": h.section, "title": h.title} for h in self.suggestions],
            "notice": self.notice,
            "outcome": self.outcome,
            "missing": self.missing,
            "withheld": self.withheld,
        }
