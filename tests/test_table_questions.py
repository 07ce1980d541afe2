"""Questions that point at one of the notes' tables are answered from the table's rows."""
from rag.structure import asks_about_table, holds_table
from rag.types import Hit, Section


def test_table_cues():
    assert asks_about_table("오케스트레이션이랑 스케줄링 표 비교 좀 해줘")
    assert asks_about_table("CPU vs GPU 표에서 GPU 강점 칸에 있는 거")
    assert asks_about_table("In the orchestration/scheduling table, what does the scheduling column list?")
    # "표" inside another word is no table: 대표, 발표, 표현, 목표
    assert not asks_about_table("파운데이션 모델의 대표 예시와 발표 표현 목표")
    assert not asks_about_table("What is a foundation model?")


def test_a_table_is_a_pipe_row():
    assert holds_table(Section("d", "6.4", "t", "6", "c", "ko", "- a\n| 오케스트레이션 | 스케줄링 |\n| 컨테이너 기반 | 작업 할당 |"))
    assert not holds_table(Section("d", "6.1", "t", "6", "c", "ko", "- 오케스트레이션 및 스케줄링 : 중요한 역할"))


def _cited(answer):
    return [c.section for c in answer.citations]


def _answerer_ranking(make_engine, order):
    """The extractive answerer with retrieval's section order fixed: the key message (6.1) first, as e5 ranks it
    for these questions, so the test does not hang on the fake embedder's ranking."""
    answerer = make_engine().answerer()
    retrieve = answerer.retriever.retrieve

    def fixed(question, *args, **kwargs):
        found = retrieve(question, *args, **kwargs)
        by_number = {h.section: h for h in found.hits}
        doc = found.hits[0].doc
        hits = [by_number.get(n) or Hit(doc, n, "", 0.0) for n in order] + [h for h in found.hits if h.section not in order]
        for rank, hit in enumerate(hits):
            hit.score = 1.0 - rank / 100
        found.hits[:] = hits
        return found

    answerer.retriever.retrieve = fixed
    return answerer


def test_a_table_question_cites_the_table_not_the_summary_line(make_engine):
    answerer = _answerer_ranking(make_engine, ["6.1", "6.4", "5.7"])
    for question in ("In the orchestration/scheduling table, what does the scheduling column list?",
                     "표 기준으로 오케스트레이션만 가진 특징 세 가지만 뽑아주세요"):
        answer = answerer.answer(question)
        assert _cited(answer)[0] == "6.4", (question, _cited(answer))
        assert "로드 밸런싱" in answer.text or "load balancing" in answer.text.lower()


def test_without_a_table_word_the_same_ranking_keeps_its_first_section(make_engine):
    answerer = _answerer_ranking(make_engine, ["6.1", "6.4", "5.7"])
    answer = answerer.answer("오케스트레이션과 스케줄링은 어떤 역할을 해?")
    assert _cited(answer)[0] == "6.1"
