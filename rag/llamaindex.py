"""The tutor inside a llama-index application: a retriever and a query engine over our engine.

    from rag.llamaindex import CourseQueryEngine
    response = CourseQueryEngine().query("CPU와 GPU의 차이점은 무엇인가요?")
    print(response, [(n.metadata["section"], n.metadata["title"]) for n in response.source_nodes])

``CourseRetriever`` is a llama-index ``BaseRetriever``: our hybrid search (dense + Korean-aware keyword,
fused, one hit per section) returning ``NodeWithScore``, so it drops into any llama-index pipeline
(``RetrieverQueryEngine.from_args(CourseRetriever(), llm=...)``). ``CourseQueryEngine`` answers with our
answerer instead of a llama-index synthesiser: the response text is the tutor's answer, its source nodes
are the answer's citations, and a refusal stays a refusal (``metadata["refused"]``, no source nodes).

This module imports llama-index (seconds); nothing on the ask/search path imports this module.
"""
from __future__ import annotations

import asyncio

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .text.language import detect_language, has_hangul
from .types import Answer, Chunk, Citation, Hit, Section

# Bookkeeping that would only be noise in a prompt or an embedding; section, title and chapter stay.
_NOT_FOR_MODELS = ["doc", "source", "line", "chunk_id", "rank", "kind"]


def _engine(engine):
    if engine is not None:
        return engine
    from .engine import default_engine

    return default_engine()


def _sections_by_key(engine) -> dict[tuple[str, str, str], Section]:
    return {(s.doc, s.section, s.language): s for s in engine.read_notes().sections}


def _metadata(doc: str, number: str, title: str, language: str, section: Section | None, **extra) -> dict:
    return {"doc": doc, "section": number, "title": title,
            "chapter": section.chapter if section else number.split(".")[0],
            "chapter_title": section.chapter_title if section else "",
            "language": language, "source": section.source if section else "",
            "line": section.line if section else 0, **extra}


def _text_node(node_id: str, text: str, metadata: dict) -> TextNode:
    return TextNode(id_=node_id, text=text, metadata=metadata,
                    excluded_llm_metadata_keys=list(_NOT_FOR_MODELS),
                    excluded_embed_metadata_keys=list(_NOT_FOR_MODELS))


def hit_node(hit: Hit, sections: dict, language: str | None = None) -> NodeWithScore:
    """One retrieved section as a node: the text of its best matching chunk (in ``language`` when that
    language's chunk matched too), the section's metadata, and the fused retrieval score."""
    chunk: Chunk | None = next((c for c in hit.chunks if c.language == language), None) if language else None
    chunk = chunk or (hit.chunks[0] if hit.chunks else None)
    lang = chunk.language if chunk else (language or "")
    section = sections.get((hit.doc, hit.section, lang))
    text = chunk.text if chunk else (section.text if section else "")
    title = section.title if section else hit.title
    meta = _metadata(hit.doc, hit.section, title, lang, section, rank=hit.rank, kind="retrieved",
                     chunk_id=chunk.id if chunk else "")
    return NodeWithScore(node=_text_node(chunk.id if chunk else f"{hit.doc}:{lang}:{hit.section}", text, meta),
                         score=float(hit.score))


def citation_node(citation: Citation, sections: dict) -> NodeWithScore:
    """One citation of an answer as a node: the quoted lines that support it, the section's metadata."""
    language = "ko" if has_hangul(citation.quote) else "en"
    section = sections.get((citation.doc, citation.section, language))
    meta = _metadata(citation.doc, citation.section, citation.title, language, section, kind="citation")
    node_id = f"{citation.doc}:{language}:{citation.section}:citation"
    return NodeWithScore(node=_text_node(node_id, citation.quote, meta), score=float(citation.score))


class CourseRetriever(BaseRetriever):
    """The course index as a llama-index retriever: ``retrieve(str | QueryBundle) -> [NodeWithScore]``.

    One node per section, best first (``k`` sections, default ``RAG_TOP_K``). The node text is the
    section's best matching chunk, in ``language`` ("ko", "en"; "auto": the question's) when a chunk
    of that language matched too; ``None`` takes the best chunk whatever its language. Scores are
    reciprocal-rank fusion scores (higher is better), not cosines.
    """

    def __init__(self, engine=None, k: int | None = None, language: str | None = "auto",
                 callback_manager: CallbackManager | None = None, verbose: bool = False):
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.engine = _engine(engine)
        self.k = k
        self.language = language

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.engine.search(query_bundle.query_str, k=self.k or self.engine.settings.top_k)
        sections = _sections_by_key(self.engine)
        language = detect_language(query_bundle.query_str) if self.language == "auto" else self.language
        return [hit_node(hit, sections, language) for hit in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class CourseQueryEngine(BaseQueryEngine):
    """The tutor as a llama-index query engine: ``query(str | QueryBundle) -> Response``.

    ``str(response)`` is the answer (or the refusal) in the question's language; ``source_nodes`` are its
    citations (none for a refusal); ``metadata`` is ``Answer.to_dict()``: ``refused``, ``outcome``,
    ``suggestions`` (closest sections when refused), ``generator``, ``timings``, ``notice``.
    ``history`` is a list of {"role", "content"} turns for follow-up questions.
    """

    def __init__(self, engine=None, generator: str | None = None, history: list[dict] | None = None,
                 callback_manager: CallbackManager | None = None):
        super().__init__(callback_manager=callback_manager)
        self.engine = _engine(engine)
        self.generator = generator
        self.history = history

    def _get_prompt_modules(self) -> dict:
        return {}   # prompts are our files (rag/prompts/), not llama-index prompt templates

    def answer(self, question: str) -> Answer:
        return self.engine.ask(question, history=self.history, generator=self.generator)

    def _query(self, query_bundle: QueryBundle) -> Response:
        answer = self.answer(query_bundle.query_str)
        sections = _sections_by_key(self.engine)
        nodes = [] if answer.refused else [citation_node(c, sections) for c in answer.citations]
        return Response(response=answer.text, source_nodes=nodes, metadata=answer.to_dict())

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return CourseRetriever(self.engine, callback_manager=self.callback_manager).retrieve(query_bundle)


__all__ = ["CourseQueryEngine", "CourseRetriever", "citation_node", "hit_node"]
