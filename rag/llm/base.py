"""The generator interface and the registry of backends, chosen by name.

A backend turns a ``GenerationRequest`` into a stream of text pieces. LLM backends read
``request.messages`` (the rendered prompt); the extractive backend reads ``request.hits``.
Vendor libraries are imported inside each backend, so a missing optional dependency fails only when
that backend is chosen, with the install command in the message.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import ConfigError
from ..types import Hit, Section


@dataclass
class GenerationRequest:
    question: str
    language: str                                  # "ko" or "en": the language to answer in
    hits: list[Hit] = field(default_factory=list)  # retrieved sections, best first
    messages: list[dict] = field(default_factory=list)  # [{"role": ..., "content": ...}]
    max_new_tokens: int = 256
    sections: list[Section] = field(default_factory=list)  # each hit's section, in the answer language if present
    query_tokens: tuple[str, ...] = ()                     # keyword tokens (glossary-expanded) of the question
    token_weights: dict[str, float] = field(default_factory=dict)  # idf of those tokens in the notes
    evidence: list = field(default_factory=list)           # rag.evidence.EvidenceLine: what an answer may use
    withheld: list[dict] = field(default_factory=list)     # sentences the claim check dropped (for reports)
    with_lead: bool = True      # the extractive answer opens with "Here is what the notes say:" (not after a partial lead)
    finish_reason: str = ""     # set by backends that know it: "length" = cut by max_new_tokens, "stop" = done


class Generator(ABC):
    """One abstract method; everything else is shared."""

    #: registry name ("extractive", "transformers", ...)
    name: str = ""
    #: True for backends that read ``messages`` (an LLM); False for the extractive one
    uses_llm: bool = True
    #: what the model does with the evidence under ``answer_mode = "auto"`` (rag/config.py says why)
    auto_answer_mode: str = "write"

    @property
    def label(self) -> str:
        """What ``Answer.generator`` shows: backend and model."""
        return self.name

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield the answer text piece by piece. Raise GenerationError on failure."""

    def complete(self, request: GenerationRequest) -> str:
        return "".join(self.stream(request))

    def count_tokens(self, text: str) -> int:
        """Rough token count used to fit the context budget; backends with a tokenizer override it."""
        return max(1, len(text) // 3)


_REGISTRY: dict[str, Callable[..., Generator]] = {}


def register(name: str):
    """Class decorator: make a backend available by name (built-ins and test fakes alike)."""

    def wrap(factory):
        _REGISTRY[name] = factory
        return factory

    return wrap


# Built-in backends by module, imported only when asked for by name: the interface here never imports a backend
# (each backend imports this module for ``Generator`` and ``register``), so there is no import circle.
_BUILTIN_MODULES = {"extractive": "extractive", "transformers": "transformers_backend", "openai": "openai_backend",
                    "llamacpp": "llamacpp_backend"}


def known_generators() -> list[str]:
    return sorted(set(_REGISTRY) | set(_BUILTIN_MODULES))


def create_generator(name: str, settings) -> Generator:
    if name not in _REGISTRY and name in _BUILTIN_MODULES:
        # registers it; a backend's heavy imports (torch, llama.cpp) happen only when it is constructed
        importlib.import_module(f"{__package__}.{_BUILTIN_MODULES[name]}")
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"Unknown generator {name!r}. Known generators: auto, {', '.join(known_generators())}."
        ) from None
    return factory(settings)
