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
import stat
import tempfile
from pathlib import Path

from freezelint.inputs.source import SourceText

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


class WriteError(OSError):
    pass


def write_atomic(path: str | os.PathLike[str], text: str, source: SourceText) -> None:
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
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".freezelint",
                                    dir=target.parent)
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(f"cannot write {shown}: {error.strerror or error}") from None
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
