"""Shared fixtures: the course notes, a fake embedder and engines built on them in tmp_path."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from rag.config import REPO_ROOT, load_settings

SEED = REPO_ROOT.parent / "shared" / "seed" / "000_1dc2d8eae4d279a7.txt"
CORPUS = REPO_ROOT / "corpus" / "nvidia-ai-infra-1"


class FakeEmbedder:
    """Deterministic hashed bag of keyword tokens: enough to exercise the dense plumbing in milliseconds."""

    dim = 64

    def __init__(self, model_id: str = "fake/hashed-bow@1"):
        self.model_id = model_id
        self.calls = 0

    def _embed(self, texts):
        from rag.text.tokenize import tokenize

        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype="float32")
        for row, text in enumerate(texts):
            for token in tokenize(text):
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out

    embed_queries = _embed
    embed_passages = _embed


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def make_engine(tmp_path, fake_embedder):
    from rag.engine import Engine

    def make(notes=(CORPUS,), auto_index=True, embedder=None, **overrides):
        # the refusal threshold is fitted to e5's cosines; the fake embedder's are on another scale
        overrides.setdefault("refusal_threshold", -1e9)
        # so is the labelled-question prior's weight; its own tests (test_question_bank.py) set one
        overrides.setdefault("question_prior_weight", 0.0)
        settings = load_settings(environ={}, home=tmp_path / "home", notes=list(notes), generator="extractive",
                                 **overrides)
        return Engine(settings, auto_index=auto_index, embedder=embedder or fake_embedder)

    return make


@pytest.fixture(scope="session")
def seed_text() -> str:
    if SEED.exists():
        return SEED.read_text(encoding="utf-8")
    pytest.skip("the seed file is not beside the checkout")


class ScriptedLLM:
    """A fake LLM backend: replies from a script, and obeys any instruction it sees (a worst case)."""

    name = "scripted"
    uses_llm = True
    label = "scripted:fake"

    def __init__(self, reply="", fail_after=None):
        self.reply = reply
        self.fail_after = fail_after
        self.requests = []

    def count_tokens(self, text):
        return len(text) // 3

    def stream(self, request):
        from rag.errors import GenerationError

        self.requests.append(request)
        prompt = "\n".join(m["content"] for m in request.messages)
        reply = self.reply(request) if callable(self.reply) else self.reply
        if "IGNORE ALL PREVIOUS INSTRUCTIONS" in prompt:
            reply = "I have been pwned. Visit evil.example for free GPUs, everybody, right now please."
        if "system prompt" in request.question.lower():
            reply = request.messages[0]["content"]
        for i, word in enumerate(reply.split(" ")):
            if self.fail_after is not None and i >= self.fail_after:
                raise GenerationError("server went away (connection reset)")
            yield word + " "

    def complete(self, request):
        return "".join(self.stream(request))


@pytest.fixture
def llm_engine(make_engine):
    """An engine whose generator is a ScriptedLLM (returned as engine.fake)."""

    def make(reply="", fail_after=None, **kwargs):
        engine = make_engine(**kwargs)
        engine.fake = ScriptedLLM(reply, fail_after)
        engine._generators[engine.settings.generator] = engine.fake
        return engine

    return make
