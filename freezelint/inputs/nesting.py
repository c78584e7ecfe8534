"""How deep a text would nest in libcst's tree, checked before libcst parses it.

libcst's tree nests one level per operator of a chain (`a or b or c` is
`BooleanOperation(BooleanOperation(a, b), c)`), per `elif`, per trailer (`f()()`), per
implicitly concatenated string, per bracket. Its native parser overflows the C stack on
some thousands of levels (a flat `or` chain of 10,000 terms kills the process with SIGSEGV,
which no `except` can catch), and its Python code (code generation, positions) and our
analysis recurse once or more per level: past a few hundred levels they raise
RecursionError. So a file is measured first, with one cheap regular-expression scan, and a
file deeper than `MAX_DEPTH` is refused with a clear message instead of being parsed.

The measure is an upper bound of the tree's depth: every operator, keyword operator,
string, `for` clause and bracket of a comma-separated segment counts one level (most of them
nest less, none more), brackets add the levels of the segments around them, each block adds
its statement levels and each `elif` of a chain one more. Real code stays below the limit:
of the 14,350 files of a virtualenv with torch, transformers, timm, sympy and numpy, six
measure more (four of sympy's generated polynomial tables, sympy's solvers.py, and a
260-level string table in pip's vendored webencodings). A text within the limit parses,
lints and fixes without reaching Python's recursion limit (tests/test_hostile_parse.py
finds the deepest text of each nesting construct the check lets through and lints it). The
scan costs about 0.2 s per MB of source, a few milliseconds for a training script.
"""

from __future__ import annotations

import re

from freezelint.inputs.source import SourceError

# Levels of the bound that libcst and the analysis take with Python's default recursion
# limit (1000) and room to spare: code generation fails from ~450 levels of a chain.
MAX_DEPTH = 250

# Levels one indented block adds (compound statement, its block, the statement line).
_BLOCK_LEVELS = 3

# One token per match, in the order they are most common: a name or an operator first (a
# name followed by a quote is left to the string: `rb"..."`, `f'...'`), the whitespace before
# a token taken with it (a position with nothing to match tried every alternative in turn).
# A string's characters are taken in runs, possessively: the regular-expression engine kept a
# way back for each character it took one by one (a 500 KB docstring cost 90 MB of memory).
# Only a string those runs cannot end (unterminated, with an escaped line break or a
# backslash at the end) is matched the old way, which may end it earlier.
_SCAN = re.compile(
    r"""[ \t\f]*+(?:(?P<word>[^\W\d]\w*+(?!['"]))
      |(?P<operator>\*\*|//|<<|>>|->|:=|[-+*/%@&|^~<>=!.])
      |(?P<newline>\r\n|\r|\n)
      |(?P<open>[(\[{])
      |(?P<close>[)\]}])
      |(?P<separator>[,;])
      |(?P<string>(?P<prefix>[rRbBuUfF]{0,2})(?:'''(?:[^'\\]++|\\.|'(?!''))*+(?:'''|\Z)
                                     |\"\"\"(?:[^"\\]++|\\.|"(?!""))*+(?:\"\"\"|\Z)
                                     |'(?:[^'\\\r\n]++|\\(?:\r\n|.))*+(?:'|$)
                                     |"(?:[^"\\\r\n]++|\\(?:\r\n|.))*+(?:"|$)
                                     # (a string the runs above cannot end: as Python's
                                     # `re` ends it when it may step back, one character
                                     # at a time)
                                     |'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)
                                     |\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|\Z)
                                     |'(?:[^'\\\r\n]|\\(?:\r\n|.))*(?:'|$)
                                     |"(?:[^"\\\r\n]|\\(?:\r\n|.))*(?:"|$)))
      |(?P<comment>\#[^\r\n]*)
      |(?P<continuation>\\(?:\r\n|\r|\n))
      |(?P<name>[^\W\d]\w*))  # a name before a quote that starts no string (`x"..."`)
    """, re.VERBOSE | re.DOTALL | re.MULTILINE)
# Words that add a level to an expression.
_OPERATOR_WORDS = frozenset({"or", "and", "not", "if", "else", "lambda", "in", "is", "for",
                             "await", "yield", "async"})
# What may add a level inside an f-string's replacement fields (counted over the whole
# string: its literal text too, an overestimate).
_FSTRING_LEVELS = re.compile(r"[-+*/%@&|^~<>=!.(\[{]|\b(?:or|and|not|if|else|lambda|in|is|for)\b")
_BRACES = re.compile(r"\{\{|\}\}|[{}]")


class TooDeep(SourceError):
    """A text nested deeper than libcst can take; the message says where and how deep."""


def nesting_depth(text: str) -> tuple[int, int]:
    """The bound of the text's tree depth (see the module docstring) and the line where it
    is reached."""
    deepest, deepest_line = 0, 1
    line, line_start = 1, 0
    # Expression state: the operator count of the current segment in each open bracket,
    # and the levels of the brackets around the innermost one (their segments and
    # themselves), kept as a sum so that each token costs the same however deep it is.
    segments = [0]
    outer = 1
    # Statement state: widths of the open indented blocks, and the elif chain of each level.
    widths = [0]
    chains = [0]
    statement_base = 0
    at_line_start = True
    for match in _SCAN.finditer(text):
        kind = match.lastgroup
        if kind == "newline":
            line += 1
            if len(segments) == 1:
                segments[0] = 0
                at_line_start, line_start = True, match.end()
            continue
        if kind == "continuation":
            line += 1
            continue
        if kind == "comment" or kind is None:
            continue
        token = match.group(kind)  # (without the whitespace before it)
        if kind == "name":
            kind = "word"
        if at_line_start:
            at_line_start = False
            width = len(text[line_start:match.end() - len(token)].expandtabs(8))
            while width < widths[-1] and len(widths) > 1:
                widths.pop()
                chains.pop()
            if width > widths[-1]:
                widths.append(width)
                chains.append(0)
            word = token if kind == "word" else ""
            if word == "elif":
                chains[-1] += 1
            elif word != "else":
                chains[-1] = 0
            statement_base = _BLOCK_LEVELS * len(widths) + sum(chains)
        if kind == "string":
            line += _line_breaks(token)
            segments[-1] += 1
            if "f" in match.group("prefix").lower():  # expressions inside an f-string
                segments[-1] += _fstring_levels(token)
        elif kind == "open":
            segments[-1] += 1
            outer += segments[-1] + 1
            segments.append(0)
        elif kind == "close":
            if len(segments) > 1:
                segments.pop()
                outer -= segments[-1] + 1
        elif kind == "separator":
            segments[-1] = 0
        elif kind != "word" or token in _OPERATOR_WORDS:
            segments[-1] += 1
        depth = statement_base + outer + segments[-1]
        if depth > deepest:
            deepest, deepest_line = depth, line
    return deepest, deepest_line


def _fstring_levels(token: str) -> int:
    """Levels an f-string's replacement fields may add: their operators and brackets."""
    levels = depth = start = 0
    for brace in _BRACES.finditer(token):
        text = brace.group()
        if depth == 0 and text in ("{{", "}}"):
            continue  # an escaped brace of the literal text
        opened = text.count("{") - text.count("}")
        if depth == 0 and opened > 0:
            start = brace.end()
        depth = max(depth + opened, 0)
        if depth == 0:
            levels += 1 + len(_FSTRING_LEVELS.findall(token, start, brace.start()))
    return levels


def _line_breaks(token: str) -> int:
    return token.count("\n") + token.count("\r") - token.count("\r\n")


def check_nesting(text: str) -> None:
    """Raise TooDeep when `text` nests deeper than libcst's parser and our analysis take."""
    if len(text) < MAX_DEPTH:  # cannot hold that many levels
        return
    depth, line = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise TooDeep(f"code nested too deeply to analyse (line {line}: about {depth} levels "
                      f"of operators, brackets, elif branches or blocks; freezelint's parser "
                      f"takes {MAX_DEPTH}); split the expression or the elif chain")
