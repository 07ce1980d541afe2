"""A cited, bilingual course-notes tutor.

    from rag import ask, search
    answer = ask("CPU와 GPU의 차이점은 무엇인가요?")
    print(answer.text, [c.section for c in answer.citations])
"""
from __future__ import annotations

from .types import Answer, Citation, Hit

__all__ = ["ask", "search", "quiz", "Answer", "Citation", "Hit", "Engine"]


def ask(question: str, history=None, stream: bool = False, generator: str | None = None, course: str | None = None):
    """Answer a question from the course notes (builds the index on first use). ``course``: a course id (``rag
    courses``) or folder; default: the configured notes."""
    from .engine import course_engine

    return course_engine(course).ask(question, history=history, stream=stream, generator=generator)


def search(question: str, k: int = 5, course: str | None = None) -> list[Hit]:
    """The k best sections for a question, best first."""
    from .engine import course_engine

    return course_engine(course).search(question, k=k)


def __getattr__(name):
    if name == "Engine":
        from .engine import Engine

        return Engine
    if name == "quiz":   # study mode: quiz.generate(...), quiz.grade(item_id, answer)
        import importlib

        return importlib.import_module(".study.quiz", __name__)
    raise AttributeError(name)
