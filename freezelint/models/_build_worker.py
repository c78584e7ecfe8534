"""Subprocess side of `user_model.build_user_model`: import torch and the user's code,
build the model on the meta device, write its Manifest as JSON to a file.

It runs in its own process so that neither torch (2 s, 200 MB) nor the user's code ever
loads in the linter. The result goes to a file, not stdout, so that whatever the user's
code prints (or a C extension writes to fd 1) cannot corrupt it; Python-level prints are
also sent to stderr. Failures are written to the same file as one line each, so the parent
can report them without a traceback.

Usage: python -m freezelint.models._build_worker SPEC KWARGS_JSON OUT_PATH
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import json
import sys
import sysconfig
import traceback
import types
from pathlib import Path
from types import ModuleType
from typing import Any


class _BuildFailure(Exception):
    """A failure already phrased for the user."""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m freezelint.models._build_worker SPEC KWARGS_JSON OUT_PATH",
              file=sys.stderr)
        return 2
    spec, kwargs_json, out_path = argv
    try:
        kwargs = json.loads(kwargs_json)
        with contextlib.redirect_stdout(sys.stderr):
            result = _build(spec, kwargs)
    except _BuildFailure as failure:
        result = {"error": str(failure)}
    except BaseException as error:  # the user's code may raise anything, SystemExit too
        result = {"error": f"unexpected failure: {_describe(error)}"}
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")
    return 0 if "manifest" in result else 1


def _build(spec: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        import torch
    except ImportError as error:
        raise _BuildFailure(f"torch is not importable ({error}); "
                            "install it with: pip install freezelint[torch]") from None
    from freezelint.models.introspect import manifest_from_module

    target, _, attr_path = spec.rpartition(":")
    roots = [Path.cwd()]
    if target.endswith(".py"):
        module = _import_file(Path(target).resolve(), roots)
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        module = _import(target, lambda: importlib.import_module(target))

    shown = _relative(target) if target.endswith(".py") else target
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise _BuildFailure(f"{shown} has no attribute {part!r}")
        obj = getattr(obj, part)

    device = "meta"
    if isinstance(obj, torch.nn.Module):
        if kwargs:
            raise _BuildFailure(f"{attr_path} is already a module instance; "
                                "it takes no kwargs")
        model, device = obj, "as defined"
    elif callable(obj):
        model, device = _call(attr_path, obj, kwargs, torch)
    else:
        raise _BuildFailure(f"{attr_path} is a {type(obj).__name__}, "
                            "not a class or a function")
    if not isinstance(model, torch.nn.Module):
        raise _BuildFailure(f"{attr_path}(...) returned a {type(model).__name__}, "
                            "not a torch.nn.Module")

    meta = {"spec": spec, "kwargs": kwargs, "torch": torch.__version__, "device": device}
    manifest = manifest_from_module(model, name=spec, source="user", meta=meta)
    return {"manifest": manifest.to_json(), "files": _user_files(roots),
            "packages": _imported_distributions()}


def _import_file(path: Path, roots: list[Path]) -> ModuleType:
    """Import a model file. Inside a package (an `__init__.py` next to it) it is imported
    by its dotted name, so that its relative imports work; otherwise as a top-level module
    with its directory on sys.path, so that sibling imports work."""
    if not path.is_file():
        raise _BuildFailure(f"{path} does not exist")
    roots.append(path.parent)
    package_root = path.parent
    parts = [path.stem]
    while (package_root / "__init__.py").is_file():
        parts.insert(0, package_root.name)
        package_root = package_root.parent
    sys.path.insert(0, str(package_root))
    if len(parts) > 1:
        dotted = ".".join(parts)
        return _import(_relative(str(path)), lambda: importlib.import_module(dotted))

    name = path.stem if path.stem not in sys.modules else f"_freezelint_user_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise _BuildFailure(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    loader = module_spec.loader
    def run() -> types.ModuleType:
        loader.exec_module(module)
        return module

    return _import(_relative(str(path)), run)


def _import(what: str, load: Any) -> ModuleType:
    try:
        return load()
    except BaseException as error:
        raise _BuildFailure(f"importing {what} failed: {_describe(error)}") from None


def _call(name: str, factory: Any, kwargs: dict[str, Any], torch: Any) -> tuple[Any, str]:
    """Build on the meta device (no memory, no init cost); code that needs real values in
    its constructor (`.item()`, numpy) fails there, and is retried on the CPU."""
    try:
        with torch.device("meta"):
            return factory(**kwargs), "meta"
    except BaseException as error:
        if "meta" not in str(error).lower():
            raise _BuildFailure(f"{name}(...) raised {_describe(error)}") from None
    try:
        return factory(**kwargs), "cpu"
    except BaseException as error:
        raise _BuildFailure(f"{name}(...) raised {_describe(error)}") from None


def _describe(error: BaseException) -> str:
    """`Type: message (file:line)`, the line being the deepest frame outside the library
    machinery: the last line of the traceback plus where it happened."""
    text = " ".join(str(error).split()) or "(no message)"
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        filename = frame.filename
        if "importlib" in filename or filename == __file__ or filename.startswith("<frozen"):
            continue
        where = f" ({_relative(filename)}:{frame.lineno})"
        break
    return f"{type(error).__name__}: {text}{where}"


def _relative(filename: str) -> str:
    """A path as the user would write it: relative to the working directory if inside."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return filename


def _user_files(roots: list[Path]) -> list[str]:
    """Python files of the user's project that the build imported: the cache is valid only
    while they are unchanged. Installed libraries and freezelint itself are not included
    (their versions key the cache)."""
    excluded = {Path(p).resolve() for key, p in sysconfig.get_paths().items()
                if key in {"stdlib", "platstdlib", "purelib", "platlib"}}
    own = Path(__file__).resolve().parents[1]
    resolved_roots = [r.resolve() for r in roots]
    files: set[str] = set()
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if not filename or not filename.endswith(".py"):
            continue
        path = Path(filename).resolve()
        if ("site-packages" in path.parts or "dist-packages" in path.parts
                or path.is_relative_to(own)
                or any(path.is_relative_to(e) for e in excluded)):
            continue
        if any(path.is_relative_to(r) for r in resolved_roots):
            files.add(str(path))
    return sorted(files)


def _imported_distributions() -> dict[str, str]:
    """Versions of the installed libraries the build imported (timm, transformers...):
    upgrading one must invalidate the cached manifest. torch is in the cache key already."""
    try:
        owners = importlib.metadata.packages_distributions()
    except Exception:  # broken metadata must not fail a build that succeeded
        return {}
    versions: dict[str, str] = {}
    for top in {name.partition(".")[0] for name in list(sys.modules)}:
        for distribution in owners.get(top, []):
            if distribution.lower() in {"torch", "freezelint"}:
                continue
            try:
                versions[distribution] = importlib.metadata.version(distribution)
            except Exception:
                continue
    return dict(sorted(versions.items()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
