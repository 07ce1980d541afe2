"""Plain data of study mode: quiz items, grades, attempts. Imports nothing else from ``rag``."""
from __future__ import annotations

from dataclasses import dataclass, field

VERDICTS = ("correct", "partial", "incorrect")
KINDS = ("short", "mc", "order", "term")


@dataclass(frozen=True)
class QuizItem:
    """One question, with where its answer is written in the notes.

    ``answer`` is the key, taken verbatim from ``evidence`` (a line or table cell of section ``section``);
    ``answer_alt`` is the same key in the other language (the companion notes' parallel line), so that
    an answer in either language can be graded on content.
    """

    id: str                 # stable: a hash of the notes' content it came from, not of the seed
    kind: str               # short | mc | order | term
    question: str
    answer: str
    section: str            # "4.5"
    title: str              # the section's title, in the item's language
    chapter: str            # "4"
    evidence: str           # the line (or table cell with its headers) the key is taken from
    language: str           # "ko" | "en"
    doc: str = ""
    choices: tuple[str, ...] = ()
    answer_alt: str = ""
    evidence_alt: str = ""
    title_alt: str = ""
    choices_alt: tuple[str, ...] = ()   # each choice in the other language, where the companion has it

    def to_dict(self) -> dict:
        """Exactly the shape scripts rely on (issue 12)."""
        return {"id": self.id, "kind": self.kind, "question": self.question, "choices": list(self.choices),
                "answer": self.answer, "section": self.section, "evidence": self.evidence,
                "language": self.language}


@dataclass
class Grade:
    verdict: str            # correct | partial | incorrect
    feedback: str           # in the student's language, quotes the evidence, cites the section
    section: str
    evidence: str
    language: str           # the student's language (what the feedback is written in)
    item_id: str = ""
    coverage: float = 0.0   # share of the key's terms the answer covers (either language)
    similarity: float | None = None   # embedding cosine answer <-> key, when an embedder was given
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reason: str = ""        # why, in a few words (e.g. "copies the question")

    def to_dict(self) -> dict:
        """Exactly the shape scripts rely on (issue 12)."""
        return {"verdict": self.verdict, "feedback": self.feedback, "section": self.section,
                "evidence": self.evidence}

    def details(self) -> dict:
        return {**self.to_dict(), "item_id": self.item_id, "language": self.language,
                "coverage": round(self.coverage, 3),
                "similarity": None if self.similarity is None else round(self.similarity, 3),
                "reason": self.reason}


@dataclass(frozen=True)
class Attempt:
    student: str
    item_id: str
    chapter: str
    section: str
    language: str
    verdict: str
    answered_at: float
    course: str = ""        # the course id ('' for attempts recorded before issue 22)


@dataclass
class AskedQuestion:
    """One question from the question log (``RAG_RECORD_QUESTIONS``): what was asked and how it went."""

    course: str
    question: str
    language: str
    outcome: str            # answer | partial | refused
    cited_sections: list[str]
    closest_sections: list[str]
    asked_at: float
    student: str = ""       # the anonymous id the asker was given, if any
