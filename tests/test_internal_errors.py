"""A bug in the analysis is counted, logged with the script's line, and fails the test suite;
it never shows only as a missing finding."""

from __future__ import annotations

import logging

import libcst as cst
import pytest

from freezelint.analysis import modules
from freezelint.analysis.interpreter import STRICT_ENV, Interpreter

SCRIPT = """import torchvision
model = torchvision.models.resnet50()
model.fc.requires_grad_(False)
print("after")
"""


def _broken_get_attr(*args, **kwargs):
    raise KeyError("boom")


def _run(zoo) -> Interpreter:
    interpreter = Interpreter(cst.parse_module(SCRIPT), lambda request: None, zoo("resnet50"),
                              text=SCRIPT)
    interpreter.run()
    return interpreter


def test_an_internal_error_is_counted_and_logged_with_its_line(zoo, monkeypatch, caplog):
    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.setattr(modules, "get_attr", _broken_get_attr)
    with caplog.at_level(logging.INFO, logger="freezelint.analysis"):
        interpreter = _run(zoo)
    errors = interpreter.facts.internal_errors
    assert [(e.line, e.error) for e in errors] == [(3, "KeyError: 'boom'")]
    assert "_broken_get_attr" in errors[0].where
    assert [r.getMessage() for r in caplog.records] == [errors[0].message]
    assert "internal error in the analysis at line 3: KeyError: 'boom'" in errors[0].message
    # The statement is skipped, the rest of the script still runs.
    assert interpreter.facts.models and interpreter.facts.grad_assigns == {}


def test_the_test_suite_runs_strict_so_an_internal_error_fails_the_test(zoo, monkeypatch):
    import os

    assert os.environ.get(STRICT_ENV)  # set by tests/conftest.py for every test
    monkeypatch.setattr(modules, "get_attr", _broken_get_attr)
    with pytest.raises(KeyError, match="boom"):
        _run(zoo)


def test_a_healthy_run_has_no_internal_errors(zoo):
    assert _run(zoo).facts.internal_errors == []


def test_check_verbose_shows_an_internal_error_with_its_line(monkeypatch, tmp_path):
    from helpers import invoke

    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.setattr(modules, "get_attr", _broken_get_attr)
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    quiet = invoke("check", str(script), "--model", "resnet50", "--no-cache")
    assert "internal error" not in quiet.stderr
    loud = invoke("check", str(script), "--model", "resnet50", "--no-cache", "--verbose")
    assert "internal error in the analysis at line 3: KeyError: 'boom'" in loud.stderr
