"""Property tests (hypothesis): the section parser, the tokenizer and question cleaning on arbitrary text.

Bounded (max_examples) so that the suite stays fast; deadline None because Kiwi's first call loads a model.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer import prepare_question
from rag.errors import QuestionError
from rag.ingest.sections import _tidy, parse_sections
from rag.text.tokenize import tokenize

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMBER = re.compile(r"^\d{1,3}(\.\d{1,3})+$")

# Text that looks like notes: headings, numbers, tables, Hangul, control characters, surrogates.
_pieces = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["### ", "## ", "# ", "1.", "4.5 ", "10.2.3 ", "3. ", "| a | b |", "|---|---|", "\n", "\n\n",
                     "---\n", "doc: x\n", "반응형", "카테고리의 다른 글", "GPU", "병렬 처리", "\x00", "\ud800", "\r\n",
                     "\u2028", "\t", "    "]),
)
notes_like = st.lists(_pieces, max_size=40).map("".join)


@FUZZ
@given(notes_like)
def test_parser_never_raises_and_numbers_are_well_formed(text):
    parsed = parse_sections(text, "fuzz.md")
    numbers = [s.section for s in parsed.sections]
    assert len(numbers) == len(set(numbers))               # duplicates are merged, with a warning
    for section in parsed.sections:
        assert NUMBER.match(section.section), section.section
        assert section.title.strip() and section.chapter == section.section.split(".")[0]
        assert section.line >= 1
    for warning in parsed.warnings:
        assert warning.source == "fuzz.md" and warning.line >= 0


_word = st.text(alphabet=st.sampled_from(list("abcdefgxyzGPU가나다라병렬처리 ,;()")), min_size=1, max_size=12).filter(
    lambda w: w.strip())
_line = st.lists(_word, min_size=1, max_size=8).map(" ".join).map(str.strip).filter(bool)


@st.composite
def well_formed_notes(draw):
    """Chapters with numbered sections; bodies are lines that can't be taken for headings."""
    sections, lines = [], []
    for chapter in range(1, draw(st.integers(1, 3)) + 1):
        lines.append(f"## {chapter}. {draw(_line)}")
        for number in range(1, draw(st.integers(1, 4)) + 1):
            title, body = draw(_line), draw(st.lists(_line, min_size=1, max_size=5))
            lines.append(f"### {chapter}.{number} {title}")
            lines.extend(body)
            lines.append("")
            sections.append((f"{chapter}.{number}", title, body))
    return "\n".join(lines), sections


@FUZZ
@given(well_formed_notes())
def test_parser_keeps_every_section_and_every_body_line(case):
    text, expected = case
    parsed = parse_sections(text, "well.md")
    assert [(s.section, s.title) for s in parsed.sections] == [(n, t) for n, t, _ in expected]
    for section, (_, _, body) in zip(parsed.sections, expected):
        assert section.text == _tidy(body)                 # nothing outside headings is lost
    assert parsed.warnings == []


@FUZZ
@given(st.text(max_size=200))
def test_tokenizer_never_raises_and_is_deterministic(text):
    tokens = tokenize(text)
    assert isinstance(tokens, tuple)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)
    assert all(t == t.lower() for t in tokens if t.isascii())   # Latin is lower-cased
    tokenize.cache_clear()
    assert tokenize(text) == tokens


@FUZZ
@given(st.text(alphabet=st.characters(codec=None), max_size=300), st.integers(min_value=1, max_value=400))
def test_question_is_rejected_or_clean(question, limit):
    try:
        clean, language, notice = prepare_question(question, limit)
    except QuestionError as exc:
        assert str(exc)   # always a message for the student
        return
    assert clean and clean == clean.strip() and len(clean) <= limit
    assert all(ch.isprintable() and not "\ud800" <= ch <= "\udfff" for ch in clean)
    clean.encode("utf-8")
    assert language in ("ko", "en") and isinstance(notice, str)


@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("\ud800", []),
    ("### 1.1", []),                                  # a numbered heading with no title and no text
    ("1.1 \n" * 3, []),                               # numbers that are not headings
    ("#" * 7 + " 1.1 x", []),                         # seven #'s is not a Markdown heading
    ("| 1.1 | x |", []),                              # a table cell
    ("### 1.1 Title\nbody\n", [("1.1", "Title", "body")]),
    ("### 1.1 Title\nbody\n####### 1.3 x\n### 1.2 Next\nmore\n", [("1.1", "Title", None), ("1.2", "Next", "more")]),
])
def test_parser_edge_cases(text, expected):
    parsed = parse_sections(text, "edge.md")
    got = [(s.section, s.title, s.text) for s in parsed.sections]
    assert [(n, t) for n, t, _ in got] == [(n, t) for n, t, _ in expected]
    for (_, _, text_got), (_, _, text_expected) in zip(got, expected):
        assert text_got == text_expected if text_expected is not None else text_got.startswith("body")
