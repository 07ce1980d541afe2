""""How many X?" is answered only by lines that count X or list X, not by any number retrieval found."""
from rag.answerability import counted_noun, slot_filled


def test_counted_noun_in_both_languages():
    assert counted_noun("How many cores does a typical GPU have?") == "cores"
    assert counted_noun("그래픽카드 하나에 코어 몇개 들어감?") == "코어"
    assert counted_noun("GPU 서버 한 대에 CPU가 몇 개 탑재돼?") == "CPU"
    assert counted_noun("워크플로우는 몇 단계야?") == "단계"
    assert counted_noun("GPU 가상화 하면 좋은 점 몇개만") == ""          # "a few of them", not a number
    assert counted_noun("How many times faster is a GPU?") == ""


def test_a_number_fills_the_count_only_when_it_counts_the_thing_asked():
    lines = "NVIDIA AI Enterprise : an end-to-end AI software suite with more than 50 frameworks\nGPU cores run in parallel"
    assert slot_filled("count", lines, "How many frameworks does AI Enterprise bundle?")
    assert not slot_filled("count", lines, "How many cores does a typical GPU have?")
    assert slot_filled("count", "AI 워크플로우 4단계 : 데이터 준비 > 모델 학습", "AI 워크플로우는 몇 단계로 돼 있어?")
    assert not slot_filled("count", "GPU 코어 : 병렬 처리\n캐시\n전용 메모리", "그래픽카드 하나에 코어 몇개 들어감?")


def test_a_list_fills_the_count_when_its_section_is_about_the_thing_counted():
    lines = "Bare-metal performance\nInsights and tools\nResource sharing"
    assert slot_filled("count", lines, "How many benefits does GPU virtualization have?",
                       titles="Benefits of GPU Virtualization")
    assert slot_filled("count", "베어메탈 성능\n인사이트와 도구 제공", "GPU 가상화 이점이 몇 개야?",
                       titles="GPU 가상화의 이점")
    # "GPU" only modifies the title's subject: a list of a GPU server's traits does not count its GPUs
    assert not slot_filled("count", "Multiple GPUs\nhigh-speed interconnect", "How many GPUs does a typical one hold?",
                           titles="What Is a GPU Server System")


def test_units_and_plural_versions_ask_for_what_the_notes_never_state():
    from rag.answerability import asked_slots
    assert "number" in asked_slots("GPU 서버 한 대 무게가 보통 몇 kg 나가?")
    assert "number" in asked_slots("LLM 학습에 글을 몇 조 단어나 읽혀?")
    assert "version" in asked_slots("Which OS versions does it certify?")
    assert "number" not in asked_slots("워크플로우는 몇 단계야?")


def test_a_number_in_another_unit_does_not_answer_a_unit_question():
    lines = "NVIDIA AI Enterprise : 50개 이상의 프레임워크\n1970년대 컴퓨터 등장 이후"
    assert not slot_filled("number", lines, "GPU 서버 한 대 무게가 보통 몇 kg 나가?")
    assert not slot_filled("number", lines, "GPU가 CPU보다 몇 배 빨라?")
    assert slot_filled("number", "학습 속도 10배 향상", "GPU가 CPU보다 몇 배 빨라?")
    assert slot_filled("number", "latency of 5 ms", "What is the latency in ms?")
    # no unit named: a number in a line about what is asked may be the answer, not a number on another topic
    assert slot_filled("number", "NVIDIA AI Enterprise : more than 50 frameworks",
                       "What share of the frameworks are open source, in numbers?")
    assert not slot_filled("number", "1970s: computers appeared\n50 years of graphics chips",
                           "What share of the frameworks are open source, in numbers?")


def test_legal_and_safety_judgements_are_a_slot_the_notes_never_fill():
    from rag.answerability import asked_slots
    for question in ("Can I sue the bank if a robo-advisor loses my savings?", "Is it safe to put patient records in the cloud?",
                     "자율주행차에서 자도 법적으로 괜찮음?", "데이터센터 옆에 살면 건강에 나쁜가요?"):
        assert "judgement" in asked_slots(question), question
        assert not slot_filled("judgement", "인프라 및 데이터 보안 (Infrastructure & Data security)", question)
    for question in ("What does GPU virtualization do for data security?", "건강, 돈, 자동차 말고 1장에서 뭐가 나와?",
                     "응답이 늦어도 괜찮게 버티는 구조는 뭐 덕분이야?"):
        assert "judgement" not in asked_slots(question), question


def test_a_method_to_carry_out_asks_for_steps_a_method_the_notes_list_does_not():
    from rag.answerability import asked_slots
    assert "steps" in asked_slots("CUDA 설치 방법 알려줘")
    assert "steps" in asked_slots("GPU 여러 장 묶어서 학습 돌리는 방법 알려줘")
    assert "steps" not in asked_slots("생성형 AI로 기업 과제 해결할 때 Fine-Tuning 말고 다른 방법은 뭐 있어?")
    assert "steps" not in asked_slots("이미 있는 모델을 조금 손봐서 쓰는 방법 말고 또 어떤 선택지가 있나요?")


def test_a_few_examples_is_no_count_and_the_notes_languages_are_no_names(make_engine):
    from rag.answerability import asked_slots
    assert counted_noun("신약개발이 뭘 한다는 건지 예시 몇 개 들어서 설명해줘") == ""
    assert "judgement" in asked_slots("내 거래 내역을 AI에 돌리는 거 개인정보 위반 아님?")
    assert "price" in asked_slots("What is the annual electricity bill for an AI data center?")
    engine = make_engine()
    answer = engine.ask("The Korean notes say '지능형 영상 분석' - what is that used for in finance?")
    assert not answer.refused and "Korean" not in answer.missing


def test_a_link_the_evidence_holds_is_given_however_weak_the_evidence(make_engine):
    engine = make_engine(refusal_threshold=1e9, line_weight=0)      # every evidence score counts as weak
    answer = engine.ask("NGC 카탈로그 링크 좀 줘봐")
    assert not answer.refused and "https://catalog.ngc.nvidia.com" in answer.text
    assert engine.ask("DGX Cloud 링크 좀 줘봐").refused                  # no line links it


def test_a_link_is_no_list():
    assert not slot_filled("count", "NGC Catalog : https://catalog.ngc.nvidia.com/\nNGC Containers : 컨테이너",
                           "How many catalogs does NVIDIA run?")
