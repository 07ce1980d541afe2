"""A prior over sections from labelled questions: "questions like this one were answered by 5.1".

Retrieval ranks sections by how their words and vectors match the question. Where two sections say nearly the
same thing (5.1's summary of the NGC Catalog and 5.5's catalog line; 2.5's AI/ML/DL differences and 5.4's ML/DL
frameworks), that match cannot tell which one answers; students' earlier questions, labelled with the section
that answered them, can. The bank holds those questions' vectors (made by the query embedder, at index time);
a new question's nearest ``k`` give each section the share of them it answered, and the top hits are re-ordered
by fused score + weight * share. Only the order of the first ``RERANK_DEPTH`` hits changes: no section is added
or dropped, so what is retrieved (and whether the notes cover the question) is the retriever's alone.

Evaluation holds a writer's own questions out (``held_out``): a question is never helped by itself (by its text,
whatever its origin) or by the same writer's other questions, so dev figures measure what the prior does for a new
student.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..ingest.questions import LabelledQuestion
from ..types import Hit

RERANK_DEPTH = 3        # the sections whose order the prior may change: the evidence comes from the top three

# origins (gold-set writers) and question texts the prior must not use (evaluation: the item being scored)
_HELD_OUT: contextvars.ContextVar[frozenset] = contextvars.ContextVar("question_bank_held_out", default=frozenset())


@contextlib.contextmanager
def held_out(*origins: str, questions: tuple[str, ...] = ()) -> Iterator[None]:
    """Within the block, labelled questions of these origins, or with these very texts, are in no bank's prior."""
    keys = {("origin", o) for o in origins if o} | {("text", q.strip()) for q in questions if q.strip()}
    token = _HELD_OUT.set(_HELD_OUT.get() | keys)
    try:
        yield
    finally:
        _HELD_OUT.reset(token)


@dataclass(frozen=True)
class QuestionBank:
    questions: list[LabelledQuestion]
    vectors: np.ndarray                 # one L2-normalised row per question, by the query embedder

    def __post_init__(self):
        if len(self.questions) != len(self.vectors):
            raise ValueError(f"{len(self.questions)} questions but {len(self.vectors)} vectors")

    def __len__(self) -> int:
        return len(self.questions)

    def prior(self, query_vector: np.ndarray, k: int) -> Counter:
        """(doc, section) -> the share of the ``k`` nearest labelled questions that section answered."""
        if not self.questions or k <= 0:
            return Counter()
        similarity = np.einsum("ij,j->i", self.vectors, np.asarray(query_vector, dtype="float32").reshape(-1))
        excluded = _HELD_OUT.get()
        if excluded:
            similarity = np.where([("origin", q.origin) in excluded or ("text", q.question) in excluded
                                   for q in self.questions], -np.inf, similarity)
        usable = int(np.isfinite(similarity).sum())
        share: Counter = Counter()
        for position in np.argsort(-similarity, kind="stable")[:min(k, usable)]:
            question = self.questions[position]
            for section in question.sections:
                share[(question.doc, section)] += 1.0 / k
        return share


def rerank(hits: list[Hit], share: Counter, weight: float, depth: int = RERANK_DEPTH) -> list[Hit]:
    """``hits`` with the first ``depth`` re-ordered by score + weight * share (stable on ties); each hit's
    share is kept as its "questions" leg score, so a report shows why the order changed."""
    if weight <= 0 or not share or len(hits) < 2:
        return hits
    head = hits[:depth]
    for hit in head:
        hit.leg_scores["questions"] = share.get((hit.doc, hit.section), 0.0)
    order = sorted(range(len(head)), key=lambda i: (-(head[i].score + weight * head[i].leg_scores["questions"]), i))
    reordered = [head[i] for i in order] + hits[depth:]
    for rank, hit in enumerate(reordered, start=1):
        hit.rank = rank
    return reordered
