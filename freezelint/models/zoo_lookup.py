"""One zoo id looked up without reading the zoo's whole index.

`zoo/index.json.gz` lists every model (4,000+ ids, 260 KB of JSON) and `zoo/hf.json.gz` the
Hugging Face ids; parsing both took ~7 ms of every cold `freezelint check`, which needs one
row (`--model ast`), or one library's names (is `convnext_tiny` a timm architecture?).

The first run that needs a row derives a lookup file from the two indexes into the per-user
cache: the spellings of ids (an id, an alias, `torchvision/` + a torchvision id) with their
canonical id, the rows and the Hugging Face ids, split into buckets by a hash of the name;
each library's names; the Auto classes and each one's mapping. Later runs read the file's
header and the few parts they need. Each part carries its CRC-32, and the file is named by the checksum of the indexes it
was derived from: a new zoo gets a new file, and a file that is missing, damaged or
foreign is never trusted, only derived again (the indexes answer that run). What the
lookup answers is exactly what the indexes say (`zoo.py` builds the parts from them).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

from freezelint.common.files import replace_atomically, user_cache_root

BUCKETS = tuple(f"b{n}" for n in range(64))
# Files derived from another zoo (an earlier version, another environment) are removed
# once they are this old.
STALE_DAYS = 7
FORMAT = 2  # in the file's name and first line: another layout is another file
_MAGIC = b"freezelint-zoo-lookup-%d\n" % FORMAT

Parts = dict[str, Any]
_UNUSABLE = object()  # the file cannot answer: derive the parts again


def bucket(name: str) -> str:
    """The part that holds `name`'s spelling, row or Hugging Face entry."""
    return BUCKETS[zlib.crc32(name.encode()) % len(BUCKETS)]


class Lookup:
    """The parts of a lookup file, read one at a time; `build` derives them all from the
    indexes (called at most once, when the file cannot be used)."""

    def __init__(self, sources: list[Path], build: Callable[[], Parts],
                 directory: Path | None = None) -> None:
        self._sources = sources
        self._build = cache(build)
        self._directory = directory
        self._parts: dict[str, Any] = {}
        self._key_value: str | None = None
        self._header_read = False
        self._header_value: tuple[dict[str, Any], int] | None = None

    def part(self, name: str) -> Any:
        """The part `name`; None when the indexes make no such part."""
        if name not in self._parts:
            found = self._read(name)
            if found is _UNUSABLE:
                parts = self._build()
                self._write(parts)
                self._parts.update(parts)
                found = parts.get(name)
            self._parts[name] = found
        return self._parts[name]

    def _key(self) -> str:
        if self._key_value is None:
            checksum, size = 0, 0
            for source in self._sources:
                data = source.read_bytes()
                checksum, size = zlib.crc32(data, checksum), size + len(data)
            self._key_value = f"{checksum:08x}-{size}"
        return self._key_value

    def path(self) -> Path:
        directory = self._directory or user_cache_root() / "zoo"
        return directory / f"lookup-{FORMAT}-{self._key()}.bin"

    def _header(self) -> tuple[dict[str, Any], int] | None:
        if not self._header_read:
            self._header_value, self._header_read = self._read_header(), True
        return self._header_value

    def _read_header(self) -> tuple[dict[str, Any], int] | None:
        try:
            with self.path().open("rb") as handle:
                if handle.readline() != _MAGIC:
                    return None
                line = handle.readline(1 << 20)
            header = json.loads(line)
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict) or header.get("key") != self._key():
            return None
        parts = header.get("parts")
        return (parts, len(_MAGIC) + len(line)) if isinstance(parts, dict) else None

    def _read(self, name: str) -> Any:
        header = self._header()
        if header is None:
            return _UNUSABLE
        parts, start = header
        if name not in parts:
            return None
        place = parts[name]
        if not (isinstance(place, list) and len(place) == 3
                and all(isinstance(n, int) and n >= 0 for n in place)):
            return _UNUSABLE
        offset, length, checksum = place
        try:
            with self.path().open("rb") as handle:
                handle.seek(start + offset)
                data = handle.read(length)
            if len(data) != length or zlib.crc32(data) != checksum:
                return _UNUSABLE
            return json.loads(data)
        except (OSError, ValueError):
            return _UNUSABLE

    def _write(self, parts: Parts) -> None:
        """Best effort: a lookup that cannot be written is derived again next time."""
        payload = bytearray()
        places = {}
        for name, value in parts.items():
            data = json.dumps(value, separators=(",", ":")).encode()
            places[name] = [len(payload), len(data), zlib.crc32(data)]
            payload += data
        header = json.dumps({"key": self._key(), "parts": places},
                            separators=(",", ":")).encode() + b"\n"
        path = self.path()
        with suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(path, _MAGIC + header + bytes(payload))
            stale = time.time() - STALE_DAYS * 86400
            for old in path.parent.glob("lookup-*.bin"):  # derived from an earlier zoo
                if old != path and old.stat().st_mtime < stale:
                    old.unlink()
        self._header_read = False
