"""Labelled questions: reading questions.jsonl, the section prior, the re-ranking, the index and evaluation."""
from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest

from evals import make_question_bank
from evals.make_splits import TEST, read_jsonl
from rag.errors import IndexMismatchError
from rag.index import store
from rag.index.question_bank import QuestionBank, held_out, rerank
from rag.ingest.questions import LabelledQuestion, find_question_files, load_questions
from rag.types import Hit
from tests.conftest import CORPUS

KNOWN = {("course", "1.1"), ("course", "1.2"), ("course", "2.1")}


def _write(folder, lines):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_warnings_naming_the_line_and_the_rest_is_read(tmp_path):
    path = _write(tmp_path / "course", [
        json.dumps({"id": "a", "question": "What is alpha?", "sections": ["1.1"], "origin": "w1"}),
        "{not json",
        json.dumps({"question": "", "sections": ["1.1"]}),
        json.dumps({"question": "Where is beta?", "sections": ["9.9"]}),
        json.dumps({"question": "Where is gamma?", "sections": "1.2"}),
        "",
        json.dumps({"question": "And delta?", "sections": ["1.2", "2.1"]}),
    ])
    loaded = load_questions([tmp_path / "course"], KNOWN)
    assert [q.question for q in loaded.questions] == ["What is alpha?", "And delta?"]
    assert loaded.questions[0] == LabelledQuestion("a", "What is alpha?", "course", ("1.1",), "w1")
    assert loaded.questions[1].sections == ("1.2", "2.1") and loaded.questions[1].id == "course:7"
    where = {w.line: w.message for w in loaded.warnings}
    assert sorted(where) == [2, 3, 4, 5]
    assert "not JSON" in where[2] and '"question"' in where[3] and "9.9" in where[4] and "non-empty list" in where[5]
    assert all(w.source == str(path) for w in loaded.warnings)


def test_question_files_are_found_in_notes_folders_and_beside_notes_files(tmp_path):
    inside = _write(tmp_path / "a" / "course", ["{}"])
    beside = _write(tmp_path / "b", ["{}"])
    (tmp_path / "b" / "notes.md").write_text("### 1.1 X\nx\n", encoding="utf-8")
    assert find_question_files([tmp_path / "a"]) == [inside]
    assert find_question_files([tmp_path / "b" / "notes.md"]) == [beside]
    assert find_question_files([tmp_path / "a", tmp_path / "a" / "course"]) == [inside]   # once
    changed = load_questions([tmp_path / "a"], set()).content_hash
    inside.write_text("[]\n", encoding="utf-8")
    assert load_questions([tmp_path / "a"], set()).content_hash != changed


def _bank():
    questions = [LabelledQuestion("q1", "x", "d", ("1.1",), "w1"), LabelledQuestion("q2", "y", "d", ("1.2",), "w2"),
                 LabelledQuestion("q3", "z", "d", ("1.2", "2.1"), "w2"), LabelledQuestion("q4", "v", "d", ("3.1",), "w3")]
    vectors = np.array([[1, 0, 0], [0.9, 0.436, 0], [0.8, 0.6, 0], [0, 0, 1]], dtype="float32")
    return QuestionBank(questions, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def test_the_prior_is_the_share_of_the_nearest_questions_each_section_answered():
    bank = _bank()
    assert bank.prior(np.array([1, 0, 0]), k=3) == pytest.approx({("d", "1.1"): 1 / 3, ("d", "1.2"): 2 / 3,
                                                                   ("d", "2.1"): 1 / 3})
    assert bank.prior(np.array([1, 0, 0]), k=1) == Counter({("d", "1.1"): 1.0})
    with held_out(questions=("x",)):   # nor does a question's own text, whoever wrote it
        assert ("d", "1.1") not in bank.prior(np.array([1, 0, 0]), k=3)
    with held_out("w2"):   # a writer's own questions never help it
        assert bank.prior(np.array([1, 0, 0]), k=3) == pytest.approx({("d", "1.1"): 1 / 3, ("d", "3.1"): 1 / 3})
        with held_out("w1", "w3"):
            assert bank.prior(np.array([1, 0, 0]), k=3) == Counter()
    assert ("d", "1.2") in bank.prior(np.array([1, 0, 0]), k=3)   # the block ended
    with pytest.raises(ValueError, match="vectors"):
        QuestionBank(bank.questions, bank.vectors[:2])


def _hits(*scores):
    return [Hit("d", section, section, score, rank) for rank, (section, score) in enumerate(scores, start=1)]


def test_rerank_reorders_only_the_top_three_and_says_why():
    hits = _hits(("1.1", 2.0), ("1.2", 1.5), ("2.1", 1.4), ("3.1", 1.0))
    share = Counter({("d", "2.1"): 1.0, ("d", "3.1"): 1.0, ("d", "1.1"): 1 / 3})   # 2.4 > 2.33 > 1.5
    out = rerank(list(hits), share, weight=1.0)
    assert [h.section for h in out] == ["2.1", "1.1", "1.2", "3.1"]   # 3.1 stays fourth: no section is pulled up
    assert [h.rank for h in out] == [1, 2, 3, 4]
    assert out[1].leg_scores["questions"] == pytest.approx(1 / 3) and out[2].leg_scores["questions"] == 0.0
    hits = _hits(("1.1", 2.0), ("1.2", 1.5), ("2.1", 1.4))
    assert [h.section for h in rerank(list(hits), share, weight=0.0)] == ["1.1", "1.2", "2.1"]
    assert [h.section for h in rerank(list(hits), Counter(), weight=1.0)] == ["1.1", "1.2", "2.1"]
    assert [h.section for h in rerank(_hits(("1.1", 1.0), ("1.2", 1.0)), Counter({("d", "9.9"): 1}), 1.0)] == \
        ["1.1", "1.2"]   # ties keep retrieval's order


@pytest.fixture
def course(tmp_path):
    """The bundled Korean notes in a folder of their own, without labelled questions."""
    folder = tmp_path / "course" / "nvidia-ai-infra-1"
    folder.mkdir(parents=True)
    shutil.copy(CORPUS / "notes.ko.md", folder / "notes.ko.md")
    return folder


def test_a_labelled_question_lifts_its_section_within_the_top_three(make_engine, course):
    question = "GPU 메모리와 CPU 메모리는 어떻게 달라?"
    plain = make_engine(notes=[course]).search(question, k=5)
    second = plain[1].section
    _write(course, [json.dumps({"id": "x", "question": question, "sections": [second], "origin": "w"})])
    engine = make_engine(notes=[course], question_prior_weight=10.0)   # the fake embedder's scores are not e5's
    report = engine.build_index()
    assert report.built and "questions_hash" in report.reason
    lifted = engine.search(question, k=5)
    assert lifted[0].section == second and lifted[0].leg_scores["questions"] == pytest.approx(1 / 3)
    assert {h.section for h in lifted} == {h.section for h in plain}
    with held_out("w"):
        assert [h.section for h in engine.search(question, k=5)] == [h.section for h in plain]
    manifest = store.read_manifest(engine.settings.resolved_index_dir)
    assert manifest["n_questions"] == 1 and manifest["format_version"] == store.FORMAT_VERSION


def test_edited_questions_make_the_index_stale_and_a_bad_line_is_a_build_warning(make_engine, course):
    _write(course, [json.dumps({"question": "GPU란?", "sections": ["4.1"]})])
    make_engine(notes=[course]).build_index()
    _write(course, [json.dumps({"question": "GPU란?", "sections": ["4.1"]}), json.dumps({"question": "?",
                                                                                         "sections": ["77.1"]})])
    with pytest.raises(IndexMismatchError, match="questions_hash"):
        make_engine(notes=[course], auto_index=False).search("GPU")
    report = make_engine(notes=[course]).build_index()
    assert any("77.1" in w and "questions.jsonl:2" in w for w in report.warnings)


def test_an_index_with_a_damaged_question_list_says_rebuild(make_engine, course):
    _write(course, [json.dumps({"question": "GPU란?", "sections": ["4.1"]})])
    engine = make_engine(notes=[course])
    engine.build_index()
    (store.current_build(engine.settings.resolved_index_dir) / "questions.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="labelled questions.*rag index"):
        make_engine(notes=[course], auto_index=False).search("GPU")


def test_the_bundled_bank_is_the_dev_split_and_holds_no_test_question():
    assert make_question_bank.main(["--check"]) == 0
    bank = [json.loads(line) for line in make_question_bank.BANK.read_text(encoding="utf-8").splitlines()]
    test = read_jsonl(TEST)
    assert not {b["question"].strip() for b in bank} & {t["question"].strip() for t in test}
    assert not {b["id"] for b in bank} & {t["id"] for t in test}
    assert all(b["origin"] for b in bank)   # evaluation holds each writer out by it


def test_evaluation_scores_each_item_with_its_writer_held_out(make_engine, tmp_path, monkeypatch):
    from evals.runner import run_eval
    from rag.index import question_bank

    seen = []
    engine = make_engine()
    real_ask = engine.ask

    def ask(question, **kwargs):
        seen.append(question_bank._HELD_OUT.get())
        return real_ask(question, **kwargs)

    monkeypatch.setattr(engine, "ask", ask)
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(item) for item in [
        {"id": "en-1", "lang": "en", "question": "What is a GPU?", "answerable": True, "gold_sections": ["4.1"],
         "key_facts": [], "origin": "v7"},
        {"id": "en-2", "lang": "en", "question": "What is vGPU?", "answerable": True, "gold_sections": ["5.2"],
         "key_facts": [], "origin": "v8"}]) + "\n", encoding="utf-8")
    run_eval(gold, tmp_path / "out", engine, generator="extractive", ablation=False, evidence_fn=False)
    assert seen[-2:] == [frozenset({("origin", "v7"), ("text", "What is a GPU?")}),
                         frozenset({("origin", "v8"), ("text", "What is vGPU?")})]
