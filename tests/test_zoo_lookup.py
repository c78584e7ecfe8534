"""The zoo lookup (models/zoo_lookup.py): one id read from one part of a file derived from
the index, with the index's answers, and a damaged or foreign file never trusted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from freezelint.models import zoo
from freezelint.models.zoo_lookup import Lookup, bucket

SPELLINGS = ["ast", "resnet50", "torchvision/resnet50", "timm/convnext_tiny",
             "transformers/BertModel", "bert-base-uncased", "roberta-base", "no-such-model"]


def _answers(lookup: Lookup) -> dict[str, Any]:
    return {name: (lookup.part(bucket(name))["names"].get(name),
                   lookup.part(bucket(name))["rows"].get(name),
                   lookup.part(bucket(name))["hf"].get(name)) for name in SPELLINGS}


def _from_index() -> dict[str, Any]:
    """What the index itself says, read whole."""
    index, hf = zoo._index(), zoo._hf()
    rows = {}
    for model_id, (shard, library, parameters, head, extra) in index["models"].items():
        rows[model_id] = [index["shards"][shard], index["libraries"][library], parameters,
                          head, extra]
    return {name: (zoo._names().get(name), rows.get(name), hf["hf"].get(name))
            for name in SPELLINGS}


def _lookup(directory: Path, calls: list[int]) -> Lookup:
    def build() -> dict[str, Any]:
        calls.append(1)
        return zoo._lookup_parts()

    return Lookup([zoo.ZOO_DIR / zoo.INDEX_FILE, zoo.ZOO_DIR / zoo.HF_FILE], build, directory)


def test_answers_are_the_index_s_and_a_second_process_reads_one_part(tmp_path: Path) -> None:
    calls: list[int] = []
    first = _lookup(tmp_path, calls)
    assert _answers(first) == _from_index()
    assert calls == [1]  # derived once, and written
    again: list[int] = []
    second = _lookup(tmp_path, again)
    assert _answers(second) == _from_index()
    assert again == []  # read from the file, not derived again
    assert second.part("library:timm") == sorted(zoo._index_library_names("timm"))
    assert second.part("library:no-such-library") is None and again == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign", "garbage"])
def test_a_damaged_or_foreign_file_is_derived_again(tmp_path: Path, damage: str) -> None:
    _answers(_lookup(tmp_path, []))
    (path,) = tmp_path.glob("lookup-*.bin")
    data = bytearray(path.read_bytes())
    if damage == "flip":  # a bit of a row: the part's checksum no longer matches
        at = data.index(b'"resnet50"') + 3
        data[at] ^= 0x01
    elif damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "foreign":  # a file written for another index, under this one's name
        header_end = data.index(b"\n", data.index(b"\n") + 1)
        header = json.loads(data[data.index(b"\n") + 1:header_end])
        header["key"] = "00000000-1"
        data = (data[:data.index(b"\n") + 1] + json.dumps(header).encode()
                + data[header_end:])
    else:
        data = bytearray(b"not a lookup file\n{}\n")
    path.write_bytes(bytes(data))
    calls: list[int] = []
    assert _answers(_lookup(tmp_path, calls)) == _from_index()
    assert calls == [1]
    assert _answers(_lookup(tmp_path, [])) == _from_index()  # and it was rewritten


def test_an_unwritable_cache_still_answers(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    calls: list[int] = []
    assert _answers(_lookup(blocked / "zoo", calls)) == _from_index()
    assert calls == [1]


def test_resolving_one_id_does_not_read_the_index(tmp_path: Path) -> None:
    code = ("from freezelint.models import zoo\n"
            "zoo.load_zoo('ast'); zoo.library_names('timm'); zoo.resolve_zoo_id('roberta-base')\n"
            "print(zoo._index.cache_info().currsize, zoo._hf.cache_info().currsize)\n")
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["1", "1"]  # the first run derives the lookup from the indexes
    assert runs[1] == ["0", "0"]
