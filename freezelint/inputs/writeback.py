"""Write a fixed file back without ever leaving it damaged.

The new bytes go to a temporary file in the same directory, which then replaces the original
in one `os.replace`: a reader sees the old file or the new one, never half of each. The
original's encoding (and BOM), permission bits and owner are kept; a symlink stays a symlink
(the file it points to is the one replaced). A file that cannot be written is reported and
left as it was, and so is a read-only one (no write bit), even for root, who could write it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from freezelint.inputs.source import SourceText

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


class WriteError(OSError):
    pass


def write_atomic(path: str | os.PathLike[str], text: str, source: SourceText,
                 original: bytes | None = None) -> None:
    """Replace the file at `path` with `text` in the encoding of `source`.

    With `original` (the bytes the fix was computed from), the file is written only if it
    still holds exactly those bytes: an edit made meanwhile (in an editor, or by another
    `--fix` run) is never overwritten, the write is refused with a WriteError saying so.
    Writers of freezelint take an exclusive lock on the file for the compare and replace,
    so two concurrent runs cannot both pass the check. The write itself runs with Ctrl-C
    and SIGTERM held back until the file is replaced: an interrupt never leaves it half
    written, nor a temporary file behind."""
    shown = Path(path)
    target = Path(os.path.realpath(path))  # replace the file a symlink points to, not the link
    try:
        data = text.encode(source.encoding)
    except (UnicodeEncodeError, LookupError) as error:
        raise WriteError(f"cannot encode the fixed text as {source.encoding}: {error}") from None
    try:
        status = target.stat()
        mode = stat.S_IMODE(status.st_mode)
        if not mode & _WRITE_BITS:
            raise WriteError(f"cannot write {shown}: the file is read-only")
        if not os.access(target, os.W_OK):
            raise WriteError(f"cannot write {shown}: permission denied")
        lock = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(f"cannot write {shown}: {error.strerror or error}") from None
    try:
        with os.fdopen(lock, "rb") as locked:
            _lock(lock)
            if original is not None:
                _check_unchanged(shown, target, locked, original)
            with _signals_held():
                _replace(shown, target, data, os.fstat(lock), mode)
    except OSError as error:
        if isinstance(error, WriteError):
            raise
        raise WriteError(f"cannot write {shown}: {error.strerror or error}") from None


def _lock(descriptor: int) -> None:
    """An exclusive advisory lock, held until the descriptor closes (after the replace)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the content check still runs
        return
    fcntl.flock(descriptor, fcntl.LOCK_EX)


def _check_unchanged(shown: Path, target: Path, locked: Any, original: bytes) -> None:
    """The file at `target` is still the one locked, and holds `original`."""
    current = locked.read(len(original) + 1)
    try:
        same_file = os.stat(target).st_ino == os.fstat(locked.fileno()).st_ino
    except OSError:
        same_file = False
    if not same_file or current != original:
        raise WriteError(f"{shown} changed since freezelint read it: not written, so that "
                         "the change is kept (run freezelint again to fix the new text)")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM (delivered when the block ends) where possible."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # no pthread_sigmask (Windows)
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _replace(shown: Path, target: Path, data: bytes, status: os.stat_result, mode: int) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".freezelint",
                                dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _keep_owner(temp, status)
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException as error:  # also an interrupt: never leave the temporary file
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise WriteError(f"cannot write {shown}: {error.strerror or error}") from None
        raise


def _keep_owner(temp: str, original: os.stat_result) -> None:
    """Give the new file the original's owner and group where allowed (root fixing another
    user's file); otherwise it keeps ours, as any editor's save would."""
    current = os.stat(temp)
    if (current.st_uid, current.st_gid) == (original.st_uid, original.st_gid):
        return
    with contextlib.suppress(OSError):
        os.chown(temp, original.st_uid, original.st_gid)
