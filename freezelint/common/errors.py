"""Describing an unexpected exception in a bounded, never-failing way.

An error raised deep inside libcst can be a RecursionError, or a KeyError whose key is a
tree node: calling `str()` on it recurses again (a node's repr prints its whole subtree),
and a full traceback is thousands of frames. Front ends describe errors through these two
functions only, so a report line or a log record stays one short line and describing an
error can never raise a second one.
"""

from __future__ import annotations

import traceback

MAX_MESSAGE = 300
MAX_FRAMES = 12


def describe_error(error: BaseException) -> str:
    """`Type: first line of the message`, at most MAX_MESSAGE characters; the type alone
    when the message cannot be computed."""
    name = type(error).__name__
    try:
        text = str(error)
    except BaseException:  # str() of a libcst node may recurse: any failure
        return name
    text = " ".join(text.split()[:60])[:MAX_MESSAGE]
    return f"{name}: {text}" if text else name


def bounded_traceback(error: BaseException) -> str:
    """The last MAX_FRAMES frames of `error`'s traceback and its description."""
    try:
        frames = traceback.extract_tb(error.__traceback__)[-MAX_FRAMES:]
        lines = traceback.format_list(frames)
    except BaseException:  # a traceback that cannot be formatted
        lines = []
    return "".join(lines) + describe_error(error)
