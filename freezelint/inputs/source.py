"""Reading the files to lint: bytes -> text the way Python itself would, or a clear error.

A linter run in CI meets whatever is in the repository: binary files with a `.py` name,
Latin-1 files with a coding declaration, files with a BOM, CRLF files, unreadable paths.
Each of them must become either text for `lint()` or a one-line SourceError for the
report, never a traceback and never a silently wrong decode. Decoding follows PEP 263
(`tokenize.detect_encoding`), so a file lints exactly when Python could import it.
"""

from __future__ import annotations

import codecs
import io
import os
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Directories that never hold the user's own sources; walking them would lint vendored or
# generated code (and take minutes in a virtualenv).
SKIPPED_DIRS = frozenset({
    "__pycache__", ".git", "node_modules", ".venv", "venv", "build", "dist", "site-packages",
})

# What a directory walk lints: Python files and Jupyter notebooks.
LINTED_SUFFIXES = (".py", ".ipynb")

# How much of a file is searched for NUL bytes: enough for any real binary format, cheap
# for huge files.
_BINARY_SNIFF = 8192


class SourceError(Exception):
    """A file that cannot be linted; the message is one line and does not repeat the path
    (the report prints `path: error: message`)."""


@dataclass(frozen=True)
class SourceText:
    """Decoded source and what is needed to write it back byte-identical (for --fix)."""

    text: str
    encoding: str
    newline: str  # "\n" or "\r\n", from the first line ending
    bom: bool


def read_source(path: str | os.PathLike[str]) -> SourceText:
    """The text of the Python file at `path`, or SourceError saying why there is none."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SourceError("no such file or directory") from None
    except IsADirectoryError:
        raise SourceError("is a directory") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    return decode_source(data)


def decode_source(data: bytes) -> SourceText:
    """Decode the bytes of a Python file (from disk, stdin or an editor) per PEP 263."""
    if b"\x00" in data[:_BINARY_SNIFF]:
        raise SourceError("binary file, not Python source")
    bom = data.startswith(codecs.BOM_UTF8)
    declaration_error: str | None = None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # An unknown codec in the declaration, or undecodable bytes in the first two lines
        # (which detect_encoding reports the same way): decoding as UTF-8 below tells the
        # two apart and gives the byte offset for the second.
        encoding = "utf-8-sig" if bom else "utf-8"
        declaration_error = error.msg or str(error)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        shown = "utf-8" if encoding == "utf-8-sig" else encoding
        raise SourceError(f"not valid {shown} text (byte 0x{data[error.start]:02x} at offset "
                          f"{error.start}); declare the file's encoding with a "
                          "'# -*- coding: ... -*-' line or convert it to UTF-8") from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}") from None
    if declaration_error is not None:
        raise SourceError(f"bad encoding declaration: {declaration_error}")
    return SourceText(text=text, encoding=encoding, newline=_newline(text), bom=bom)


def _newline(text: str) -> str:
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def discover(paths: Iterable[str]) -> list[Path]:
    """The files to lint for the paths given on the command line.

    A file is taken as given, whatever its suffix (the user named it; a missing one is
    reported when it is read). A directory is walked for `*.py` and `*.ipynb` (notebooks,
    as Ruff does), skipping hidden and SKIPPED_DIRS directories (so `.ipynb_checkpoints`
    too). Symlinked directories are not followed (no cycles)."""
    found: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            found.add(root)
            continue
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in SKIPPED_DIRS]
            base = Path(directory)
            found.update(base / name for name in files if name.endswith(LINTED_SUFFIXES))
    return sorted(found)
