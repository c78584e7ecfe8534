"""Project configuration: `[tool.freezelint]` in pyproject.toml, or a freezelint.toml.

Found the way Ruff finds its own: walking up from each checked file, the nearest directory
with a `freezelint.toml` (any content) or a `pyproject.toml` with a `[tool.freezelint]`
table wins, and freezelint.toml beats pyproject.toml in the same directory. Files are not
merged: the nearest one is the whole configuration. `--config PATH` names the file for every
checked file, `--isolated` ignores them all.

Paths in a configuration (model files, checkpoints, the cache directory, per-file globs) are
relative to the directory of the file they are written in, so that a project checks the same
from any working directory. An unknown key is an error naming the key and the file: a typo
must not silently lint against the wrong rules or the wrong model.

Reading a configuration never runs code. A model spec naming the user's own code
(`pkg.models:build`, `models.py:Net`) is built, which runs that code, only when the user
says so: `--trust-local-models` on the command line, `trust-local-models = true` in the
user's own configuration file (`~/.config/freezelint/config.toml`, see `user_config_path`),
or the editor's setting. A project's pyproject.toml or freezelint.toml is part of what is
being linted, possibly someone else's repository just cloned or opened in an editor: its
`trust-local-models` is read (and reported) but grants nothing, as editors' workspace trust
works.

Configuration files are read only when regular, up to MAX_CONFIG_BYTES, and a TOML value
nested too deeply for the parser is an error naming the file.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from freezelint.common.words import edit_distance

FREEZELINT_TOML = "freezelint.toml"
PYPROJECT_TOML = "pyproject.toml"
USER_CONFIG = "config.toml"
# Keys the user's own configuration file may hold.
USER_KEYS = ("trust-local-models",)
MAX_CONFIG_BYTES = 4 * 2**20

# Every key a configuration may hold, in the order the README lists them.
KEYS = (
    "select", "extend-select", "ignore", "per-file-ignores",
    "model", "model-args", "per-file-models", "checkpoint",
    "unsafe-fixes", "trust-local-models", "cache-dir", "jobs", "source-roots",
)


class ConfigError(Exception):
    """A configuration that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class ProjectConfig:
    """One configuration file, validated. Relative paths are kept as written and resolved
    against `directory` when used."""

    path: Path
    select: frozenset[str] | None = None
    extend_select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    # (glob, codes) in file order: every matching glob's codes are ignored.
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    model: str | None = None
    model_args: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # Folders (relative to the configuration's) where the project's own modules are found,
    # besides the project root, its src/ and the linted file's folder (analysis/classes).
    source_roots: tuple[str, ...] = ()
    # (glob, model spec) in file order: the first matching glob gives the file's model.
    per_file_models: tuple[tuple[str, str], ...] = ()
    checkpoint: str | None = None
    unsafe_fixes: bool | None = None
    trust_local_models: bool = False
    cache_dir: str | None = None
    jobs: int | None = None

    @property
    def directory(self) -> Path:
        return self.path.parent

    def ignores_for(self, file: Path) -> frozenset[str]:
        """The codes per-file-ignores adds for `file`."""
        codes: set[str] = set()
        for pattern, listed in self.per_file_ignores:
            if matches(pattern, file, self.directory):
                codes |= listed
        return frozenset(codes)

    def model_for(self, file: Path | None) -> tuple[str, dict[str, Any]] | None:
        """The model spec and constructor arguments for `file` (None: stdin, whose name is
        unknown): the first per-file-models glob that matches, else `model` (with
        `model-args`), else None (auto-detect)."""
        for pattern, spec in self.per_file_models:
            if file is not None and matches(pattern, file, self.directory):
                return spec, {}
        if self.model is not None:
            return self.model, dict(self.model_args)
        return None

    def resolve_path(self, value: str) -> Path:
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else self.directory / path


def matches(pattern: str, file: Path, base: Path) -> bool:
    """fnmatch on the posix path of `file` relative to `base` (`*` also crosses `/`, so
    `vision/*` and `vision/**` both take the whole tree). A pattern without a `/` also
    matches the file name alone, so `test_*.py` applies in every directory."""
    relative = PurePosixPath(Path(os.path.relpath(os.path.abspath(file), os.path.abspath(base)))
                             .as_posix())
    pattern = pattern.removeprefix("./")
    if fnmatch.fnmatchcase(str(relative), pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(relative.name, pattern)


# -- finding ------------------------------------------------------------------------------


def find_config(path: Path) -> Path | None:
    """The configuration file governing `path` (a file or a directory): the nearest one
    walking up, freezelint.toml before pyproject.toml in each directory."""
    for candidate in candidates(path):
        if candidate.is_file() and (candidate.name == FREEZELINT_TOML
                                    or _has_freezelint_table(candidate)):
            return candidate
    return None


def candidates(path: Path) -> Iterator[Path]:
    """The files that may configure `path`, nearest first: in each directory from the
    path's own upwards, its freezelint.toml, then its pyproject.toml."""
    start = Path(os.path.abspath(path))
    if not start.is_dir():
        start = start.parent
    for directory in (start, *start.parents):
        yield directory / FREEZELINT_TOML
        yield directory / PYPROJECT_TOML


class WatchedConfigs:
    """The configuration governing a path, for the language server, which asks on every
    keystroke: files are found as `find_config` finds them, but each is read again only
    when its modification time or size changed, so that a lint costs a few stat calls and
    an edit to the configuration applies at the next keystroke."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: dict[Path, tuple[tuple[int, int], ProjectConfig | ConfigError | None]] = {}

    def for_path(self, path: Path) -> ProjectConfig | None:
        """Raises ConfigError for a configuration that cannot be used."""
        for candidate in candidates(path):
            try:
                stat = candidate.stat()
            except OSError:
                continue
            stamp = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                known = self._read.get(candidate)
            if known is None or known[0] != stamp:
                known = (stamp, _read_candidate(candidate))
                with self._lock:
                    self._read[candidate] = known
            found = known[1]
            if isinstance(found, ConfigError):
                raise found
            if found is not None:
                return found
        return None


def _read_candidate(candidate: Path) -> ProjectConfig | ConfigError | None:
    try:
        if candidate.name == PYPROJECT_TOML and not _has_freezelint_table(candidate):
            return None
        return load_config(candidate)
    except ConfigError as error:
        return error


def _has_freezelint_table(pyproject: Path) -> bool:
    """A pyproject.toml counts only with a [tool.freezelint] table. Files that never
    mention freezelint are not parsed: a broken pyproject of another project higher up
    must not stop the run."""
    from freezelint.inputs.source import SourceError, read_file

    try:
        data = read_file(pyproject, MAX_CONFIG_BYTES)
    except SourceError as error:
        if "no such file" in str(error):
            return False
        # Whether it holds [tool.freezelint] cannot be told: say so rather than lint
        # without a configuration that may be there.
        raise ConfigError(f"{pyproject}: cannot read: {error}") from None
    if b"freezelint" not in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{pyproject}: cannot read [tool.freezelint]: not valid UTF-8 "
                          f"(byte at offset {error.start})") from None
    return _table(pyproject, _parse(pyproject, text)) is not None


def load_config(file: Path) -> ProjectConfig:
    """Read and validate one configuration file: a pyproject.toml's [tool.freezelint]
    table, or every top-level key of any other file (freezelint.toml)."""
    file = Path(os.path.abspath(file))
    table = _table(file, _parse(file, _read_text(file)))
    return _validate(file, table or {})


def _read_text(file: Path) -> str:
    from freezelint.inputs.source import SourceError, read_file

    try:
        return read_file(file, MAX_CONFIG_BYTES).decode("utf-8")
    except SourceError as error:
        raise ConfigError(f"{file}: cannot read: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{file}: cannot read: not valid UTF-8 (byte at offset "
                          f"{error.start})") from None


def user_config_path() -> Path:
    """The user's own configuration file (XDG): the one place besides the command line
    and the editor's settings that can trust local models."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "freezelint" / USER_CONFIG


def user_trusts_local_models() -> bool:
    """`trust-local-models` from the user's own configuration file; False without one."""
    file = user_config_path()
    if not file.exists():
        return False
    data = _parse(file, _read_text(file))
    unknown = sorted(set(data) - set(USER_KEYS))
    if unknown:
        raise ConfigError(f"{file}: unknown key {unknown[0]!r} (this file holds only "
                          f"{', '.join(USER_KEYS)}; project settings go in pyproject.toml "
                          "or freezelint.toml)")
    value = data.get("trust-local-models", False)
    if not isinstance(value, bool):
        raise ConfigError(f"{file}: 'trust-local-models' must be true or false")
    return value


def _parse(file: Path, text: str) -> dict[str, Any]:
    # Imported here: most runs find no configuration file and never parse TOML.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: invalid TOML: {error}") from None
    except RecursionError:  # `x = [[[[...` thousands deep: tomllib recurses per level
        raise ConfigError(f"{file}: invalid TOML: a value nested too deeply") from None


def _table(file: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    if file.name != PYPROJECT_TOML:
        return data
    tool = data.get("tool")
    table = tool.get("freezelint") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{file}: [tool.freezelint] must be a table")
    return table


class ConfigFinder:
    """The configuration of each checked file, each file read once per run.

    `explicit` (--config) applies to every file; `isolated` (--isolated) to none."""

    def __init__(self, explicit: Path | None = None, isolated: bool = False) -> None:
        self.explicit = explicit
        self.isolated = isolated
        self._loaded: dict[Path, ProjectConfig] = {}
        self._found: dict[Path, Path | None] = {}

    def for_path(self, path: Path) -> ProjectConfig | None:
        if self.isolated:
            return None
        if self.explicit is not None:
            return self._load(self.explicit)
        start = Path(os.path.abspath(path))
        directory = start if start.is_dir() else start.parent
        if directory not in self._found:
            self._found[directory] = find_config(directory)
        found = self._found[directory]
        return self._load(found) if found is not None else None

    def _load(self, file: Path) -> ProjectConfig:
        key = Path(os.path.abspath(file))
        if key not in self._loaded:
            self._loaded[key] = load_config(key)
        return self._loaded[key]


# -- validation ---------------------------------------------------------------------------


def _validate(file: Path, table: Mapping[str, Any]) -> ProjectConfig:
    where = f"{file}" + (" [tool.freezelint]" if file.name == PYPROJECT_TOML else "")
    for key in table:
        if key not in KEYS:
            from difflib import get_close_matches

            close = get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")

    def fail(key: str, expected: str, value: Any = None) -> ConfigError:
        value = table[key] if value is None else value
        return ConfigError(f"{where}: '{key}' must be {expected}, "
                           f"got {type(value).__name__} {value!r}")

    def codes(key: str, value: Any) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise fail(key, "a list of rule codes", value)
        try:
            return validate_codes(value)
        except ValueError as error:
            raise ConfigError(f"{where}: {error} in '{key}'") from None

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "a non-empty string")
        return value.strip()

    def flag(key: str) -> bool | None:
        value = table.get(key)
        if value is not None and not isinstance(value, bool):
            raise fail(key, "true or false")
        return value

    def globs(key: str) -> dict[str, Any]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise fail(key, 'a table of "glob" = value')
        return value

    per_file_ignores = []
    for pattern, listed in globs("per-file-ignores").items():
        per_file_ignores.append((pattern, codes(f'per-file-ignores."{pattern}"', listed)))
    per_file_models = []
    for pattern, spec in globs("per-file-models").items():
        if not isinstance(spec, str) or not spec.strip():
            raise fail(f'per-file-models."{pattern}"', "a model spec string", spec)
        per_file_models.append((pattern, spec.strip()))
    model_args = table.get("model-args", {})
    if not isinstance(model_args, dict):
        raise fail("model-args", "a table of constructor arguments")
    if model_args and "model" not in table:
        raise ConfigError(f"{where}: 'model-args' needs 'model'")
    source_roots = table.get("source-roots", [])
    if not isinstance(source_roots, list) or not all(isinstance(r, str) for r in source_roots):
        raise fail("source-roots", "a list of folder paths", source_roots)
    jobs = table.get("jobs")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise fail("jobs", "a positive integer")

    select = codes("select", table["select"]) if "select" in table else None
    if select is not None and "ALL" in select:
        select = None
    return ProjectConfig(
        path=file,
        source_roots=tuple(source_roots),
        select=select,
        extend_select=codes("extend-select", table["extend-select"])
        if "extend-select" in table else frozenset(),
        ignore=codes("ignore", table["ignore"]) if "ignore" in table else frozenset(),
        per_file_ignores=tuple(per_file_ignores),
        model=text("model"),
        model_args=dict(model_args),
        per_file_models=tuple(per_file_models),
        checkpoint=text("checkpoint"),
        unsafe_fixes=flag("unsafe-fixes"),
        trust_local_models=bool(flag("trust-local-models")),
        cache_dir=text("cache-dir"),
        jobs=jobs,
    )


# -- rule codes ---------------------------------------------------------------------------


def known_codes() -> list[str]:
    """Every rule code: the documented ones, the registered ones and the engine's own."""
    from freezelint.checks import REGISTRY
    from freezelint.common.rule_docs import all_rule_docs
    from freezelint.engine.lint import ENGINE_RULES

    return sorted({*ENGINE_RULES, *REGISTRY, *all_rule_docs()})


def validate_codes(values: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Upper-cased codes or prefixes; ValueError names one that is neither, since a typo
    would otherwise silently select nothing (or ignore nothing)."""
    codes = frozenset(c.strip().upper() for c in values if c.strip())
    known = known_codes()
    for code in sorted(codes):
        if code == "ALL" or any(k.startswith(code) for k in known):
            continue
        close = closest(code, known)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown rule code {code!r}{hint}")
    return codes


def closest(code: str, known: list[str], limit: int = 3) -> list[str]:
    """Known codes within two edits of `code`, nearest first. Edit distance rather than
    difflib's ratio, which ranks FZL112 above FZL101 for the typo FZL1O1."""
    ranked = sorted((edit_distance(code, k), k) for k in known)
    return [k for d, k in ranked if d <= 2][:limit]
