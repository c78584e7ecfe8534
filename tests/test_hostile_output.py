"""Control characters from source text never reach the terminal raw (issue 18): a string
literal holding an escape sequence (or a bidirectional override) is quoted in messages and
shown in code frames, escaped in the full, concise and github formats, and the json and
sarif reports stay valid JSON that carries it exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import invoke

HOSTILE = "fc\x1b]0;owned\x07\x1b[2J\u202e.weight"
SCRIPT = ("import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
          "for name, p in model.named_parameters():\n"
          f"    if name != '{HOSTILE}':\n        p.requires_grad = False\n")
UNSAFE = ("\x1b", "\x07", "\u202e")


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


@pytest.mark.parametrize("output_format", ["full", "concise", "github"])
def test_text_formats_escape_control_characters(script: Path, output_format: str) -> None:
    result = invoke("check", "--no-cache", "--output-format", output_format, str(script))
    assert result.exit_code == 1
    assert "FZL101" in result.stdout
    assert not any(char in result.stdout for char in UNSAFE)
    assert "fc\\x1b]0;owned\\x07\\x1b[2J\\u202e.weight" in result.stdout


@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_machine_formats_stay_valid_and_exact(script: Path, output_format: str) -> None:
    result = invoke("check", "--no-cache", "--output-format", output_format, str(script))
    assert not any(char in result.stdout for char in UNSAFE)  # JSON escapes them itself
    assert any(HOSTILE in text for text in _strings(json.loads(result.stdout)))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) \
        else []
    return [text for item in items for text in _strings(item)]


def test_stderr_messages_escape_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text("# freezelint: model=\x1b[2Jnothing\n"
                    "for name, p in model.named_parameters():\n"
                    "    if name != 'fc.weight':\n        p.requires_grad = False\n",
                    encoding="utf-8")
    result = invoke("check", "--no-cache", str(path))
    assert "model=\\x1b[2Jnothing` cannot be used" in result.stderr
    assert "\x1b" not in result.stderr
