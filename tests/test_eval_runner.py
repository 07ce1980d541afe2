"""The runner against a fake engine and small gold files written to tmp_path."""
import json

import pytest

from evals import runner
from evals.metrics import METRIC_KEYS
from rag.errors import ConfigError, GenerationError
from rag.types import Answer, Citation, Hit

GOLD = [
    {"id": "k1", "lang": "ko", "question": "CPU와 GPU의 차이는?", "answerable": True,
     "gold_sections": ["4.5"], "key_facts": [["병렬", "parallel"], ["코어"]], "type": "fact"},
    {"id": "e1", "lang": "en", "question": "What is vGPU?", "answerable": True,
     "gold_sections": ["5.2"], "key_facts": [["virtual GPU"]], "type": "fact"},
    {"id": "e2", "lang": "en", "question": "What are the data center components?", "answerable": True,
     "gold_sections": ["6.3"], "key_facts": [["storage"]], "type": "fact"},
    {"id": "u1", "lang": "ko", "question": "엔비디아 주가는?", "answerable": False,
     "gold_sections": [], "key_facts": [], "type": "unanswerable"},
    {"id": "u2", "lang": "en", "question": "Who won the 2022 World Cup?", "answerable": False,
     "gold_sections": [], "key_facts": [], "type": "unanswerable"},
]

# hybrid ranking per question; the keyword leg alone misses e1 (a cross-lingual term)
RANKINGS = {
    "CPU와 GPU의 차이는?": ["4.5", "4.5", "4.6", "4.3"],
    "What is vGPU?": ["5.3", "5.2", "5.1"],
    "What are the data center components?": ["6.2", "6.1", "1.1", "2.1", "3.1", "6.3"],
    "엔비디아 주가는?": ["1.3", "4.2"],
    "Who won the 2022 World Cup?": ["1.1"],
}
SCORES = {"k1": 0.9, "e1": 0.8, "e2": 0.7, "u1": 0.2, "u2": 0.1}
ANSWERS = {
    "CPU와 GPU의 차이는?": ("GPU는 수천 개의 코어로 병렬 처리를 합니다.", False, ["4.5"]),
    "What is vGPU?": ("A vGPU is a virtual GPU shared by VMs.", False, ["5.2", "5.3"]),
    "What are the data center components?": ("The notes do not cover this.", True, []),
    "엔비디아 주가는?": ("노트에 없는 내용입니다.", True, []),
    "Who won the 2022 World Cup?": ("Argentina won.", False, ["1.1"]),
}


class FakeEngine:
    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def search(self, question, k=10, legs=None, glossary=None):
        self.calls.append(("search", question, k, legs, glossary))
        if question == runner.WARM_UP_QUESTION:
            return []
        ranking = RANKINGS[question]
        if legs == ("keyword",) and question == "What is vGPU?" and not glossary:
            ranking = ["1.1"]
        item_id = next(g["id"] for g in GOLD if g["question"] == question)
        return [Hit(doc="d", section=s, title=s, score=SCORES[item_id] - 0.01 * r, rank=r + 1)
                for r, s in enumerate(ranking[:k])]

    def ask(self, question, generator=None):
        self.calls.append(("ask", question, generator))
        if question == self.fail_on:
            raise GenerationError("server down")
        text, refused, cited = ANSWERS.get(question, ("warm", False, []))
        return Answer(text=text, language="ko", refused=refused, generator="fake:model",
                      citations=[Citation("d", s, s, "", 1.0) for s in cited], timings={"generate": 1.0})


def _write_gold(tmp_path, items=GOLD):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def top_score(question, hits):
    return hits[0].score if hits else 0.0


def test_run_eval_writes_the_report(tmp_path):
    messages = []
    engine = FakeEngine()
    report = runner.run_eval(_write_gold(tmp_path), tmp_path / "out", engine, generator="fake",
                             progress=messages.append, evidence_fn=top_score)
    # warm-up with a question outside the gold set, then per item: ask (timed) before search, so the
    # query-embedding cache cannot make ask look faster than it is
    warm = runner.WARM_UP_QUESTION
    assert engine.calls[:4] == [("search", warm, 10, None, None), ("ask", warm, "fake"),
                                ("ask", GOLD[0]["question"], "fake"),
                                ("search", GOLD[0]["question"], 10, None, None)]
    assert "warm" not in {i["answer"] for i in report["items"]}
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert on_disk["n_items"] == 5 and on_disk["generator"] == "fake:model"
    assert set(on_disk["metrics"]) == {"all", "ko", "en"}
    assert all(list(on_disk["metrics"][lang]) == list(METRIC_KEYS) for lang in ("all", "ko", "en"))
    assert {"id", "lang", "retrieved", "answer", "refused", "citations", "key_facts_found",
            "latency_ms"} <= set(on_disk["items"][0])
    all_m = report["metrics"]["all"]
    # answerable k1 (rank 1), e1 (rank 2), e2 (rank 6): R@1 1/3, R@5 2/3, MRR (1 + 1/2 + 1/6)/3
    assert all_m["recall@1"] == pytest.approx(1 / 3)
    assert all_m["recall@5"] == pytest.approx(2 / 3)
    assert all_m["mrr@10"] == pytest.approx((1 + 0.5 + 1 / 6) / 3)
    assert all_m["refusal_recall"] == 0.5 and all_m["false_refusal_rate"] == pytest.approx(1 / 3)
    # k1 2/2 facts, e1 1/1, e2 refused -> 0: mean 2/3; citations: k1 1/1, e1 1/2 -> 0.75
    assert all_m["key_fact_recall"] == pytest.approx(2 / 3)
    assert all_m["citation_precision"] == pytest.approx(0.75)
    assert report["metrics"]["ko"]["recall@1"] == 1.0
    assert report["items"][0]["retrieved"] == ["4.5", "4.6", "4.3"]  # deduplicated
    assert report["items"][0]["key_facts_found"] == [True, True]
    assert "ask 1/5 k1" in messages and "ask 5/5 u2" in messages


def test_ablation_and_refusal_cv_sections(tmp_path):
    report = runner.run_eval(_write_gold(tmp_path), tmp_path, FakeEngine(), evidence_fn=top_score)
    rows = {r["name"]: r for r in report["ablation"]["rows"]}
    assert list(rows) == [name for name, _, _ in runner.ABLATIONS]
    # en: keyword alone misses e1; e2 sits at rank 6 everywhere -> R@5 0, MRR (0 + 1/6) / 2
    assert rows["keyword only"]["metrics"]["en"]["recall@5"] == 0.0
    assert rows["keyword only"]["metrics"]["en"]["mrr@10"] == pytest.approx(1 / 12)
    # the glossary brings e1 back at rank 2 -> R@5 1/2, MRR (1/2 + 1/6) / 2
    assert rows["keyword + glossary"]["metrics"]["en"]["recall@5"] == 0.5
    assert rows["keyword + glossary"]["metrics"]["en"]["mrr@10"] == pytest.approx(1 / 3)
    assert rows["hybrid + glossary"]["metrics"]["ko"]["recall@1"] == 1.0
    cv = report["refusal_cv"]
    # top scores: answerable 0.9/0.8/0.7, unanswerable 0.2/0.1 -> split between 0.2 and 0.7
    assert 0.2 < cv["threshold"] <= 0.7
    assert cv["in_sample"]["refusal_recall"] == 1.0 and cv["in_sample"]["false_refusal_rate"] == 0.0
    assert report["items"][3]["evidence_score"] == pytest.approx(0.2)


def test_markdown_and_plots(tmp_path):
    runner.run_eval(_write_gold(tmp_path), tmp_path, FakeEngine(), evidence_fn=top_score)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| recall@5 |" in md and "## Retrieval ablation" in md and "| keyword only |" in md
    assert "Retrieval misses (recall@5 = 0): 1" in md and "`e2`" in md
    assert "Wrong refusals (answerable, refused): 1" in md
    assert "Missed refusals (unanswerable, answered): 1" in md and "`u2`" in md
    for png in ("recall_at_k.png", "latency_hist.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_retrieval_only_never_asks(tmp_path):
    engine = FakeEngine()
    report = runner.run_eval(_write_gold(tmp_path), tmp_path, engine, retrieval_only=True,
                             ablation=False, evidence_fn=False)
    assert not any(call[0] == "ask" for call in engine.calls)
    assert sum(call[0] == "search" for call in engine.calls) == 6   # one untimed warm-up + 5 items
    assert report["warmup_ms"] >= 0
    assert report["generator"] == "none (retrieval only)" and report["retrieval_only"] is True
    assert report["metrics"]["all"]["key_fact_recall"] is None
    assert report["metrics"]["all"]["recall@5"] == pytest.approx(2 / 3)
    assert "ablation" not in report and "refusal_cv" not in report
    assert report["items"][0]["answer"] is None


def test_generation_error_is_recorded_not_raised(tmp_path):
    report = runner.run_eval(_write_gold(tmp_path), tmp_path, FakeEngine(fail_on="What is vGPU?"),
                             ablation=False, evidence_fn=False)
    failed = next(r for r in report["items"] if r["id"] == "e1")
    assert failed["error"] == "server down" and failed["key_facts_found"] == [False]
    assert "### Errors: 1" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_baseline_is_shown_beside_ours(tmp_path):
    baseline = {"description": "llama-index default", "context_hit": 0.9, "nodes": 12, "metrics": {
        lang: {k: 0.5 for k in METRIC_KEYS} for lang in ("all", "ko", "en")}, "items": [1, 2]}
    report = runner.run_eval(_write_gold(tmp_path), tmp_path, FakeEngine(), baseline=baseline,
                             ablation=False, evidence_fn=False)
    assert "items" not in report["baseline"]
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "baseline all" in md and "llama-index default" in md and "90.0% of answerable" in md
    assert json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["items"] == [1, 2]


@pytest.mark.parametrize("bad, message", [
    ({"id": "x", "lang": "fr", "question": "q", "answerable": False}, "lang must be"),
    ({"id": "x", "lang": "ko", "question": "q", "answerable": True, "gold_sections": []}, "gold section"),
    ({"id": "x", "lang": "ko", "answerable": False}, "question"),
])
def test_bad_gold_lines_name_the_line(tmp_path, bad, message):
    path = _write_gold(tmp_path, [GOLD[0], bad])
    with pytest.raises(ConfigError, match=rf"gold.jsonl:2: .*{message}"):
        runner.load_gold(path)


def test_duplicate_ids_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="duplicate id"):
        runner.load_gold(_write_gold(tmp_path, [GOLD[0], GOLD[0]]))
    with pytest.raises(ConfigError, match="not found"):
        runner.load_gold(tmp_path / "nope.jsonl")


# --- the llama-index baseline ------------------------------------------------------------------------

from evals import baseline_llamaindex as bl  # noqa: E402
from rag.types import Section  # noqa: E402

NOTES = """# Notes

## 4. GPU

### 4.5 CPU vs. GPU

GPU has thousands of small cores for parallel work. CPU has few large cores.

### 4.6 GPU servers

A GPU server packs eight GPUs with NVLink and fast networking.

## 5. Virtualisation

### 5.2 vGPU

vGPU shares one physical GPU between virtual machines.
"""


def _sections(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("### "):
            sec = line.split()[1]
            out.append(Section("d", sec, sec, sec[0], "", "en", "", source=str(path), line=number))
    return out


def test_section_spans_and_overlap_mapping():
    text = "intro\n# 1.1 A\naaaa\n# 1.2 B\nbbbbbbbb\n"
    secs = [Section("d", "1.1", "A", "1", "", "en", "", line=2), Section("d", "1.2", "B", "1", "", "en", "", line=4)]
    spans = bl.section_spans(text, secs)
    # "intro\n" is 6 chars, "# 1.1 A\n" 8, "aaaa\n" 5: 1.1 owns 6..19, 1.2 owns 19..end
    assert spans == [(6, 19, "1.1"), (19, len(text), "1.2")]
    assert text[spans[1][0]:].startswith("# 1.2")
    # a node over chars 14..24 covers 5 chars of 1.1 and 5 of 1.2: tie -> the earlier section
    assert bl.overlapping_sections(spans, 14, 24) == ["1.1", "1.2"]
    assert bl.overlapping_sections(spans, 15, 34) == ["1.2", "1.1"]
    assert bl.overlapping_sections(spans, 0, 5) == []      # the intro belongs to no section


def test_refusal_heuristic():
    assert bl.looks_like_refusal("The context does not provide information about stock prices.")
    assert bl.looks_like_refusal("주어진 정보에는 언급되어 있지 않습니다.")
    assert not bl.looks_like_refusal("A vGPU shares one GPU between VMs.")


class _HashEmbedding:
    """Character-trigram hashing: deterministic, no model, good enough to rank these tiny notes."""

    @staticmethod
    def build():
        from llama_index.core.embeddings import BaseEmbedding

        import zlib

        def vec(text):  # crc32, not hash(): str hashes change between processes
            v = [0.0] * 128
            t = text.lower()
            for i in range(len(t) - 2):
                v[zlib.crc32(t[i:i + 3].encode()) % 128] += 1.0
            norm = sum(x * x for x in v) ** 0.5 or 1.0
            return [x / norm for x in v]

        class HashEmbedding(BaseEmbedding):
            def _get_query_embedding(self, query):
                return vec(query)

            async def _aget_query_embedding(self, query):
                return vec(query)

            def _get_text_embedding(self, text):
                return vec(text)

        return HashEmbedding(model_name="hash")


class _EchoGenerator:
    """Stands in for rag.llm.base.Generator: answers from the prompt's context, records requests."""

    label = "echo"

    def __init__(self):
        self.requests = []

    def stream(self, request):
        self.requests.append(request)
        yield "vGPU shares one physical GPU " if "vGPU" in request.question else "No information "
        yield "between virtual machines."

    def complete(self, request):
        return "".join(self.stream(request))


def test_baseline_end_to_end_with_fakes(tmp_path, monkeypatch):
    pytest.importorskip("llama_index.core")
    monkeypatch.setenv("OPENAI_API_KEY", "")  # anything reaching for OpenAI would fail loudly
    notes = tmp_path / "notes.en.md"
    notes.write_text(NOTES, encoding="utf-8")
    gold = _write_gold(tmp_path, [
        {"id": "e1", "lang": "en", "question": "What does vGPU share between virtual machines?",
         "answerable": True, "gold_sections": ["5.2"], "key_facts": [["virtual machines"]]},
        {"id": "u1", "lang": "en", "question": "Who won the 2022 World Cup?", "answerable": False,
         "gold_sections": [], "key_facts": []},
    ])
    gen = _EchoGenerator()
    result = bl.run_baseline(gold, _sections(notes), _HashEmbedding.build(), gen, retrieval_only=False,
                             chunk_size=40)
    assert result["nodes"] >= 3                       # small chunks: one node cannot hold every section
    e1 = result["items"][0]
    assert e1["retrieved"][0] == "5.2" and len(e1["retrieved"]) <= bl.TOP_K
    assert e1["citations"] == e1["retrieved"] and e1["refused"] is False
    assert e1["key_facts_found"] == [True]
    assert result["items"][1]["refused"] is True       # "No information ..." reads as a refusal
    assert gen.requests and gen.requests[0].language == "en"
    assert "Context information" in gen.requests[0].messages[0]["content"]  # llama-index's own prompt
    assert set(result["metrics"]) == {"all", "ko", "en"}
    assert result["metrics"]["en"]["recall@1"] == 1.0 and result["metrics"]["ko"]["recall@1"] is None
    assert result["context_hit"] == 1.0


def test_default_evidence_uses_the_engines_retrieve_features(tmp_path, monkeypatch):
    answer = pytest.importorskip("rag.answer")
    from types import SimpleNamespace

    class FeatureEngine(FakeEngine):
        settings = SimpleNamespace(top_k=3, refusal_threshold=0.5)

        def retrieve(self, question, k=5, legs=None, glossary=None):
            index = next(i for i, g in enumerate(GOLD) if g["question"] == question)
            self.calls.append(("retrieve", question, k))
            # features that identify the item, so each score can be traced back to its own question
            return SimpleNamespace(features={"item": index, "strong": not GOLD[index]["id"].startswith("u")})

    # the answerer's scoring function, replaced by one whose output encodes the features it was given
    monkeypatch.setattr(answer, "evidence_score", lambda f: (1.0 if f["strong"] else 0.0) + f["item"] / 1000)
    engine = FeatureEngine()
    report = runner.run_eval(_write_gold(tmp_path), tmp_path, engine, ablation=False)
    cv = report["refusal_cv"]
    expected = [(0.0 if g["id"].startswith("u") else 1.0) + i / 1000 for i, g in enumerate(GOLD)]
    assert sorted(cv["scores"]) == pytest.approx(sorted(expected))
    assert ("retrieve", GOLD[0]["question"], 3) in engine.calls          # k = settings.top_k
    assert cv["current"]["threshold"] == 0.5
    assert cv["in_sample"]["refusal_recall"] == 1.0                      # the fake separates cleanly
    assert "The current setting (0.5000)" in (tmp_path / "report.md").read_text(encoding="utf-8")


# --- the real gold set ---------------------------------------------------------------------------------

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["gold_dev.jsonl", "gold_test.jsonl"])
def test_real_gold_file_is_valid_against_the_notes(name):
    path = REPO / "evals" / name
    from rag.ingest.loaders import load_notes

    gold = runner.load_gold(path)  # parses, ids unique, answerable items have gold sections
    known = {s.section for s in load_notes([REPO / "corpus"]).sections}
    unknown = {(g.id, s) for g in gold for s in g.gold_sections if s not in known}
    assert not unknown, f"gold sections missing from the notes: {sorted(unknown)}"
    assert {g.lang for g in gold} == {"ko", "en"}
    assert any(not g.answerable for g in gold) and any(g.answerable for g in gold)
    assert all(not g.gold_sections for g in gold if not g.answerable)
    assert all(g.key_facts for g in gold if g.answerable), "every answerable item needs key facts"


def test_shards_of_a_gold_file_merge_into_the_report_of_the_whole(make_engine, tmp_path):
    from evals.merge_reports import main as merge_main
    from evals.runner import run_eval

    items = [
        {"id": f"{lang}-{n}", "lang": lang, "question": q, "answerable": ok, "gold_sections": sections,
         "key_facts": facts, "origin": "v1"}
        for n, (lang, q, ok, sections, facts) in enumerate([
            ("ko", "CPU와 GPU의 차이점은?", True, ["4.5"], [["병렬", "parallel"]]),
            ("en", "What is vGPU?", True, ["5.2"], [["virtual", "가상"]]),
            ("en", "What is the PUE target of an AI data center?", False, [], []),
            ("ko", "GPU 가상화의 이점은?", True, ["5.3"], [["보안", "security"]])])]
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    whole, first, second = tmp_path / "whole.jsonl", tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    whole.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first.write_text("\n".join(lines[0::2]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[1::2]) + "\n", encoding="utf-8")
    engine = make_engine()
    expected = run_eval(whole, tmp_path / "whole", engine, generator="extractive", ablation=False, evidence_fn=False)
    for gold in (first, second):
        run_eval(gold, tmp_path / gold.stem, engine, generator="extractive", ablation=False, evidence_fn=False)
    assert merge_main(["--gold", str(whole), "--out", str(tmp_path / "merged"), str(tmp_path / "a"),
                       str(tmp_path / "b")]) == 0
    merged = json.loads((tmp_path / "merged" / "report.json").read_text(encoding="utf-8"))
    assert [item["id"] for item in merged["items"]] == [item["id"] for item in items]
    skip = {"latency_p50_ms", "latency_p95_ms"}
    for lang in ("all", "ko", "en"):
        assert {k: v for k, v in merged["metrics"][lang].items() if k not in skip} == \
            {k: v for k, v in expected["metrics"][lang].items() if k not in skip}
    assert (tmp_path / "merged" / "report.md").is_file()
    # a shard missing is an error that says which item, not a report of a part
    assert merge_main(["--gold", str(whole), "--out", str(tmp_path / "part"), str(tmp_path / "a")]) == 2
