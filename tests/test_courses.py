"""Courses as data: course folders, course.toml, one index per course, --course, and cross-language answerability."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import catalog as courses
from rag.answerability import NotesVocabulary, asked_slots, slot_filled, unknown_terms
from rag.cli import main as cli_main
from rag.config import load_settings
from rag.errors import ConfigError

NOTES = """---
doc: {doc}
language: {lang}
title: {title}
---

## 1. Basics

### 1.1 {section}

{body}
"""


def _course(root: Path, name: str, lang: str = "en", toml: str | None = None, body: str = "Opportunity cost : the value of the next best alternative.") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"notes.{lang}.md").write_text(NOTES.format(doc=name, lang=lang, title=f"{name} notes", section="Intro",
                                                          body=body), encoding="utf-8")
    if toml is not None:
        (folder / "course.toml").write_text(toml, encoding="utf-8")
    return folder


def test_course_toml_gives_title_languages_and_examples(tmp_path):
    folder = _course(tmp_path, "econ", toml='title = "Economics 101"\nexamples = ["What is opportunity cost?"]\n')
    course = courses.load_course(folder)
    assert (course.id, course.title, course.examples) == ("econ", "Economics 101", ("What is opportunity cost?",))
    assert course.languages == ("en",)   # read from the notes when course.toml does not say


def test_without_course_toml_the_front_matter_names_the_course(tmp_path):
    course = courses.load_course(_course(tmp_path, "bio", lang="ko", body="세포 : 생명의 단위."))
    assert (course.title, course.languages, course.examples) == ("bio notes", ("ko",), ())


def test_a_bad_course_toml_is_a_clear_error(tmp_path):
    folder = _course(tmp_path, "econ", toml="title = [unclosed\n")
    with pytest.raises(ConfigError, match="course.toml"):
        courses.load_course(folder)


def test_a_folder_of_course_folders_holds_each_course(tmp_path):
    _course(tmp_path / "all", "econ")
    _course(tmp_path / "all", "bio", lang="ko", body="세포 : 생명의 단위.")
    assert [c.id for c in courses.courses_in(tmp_path / "all")] == ["bio", "econ"]


def test_each_course_has_its_own_index_folder(tmp_path):
    a, b = _course(tmp_path, "econ"), _course(tmp_path, "bio")
    dir_a = load_settings(environ={}, home=tmp_path / "home", notes=[a]).resolved_index_dir
    dir_b = load_settings(environ={}, home=tmp_path / "home", notes=[b]).resolved_index_dir
    assert dir_a != dir_b and dir_a.parent == dir_b.parent == tmp_path / "home" / "index"
    assert dir_a.name.startswith("econ-")


def test_rag_index_builds_one_index_per_course_and_course_finds_it(tmp_path, monkeypatch, capsys):
    from tests.test_hardening import FakeEmbedder   # the fake embedder: no model download in the fast tests
    import rag.engine

    home = tmp_path / "home"
    monkeypatch.setenv("RAG_HOME", str(home))
    original = rag.engine.Engine
    monkeypatch.setattr(rag.engine, "Engine", lambda settings, **kw: original(settings, embedder=FakeEmbedder(), **kw))
    a, b = _course(tmp_path, "econ"), _course(tmp_path, "history")
    assert cli_main(["index", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert out.count("Index built") == 2 and "(course econ)" in out and "(course history)" in out
    assert set(json.loads((home / "courses.json").read_text())) == {"econ", "history"}
    settings = load_settings(environ={"RAG_HOME": str(home)}, course="history")
    assert settings.notes == (b.resolve(),) and settings.resolved_index_dir.name.startswith("history-")
    with pytest.raises(ConfigError, match="Known courses: .*econ"):
        load_settings(environ={"RAG_HOME": str(home)}, course="chemistry")


def test_the_bundled_course_is_just_the_first_course():
    found = courses.courses_in(load_settings(environ={}).notes[0])
    assert found and found[0].examples and set(found[0].languages) == {"ko", "en"}


# -- cross-language answerability: a word is judged only in notes written in its language ---------------------

def _vocab(texts, languages):
    return NotesVocabulary.build(texts, languages=languages)


def test_korean_nouns_are_no_gap_in_english_only_notes():
    question = "기회비용이 뭐야?"
    english_only = _vocab(["Opportunity cost : the value of the next best alternative."], {"en"})
    both = _vocab(["Opportunity cost : the value of the next best alternative.", "희소성 : 자원이 부족함."], {"ko", "en"})
    assert unknown_terms(question, english_only) == []
    assert "기회비용" in unknown_terms(question, both)   # notes in Korean that never say it: a gap, as before


def test_a_latin_name_korean_notes_write_in_hangul_is_known():
    korean_only = _vocab(["1958년 메셀슨과 스탈이 반보존적 복제를 증명했다."], {"ko"})
    assert "Meselson" not in unknown_terms("What did Meselson prove?", korean_only)
    assert "Chargaff" in unknown_terms("What did Chargaff prove?", korean_only)
    # a capitalised word of the English dictionary is one Korean-only notes would write in Hangul (the Sun, the
    # Earth), so it can't be looked up in them: no gap (names the dictionary also lists go with it: "Rosalind")
    assert unknown_terms("What did Rosalind prove about the Sun?", korean_only) == []


def test_a_slot_word_that_is_the_course_subject_asks_for_no_slot():
    econ = _vocab([f"Section {i}: the price of a good falls when supply rises." for i in range(4)], {"en"})
    assert "price" not in asked_slots("What is the cross price elasticity of substitutes?", econ)
    assert "price" in asked_slots("What is the price of an H100?")   # no notes: the cue stands
    assert "price" in asked_slots("How much does a textbook cost?", econ)   # a request for a price, not the word


def test_person_slot_is_filled_by_a_name_on_the_line_about_the_topic():
    line = "Comparative advantage : David Ricardo showed in 1817 that trade pays even without absolute advantage."
    assert slot_filled("person", line, "Who came up with comparative advantage?")
    assert not slot_filled("person", line, "Who invented the Golgi stain?")   # the name is on another topic's line


def test_a_molecule_count_is_no_duration():
    assert not slot_filled("duration", "피루브산 1분자 → 아세틸 CoA 1분자", "How many seconds does one turn take?")
    assert slot_filled("duration", "한 바퀴에 약 2분 걸린다", "How many seconds does one turn take?")


def test_web_course_picker_answers_from_the_picked_course(tmp_path, monkeypatch):
    """Two courses: picking the second in the web chat answers from its notes, with the app's models shared."""
    from rag.engine import Engine
    from rag.web.ui import ChatHandlers, Session
    from tests.test_hardening import FakeEmbedder

    home = tmp_path / "home"
    econ = _course(tmp_path, "econ", toml='title = "Economics"\nexamples = ["What is opportunity cost?"]\n')
    history = _course(tmp_path, "history", body="Printing press : Gutenberg built it around 1450 in Mainz.",
                      toml='title = "History"\nexamples = ["Who built the printing press?"]\n')
    courses.register(home, courses.load_course(history))
    settings = load_settings(environ={}, home=home, notes=[econ], generator="extractive", refusal_threshold=-1e9,
                             cross_language_threshold=-1e9, question_prior_weight=0.0)
    engine = Engine(settings, embedder=FakeEmbedder())
    handlers = ChatHandlers(engine)
    assert [c for _, c in handlers.courses()][:1] == ["econ"] and "history" in [c for _, c in handlers.courses()]
    session = Session()
    *_, examples, header = handlers.pick_course("history", session)
    assert "History" in header
    assert examples["samples"] == [["Who built the printing press?"]]
    picked = handlers.engine_for(session)
    assert picked is not engine and picked.settings.notes == (history.resolve(),)
    assert picked._generators is engine._generators   # one language model per process, whatever the course
    answer = picked.ask("Who built the printing press?")
    assert not answer.refused and "Gutenberg" in answer.text
    assert handlers.engine_for(Session()) is engine   # other sessions stay on the app's course


def test_a_question_in_the_other_language_is_retrieved_with_its_translation(llm_engine, tmp_path):
    """With a model, a Korean question about English-only notes is retrieved together with the model's English
    translation; a question in the notes' own language is retrieved as asked (no translation call)."""
    notes = _course(tmp_path, "econ", body="Opportunity cost : the value of the next best alternative given up.")

    def reply(request):
        prompt = request.messages[0]["content"]
        if prompt.startswith("Translate"):
            return "What is opportunity cost?"
        return "Opportunity cost is the value of the next best alternative given up [1]."

    engine = llm_engine(reply, notes=[notes], cross_language_threshold=-1e9, bridged_threshold=-1e9)
    answerer = engine.answerer()
    assert answerer._bridged("기회비용이 뭐야?", "ko") == "기회비용이 뭐야? (What is opportunity cost?)"
    assert answerer._bridged("What is opportunity cost?", "en") == "What is opportunity cost?"
    translations = [r for r in engine.fake.requests if r.messages[0]["content"].startswith("Translate")]
    assert len(translations) == 1   # only the Korean question was translated
    answer = engine.ask("기회비용이 뭐야?")
    assert not answer.refused and [c.section for c in answer.citations] == ["1.1"]


def test_ask_and_quiz_take_a_course(tmp_path, monkeypatch):
    import rag
    import rag.engine
    from rag.study import quiz
    from tests.test_hardening import FakeEmbedder

    home = tmp_path / "home"
    history = _course(tmp_path, "history", body="Printing press : Gutenberg built it around 1450 in Mainz.")
    courses.register(home, courses.load_course(history))
    monkeypatch.setenv("RAG_HOME", str(home))
    monkeypatch.setenv("RAG_GENERATOR", "extractive")
    monkeypatch.setenv("RAG_REFUSAL_THRESHOLD", "-1e9")
    monkeypatch.setenv("RAG_QUESTION_PRIOR_WEIGHT", "0")
    monkeypatch.setattr(rag.engine, "_default_engine", rag.engine.Engine(embedder=FakeEmbedder()))
    monkeypatch.setattr(rag.engine, "_course_engines", {})
    for engine in [rag.engine.course_engine("history")]:
        engine._embedder, engine._embedder_given = FakeEmbedder(), True
    answer = rag.ask("What is the printing press?", course="history")
    assert [c.section for c in answer.citations] == ["1.1"] and "Gutenberg" in answer.text
    items = quiz.bank(load_settings(course="history"))
    assert items and {item.doc for item in items} == {"history"}


def test_a_command_question_is_answered_by_the_command_the_notes_give():
    question = "Which function prints text in Python?"
    assert "steps" not in asked_slots(question)
    assert slot_filled("steps", "print() : writes its arguments to the screen", "What command prints text?")
    assert slot_filled("steps", "Use --force to overwrite", "Which command overwrites the file?")
    assert not slot_filled("steps", "Printing : the notes describe output in general", "What command prints text?")


def test_a_model_sentence_in_the_other_language_is_withheld_unless_asked_for():
    """Across languages a cosine is no check of meaning, so by default such sentences are withheld (the notes' lines
    are shown); with the opt-in check, numbers must still be in the cited line."""
    from rag.claims import ClaimChecker
    from rag.evidence import EvidenceLine
    from rag.types import Section

    section = Section("econ", "1.2", "Opportunity cost", "1", "Basics", "en",
                      "Example: studying instead of working a shift that pays $60.")
    line = EvidenceLine(1, section, section.text, 1.0, 0)
    default = ClaimChecker([line], "기회비용 예시는?", lambda s: set(), notes_languages={"en"})
    assert not default.check("공부 대신 60달러를 포기합니다. [1]").supported
    opted = ClaimChecker([line], "기회비용 예시는?", lambda s: set(), notes_languages={"en"},
                         cross_similarity=lambda text, lines: [0.95] * len(lines))
    assert opted.check("공부 대신 60달러를 포기합니다. [1]").supported
    assert not opted.check("공부 대신 70달러를 포기합니다. [1]").supported


def test_a_translation_never_refuses_what_the_question_as_asked_finds(llm_engine, tmp_path):
    """The model's translation may add coverage, not take it away: a Korean question on English notes whose own
    retrieval is strong enough for the cross-language threshold is answered even when the translated retrieval
    falls under the bridged threshold; when neither is strong enough it is refused."""
    notes = _course(tmp_path, "econ", body="Opportunity cost : the value of the next best alternative given up.")

    def reply(request):
        if request.messages[0]["content"].startswith("Translate"):
            return "What does a bad translation say?"
        return "Opportunity cost is the value of the next best alternative given up [1]."

    answered = llm_engine(reply, notes=[notes], cross_language_threshold=-1e9, bridged_threshold=1e9)
    assert not answered.ask("기회비용이 뭐야?").refused
    refused = llm_engine(reply, notes=[notes], cross_language_threshold=1e9, bridged_threshold=1e9)
    assert refused.ask("기회비용이 뭐야?").refused
