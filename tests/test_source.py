"""read_source / discover: text exactly as Python would decode it, or a one-line error."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from freezelint.inputs.source import SourceError, decode_source, discover, read_source


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_utf8(tmp_path: Path) -> None:
    source = read_source(_write(tmp_path / "a.py", "name = 'café'\n".encode()))
    assert source.text == "name = 'café'\n"
    assert (source.encoding, source.newline, source.bom) == ("utf-8", "\n", False)


def test_bom_is_stripped_and_remembered(tmp_path: Path) -> None:
    source = read_source(_write(tmp_path / "a.py", codecs.BOM_UTF8 + b"x = 1\n"))
    assert source.text == "x = 1\n"
    assert source.bom
    assert source.encoding == "utf-8-sig"


def test_crlf_is_kept(tmp_path: Path) -> None:
    source = read_source(_write(tmp_path / "a.py", b"x = 1\r\ny = 2\r\n"))
    assert source.text == "x = 1\r\ny = 2\r\n"
    assert source.newline == "\r\n"


def test_newline_comes_from_the_first_line_ending() -> None:
    assert decode_source(b"x = 1\ny = 2\r\n").newline == "\n"
    assert decode_source(b"x = 1").newline == "\n"


def test_latin1_with_declaration(tmp_path: Path) -> None:
    data = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
    source = read_source(_write(tmp_path / "a.py", data))
    assert "café" in source.text
    assert source.encoding == "iso-8859-1"


def test_non_utf8_without_declaration(tmp_path: Path) -> None:
    data = "x = 1\nname = 'café'\n".encode("latin-1")
    with pytest.raises(SourceError) as caught:
        read_source(_write(tmp_path / "a.py", data))
    offset = data.index(b"\xe9")
    assert str(caught.value).startswith(f"not valid utf-8 text (byte 0xe9 at offset {offset})")


def test_non_utf8_on_the_first_line(tmp_path: Path) -> None:
    # tokenize.detect_encoding reports this as a bad declaration; we report the byte.
    with pytest.raises(SourceError, match=r"not valid utf-8 text \(byte 0xe9 at offset 5\)"):
        read_source(_write(tmp_path / "a.py", b"s = '\xe9'\n"))


def test_unknown_declared_encoding(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="bad encoding declaration: unknown encoding: nope"):
        read_source(_write(tmp_path / "a.py", b"# coding: nope\nx = 1\n"))


def test_binary(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="binary file, not Python source"):
        read_source(_write(tmp_path / "a.py", b"\x7fELF\x02\x01\x00\x00"))


def test_empty(tmp_path: Path) -> None:
    source = read_source(_write(tmp_path / "a.py", b""))
    assert source.text == ""
    assert source.newline == "\n"


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or directory"):
        read_source(tmp_path / "nope.py")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        read_source(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_permission_denied(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.py", b"x = 1\n")
    path.chmod(0)
    try:
        with pytest.raises(SourceError, match="permission denied"):
            read_source(path)
    finally:
        path.chmod(0o644)


def test_discover_walks_and_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["pkg/a.py", "pkg/sub/b.py", "pkg/notes.txt", "pkg/.hidden/c.py",
                 "pkg/__pycache__/d.py", "pkg/node_modules/e.py", "pkg/venv/f.py",
                 "pkg/.venv/g.py", "pkg/build/h.py", "pkg/dist/i.py",
                 "pkg/lib/site-packages/j.py", "pkg/.git/k.py", "top.py", "script.txt"]:
        _write(tmp_path / name, b"x = 1\n")
    monkeypatch.chdir(tmp_path)
    found = discover(["pkg", "top.py", "pkg/a.py", "script.txt", "./pkg/sub", "missing.py"])
    assert found == sorted([Path("missing.py"), Path("pkg/a.py"), Path("pkg/sub/b.py"),
                            Path("script.txt"), Path("top.py")])


def test_discover_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "b.py", b"")
    _write(tmp_path / "a" / "z.py", b"")
    monkeypatch.chdir(tmp_path)
    assert discover(["."]) == [Path("a/z.py"), Path("b.py")]


def test_a_tree_asked_for_once_does_not_replace_the_kept_one() -> None:
    from freezelint.inputs.source import has_python_tree, python_tree

    linted, indexed = "import os\nx = 1\n", "y = 2\n"
    tree = python_tree(linted)
    assert tree is not None and has_python_tree(linted)
    assert python_tree(indexed, keep=False) is not None
    assert has_python_tree(linted) and not has_python_tree(indexed)
    assert python_tree(linted) is tree  # the same tree, not parsed again
