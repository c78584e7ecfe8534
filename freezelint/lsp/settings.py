"""What a lint run in the editor is configured with, and which model it lints against.

Two sources, merged per document:
- editor settings: `initializationOptions`, `workspace/didChangeConfiguration` and
  `workspace/configuration` (section "freezelint": model, modelArgs, select, extendSelect,
  ignore, trustLocalModels, debounce);
- the project: the configuration file the CLI would use for the document
  (`freezelint.toml` or `[tool.freezelint]` in `pyproject.toml`, nearest above it; see
  freezelint/engine/config.py), with all its keys: model and per-file-models, model-args,
  checkpoint, select, extend-select, ignore and per-file-ignores (its trust-local-models
  grants nothing: opening a repository must not run its code).
The project wins for the model and select, since the model is a fact about the project
while editor settings are often user-wide; ignores of both apply. A configuration that
cannot be used (invalid TOML, an unknown key) is shown as a warning in the document, and
the editor settings apply meanwhile. Without a configured model, `lint` takes it from a
`# freezelint: model=...` directive or detects a constructor in the code.

A model that is the user's own code (`pkg.mod:make_model`, `models.py:Net`) is built, which
runs that code, only when the user trusts it (the editor setting trustLocalModels, or
`trust-local-models = true` in the user's own ~/.config/freezelint/config.toml); otherwise
the document gets one
information-level diagnostic saying how to give it. Directives never run code.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freezelint.common.diagnostics import Severity
from freezelint.engine import selection
from freezelint.engine.config import (
    ConfigError,
    ProjectConfig,
    WatchedConfigs,
    user_config_path,
    user_trusts_local_models,
)
from freezelint.engine.lint import LintConfig
from freezelint.engine.static_models import read_class
from freezelint.models.manifest import Manifest
from freezelint.models.resolve import ModelSpecError, resolve_model
from freezelint.models.specs import is_user_model_spec

DEFAULT_DEBOUNCE_MS = 150


@dataclass(frozen=True)
class EditorSettings:
    """Editor-side settings; every field has a default so that a client sending nothing
    still gets a working server."""

    model: str | None = None
    model_args: Mapping[str, Any] = field(default_factory=dict)
    select: frozenset[str] | None = None
    extend_select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    trust_local_models: bool = False
    debounce_ms: int = DEFAULT_DEBOUNCE_MS

    def updated(self, raw: Mapping[str, Any] | None) -> EditorSettings:
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
        if "extend_select" in values:
            changes["extend_select"] = _codes(values["extend_select"]) or frozenset()
        if "ignore" in values:
            changes["ignore"] = _codes(values["ignore"]) or frozenset()
        if "trust_local_models" in values:
            changes["trust_local_models"] = bool(values["trust_local_models"])
        if isinstance(values.get("debounce"), (int, float)) and values["debounce"] >= 0:
            changes["debounce_ms"] = int(values["debounce"])
        return EditorSettings(**{**self.__dict__, **changes})


def settings_section(payload: Any) -> Mapping[str, Any] | None:
    """The freezelint settings inside what a client sends: `{"freezelint": {...}}`, the
    VS Code template's `{"globalSettings": {...}}`, `{"settings": {...}}`, or flat."""
    if not isinstance(payload, Mapping):
        return None
    for key in ("freezelint", "globalSettings", "settings"):
        if isinstance(payload.get(key), Mapping):
            return settings_section(payload[key]) or payload[key]
    return payload


MODEL_NOTICE = "freezelint.model"
CONFIG_NOTICE = "freezelint.config"


@dataclass(frozen=True)
class Notice:
    """Something about the configuration the user should see in the document."""

    message: str
    severity: Severity
    code: str = MODEL_NOTICE


class ModelCache:
    """Resolved manifests per (spec, arguments, base directory, trust): a lint per
    keystroke must not re-read a checkpoint or rebuild a user model. Failures are cached
    too. Thread-safe, since lints run in worker threads; cleared when settings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str, bool], Manifest | ModelSpecError] = {}
        self._checkpoints: dict[tuple[Path, int, int], Manifest | ModelSpecError] = {}
        self.configs = WatchedConfigs()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._checkpoints.clear()

    def checkpoint(self, path: Path) -> Manifest:
        """A configured checkpoint's keys, read again when the file changed."""
        from freezelint.models.checkpoint import CheckpointError, read_checkpoint

        try:
            stat = path.stat()
        except OSError as error:
            raise ModelSpecError(f"checkpoint {path}: {error.strerror or error}") from None
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key not in self._checkpoints:
                try:
                    self._checkpoints[key] = read_checkpoint(path)
                except CheckpointError as error:
                    self._checkpoints[key] = ModelSpecError(f"checkpoint {path}: {error}")
            found = self._checkpoints[key]
        if isinstance(found, ModelSpecError):
            raise found
        return found

    def resolve(self, spec: str, kwargs: Mapping[str, Any], base: Path, trusted: bool) -> Manifest:
        key = (spec, json.dumps(kwargs, sort_keys=True, default=str), str(base), trusted)
        with self._lock:  # one build at a time: a user model takes seconds, twice is waste
            if key not in self._entries:
                try:
                    self._entries[key] = resolve_model(spec, dict(kwargs), base_dir=base,
                                                       allow_user_code=trusted,
                                                       read_class=read_class)
                except ModelSpecError as error:
                    self._entries[key] = error
            found = self._entries[key]
        if isinstance(found, ModelSpecError):
            raise found
        return found


def lint_setup(settings: EditorSettings, document: Path | None, root: Path | None,
               models: ModelCache) -> tuple[LintConfig, list[Notice]]:
    """The LintConfig for one document (`document`: its file, None when it has none), and
    the notices to show in it."""
    notices: list[Notice] = []
    settings = _known_codes_only(settings, notices)
    project = _project(document or root, models, notices)
    document_dir = document.parent if document else None
    spec, kwargs, base, origin = settings.model, settings.model_args, root, "the editor settings"
    chosen = project.model_for(document) if project is not None else None
    if project is not None and chosen is not None:
        (spec, kwargs), base, origin = chosen, project.directory, str(project.path)
    # Trust is the user's: the editor setting or their own configuration file, never the
    # project's own file (opening a repository must not run its code).
    trusted = settings.trust_local_models or _user_trust(notices)
    base = base or document_dir or Path.cwd()
    manifest = None
    if spec:
        try:
            manifest = models.resolve(spec, kwargs, base, trusted)
        except ModelSpecError as error:
            notices.append(_model_notice(spec, origin, str(error), trusted))
    checkpoint = None
    if project is not None and project.checkpoint:
        try:
            checkpoint = models.checkpoint(project.resolve_path(project.checkpoint))
        except ModelSpecError as error:
            notices.append(Notice(f"Cannot use the {error} (from {project.path})",
                                  Severity.WARNING, CONFIG_NOTICE))
    rules = selection.for_file(project, document, select=settings.select,
                               extend_select=settings.extend_select, ignore=settings.ignore)
    directive_base = document_dir or base
    config = LintConfig(model=manifest, select=rules.select, ignore=rules.ignore,
                        extend_select=rules.extend_select,
                        checkpoint=checkpoint, path=document,
                        resolve_spec=_directive_resolver(models, directive_base))
    return config, notices


def _project(start: Path | None, models: ModelCache, notices: list[Notice]
             ) -> ProjectConfig | None:
    if start is None:
        return None
    try:
        return models.configs.for_path(Path(os.path.abspath(start)))
    except ConfigError as error:
        notices.append(Notice(f"freezelint configuration not used: {error}", Severity.WARNING,
                              CONFIG_NOTICE))
        return None


def _known_codes_only(settings: Any, notices: list[Notice]) -> Any:
    """The editor's select, extend-select and ignore without codes that name no rule, each
    said in a notice: one typo in `select` would otherwise turn every diagnostic off
    without a word. A select left empty is the default set."""
    from dataclasses import replace

    from freezelint.engine.config import validate_codes

    changes: dict[str, frozenset[str] | None] = {}
    for field_name, setting in (("select", "select"), ("extend_select", "extendSelect"),
                                ("ignore", "ignore")):
        codes = getattr(settings, field_name, None)
        if not codes:
            continue
        kept: set[str] = set()
        for code in sorted(codes):
            try:
                kept |= validate_codes([code])
            except ValueError as error:
                notices.append(Notice(f"freezelint.{setting}: {error}; it is left out",
                                      Severity.WARNING, CONFIG_NOTICE))
        if kept != set(codes):
            changes[field_name] = frozenset(kept) if kept or field_name != "select" else None
    return replace(settings, **changes) if changes else settings


def _user_trust(notices: list[Notice]) -> bool:
    try:
        return user_trusts_local_models()
    except ConfigError as error:
        notices.append(Notice(f"freezelint configuration not used: {error}", Severity.WARNING,
                              CONFIG_NOTICE))
        return False


def _directive_resolver(models: ModelCache, base: Path) -> Callable[[str], Manifest]:
    """`# freezelint: model=...` directives: relative to the document, never user code."""
    return lambda spec: models.resolve(spec, {}, base, False)


def _model_notice(spec: str, origin: str, error: str, trusted: bool) -> Notice:
    if not trusted and is_user_model_spec(spec.partition("(")[0].strip()):
        return Notice(
            f"The model {spec!r} (from {origin}) is your own code, and building it runs that "
            "code, so the editor does not build it unless you trust it: set the editor "
            "setting freezelint.trustLocalModels, or `trust-local-models = true` in your own "
            f"{user_config_path()} (a project's own configuration cannot grant it). Until "
            "then the model is taken from a directive or detected from the code.", Severity.INFO)
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
