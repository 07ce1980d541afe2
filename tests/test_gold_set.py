"""Validates the bilingual gold set (evals/gold_dev.jsonl, evals/gold_test.jsonl) and the follow-up set
against the course notes.

Sections are parsed from the corpus (``### N.M title`` lines in notes.ko.md and its English companion
notes.en.md). Besides the shape of each record, it checks that every key fact is actually written in the
gold sections and that every term an item marks as `missing` really is absent from both notes files: that is
what makes a wrong section number, a made-up fact or a "near miss" the notes do answer fail here rather than
skew the evaluation. The raw seed the notes were cleaned from is only needed for one comparison, which is
skipped on machines without it. The test split is frozen by its sha256, recorded in evals/SPLITS.md.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from evals import make_splits

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "evals" / "gold_dev.jsonl"
TEST = REPO / "evals" / "gold_test.jsonl"
SPLIT_FILES = {"dev": DEV, "test": TEST}
SPLITS_DOC = REPO / "evals" / "SPLITS.md"
FOLLOWUPS = REPO / "evals" / "gold_followups.jsonl"
# the raw notes, kept beside the repository on the machines that have them (not in it: it is not ours to ship)
SEED = REPO.parent / "shared" / "seed" / "000_1dc2d8eae4d279a7.txt"
NOTES_KO = REPO / "corpus" / "nvidia-ai-infra-1" / "notes.ko.md"
NOTES_EN = REPO / "corpus" / "nvidia-ai-infra-1" / "notes.en.md"

V1_FIELDS = {"id", "lang", "question", "answerable", "gold_sections", "key_facts", "type"}
SPLIT_FIELDS = {"split", "origin", "expected"}
NEW_ORIGINS = ("v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11")   # written for one split each, with a style and (refuse, partial) missing forms
FOLLOWUP_FIELDS = {"id", "lang", "history", "question", "gold_sections"}
TYPES = {"factoid", "list", "comparison", "definition", "crosslingual", "multi_section", "unanswerable"}
LANGS = {"ko", "en"}
EXPECTED = {"answer", "partial", "refuse"}
STYLES = {"paraphrase", "from_english", "multi_section", "near_miss_number", "near_miss_product",
          "near_miss_version", "near_miss_price", "near_miss_comparison", "near_miss_howto", "partial", "url",
          "other"}

SECTION_RE = re.compile(r"^(?:#{1,6}\s*)?(\d+)\.(\d+)\s+\S")
CHAPTER_RE = re.compile(r"^(?:#{1,6}\s*)?\d+\.\s+\S")
END_RE = re.compile(r"^\(source")  # the blog footer after 6.4 is not part of any section
HASH_RE = re.compile(r"sha256 of `evals/gold_test\.jsonl`: `([0-9a-f]{64})`")


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


def occurs(form: str, text: str) -> bool:
    """Does `form` occur in `text`? Latin forms as whole words ("TPU" is not in "output", "Riva" not in
    "arrival"); Korean forms as substrings, because Korean particles attach to the word."""
    form, text = _norm(form), _norm(text)
    if re.search(r"[가-힣]", form):
        return form in text
    return re.search(rf"(?<![a-z0-9]){re.escape(form)}(?![a-z0-9])", text) is not None


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def notes() -> dict[str, str]:
    return {"ko": NOTES_KO.read_text(encoding="utf-8"), "en": NOTES_EN.read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def sections(notes) -> dict[str, str]:
    """Section number -> the Korean section and its English companion together: a key fact may be written in
    either (the English companion translates the Korean notes one to one)."""
    ko, en = parse_sections(notes["ko"]), parse_sections(notes["en"])
    assert len(ko) == 31, f"expected 31 sections in {NOTES_KO}, parsed {sorted(ko)}"
    assert sorted(en) == sorted(ko), "notes.en.md must have the same section numbers as notes.ko.md"
    return {number: ko[number] + "\n" + en[number] for number in ko}


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {name: _read_jsonl(path) for name, path in SPLIT_FILES.items()}


@pytest.fixture(scope="module")
def gold(splits) -> list[dict]:
    return splits["dev"] + splits["test"]


@pytest.fixture(scope="module")
def followups() -> list[dict]:
    return _read_jsonl(FOLLOWUPS)


# --- helpers on hand-made input -------------------------------------------------------------------------

def test_parse_sections_on_a_hand_made_example():
    text = "1. Chapter\n1.1 First\n- a\n1.2 Second\n- b\n2. Next chapter\n2.1 Third\n- c\n(source : x)\nfooter"
    assert parse_sections(text) == {"1.1": "1.1 First\n- a", "1.2": "1.2 Second\n- b", "2.1": "2.1 Third\n- c"}


def test_occurs_matches_latin_words_whole_and_korean_inside_words():
    assert occurs("PUE", "a PUE of 1.5") and occurs("tb/s", "3 TB/s.") and occurs("GPU-hour", "per GPU-hour")
    assert not occurs("TPU", "output a result") and not occurs("Riva", "the arrival of GPUs")
    assert occurs("인텔", "멀티모달 인텔리전스")           # Korean: substring on purpose
    assert occurs("docker pull", "run docker   pull x")    # whitespace-normalised


# --- the raw seed (only where it is on the machine) -----------------------------------------------------

def test_corpus_copy_has_the_same_sections_as_the_seed():
    if not SEED.exists():
        pytest.skip(f"the raw seed {SEED} is not on this machine")
    seed = parse_sections(SEED.read_text(encoding="utf-8"))
    copy = parse_sections(NOTES_KO.read_text(encoding="utf-8"))
    assert sorted(seed) == sorted(copy)


# --- shape ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [DEV, TEST, FOLLOWUPS], ids=lambda p: p.name)
def test_files_are_utf8_jsonl_without_escaped_korean(path):
    raw = path.read_text(encoding="utf-8")
    assert "\\u" not in raw, "write with ensure_ascii=False"
    assert all(line.startswith("{") for line in raw.splitlines())


def test_fields_and_types(gold):
    for item in gold:
        keys = set(item)
        expected_keys = V1_FIELDS | SPLIT_FIELDS
        if item.get("origin") in NEW_ORIGINS:
            expected_keys = expected_keys | {"style"}
        if item.get("expected") == "partial" or (item.get("origin") in NEW_ORIGINS and item.get("expected") == "refuse"):
            expected_keys = expected_keys | {"missing"}
        assert keys == expected_keys, (item.get("id"), keys ^ expected_keys)
        assert item["lang"] in LANGS
        assert isinstance(item["question"], str) and item["question"].strip()
        assert isinstance(item["answerable"], bool)
        assert isinstance(item["gold_sections"], list)
        assert all(isinstance(s, str) and re.fullmatch(r"\d+\.\d+", s) for s in item["gold_sections"])
        assert len(set(item["gold_sections"])) == len(item["gold_sections"]), item["id"]
        assert isinstance(item["key_facts"], list)
        assert item["type"] in TYPES, item["id"]
        assert item["origin"] in {"v1", *NEW_ORIGINS} and item["expected"] in EXPECTED, item["id"]
        if "style" in item:
            assert item["style"] in STYLES, item["id"]
        if "missing" in item:
            assert item["missing"] and all(isinstance(f, str) and f.strip() for f in item["missing"]), item["id"]


def test_ids_follow_the_origin(gold):
    for item in gold:
        # v2 ids name the split they were written for: ko-t001 (test), ko-d001 (dev); v3, v4 (dev only): ko-e001, ko-f001
        v2_prefix = {"v3": "e", "v4": "f", "v5": "g", "v6": "h", "v7": "i", "v8": "j", "v9": "k", "v10": "l", "v11": "m"}.get(item["origin"]) or {"test": "t", "dev": "d"}[item["split"]]
        pattern = rf"{item['lang']}-\d{{3}}" if item["origin"] == "v1" else rf"{item['lang']}-{v2_prefix}\d{{3}}"
        assert re.fullmatch(pattern, item["id"]), item["id"]


def test_ids_unique_across_both_splits(gold):
    ids = Counter(item["id"] for item in gold)
    assert not [i for i, n in ids.items() if n > 1]


def test_no_question_is_asked_twice_or_in_both_splits(splits):
    texts = {name: Counter(_norm(item["question"]).strip() for item in items) for name, items in splits.items()}
    for name, counts in texts.items():
        assert not [q for q, n in counts.items() if n > 1], f"duplicate questions in {name}"
    # report only the shared questions: a failure here must not print the test split to whoever writes dev items
    shared = sorted(set(texts["dev"]) & set(texts["test"]))
    assert not shared, f"questions in both splits: {shared}"


def test_each_file_holds_its_own_split(splits):
    for name, items in splits.items():
        assert {item["split"] for item in items} == {name}
    for name, items in splits.items():
        origins = [item["origin"] for item in items]
        assert origins == sorted(origins, key=lambda o: int(o[1:])), f"{name}: the v1 half comes first, then v2, v3, ..."


def test_split_is_what_make_splits_writes(splits):
    """The v1 items were split by evals/make_splits.py with its fixed seed, not picked by hand."""
    dev_text, test_text = make_splits.build()
    assert dev_text == DEV.read_text(encoding="utf-8")
    assert test_text == TEST.read_text(encoding="utf-8")


def test_v1_split_is_stratified_by_language_and_type(splits):
    per_split = {name: Counter((i["lang"], i["type"]) for i in items if i["origin"] == "v1")
                 for name, items in splits.items()}
    for stratum in set(per_split["dev"]) | set(per_split["test"]):
        assert abs(per_split["dev"][stratum] - per_split["test"][stratum]) <= 1, stratum


def test_test_split_is_frozen_by_its_sha256():
    recorded = HASH_RE.findall(SPLITS_DOC.read_text(encoding="utf-8"))
    assert len(recorded) == 1, f"{SPLITS_DOC} must record exactly one sha256 of gold_test.jsonl"
    actual = hashlib.sha256(TEST.read_bytes()).hexdigest()
    assert actual == recorded[0], ("evals/gold_test.jsonl changed. It is the frozen test split: if the change is "
                                   "deliberate, record the new hash in evals/SPLITS.md and say why there")


def test_sizes(splits):
    assert len(splits["dev"]) >= 70 and len(splits["test"]) >= 70
    for split in ("dev", "test"):
        new = [i for i in splits[split] if i["origin"] == "v2"]
        assert len(new) >= 110, split
        assert sum(i["style"].startswith("near_miss_") for i in new) >= 45, split
        assert sum(i["expected"] == "partial" for i in new) >= 10, split


@pytest.mark.parametrize("split", ["dev", "test"])
def test_languages_balanced_within_ten_percent(splits, split):
    counts = Counter(item["lang"] for item in splits[split])
    assert abs(counts["ko"] - counts["en"]) <= 0.10 * len(splits[split]), counts


@pytest.mark.parametrize("split", ["dev", "test"])
def test_unanswerable_share(splits, split):
    refused = [item for item in splits[split] if not item["answerable"]]
    assert len(refused) >= 0.15 * len(splits[split])
    assert {item["lang"] for item in refused} == LANGS


def test_answerability_is_consistent(gold):
    for item in gold:
        if item["expected"] == "refuse":
            assert not item["answerable"] and item["type"] == "unanswerable", item["id"]
            assert item["gold_sections"] == [] and item["key_facts"] == [], item["id"]
        else:
            assert item["answerable"] and item["type"] != "unanswerable", item["id"]
            assert item["gold_sections"], item["id"]
            assert 1 <= len(item["key_facts"]) <= 4, item["id"]
        if item["expected"] == "partial":
            assert item["missing"], item["id"]


def test_type_specific_rules(gold):
    for item in gold:
        if item["type"] == "crosslingual":
            assert item["lang"] == "en", item["id"]
        if item["type"] == "multi_section" or item.get("style") == "multi_section":
            assert len(item["gold_sections"]) >= 2, item["id"]


def test_every_type_is_used(gold):
    assert {item["type"] for item in gold} == TYPES


def test_key_facts_are_lists_of_nonempty_strings(gold):
    for item in gold:
        for fact in item["key_facts"]:
            assert isinstance(fact, list) and fact, item["id"]
            assert all(isinstance(form, str) and form.strip() for form in fact), item["id"]


def test_new_key_facts_are_not_given_away_by_the_question(gold):
    """A fact the question already contains is scored as recalled by any answer that repeats the question."""
    for item in gold:
        if item["origin"] in NEW_ORIGINS:
            for fact in item["key_facts"]:
                assert not any(_norm(form) in _norm(item["question"]) for form in fact), (item["id"], fact)


def test_gold_sections_exist_in_the_notes(gold, sections):
    for item in gold:
        missing = set(item["gold_sections"]) - set(sections)
        assert not missing, f"{item['id']}: unknown sections {missing}"


@pytest.mark.parametrize("split", ["dev", "test"])
def test_every_section_is_covered(splits, sections, split):
    coverage = Counter(s for item in splits[split] for s in item["gold_sections"])
    thin = [s for s in sections if coverage[s] < 1]
    assert not thin, f"sections no {split} item answers: {thin}"


def test_every_section_is_covered_twice_overall(gold, sections):
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


def test_missing_terms_are_absent_from_both_notes_files(gold, notes):
    """A near miss is only a near miss if the notes really lack what it asks for (grep both languages)."""
    present = [(item["id"], form) for item in gold for form in item.get("missing", [])
               if occurs(form, notes["ko"]) or occurs(form, notes["en"])]
    assert not present, f"terms marked missing that the notes contain: {present}"


def test_missing_terms_name_what_the_question_asks(gold):
    for item in gold:
        if "missing" in item:
            assert any(_norm(form) in _norm(item["question"]) for form in item["missing"]), item["id"]


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
