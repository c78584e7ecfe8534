"""The pre-filter's scan for bare strings (docstrings) against Python's own parser.

The pre-filter skips a file whose only zoo constructor is quoted in its documentation; the
scan that finds the documentation must never take code for it (a file that builds a model
would go unchecked). Every snippet here is judged by both: the scan finds exactly the
parser's bare strings, or (the cases it leaves as code) fewer, never one more.
"""

from __future__ import annotations

import ast
import random
import warnings

import pytest

from freezelint.inputs.bare_strings import bare_strings, without_bare_strings
from freezelint.prefilter import _without_docstrings, _without_docstrings_parsed


def _parsed_spans(text: str) -> set[tuple[int, int]]:
    """The bare string statements of `text` as Python's parser sees them, as offsets."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:  # (ASCII snippets: columns are characters)
        return starts[line - 1] + column

    return {(offset(node.lineno, node.col_offset),
             offset(node.end_lineno or node.lineno, node.end_col_offset or 0))
            for node in ast.walk(_quiet_parse(text))
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def _quiet_parse(text: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (`1if x`: the snippets' warnings)
        return ast.parse(text)


EXACT = [
    '"""A module."""\nimport torch\n',
    'r"""A raw docstring \\d."""\nx = 1\n',
    'class A:\n    """Doc."""\n\n    def f(self):\n        R\'\'\'raw\'\'\'\n        return 1\n',
    'def f():\n    "one" "two"  # joined, then a comment\n    return 2\n',
    'x = 1\n"""After code."""\n',
    'if x:\n    pass\n"""\nMany\nlines\n"""\ny = 2',
    'def f():\n    """Doc."""\r\n    return 3\r\n',
    '"doc"',
    "'''It's \\''' quoted''' \nz = 3\n",
    'x = (\n    "in brackets"\n)\n"""then bare"""\n',
    'x = 1 + \\\n    2\n"""bare"""\n',
    '# a comment "with quotes"\n"""bare"""\n',
]

# Bare for Python, code for the scan: it vouches for fewer, never more.
FEWER = [
    'x = 1; """after a semicolon"""\n',
    'def f(): """on the header line"""\n',
    'class A:\n    (\n        """parenthesised"""\n    )\n',
    '"a" r"b"\n',
]

# Never bare: each string here is part of a statement.
CODE = [
    'x = """assigned"""\n',
    '"""joined""".join(parts)\n',
    '"%s" % x\n',
    '"a", "b"\n',
    'f"""{model}"""\n',
    'call(\n    """an argument"""\n)\n',
    'x = 1 + \\\n    """continued"""\n',
    'x = [\n    1,\n]["""index"""]\n',
    '"a" if x else "b"\n',
    'y = {\n    "k": 1,\n}\n',
]


@pytest.mark.parametrize("text", EXACT)
def test_the_scan_finds_the_parsers_bare_strings(text: str) -> None:
    spans = bare_strings(text)
    assert spans is not None and set(spans) == _parsed_spans(text)
    assert _without_docstrings(text) == _without_docstrings_parsed(text)


@pytest.mark.parametrize("text", FEWER)
def test_the_scan_leaves_some_bare_strings_as_code(text: str) -> None:
    spans = bare_strings(text)
    assert spans is not None and set(spans) < _parsed_spans(text)


@pytest.mark.parametrize("text", CODE)
def test_strings_in_statements_are_code(text: str) -> None:
    assert _parsed_spans(text) == set()
    assert bare_strings(text) == []
    assert without_bare_strings(text, []) == text


@pytest.mark.parametrize("text", ['"""never ends\n', "x = 'open\n", '"""a""" \'\'\'b\\\'\'\'\n'])
def test_a_string_that_does_not_end_is_left_to_the_parser(text: str) -> None:
    assert bare_strings(text) is None
    assert _without_docstrings(text) == text  # Python cannot parse it: nothing is removed


def test_the_scan_never_finds_a_bare_string_the_parser_does_not() -> None:
    # random programs of the pieces above: whatever Python parses, the scan's bare strings
    # are among the parser's
    pieces = [*EXACT, *FEWER, *CODE, "    ", "(\n", ")\n", "\\\n", "#", "'", '"', "f", "r",
              ";", ":", "\n", "\r\n", "def g():\n", "    pass\n"]
    rng = random.Random(13)
    parsed = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        try:
            expected = _parsed_spans(text)
        except (SyntaxError, ValueError):
            continue
        parsed += 1
        spans = bare_strings(text)
        assert spans is not None and set(spans) <= expected, text
    assert parsed > 300
