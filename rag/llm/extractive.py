"""The no-model answerer: the evidence lines chosen for the question (``rag.evidence``), cited.

It runs anywhere, instantly, and never says anything the notes don't: the floor under every LLM backend
and what they fall back to when they fail or when their sentences don't survive the claim check.
"""
from __future__ import annotations

from typing import Iterator

from ..evidence import EvidenceLine, select_evidence
from ..prompts import message
from .base import GenerationRequest, Generator, register


def lead(language: str) -> str:
    return message("extractive_lead", language)


def compose(lines: list[EvidenceLine], language: str, with_lead: bool = True) -> str:
    return "\n".join([lead(language)] * with_lead + [f"- {line.text} [{line.number}]" for line in lines])


@register("extractive")
class ExtractiveGenerator(Generator):
    name = "extractive"
    uses_llm = False

    def __init__(self, settings=None):
        self.settings = settings

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        lines = request.evidence or select_evidence(request.sections, request.query_tokens, request.token_weights)
        yield compose(lines, request.language, request.with_lead)
