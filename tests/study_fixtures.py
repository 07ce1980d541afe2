"""Fixtures shared by the study-mode tests: settings on the bundled notes in a temporary home, and the bank."""
from __future__ import annotations

import pytest

from rag.config import load_settings
from rag.study import quiz
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(environ={}, home=tmp_path_factory.mktemp("home"), notes=[CORPUS])


@pytest.fixture(scope="module")
def bank(settings):
    return quiz.bank(settings, include_dropped=True)
