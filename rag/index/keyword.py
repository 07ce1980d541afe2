"""BM25 over keyword tokens (Kiwi morphemes for Korean, lower-cased words for Latin script).

Written by hand because it is ~40 lines and needs our tokens, not a library's English tokenizer.
"""
from __future__ import annotations

import math
from collections import Counter


class BM25Index:
    def __init__(self, docs_tokens: list[tuple[str, ...]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.docs_tokens = [tuple(t) for t in docs_tokens]
        self.term_freqs = [Counter(tokens) for tokens in self.docs_tokens]
        self.lengths = [len(tokens) for tokens in self.docs_tokens]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        n = len(self.docs_tokens)
        document_freq = Counter(term for freqs in self.term_freqs for term in freqs)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in document_freq.items()}
        self.postings: dict[str, list[int]] = {}
        for doc_id, freqs in enumerate(self.term_freqs):
            for term in freqs:
                self.postings.setdefault(term, []).append(doc_id)

    def scores(self, query_tokens) -> dict[int, float]:
        """Score only documents that share a term with the query (sparse)."""
        scores: dict[int, float] = {}
        for term in set(query_tokens):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc_id in self.postings[term]:
                tf = self.term_freqs[doc_id][term]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[doc_id] / (self.avg_length or 1))
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * tf * (self.k1 + 1) / (tf + norm)
        return scores

    def search(self, query_tokens, k: int) -> list[tuple[int, float]]:
        ranked = sorted(self.scores(query_tokens).items(), key=lambda item: (-item[1], item[0]))
        return ranked[:k]

    def max_possible(self, query_tokens) -> float:
        """Score of an ideal document holding every query term once: normalises scores across queries."""
        return sum(self.idf.get(t, 0.0) for t in set(query_tokens))
