from rag.ingest.loaders import load_notes
from rag.text.glossary import Glossary, mine_glossary
from rag.text.language import detect_language
from rag.text.tokenize import tokenize
from tests.conftest import CORPUS


def test_korean_particles_are_split_off():
    tokens = tokenize("CPU와 GPU의 차이점은 무엇인가요?")
    assert tokens[:3] == ("cpu", "gpu", "차이점")
    assert not any(t in tokens for t in ("와", "의", "은"))
    assert "서버" in tokenize("GPU서버시스템이란") and "시스템" in tokenize("GPU서버시스템이란")


def test_latin_tokens_are_lowercased_and_plurals_folded():
    assert tokenize("What are the four stages of the AI workflow?") == ("4", "stage", "ai", "workflow")
    assert tokenize("GPUs") == tokenize("gpu")


def test_language_of_mixed_questions():
    assert detect_language("CPU와 GPU의 차이점은 무엇인가요?") == "ko"
    assert detect_language("GPU acceleration 이 뭐야?") == "ko"
    assert detect_language("What does 병렬 mean in the notes?") == "en"
    assert detect_language("What is a GPU server system?") == "en"


def test_glossary_maps_the_terms_given_in_parentheses():
    korean = [s for s in load_notes([CORPUS]).sections if s.language == "ko"]
    glossary = Glossary(mine_glossary(s.title + "\n" + s.text for s in korean))
    pairs = {(e.ko, e.en.lower()) for e in glossary.entries}
    for ko, en in (("병렬 처리", "parallel processing"), ("캐시 메모리", "cache memory"),
                   ("오케스트레이션", "orchestration"), ("로드 밸런싱", "load balancing"),
                   ("파운데이션 모델", "foundation model")):
        assert (ko, en) in pairs, (ko, en)
    assert set(tokenize("오케스트레이션")) <= set(glossary.expand(tokenize("What is orchestration?")))
    assert "parallel" in glossary.expand(tokenize("병렬 처리란?"))



def test_a_term_marked_in_bold_is_the_glossary_term_without_the_words_before_it():
    lines = ["이 과정에서 몸에 필요한 화학 물질을 **영양소(nutrient)** 라고 한다.",
             "**유당불내증**(lactose intolerance): 소장의 락타아제가 부족한 상태.",
             "**미량 영양소(micronutrient)** 라고 부른다."]
    pairs = {(e.ko, e.en, e.ko_tokens) for e in mine_glossary(lines)}
    assert pairs == {("영양소", "nutrient", ("영양소",)), ("유당불내증", "lactose intolerance", ("유당불내증",)),
                     ("미량 영양소", "micronutrient", ("미량", "영양소"))}
    # a connective before the term is no part of it
    assert [(e.ko, e.en) for e in mine_glossary(["반면 변위(displacement)는 직선 거리이다."])] == [("변위", "displacement")]