"""Shared fixtures: real model manifests from the shipped zoo (no torch needed)."""

from __future__ import annotations

import os
import tempfile

import pytest

from freezelint.analysis.interpreter import STRICT_ENV
from freezelint.engine.lint import LintConfig
from freezelint.models.manifest import Manifest
from freezelint.models.zoo import load_zoo

# A bug in the analysis raises in every test (and in the command lines the tests start)
# instead of being counted, logged and skipped: see freezelint/analysis/interpreter.py.
os.environ[STRICT_ENV] = "1"
# The user's own configuration (which may trust local models) never reaches the tests: a
# test that wants one writes it under its own XDG_CONFIG_HOME.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="freezelint-tests-config-")


@pytest.fixture(scope="session")
def zoo():
    """`zoo("resnet50")` -> the shipped manifest of a real architecture."""
    cache: dict[str, Manifest] = {}

    def get(model_id: str) -> Manifest:
        if model_id not in cache:
            cache[model_id] = load_zoo(model_id)
        return cache[model_id]

    return get


@pytest.fixture(scope="session")
def config_for(zoo):
    def make(model_id: str | None) -> LintConfig:
        return LintConfig(model=zoo(model_id) if model_id else None)

    return make
