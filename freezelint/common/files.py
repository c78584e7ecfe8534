"""freezelint's own files: where the per-user cache lives, and replacing a small file
atomically, without `tempfile` (which imports `random` and `shutil`: milliseconds of
start-up for every run that stores a cache entry)."""

from __future__ import annotations

import itertools
import os
from contextlib import suppress
from pathlib import Path

_SERIAL = itertools.count()


def user_cache_root() -> Path:
    """freezelint's per-user cache directory (XDG), shared by the model and start-up caches."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "freezelint"


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a new file next to `path`, then rename it over `path`: a reader sees
    the old content or the new, never part of it. Raises OSError (leaving no temporary file
    behind) when the directory cannot be written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{next(_SERIAL)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        with suppress(OSError):
            temporary.unlink()
        raise
