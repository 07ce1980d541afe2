"""The chat in a real headless browser: ask in Korean and English, open a citation, phone width.

Run: `pytest -m e2e tests/test_web_e2e.py` (needs /usr/bin/chromium and the `playwright` package; no
browser download). The app runs in a subprocess with the fake engine from test_web_handlers.py, or
the real engine with the extractive generator when WEB_E2E_ENGINE=real. Screenshots go to tmp_path.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("WEB_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
ANSWER_TIMEOUT_MS = int(os.environ.get("WEB_E2E_ANSWER_TIMEOUT_MS", "60000"))
START_TIMEOUT_S = float(os.environ.get("WEB_E2E_START_TIMEOUT_S", "180"))   # real engine: build `rag index` first

# The server process: the fake engine by default, the real one with the extractive generator on request.
SERVER = """
import importlib.util, sys
from rag.web.ui import build_ui, serve
kind, port, fake_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == "real":
    from rag.config import load_settings
    from rag.engine import Engine
    engine = Engine(load_settings(generator="extractive"))
else:
    spec = importlib.util.spec_from_file_location("web_fake", fake_path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    engine = mod.FakeEngine()
serve(build_ui(engine), host="127.0.0.1", port=port)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    pytest.importorskip("playwright.sync_api")
    kind = os.environ.get("WEB_E2E_ENGINE", "fake")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_WEB_")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, kind, str(port), str(Path(__file__).with_name("test_web_handlers.py"))],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc, START_TIMEOUT_S)
        yield {"url": url, "started": started, "kind": kind}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _open(browser, url, width=1280, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.locator("#rag-input textarea").wait_for(state="visible", timeout=60000)
    return page, dialogs


def _ask(page, question: str, answers_before: int):
    page.locator("#rag-input textarea").fill(question)
    page.locator("#rag-send").click()
    meta = page.locator("#rag-chat .rag-meta")   # present once an answer is complete
    meta.nth(answers_before).wait_for(timeout=ANSWER_TIMEOUT_MS)


def test_launch_time_and_first_paint(server, browser, tmp_path):
    page, _ = _open(browser, server["url"])
    usable_s = time.monotonic() - server["started"]
    (tmp_path / "launch.txt").write_text(f"launch to usable page: {usable_s:.1f} s\n")
    print(f"\nlaunch to usable page ({server['kind']} engine): {usable_s:.1f} s")
    assert page.locator("#rag-examples").is_visible()
    page.screenshot(path=str(tmp_path / "empty.png"), full_page=True)
    page.close()


def test_korean_and_english_questions_with_citations(server, browser, tmp_path):
    page, dialogs = _open(browser, server["url"])
    _ask(page, "CPU와 GPU의 차이점은 무엇인가요?", 0)
    chat = page.locator("#rag-chat")
    assert chat.locator(".rag-chip").first.is_visible()
    assert "GPU" in chat.locator(".rag-answer").last.inner_text()
    page.screenshot(path=str(tmp_path / "ko.png"), full_page=True)

    _ask(page, "What is the difference between a CPU and a GPU?", 1)
    assert chat.locator(".rag-meta").count() == 2
    chip = page.locator("#rag-chips button").first
    chip.wait_for(timeout=10000)
    assert "4.5" in chip.inner_text() or server["kind"] == "real"
    chip.click()
    view = page.locator("#rag-section-view .rag-section")
    view.wait_for(timeout=10000)
    assert view.locator(".rag-col[lang=ko]").is_visible()
    assert view.locator(".rag-col[lang=en]").is_visible()
    if server["kind"] == "fake":
        assert view.locator("mark.rag-quote").count() >= 1
        assert view.locator("table").count() == 2
    view.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "section.png"), full_page=True)
    assert dialogs == []
    page.close()


@pytest.mark.parametrize("question", ["xss please"])
def test_script_in_answer_and_section_does_not_run(server, browser, tmp_path, question):
    if server["kind"] != "fake":
        pytest.skip("needs the fake engine's hostile answer")
    page, dialogs = _open(browser, server["url"])
    _ask(page, question, 0)
    page.locator("#rag-chips button").first.click()
    page.locator("#rag-section-view .rag-section").wait_for(timeout=10000)
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.locator("#rag-chat img[src=x], #rag-section-view img[src=x]").count() == 0
    assert "<script>" in page.locator("#rag-chat .rag-answer").last.inner_text()   # shown as text
    page.close()


def test_refusal_and_phone_width(server, browser, tmp_path):
    page, _ = _open(browser, server["url"], width=390, height=844)
    question = "What is the weather today?" if server["kind"] == "fake" else "What is the capital of France?"
    _ask(page, question, 0)
    suggest = page.locator("#rag-suggest button")
    if server["kind"] == "fake" or page.locator("#rag-chat .rag-refusal").count():
        assert page.locator("#rag-chat .rag-refusal").count() == 1
        assert suggest.first.inner_text().startswith("Tell me about")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways at phone width ({width}px)"
    page.screenshot(path=str(tmp_path / "phone_refusal.png"), full_page=True)
    if suggest.count():
        suggest.first.click()
    else:
        _ask(page, "What is a GPU server?", 1)
    page.locator("#rag-chat .rag-meta").nth(1).wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#rag-chips button").first.click()
    page.locator("#rag-section-view .rag-section").wait_for(timeout=10000)
    page.screenshot(path=str(tmp_path / "phone_section.png"), full_page=True)
    page.close()
