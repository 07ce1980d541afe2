""""Where do the notes mention X?" is answered with a line from every section that says X."""
from rag.answerability import asks_every_mention


def test_questions_that_want_every_place():
    assert asks_every_mention("In which contexts does high performance computing (HPC) come up?")
    assert asks_every_mention("Where do the notes talk about power efficiency, and what do they say each time?")
    assert asks_every_mention("HPC 언급되는 곳 장별로 모아줘요")
    assert asks_every_mention("'지능형'이 붙은 AI 사례들 노트에서 다 찾아서 알려줘")
    assert not asks_every_mention("Which chapter covers GPU virtualization?")     # one place
    assert not asks_every_mention("자동차 AI 어디어디 씀?")                        # where it is used, not where it is said
    assert not asks_every_mention("What is the NGC Catalog?")


def test_every_section_that_says_it_is_cited(make_engine):
    # no line leg: the fake embedder's cosines are noise, and which lines mention the word is what is tested
    engine = make_engine(line_weight=0)
    answer = engine.ask("컨테이너 얘기 나오는 곳 다 모아줘")       # 5.1, 5.5 and 6.4 say 컨테이너
    cited = {c.section for c in answer.citations}
    assert not answer.refused and len(cited & {"5.1", "5.5", "6.4"}) >= 2, cited


def test_a_section_is_found_through_its_twin_line_and_shown_in_the_question_language():
    from rag.evidence import select_mentions
    from rag.types import Section

    def section(number, language, text):
        return Section("d", number, "t", number.split(".")[0], "c", language, text)
    korean = [section("1.1", "ko", "- 고성능 컴퓨팅으로 가속\n- 다른 내용"), section("1.2", "ko", "- performance 관리")]
    twins = {"1.1": section("1.1", "en", "- accelerated by high performance computing\n- something else")}
    lines = select_mentions(korean, ["performance"], {"performance": 2.0}, twins=twins)
    assert [(line.number, line.text) for line in lines] == [("1.1", "고성능 컴퓨팅으로 가속"), ("1.2", "performance 관리")]


def test_a_quoted_word_must_be_in_the_line_as_written(make_engine):
    engine = make_engine(line_weight=0)
    # "지능형" (intelligent) is in 1.3, 1.4 and 5.7; "인공지능" (AI) shares its stem everywhere else
    answer = engine.ask("'지능형'이 붙은 AI 사례들 노트에서 다 찾아서 어느 분야 얘긴지 알려줘")
    assert answer.citations and all("지능형" in c.quote for c in answer.citations)
    assert len({c.section for c in answer.citations}) >= 2


def test_an_ordinary_question_keeps_its_usual_evidence(make_engine):
    engine = make_engine()
    answer = engine.ask("What is the NGC Catalog?")
    assert len({c.section for c in answer.citations}) <= 2


def test_weak_evidence_does_not_refuse_a_where_question_about_a_notes_word(make_engine):
    # every evidence score is "weak" here; only the where-question rule can let these through
    engine = make_engine(refusal_threshold=1e9, line_weight=0)
    for question in ("In which contexts does the transformer come up?", "Where in the notes is deployment mentioned?",
                     "트랜스포머는 노트에서 어떤 맥락에서 나와?", "Containers show up in a few places - list them",
                     "트렌스포머 나오는 데 두 군데 각각 무슨 얘기임?"):     # a one-syllable misspelling
        answer = engine.ask(question)
        assert not answer.refused and answer.citations, question
    # ... and a where-question about something the notes never say is still refused
    assert engine.ask("In which contexts does liquid cooling come up?").refused
