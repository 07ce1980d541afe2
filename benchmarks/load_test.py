"""Many students at once: drive the web chat over loopback with gradio_client, and watch memory.

    python benchmarks/load_test.py --sessions 8 --questions 5            # start the app, drive it, report
    python benchmarks/load_test.py --memory 500                          # RSS over 500 questions (handlers)

The app runs in a subprocess with the extractive generator: on the real index when ``RAG_HOME`` holds one
(``rag index`` was run), else on the course notes indexed with a small fake embedder in a temporary folder.
Each session asks about a different section, so an answer shown in the wrong session is visible: its
chat would hold another session's question or cite another section. Prints one JSON report.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# ---- the app (subprocess side) --------------------------------------------------------------------

def make_engine(workdir: Path):
    """(engine, kind): the real index when RAG_HOME has one, else the notes with the tests' fake embedder."""
    from rag.config import load_settings
    from rag.engine import Engine

    settings = load_settings(generator="extractive")
    if (settings.resolved_index_dir / "current").exists():
        return Engine(settings, auto_index=False), "real"
    from tests.conftest import CORPUS, FakeEmbedder

    fake = load_settings(environ={}, home=workdir / "home", notes=[CORPUS], generator="extractive",
                         refusal_threshold=-1e9)   # the fake embedder's cosines are not e5's
    engine = Engine(fake, embedder=FakeEmbedder())
    engine.build_index()
    return engine, "fake"


def pick_questions(engine, n: int) -> list[dict]:
    """n (question, section) pairs, each section different, whose answer cites that section first."""
    engine.retriever()
    picked, seen = [], set()
    for section in engine._data.sections:
        if section.language != "en" or section.section in seen or len(picked) >= n:
            continue
        question = f"What do the notes say about {section.title}?"
        answer = engine.ask(question)
        if not answer.refused and answer.citations and answer.citations[0].section == section.section:
            picked.append({"question": question, "section": section.section, "title": section.title})
            seen.add(section.section)
    if len(picked) < n:
        raise SystemExit(f"only {len(picked)} sections answer their own title question; need {n}")
    return picked


def serve_app(port: int, questions_file: Path, workdir: Path, sessions: int, concurrency: int) -> None:
    from rag.web.ui import build_ui, serve

    engine, kind = make_engine(workdir)
    picked = pick_questions(engine, sessions)
    demo = build_ui(engine, concurrency=concurrency)
    serve(demo, host="127.0.0.1", port=port, block=False)
    questions_file.write_text(json.dumps({"engine": kind, "questions": picked}), encoding="utf-8")
    threading.Event().wait()   # until killed


# ---- the driver -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message_text(turn: dict) -> str:
    content = turn["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def start_app(sessions: int, concurrency: int, workdir: Path, timeout: float) -> tuple[subprocess.Popen, str, dict]:
    port, questions_file = free_port(), workdir / "questions.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_WEB_")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(questions_file), str(workdir),
                             "--sessions", str(sessions), "--concurrency", str(concurrency)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while not questions_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{proc.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"the app did not start in {timeout:.0f} s")
        time.sleep(0.2)
    url = f"http://127.0.0.1:{port}/"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
    return proc, url, json.loads(questions_file.read_text(encoding="utf-8"))


def run_session(url: str, item: dict, rounds: int, out: dict) -> None:
    """One student: its own Client (its own session), the same section asked `rounds` times."""
    from gradio_client import Client

    latencies, problems = [], []
    try:
        client = Client(url, verbose=False)
        for i in range(rounds):
            start = time.perf_counter()
            chat = client.predict(item["question"], api_name="/respond")[0]
            latencies.append(time.perf_counter() - start)
            users = [message_text(t) for t in chat if t["role"] == "user"]
            last = message_text(chat[-1]) if chat else ""
            if len(chat) != 2 * (i + 1) or any(item["question"] not in u for u in users):
                problems.append(f"round {i}: the chat holds {len(chat)} messages / another session's question")
            if f"{item['section']} " not in last or "rag-chip" not in last:
                problems.append(f"round {i}: the answer does not cite {item['section']}")
    except Exception as exc:   # reported, not raised: the other sessions' figures still count
        problems.append(f"{type(exc).__name__}: {exc}")
    out.update(latencies=latencies, problems=problems, section=item["section"])


def drive(sessions: int = 8, rounds: int = 5, concurrency: int = 1, start_timeout: float = 300,
          workdir: Path | None = None) -> dict:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="rag-load-"))
    started = time.monotonic()
    proc, url, setup = start_app(sessions, concurrency, workdir, start_timeout)
    try:
        startup = time.monotonic() - started
        results = [dict() for _ in range(sessions)]
        threads = [threading.Thread(target=run_session, args=(url, item, rounds, results[i]))
                   for i, item in enumerate(setup["questions"])]
        begin = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - begin
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    latencies = sorted(x for r in results for x in r.get("latencies", []))
    return {
        "engine": setup["engine"], "sessions": sessions, "rounds": rounds, "concurrency": concurrency,
        "answered": len(latencies), "expected": sessions * rounds, "startup_s": round(startup, 1),
        "wall_s": round(wall, 2), "p50_s": round(_quantile(latencies, 0.5), 3),
        "p95_s": round(_quantile(latencies, 0.95), 3), "max_s": round(latencies[-1], 3) if latencies else None,
        "answers_per_s": round(len(latencies) / wall, 2) if wall else None,
        "problems": [p for r in results for p in r.get("problems", [])],
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


# ---- memory over many questions (in process, through the handlers) --------------------------------

def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def memory_profile(engine, questions: list[str], total: int = 500, checkpoints=(100, 500),
                   per_session: int = 5) -> dict:
    """RSS after each checkpoint of questions asked through ChatHandlers; a new session every few turns."""
    from rag.web.ui import ChatHandlers, Session

    handlers, session, marks, failures = ChatHandlers(engine), Session(), {}, 0
    for i in range(1, total + 1):
        if (i - 1) % per_session == 0:
            session = Session()
        question = questions[i % len(questions)] + f" ({i})"   # distinct text: caches see new questions
        final = list(handlers.respond(question, session))[-1]
        if "rag-error" in final[0][-1]["content"]:
            failures += 1
        if i in checkpoints:
            marks[i] = round(rss_mb(), 1)
    return {"questions": total, "rss_mb": marks, "errors": failures}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument("--questions", type=int, default=5, help="questions per session")
    p.add_argument("--concurrency", type=int, default=1, help="answers computed at once (the app's setting)")
    p.add_argument("--memory", type=int, default=0, help="instead: RSS over this many questions, in process")
    p.add_argument("--serve", nargs=3, metavar=("PORT", "QUESTIONS_JSON", "WORKDIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve_app(int(args.serve[0]), Path(args.serve[1]), Path(args.serve[2]), args.sessions, args.concurrency)
        return 0
    if args.memory:
        engine, kind = make_engine(Path(tempfile.mkdtemp(prefix="rag-mem-")))
        questions = [q["question"] for q in pick_questions(engine, 8)]
        report = {"engine": kind, **memory_profile(engine, questions, args.memory, (100, args.memory))}
    else:
        report = drive(args.sessions, args.questions, args.concurrency)
    print(json.dumps(report, indent=2))
    return 0 if not report.get("problems") and not report.get("errors") else 1


if __name__ == "__main__":
    sys.exit(main())
