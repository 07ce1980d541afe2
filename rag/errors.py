"""The exception tree. Every message says what went wrong and how to fix it.

The library raises these and never prints; the CLI and the web app turn them into messages.
"""
from __future__ import annotations


class RagError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1


class ConfigError(RagError):
    """A setting is unknown or has a bad value."""

    exit_code = 2


class QuestionError(RagError):
    """The question cannot be answered as given (empty, too long, ...)."""

    exit_code = 2


class NotesError(RagError):
    """A notes file cannot be read or parsed."""

    exit_code = 3


class IndexMissingError(RagError):
    """No index was built yet."""

    exit_code = 4


class IndexMismatchError(RagError):
    """The index on disk does not match the notes, the settings or this version."""

    exit_code = 4


class ModelError(RagError):
    """A model cannot be found, verified or loaded."""

    exit_code = 5


class GenerationError(RagError):
    """A generator backend failed while answering (server down, timeout, out of memory)."""

    exit_code = 6
