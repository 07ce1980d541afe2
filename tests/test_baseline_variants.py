"""The llama-index baseline's variants: today's top-2 defaults and top-5 at our chunk budget."""
from __future__ import annotations

import pytest

pytest.importorskip("llama_index.core")

from evals import baseline_llamaindex as bl  # noqa: E402
from rag.errors import ConfigError  # noqa: E402
from test_eval_runner import NOTES, _HashEmbedding, _sections, _write_gold  # noqa: E402

GOLD = [
    {"id": "e1", "lang": "en", "question": "What does vGPU share between virtual machines?",
     "answerable": True, "gold_sections": ["5.2"], "key_facts": [["virtual machines"]]},
    {"id": "e2", "lang": "en", "question": "How many GPUs does a GPU server pack?",
     "answerable": True, "gold_sections": ["4.6"], "key_facts": [["eight"]]},
]


@pytest.fixture
def notes(tmp_path):
    path = tmp_path / "notes.en.md"
    path.write_text(NOTES, encoding="utf-8")
    return path


def test_our_chunk_budget_is_counted_in_characters(notes):
    emb = _HashEmbedding.build()
    in_chars, _ = bl.build_index([notes], emb, 120, 20, in_characters=True)
    in_tokens, _ = bl.build_index([notes], emb, 120, 20)
    char_nodes = [n.get_content() for n in in_chars.docstore.docs.values()]
    assert max(len(t) for t in char_nodes) <= 120
    assert len(char_nodes) > len(in_tokens.docstore.docs)     # 120 tokens hold far more than 120 characters


def test_variants_differ_in_depth_and_chunking(notes, tmp_path):
    gold = _write_gold(tmp_path, GOLD)
    emb, sections = _HashEmbedding.build(), _sections(notes)
    top2 = bl.run_baseline(gold, sections, emb, chunk_size=40)
    top5 = bl.run_baseline(gold, sections, emb, variant_name="top5", chunk_budget=(120, 20))
    assert (top2["variant"], top2["top_k"], top5["variant"], top5["top_k"]) == ("top2", 2, "top5", 5)
    assert "120/20 characters" in top5["description"] and "1024/200 tokens" in top2["description"]
    assert all(len(item["retrieved"]) <= 2 for item in top2["items"])
    assert max(len(item["retrieved"]) for item in top5["items"]) > 2   # deeper: more sections per question
    assert top5["metrics"]["all"]["recall@5"] >= top2["metrics"]["all"]["recall@1"]
    with pytest.raises(ConfigError, match="top2, top5"):
        bl.run_baseline(gold, sections, emb, variant_name="top9")


def test_side_by_side_table_has_a_column_per_run():
    metrics = {lang: {"recall@1": 0.5, "recall@5": 0.75, "mrr@10": 0.6} for lang in ("all", "ko", "en")}
    worse = {lang: {"recall@1": 0.25, "recall@5": None, "mrr@10": 0.3} for lang in ("all", "ko", "en")}
    table = bl.side_by_side({"ours": {"description": "x", "metrics": metrics},
                             "llama-index top5": {"description": "y", "metrics": worse, "nodes": 12,
                                                  "context_hit": 0.5}}, "evals/gold_dev.jsonl")
    assert "| metric | ours | llama-index top5 |" in table
    assert "| recall@5 ko | 0.750 | - |" in table and "| mrr@10 en | 0.600 | 0.300 |" in table
    assert "| nodes in the index | - | 12 |" in table
