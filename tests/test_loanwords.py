"""English words written in Hangul (rag.text.loanwords)."""
import pytest

from rag.text.loanwords import hangul_skeleton, is_loanword_of, latin_skeleton, skeleton_index


@pytest.mark.parametrize("hangul, english", [
    ("제너레이티브", "generative"), ("퍼포먼스", "performance"), ("트레이닝", "training"), ("오토모티브", "automotive"),
    ("카탈로그", "catalog"), ("엔터프라이즈", "enterprise"), ("인퍼런스", "inference"), ("컨테이너", "container"),
    ("프로비저닝", "provisioning"), ("버추얼라이제이션", "virtualization"), ("뉴럴넷", "neuralnet"),
])
def test_a_loanword_and_its_english_word_share_a_skeleton(hangul, english):
    assert hangul_skeleton(hangul) == latin_skeleton(english)
    assert is_loanword_of(hangul, skeleton_index([english]))


@pytest.mark.parametrize("hangul, english", [
    ("설치", "cells"),         # two syllables: native and Sino-Korean nouns are not matched
    ("텐서", "dense"),
    ("그레이스", "across"),    # a vowel start is kept
    ("냉각", "cooling"),
])
def test_native_words_and_look_alikes_are_not_loanwords(hangul, english):
    assert not is_loanword_of(hangul, skeleton_index([english]))


def test_non_hangul_input_has_no_skeleton():
    assert hangul_skeleton("GPU") == () and not is_loanword_of("GPU", skeleton_index(["gpu"]))


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
