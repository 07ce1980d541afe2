"""Study mode: quiz items from the notes, graded answers with cited feedback, progress that lasts.

``from rag import quiz`` (or ``from rag.study import quiz``) gives ``quiz.generate`` and ``quiz.grade``.
Submodules load on first use: importing ``rag`` stays cheap.
"""
from __future__ import annotations

__all__ = ["quiz"]


def __getattr__(name):
    if name == "quiz":
        import importlib

        return importlib.import_module(".quiz", __name__)
    raise AttributeError(name)
