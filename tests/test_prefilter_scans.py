"""The pre-filter's scans of a file's text read it once, however many names it asks about
(prefilter._BuildSites, model_text.used_as_modules, prefilter._starting_lines). Each must
answer as the plain scan it replaced (a wrong answer skips a file with a finding, or parses
one for nothing), here on random texts made of the pieces that decide, against that plain
scan written out as the reference; and the file-wide forms stay linear on hostile texts."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pytest

from freezelint import prefilter
from freezelint.analysis import model_text
from freezelint.analysis.model_text import kept_as_a_module, occurrences

PIECES = ["from .m import ", "from models import (a, b)\n", "import models\n",
          "import m as q\n", "a", "b", "build", "models", "model", "self", ".", "(", ")", " ",
          "  ", "\n", "\t", "=", "==", ":", " int", "return ", "def f():\n", "def build():\n",
          "    ", ".parameters()", ".state_dict(", ".requires_grad_(", ".fc", "[0]",
          "nn.Linear(", "nn.", "torch.", "getattr(", ", ", "x", "m", "q", "f()", "#", "'",
          "1", "Net", "class Net(nn.Module):\n", "*", ".in_features", ".train(", "= nn.",
          "async ", "\n\n"]
ASKED = [("build", prefilter._CALLED, ""), ("f", prefilter._CALLED, ""),
         ("Net", prefilter._CALLED, ""), ("a", prefilter._CALLED, ""),
         ("models", prefilter._MEMBER, "."), ("q", prefilter._MEMBER, "."),
         ("nn", prefilter._NN_BUILT, "."), ("torch", prefilter._TORCH_NN_BUILT, ".")]


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))
            for _ in range(count)]


def _plain_builds(name: str, follows: re.Pattern[str], text: str, then: str = "",
                  depth: int = 0, followed: dict[str, bool] | None = None) -> bool:
    """The plain scan: every occurrence of `name`, and the line it is on, read again."""
    followed = {} if followed is None else followed
    for at in occurrences(name, text, then):
        if not follows.match(text, at + len(name)):
            continue
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        line = text[start:end if end >= 0 else len(text)]
        if prefilter._MODULE_USE.search(line, at - start):
            return True
        assigned = prefilter._ASSIGNED.match(line)
        if assigned is not None and assigned.end() <= at - start:
            attribute = line[assigned.start(1) - 1:assigned.start(1)] == "."
            if kept_as_a_module(assigned.group(1), text, attribute):
                return True
            continue
        returned = prefilter._RETURNED.match(line)
        if returned is None or returned.end() != at - start \
                or depth >= prefilter._MAX_RETURN_DEPTH:
            continue
        function = prefilter._enclosing_function(
            text, start, len(line) - len(line.lstrip(" \t")))
        if function is None:
            continue
        if function not in followed:
            if len(followed) >= prefilter._MAX_FUNCTIONS_FOLLOWED:
                return True
            followed[function] = False
            followed[function] = _plain_builds(function, prefilter._CALLED, text,
                                               depth=depth + 1, followed=followed)
        if followed[function]:
            return True
    return False


def test_names_that_build_a_used_module_are_found_as_the_plain_scan_finds_them() -> None:
    differ = []
    for text in _texts(seed=5, count=6_000):
        for name, follows, then in ASKED:
            prefilter._functions_followed.cache_clear()
            found = prefilter._builds_a_used_module(name, follows, text, then)
            if found != _plain_builds(name, follows, text, then):
                differ.append((name, text))
    assert differ == []


def test_names_used_as_modules_are_found_as_the_plain_patterns_find_them() -> None:
    differ = []
    for text in _texts(seed=7, count=20_000):
        plain = (frozenset(model_text._USED_NAME.findall(text)),
                 frozenset(model_text._USED_ATTRIBUTE.findall(text)))
        used = model_text.used_as_modules(text)
        if (used.variables, used.attributes) != plain:
            differ.append(text)
    assert differ == []


@pytest.mark.parametrize("pattern", [prefilter._FROM_IMPORT, prefilter._IMPORT,
                                     prefilter._FROM_IMPORT_NAME])
def test_import_statements_are_found_at_the_start_of_lines_only(
        pattern: re.Pattern[str]) -> None:
    anchored = re.compile(r"^[ \t]*" + pattern.pattern, re.MULTILINE)
    differ = []
    for text in _texts(seed=9, count=20_000):
        found = [match.groups() for match in prefilter._starting_lines(pattern, text)]
        if found != [match.groups() for match in anchored.finditer(text)]:
            differ.append(text)
    assert differ == []


def _names(count: int) -> str:
    return ", ".join(f"n{index}" for index in range(count))


@pytest.mark.parametrize("text", [
    # 100,000 names imported from the project, none of them building anything: each line
    # uses a module or holds a name
    "import torch\nfrom .m import (" + _names(100_000) + ")\n"
    + "".join(f"x{index}.parameters()\ny = n{index}\n" for index in range(100_000)),
    # all of it on one line of megabytes
    "import torch\nfrom .m import (" + _names(80_000) + ")\n"
    + "".join(f"y = n{index}; x{index}.parameters(); " for index in range(80_000)) + "\n",
])
def test_a_file_importing_a_hundred_thousand_names_is_judged_without_a_hang(
        text: str) -> None:
    # each name was looked for through the whole text: 12 s for 20,000 names, minutes for
    # these; a child process so that a hang fails the test instead of the run
    code = ("import sys\nfrom freezelint.prefilter import worth_linting\n"
            "print(worth_linting(sys.stdin.read(), explicit_model=False))\n")
    done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
