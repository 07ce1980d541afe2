"""Quiz items a teacher would hand out: particles chosen for the word, no read-aloud term items, same-kind
distractors, and choice items in the language the notes are not written in."""
from __future__ import annotations

import re

import pytest

from rag.study.generate import build_bank
from rag.text.josa import choose, fix_particles
from rag.types import Section


@pytest.mark.parametrize("word, pair, expected", [
    ("세포설", "은(는)", "은"), ("리보솜", "을(를)", "을"), ("GPU", "은(는)", "는"), ("Slurm", "은(는)", "은"),
    ("H100", "이(가)", "이"), ("오케스트레이션", "와(과)", "과"), ("스케줄링", "와(과)", "과"), ("CPU", "와(과)", "와"),
    ("세포설 (cell theory)", "은(는)", "은"), ("'NVIDIA AI Software'", "은(는)", "는"), ("터널", "(으)로", "로"),
    ("책", "(으)로", "으로"), ("kernel", "(으)로", "로"), ("10", "은(는)", "은"), ("2", "이(가)", "가"),
    ("Runtime", "은(는)", "은"), ("'in every clone'", "은(는)", "은"), ("'`git log`'", "은(는)", "는"),
    ("code", "은(는)", "는"), ("CO₂", "은(는)", "는"),
])
def test_particle_for_the_word(word, pair, expected):
    assert choose(word, pair) == expected


def test_fix_particles_leaves_no_pair_after_a_word():
    text = fix_particles("'SQL'은(는) 'JOIN'와(과) 어떤 관계인가요? '색인'을(를) 설명하세요.")
    assert "(" not in text and text.startswith("'SQL'은 'JOIN'과")


KO_NOTES = """## 1. 암석

### 1.1 화성암
- 현무암 : 어두운 색의 화산암으로 입자가 가늘다
- 화강암 : 밝은 색의 심성암으로 입자가 굵다
- 유문암 : 밝은 색의 화산암으로 입자가 가늘다
- 반려암 : 어두운 색의 심성암으로 입자가 굵다
- 마그마 (magma) 가 식어서 굳은 암석
- 포토리얼리스틱 (Photorealistic) 렌더링으로 암석 표본을 보여 줌
- 심성암 (plutonic rock) 은 땅속 깊이에서 천천히 식은 암석
"""


def sections(text, language):
    from rag.ingest.sections import parse_sections

    return parse_sections(text, "notes.md", doc="rocks", language=language).sections


def test_a_course_in_one_language_gets_choice_items_in_the_other():
    bank = build_bank(sections(KO_NOTES, "ko"))
    english = [item for item in bank if item.language == "en"]
    assert english and all(item.kind in ("mc", "order") for item in english)
    assert all(item.answer in item.choices for item in english)
    assert any("현무암" in item.question for item in english)   # the notes' term, in an English frame


def test_no_term_item_is_the_english_word_read_aloud():
    bank = build_bank(sections(KO_NOTES, "ko"))
    terms = [item for item in bank if item.kind == "term"]
    answers = {item.answer for item in terms}
    assert "plutonic rock" in answers                       # a translation is something to learn
    assert not answers & {"Photorealistic", "magma"}         # 포토리얼리스틱, 마그마: the same word in Hangul


def test_korean_questions_carry_no_particle_pairs():
    bank = build_bank(sections(KO_NOTES, "ko"))
    assert bank and not any("은(는)" in item.question or "을(를)" in item.question for item in bank)


def test_a_definitions_key_is_its_first_sentence():
    text = """## 1. Rocks

### 1.1 Igneous rocks
- Basalt : a dark volcanic rock with fine grains. It covers most of the ocean floor and forms at 1200 °C.
- Granite : a light plutonic rock with coarse grains. It is common in continents.
- Rhyolite : a light volcanic rock with fine grains. It erupts explosively.
- Gabbro : a dark plutonic rock with coarse grains. It forms under the ocean crust.
"""
    bank = build_bank(sections(text, "en"))
    short = [i for i in bank if i.kind == "short" and "'basalt'" in i.question]
    assert short and short[0].answer == "a dark volcanic rock with fine grains."
    mc = [i for i in bank if i.kind == "mc" and "'Basalt'" in i.question]
    assert mc and mc[0].answer == "a dark volcanic rock with fine grains"
    assert all(". It" not in choice for choice in mc[0].choices)   # distractors cut the same way
    assert not any(choice.endswith(".") for choice in mc[0].choices)   # no choice stands out by its period


def test_which_column_items_only_from_tables_that_compare_two_things():
    text = """## 1. Rocks

### 1.1 Tools
| Command | What it does |
|---|---|
| `rock --scan` | lists the rock samples in the drawer |
| `rock --weigh` | prints the mass of each sample in grams |
| `rock --sort` | orders the samples by hardness |

| Rock | Colour | Where it forms |
|---|---|---|
| basalt | dark | at the surface, from lava |
| granite | light | deep underground, from magma |

Igneous and sedimentary rocks form in different ways.

| | Igneous | Sedimentary |
|---|---|---|
| Origin | cooled magma or lava | pressed sediment |
| Grains | interlocking crystals | cemented particles |

| Symptom | Likely cause |
|---|---|
| the sample crumbles | weathering |
| the sample fizzes in acid | calcite in it |
"""
    bank = build_bank(sections(text, "en"))
    choices = {tuple(item.choices) for item in bank if item.kind == "mc"}
    assert ("Igneous", "Sedimentary") in choices                 # two things compared row by row
    assert ("Command", "What it does") not in choices            # code beside a sentence: the form answers it
    assert ("Colour", "Where it forms") not in choices           # attributes of rocks, not two things
    assert ("Symptom", "Likely cause") not in choices            # two attributes of each row: the phrase tells which


def test_a_description_that_uses_the_terms_word_is_not_asked_in_reverse():
    text = """## 1. Rocks

### 1.1 Igneous rocks
- Volcanic rock : formed from a volcano's lava, cooled quickly at the surface
- Plutonic rock : cooled slowly deep underground, with coarse grains
"""
    bank = build_bank(sections(text, "en"))
    reverse = {item.answer for item in bank if item.kind == "short" and item.question.startswith("What do the notes describe")}
    assert "Plutonic rock" in reverse and "Volcanic rock" not in reverse   # "volcano" gives "Volcanic" away


def test_a_numbered_term_loses_its_number_and_a_key_that_echoes_the_term_is_no_choice_item():
    text = """## 1. 암석

### 1.1 화성암
1. 현무암 : 어두운 색의 화산암으로 입자가 가늘다
2. 화강암 : 밝은 색의 심성암으로 입자가 굵다
3. 유문암 : 밝은 색의 화산암으로 입자가 가늘다
4. 반려암 : 어두운 색의 심성암으로 입자가 굵다
5. 백두산현무암 : 백두산에서 분출한 현무암
"""
    bank = build_bank(sections(text, "ko"))
    assert not [item for item in bank if re.search(r"'\\d\\. ", item.question) or re.match(r"\\d\\. ", item.answer)]
    assert any("'현무암'" in item.question for item in bank)
    # "백두산현무암 : 백두산에서 분출한 ...": the choice that repeats 백두산 is the answer by its words alone
    assert not [item for item in bank if item.kind == "mc" and "'백두산현무암'" in item.question]


def test_no_distractor_is_a_line_cut_before_its_list():
    text = """## 1. Rocks

### 1.1 Igneous rocks
- Basalt : a dark volcanic rock with fine grains
- Granite : a light plutonic rock with coarse grains
- Rhyolite : a light volcanic rock with fine grains
- Gabbro : a dark plutonic rock with coarse grains
- Magma : molten rock under the surface; it has two parts:
"""
    bank = build_bank(sections(text, "en"))
    choices = [c for item in bank if item.kind == "mc" for c in item.choices]
    assert choices and not [c for c in choices if c.endswith(":")]


BOLD_NOTES = """# 1. Describing data

## 1.1 Centre and spread

- The **mean** is the sum of the values divided by how many there are.
- The **median** is the middle value once the data are sorted.
- **Range** = maximum minus minimum.
- **IQR** (interquartile range): Q3 minus Q1, the spread of the middle half.
- **Outliers:** Values far from the rest of the data.
- **Reliability.** Sequence numbers count bytes.
- Sagittal plane — vertical; divides the body into left and right parts.
When you describe a distribution, mention its **shape** and **centre**.
**Worked example**
"""


def test_terms_named_in_bold_or_before_a_dash_are_defined_like_term_colon_lines():
    from rag.study.generate import build_bank

    bank = build_bank(sections(BOLD_NOTES, "en"))
    defined = {i.answer for i in bank if i.kind == "short" and i.language == "en"}
    # "what is X?" keys are the definitions, emphasis marks gone; "what is described as ...?" keys are the terms
    assert {"the sum of the values divided by how many there are.", "maximum minus minimum.",
            "Values far from the rest of the data."} <= defined
    assert {"mean", "median", "Range", "IQR (interquartile range)", "Outliers", "Sagittal plane"} <= defined
    # a bold phrase inside a sentence, or a bold line standing alone as a heading, defines nothing
    assert not any(i.answer in ("shape", "centre", "Worked example", "Reliability") for i in bank)
    assert not any("**" in part for i in bank for part in (i.question, i.answer, *i.choices))
    # and the course gets choice items in Korean too
    assert any(i.kind == "mc" and i.language == "ko" for i in bank)


def test_a_key_that_writes_a_piece_of_a_numbered_name_is_no_choice_item():
    from rag.study.generate import build_bank

    notes = """# 1. 세종

## 1.1 국방
- 4군 6진 : 최윤덕이 압록강 쪽에 4군, 김종서가 두만강 쪽에 6진을 설치함
- 집현전 : 1420년 세종이 확대 개편한 학문 연구 기관
- 훈민정음 : 백성을 가르치는 바른 소리라는 뜻의 문자
- 측우기 : 비의 양을 재는 기구
- 의정부 서사제 : 6조의 일을 의정부가 먼저 심의하는 제도
"""
    bank = build_bank(sections(notes, "ko"))
    # among other definitions, the one choice that says "4군" and "6진" is the key
    assert not [i for i in bank if "4군 6진" in i.question and i.kind == "mc"]
    assert [i for i in bank if "집현전" in i.question and i.kind == "mc"]    # the others keep theirs


def test_a_define_question_names_its_section_and_a_dated_term_asks_what_the_notes_say():
    from rag.study.generate import build_bank

    notes = """# 1. 세포

## 1.1 세포의 발견
- 1838년 슐라이덴 : 식물체는 모두 세포로 이루어져 있다고 주장
- 세포벽 : 식물 세포의 바깥을 둘러싼 단단한 벽
"""
    questions = {i.question for i in build_bank(sections(notes, "ko")) if i.kind == "short"}
    assert "'세포의 발견' 부분에서 '세포벽'은 무엇인가요?" in questions
    # the date leaves the shown term, not the question's kind: an event is asked what the notes say of it
    assert "'세포의 발견' 부분에서 노트는 '슐라이덴'에 대해 무엇이라고 하나요?" in questions



def test_no_term_item_asks_for_a_formula_or_an_acronym_as_the_english_term():
    from rag.study.generate import build_bank

    notes = """# 1. 산과 염기

## 1.1 강염기
- 수산화 칼륨 (KOH) 은 물에 녹아 수산화 이온을 내놓는 강한 염기이다
- 중화 반응 (neutralization) 은 산과 염기가 만나 물과 염을 만드는 반응이다
"""
    keys = {i.answer for i in build_bank(sections(notes, "ko")) if i.kind == "term"}
    assert "KOH" not in keys and "neutralization" in keys
