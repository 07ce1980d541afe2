import re

import pytest

from rag.errors import NotesError
from rag.ingest.chunking import chunk_section, split_blocks
from rag.ingest.loaders import load_notes
from rag.ingest.sections import parse_sections
from rag.types import Section
from tests.conftest import CORPUS

SEED_HEADINGS = re.compile(r"^(\d+\.\d+) (.+)$", re.MULTILINE)


def test_seed_parses_into_every_section_with_number_and_title(seed_text):
    parsed = parse_sections(seed_text, "seed.txt", doc="seed", language="ko")
    expected = SEED_HEADINGS.findall(seed_text)
    assert len(expected) == 31
    assert [(s.section, s.title) for s in parsed.sections] == expected
    by_number = {s.section: s for s in parsed.sections}
    assert by_number["4.5"].chapter_title == "GPU로 AI 가속화"
    assert "반응형" not in by_number["1.1"].text
    assert "카테고리" not in by_number["6.4"].text   # blog chrome after the notes is dropped
    assert not parsed.warnings


def test_seed_tables_stay_whole_in_one_chunk(seed_text):
    sections = {s.section: s for s in parse_sections(seed_text, "seed.txt").sections}
    for number, first, last in (("4.5", "구분 | CPU | GPU", "낮은 스레드 단위 성능"),
                                ("5.7", "항목 | Workload", "컨택트 센터"),
                                ("6.4", "오케스트레이션 | 스케줄링", "메타 스케줄러")):
        tables = [lines for kind, lines in split_blocks(sections[number].text) if kind == "table"]
        assert len(tables) == 1, number
        table = "\n".join(tables[0])
        assert first in table and last in table
        chunks = chunk_section(sections[number])
        assert sum(first in c.text and last in c.text for c in chunks) == 1


def test_markdown_corpus_has_both_languages_with_the_same_sections():
    notes = load_notes([CORPUS])
    numbers = {lang: [s.section for s in notes.sections if s.language == lang] for lang in ("ko", "en")}
    assert len(numbers["ko"]) == 31 and numbers["ko"] == numbers["en"]
    assert {s.doc for s in notes.sections} == {"nvidia-ai-infra-1"}
    table = next(s for s in notes.sections if s.section == "4.5" and s.language == "en").text
    assert "| --- |" in table.replace("---|", "--- |") or "|---|" in table


def test_long_table_splits_by_rows_each_keeping_the_header():
    rows = "\n".join(f"| row {i} | {'x' * 60} |" for i in range(30))
    section = Section("d", "1.1", "T", "1", "C", "en", f"| name | value |\n|---|---|\n{rows}")
    chunks = chunk_section(section, max_chars=400, overlap=50)
    assert len(chunks) > 1
    assert all(c.text.startswith("| name | value |\n|---|---|") for c in chunks)
    assert all(c.section == "1.1" for c in chunks)
    body_rows = [line for c in chunks for line in c.text.splitlines()[2:]]
    assert body_rows == rows.splitlines()


def test_long_prose_section_splits_with_overlap_and_keeps_its_number():
    lines = [f"- sentence number {i} " + "word " * 20 for i in range(20)]
    section = Section("d", "2.3", "T", "2", "C", "en", "\n".join(lines))
    chunks = chunk_section(section, max_chars=300, overlap=120)
    assert len(chunks) > 3 and all(c.section == "2.3" for c in chunks)
    for previous, following in zip(chunks, chunks[1:]):
        assert previous.text.splitlines()[-1] in following.text   # overlap carries the last line on


def test_duplicate_and_empty_sections_are_warned_with_file_and_line():
    text = "1. Chapter\n1.1 First\nalpha\n1.2 Empty\n1.1 Again\nbeta\n"
    parsed = parse_sections(text, "notes.txt")
    messages = [str(w) for w in parsed.warnings]
    assert any("notes.txt:4" in m and "no text" in m for m in messages)
    assert any("notes.txt:5" in m and "duplicate section number 1.1" in m for m in messages)
    first = next(s for s in parsed.sections if s.section == "1.1")
    assert "alpha" in first.text and "beta" in first.text   # nothing lost


def test_bad_files_are_skipped_with_a_warning_and_the_rest_indexed(tmp_path):
    (tmp_path / "good.md").write_text("## 1. C\n### 1.1 Good\ntext\n", encoding="utf-8")
    (tmp_path / "cp949.txt").write_bytes("1.1 제목\n본문".encode("cp949"))
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02" * 100)
    notes = load_notes([tmp_path])
    assert [s.title for s in notes.sections] == ["Good"]
    warnings = "\n".join(map(str, notes.warnings))
    assert "cp949.txt" in warnings and "UTF-8" in warnings
    assert "binary.md" in warnings and "binary" in warnings


def test_no_readable_notes_is_an_error_naming_the_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes("1.1 제목\n본문".encode("cp949"))
    with pytest.raises(NotesError, match="notes.txt"):
        load_notes([bad])


def test_a_second_file_numbered_from_one_continues_after_the_first(tmp_path):
    """Two lectures of one course, each numbered from 1: the second is cited as the chapters after the first, so a
    citation names one place; a companion in the other language keeps the numbers of its notes."""
    from rag.ingest.loaders import load_notes

    (tmp_path / "a.md").write_text("# 1. Rocks\n\n## 1.1 Basalt\nBasalt is dark.\n\n# 2. Soil\n\n## 2.1 Clay\nClay is fine.\n",
                                   encoding="utf-8")
    (tmp_path / "b.en.md").write_text("# 1. Water\n\n## 1.1 Rivers\nRivers flow.\n", encoding="utf-8")
    (tmp_path / "b.ko.md").write_text("# 1. 물\n\n## 1.1 강\n강은 흐른다.\n", encoding="utf-8")
    loaded = load_notes([tmp_path])
    numbers = {(s.doc, s.language, s.section) for s in loaded.sections}
    assert ("a", "en", "1.1") in numbers and ("b", "en", "3.1") in numbers and ("b", "ko", "3.1") in numbers
    assert len({(s.language, s.section) for s in loaded.sections}) == len(loaded.sections)
    assert any("b.en.md" in str(w) and "3.1" in str(w) for w in loaded.warnings)


def test_answer_lines_carry_no_markdown_emphasis():
    from rag.ingest.chunking import section_units
    from rag.types import Section

    text = ("**pH**\n- pH = -log[H+], and **neutral** water has pH 7.\n* **Acids** have pH below 7.\n"
            "-5 °C is below freezing.\n| Term | Value |\n|---|---|\n| **boiling** | 100 °C |\n")
    units = section_units(Section("d", "1.1", "Acids", "1", "Chemistry", "en", text))
    # a bold line heads the line after it (joined, it gives that line its topic); a minus sign is no bullet
    assert units == ["pH: pH = -log[H+], and neutral water has pH 7.", "Acids have pH below 7.",
                     "-5 °C is below freezing.", "Term: boiling; Value: 100 °C"]
