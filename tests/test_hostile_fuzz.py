"""Fuzz targets (issue 18), small enough for CI: the fixer and the readers of untrusted data.

Fixer: every fixable rule's flagged example from its rules/*.md page, in layouts a real file
may have (CRLF, lone CR, blank lines, trailing whitespace, comments after the statements,
no final newline), fixed with and without unsafe fixes. The result must parse, be a fixed
point (fixing again changes nothing), keep every comment on a line of code when it was on
one, and keep the file's line endings.

Readers: bytes mutated from valid files (a checkpoint's zip and safetensors header, a
notebook, a TOML configuration, Python source) either read or fail with the reader's own
one-line error naming the file; nothing else may escape (no RecursionError, MemoryError,
KeyError...).

CI runs a fixed, derandomized set of examples (`FREEZELINT_FUZZ_EXAMPLES`, default 3 per
target); raise it to fuzz for longer.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import re
import struct
import tokenize
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freezelint.common.rule_docs import all_rule_docs
from freezelint.engine.config import ConfigError, load_config
from freezelint.engine.fixes import fix_text, parses
from freezelint.engine.lint import LintConfig, lint
from freezelint.inputs.nesting import nesting_depth
from freezelint.inputs.notebook import NotebookError, read_notebook
from freezelint.inputs.source import SourceError, decode_source
from freezelint.models.checkpoint import CheckpointError, read_checkpoint
from freezelint.models.zoo import load_zoo

EXAMPLES = int(os.environ.get("FREEZELINT_FUZZ_EXAMPLES", "3"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 10,
                database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])
COMMENTS = ("# noqa: E501", "# type: ignore[attr-defined]", "# keep: tuned by hand",
            "# pylint: disable=invalid-name")


def _fixable() -> list[tuple[str, str, str | None]]:
    found = []
    for doc in all_rule_docs().values():
        if doc.fix == "none" or doc.opt_in:
            continue
        example = doc.example("Example")
        if example:
            found.append((doc.id, example, doc.model))
    return sorted(found)


FIXABLE = _fixable()


@st.composite
def layouts(draw: st.DrawFn, text: str) -> str:
    """`text` laid out another way, meaning the same: comments after statements, blank
    lines, trailing blanks, then line endings and the final newline."""
    lines = text.splitlines()
    out = []
    for line in lines:
        code = line.rstrip()
        closes_statement = bool(code) and not code.endswith(("(", "[", "{", ",", "\\", ":")) \
            and "#" not in code and '"""' not in code and "'''" not in code
        if closes_statement and _ends_a_statement(text, line) and draw(st.booleans()):
            code += "  " + draw(st.sampled_from(COMMENTS))
        if draw(st.booleans()):
            code += " " * draw(st.integers(1, 3)) if not code.endswith("\\") else ""
        out.append(code)
        if draw(st.integers(0, 5)) == 0 and _ends_a_statement(text, line):
            out.append("")
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    result = ending.join(out)
    return result + ending if draw(st.booleans()) else result


def _ends_a_statement(text: str, line: str) -> bool:
    """Whether `line` (of `text`) ends a logical line: a comment or blank line may follow."""
    ends = {token.start[0] for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.NEWLINE}
    numbers = [i + 1 for i, candidate in enumerate(text.splitlines()) if candidate == line]
    return any(number in ends for number in numbers)


def _comments(text: str) -> list[tuple[str, bool]]:
    """Each comment and whether code precedes it on its line."""
    found = []
    for line in re.split(r"\r\n|\r|\n", text):
        at = line.find("  #")
        if at >= 0 and line[at:].strip() in COMMENTS:
            found.append((line[at:].strip(), bool(line[:at].strip())))
    return found


@pytest.mark.parametrize(("rule", "example", "model"), FIXABLE, ids=[f[0] for f in FIXABLE])
@FUZZ
@given(data=st.data(), unsafe=st.booleans())
def test_fixes_parse_are_idempotent_and_keep_comments(rule: str, example: str,
                                                      model: str | None, data: st.DataObject,
                                                      unsafe: bool) -> None:
    text = data.draw(layouts(example))
    config = LintConfig(model=load_zoo(model) if model else None)
    assert any(d.rule == rule for d in lint(text, config)), "the layout changed the meaning"
    fixed = fix_text(text, config, unsafe=unsafe)
    assert parses(fixed.text)
    assert fix_text(fixed.text, config, unsafe=unsafe).text == fixed.text  # a fixed point
    before, after = _comments(text), _comments(fixed.text)
    assert sorted(before) == sorted(after), "a comment was lost or moved off its code line"
    endings = set(re.findall(r"\r\n|\r(?!\n)|(?<!\r)\n", text))
    if len(endings) == 1 and fixed.changed:
        assert set(re.findall(r"\r\n|\r(?!\n)|(?<!\r)\n", fixed.text)) == endings


def test_the_fixer_fuzz_covers_every_fixable_rule() -> None:
    """Every rule with a fix is fuzzed (a rule page added later is picked up by itself)."""
    documented = {doc.id for doc in all_rule_docs().values()
                  if doc.fix != "none" and not doc.opt_in}
    assert {rule for rule, _, _ in FIXABLE} == documented
    assert len(FIXABLE) >= 10


# -- readers -------------------------------------------------------------------------------


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """Bit flips, truncations, insertions and repeats of a valid file's bytes."""
    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["flip", "truncate", "insert", "repeat"]))
            at = draw(st.integers(0, max(len(out) - 1, 0)))
            if kind == "flip" and out:
                out[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "truncate":
                del out[at:]
            elif kind == "insert":
                out[at:at] = draw(st.binary(min_size=1, max_size=16))
            else:
                out[at:at] = bytes(out[at:at + draw(st.integers(1, 64))]) * draw(
                    st.integers(2, 50))
        return bytes(out)

    return mutate()


def _safetensors() -> bytes:
    header = json.dumps({"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "__metadata__": {"format": "pt"}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(16)


def _torch_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"fc.weight": [1.0, 2.0],
                                                          "epoch": 3}, protocol=2))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


@pytest.mark.parametrize("valid", [_safetensors(), _torch_zip()], ids=["safetensors", "zip"])
@FUZZ
@given(data=st.data())
def test_checkpoint_reader_fails_only_with_its_own_error(tmp_path: Path, valid: bytes,
                                                         data: st.DataObject) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(data.draw(_mutations(valid)))
    try:
        read_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)


NOTEBOOK = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                  "execution_count": None,
                                  "source": ["import torchvision\n", "x = 1\n"]}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1).encode()


@FUZZ
@given(data=st.data())
def test_notebook_reader_fails_only_with_its_own_error(data: st.DataObject) -> None:
    try:
        read_notebook(data.draw(_mutations(NOTEBOOK)))
    except NotebookError as error:
        assert "\n" not in str(error)


TOML = b'select = ["FZL1"]\nignore = ["FZL102"]\n[per-file-ignores]\n"tests/*" = ["FZL101"]\n'


@FUZZ
@given(data=st.data())
def test_configuration_reader_fails_only_with_its_own_error(tmp_path: Path,
                                                            data: st.DataObject) -> None:
    path = tmp_path / "freezelint.toml"
    path.write_bytes(data.draw(_mutations(TOML)))
    try:
        load_config(path)
    except ConfigError as error:
        assert str(path) in str(error)


SOURCE = (b"import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
          b"for name, p in model.named_parameters():\n"
          b"    if not name.startswith(('fc.', 'layer4.')):\n        p.requires_grad = False\n"
          )


@FUZZ
@given(data=st.data())
def test_source_reading_and_linting_fail_only_with_their_own_errors(data: st.DataObject
                                                                   ) -> None:
    raw = data.draw(_mutations(SOURCE))
    try:
        text = decode_source(raw).text
    except SourceError:
        return
    nesting_depth(text)
    with contextlib.suppress(SourceError):  # nested too deeply: said so, not crashed
        lint(text)


def test_a_fix_inserting_a_line_keeps_the_comments_on_their_code_line() -> None:
    """The case the fuzz found first: FZL304's fix turns one statement into two, and the
    statement's type-ignore stayed at the end of the line, on the inserted print()."""
    text = ("import torch\nimport torchvision\n\n"
            "model = torchvision.models.resnet50(weights=None)\n"
            "model.load_state_dict(torch.load('x.pth'), strict=False)  # type: ignore[arg-type]\n")
    fixed = fix_text(text).text
    assigned, report = fixed.splitlines()[-2:]
    assert assigned == ("load_result = model.load_state_dict(torch.load('x.pth'), strict=False)"
                        "  # type: ignore[arg-type]")
    assert report.startswith("print(") and "#" not in report
