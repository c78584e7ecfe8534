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

    def _path(self, data: bytes) -> Path:
        key = hashlib.sha256(self.config.encode() + b"\0" + data).hexdigest()
        return self.directory / key[:2] / f"{key}.json"

    def get(self, data: bytes) -> tuple[list[Diagnostic], Coverage] | None:
        """The stored diagnostics and coverage (what was and was not checked)."""
        path = self._path(data)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            if any(_stamp(Path(p)) != stamp for p, stamp in entry["depends"].items()):
                return None
            return ([diagnostic_from_json(d) for d in entry["diagnostics"]],
                    Coverage.from_json(entry["coverage"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, data: bytes, diagnostics: list[Diagnostic],
            depends: Iterable[Path] = (), coverage: Coverage | None = None) -> None:
        """Store a result; a cache that cannot be written is simply not used."""
        path = self._path(data)
        entry: dict[str, Any] = {
            "diagnostics": [d.to_json() for d in diagnostics],
            "depends": {str(p): _stamp(p) for p in depends},
            "coverage": (coverage or Coverage()).to_json(),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _ignore_in_git(self.root)
            replace_atomically(path, json.dumps(entry).encode())
        except OSError:
            return


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
