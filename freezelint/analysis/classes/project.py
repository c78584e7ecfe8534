"""Where the project's own modules are: `from models import Net`, `from .layers import Block`,
`import mypkg.nets as nets`, resolved to files without importing anything.

Roots, in order: the configured source roots (`source-roots` in freezelint.toml or
pyproject.toml's [tool.freezelint]), the project root (the nearest folder above
the linted file holding pyproject.toml, setup.py, setup.cfg or .git), its `src/`, and the
linted file's own folder (a script run as `python train.py` imports its neighbours).
Parsed files are cached by content, so an edited model file is read again and an unchanged
one is not parsed twice.

One lint reads at most `MAX_PROJECT_FILES` files and `MAX_PROJECT_BYTES` of source through
imports: a project that vendors a library (a copy of transformers under `src/`) would
otherwise have every linted file parse that library's import closure (measured on
microsoft/LoRA: 76% of the lint time in parsing, ~1 s CPU per file). What lies beyond is
unknown, as a file that does not parse is: its names fall into holes, never guessed.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from freezelint.analysis.classes.module_index import ModuleIndex
from freezelint.inputs.nesting import check_nesting
from freezelint.inputs.source import MAX_SOURCE_BYTES, SourceError, decode_source, read_file

_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
_PARSED: dict[str, cst.Module] = {}
_INDEXED: dict[str, ModuleIndex | None] = {}
_CONFIGS: dict[tuple[Path, int, int], dict[str, object] | None] = {}
_MAX_CACHED = 256
MAX_PROJECT_FILES = 48
MAX_PROJECT_BYTES = 600_000


def project_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return start


@dataclass
class Project:
    """The files a static read may look into, and the ones it did (for caches)."""

    file: Path | None
    source_roots: tuple[Path, ...] = ()
    read: dict[Path, str] = field(default_factory=dict)  # file -> content hash
    read_bytes: int = 0
    # Told of each file when first read: reads happen lazily, whenever a name is first used,
    # and a lint's result depends on every file it read (its cache entry, the LSP's reload).
    on_read: Callable[[Path], None] | None = field(default=None, repr=False)
    _roots: list[Path] | None = field(default=None, repr=False)
    _found: dict[tuple[str, Path | None], Path | None] = field(default_factory=dict, repr=False)
    # each file's index, once per read: a lint asks for it at every name it looks up (a
    # file read and hashed again each time was a tenth of transformers' Trainer's lint)
    _indexes: dict[Path, ModuleIndex | None] = field(default_factory=dict, repr=False)

    def roots(self) -> list[Path]:
        if self._roots is not None:
            return self._roots
        roots = list(self.source_roots)
        if self.file is not None:
            # (absolute: `train.py` named from its own folder has no parents to walk up to
            # the project's root, and its models were not found; `scripts/train.py` had)
            folder = self.file.parent.absolute()
            roots.extend(configured_roots(folder))
            root = project_root(folder)
            roots.extend([root, root / "src", folder])
        unique: list[Path] = []
        for root in roots:
            if root not in unique:
                unique.append(root)
        self._roots = unique
        return unique

    def module_file(self, dotted: str, importer: Path | None) -> Path | None:
        """The file of module `dotted` ('.layers' relative to `importer`), or None when it
        is not part of the project (a library, or nowhere). Looked up once per read."""
        key = (dotted, importer if dotted.startswith(".") else None)
        if key not in self._found:
            self._found[key] = self._module_file(dotted, importer)
        return self._found[key]

    def package_dir(self, dotted: str, importer: Path | None) -> Path | None:
        """The folder of package `dotted` when it is the project's: a regular package (its
        `__init__.py`) or a namespace package (a folder of modules, no `__init__.py`)."""
        found = self.module_file(dotted, importer)
        if found is not None:
            return found.parent if found.name == "__init__.py" else None
        if dotted.startswith(".") or not dotted:
            return None
        parts = dotted.split(".")
        for root in self.roots():
            folder = root.joinpath(*parts)
            if folder.is_dir() and any(folder.glob("*.py")):
                return folder
        return None

    def submodule(self, folder: Path, name: str) -> tuple[Path | None, Path | None]:
        """Module `name` of the package in `folder`: its file and, for a package, its
        folder (both None when there is no such module)."""
        found = _find(folder, [name])
        sub = folder / name
        package = sub if (found is not None and found.name == "__init__.py") or (
            found is None and sub.is_dir() and any(sub.glob("*.py"))) else None
        return found, package

    def _module_file(self, dotted: str, importer: Path | None) -> Path | None:
        if dotted.startswith("."):
            if importer is None:
                return None
            level = len(dotted) - len(dotted.lstrip("."))
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            rest = dotted[level:]
            return _find(base, rest.split(".") if rest else [])
        parts = dotted.split(".")
        for root in self.roots():
            found = _find(root, parts)
            if found is not None:
                return found
        return None

    def parse(self, path: Path) -> cst.Module | None:
        """The whole module in `path` (a class read on its own: `params --model FILE:CLASS`),
        None when it cannot be read or parsed, or the read bound is spent."""
        read = self._read(path)
        if read is None:
            return None
        data, digest = read
        module = _PARSED.pop(digest, None)
        if module is not None:
            _PARSED[digest] = module  # most recently used last
        else:
            try:
                _checked_text(data)
                module = cst.parse_module(data)
            except (cst.ParserSyntaxError, UnicodeDecodeError, ValueError, SourceError):
                return None
            while len(_PARSED) >= _MAX_CACHED:
                del _PARSED[next(iter(_PARSED))]  # the least recently used
            _PARSED[digest] = module
        return module

    def index(self, path: Path) -> ModuleIndex | None:
        """The module in `path` as top-level statements parsed when used (module_index.py),
        None when it cannot be read or parsed, or the read bound is spent."""
        if path in self._indexes:
            return self._indexes[path]
        read = self._read(path)
        if read is None:
            return None
        data, digest = read
        if digest in _INDEXED:
            index = _INDEXED.pop(digest)
        else:
            try:
                # (each statement's text is measured before libcst parses it: module_index)
                index = ModuleIndex.of(decode_source(data).text, digest)
            except (UnicodeDecodeError, ValueError, SourceError):
                index = None
            while len(_INDEXED) >= _MAX_CACHED:
                del _INDEXED[next(iter(_INDEXED))]  # the least recently used
        _INDEXED[digest] = index  # most recently used last
        self._indexes[path] = index
        return index

    def _read(self, path: Path) -> tuple[bytes, str] | None:
        """The bytes and their digest, counted against the read bound."""
        if path not in self.read and (len(self.read) >= MAX_PROJECT_FILES
                                      or self.read_bytes >= MAX_PROJECT_BYTES):
            return None  # the read bound is spent: unknown, as a file that does not parse
        try:
            data = read_file(path, MAX_SOURCE_BYTES)  # regular files only, bounded
        except SourceError:
            return None
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        first = path not in self.read
        if first:
            self.read_bytes += len(data)
        self.read[path] = digest
        if first and self.on_read is not None:
            self.on_read(path)
        return data, digest


def _checked_text(data: bytes) -> str:
    """The text of `data`. An imported module is as untrusted as the linted file: a native
    parser never gets a text it could crash on (inputs/nesting.py raises TooDeep)."""
    text = decode_source(data).text
    check_nesting(text)
    return text


def configured_roots(folder: Path) -> list[Path]:
    """`source-roots` of the configuration governing `folder`, relative to that file: the
    nearest freezelint.toml, or pyproject.toml with a [tool.freezelint] table, walking up
    (as the front ends find it; they validate it and report a bad one, this only reads the
    one key, and reads nothing from a file it cannot use)."""
    for directory in (folder, *folder.parents):
        for name in ("freezelint.toml", "pyproject.toml"):
            table = _config_table(directory / name)
            if table is None:
                continue
            roots = table.get("source-roots", [])
            if not isinstance(roots, list):
                return []
            return [(directory / r).resolve() for r in roots if isinstance(r, str)]
    return []


def _config_table(file: Path) -> dict[str, object] | None:
    """The freezelint settings in `file`, None when it holds none (cached by mtime)."""
    try:
        stat = file.stat()
    except OSError:
        return None
    key = (file, stat.st_mtime_ns, stat.st_size)
    if key in _CONFIGS:
        return _CONFIGS[key]
    try:
        raw = file.read_bytes()
    except OSError:
        raw = b""
    if file.name == "pyproject.toml" and b"freezelint" not in raw:
        data: dict[str, object] = {}  # no [tool.freezelint]: not parsed (tomllib, ~5 ms)
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            data = {}
    table: object = data
    if file.name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("freezelint") if isinstance(tool, dict) else None
    result = table if isinstance(table, dict) else None
    _CONFIGS[key] = result
    return result


def _find(base: Path, parts: list[str]) -> Path | None:
    if not parts:
        init = base / "__init__.py"
        return init if init.is_file() else None
    folder = base.joinpath(*parts[:-1])
    candidate = folder / f"{parts[-1]}.py"
    if candidate.is_file():
        return candidate
    package = folder / parts[-1] / "__init__.py"
    return package if package.is_file() else None
