"""Reading the files to lint: bytes -> text the way Python itself would, or a clear error.

A linter run in CI meets whatever is in the repository: binary files with a `.py` name,
Latin-1 files with a coding declaration, files with a BOM, CRLF files, unreadable paths.
Each of them must become either text for `lint()` or a one-line SourceError for the
report, never a traceback and never a silently wrong decode. Decoding follows PEP 263
(`tokenize.detect_encoding`), so a file lints exactly when Python could import it.
"""

from __future__ import annotations

import ast
import codecs
import io
import os
import re
import stat
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# Directories that never hold the user's own sources; walking them would lint vendored or
# generated code (and take minutes in a virtualenv).
SKIPPED_DIRS = frozenset({
    "__pycache__", ".git", "node_modules", ".venv", "venv", "build", "dist", "site-packages",
})

# What a directory walk lints: Python files and Jupyter notebooks.
LINTED_SUFFIXES = (".py", ".ipynb")

# The largest file read: Python source far larger than any hand-written module (generated
# tables), and notebooks with their outputs (images included). A bound keeps a hostile or
# unlucky file from exhausting memory.
MAX_SOURCE_BYTES = 16 * 2**20
MAX_NOTEBOOK_BYTES = 128 * 2**20

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
    return decode_source(read_file(path))


def read_file(path: str | os.PathLike[str], limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them, or SourceError.

    Only regular files are read: a FIFO would block the run forever and a device such as
    /dev/zero never ends. The file is opened without blocking and its type checked on the
    open descriptor (no window between the check and the read), and the read stops after
    `limit` bytes whatever the size said."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SourceError("no such file or directory") from None
    except IsADirectoryError:
        raise SourceError("is a directory") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise SourceError("is a directory")
        if not stat.S_ISREG(status.st_mode):
            raise SourceError(f"not a regular file ({_kind(status.st_mode)}): not read")
        if status.st_size > limit:
            raise SourceError(_too_large(status.st_size, limit))
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if len(data) > limit:  # grew while being read
        raise SourceError(_too_large(len(data), limit))
    return data


def _too_large(size: int, limit: int) -> str:
    return (f"file too large ({size / 2**20:.1f} MiB): freezelint reads files up to "
            f"{limit // 2**20} MiB")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def decode_source(data: bytes) -> SourceText:
    """Decode the bytes of a Python file (from disk, stdin or an editor) per PEP 263."""
    if b"\x00" in data[:_BINARY_SNIFF]:
        wide = _wide_encoding(data)
        if wide:
            raise SourceError(f"{wide} text: Python reads source as UTF-8 (or an 8-bit "
                              "encoding declared in a coding line); convert the file to "
                              "UTF-8")
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


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 text (which Python cannot import) told apart from binary data: by
    its byte order mark, or by the NUL bytes of ASCII characters in every other (or every
    fourth) byte: the sample decodes cleanly to printable text, mostly ASCII as source is."""
    boms = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
            (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))
    for bom, name in boms:
        if data.startswith(bom):
            return name
    sample = data[:_BINARY_SNIFF]
    for name, codec, width in (("UTF-32", "utf-32-le", 4), ("UTF-32", "utf-32-be", 4),
                               ("UTF-16", "utf-16-le", 2), ("UTF-16", "utf-16-be", 2)):
        usable = sample[:len(sample) - len(sample) % width]
        try:
            text = usable.decode(codec)
        except UnicodeDecodeError:
            continue
        if (text and "\x00" not in text and sum(c.isascii() for c in text) * 2 >= len(text)
                and all(c.isprintable() or c in "\r\n\t\f" for c in text)):
            return name
    return None


def _newline(text: str) -> str:
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def discover(paths: Iterable[str], errors: list[str] | None = None) -> list[Path]:
    """The files to lint for the paths given on the command line.

    A file is taken as given, whatever its suffix (the user named it; a missing one is
    reported when it is read). A directory is walked for `*.py` and `*.ipynb` (notebooks,
    as Ruff does), skipping hidden and SKIPPED_DIRS directories (so `.ipynb_checkpoints`
    too). Symlinked directories are not followed (no cycles). A directory that cannot be
    read is not skipped silently: `path: error: ...` goes to `errors`."""

    def unreadable(error: OSError) -> None:
        if errors is not None:
            errors.append(f"{error.filename}: error: cannot read the directory: "
                          f"{error.strerror or error}")

    found: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            found.add(root)
            continue
        for directory, subdirs, files in os.walk(root, onerror=unreadable):
            subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in SKIPPED_DIRS]
            base = Path(directory)
            found.update(base / name for name in files if name.endswith(LINTED_SUFFIXES))
    return sorted(found)


# A carriage return not followed by a line feed: it ends a line for Python's parser and for
# libcst, but not for the tokenizer, nor for a count of "\n".
LONE_CR = re.compile(r"\r(?!\n)")


def python_tree(text: str, keep: bool = True) -> ast.Module | None:
    """Python's own tree of `text` (C, several times faster than libcst's), None when Python
    cannot parse it; deep nesting ends in an exception there, never a crash. Warnings the
    parser gives (an invalid escape) are the user's code's, not ours to print.

    One lint asks for the tree of the same text several times (the pre-filter, the syntax
    check of a skipped file, the positions of a large statement), so the last one is kept:
    the same string object gets the same tree. Nobody changes a tree it is given. A tree
    asked for once (a project module the analysis indexes: `keep` False) does not take the
    place of the linted text's, which the positions of a finding may need after it."""
    global _LAST_TREE
    if _LAST_TREE is not None and _LAST_TREE[0] is text:
        return _LAST_TREE[1]
    tree = _quietly(ast.parse, text)
    if keep:
        _LAST_TREE = (text, tree)
    return tree


_LAST_TREE: tuple[str, ast.Module | None] | None = None


def has_python_tree(text: str) -> bool:
    """Whether `python_tree(text)` is kept already (nothing to parse)."""
    return _LAST_TREE is not None and _LAST_TREE[0] is text


def python_accepts(text: str) -> bool:
    """Whether Python's parser takes `text` (and its symbol table pass after it): a syntax
    check a third cheaper than compiling it to bytecode, and half the cost of building its
    tree as objects, for the many files a run skips. The symbol table checks more than the
    parser (`nonlocal` at module level): where the verdict matters, a text it refuses is
    parsed after all, and the parser's verdict is the one reported."""
    import symtable

    return _quietly(lambda t: symtable.symtable(t, "<freezelint>", "exec"), text) is not None


T = TypeVar("T")


def _quietly(parse: Callable[[str], T], text: str) -> T | None:
    """`parse(text)`, None when Python refuses the text (deep nesting ends in an exception
    there, never a crash); the warnings it gives (an invalid escape) are the user's code's,
    not ours to print."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parse(text)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        return None

