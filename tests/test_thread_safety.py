"""Shared state under threads: the engine while it rebuilds, torch's process-wide thread count, the
llama.cpp model lock held by a stream, and Kiwi's user dictionary. Each test makes the bad interleaving
possible (threads parked on events) and checks it cannot happen."""
from __future__ import annotations

import gc
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from rag.config import load_settings
from tests.conftest import FakeEmbedder

NOTES_MD = "## 1. Basics\n### 1.1 Alpha topic\nAlpha engines move freight across the valley.\n"


# ---- the engine: a rebuild does not stop questions ------------------------------------------------

class ParkingEmbedder(FakeEmbedder):
    """Parks inside embed_passages once ``park`` is set, until ``release`` is set."""

    def __init__(self):
        super().__init__()
        self.park, self.parked, self.release = threading.Event(), threading.Event(), threading.Event()

    def embed_passages(self, texts):
        if self.park.is_set() and len(texts):
            self.parked.set()
            assert self.release.wait(timeout=30)
        return self._embed(texts)


def test_questions_are_answered_while_the_index_rebuilds(tmp_path):
    from rag.engine import Engine

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "n.md").write_text(NOTES_MD, encoding="utf-8")
    settings = load_settings(environ={}, home=tmp_path / "home", notes=[notes], generator="extractive",
                             refusal_threshold=-1e9)
    embedder = ParkingEmbedder()
    engine = Engine(settings, embedder=embedder)
    assert engine.search("alpha engines")[0].section == "1.1"
    (notes / "n.md").write_text(NOTES_MD + "### 1.2 Beta topic\nBeta boats carry grain downstream.\n",
                                encoding="utf-8")
    embedder.park.set()
    builder = threading.Thread(target=engine.build_index, daemon=True)
    builder.start()
    assert embedder.parked.wait(timeout=30), "the rebuild never embedded the changed notes"
    found = []
    asker = threading.Thread(target=lambda: found.append(engine.search("alpha engines")[0].section), daemon=True)
    asker.start()
    asker.join(timeout=10)
    answered_during_build = not asker.is_alive()
    embedder.release.set()
    builder.join(timeout=30)
    asker.join(timeout=30)
    assert answered_during_build, "a question waited for the rebuild's embedding (engine lock held)"
    assert found == ["1.1"]
    assert engine.search("beta boats grain")[0].section == "1.2"   # the new build is swapped in


# ---- torch's thread count is process-wide ---------------------------------------------------------

class _GlobalThreads:
    """Stands in for torch's process-wide setting, so the test sees what every thread would see."""

    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value

    def set(self, value):
        self.value = value


class RecordingModel:
    """A CPU 'model' whose encode records the torch thread count it ran under; one call can be parked."""

    device = SimpleNamespace(type="cpu")
    prompts = {"query": "query: ", "passage": "passage: "}

    def __init__(self, threads: _GlobalThreads):
        self.threads = threads
        self.seen: dict[str, list[int]] = {"query": [], "passage": []}
        self.batch_inside, self.release, self.batch_done = threading.Event(), threading.Event(), threading.Event()
        self.query_inside = threading.Event()

    def get_embedding_dimension(self):
        return 4

    def encode(self, texts, prompt_name=None, **kwargs):
        self.seen[prompt_name].append(self.threads.get())
        if prompt_name == "passage":   # parks until released, then samples again
            self.batch_inside.set()
            assert self.release.wait(timeout=30)
        else:                          # stays inside until the batch has sampled again (if it can get in)
            self.query_inside.set()
            self.batch_done.wait(timeout=5)
        self.seen[prompt_name].append(self.threads.get())
        if prompt_name == "passage":
            self.batch_done.set()
        return np.ones((len(texts), 4), dtype=np.float32) / 2


def test_a_query_does_not_change_the_threads_of_a_batch_running_beside_it(monkeypatch):
    import torch

    from rag.models import embedder as embedder_module

    threads = _GlobalThreads(2)
    monkeypatch.setattr(torch, "get_num_threads", threads.get)
    monkeypatch.setattr(torch, "set_num_threads", threads.set)
    monkeypatch.setattr(embedder_module, "batch_threads", lambda: 2)   # an idle machine: batches use both cores
    model = RecordingModel(threads)
    emb = embedder_module.Embedder(model, "test/recording")
    batch = threading.Thread(target=emb.embed_passages, args=(["a passage"] * 3,), daemon=True)
    batch.start()
    assert model.batch_inside.wait(timeout=10)
    query = threading.Thread(target=emb.embed_queries, args=(["a question"],), daemon=True)
    query.start()
    model.query_inside.wait(timeout=1.0)   # the query gets into the middle of the batch, if it can
    model.release.set()
    batch.join(timeout=10)
    query.join(timeout=10)
    assert model.seen["passage"] == [2, 2], "the batch ran with a thread count set by the query"
    assert model.seen["query"] == [1, 1]
    assert threads.value == 2, "the setting was not restored"


# ---- llama.cpp: the model lock follows the stream's life --------------------------------------------

class FakeLlama:
    def __init__(self, lock):
        self.lock = lock
        self.inner_closed_while_locked = None

    def create_chat_completion(self, **kwargs):
        def chunks():
            try:
                for word in ["one ", "two ", "three "]:
                    yield {"choices": [{"delta": {"content": word}}]}
            finally:
                self.inner_closed_while_locked = self.lock.locked()
        return chunks()


@pytest.fixture
def fake_llamacpp(tmp_path, monkeypatch):
    from rag.llm import llamacpp_backend as backend
    from rag.llm.base import GenerationRequest

    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF")
    lock = threading.Lock()
    llama = FakeLlama(lock)
    key = str(gguf.resolve())
    monkeypatch.setitem(backend._MODELS, key, llama)
    monkeypatch.setitem(backend._LOCKS, key, lock)
    settings = load_settings(environ={}, home=tmp_path / "home", llm_model=str(gguf), timeout_s=0.2)
    generator = backend.LlamaCppGenerator(settings)
    request = GenerationRequest(question="q", language="en", messages=[{"role": "user", "content": "q"}])
    return generator, request, lock, llama


def test_closing_an_abandoned_llamacpp_stream_frees_the_model(fake_llamacpp):
    generator, request, lock, llama = fake_llamacpp
    stream = generator.stream(request)
    assert next(stream) == "one "
    assert lock.locked()
    stream.close()
    assert not lock.locked()
    assert llama.inner_closed_while_locked is True, "llama.cpp's stream must be finished before others use the model"
    assert "".join(generator.stream(request)) == "one two three "   # the next answer gets the model


def test_dropping_an_abandoned_llamacpp_stream_frees_the_model(fake_llamacpp):
    generator, request, lock, llama = fake_llamacpp
    gc.disable()   # freed by reference counting as the consumer drops it, not by a later collection
    try:
        outer = (piece.upper() for piece in generator.stream(request))   # a consumer wrapping the stream
        assert next(outer) == "ONE "
        assert lock.locked()
        del outer
        assert not lock.locked()
    finally:
        gc.enable()


# ---- Kiwi's user dictionary never changes under an analysis -----------------------------------------

class FakeKiwi:
    """Records whether add_user_word ever ran while an analysis was in progress."""

    def __init__(self):
        self.analysing = 0
        self.words_added_mid_analysis = 0
        self.words = []
        self.inside, self.release = threading.Event(), threading.Event()

    def tokenize(self, text):
        self.analysing += 1
        try:
            if "멈춤" in text:
                self.inside.set()
                assert self.release.wait(timeout=30)
            return [SimpleNamespace(form=w, tag="NNP") for w in text.split()]
        finally:
            self.analysing -= 1

    def add_user_word(self, word, tag, score):
        self.words_added_mid_analysis += self.analysing > 0
        self.words.append(word)
        return True


def test_kiwi_dictionary_does_not_change_during_an_analysis(monkeypatch):
    from rag.text import tokenize as tk

    kiwi = FakeKiwi()
    monkeypatch.setattr(tk, "_kiwi", kiwi)
    monkeypatch.setattr(tk, "_kiwi_ready", True)
    tk.tokenize.cache_clear()
    result = []
    reader = threading.Thread(target=lambda: result.append(tk.tokenize("멈춤 질문입니다")), daemon=True)
    reader.start()
    assert kiwi.inside.wait(timeout=10)
    writer = threading.Thread(target=tk.register_words, args=(["오케스트레이션"],), kwargs={"checked": True},
                              daemon=True)
    writer.start()
    writer.join(timeout=0.5)   # give the writer the chance to change the dictionary mid-analysis
    kiwi.release.set()
    reader.join(timeout=10)
    writer.join(timeout=10)
    tk.tokenize.cache_clear()
    assert kiwi.words == ["오케스트레이션"]
    assert kiwi.words_added_mid_analysis == 0
    assert result and "멈춤" in result[0]
