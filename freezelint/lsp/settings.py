"""What a lint run in the editor is configured with, and which model it lints against.

Two sources, merged per document:
- editor settings: `initializationOptions`, `workspace/didChangeConfiguration` and
  `workspace/configuration` (section "freezelint": model, modelArgs, select, ignore,
  trustLocalModels, debounce);
- the project: `[tool.freezelint]` in the closest `pyproject.toml` above the document
  (model, model-args, select, ignore, trust-local-models).
The project wins for every key it sets, since the model is a fact about the project while
editor settings are often user-wide. Without a configured model, `lint` takes it from a
`# freezelint: model=...` directive or detects a constructor in the code.

A model that is the user's own code (`pkg.mod:make_model`, `models.py:Net`) is built, which
runs that code, only when trust is given (either source); otherwise the document gets one
information-level diagnostic saying how to give it. Directives never run code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freezelint.diagnostics import Severity
from freezelint.lint import LintConfig
from freezelint.models.manifest import Manifest
from freezelint.models.resolve import ModelSpecError, resolve_model
from freezelint.models.specs import is_user_model_spec

try:
    import tomllib
except ImportError:  # Python 3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ImportError:
        tomllib = None  # type: ignore[assignment]

DEFAULT_DEBOUNCE_MS = 150


@dataclass(frozen=True)
class Settings:
    """Editor-side settings; every field has a default so that a client sending nothing
    still gets a working server."""

    model: str | None = None
    model_args: Mapping[str, Any] = field(default_factory=dict)
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    trust_local_models: bool = False
    debounce_ms: int = DEFAULT_DEBOUNCE_MS

    def updated(self, raw: Mapping[str, Any] | None) -> Settings:
        """These settings with the keys present in `raw` replaced (camelCase, snake_case
        and kebab-case keys are all accepted; unknown keys are ignored)."""
        if not raw:
            return self
        values = {_snake(key): value for key, value in raw.items()}
        changes: dict[str, Any] = {}
        if "model" in values:
            changes["model"] = _spec(values["model"])
        if isinstance(values.get("model_args"), Mapping):
            changes["model_args"] = dict(values["model_args"])
        if "select" in values:
            changes["select"] = _codes(values["select"])
        if "ignore" in values:
            changes["ignore"] = _codes(values["ignore"]) or frozenset()
        if "trust_local_models" in values:
            changes["trust_local_models"] = bool(values["trust_local_models"])
        if isinstance(values.get("debounce"), (int, float)) and values["debounce"] >= 0:
            changes["debounce_ms"] = int(values["debounce"])
        return Settings(**{**self.__dict__, **changes})


def settings_section(payload: Any) -> Mapping[str, Any] | None:
    """The freezelint settings inside what a client sends: `{"freezelint": {...}}`, the
    VS Code template's `{"globalSettings": {...}}`, `{"settings": {...}}`, or flat."""
    if not isinstance(payload, Mapping):
        return None
    for key in ("freezelint", "globalSettings", "settings"):
        if isinstance(payload.get(key), Mapping):
            return settings_section(payload[key]) or payload[key]
    return payload


@dataclass(frozen=True)
class ProjectConfig:
    """`[tool.freezelint]` of one pyproject.toml."""

    path: Path
    model: str | None = None
    model_args: Mapping[str, Any] = field(default_factory=dict)
    select: frozenset[str] | None = None
    ignore: frozenset[str] | None = None
    trust_local_models: bool = False


_PROJECT_CACHE: dict[Path, tuple[tuple[int, int], ProjectConfig | None]] = {}
_PROJECT_LOCK = threading.Lock()


def find_project(start: Path | None) -> ProjectConfig | None:
    """The `[tool.freezelint]` table of the closest pyproject.toml that has one, walking up
    from `start` (as Ruff does). Parsed files are cached by modification time, so that a
    lint per keystroke costs a few stat calls."""
    if start is None or tomllib is None:
        return None
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        try:
            stat = candidate.stat()
        except OSError:
            continue
        key = (stat.st_mtime_ns, stat.st_size)
        with _PROJECT_LOCK:
            cached = _PROJECT_CACHE.get(candidate)
        if cached is None or cached[0] != key:
            cached = (key, _read_project(candidate))
            with _PROJECT_LOCK:
                _PROJECT_CACHE[candidate] = cached
        if cached[1] is not None:
            return cached[1]
    return None


def _read_project(path: Path) -> ProjectConfig | None:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return None
    table = data.get("tool", {}).get("freezelint")
    if not isinstance(table, Mapping):
        return None
    values = {_snake(key): value for key, value in table.items()}
    args = values.get("model_args")
    return ProjectConfig(
        path=path,
        model=_spec(values.get("model")),
        model_args=dict(args) if isinstance(args, Mapping) else {},
        select=_codes(values["select"]) if "select" in values else None,
        ignore=_codes(values["ignore"]) if "ignore" in values else None,
        trust_local_models=bool(values.get("trust_local_models", False)),
    )


@dataclass(frozen=True)
class Notice:
    """Something about the configuration the user should see in the document."""

    message: str
    severity: Severity


class ModelCache:
    """Resolved manifests per (spec, arguments, base directory, trust): a lint per
    keystroke must not re-read a checkpoint or rebuild a user model. Failures are cached
    too. Thread-safe, since lints run in worker threads; cleared when settings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str, bool], Manifest | ModelSpecError] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def resolve(self, spec: str, kwargs: Mapping[str, Any], base: Path, trusted: bool) -> Manifest:
        key = (spec, json.dumps(kwargs, sort_keys=True, default=str), str(base), trusted)
        with self._lock:  # one build at a time: a user model takes seconds, twice is waste
            if key not in self._entries:
                try:
                    self._entries[key] = resolve_model(spec, dict(kwargs), base_dir=base,
                                                       allow_user_code=trusted)
                except ModelSpecError as error:
                    self._entries[key] = error
            found = self._entries[key]
        if isinstance(found, ModelSpecError):
            raise found
        return found


def lint_setup(settings: Settings, document_dir: Path | None, root: Path | None,
               models: ModelCache) -> tuple[LintConfig, list[Notice]]:
    """The LintConfig for one document, and the notices to show in it."""
    project = find_project(document_dir or root)
    spec, kwargs, base, origin = settings.model, settings.model_args, root, "the editor settings"
    if project is not None and project.model:
        spec, kwargs, base = project.model, project.model_args, project.path.parent
        origin = str(project.path)
    trusted = settings.trust_local_models or bool(project and project.trust_local_models)
    base = base or document_dir or Path.cwd()
    notices: list[Notice] = []
    manifest = None
    if spec:
        try:
            manifest = models.resolve(spec, kwargs, base, trusted)
        except ModelSpecError as error:
            notices.append(_model_notice(spec, origin, str(error), trusted))
    select = project.select if project and project.select is not None else settings.select
    ignore = project.ignore if project and project.ignore is not None else settings.ignore
    if select is not None and "ALL" in select:
        select = None
    directive_base = document_dir or base
    config = LintConfig(model=manifest, select=select, ignore=ignore or frozenset(),
                        resolve_spec=_directive_resolver(models, directive_base))
    return config, notices


def _directive_resolver(models: ModelCache, base: Path) -> Callable[[str], Manifest]:
    """`# freezelint: model=...` directives: relative to the document, never user code."""
    return lambda spec: models.resolve(spec, {}, base, False)


def _model_notice(spec: str, origin: str, error: str, trusted: bool) -> Notice:
    if not trusted and is_user_model_spec(spec.partition("(")[0].strip()):
        return Notice(
            f"The model {spec!r} (from {origin}) is your own code, and building it runs that "
            "code, so the editor does not build it unless trusted: set "
            "`trust-local-models = true` under [tool.freezelint] in pyproject.toml, or the "
            "editor setting freezelint.trustLocalModels. Until then the model is taken from "
            "a directive or detected from the code.", Severity.INFO)
    return Notice(f"Cannot use the model {spec!r} (from {origin}): {error}", Severity.WARNING)


def _spec(value: Any) -> str | None:
    text = str(value).strip() if value else ""
    return text or None


def _snake(key: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
    return out.replace("-", "_").lstrip("_")


def _codes(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        return None
    return frozenset(str(item).strip().upper() for item in items if str(item).strip())
