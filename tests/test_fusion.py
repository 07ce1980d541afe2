"""How the keyword and dense legs become one ranking (rag/retrieve.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

from rag.errors import ConfigError
from rag.retrieve import Retriever, _scaled
from rag.types import Chunk


def _retriever(fusion: str, dense_weight: float = 2.0, line_weight: float = 1.0) -> Retriever:
    chunks = [Chunk(id=f"notes:en:{s}:0", doc="notes", section=s, title=f"title {s}", chapter_title="chapter",
                    language="en", text=f"text {s}") for s in ["1.1", "2.1", "3.1"]]
    settings = SimpleNamespace(fusion=fusion, dense_weight=dense_weight, line_weight=line_weight, rrf_k=60)
    return Retriever(chunks, [("a",), ("b",), ("c",)], dense=None, embedder=None, glossary=None, settings=settings)


def test_scaled_scores_run_from_one_for_the_best_to_zero_for_the_last():
    assert _scaled([(0, 9.0), (1, 5.0), (2, 1.0)]) == [1.0, 0.5, 0.0]
    assert _scaled([(0, 0.8), (1, 0.8)]) == [0.0, 0.0]   # no spread: no leg can lift a section above another
    assert _scaled([]) == []


def test_score_fusion_lets_a_clear_dense_winner_beat_a_narrow_keyword_winner():
    # keyword: 1.1 barely ahead of 2.1; dense: 2.1 far ahead of 1.1. Rank fusion calls it a tie (1.1 first by
    # its best rank); score fusion sees the margins.
    legs = {"keyword": [(0, 10.0), (1, 9.8), (2, 1.0)], "dense": [(1, 0.90), (0, 0.80), (2, 0.79)]}
    by_score = [h.section for h in _retriever("score")._fuse(legs)]
    assert by_score[0] == "2.1"
    by_rank = [h.section for h in _retriever("rrf")._fuse(legs)]
    assert by_rank[0] == "1.1"


def test_an_unknown_fusion_is_a_config_error_that_names_the_choices():
    with pytest.raises(ConfigError, match="score, rrf"):
        _retriever("average")


def test_the_line_leg_is_weighted_and_can_decide_a_tie_between_the_other_legs():
    # keyword prefers 1.1, dense prefers 2.1 by the same scaled margin; the line leg (one best line per
    # section) tips it, and only with a weight above zero
    legs = {"keyword": [(0, 10.0), (1, 5.0), (2, 0.0)], "dense": [(1, 0.9), (0, 0.85), (2, 0.8)],
            "lines": [(1, 0.95), (2, 0.9), (0, 0.7)]}
    assert [h.section for h in _retriever("score", dense_weight=1.0)._fuse(legs)][0] == "2.1"
    legs["lines"] = [(0, 0.95), (2, 0.9), (1, 0.7)]
    assert [h.section for h in _retriever("score", dense_weight=1.0)._fuse(legs)][0] == "1.1"
    hit = _retriever("score", dense_weight=1.0)._fuse(legs)[0]
    assert hit.leg_ranks == {"keyword": 1, "dense": 2, "lines": 1}


def test_line_index_ranks_sections_by_their_best_line():
    from rag.retrieve import LineIndex

    # lines 0-1 are in chunk 0 (section 1.1), line 2 in chunk 1 (2.1), line 3 in chunk 2 (3.1)
    cosines = np.array([0.2, 0.9, 0.5, 0.7], dtype="float32")
    chunk_sections = [("notes", "1.1"), ("notes", "2.1"), ("notes", "3.1")]
    ranked = LineIndex(None, [0, 0, 1, 2]).ranked(cosines, chunk_sections, candidates=5)
    assert ranked == [(0, pytest.approx(0.9)), (2, pytest.approx(0.7)), (1, pytest.approx(0.5))]
    assert len(LineIndex(None, [0, 0, 1, 2]).ranked(cosines, chunk_sections, candidates=2)) == 2
