"""The off-topic gap of every gold item: its cosine with the nearest everyday question of rag/prompts/off_topic.json
minus its cosine with the nearest line of the notes (``Settings.off_topic_margin``).

    python -m evals.off_topic_gaps bundled|COURSE     (writes /tmp/nn_COURSE.json: kind, lang, line cosine, gap)
"""
import json, os, sys
course = sys.argv[1]
if course != "bundled":
    os.environ["RAG_NOTES"] = f"evals/courses/{course}"; gold = f"evals/courses/{course}/gold.jsonl"
else:
    gold = "evals/gold_dev.jsonl"
from rag.config import load_settings
from rag.engine import Engine
e = Engine(load_settings()); r = e.retriever()
probes = json.load(open("rag/prompts/off_topic.json")); probes = probes["en"] + probes["ko"]
emb = e.query_embedder()
pq = emb.embed_queries(probes)
rows = []
for l in open(gold):
    it = json.loads(l)
    ret = r.retrieve(it["question"])
    L = ret.features.get("line_dense_top", 0.0)
    v = emb.embed_queries([it["question"]])[0]
    Pq = float((pq @ v).max())
    kind = "off" if it.get("style") == "off_topic" or (it["expected"] == "refuse" and it.get("type") == "off_topic") else it["expected"]
    rows.append((kind, it["lang"], L, Pq))
json.dump(rows, open(f"/tmp/nn_{course}.json", "w"))
for kind in ("answer", "partial", "refuse", "off"):
    sel = [x for x in rows if x[0] == kind]
    if not sel: continue
    gaps = sorted(x[3] - x[2] for x in sel)
    print(course, kind, len(sel), "gap max", round(gaps[-1], 3), "p90", round(gaps[int(.9 * len(gaps))], 3),
          "min", round(gaps[0], 3))
