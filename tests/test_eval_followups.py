import json

from evals.followups import run_followups, to_markdown


def test_rule_rewrite_brings_back_the_topic_of_the_conversation(make_engine, tmp_path):
    gold = tmp_path / "fu.jsonl"
    item = {"id": "fu-1", "lang": "en", "question": "and its weaknesses?", "gold_sections": ["4.5"],
            "history": [{"role": "user", "content": "CPU vs. GPU: what are the strengths of a GPU?"},
                        {"role": "assistant", "content": "Far more compute resources [4.5]"}]}
    gold.write_text(json.dumps(item) + "\n", encoding="utf-8")
    result = run_followups(gold, make_engine(), "extractive")
    row = result["items"][0]
    assert row["standalone"].startswith("CPU vs. GPU") and row["standalone"].endswith("and its weaknesses?")
    assert "4.5" in row["rewritten"]
    assert result["recall@5_rewritten"] == 1.0 and result["recall@5_rewritten"] >= result["recall@5_raw"]
    assert "fu-1" in to_markdown(result)
