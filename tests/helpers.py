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


def assert_model_free_rule_found(rule: str, text: str) -> None:
    """A model-free rule reports `text` with and without the pre-filter: the pre-filter,
    derived from the rule's triggers, never skips a file the rule would report."""
    from freezelint.engine.lint import LintConfig, lint
    from freezelint.prefilter import worth_linting

    assert rule in [d.rule for d in lint(text, LintConfig(prefilter=False))]
    assert worth_linting(text, explicit_model=False)
    assert rule in [d.rule for d in lint(text)]


def assert_lookalike_silent_and_skipped(text: str) -> None:
    """Ordinary code that only looks like a rule's pattern: nothing is reported, and the
    pre-filter skips the file without parsing it."""
    from freezelint.engine.lint import LintConfig, lint
    from freezelint.prefilter import worth_linting

    assert lint(text, LintConfig(prefilter=False)) == []
    assert not worth_linting(text, explicit_model=False)
