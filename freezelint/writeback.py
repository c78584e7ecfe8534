"""Write a fixed file back without ever leaving it damaged.

The new bytes go to a temporary file in the same directory, which then replaces the original
in one `os.replace`: a reader sees the old file or the new one, never half of each. The
original's encoding (and BOM) and permission bits are kept. A file that cannot be written
is reported and left as it was.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from freezelint.source import SourceText


class WriteError(OSError):
    pass


def write_atomic(path: str | os.PathLike[str], text: str, source: SourceText) -> None:
    target = Path(path)
    try:
        data = text.encode(source.encoding)
    except (UnicodeEncodeError, LookupError) as error:
        raise WriteError(f"cannot encode the fixed text as {source.encoding}: {error}") from None
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        if not os.access(target, os.W_OK):
            raise WriteError(f"cannot write {target}: permission denied")
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".freezelint",
                                    dir=target.parent)
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise WriteError(f"cannot write {target}: {error.strerror or error}") from None
