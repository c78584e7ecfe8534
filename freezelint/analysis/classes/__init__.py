"""Your own model, read from its source: static manifests for `nn.Module` classes.

`read_class(path, "Net", kwargs)` reads `class Net(nn.Module)` in `path` (and the project
modules it imports) and returns the Manifest torch would give `Net(**kwargs)`: parameter,
buffer and module names in registration order, shapes where the arguments evaluate, holes
for what cannot be evaluated. Nothing is imported and nothing of the user's code runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from freezelint.analysis.classes.objects import Built, ClassValue
from freezelint.analysis.classes.project import Project
from freezelint.analysis.classes.reader import ClassReader, manifest_of
from freezelint.analysis.detect import ModelRequest
from freezelint.models.manifest import Manifest

__all__ = ["ClassValue", "Project", "StaticModelError", "read_class", "static_label"]

Resolver = Callable[[ModelRequest], "Manifest | None"]


class StaticModelError(LookupError):
    """The file or the class cannot be read (the message is one line, for the user)."""


def static_label(class_name: str, path: Path | None) -> str:
    """What messages call a model read from source: `Net (models.py)`."""
    return f"{class_name} ({path.name})" if path is not None else class_name


def read_class(path: Path, class_name: str, kwargs: dict[str, Any] | None = None,
               resolve: Resolver | None = None,
               source_roots: tuple[Path, ...] = ()) -> Manifest | None:
    """The static manifest of `class_name(**kwargs)` defined in `path`, or None when it is
    no nn.Module class the reader can construct. Raises StaticModelError when the file or
    class does not exist."""
    path = path.resolve()
    project = Project(path, source_roots)
    module = project.parse(path)
    if module is None:
        raise StaticModelError(f"cannot read {path}: missing or not valid Python")
    reader = ClassReader(module, project, resolve or _zoo, path=path)
    reader.globals.bind("__name__", path.stem)
    reader.loaded[path] = reader.globals
    reader.define(module.body, reader.globals)
    klass = reader.globals.names.get(class_name)
    if not isinstance(klass, ClassValue):
        raise StaticModelError(f"{path.name} defines no class {class_name!r}")
    if klass.torch_base() is None:
        return None
    built = reader.instantiate(klass, [], dict(kwargs or {}), module)
    if not isinstance(built, Built):
        return None
    meta = {"library": "static", "class": class_name, "file": str(path),
            "files": sorted(str(p) for p in project.read)}
    return manifest_of(built, static_label(class_name, path), "static", meta)


def _zoo(request: ModelRequest) -> Manifest | None:
    from freezelint.models.zoo import load_zoo

    try:
        return load_zoo(request.model_id, request.kwargs)
    except (LookupError, ValueError):
        return None
