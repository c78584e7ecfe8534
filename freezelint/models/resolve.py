"""One model spec -> one Manifest, whatever the user wrote after `--model`.

The CLI, the language server and `# freezelint: model=...` directives all name models with
the same small language, so it is resolved in one place:

    model.json                      a manifest file (`freezelint params --model X --json`)
    weights.pt | .pth | .bin |...   a checkpoint: keys and shapes read without torch
    ./out/checkpoint-500/           a Hugging Face checkpoint folder (config.json + weights)
    pkg.module:make_model           the user's own model, built in a subprocess
    path/to/models.py:Net           (only when user code is allowed)
    ast(label_dim=10)               any of the above with constructor arguments
    resnet50                        a zoo id

Every failure is a ModelSpecError with a one-line message, so that front ends can print it
as a usage error. torch is never imported here; the checkpoint reader and the user-model
builder are imported only when a spec needs them, which keeps `--model ast` at the cost of
reading one JSON file.
"""

from __future__ import annotations

import ast
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freezelint.common.torch_api import CHECKPOINT_SUFFIXES
from freezelint.models.manifest import Manifest, ManifestError, TensorInfo

if TYPE_CHECKING:
    from freezelint.models.user_model import StaticReader


class ModelSpecError(ValueError):
    """A model spec that names nothing usable; the message is one line, meant for the user."""


def resolve_model(spec: str, kwargs: dict[str, Any] | None = None, *,
                  base_dir: Path | None = None, allow_user_code: bool = True,
                  cache_dir: Path | None = None,
                  read_class: StaticReader | None = None) -> Manifest:
    """The Manifest that `spec` names, built as if with constructor `kwargs`.

    Relative paths are looked up in `base_dir` (default: the current directory): the CLI
    passes the working directory, a directive passes the directory of the file it is in.
    `allow_user_code=False` refuses specs that would run the user's code (directives in
    source files: linting a file must never execute what it names). `read_class` is the
    static class reader the front ends hand in (engine/static_models.py): a `file.py:Class`
    it can read is not built, and needs no consent."""
    spec = spec.strip()
    if not spec:
        raise ModelSpecError("empty model spec")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    extra = dict(kwargs or {})

    # A file name may itself contain parentheses (`weights (1).pt`): files come first.
    path = _path_of(spec, base)
    if _looks_like_path(spec) and path.is_file():
        return _from_file(spec, path, extra)

    name, call_kwargs = _split_call(spec)
    merged = {**call_kwargs, **extra}  # --model-arg wins over the call's own argument
    path = _path_of(name, base)
    if _looks_like_path(name) and path.is_file():
        return _from_file(name, path, merged)

    from freezelint.models.specs import is_user_model_spec

    if is_user_model_spec(name):
        return _user_model(name, merged, base, allow_user_code, cache_dir, read_class)
    if _looks_like_path(name):
        if path.is_dir() and (path / "config.json").is_file():
            return _checkpoint_folder(name, path, merged)
        if path.is_dir():
            raise ModelSpecError(_directory_message(name, path))
        raise ModelSpecError(f"model file not found: {name} (looked for {path})")
    return _zoo_model(name, merged, path)


# -- spec classification -----------------------------------------------------------------


def _path_of(spec: str, base: Path) -> Path:
    path = Path(os.path.expanduser(spec))
    return path if path.is_absolute() else base / path


def _suffix(spec: str) -> str:
    return Path(spec).suffix.lower()


def _looks_like_path(spec: str) -> bool:
    """A spec the user meant as a file: a manifest, checkpoint or Python suffix, or an
    explicit relative/absolute/home path. Zoo ids such as `torchvision/resnet50` contain a
    slash too, so a slash alone does not count."""
    if _suffix(spec) in (".json", ".py", *CHECKPOINT_SUFFIXES):
        return True
    starts = ("./", "../", "/", "~", ".\\", "..\\")
    return (spec.startswith(starts) or spec.endswith(("/", os.sep))
            or (os.sep != "/" and os.sep in spec))


def _split_call(spec: str) -> tuple[str, dict[str, Any]]:
    """`ast(label_dim=10, input_tdim=512)` -> ("ast", {...}); anything else unchanged.

    The arguments are parsed by Python's own parser and must be literals: a spec is data,
    and evaluating it would run code from the command line or a source comment."""
    if not spec.endswith(")") or "(" not in spec:
        return spec, {}
    opening = spec.index("(")
    name = spec[:opening].strip()
    if not name:
        raise ModelSpecError(f"model spec {spec!r} has arguments but no model name")
    try:
        call = ast.parse("_model" + spec[opening:], mode="eval").body
    except SyntaxError as error:
        raise ModelSpecError(f"cannot parse the arguments of model spec {spec!r}: "
                             f"{error.msg}") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ModelSpecError(f"cannot parse the arguments of model spec {spec!r}")
    if call.args:
        raise ModelSpecError(f"model spec {spec!r}: pass arguments by keyword (key=value)")
    parsed: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ModelSpecError(f"model spec {spec!r}: '**' arguments are not supported")
        try:
            parsed[keyword.arg] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ModelSpecError(
                f"model spec {spec!r}: the value of {keyword.arg} must be a literal "
                "(number, string, True/False/None, list, tuple or dict)") from None
    return name, parsed


# -- the sources ---------------------------------------------------------------------------


def _from_file(spec: str, path: Path, kwargs: dict[str, Any]) -> Manifest:
    suffix = path.suffix.lower()
    if suffix == ".py":
        raise ModelSpecError(f"{spec} is a Python file: name the model in it, "
                             f"e.g. {spec}:MyModel")
    if kwargs:
        raise ModelSpecError(f"model arguments ({', '.join(sorted(kwargs))}) do not apply to "
                             f"{spec}: a file already fixes every name and shape")
    if suffix == ".json":
        try:
            return Manifest.load(path)
        except ManifestError as error:
            raise ModelSpecError(_mention(spec, str(error))) from None
    return _checkpoint(spec, path)


def _checkpoint(spec: str, path: Path) -> Manifest:
    """A checkpoint's tensors under the model's own names.

    A checkpoint saved from a wrapped model (DataParallel `module.`, torch.compile
    `_orig_mod.`, Lightning `model.`) carries the wrapper's prefix on every key; code that
    fine-tunes the bare model names parameters without it, so the prefix is stripped (and
    recorded in meta["stripped_prefix"] so that messages and rules can mention it)."""
    from freezelint.models.checkpoint import CheckpointError, common_prefix, read_checkpoint

    try:
        manifest = read_checkpoint(path)
    except CheckpointError as error:
        raise ModelSpecError(_mention(spec, str(error))) from None
    prefix = common_prefix(t.name for t in manifest.parameters)
    if not prefix:
        return manifest
    parameters = tuple(TensorInfo(t.name[len(prefix):], t.shape, t.dtype, t.persistent)
                       for t in manifest.parameters)
    return replace(manifest, parameters=parameters,
                   meta={**manifest.meta, "stripped_prefix": prefix})


def _checkpoint_folder(spec: str, path: Path, kwargs: dict[str, Any]) -> Manifest:
    """A Hugging Face checkpoint folder (`config.json` and weights, as `save_pretrained`
    and the Trainer write them): the class it was saved from, read as `from_pretrained`
    would load it (`hf_cache`), or a one-line reason it is not known exactly."""
    from freezelint.models.hf_cache import folder_manifest, with_arguments

    try:
        return with_arguments(folder_manifest(path), kwargs)
    except (LookupError, ValueError) as error:
        raise ModelSpecError(_mention(spec, str(error))) from None


def _user_model(spec: str, kwargs: dict[str, Any], base: Path, allow_user_code: bool,
                cache_dir: Path | None, read_class: StaticReader | None) -> Manifest:
    from freezelint.models.user_model import static_user_model

    static = static_user_model(spec, kwargs, base, read_class)  # from source: nothing runs
    if static is not None:
        return static
    if not allow_user_code:
        raise ModelSpecError(
            f"{spec} names your own model code, and building it runs that code; freezelint "
            f"does that only for a model named on the command line "
            f"(freezelint check --model {spec} --trust-local-models)")
    from freezelint.models.user_model import UserModelError, build_user_model

    try:
        return build_user_model(spec, kwargs, cache_dir=cache_dir, cwd=base)
    except UserModelError as error:
        raise ModelSpecError(str(error)) from None


def _zoo_model(spec: str, kwargs: dict[str, Any], path: Path) -> Manifest:
    from freezelint.models.zoo import UnknownModelError, load_zoo

    try:
        return load_zoo(spec, kwargs)
    except UnknownModelError as error:
        if path.is_dir():  # `--model my_run`: a directory, not a zoo id
            raise ModelSpecError(_directory_message(spec, path)) from None
        raise ModelSpecError(error.args[0] if error.args else str(error)) from None
    except (ValueError, TypeError) as error:
        raise ModelSpecError(str(error)) from None


def _directory_message(spec: str, path: Path) -> str:
    try:
        inside = sorted(p.name for p in path.iterdir()
                        if p.is_file() and p.suffix.lower() in (".json", *CHECKPOINT_SUFFIXES))
    except OSError:
        inside = []
    hint = f"; pass a file inside it: {', '.join(inside[:3])}" if inside else ""
    return f"{spec} is a directory, not a manifest or checkpoint file{hint}"


def _mention(spec: str, message: str) -> str:
    """Prefix the spec unless the message already names the file."""
    first = " ".join(message.split())
    if spec in first or Path(spec).name in first:
        return first
    return f"{spec}: {first}"
