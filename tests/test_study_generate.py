"""Quiz items from the notes' structure: keys in their evidence, both languages, every kind, same seed same quiz."""
from __future__ import annotations

from collections import Counter

import pytest

from rag.study import quiz
from rag.study.generate import build_bank, cell_items, parse, select
from tests.study_fixtures import bank, settings  # noqa: F401  (fixtures)


def test_every_key_is_written_in_its_evidence_line(bank):
    assert len(bank) > 100
    for item in bank:
        assert item.answer and item.answer in item.evidence, item.id
        if item.kind in ("mc", "order"):
            assert set(item.choices) >= ({item.answer} if item.kind == "mc" else set(item.answer.split(" > ")))


def test_every_kind_in_both_languages(bank):
    kinds = Counter((it.language, it.kind) for it in bank)
    for lang in ("ko", "en"):
        for kind in ("short", "mc", "order", "term"):
            assert kinds[(lang, kind)] >= 1, (lang, kind)


def test_sequence_becomes_an_ordering_item(bank):
    order = [it for it in bank if it.kind == "order" and it.language == "ko"]
    assert order and order[0].answer.split(" > ")[0] == "데이터 준비"
    assert list(order[0].choices) != order[0].answer.split(" > ")   # shown shuffled
    assert order[0].answer_alt.startswith("data preparation")


def test_comparison_tables_ask_which_of_the_two(bank):
    two_way = {it.section: it for it in bank if it.kind == "mc" and len(it.choices) == 2}
    assert {"4.5", "5.7", "6.4"} <= set(two_way)
    cpu_gpu = [it for it in bank if it.section == "4.5" and it.language == "ko" and len(it.choices) == 2]
    assert {it.answer for it in cpu_gpu} == {"CPU", "GPU"}
    scheduling = next(it for it in bank if it.section == "6.4" and "대기 중인 작업 큐 관리" in it.question)
    assert scheduling.answer == "스케줄링" and scheduling.answer_alt == "Scheduling"


def test_term_pairs_skip_typos_the_companion_corrected(bank):
    terms = [it for it in bank if it.kind == "term"]
    assert any(it.answer == "병렬 처리" for it in terms) and any(it.answer.lower() == "parallel processing" for it in terms)
    assert not any("Coupmute" in it.answer or "pirpose" in it.answer for it in terms)


def test_mc_distractors_come_from_siblings_and_are_distinct(bank):
    for item in (it for it in bank if it.kind == "mc" and len(it.choices) == 4):
        assert len(set(item.choices)) == 4 and item.choices.count(item.answer) == 1


def test_same_seed_same_quiz_other_seed_other_quiz(settings):
    a = quiz.generate(["4"], "en", n=10, seed=3, settings=settings)
    b = quiz.generate(["4"], "en", n=10, seed=3, settings=settings)
    c = quiz.generate(["4"], "en", n=10, seed=4, settings=settings)
    assert [i.to_dict() for i in a] == [i.to_dict() for i in b]
    assert [i.id for i in a] != [i.id for i in c]
    assert len(a) == 10 and {i.chapter for i in a} == {"4"} and {i.language for i in a} == {"en"}
    assert len({i.id for i in a}) == 10
    assert sum(i.kind == "term" for i in a) <= 3    # term pairs do not crowd out the rest


def test_ids_do_not_depend_on_the_seed_and_the_json_shape(settings):
    ids = {i.id for s in range(5) for i in quiz.generate(None, "ko", n=10, seed=s, settings=settings)}
    for item_id in ids:
        assert quiz.find(item_id, settings).id == item_id
    item = quiz.generate(None, "ko", n=1, seed=0, settings=settings)[0]
    assert list(item.to_dict()) == ["id", "kind", "question", "choices", "answer", "section", "evidence", "language"]


def test_bad_requests_get_messages(settings):
    with pytest.raises(quiz.QuizError, match="9"):
        quiz.generate(["9"], "ko", settings=settings)
    with pytest.raises(quiz.QuizError, match="'ko' or 'en'"):
        quiz.generate(None, "fr", settings=settings)
    with pytest.raises(quiz.UnknownItemError, match="rag quiz --json"):
        quiz.find("ko-9.9-mc-00000000", settings)


def test_parser_reads_tables_and_cell_lists():
    from rag.types import Section

    text = "- A : b\n\n| 구분 | X 방식 | Y 방식 |\n|---|---|---|\n| 장점 | - 빠름 - 큼 | 작음 |"
    parsed = parse(Section("d", "1.1", "t", "1", "c", "ko", text))
    assert parsed.lines[0].text == "A : b"
    assert parsed.tables[0].header == ["구분", "X 방식", "Y 방식"] and cell_items(parsed.tables[0].rows[0][1]) == ["빠름", "큼"]
    items = build_bank([Section("d", "1.1", "t", "1", "c", "ko", text)])
    assert any(it.answer == "X 방식" and "빠름" in it.question for it in items)
    assert select(items, n=100, seed=1) and select(items, n=2, seed=1) == select(items, n=2, seed=1)
