"""Question -> ranked sections: a keyword leg, a dense leg over chunks and a dense leg over single lines, fused by
score (or reciprocal rank), one hit per section.

The line leg scores a section by its single best-matching line: a question about one fact ("how often is the
catalog updated?") matches that line closely, while the fact is a small part of its chunk's vector.

Both languages of a section (the Korean notes and the English companion) share its number, so a hit in
either counts for the section. No prompt text here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .index.dense import DenseIndex
from .index.keyword import BM25Index
from .index.question_bank import QuestionBank, rerank
from .text.glossary import Glossary
from .text.loanwords import LoanwordMap
from .text.question_words import HANGUL
from .text.tokenize import tokenize
from .types import Chunk, Hit

LEGS = ("dense", "keyword", "lines")


@dataclass(frozen=True)
class LineIndex:
    """Vectors of the notes' lines and, for each, the chunk that holds it (and the line's own text, as
    ``section_units`` gives it, so evidence selection can look a line's cosine up)."""

    vectors: DenseIndex
    chunks: list[int]
    units: list[str] = field(default_factory=list)

    def ranked(self, cosines: np.ndarray, chunk_sections: list, candidates: int) -> list[tuple[int, float]]:
        """Sections by their best line's cosine (``cosines``: the query's with every line), best first, as
        (chunk holding that line, cosine)."""
        best: dict = {}
        for line in np.argsort(-cosines, kind="stable"):
            key = chunk_sections[self.chunks[line]]
            if key not in best:
                best[key] = (self.chunks[line], float(cosines[line]))
                if len(best) == candidates:
                    break
        return list(best.values())
FUSIONS = ("score", "rrf")


@dataclass
class Retrieval:
    hits: list[Hit]
    query_tokens: tuple[str, ...]
    expanded_tokens: tuple[str, ...]
    features: dict = field(default_factory=dict)   # evidence for the refusal decision
    # (doc, language, section, line text) -> the question's cosine with that line, when the line leg ran
    line_cosines: "LineCosines | dict" = field(default_factory=dict)


@dataclass(frozen=True)
class LineCosines:
    """The question's cosine with every line, looked up by (doc, language, section, line text): the positions
    are the retriever's, built once; each question only brings its cosine array."""

    positions: dict
    cosines: np.ndarray

    def get(self, key, default=None):
        position = self.positions.get(key)
        return default if position is None else float(self.cosines[position])


class Retriever:
    def __init__(self, chunks: list[Chunk], chunk_tokens: list[tuple[str, ...]], dense: DenseIndex,
                 embedder, glossary: Glossary, settings, lines: LineIndex | None = None,
                 questions: QuestionBank | None = None):
        self.chunks = chunks
        self.questions = questions
        self.chunk_sections = [chunk.section_key for chunk in chunks]
        self.lines = lines
        # (doc, language, section, line text) -> the line's position, for evidence selection's lookups
        self.line_positions = {} if lines is None else {
            (chunk.doc, chunk.language, chunk.section, unit): position
            for position, (chunk, unit) in enumerate(zip((chunks[c] for c in lines.chunks), lines.units))}
        self.keyword = BM25Index(chunk_tokens)
        self.dense = dense
        self.embedder = embedder
        self.glossary = glossary
        self.loanwords = LoanwordMap(chunk_tokens)
        self.languages = {chunk.language for chunk in chunks}
        self._off_topic: np.ndarray | None = None      # the off-topic questions' vectors, embedded on first use
        if settings.fusion not in FUSIONS:
            raise ConfigError(f"Unknown fusion {settings.fusion!r}: set RAG_FUSION to one of {', '.join(FUSIONS)}.")
        self.settings = settings

    def retrieve(self, question: str, k: int | None = None, legs=None, glossary: bool | None = None) -> Retrieval:
        k = k or self.settings.top_k
        legs = tuple(legs or LEGS)
        use_glossary = self.settings.glossary if glossary is None else glossary
        query_tokens = tokenize(question)
        # the glossary adds the other language's term; the loanword map the Latin word a Hangul one spells
        expanded = self.loanwords.expand(question, self.glossary.expand(query_tokens)) if use_glossary else query_tokens
        if use_glossary and "en" not in self.languages and not HANGUL.search(question):
            # an English question on notes with no English: their Hangul loanwords are its words ("helicase")
            expanded = self.loanwords.expand_latin(expanded)
        ranked_legs: dict[str, list[tuple[int, float]]] = {}
        features: dict = {}
        if "keyword" in legs:
            ranked_legs["keyword"] = self.keyword.search(expanded, self.settings.candidates)
            best = ranked_legs["keyword"][0][1] if ranked_legs["keyword"] else 0.0
            features["keyword_norm"] = best / (self.keyword.max_possible(expanded) or 1.0)
        use_lines = "lines" in legs and self.lines is not None and self.settings.line_weight > 0
        by_line: LineCosines | dict = {}
        if "dense" in legs or use_lines:
            vector = self.embedder.embed_queries([self.loanwords.with_latin_acronyms(question)])[0]
        if "dense" in legs:
            cosines = self.dense.all_scores(vector)   # one pass serves the ranking and the refusal evidence
            ranked_legs["dense"] = self.dense.top(cosines, self.settings.candidates)
            features.update(_dense_features(cosines))
        if use_lines:
            line_cosines = self.lines.vectors.all_scores(vector)
            ranked_legs["lines"] = self.lines.ranked(line_cosines, self.chunk_sections, self.settings.candidates)
            features.update({"line_" + name: value for name, value in _dense_features(line_cosines).items()})
            by_line = LineCosines(self.line_positions, line_cosines)
        if "dense" in legs or use_lines:
            # how close the question is to everyday questions no course answers (rag/prompts/off_topic.json)
            features["off_topic_top"] = float((self._off_topic_vectors() @ vector).max())
        hits = self._fuse(ranked_legs)
        if self.questions is not None and self.settings.question_prior_weight > 0 and ("dense" in legs or use_lines):
            # labelled questions like this one re-order the top hits (rag/index/question_bank.py)
            share = self.questions.prior(vector, self.settings.question_prior_k)
            hits = rerank(hits, share, self.settings.question_prior_weight)
        hits = hits[:k]
        features["coverage"] = _coverage(query_tokens, hits[:3], self.chunks_tokens_of)
        return Retrieval(hits, query_tokens, expanded, features, by_line)

    def warm_up(self) -> None:
        """Embed what every question is compared with now, not on the first question."""
        self._off_topic_vectors()

    def _off_topic_vectors(self) -> np.ndarray:
        if self._off_topic is None:
            from .prompts import off_topic_questions
            self._off_topic = self.embedder.embed_queries(off_topic_questions())
        return self._off_topic

    def search(self, question: str, k: int | None = None, legs=None, glossary: bool | None = None) -> list[Hit]:
        return self.retrieve(question, k, legs, glossary).hits

    def chunks_tokens_of(self, chunk_index: int) -> tuple[str, ...]:
        return self.keyword.docs_tokens[chunk_index]

    def _fuse(self, ranked_legs: dict[str, list[tuple[int, float]]]) -> list[Hit]:
        hits: dict[tuple[str, str], Hit] = {}
        for leg, ranked in ranked_legs.items():
            weight = {"dense": self.settings.dense_weight, "lines": self.settings.line_weight}.get(leg, 1.0)
            scaled = _scaled(ranked)
            section_rank = 0
            seen: set[tuple[str, str]] = set()
            for (chunk_index, score), unit_score in zip(ranked, scaled):
                chunk = self.chunks[chunk_index]
                key = chunk.section_key
                hit = hits.setdefault(key, Hit(chunk.doc, chunk.section, chunk.title, 0.0))
                if chunk not in hit.chunks:
                    hit.chunks.append(chunk)
                    hit.chunk_ids.append(chunk_index)
                if key in seen:
                    continue
                seen.add(key)
                section_rank += 1
                hit.leg_ranks[leg] = section_rank
                hit.leg_scores[leg] = score
                if self.settings.fusion == "rrf":
                    hit.score += 1.0 / (self.settings.rrf_k + section_rank)
                else:
                    hit.score += weight * unit_score
        ranked_hits = sorted(hits.values(), key=lambda h: (-h.score, min(h.leg_ranks.values())))
        for rank, hit in enumerate(ranked_hits, start=1):
            hit.rank = rank
        return ranked_hits


def _scaled(ranked: list[tuple[int, float]]) -> list[float]:
    """A leg's scores mapped to 0-1 over its own candidates (best = 1, last candidate = 0): BM25 and cosine
    live on different scales, and how far a section stands above the others says more than its rank alone."""
    if not ranked:
        return []
    scores = [score for _, score in ranked]
    top, bottom = max(scores), min(scores)
    spread = (top - bottom) or 1.0
    return [(score - bottom) / spread for score in scores]


def _dense_features(cosines: np.ndarray) -> dict:
    # e5 cosines are squeezed into 0.7-0.9, so a fixed cosine says little; how far the best chunk stands
    # above the rest of the notes for this very question says more.
    if cosines.size == 0:
        return {"dense_top": 0.0, "dense_z": 0.0}
    top = float(cosines.max())
    std = float(cosines.std()) or 1e-6
    return {"dense_top": top, "dense_z": (top - float(cosines.mean())) / std}


def _coverage(query_tokens, hits: list[Hit], tokens_of) -> float:
    """Share of the question's keyword tokens found in the top sections (either language)."""
    if not query_tokens:
        return 0.0
    found = set()
    for hit in hits:
        for chunk_index in hit.chunk_ids:
            found.update(tokens_of(chunk_index))
    wanted = set(query_tokens)
    return len(wanted & found) / len(wanted)
