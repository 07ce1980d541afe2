"""English words written in Hangul (rag.text.loanwords)."""
import pytest

from rag.text.loanwords import LoanwordMap, hangul_skeleton, latin_skeleton


@pytest.mark.parametrize("hangul, english", [
    ("제너레이티브", "generative"), ("퍼포먼스", "performance"), ("트레이닝", "training"), ("오토모티브", "automotive"),
    ("카탈로그", "catalog"), ("엔터프라이즈", "enterprise"), ("인퍼런스", "inference"), ("컨테이너", "container"),
    ("프로비저닝", "provisioning"), ("버추얼라이제이션", "virtualization"), ("뉴럴넷", "neuralnet"),
])
def test_a_loanword_and_its_english_word_share_a_skeleton(hangul, english):
    assert hangul_skeleton(hangul) == latin_skeleton(english)
    assert LoanwordMap([[english]]).latin_words(hangul) == (english,)


@pytest.mark.parametrize("hangul, english", [
    ("설치", "cells"),         # two syllables: native and Sino-Korean nouns are not matched
    ("텐서", "dense"),
    ("그레이스", "across"),    # a vowel start is kept
    ("냉각", "cooling"),
])
def test_native_words_and_look_alikes_are_not_loanwords(hangul, english):
    assert LoanwordMap([[english]]).latin_words(hangul) == ()


def test_non_hangul_input_has_no_skeleton():
    assert hangul_skeleton("GPU") == () and LoanwordMap([["gpu"]]).latin_words("GPU") == ()


def test_loanword_map_expands_hangul_spellings_into_the_notes_latin_words():
    from rag.text.loanwords import LoanwordMap

    notes = [("generative", "ai", "performance"), ("container", "runtime"), ("use", "cases", "automotive"),
             ("ai", "enterprise")]
    loanwords = LoanwordMap(notes)
    assert loanwords.latin_words("제너레이티브") == ("generative",)
    # a two-word term written as one Hangul word, and a particle left on the run
    assert set(loanwords.expand("유즈케이스는?", ())) == {"use", "cases"}
    assert loanwords.expand("런타임이 뭐야", ("런", "타임")) == ("런", "타임", "runtime")
    # a single word beats a pair that sounds the same
    assert loanwords.latin_words("엔터프라이즈") == ("enterprise",)
    # two-syllable native words never match, and words the notes lack add nothing
    assert loanwords.latin_words("설치") == ()
    assert loanwords.expand("냉각 시스템", ("냉각", "시스템")) == ("냉각", "시스템")


def test_hangul_letter_names_spell_acronyms():
    from rag.text.loanwords import spelled_acronyms

    assert "cpu" in spelled_acronyms("씨피유")
    assert spelled_acronyms("엘엘엠") == {"llm"}
    assert "vgpu" in spelled_acronyms("브이지피유")
    # ordinary words are no letter names, and one letter name alone is an ordinary syllable
    assert spelled_acronyms("디지털") == set()
    assert spelled_acronyms("이") == set()


@pytest.fixture(scope="module")
def vocab():
    from rag.answerability import NotesVocabulary
    from rag.ingest.loaders import load_notes
    from tests.conftest import CORPUS

    return NotesVocabulary.build(f"{s.section} {s.title}\n{s.text}" for s in load_notes([CORPUS]).sections)


def test_a_spelled_acronym_the_notes_use_expands_the_query_and_is_no_gap(vocab):
    from rag.answerability import unknown_terms
    from rag.text.loanwords import LoanwordMap

    assert LoanwordMap([("cpu", "gpu")]).expand("씨피유가 지피유보다 나은 점", ()) == ("cpu", "gpu")
    assert unknown_terms("엘엘엠은 어떤 신경망을 써?", vocab, evidence_score=0.0) == []
    assert unknown_terms("엘엘엠은 냉각을 어떻게 해?", vocab, evidence_score=0.0) == ["냉각"]


def test_the_embedder_reads_spelled_acronyms_in_latin_letters():
    loanwords = LoanwordMap([("cpu", "gpu", "llm", "ai", "vgpu"), ("video",)])
    assert (loanwords.with_latin_acronyms("전기 대비 성능은 씨피유랑 지피유 중 누가 나아?")
            == "전기 대비 성능은 CPU랑 GPU 중 누가 나아?")
    assert loanwords.with_latin_acronyms("엘엘엠이 뭐야") == "LLM이 뭐야"
    # ordinary words stay: no notes acronym reads them ("이유" = e+u, "비디오" = b+d+o), and one letter is no acronym
    for question in ("이유가 뭐야? 비디오 오디오 지도 아이", "What is a GPU?"):
        assert loanwords.with_latin_acronyms(question) == question


def test_an_english_word_finds_the_hangul_loanword_of_korean_notes():
    from rag.text.loanwords import LoanwordMap
    loanwords = LoanwordMap([["헬리케이스", "는", "이중", "나선", "을", "푼다"], ["마그마", "가", "식어", "굳는다"]])
    assert loanwords.hangul_words("helicase") == ("헬리케이스",)
    assert "마그마" in loanwords.expand_latin(("magma", "cools"))
    assert loanwords.expand_latin(("rock",)) == ("rock",)      # a short word matches too much: left as it is
