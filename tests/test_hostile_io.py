"""Hostile and unlucky files on disk (issue 18): no hang, no lost edit, no damaged file.

FIFOs and devices are never read, sizes are bounded, Ctrl-C stops a run at any -j with no
file half-written, --fix never overwrites an edit made after it read the file (nor another
run's fixes), `-o` never replaces an input, and every silent case says what happened.
All inputs are generated here.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import invoke

from freezelint.cli.batch import check_file
from freezelint.cli.job import FixMode, GroupConfig
from freezelint.engine.fixes import parses
from freezelint.inputs.source import MAX_SOURCE_BYTES, SourceText, decode_source
from freezelint.inputs.writeback import WriteError, write_atomic

MODEL = "import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
FIXABLE = MODEL + "for param in model.parameters():\n    param.require_grad = False\n"  # FZL105
FIXED = FIXABLE.replace("require_grad", "requires_grad")


def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "freezelint", *args], cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1"}, capture_output=True, text=True,
                          timeout=timeout)


def test_a_fifo_in_a_checked_directory_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "good.py").write_text(FIXABLE, encoding="utf-8")
    result = run("check", "--no-cache", ".", cwd=tmp_path, timeout=60)  # hung before
    assert result.returncode == 2
    assert "pipe.py: error: not a regular file (a FIFO): not read" in result.stderr
    assert "good.py:5:" in result.stdout


def test_a_device_is_not_read() -> None:
    result = run("check", "--no-cache", "/dev/zero", cwd=Path.cwd(), timeout=60)
    assert result.returncode == 2
    assert "/dev/zero: error: not a regular file (a character device)" in result.stderr


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.py"
    with huge.open("wb") as handle:  # sparse: no disk space used
        handle.truncate(MAX_SOURCE_BYTES + 1)
    result = invoke("check", "--no-cache", str(huge))
    assert result.exit_code == 2
    assert f"file too large (16.0 MiB): freezelint reads files up to " \
           f"{MAX_SOURCE_BYTES // 2**20} MiB" in result.stderr


def test_an_unreadable_subdirectory_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every directory")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.py").write_text(FIXABLE, encoding="utf-8")
    locked.chmod(0)
    try:
        result = invoke("check", "--no-cache", str(tmp_path))
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2
    assert f"{locked}: error: cannot read the directory: Permission denied" in result.stderr


def test_an_unreadable_subdirectory_is_reported_even_for_root(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """The walk's own error path, for a directory that vanishes or cannot be listed."""
    from freezelint.inputs import source

    def walk(root: str, onerror: object = None, **_: object) -> object:
        assert callable(onerror)
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        return iter([(str(root), [], ["a.py"])])

    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(source.os, "walk", walk)
    errors: list[str] = []
    assert source.discover([str(tmp_path)], errors) == [tmp_path / "a.py"]
    assert errors == [f"{tmp_path / 'locked'}: error: cannot read the directory: "
                      "Permission denied"]


def test_utf16_text_is_not_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "wide.py"
    path.write_bytes(FIXABLE.encode("utf-16"))
    result = invoke("check", "--no-cache", str(path))
    assert result.exit_code == 2
    assert "UTF-16 text: Python reads source as UTF-8" in result.stderr
    assert "binary" not in result.stderr


def test_an_nbformat3_notebook_is_named_as_such(tmp_path: Path) -> None:
    notebook = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
                "worksheets": [{"cells": [{"cell_type": "code", "input": FIXABLE,
                                           "language": "python", "outputs": []}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    result = invoke("check", "--no-cache", str(path))
    assert result.exit_code == 2
    assert "unsupported notebook format (nbformat 3)" in result.stderr
    assert "no \"cells\" list" not in result.stderr


# -- no lost edit ------------------------------------------------------------------------


def test_fix_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    edited = FIXABLE + "print('edited meanwhile')\n"
    path.write_text(edited, encoding="utf-8")  # the edit lands after freezelint read FIXABLE
    outcome = check_file(str(path), GroupConfig(mode=FixMode(apply=True)),
                         data=FIXABLE.encode())
    assert path.read_text(encoding="utf-8") == edited
    assert outcome.failed
    assert any("changed since freezelint read it: not written" in m for m in outcome.messages)
    # and its findings are still reported, unfixed
    assert outcome.result is not None
    assert [d.rule for d in outcome.result.diagnostics] == ["FZL105"]


def _write_from(path: str, original: bytes, text: str, barrier: object,
                results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        write_atomic(path, text, SourceText(text, "utf-8", "\n", False), original=original)
        results.put("written")  # type: ignore[attr-defined]
    except WriteError as error:
        results.put(str(error))  # type: ignore[attr-defined]


def test_concurrent_fixes_never_silently_drop_each_other(tmp_path: Path) -> None:
    """Writers that all read the same original race to replace it: exactly one writes, the
    others are told the file changed (each run's fixes are either in the file or refused
    with a message)."""
    path = tmp_path / "train.py"
    original = FIXABLE.encode()
    context = multiprocessing.get_context("fork")
    for _ in range(5):
        path.write_bytes(original)
        barrier = context.Barrier(4)
        results = context.Queue()
        writers = [context.Process(target=_write_from,
                                   args=(str(path), original, FIXED + f"# run {i}\n",
                                         barrier, results)) for i in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(30)
        outcomes = [results.get(timeout=5) for _ in writers]
        assert outcomes.count("written") == 1, outcomes
        assert all("changed since freezelint read it" in o for o in outcomes if o != "written")
        assert path.read_text(encoding="utf-8").startswith(FIXED)


def test_a_fix_that_cannot_be_written_keeps_its_findings(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(FIXABLE, encoding="utf-8")
    path.chmod(0o444)
    result = invoke("check", "--no-cache", "--fix", "--output-format", "concise", str(path))
    assert result.exit_code == 2
    assert "the file is read-only" in result.stderr
    assert f"{path}:5:" in result.stdout and "FZL105" in result.stdout  # vanished before


def test_output_file_never_replaces_an_input(tmp_path: Path) -> None:
    path = tmp_path / "b.py"
    path.write_text(FIXABLE, encoding="utf-8")
    result = invoke("check", "--no-cache", str(path), "-o", str(path))
    assert result.exit_code == 2
    assert "is one of the files being checked" in result.stderr
    assert path.read_text(encoding="utf-8") == FIXABLE


def _as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_parallel_fix_promptly_with_no_file_half_written(tmp_path: Path
                                                                        ) -> None:
    slow = FIXABLE + "".join(f"x{i} = [p for p in model.parameters() if p.requires_grad]\n"
                             for i in range(400))
    files = [tmp_path / f"f{i}.py" for i in range(40)]
    for file in files:
        file.write_text(slow, encoding="utf-8")
    # A program a terminal runs in the foreground gets SIGINT's default disposition; one
    # started from a background job of a script inherits it ignored, and then Python never
    # turns Ctrl-C into KeyboardInterrupt. The run under test is the foreground one.
    process = subprocess.Popen([sys.executable, "-m", "freezelint", "check", "--no-cache",
                                "--fix", "-j", "4", "."], cwd=tmp_path, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=_as_in_a_terminal)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(f.read_text(encoding="utf-8") == slow
                                              for f in files):
        time.sleep(0.05)  # until the first file is fixed: the workers are busy
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    interrupted = time.monotonic()
    process.communicate(timeout=30)
    assert time.monotonic() - interrupted < 10, "the run went on after Ctrl-C"
    assert process.returncode != 0
    fixed = slow.replace("require_grad", "requires_grad")
    contents = [f.read_text(encoding="utf-8") for f in files]
    assert all(c in (slow, fixed) for c in contents)  # each file whole: old or fixed
    assert contents.count(slow) > 0, "every file was fixed: the run was not stopped"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".freezelint")]


def test_decode_source_never_reads_a_wrong_text() -> None:
    """UTF-32 too, and binary stays binary."""
    assert "UTF-32 text" in _error(FIXABLE.encode("utf-32"))
    assert _error(bytes(range(256))) == "binary file, not Python source"
    assert parses(decode_source(FIXABLE.encode()).text)


def _error(data: bytes) -> str:
    from freezelint.inputs.source import SourceError

    try:
        decode_source(data)
    except SourceError as error:
        return str(error)
    return ""
