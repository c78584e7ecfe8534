"""The result cache: a file whose bytes, configuration, freezelint version and model did not
change is not linted again.

Entries are small JSON files under the cache directory (`.freezelint_cache` by default,
`--cache-dir` to share one in CI), named by the SHA-256 of everything the result depends on.
An entry also lists the files the analysis read besides the source (checkpoint headers), with
their size and mtime, and is ignored when one of them changed. Reading the cache needs
neither libcst nor torch, which is what makes a warm run fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from freezelint import __version__
from freezelint.common.coverage import Coverage
from freezelint.common.diagnostics import Diagnostic, diagnostic_from_json
from freezelint.common.files import replace_atomically

DEFAULT_DIRECTORY = ".freezelint_cache"


def fingerprint(*parts: object) -> str:
    """A digest of the run's configuration: anything that changes results must be in it."""
    digest = hashlib.sha256(__version__.encode())
    for part in parts:
        digest.update(b"\0" + repr(part).encode())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, directory: Path, config_fingerprint: str) -> None:
        self.root = directory
        self.directory = directory / __version__
        self.config = config_fingerprint

    def _key(self, data: bytes) -> str:
        return hashlib.sha256(self.config.encode() + b"\0" + data).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, data: bytes) -> tuple[list[Diagnostic], Coverage] | None:
        """The stored diagnostics and coverage (what was and was not checked); None when
        there is no entry, or it is not one this cache wrote for these bytes (truncated,
        bit-flipped, edited or malformed): the file is then linted and the entry rewritten,
        never trusted into an error or a wrong "passed"."""
        key = self._key(data)
        try:
            stored = self._path(key).read_bytes()
        except OSError:
            return None
        digest, _, payload = stored.partition(b"\n")
        if digest != _digest(key, payload):
            return None
        try:
            entry = json.loads(payload)
            depends, diagnostics = entry["depends"], entry["diagnostics"]
            if not isinstance(depends, dict) or not isinstance(diagnostics, list):
                return None
            if any(_stamp(Path(p)) != stamp for p, stamp in depends.items()):
                return None
            return ([diagnostic_from_json(d) for d in diagnostics],
                    Coverage.from_json(entry["coverage"]))
        except Exception:  # a malformed entry, whatever its shape: lint the file again
            return None

    def put(self, data: bytes, diagnostics: list[Diagnostic],
            depends: Iterable[Path] = (), coverage: Coverage | None = None) -> None:
        """Store a result; a cache that cannot be written is simply not used. The entry is
        its JSON after one line holding a digest of the entry's key and that JSON."""
        key = self._key(data)
        path = self._path(key)
        entry: dict[str, Any] = {
            "diagnostics": [d.to_json() for d in diagnostics],
            "depends": {str(p): _stamp(p) for p in depends},
            "coverage": (coverage or Coverage()).to_json(),
        }
        payload = json.dumps(entry).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _ignore_in_git(self.root)
            replace_atomically(path, _digest(key, payload) + b"\n" + payload)
        except OSError:
            return


def _digest(key: str, payload: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\0" + payload).hexdigest().encode()


def _ignore_in_git(root: Path) -> None:
    """A `.gitignore` of `*` in the cache directory, as Ruff writes in `.ruff_cache`: a run
    from pre-commit or by hand must not leave an untracked directory in the repository."""
    marker = root / ".gitignore"
    if not marker.exists():
        marker.write_text("# Automatically created by freezelint.\n*\n", encoding="utf-8")


def _stamp(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]
