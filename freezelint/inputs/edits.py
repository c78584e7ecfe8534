"""Text edits applied to a text: positions in lines and columns as libcst counts them.

Kept apart from fixes.py (which lints, and so imports libcst) because the report applies a
fix to show it as a diff, and printing a cached report must not load libcst.
"""

from __future__ import annotations

import re

from freezelint.common.diagnostics import Edit, Position

_NEWLINE = re.compile(r"\r\n|\r|\n")


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, int]:
    """Apply non-overlapping edits; an edit overlapping an earlier one waits for the next
    round. Returns the new text and how many edits were applied."""
    starts = _line_starts(text)
    spans = []
    for edit in edits:
        begin = _offset(starts, edit.span.start)
        end = _offset(starts, edit.span.end)
        spans.append((begin, end, edit.text))
    spans.sort(key=lambda s: (s[0], s[1]))
    accepted: list[tuple[int, int, str]] = []
    last_end = -1
    for begin, end, new in spans:
        if begin < last_end:
            continue
        accepted.append((begin, end, new))
        last_end = end
    for begin, end, new in reversed(accepted):
        text = text[:begin] + new + text[end:]
    return text, len(accepted)


def _line_starts(text: str) -> list[int]:
    """Offsets where lines start, splitting as libcst does (not str.splitlines, which
    also splits on form feeds and other separators)."""
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


def _offset(starts: list[int], position: Position) -> int:
    index = min(max(position.line - 1, 0), len(starts) - 1)
    return starts[index] + position.column
