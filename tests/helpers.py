"""Small helpers several test modules share."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from freezelint.cli.main import main

# A freeze loop written for a ResNet, in a helper with no model constructor: the model has to
# come from the settings or configuration, and is wrong for AST.
LOOP_WITHOUT_MODEL = textwrap.dedent("""\
    import torch


    def setup(model):
        for name, p in model.named_parameters():
            if name != 'fc.weight':
                p.requires_grad = False
        return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
""")


@contextmanager
def chdir(path: Path) -> Iterator[None]:
    """contextlib.chdir, which Python 3.10 lacks."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def invoke(*args: str, input: str | bytes | None = None) -> Result:
    """Run the real CLI; whatever the exit code, it must not end in a traceback."""
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle`, as the CLI prints them."""
    index = text.index(needle)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def debian_command(command: str, *packages: str) -> str | None:
    """`command`'s path, after installing Debian's `packages` if it is missing and we may
    (CI runs as root); None when it cannot be had."""
    if shutil.which(command) is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", *packages]
        for step in (install, ["apt-get", "update", "-qq"], install):
            subprocess.run(step, capture_output=True, timeout=300, env=env)
            if shutil.which(command):
                break
    return shutil.which(command)
