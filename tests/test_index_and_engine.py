import json
import os

import pytest

from rag.cli import main
from rag.errors import IndexMismatchError, IndexMissingError, QuestionError
from rag.index import store
from tests.conftest import CORPUS, FakeEmbedder


def test_index_round_trip_and_reuse(make_engine):
    engine = make_engine()
    first = engine.build_index()
    assert first.built and first.n_sections == 62
    again = make_engine().build_index()
    assert not again.built and again.reason == "up to date"
    data = store.read_build(engine.settings.resolved_index_dir)
    assert len(data.chunks) == first.n_chunks and data.manifest["format_version"] == store.FORMAT_VERSION
    hits = make_engine(auto_index=False).search("CPU와 GPU의 차이점은 무엇인가요?")
    assert hits[0].section == "4.5"
    assert len({h.section for h in hits}) == len(hits)   # one hit per section


def test_changed_notes_or_settings_are_detected(make_engine, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n.md").write_text("## 1. C\n### 1.1 Alpha\nalpha text\n", encoding="utf-8")
    make_engine(notes=[notes]).build_index()
    (notes / "n.md").write_text("## 1. C\n### 1.1 Alpha\nchanged text\n", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="notes_hash.*rag index"):
        make_engine(notes=[notes], auto_index=False).search("alpha")
    with pytest.raises(IndexMismatchError, match="embedder"):
        make_engine(notes=[notes], auto_index=False, embedder=FakeEmbedder("fake/other@2")).search("alpha")
    rebuilt = make_engine(notes=[notes]).build_index()
    assert rebuilt.built and "notes_hash" in rebuilt.reason


def test_missing_index_says_how_to_build_it(make_engine):
    with pytest.raises(IndexMissingError, match="rag index"):
        make_engine(auto_index=False).search("GPU")


def test_a_failed_build_leaves_the_previous_index_in_use(make_engine, monkeypatch):
    engine = make_engine()
    engine.build_index()
    before = os.readlink(engine.settings.resolved_index_dir / "current")

    def explode(*args, **kwargs):
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr("rag.index.dense.write_dense_index", explode)
    with pytest.raises(RuntimeError):
        make_engine().build_index(force=True)
    assert os.readlink(engine.settings.resolved_index_dir / "current") == before
    assert make_engine(auto_index=False).search("GPU")[0].section


def test_english_question_finds_korean_only_notes_via_glossary(make_engine):
    engine = make_engine(notes=[CORPUS / "notes.ko.md"])
    hits = engine.search("What is orchestration and job scheduling?", k=3, legs=("keyword",))
    assert "6.4" in [h.section for h in hits]


def test_extractive_answer_is_cited_and_in_the_question_language(make_engine):
    engine = make_engine()
    ko = engine.ask("CPU와 GPU의 차이점은 무엇인가요?")
    assert ko.language == "ko" and not ko.refused and ko.generator == "extractive"
    assert "4.5" in [c.section for c in ko.citations]
    assert all(c.quote for c in ko.citations)
    en = engine.ask("What are the strengths of a GPU compared with a CPU?")
    assert en.language == "en" and "4.5" in [c.section for c in en.citations]
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in en.text)   # answered from the English companion


def test_streaming_yields_text_then_the_answer(make_engine):
    events = list(make_engine().ask("GPU 서버 시스템이란?", stream=True))
    assert all(isinstance(e, str) for e in events[:-1]) and events[:-1]
    assert events[-1].text.startswith(events[0].strip()[:10])


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 100_000, "🙂🙂🙂"])
def test_bad_questions_get_a_clear_error(make_engine, question):
    with pytest.raises(QuestionError):
        make_engine().ask(question)


def test_cli_errors_are_messages_with_non_zero_exit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    assert main(["ask", "   "]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["search", "y" * 5000]) == 2
    assert "limit is 2,000" in capsys.readouterr().err
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    monkeypatch.setenv("RAG_INDEX_DIR", str(blocked / "index"))   # the CLI builds a missing index: here it can't
    assert main(["search", "GPU"]) == 4
    err = capsys.readouterr().err
    assert "rag index" in err and "Traceback" not in err
    bad = tmp_path / "bad.txt"
    bad.write_bytes("1.1 제목\n본문".encode("cp949"))
    assert main(["index", str(bad)]) == 3
    assert "bad.txt" in capsys.readouterr().err


def test_unknown_settings_are_rejected(monkeypatch):
    from rag.config import load_settings
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="RAG_TOPK"):
        load_settings(environ={"RAG_TOPK": "3"})
    with pytest.raises(ConfigError, match="Unknown generator 'nope'"):
        from rag.llm.base import create_generator

        create_generator("nope", load_settings(environ={}))


def test_json_output_has_the_documented_keys(make_engine, capsys, monkeypatch):
    engine = make_engine()
    engine.build_index()
    monkeypatch.setattr("rag.engine.Engine", lambda *a, **k: engine)
    assert main(["ask", "What is vGPU?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"question", "answer", "language", "refused", "generator", "citations", "timings"} <= set(out)
    assert {"doc", "section", "title", "quote", "score"} <= set(out["citations"][0])


class EvidenceRetriever:
    """The real retriever with the refusal evidence (retrieval features) replaced: same hits, other evidence."""

    def __init__(self, real, features: dict):
        self._real, self._features = real, features

    def __getattr__(self, name):
        return getattr(self._real, name)

    def retrieve(self, *args, **kwargs):
        retrieval = self._real.retrieve(*args, **kwargs)
        retrieval.features = dict(self._features)
        return retrieval


WEAK = {"dense_top": 0.70, "coverage": 0.1, "dense_z": 0.0, "keyword_norm": 0.1}
STRONG = {"dense_top": 0.95, "coverage": 1.0, "dense_z": 3.0, "keyword_norm": 1.0}


@pytest.mark.parametrize("question, language", [("CPU와 GPU의 차이점은 무엇인가요?", "ko"),
                                                ("What is the difference between a CPU and a GPU?", "en")])
def test_weak_evidence_refuses_in_the_question_language_with_suggestions(make_engine, question, language):
    from rag.config import Settings

    # the shipped threshold, not a forced one: only the evidence differs between the two answers
    engine = make_engine(refusal_threshold=Settings().refusal_threshold)
    answerer = engine.answerer("extractive")
    real = answerer.retriever
    answerer.retriever = EvidenceRetriever(real, STRONG)
    answered = answerer.answer(question)
    assert not answered.refused and answered.citations
    answerer.retriever = EvidenceRetriever(real, WEAK)
    refused = answerer.answer(question)
    assert refused.refused and refused.citations == [] and len(refused.suggestions) == 3
    assert refused.language == language
    assert refused.suggestions[0].section in refused.text
    if language == "ko":
        assert "노트" in refused.text
    else:
        assert refused.text.startswith("The notes don't cover this")
