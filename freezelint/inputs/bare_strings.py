"""The bare strings of a text (docstrings, and any string that is a statement of its own),
found with one regular-expression scan instead of Python's parser.

The pre-filter asks whether a zoo constructor a file names is code or documentation: a
library's docstrings are full of `model = AutoModel.from_pretrained(...)`. Python's parser
answers exactly, but building the tree of a large module to find its docstrings cost a
third of a second on the 21 files of transformers that name a constructor (1.8 MB). The scan
takes the code between strings and comments in one run each, so it costs a match per string
and per comment, not per token.

A string is bare when it starts a line outside brackets (not continued from the line before
with a backslash) and the line ends after it and the strings implicitly joined to it. The
scan never calls a string bare that Python would not; it leaves a few as code that Python
would call bare (one after a `;` or after a compound statement's colon on the same line, one
in parentheses). When it cannot vouch for its reading (a string that does not end), it
answers None and the caller asks Python's parser.
"""

from __future__ import annotations

import re

# Code up to the next quote or comment, in one run; a string (its prefix letters are the end
# of the code before it), taken possessively in runs as inputs/nesting.py does; a comment.
_PIECES = re.compile(
    r"""(?P<code>[^'"\#]++)
      |(?P<string>'''(?:[^'\\]++|\\.|'(?!''))*+(?:'''|\Z)
                 |\"\"\"(?:[^"\\]++|\\.|"(?!""))*+(?:\"\"\"|\Z)
                 |'(?:[^'\\\r\n]++|\\(?:\r\n|.))*+(?:'|$)
                 |"(?:[^"\\\r\n]++|\\(?:\r\n|.))*+(?:"|$))
      |(?P<comment>\#[^\r\n]*+)
    """, re.VERBOSE | re.DOTALL | re.MULTILINE)
_LINE_BREAK = re.compile(r"\r\n?|\n")
# (an f-string is code: Python keeps it, its fields are expressions)
_PREFIXES = frozenset({"", "r", "u"})  # (bytes are no docstring either)


def bare_strings(text: str) -> list[tuple[int, int]] | None:
    """The start and end offsets of each bare string statement of `text`, in order; None
    when a string in it is not terminated (not Python: the caller's parser decides)."""
    spans: list[tuple[int, int]] = []
    depth = 0  # open brackets
    prefix: int | None = 0  # a string here would start a line outside brackets, after this
    # many prefix letters (`r`, `b`...); None when it would not
    run: tuple[int, int] | None = None  # a bare string so far: the strings that start a line
    for match in _PIECES.finditer(text):
        kind = match.lastgroup
        if kind == "string":
            token = match.group()
            if not _terminated(token):
                return None
            if run is not None:  # a string joined to the first
                run = (run[0], match.end())
            elif prefix is not None:
                run = (match.start() - prefix, match.end())
            prefix = None
        elif kind == "code":
            code = match.group()
            breaks = list(_LINE_BREAK.finditer(code))
            if run is not None:
                first = breaks[0].start() if breaks else len(code)
                if code[:first].strip(" \t\f"):
                    run = None  # the line goes on: `"...".join(x)`, `"a" % b`
                elif breaks:
                    spans.append(run)
                    run = None
            depth = max(depth + _opened(code), 0)
            prefix = _line_start(code, breaks, depth, match.start() == 0)
        else:  # a comment: the line break after it is in the next piece of code
            prefix = None
    if run is not None:
        spans.append(run)
    return spans


def _opened(code: str) -> int:
    return (code.count("(") + code.count("[") + code.count("{")
            - code.count(")") - code.count("]") - code.count("}"))


def _line_start(code: str, breaks: list[re.Match[str]], depth: int,
                first: bool) -> int | None:
    """Whether a string right after `code` starts a line outside brackets, and after how
    many prefix letters: `code` ends with a line break (or is the `first` piece of the text)
    and an indentation and a prefix after it, the break not continued with a backslash, and
    no bracket is open there. None when not."""
    if depth or not (breaks or first):
        return None
    start = breaks[-1].end() if breaks else 0
    prefix = code[start:].lstrip(" \t\f")
    if prefix.lower() not in _PREFIXES or (breaks and code[:breaks[-1].start()].endswith("\\")):
        return None
    return len(prefix)


def _terminated(token: str) -> bool:
    """Whether the string token ends with its own closing quotes (the scan also takes a
    string that runs to the end of its line or of the text)."""
    quote = token[:3] if token[:3] in ("'''", '"""') else token[:1]
    if len(token) < 2 * len(quote) or not token.endswith(quote):
        return False
    closing = len(token) - len(quote)
    backslashes = closing - len(token[:closing].rstrip("\\"))
    return backslashes % 2 == 0


def without_bare_strings(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each of `spans` (bare strings) blanked: a space in its place, the rest of
    its last line moved up after it and its line breaks kept as empty lines (line numbers
    stay as they were)."""
    parts: list[str] = []
    at = 0
    for start, end in spans:
        after = _LINE_BREAK.search(text, end)
        line_end = after.end() if after is not None else len(text)
        inner = text[start:end]
        breaks = inner.count("\n") + inner.count("\r") - inner.count("\r\n")
        parts.extend((text[at:start], " ", text[end:line_end], "\n" * breaks))
        at = line_end
    parts.append(text[at:])
    return "".join(parts)
