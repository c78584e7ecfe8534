"""Corrupt caches (issue 18): validated on read and rebuilt, never trusted into a crash or a
wrong "passed". Entries are damaged here the ways disks and people damage them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from helpers import invoke

from freezelint.startup import _MAGIC

MODEL = "import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
FINDING = MODEL + "model.layer1.requires_grad = False\n"  # FZL104


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.json"))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bit flip", "diagnostics not a list",
                                    "depends not a dict", "diagnostic malformed",
                                    "emptied by hand", "another file's entry"])
def test_a_damaged_result_cache_entry_is_linted_again(tmp_path: Path, damage: str) -> None:
    source = tmp_path / "train.py"
    source.write_text(FINDING, encoding="utf-8")
    other = tmp_path / "clean.py"
    other.write_text("x = 1\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = invoke("check", "--cache-dir", str(cache), "--output-format", "concise", str(source),
                   str(other))
    assert first.exit_code == 1 and "FZL104" in first.output
    entries = {p: p.read_bytes() for p in _entries(cache)}
    assert len(entries) == 2
    finding_entry = next(p for p, b in entries.items() if b"FZL104" in b)
    clean_entry = next(p for p in entries if p != finding_entry)
    stored = entries[finding_entry]
    digest, _, payload = stored.partition(b"\n")
    entry = json.loads(payload)
    if damage == "garbage":
        finding_entry.write_bytes(os.urandom(200))
    elif damage == "truncated":
        finding_entry.write_bytes(stored[:len(stored) // 2])
    elif damage == "bit flip":
        flipped = bytearray(stored)
        flipped[stored.index(b"FZL104") + 3] ^= 0x01
        finding_entry.write_bytes(bytes(flipped))
    elif damage == "another file's entry":
        finding_entry.write_bytes(entries[clean_entry])
    else:
        if damage == "diagnostics not a list":
            entry["diagnostics"] = {}
        elif damage == "depends not a dict":
            entry["depends"] = []
        elif damage == "diagnostic malformed":
            entry["diagnostics"][0]["range"] = None
        elif damage == "emptied by hand":
            entry["diagnostics"] = []
        finding_entry.write_bytes(digest + b"\n" + json.dumps(entry).encode())
    again = invoke("check", "--cache-dir", str(cache), "--output-format", "concise", str(source),
                   str(other))
    assert again.exit_code == 1, again.output
    assert "FZL104" in again.output and "passed" not in again.output + again.stderr
    assert finding_entry.read_bytes() == stored  # rebuilt


def _run(cache_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "NO_COLOR": "1"}
    env.pop("FREEZELINT_NO_STARTUP_CACHE", None)
    return subprocess.run([sys.executable, "-m", "freezelint", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_damaged_startup_cache_is_rebuilt(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(FINDING, encoding="utf-8")
    home = tmp_path / "home"
    args = ("check", "--no-cache", "--output-format", "concise", str(source))
    first = _run(home, *args)
    assert first.returncode == 1
    files = sorted(home.rglob("*.marshal"))
    assert files, "the start-up cache was not written"
    pristine = {f: f.read_bytes() for f in files}
    for offset in (0.3, 0.5, 0.9):  # flip bits inside the code objects, then run again
        for file, data in pristine.items():
            damaged = bytearray(data)
            at = int(len(damaged) * offset)
            damaged[at] ^= 0xFF
            file.write_bytes(bytes(damaged))
        again = _run(home, *args)
        assert again.returncode == 1, again.stderr[-3000:]
        assert again.stdout == first.stdout and "Error" not in again.stderr
        for file in files:  # rewritten whole and valid
            data = file.read_bytes()
            assert data.startswith(_MAGIC)
            checksum, payload = data[len(_MAGIC):len(_MAGIC) + 4], data[len(_MAGIC) + 4:]
            assert checksum == zlib.crc32(payload).to_bytes(4, "big")
