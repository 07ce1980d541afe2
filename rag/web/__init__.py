"""The web chat (Gradio). ``build_ui(engine)`` makes the page; ``main(argv)`` serves it."""
from __future__ import annotations


def build_ui(engine, concurrency: int = 1):
    from .ui import build_ui as _build  # gradio is imported only when the web chat is used

    return _build(engine, concurrency=concurrency)


def main(argv=None) -> int:
    from .ui import main as _main

    return _main(argv)


__all__ = ["build_ui", "main"]
