"""A corrupt or hostile data.pkl cannot make the checkpoint reader allocate unbounded memory.

Found by fuzzing: one flipped byte in a `LONG_BINPUT` turned the memo index into ~3.9e9, and
CPython's C unpickler sized its memo array to it (24 GB, then the OOM killer)."""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from freezelint.models.checkpoint import CheckpointError, read_checkpoint


def _zip(path: Path, data_pkl: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", "3\n")


@pytest.mark.parametrize("index", [2**31, 0xE6000003, 0xFFFFFFF0])
def test_huge_memo_index_costs_no_memory(tmp_path: Path, index: int) -> None:
    # PROTO 2, EMPTY_DICT, LONG_BINPUT <index>, STOP
    data = b"\x80\x02}r" + struct.pack("<I", index) + b"."
    path = tmp_path / "corrupt.pt"
    _zip(path, data)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError):
            read_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"reading a 10-byte pickle peaked at {peak / 1e6:.0f} MB"
