"""The user's own model (`pkg.module:callable`, `path/to/file.py:Class`) as a Manifest.

Building it means importing torch and running the user's code, so it happens in a
subprocess (`freezelint.models._build_worker`) on the meta device: the linter process
never loads torch or user code, and a crash, a hang or a `sys.exit` in that code cannot
take the linter down. Executing user code happens only because the user named the spec.

Results are cached on disk, keyed by the spec, the kwargs, the content of the named file,
the torch and Python versions; a cache entry also records the hashes of every project file
the build imported and the versions of the libraries it imported (timm, transformers...),
and is used only while they are unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from freezelint.common.files import replace_atomically, user_cache_root
from freezelint.models.manifest import Manifest, ManifestError
from freezelint.models.specs import is_user_model_spec

# Bump when the worker's output changes meaning, so that old cache entries are ignored.
_CACHE_VERSION = 1


# Runs the worker with our own freezelint first on sys.path (a source checkout need not be
# installed), then takes that entry off again so that it cannot shadow the user's modules.
_BOOTSTRAP = ("import sys; sys.path.insert(0, {root!r}); "
              "import freezelint.models._build_worker as w; "
              "sys.path.remove({root!r}); sys.exit(w.main(sys.argv[1:]))")


class UserModelError(RuntimeError):
    """The user's model could not be built; the message is one line, meant for the user."""


def default_cache_dir() -> Path:
    return user_cache_root() / "models"


# The static class reader (analysis/classes, handed in by the front ends: the model layer
# does not import the analysis): `(file, class name, kwargs) -> Manifest | None`, raising
# LookupError when the file or the class does not exist.
StaticReader = Callable[[Path, str, dict[str, Any]], "Manifest | None"]


def static_user_model(spec: str, kwargs: dict[str, Any] | None = None,
                      cwd: Path | None = None,
                      read_class: StaticReader | None = None) -> Manifest | None:
    """`spec`'s model read from its source by `read_class`, without importing or running
    anything: the manifest when the class is statically readable with these arguments (no
    holes), else None, and then only a build can tell. None without a reader."""
    if read_class is None or not is_user_model_spec(spec):
        return None
    target, _, name = spec.rpartition(":")
    if "." in name:
        return None  # `Class.attr` / `module:factory.attr`: not a class to read
    base = (Path(cwd) if cwd is not None else Path.cwd()).resolve()
    source = (base / target).resolve() if target.endswith(".py") \
        else _find_module_file(target, base)
    if source is None or not source.is_file():
        return None
    try:
        manifest = read_class(source, name, dict(kwargs or {}))
    except (LookupError, RecursionError):
        return None
    if manifest is None or manifest.holes or not manifest.parameters or not manifest.sized:
        return None  # (names alone are not what `params` or a build would give)
    return replace(manifest, name=spec, meta={**manifest.meta, "spec": spec})


def build_user_model(spec: str, kwargs: dict[str, Any] | None = None,
                     cache_dir: Path | None = None, cwd: Path | None = None,
                     timeout: float = 120) -> Manifest:
    """Build `spec(**kwargs)` on the meta device in a subprocess and return its Manifest.

    `cwd` is where a relative file path and a dotted module are looked up (default: the
    current directory). Raises UserModelError, never lets a traceback through."""
    if not is_user_model_spec(spec):
        raise UserModelError(f"{spec!r} is not a model spec: expected "
                             "'package.module:callable' or 'path/to/file.py:Name'")
    kwargs = dict(kwargs or {})
    try:
        kwargs_json = json.dumps(kwargs, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise UserModelError(f"kwargs for {spec} must be JSON values: {error}") from None
    base = Path(cwd) if cwd is not None else Path.cwd()
    base = base.resolve()
    torch_version = _torch_version()

    target = spec.rpartition(":")[0]
    if target.endswith(".py"):
        source: Path | None = (base / target).resolve()
        if source is None or not source.is_file():
            raise UserModelError(f"cannot build {spec}: {source} does not exist")
        worker_spec = f"{source}:{spec.rpartition(':')[2]}"
    else:
        source = _find_module_file(target, base)
        worker_spec = spec

    cache_file: Path | None = None
    if source is not None:
        key_doc = {"v": _CACHE_VERSION, "spec": spec, "kwargs": kwargs, "cwd": str(base),
                   "file": _file_hash(source), "torch": torch_version,
                   "python": ".".join(map(str, sys.version_info[:3])),
                   "executable": sys.executable}
        key = hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()
        cache_file = Path(cache_dir or default_cache_dir()) / f"{key}.json"
        cached = _load_cached(cache_file)
        if cached is not None:
            return cached

    result = _run_worker(spec, worker_spec, kwargs_json, base, timeout)
    try:
        # the worker saw an absolute file path; messages should say what the user wrote
        result["manifest"]["name"] = spec
        result["manifest"]["meta"]["spec"] = spec
        manifest = Manifest.from_json(result["manifest"])
    except (KeyError, TypeError, ManifestError) as error:
        raise UserModelError(f"cannot build {spec}: the worker returned a bad manifest "
                             f"({error})") from None
    if cache_file is not None:
        files = {f: _file_hash(Path(f)) for f in result.get("files", [])
                 if Path(f).is_file()}
        _store(cache_file, {"manifest": result["manifest"], "files": files,
                            "packages": dict(result.get("packages", {}))})
    return manifest


# -- worker --------------------------------------------------------------------------------


def _run_worker(spec: str, worker_spec: str, kwargs_json: str, cwd: Path,
                timeout: float) -> dict[str, Any]:
    """Run the builder in a session of its own, its output in files rather than pipes. The
    user's code may start processes of its own (a data-loader worker, a daemon): when the
    build ends, or its time is up, the whole session is killed, so nothing it started
    outlives it, and no pipe held open by a grandchild keeps the linter waiting."""
    root = str(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory(prefix="freezelint-build-") as scratch:
        out = Path(scratch) / "result.json"
        log = Path(scratch) / "stderr.txt"
        command = [sys.executable, "-B", "-c", _BOOTSTRAP.format(root=root),
                   worker_spec, kwargs_json, str(out)]
        try:
            with log.open("wb") as errors:
                process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=errors,
                                           start_new_session=True)
        except OSError as error:
            raise UserModelError(f"cannot start the model builder: {error}") from None
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(process)
            raise UserModelError(f"building {spec} timed out after {timeout:g} s (the "
                                 "builder and every process it started were stopped)") from None
        finally:
            _kill_session(process)  # whatever the user's code left running
        try:
            result = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = None
        last = _last_line(log)
    if not isinstance(result, dict):
        raise UserModelError(f"building {spec} failed: the builder {_death(returncode)} "
                             "without a result" + (f" (its last output: {last})" if last else ""))
    if "error" in result:
        raise UserModelError(f"cannot build {spec}: {result['error']}")
    return result


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the builder's session (its process group), then reap the builder."""
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _death(returncode: int) -> str:
    """How the builder ended, in words: a signal by its name (a crash in native code is
    SIGSEGV), else its exit code."""
    import signal

    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def _last_line(log: Path) -> str:
    """The builder's last line of output (from the end of its log only: a build may print
    megabytes), quoted so it is not taken for freezelint's own words."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(log.stat().st_size - 4096, 0))
            tail = handle.read()
    except OSError:
        return ""
    lines = [line.strip() for line in tail.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return repr(lines[-1][:300]) if lines else ""


# -- cache -----------------------------------------------------------------------------------


def _torch_version() -> str:
    """torch's version from its metadata: cheap, and it does not import torch."""
    import importlib.metadata  # here, not at the top: linting never needs it

    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        raise UserModelError("building a model from your code needs torch: "
                             "pip install freezelint[torch]") from None


def _version(distribution: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


def _find_module_file(dotted: str, cwd: Path) -> Path | None:
    """The source file of `dotted`, found without importing anything (`find_spec` would
    run the parent packages' `__init__`). None when it is not a plain .py file; such a
    spec is not cached."""
    search = [str(cwd), *(p for p in sys.path if p)]
    parts = dotted.split(".")
    module_spec = None
    for i in range(len(parts)):
        try:
            module_spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[: i + 1]), search)
        except (ImportError, ValueError, OSError):
            return None
        if module_spec is None:
            return None
        if i < len(parts) - 1:
            search = list(module_spec.submodule_search_locations or [])
            if not search:
                return None
    origin = module_spec.origin if module_spec is not None else None
    if origin and origin.endswith(".py") and Path(origin).is_file():
        return Path(origin).resolve()
    return None


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _load_cached(cache_file: Path) -> Manifest | None:
    """The cached manifest, if the entry is readable and every file it depends on is
    unchanged; anything else means rebuild."""
    try:
        entry = json.loads(cache_file.read_text(encoding="utf-8"))
        files = entry.get("files", {})
        if any(_file_hash(Path(name)) != digest for name, digest in files.items()):
            return None
        packages = entry.get("packages", {})
        if any(_version(dist) != version for dist, version in packages.items()):
            return None
        return Manifest.from_json(entry["manifest"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ManifestError):
        return None


def _store(cache_file: Path, entry: dict[str, Any]) -> None:
    """Write atomically: a concurrent reader sees the old entry or the new one, never half
    of one. A cache that cannot be written is not an error."""
    with contextlib.suppress(OSError):
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(cache_file, json.dumps(entry).encode("utf-8"))
