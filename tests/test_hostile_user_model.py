"""Building the user's own model (with their consent) under hostile model code (issue 18):
a builder that dies is described as dying, not by an unrelated line of its output, and
nothing the model code started outlives the build or its timeout."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from freezelint.models.user_model import UserModelError, build_user_model

pytest.importorskip("torch")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _model(root: Path, body: str) -> Path:
    path = root / "net.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_builder_killed_by_a_signal_says_so(tmp_path: Path) -> None:
    _model(tmp_path, """\
        import os, signal, sys
        print("UserWarning: an unrelated warning printed earlier", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGSEGV)  # a crash in native code
    """)
    with pytest.raises(UserModelError) as caught:
        build_user_model("net.py:Net", cwd=tmp_path, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert "the builder was killed by SIGSEGV without a result" in message
    assert "(its last output: 'UserWarning: an unrelated warning printed earlier')" in message


def test_nothing_the_model_code_starts_outlives_the_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "background.pid"
    _model(tmp_path, f"""\
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 stdout=sys.stderr, stderr=sys.stderr)  # holds the builder's output
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(600)
    """)
    started = time.monotonic()
    with pytest.raises(UserModelError, match="timed out after 8 s"):
        build_user_model("net.py:Net", cwd=tmp_path, cache_dir=tmp_path / "cache", timeout=8)
    assert time.monotonic() - started < 30  # not held by the background process's output
    background = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(background) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(background)


def test_a_background_process_of_a_successful_build_does_not_outlive_it(tmp_path: Path
                                                                        ) -> None:
    pid_file = tmp_path / "background.pid"
    _model(tmp_path, f"""\
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))

        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Linear(4, 2)
    """)
    manifest = build_user_model("net.py:Net", cwd=tmp_path, cache_dir=tmp_path / "cache")
    assert [p.name for p in manifest.parameters] == ["head.weight", "head.bias"]
    background = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(background) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(background)
    assert os.getpid() != background
