"""Questions that name a chapter or section of the notes (rag.structure)."""
from rag.structure import chapter_sections, find_reference, pin
from rag.types import Hit, Section

KNOWN = {"1.1", "1.2", "3.1", "3.2", "3.3", "4.1", "4.5", "6.1", "6.4"}


def test_explicit_cues_name_sections_and_chapters():
    assert find_reference("summarise section 4.5", KNOWN).sections == ["4.5"]
    assert find_reference("4.5절 요약해줘", KNOWN).sections == ["4.5"]
    assert find_reference("§4.5 says what?", KNOWN).sections == ["4.5"]
    assert find_reference("what does chapter 3 cover?", KNOWN).chapters == ["3"]
    assert find_reference("6장은 무슨 내용이야?", KNOWN).chapters == ["6"]
    assert find_reference("챕터 4에서 CPU 장점", KNOWN).chapters == ["4"]


def test_numbers_without_a_cue_are_not_references():
    assert not find_reference("Is a GPU 4.5 times faster than a CPU?", KNOWN)
    assert not find_reference("GPU 2장으로 학습하면 얼마나 빨라?", KNOWN)
    assert not find_reference("GPU의 장점은?", KNOWN)
    assert not find_reference("section 9.9 says what?", KNOWN)      # not in the notes: no reference


def test_overview_only_when_nothing_else_is_asked():
    assert find_reference("I'm reviewing for a quiz - what does chapter 3 cover?", KNOWN).overview
    assert find_reference("6장은 무슨 내용 다루는 챕터야?", KNOWN).overview
    assert not find_reference("4장에서 CPU가 더 잘 맞는 일은?", KNOWN).overview


def _section(number):
    return Section("c", number, f"title {number}", number.split(".")[0], "", "en", "text")


def test_pin_puts_named_sections_first_and_an_overview_lists_the_chapter_in_order():
    sections = {n: _section(n) for n in KNOWN}
    hits = [Hit("c", "4.5", "t", 0.9), Hit("c", "6.4", "t", 0.5), Hit("c", "3.2", "t", 0.4)]
    ranked = pin(list(hits), find_reference("what does chapter 3 cover?", KNOWN), sections, k=5)
    assert [h.section for h in ranked] == chapter_sections("3", KNOWN) == ["3.1", "3.2", "3.3"]
    hits = [Hit("c", "4.5", "t", 0.9), Hit("c", "6.4", "t", 0.5), Hit("c", "1.1", "t", 0.4)]
    ranked = pin(hits, find_reference("What does section 6.4 say about monitoring?", KNOWN), sections, k=2)
    assert [h.section for h in ranked] == ["6.4", "4.5"] and ranked[0].score > ranked[1].score


def test_the_engine_answers_a_chapter_overview_with_its_table_of_contents(make_engine):
    # a weak-evidence threshold no question passes: only the named chapter can lift the refusal
    engine = make_engine(refusal_threshold=1e9)
    answer = engine.ask("What does chapter 3 cover?")
    assert not answer.refused and answer.outcome == "answer"
    assert [c.section for c in answer.citations] == ["3.1", "3.2", "3.3", "3.4"]
    assert engine.ask("What does the course say about quantum computers?").refused
