"""Validates the bilingual gold set (evals/gold.jsonl) and its follow-up set against the course notes.

The section numbers are parsed from the raw seed notes (``N.M title`` lines), falling back to the cleaned
corpus copy (``### N.M title``) when the seed is not on this machine, so the check still runs in CI.
Besides the shape of each record, it checks that every key fact is actually written in the gold sections:
that is what makes a wrong section number or a made-up fact fail here rather than skew the evaluation.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "evals" / "gold.jsonl"
FOLLOWUPS = REPO / "evals" / "gold_followups.jsonl"
SEED = Path("/work/shared/seed/000_1dc2d8eae4d279a7.txt")
CORPUS_COPY = REPO / "corpus" / "nvidia-ai-infra-1" / "notes.ko.md"

FIELDS = {"id", "lang", "question", "answerable", "gold_sections", "key_facts", "type"}
FOLLOWUP_FIELDS = {"id", "lang", "history", "question", "gold_sections"}
TYPES = {"factoid", "list", "comparison", "definition", "crosslingual", "multi_section", "unanswerable"}
LANGS = {"ko", "en"}

SECTION_RE = re.compile(r"^(?:#{1,6}\s*)?(\d+)\.(\d+)\s+\S")
CHAPTER_RE = re.compile(r"^(?:#{1,6}\s*)?\d+\.\s+\S")
END_RE = re.compile(r"^\(source")  # the blog footer after 6.4 is not part of any section


def parse_sections(text: str) -> dict[str, str]:
    """Section number -> its text (title line included), from ``N.M title`` lines."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        match = SECTION_RE.match(stripped)
        if match:
            current = f"{match.group(1)}.{match.group(2)}"
            sections[current] = [stripped]
        elif CHAPTER_RE.match(stripped) or END_RE.match(stripped):
            current = None
        elif current is not None:
            sections[current].append(stripped)
    return {number: "\n".join(lines) for number, lines in sections.items()}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def sections() -> dict[str, str]:
    source = SEED if SEED.exists() else CORPUS_COPY
    if not source.exists():
        pytest.skip(f"no course notes found at {SEED} or {CORPUS_COPY}")
    parsed = parse_sections(source.read_text(encoding="utf-8"))
    assert len(parsed) == 31, f"expected 31 sections in {source}, parsed {sorted(parsed)}"
    return parsed


@pytest.fixture(scope="module")
def gold() -> list[dict]:
    return _read_jsonl(GOLD)


@pytest.fixture(scope="module")
def followups() -> list[dict]:
    return _read_jsonl(FOLLOWUPS)


def test_parse_sections_on_a_hand_made_example():
    text = "1. Chapter\n1.1 First\n- a\n1.2 Second\n- b\n2. Next chapter\n2.1 Third\n- c\n(source : x)\nfooter"
    assert parse_sections(text) == {"1.1": "1.1 First\n- a", "1.2": "1.2 Second\n- b", "2.1": "2.1 Third\n- c"}


def test_corpus_copy_has_the_same_sections_as_the_seed():
    if not (SEED.exists() and CORPUS_COPY.exists()):
        pytest.skip("needs both the raw seed and the corpus copy")
    seed = parse_sections(SEED.read_text(encoding="utf-8"))
    copy = parse_sections(CORPUS_COPY.read_text(encoding="utf-8"))
    assert sorted(seed) == sorted(copy)


def test_file_is_utf8_jsonl_without_escaped_korean():
    raw = GOLD.read_text(encoding="utf-8")
    assert "\\u" not in raw, "write with ensure_ascii=False"
    assert all(line.startswith("{") for line in raw.splitlines())


def test_size(gold):
    assert len(gold) >= 130


def test_fields_and_types(gold):
    for item in gold:
        assert set(item) == FIELDS, item.get("id")
        assert isinstance(item["id"], str) and item["id"].startswith(item["lang"] + "-")
        assert item["lang"] in LANGS
        assert isinstance(item["question"], str) and item["question"].strip()
        assert isinstance(item["answerable"], bool)
        assert isinstance(item["gold_sections"], list)
        assert all(isinstance(s, str) and re.fullmatch(r"\d+\.\d+", s) for s in item["gold_sections"])
        assert len(set(item["gold_sections"])) == len(item["gold_sections"]), item["id"]
        assert isinstance(item["key_facts"], list)
        assert item["type"] in TYPES


def test_ids_unique(gold):
    ids = [item["id"] for item in gold]
    assert len(ids) == len(set(ids))


def test_languages_balanced_within_ten_percent(gold):
    counts = Counter(item["lang"] for item in gold)
    assert abs(counts["ko"] - counts["en"]) <= 0.10 * len(gold), counts


def test_unanswerable_share(gold):
    unanswerable = [item for item in gold if not item["answerable"]]
    assert len(unanswerable) >= 0.15 * len(gold)
    assert {item["lang"] for item in unanswerable} == LANGS


def test_answerability_is_consistent(gold):
    for item in gold:
        if item["answerable"]:
            assert item["type"] != "unanswerable", item["id"]
            assert item["gold_sections"], item["id"]
            assert 1 <= len(item["key_facts"]) <= 4, item["id"]
        else:
            assert item["type"] == "unanswerable", item["id"]
            assert item["gold_sections"] == [] and item["key_facts"] == [], item["id"]


def test_type_specific_rules(gold):
    for item in gold:
        if item["type"] == "crosslingual":
            assert item["lang"] == "en", item["id"]
        if item["type"] == "multi_section":
            assert len(item["gold_sections"]) >= 2, item["id"]


def test_every_type_is_used(gold):
    assert {item["type"] for item in gold} == TYPES


def test_key_facts_are_lists_of_nonempty_strings(gold):
    for item in gold:
        for fact in item["key_facts"]:
            assert isinstance(fact, list) and fact, item["id"]
            assert all(isinstance(form, str) and form.strip() for form in fact), item["id"]


def test_gold_sections_exist_in_seed(gold, sections):
    for item in gold:
        missing = set(item["gold_sections"]) - set(sections)
        assert not missing, f"{item['id']}: unknown sections {missing}"


def test_every_seed_section_is_covered_twice(gold, sections):
    coverage = Counter(s for item in gold for s in item["gold_sections"])
    thin = {s: coverage[s] for s in sections if coverage[s] < 2}
    assert not thin, f"sections with fewer than 2 items: {thin}"


def test_tables_have_several_items(gold):
    coverage = Counter(s for item in gold for s in item["gold_sections"])
    for table_section in ("4.5", "5.7", "6.4"):
        assert coverage[table_section] >= 4, table_section


def test_key_facts_are_written_in_the_gold_sections(gold, sections):
    """Each gold section alone answers a single-section item, so each must contain every key fact;
    a multi_section item needs its sections together, so the facts are looked up in their union."""
    problems = []
    for item in gold:
        if not item["answerable"]:
            continue
        if item["type"] == "multi_section":
            texts = {"+".join(item["gold_sections"]): " ".join(sections[s] for s in item["gold_sections"])}
        else:
            texts = {s: sections[s] for s in item["gold_sections"]}
        for number, text in texts.items():
            haystack = _norm(text)
            for fact in item["key_facts"]:
                if not any(_norm(form) in haystack for form in fact):
                    problems.append(f"{item['id']} [{number}] lacks {fact}")
    assert not problems, "\n".join(problems)


def test_followups_shape(followups, sections):
    assert len(followups) == 10
    assert len({item["id"] for item in followups}) == 10
    for item in followups:
        assert set(item) == FOLLOWUP_FIELDS, item.get("id")
        assert item["lang"] in LANGS
        assert isinstance(item["question"], str) and item["question"].strip()
        history = item["history"]
        assert history and len(history) % 2 == 0, item["id"]
        assert [turn["role"] for turn in history] == ["user", "assistant"] * (len(history) // 2), item["id"]
        assert all(set(turn) == {"role", "content"} and turn["content"].strip() for turn in history)
        assert set(item["gold_sections"]) <= set(sections), item["id"]
    assert {item["lang"] for item in followups} == LANGS
