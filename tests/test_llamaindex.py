"""The tutor through llama-index's own API: CourseRetriever (BaseRetriever) and CourseQueryEngine."""
from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.base.base_retriever import BaseRetriever  # noqa: E402
from llama_index.core.base.response.schema import Response  # noqa: E402
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode  # noqa: E402

from rag.llamaindex import CourseQueryEngine, CourseRetriever  # noqa: E402

KO = "CPU와 GPU의 차이점은 무엇인가요?"
EN = "What is the difference between a CPU and a GPU?"
METADATA = {"doc", "section", "title", "chapter", "chapter_title", "language", "source", "line"}


@pytest.fixture
def engine(make_engine):
    return make_engine()


def test_retriever_returns_one_node_per_section_in_our_order(engine):
    retriever = CourseRetriever(engine, k=4)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve(KO)
    hits = engine.search(KO, k=4)
    assert [n.node.metadata["section"] for n in nodes] == [h.section for h in hits]
    assert all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
    notes = {(s.doc, s.section, s.language): s for s in engine.read_notes().sections}
    for node, hit in zip(nodes, hits):
        meta = node.node.metadata
        assert METADATA <= set(meta)
        section = notes[(meta["doc"], meta["section"], meta["language"])]
        assert (meta["title"], meta["chapter"], meta["source"]) == (section.title, section.chapter, section.source)
        chunk = next(c for c in hit.chunks if c.id == node.node.node_id)   # one of the chunks that matched
        assert node.node.text == chunk.text and chunk.section == meta["section"]
    # a QueryBundle gives the same nodes as the string
    assert [n.node.node_id for n in retriever.retrieve(QueryBundle(KO))] == [n.node.node_id for n in nodes]


def test_node_text_follows_the_question_language_when_that_chunk_matched(engine):
    for question, language in ((KO, "ko"), (EN, "en")):
        nodes = CourseRetriever(engine, k=5).retrieve(question)
        hits = engine.search(question, k=5)
        for node, hit in zip(nodes, hits):
            matched = {c.language for c in hit.chunks}
            assert node.node.metadata["language"] == (language if language in matched else hit.chunks[0].language)
        assert any(n.node.metadata["language"] == language for n in nodes)
    forced = CourseRetriever(engine, k=5, language="en").retrieve(KO)
    assert [n.node.metadata["section"] for n in forced] == [h.section for h in engine.search(KO, k=5)]


def test_prompt_sees_section_and_title_but_not_bookkeeping(engine):
    node = CourseRetriever(engine, k=1).retrieve(EN)[0].node
    for_llm = node.get_content(metadata_mode=MetadataMode.LLM)
    assert f"section: {node.metadata['section']}" in for_llm and f"title: {node.metadata['title']}" in for_llm
    assert "source:" not in for_llm and "chunk_id:" not in for_llm
    assert "source:" not in node.get_content(metadata_mode=MetadataMode.EMBED)


def test_query_engine_answers_with_our_answerer_and_its_citations(engine):
    response = CourseQueryEngine(engine).query(EN)
    expected = engine.ask(EN)
    assert isinstance(response, Response)
    assert str(response) == expected.text and not response.metadata["refused"]
    assert [n.node.metadata["section"] for n in response.source_nodes] == [c.section for c in expected.citations]
    assert [n.node.text for n in response.source_nodes] == [c.quote for c in expected.citations]
    assert response.source_nodes and response.metadata["generator"] == "extractive"
    assert response.metadata["language"] == "en"
    ko = asyncio.run(CourseQueryEngine(engine).aquery(QueryBundle(KO)))
    assert ko.metadata["language"] == "ko" and str(ko) == engine.ask(KO).text


def test_refusal_is_a_refusal_not_an_answer_with_sources(make_engine):
    engine = make_engine(refusal_threshold=1e9)   # nothing is close enough: every question is refused
    response = CourseQueryEngine(engine).query("What is the capital of France?")
    assert response.metadata["refused"] is True and response.metadata["outcome"] == "refused"
    assert response.source_nodes == []
    assert str(response) == engine.ask("What is the capital of France?").text
    assert response.metadata["suggestions"]          # the closest sections, for a UI to offer


def test_retriever_plugs_into_a_plain_llama_index_query_engine(engine):
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    query_engine = RetrieverQueryEngine.from_args(CourseRetriever(engine, k=2), llm=MockLLM())
    response = query_engine.query(EN)
    hits = engine.search(EN, k=2)
    assert [n.node.metadata["section"] for n in response.source_nodes] == [h.section for h in hits]
    # MockLLM echoes its prompt: llama-index's synthesiser put our nodes, with section and title, in it
    prompt = str(response)
    assert all(n.node.text.splitlines()[0] in prompt for n in response.source_nodes)
    assert f"section: {hits[0].section}" in prompt and "source:" not in prompt
