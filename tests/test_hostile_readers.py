"""Readers of untrusted data (issue 18): bounded in size and depth, with a clear error naming
the file. Every hostile file is generated here: a checkpoint whose data.pkl inflates to
4 GB from 4 MB, modules pickled 100,000 deep, a safetensors header nested 100,000 deep.
The reads run in a subprocess whose address space is capped at 1 GiB, so that reading a
bomb whole fails the test instead of the machine."""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from helpers import chdir, invoke

from freezelint.models.checkpoint import MAX_MODULE_DEPTH, MAX_PICKLE_BYTES

MEMORY_CAP = 2**30


def zip_bomb(path: Path, inflated: int = 4 * 2**30 - 16 * 2**20) -> Path:
    """A torch.save-style zip whose archive/data.pkl is `inflated` zero bytes, deflated to
    about a thousandth of that. Built from one compressed block repeated (each chunk is
    flushed with Z_FULL_FLUSH, so its compressed form does not depend on the others)."""
    chunk = 16 * 2**20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(inflated, chunk)
    assert rest == 0
    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = block * count + final.flush(zlib.Z_FINISH)
    name = b"archive/data.pkl"
    crc = 0  # never checked: nothing may inflate this far
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), inflated,
                        len(name), 0) + name
    central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body),
                          inflated, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(body), 0)
    path.write_bytes(local + body + central + end)
    return path


def nested_modules(path: Path, depth: int) -> Path:
    """A torch.save(model) zip whose modules nest `depth` deep (written opcode by opcode:
    Python's own pickler would recurse)."""
    def text(value: str) -> bytes:
        data = value.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    module = b"cmymodels\nBlock\n)\x81"  # GLOBAL, EMPTY_TUPLE, NEWOBJ
    opening = module + b"}(" + text("_parameters") + b"}" + text("_modules") + b"}(" + text("m")
    leaf = module + b"}(" + text("_parameters") + b"}ub"
    closing = b"uub"  # SETITEMS (children), SETITEMS (state), BUILD
    pickle_bytes = b"\x80\x02" + opening * depth + leaf + closing * depth + b"."
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
    return path


def deep_safetensors(path: Path, depth: int) -> Path:
    header = ('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": '
              '{"x": ' + "[" * depth + "]" * depth + "}}").encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    return path


def read_capped(path: Path) -> tuple[str, int]:
    """read_checkpoint(path) in a subprocess limited to MEMORY_CAP of address space: its
    error and its peak RSS in MiB."""
    code = ("import sys\n"
            "from freezelint.models.checkpoint import CheckpointError, read_checkpoint\n"
            "try:\n"
            "    read_checkpoint(sys.argv[1]); print('read')\n"
            "except CheckpointError as error:\n"
            "    print(error)\n"
            # the peak of this program's own memory (ru_maxrss would count the forked
            # test process's pages too: it survives exec)
            "print(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status')\n"
            "           if line.startswith('VmHWM:')))\n")

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, timeout=120, preexec_fn=cap)
    assert result.returncode == 0, result.stderr[-2000:]
    message, rss = result.stdout.strip().rsplit("\n", 1)
    return message, int(rss)


def test_a_zip_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "weights.pth")
    assert bomb.stat().st_size < 5 * 2**20  # 4 MB on disk, 4 GB inflated
    message, rss = read_capped(bomb)
    assert message == (f"{bomb} is not a checkpoint freezelint reads: its archive/data.pkl "
                       f"would inflate past {MAX_PICKLE_BYTES // 2**20} MiB (a real one is a "
                       "few hundred KB)")
    assert rss < 200


def test_a_directive_naming_a_zip_bomb_reads_it_bounded_and_says_so(tmp_path: Path) -> None:
    zip_bomb(tmp_path / "weights.pth")
    (tmp_path / "train.py").write_text(
        "# freezelint: model=weights.pth\n"
        "for name, p in model.named_parameters():\n"
        "    if name != 'fc.weight':\n        p.requires_grad = False\n", encoding="utf-8")
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "train.py")
    assert "train.py: warning: `# freezelint: model=weights.pth` cannot be used" in result.stderr
    assert "would inflate past" in result.stderr and "All checks passed" not in result.stderr


def test_modules_pickled_deeper_than_the_bound_are_a_clear_error(tmp_path: Path) -> None:
    deep = nested_modules(tmp_path / "deep.pth", 100_000)
    message, rss = read_capped(deep)
    assert message == (f"{deep}: pickled modules nested more than {MAX_MODULE_DEPTH} levels "
                       "deep: not a model freezelint reads")
    assert rss < 400


def test_modules_within_the_bound_are_read(tmp_path: Path) -> None:
    """The walk is iterative now: a real depth still reads (no tensors here, so the reader
    says so rather than failing on depth)."""
    message, _ = read_capped(nested_modules(tmp_path / "ok.pth", MAX_MODULE_DEPTH))
    assert "holds no state dict" in message


def test_a_deeply_nested_safetensors_header_is_a_clear_error(tmp_path: Path) -> None:
    path = deep_safetensors(tmp_path / "deep.safetensors", 100_000)
    message, rss = read_capped(path)
    assert message == f"{path} has a corrupt safetensors header: JSON nested too deeply"
    assert rss < 200
    ok = deep_safetensors(tmp_path / "ok.safetensors", 3)
    assert read_capped(ok)[0] == "read"


def test_a_checkpoint_that_is_a_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "weights.pth")
    result = invoke("check", "--no-cache", "--checkpoint", str(tmp_path / "weights.pth"),
                    str(tmp_path))
    assert result.exit_code == 2
    assert "is not a regular file: not read" in result.stderr


def test_a_deeply_nested_notebook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    result = invoke("check", "--no-cache", str(path))
    assert result.exit_code == 2
    assert f"{path}: error: not a Jupyter notebook: JSON nested too deeply" in result.stderr


@pytest.mark.parametrize("directive", ["model=nosuchmodel", "model=missing.pth"])
def test_an_unresolvable_directive_is_said_on_every_run(tmp_path: Path, directive: str) -> None:
    (tmp_path / "train.py").write_text(
        f"# freezelint: {directive}\n"
        "for name, p in model.named_parameters():\n"
        "    if name != 'fc.weight':\n        p.requires_grad = False\n", encoding="utf-8")
    spec = directive.partition("=")[2]
    with chdir(tmp_path):
        for _ in range(2):  # the second run must not be served silently from the cache
            result = invoke("check", "train.py")
            assert f"train.py: warning: `# freezelint: model={spec}` cannot be used" \
                in result.stderr, result.stderr
            assert "All checks passed" not in result.stderr


def test_json_bounds_apply_to_notebooks_too() -> None:
    """The notebook reader keeps its own depth guard (json.loads in C raises
    RecursionError): one more shape, a list of a million cells, reads in bounded time."""
    from freezelint.inputs.notebook import read_notebook

    data = json.dumps({"cells": [{"cell_type": "markdown", "source": ""}] * 100_000,
                       "nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode()
    assert read_notebook(data).sources == ()
