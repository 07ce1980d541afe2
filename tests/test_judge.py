"""The LLM's YES/NO check before it writes: does the evidence answer the question at all?"""
from rag.errors import GenerationError


def _judge_says(verdict, answer="GPU는 병렬 처리에 최적화되어 있습니다 [1]."):
    """A scripted model that answers the YES/NO prompt with ``verdict`` and anything else with ``answer``."""
    def reply(request):
        if "Answer only YES or NO" in request.messages[-1]["content"]:
            if isinstance(verdict, Exception):
                raise verdict
            return verdict
        return answer
    return reply


def _judge_requests(engine):
    return [r for r in engine.fake.requests if "Answer only YES or NO" in r.messages[-1]["content"]]


def test_a_no_refuses_before_anything_is_written(llm_engine):
    engine = llm_engine(judge=True, reply=_judge_says("NO"))
    events = list(engine.ask("CPU와 GPU의 차이점은 무엇인가요?", stream=True))
    answer = events[-1]
    assert answer.refused and answer.outcome == "refused" and answer.suggestions
    assert answer.notice and "judge" in answer.timings
    assert not [e for e in events[:-1] if isinstance(e, str)]          # nothing was shown and taken back
    assert len(engine.fake.requests) == 1                              # the answer was never generated
    judged = _judge_requests(engine)[0]
    assert "CPU와 GPU의 차이점" in judged.messages[-1]["content"]
    assert judged.evidence[0].text in judged.messages[-1]["content"]   # the model judges the evidence lines


def test_a_yes_lets_the_model_answer(llm_engine):
    engine = llm_engine(judge=True, reply=_judge_says("YES"))
    answer = engine.ask("CPU와 GPU의 차이점은 무엇인가요?")
    assert not answer.refused and answer.generator.startswith("scripted")
    assert len(_judge_requests(engine)) == 1 and len(engine.fake.requests) == 2


def test_only_a_plain_no_counts(llm_engine):
    for verdict in ("NOT_IN_NOTES", "", "Nothing", "Yes."):
        engine = llm_engine(judge=True, reply=_judge_says(verdict))
        assert not engine.ask("CPU와 GPU의 차이점은 무엇인가요?").refused, verdict
    for verdict in ("No.", "**NO**", " no"):
        assert llm_engine(judge=True, reply=_judge_says(verdict)).ask("CPU와 GPU의 차이점은 무엇인가요?").refused, verdict


def test_a_failed_check_leaves_the_rules_answer(llm_engine):
    engine = llm_engine(judge=True, reply=_judge_says(GenerationError("server went away")))
    answer = engine.ask("CPU와 GPU의 차이점은 무엇인가요?")
    assert not answer.refused and answer.citations


def test_no_check_when_switched_off_or_for_the_extractive_answerer(llm_engine, make_engine):
    engine = llm_engine(_judge_says("NO"))                     # off unless asked for (RAG_JUDGE=1)
    assert not engine.ask("CPU와 GPU의 차이점은 무엇인가요?").refused
    assert not _judge_requests(engine)
    assert not make_engine().ask("CPU와 GPU의 차이점은 무엇인가요?").refused


def test_a_named_section_is_not_second_guessed(llm_engine):
    engine = llm_engine(judge=True, reply=_judge_says("NO"))
    answer = engine.ask("4.5절 내용 요약해줘")
    assert not answer.refused and not _judge_requests(engine)
