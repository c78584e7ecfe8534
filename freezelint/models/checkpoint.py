"""Read a checkpoint's tensor names, shapes and dtypes without torch and without running it.

Linting against `--model weights.pth` must stay fast (no 2 s `import torch`), light (a GB
checkpoint must not be loaded) and safe (a `.pth` is a pickle, and `torch.load` of an
untrusted pickle runs whatever it names). So this module never imports torch and never
lets the file call anything:

- safetensors: the 8-byte length + JSON header is all we read.
- torch zip format (`torch.save` since 1.6, also HF `pytorch_model.bin`): only the
  `<archive>/data.pkl` entry is read; the `data/` entries holding the tensor bytes are not.
- legacy torch format (`_use_new_zipfile_serialization=False`): the magic number, protocol,
  sys-info and main pickles are read; we stop before the storage bytes.

The pickles go through `_RestrictedUnpickler`, whose `find_class` never imports anything.
Tensor rebuild functions and storage types map to local stand-ins that record shape and
dtype; a few harmless builtins (containers, numbers) are real. Globals that are code
execution entry points (`os.system`, `builtins.eval`, `getattr`, `subprocess.*`, any
`*.load`...) make the read fail with "refusing to unpickle ...": such a file is hostile.
Any other global (a Lightning `AttributeDict`, an `argparse.Namespace`, numpy scalars, the
classes of a pickled `nn.Module`) becomes an inert placeholder that records its arguments
and state but runs nothing. Refusing those too would add no safety, since nothing is ever
called, and would make ordinary Lightning and research checkpoints unreadable.
"""

from __future__ import annotations

import _compat_pickle
import io
import json
import os
import pickle
import stat
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from freezelint.common.torch_api import CHECKPOINT_PREFIXES, CHECKPOINT_SUFFIXES
from freezelint.models.manifest import Manifest, TensorInfo

# Prefixes that wrappers put in front of every key: DataParallel/DDP, torch.compile,
# Lightning, and backbone/encoder holders (the shared table's CHECKPOINT_PREFIXES).
WRAPPER_PREFIXES = CHECKPOINT_PREFIXES

# `torch.save(..., _use_new_zipfile_serialization=False)` starts with this pickled int.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PREFIX = b"\x80\x02\x8a\x0a" + _LEGACY_MAGIC.to_bytes(10, "little")

# safetensors refuses headers above 100 MB; so do we (a corrupt length must not make us
# allocate gigabytes).
_MAX_SAFETENSORS_HEADER = 100_000_000
# The most pickle read from a checkpoint (zip `data.pkl`, or the legacy format's pickles).
# A real one is a few hundred KB even for a 70B model (one short record per tensor); the
# bound is what keeps a 4 MB zip whose data.pkl inflates to 4 GB from being inflated, and
# with it the memory the unpickled objects take (at most about 16 times the pickle's size).
MAX_PICKLE_BYTES = 16 * 2**20
# Pickled `nn.Module`s nested deeper than this are refused rather than walked (a real
# model nests a few levels; a crafted one could nest millions).
MAX_MODULE_DEPTH = 256

_STORAGE_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    # Untyped storages come with `_rebuild_tensor_v3`, which passes the dtype itself.
    "UntypedStorage": "uint8",
}

# `torch.<dtype>` globals, as `_rebuild_tensor_v3` (float8 and friends) pickles them.
_TORCH_DTYPES = frozenset({
    "bfloat16", "bool", "complex128", "complex32", "complex64", "float16", "float32",
    "float64", "float4_e2m1fn_x2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
    "float8_e5m2fnuz", "float8_e8m0fnu", "int16", "int32", "int64", "int8", "qint32",
    "qint8", "quint2x4", "quint4x2", "quint8", "uint16", "uint32", "uint64", "uint8",
    "bits16", "bits1x8", "bits2x4", "bits4x2", "bits8", "int1", "int2", "int3", "int4",
    "int5", "int6", "int7", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
    # legacy aliases
    "half", "float", "double", "long", "int", "short", "cfloat", "cdouble",
})
_DTYPE_ALIASES = {"half": "float16", "float": "float32", "double": "float64",
                  "long": "int64", "int": "int32", "short": "int16",
                  "cfloat": "complex64", "cdouble": "complex128"}

_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "F8_E8M0": "float8_e8m0fnu",
    "C64": "complex64", "C128": "complex128",
}

# Real builtins a checkpoint may construct: containers and numbers, nothing that can reach
# attributes, the file system or code. `bytes`/`bytearray` are wrapped (size limits).
_SAFE_BUILTINS: dict[str, Any] = {
    "set": set, "frozenset": frozenset, "list": list, "tuple": tuple, "dict": dict,
    "slice": slice, "int": int, "float": float, "complex": complex, "str": str,
    "bool": bool, "object": object,
}

# Globals that only a hostile file names: refused outright, so the user hears about it.
_REFUSED_MODULES = frozenset({
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "builtins",
    "importlib", "runpy", "shutil", "socket", "pickle", "_pickle", "marshal", "ctypes",
    "code", "codeop", "pty", "webbrowser", "multiprocessing", "asyncio", "types",
    "functools", "operator", "io", "_io", "tempfile", "pdb", "bdb", "timeit", "platform",
    "signal", "threading", "_thread", "gc", "inspect", "ast", "dill", "cloudpickle",
    "commands", "pip", "setuptools", "shelve", "glob", "urllib", "http", "requests",
    "zipimport", "pkgutil", "pydoc", "site", "ensurepip", "venv", "smtplib", "ftplib",
    "telnetlib", "sqlite3", "xmlrpc", "logging", "unittest", "doctest", "trace", "cProfile",
    "profile", "distutils", "imp", "linecache", "uuid",
})
_REFUSED_NAMES = frozenset({
    "eval", "exec", "execfile", "compile", "system", "popen", "spawn", "getattr", "setattr",
    "delattr", "__import__", "import_module", "open", "load", "loads", "run", "call",
    "check_call", "check_output", "getoutput", "getstatusoutput", "Popen", "fork", "remove",
    "unlink", "rmtree", "rmdir", "apply", "globals", "locals", "vars", "breakpoint", "input",
    "exit", "quit", "locate", "runstring", "run_path", "run_module", "attrgetter",
    "methodcaller", "itemgetter", "partial", "reduce", "kill", "putenv", "chmod", "rename",
    "write", "urlopen", "get", "post",
})
_REFUSED_NAME_PREFIXES = ("exec", "spawn", "popen", "system", "_run", "load_")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read; the message is one line, meant for the user."""


def read_checkpoint(path: str | os.PathLike[str]) -> Manifest:
    """The tensors of the state dict in `path`, in file order, as a Manifest.

    Reads only headers and pickles, so a GB checkpoint costs milliseconds. Every tensor of
    the state dict becomes a parameter (a checkpoint cannot tell parameters from buffers);
    `modules` stays empty (module paths derive from the names)."""
    file = Path(path)
    try:
        if file.is_dir():
            raise CheckpointError(_directory_message(file))
        status = file.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device would block or never end
            raise CheckpointError(f"{file} is not a regular file: not read")
        size = status.st_size
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {file}") from None
    except OSError as error:
        raise CheckpointError(f"cannot read {file}: {error.strerror or error}") from None
    if size == 0:
        raise CheckpointError(f"{file} is empty, not a checkpoint")
    try:
        with open(file, "rb") as handle:
            head = handle.read(512)
    except OSError as error:
        raise CheckpointError(f"cannot read {file}: {error.strerror or error}") from None

    try:
        fmt, tensors, container_key, extra = _read_format(file, head, size)
    except OSError as error:  # e.g. deleted or unreadable between the checks and the read
        raise CheckpointError(f"cannot read {file}: {error.strerror or error}") from None
    if not tensors:
        raise CheckpointError(f"{file} holds no tensors")
    meta: dict[str, Any] = {"path": str(file), "format": fmt, "container_key": container_key}
    meta.update(extra)
    return Manifest(name=file.name, parameters=tuple(tensors), source="checkpoint", meta=meta)


def _read_format(file: Path, head: bytes, size: int
                 ) -> tuple[str, list[TensorInfo], str | None, dict[str, Any]]:
    """Dispatch on the file's first bytes, not its suffix: `.bin` and `.pt` files of
    every format exist in the wild."""
    if _looks_like_safetensors(head, size):
        return "safetensors", _read_safetensors(file, size), None, {}
    if file.suffix == ".safetensors":
        raise CheckpointError(f"{file} is not a valid safetensors file (bad header length "
                              "or header does not start with '{')")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        obj, unpickler = _read_torch_zip(file)
        return ("torch-zip", *_state_dict_of(obj, file, unpickler))
    if head.startswith(b"\x80"):
        obj, unpickler = _read_torch_legacy(file)
        return ("torch-legacy", *_state_dict_of(obj, file, unpickler))
    if head[257:262] == b"ustar":
        raise CheckpointError(f"{file} uses the tar checkpoint format of PyTorch < 0.4, "
                              "which freezelint does not read; re-save it with torch.save")
    raise CheckpointError(f"{file} is not a PyTorch or safetensors checkpoint "
                          "(unrecognised header)")


def common_prefix(keys: Iterable[str]) -> str | None:
    """The wrapper prefix every key carries (`module.`, `module._orig_mod.`...), or None.

    Checkpoints saved from a wrapped model (DataParallel, torch.compile, Lightning) carry
    such a prefix, and `load_state_dict` on the bare model then fails on every key. Only
    prefixes from WRAPPER_PREFIXES count, applied greedily; a caller that knows the
    model's own names should check them, since a model may really own a `model` child."""
    names = list(keys)
    if not names:
        return None
    prefix = ""
    while True:
        for candidate in WRAPPER_PREFIXES:
            longer = prefix + candidate
            if all(n.startswith(longer) and len(n) > len(longer) for n in names):
                prefix = longer
                break
        else:
            return prefix or None


# -- safetensors -------------------------------------------------------------------------


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length <= min(_MAX_SAFETENSORS_HEADER, size - 8) and head[8:9] == b"{"


def _read_safetensors(file: Path, size: int) -> list[TensorInfo]:
    with open(file, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{file} has a corrupt safetensors header: {error}") from None
    except RecursionError:  # `[[[[...` a million deep: no real header nests past 3 levels
        raise CheckpointError(f"{file} has a corrupt safetensors header: JSON nested too "
                              "deeply") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file} has a corrupt safetensors header (not a JSON object)")
    tensors: list[TensorInfo] = []
    data_end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype_code = entry["dtype"]
            shape = tuple(_checked_int(s) for s in entry["shape"])
            start, end = (_checked_int(o) for o in entry["data_offsets"])
            if not isinstance(dtype_code, str):
                raise TypeError("dtype is not a string")
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{file} has a corrupt safetensors entry for {name!r}: "
                                  f"{error}") from None
        data_end = max(data_end, start, end)
        dtype = _SAFETENSORS_DTYPES.get(dtype_code, dtype_code.lower())
        tensors.append(TensorInfo(name, shape, dtype))
    if 8 + length + data_end > size:
        raise CheckpointError(f"{file} is truncated: the header describes "
                              f"{8 + length + data_end} bytes, the file has {size}")
    return tensors


def _checked_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return value


# -- torch pickles -----------------------------------------------------------------------


def _read_torch_zip(file: Path) -> tuple[Any, _RestrictedUnpickler]:
    """Unpickle `<archive>/data.pkl` only; the tensor bytes under `data/` stay on disk."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1
                       and n.rpartition("/")[2] == "data.pkl"]
            if not pickles:
                raise CheckpointError(f"{file} is a zip archive without data.pkl, "
                                      "not a torch.save checkpoint")
            prefix = pickles[0][: -len("data.pkl")]
            if prefix + "constants.pkl" in names:
                raise CheckpointError(f"{file} is a TorchScript archive (torch.jit.save); "
                                      "freezelint reads checkpoints written by torch.save")
            data = _read_member(archive, pickles[0], file)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"{file} is truncated or corrupt: {_one_line(error)}") from None
    unpickler = _RestrictedUnpickler(io.BytesIO(data), file)
    return unpickler.guarded_load(), unpickler


def _read_member(archive: zipfile.ZipFile, name: str, file: Path) -> bytes:
    """A zip member, inflated only up to MAX_PICKLE_BYTES whatever its header claims."""
    if archive.getinfo(name).file_size > MAX_PICKLE_BYTES:
        raise CheckpointError(_pickle_too_large(file, name))
    with archive.open(name) as member:
        data = member.read(MAX_PICKLE_BYTES + 1)
    if len(data) > MAX_PICKLE_BYTES:  # the header lied about the size
        raise CheckpointError(_pickle_too_large(file, name))
    return data


def _pickle_too_large(file: Path, name: str) -> str:
    return (f"{file} is not a checkpoint freezelint reads: its {name} would inflate past "
            f"{MAX_PICKLE_BYTES // 2**20} MiB (a real one is a few hundred KB)")


class _BoundedReader:
    """A file whose reads stop at `limit` bytes in all (the legacy format's pickles are
    read straight from the file)."""

    def __init__(self, handle: BinaryIO, limit: int, file: Path) -> None:
        self._handle = handle
        self._left = limit
        self._file = file

    def _take(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left < 0:
            raise CheckpointError(_pickle_too_large(self._file, "pickle"))
        return data

    def read(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size < 0 else min(size, self._left + 1)
        return self._take(self._handle.read(wanted))

    def readline(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size < 0 else min(size, self._left + 1)
        return self._take(self._handle.readline(wanted))

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _read_torch_legacy(file: Path) -> tuple[Any, _RestrictedUnpickler]:
    """Read the four leading pickles of the legacy format and stop before the storages."""
    with open(file, "rb") as raw:
        handle: Any = _BoundedReader(raw, MAX_PICKLE_BYTES, file)
        magic = _RestrictedUnpickler(handle, file).guarded_load()
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{file} is a pickle but not a PyTorch checkpoint "
                                  "(no torch.save magic number)")
        protocol = _RestrictedUnpickler(handle, file).guarded_load()
        if protocol != 1001:
            raise CheckpointError(f"{file} has an unknown legacy protocol version {protocol!r}")
        _RestrictedUnpickler(handle, file).guarded_load()  # sys info
        unpickler = _RestrictedUnpickler(handle, file)
        return unpickler.guarded_load(), unpickler


class _Tensor:
    """What a tensor rebuild yields here: its shape and dtype, no data."""

    __slots__ = ("dtype", "shape")

    def __init__(self, shape: tuple[int, ...], dtype: str) -> None:
        self.shape = shape
        self.dtype = dtype


class _Storage:
    """What `persistent_load` yields for a storage id: only the dtype matters."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype


class _StorageType:
    """Stand-in for `torch.FloatStorage` & co. as named in storage persistent ids."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype


class _DType:
    """Stand-in for a `torch.<dtype>` global."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _Opaque(dict):  # type: ignore[type-arg]
    """An inert placeholder for a global we do not model (a class of a pickled module,
    an `AttributeDict`, an `argparse.Namespace`...). It records its constructor arguments,
    items and state, so that a pickled `nn.Module` can still be walked, and runs nothing.

    It is a dict so that dict subclasses (hyper-parameter holders) keep their items."""

    _fzl_global = "?"
    _fzl_args: tuple[Any, ...]
    _fzl_state: Any
    _fzl_list: list[Any]

    # __new__, not __init__: NEWOBJ creates instances with __new__ alone.
    def __new__(cls, *args: Any, **kwargs: Any) -> _Opaque:
        instance = super().__new__(cls)
        instance._fzl_args = args
        instance._fzl_state = None
        instance._fzl_list = []
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def __setstate__(self, state: Any) -> None:
        self._fzl_state = state

    def append(self, item: Any) -> None:
        self._fzl_list.append(item)

    def extend(self, items: Iterable[Any]) -> None:
        self._fzl_list.extend(items)

    def __hash__(self) -> int:  # type: ignore[override]  # placeholders may be keys
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


class _RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """An Unpickler that never imports and never calls anything the file names.

    The stand-ins are bound methods of this instance: a pickle can set attributes on what
    it loads (BUILD), and bound methods refuse that, so one hostile file cannot alter
    how the next one is read.

    It is the pure-Python unpickler on purpose: the C one keeps its memo in an array sized
    by the largest index a PUT names, so one corrupt `LONG_BINPUT 3900000000` allocates
    tens of GB before anything can refuse it. Here the memo is a dict, and a checkpoint's
    data.pkl is a few hundred KB at most, so the speed difference is milliseconds."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        super().__init__(file)
        self._path = path
        self._placeholders: dict[str, type[_Opaque]] = {}
        self._allowed: dict[str, Any] = {
            "collections.OrderedDict": OrderedDict,
            "collections.defaultdict": self._defaultdict,
            "copyreg._reconstructor": self._reconstructor,
            "_codecs.encode": self._codecs_encode,
            "builtins.bytes": self._bytes,
            "builtins.bytearray": self._bytearray,
            "torch._utils._rebuild_tensor": self._rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self._rebuild_tensor,
            "torch._utils._rebuild_tensor_v3": self._rebuild_tensor_v3,
            "torch._utils._rebuild_qtensor": self._rebuild_tensor,
            "torch._utils._rebuild_parameter": self._rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self._rebuild_parameter,
            "torch._utils._rebuild_meta_tensor_no_storage": self._rebuild_meta_tensor,
            "torch._utils._rebuild_wrapper_subclass": self._rebuild_wrapper_subclass,
            "torch._utils._rebuild_device_tensor_from_cpu_tensor": self._rebuild_device_tensor,
            "torch._tensor._rebuild_from_type": self._rebuild_from_type,
            "torch._tensor._rebuild_from_type_v2": self._rebuild_from_type,
            "torch.Size": self._size,
            "torch.device": self._device,
        }

    def guarded_load(self) -> Any:
        """`load()` with every failure turned into a one-line CheckpointError."""
        try:
            return self.load()
        except CheckpointError:
            raise
        except (EOFError, pickle.UnpicklingError) as error:
            raise CheckpointError(f"{self._path} is truncated or corrupt: "
                                  f"{_one_line(error) or 'unexpected end of data'}") from None
        except (RecursionError, MemoryError):
            raise CheckpointError(f"{self._path} is corrupt: its pickle is too deep or "
                                  "too large") from None
        except Exception as error:
            raise CheckpointError(f"{self._path} is corrupt or not a checkpoint: "
                                  f"{type(error).__name__}: {_one_line(error)}") from None

    @property
    def foreign_globals(self) -> list[str]:
        return sorted(self._placeholders)

    # -- what names may resolve to ------------------------------------------------------
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if full in self._allowed:
            return self._allowed[full]
        if module == "builtins" and name in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[name]
        if module in {"torch", "torch.cuda", "torch.storage"} and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:
            return _DType(_DTYPE_ALIASES.get(name, name))
        if _refused(module, name):
            raise CheckpointError(
                f"refusing to unpickle {full}: {self._path} would call it when loaded "
                "(a malicious or unsafe checkpoint); nothing from the file was executed")
        placeholder = self._placeholders.get(full)
        if placeholder is None:
            placeholder = type(name if name.isidentifier() else "Opaque", (_Opaque,),
                               {"_fzl_global": full})
            self._placeholders[full] = placeholder
        return placeholder

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid:
            raise CheckpointError(f"{self._path} is corrupt: unknown persistent id {pid!r:.60}")
        kind = pid[0].decode("ascii", "replace") if isinstance(pid[0], bytes) else pid[0]
        if kind == "storage" and len(pid) >= 2:
            storage_type = pid[1]
            if isinstance(storage_type, _StorageType):
                return _Storage(storage_type.dtype)
            if isinstance(storage_type, type) and issubclass(storage_type, _Opaque):
                return _Storage(_dtype_from_storage_name(storage_type._fzl_global))
            raise CheckpointError(f"{self._path} is corrupt: bad storage type in a "
                                  "persistent id")
        if kind == "module":  # legacy format: source of a pickled module class
            return pid[1] if len(pid) > 1 else None
        raise CheckpointError(f"{self._path} is corrupt: unknown persistent id {kind!r:.60}")

    # -- stand-ins ------------------------------------------------------------------------
    def _rebuild_tensor(self, storage: Any, storage_offset: Any, size: Any,
                        *rest: Any) -> _Tensor:
        return _Tensor(self._shape(size), self._storage_dtype(storage))

    def _rebuild_tensor_v3(self, storage: Any, storage_offset: Any, size: Any, stride: Any,
                           requires_grad: Any, backward_hooks: Any, dtype: Any,
                           *rest: Any) -> _Tensor:
        self._storage_dtype(storage)
        return _Tensor(self._shape(size), _dtype_name(dtype))

    def _rebuild_parameter(self, data: Any, *rest: Any) -> Any:
        return data

    def _rebuild_meta_tensor(self, dtype: Any, size: Any, *rest: Any) -> _Tensor:
        return _Tensor(self._shape(size), _dtype_name(dtype))

    def _rebuild_wrapper_subclass(self, cls: Any, dtype: Any, size: Any, *rest: Any) -> _Tensor:
        return _Tensor(self._shape(size), _dtype_name(dtype))

    def _rebuild_device_tensor(self, data: Any, dtype: Any, *rest: Any) -> Any:
        if isinstance(data, _Tensor):
            return _Tensor(data.shape, _dtype_name(dtype))
        return data

    def _rebuild_from_type(self, func: Any, new_type: Any, args: Any, state: Any) -> Any:
        if func in self._allowed.values() and isinstance(args, tuple):
            return func(*args)
        return None

    def _size(self, *args: Any) -> tuple[int, ...]:
        return self._shape(args[0]) if args else ()

    def _device(self, *args: Any) -> str:
        return ":".join(str(a) for a in args)

    def _defaultdict(self, *args: Any) -> dict[Any, Any]:
        return {}

    def _reconstructor(self, cls: Any, base: Any, state: Any) -> Any:
        if isinstance(cls, type) and issubclass(cls, _Opaque):
            return cls(state)
        if cls in _SAFE_BUILTINS.values() or cls is OrderedDict:
            return cls() if state is None else cls(state)
        raise CheckpointError(f"{self._path} is corrupt: bad copyreg._reconstructor call")

    def _codecs_encode(self, text: Any, encoding: str = "utf-8", *rest: Any) -> bytes:
        # protocol 2 pickles bytes as _codecs.encode(str, 'latin1')
        if not isinstance(text, str) or encoding not in {"latin1", "latin-1", "utf-8", "ascii"}:
            raise CheckpointError(f"{self._path} is corrupt: bad _codecs.encode call")
        return text.encode(encoding)

    def _bytes(self, *args: Any) -> bytes:
        return bytes(self._bytes_source(args))

    def _bytearray(self, *args: Any) -> bytearray:
        return bytearray(self._bytes_source(args))

    def _bytes_source(self, args: tuple[Any, ...]) -> bytes:
        # bytes(10**12) would allocate a terabyte: only copies of existing data are allowed
        if not args:
            return b""
        if isinstance(args[0], bytes | bytearray):
            return bytes(args[0])
        if isinstance(args[0], str) and len(args) > 1 and isinstance(args[1], str):
            return self._codecs_encode(args[0], args[1])
        raise CheckpointError(f"{self._path} is corrupt: bad bytes() call")

    def _shape(self, size: Any) -> tuple[int, ...]:
        if isinstance(size, tuple | list) and all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in size):
            return tuple(size)
        raise CheckpointError(f"{self._path} is corrupt: bad tensor size {size!r:.60}")

    def _storage_dtype(self, storage: Any) -> str:
        if isinstance(storage, _Storage):
            return storage.dtype
        raise CheckpointError(f"{self._path} is corrupt: a tensor without a storage")


def _refused(module: str, name: str) -> bool:
    if module.split(".")[0] in _REFUSED_MODULES:
        return True
    return name in _REFUSED_NAMES or name.lower().startswith(_REFUSED_NAME_PREFIXES)


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, _DType):
        return dtype.name
    if isinstance(dtype, type) and issubclass(dtype, _Opaque):  # a dtype newer than us
        return dtype._fzl_global.rpartition(".")[2]
    return "?"


def _dtype_from_storage_name(full: str) -> str:
    name = full.rpartition(".")[2]
    return name.removesuffix("Storage").lower() or "?"


# -- finding the state dict ----------------------------------------------------------------


def _state_dict_of(obj: Any, file: Path, unpickler: _RestrictedUnpickler
                   ) -> tuple[list[TensorInfo], str | None, dict[str, Any]]:
    """The largest dict of tensors at the top level or one level down.

    Wrapped checkpoints (`{"state_dict": ..., "epoch": 3}`, `{"model": ...}`) are common;
    the optimizer's state sits two levels down and never wins. A pickled `nn.Module`
    (`torch.save(model)`) is walked like `state_dict()` would."""
    candidates: list[tuple[str | None, Any]] = [(None, obj)]
    if isinstance(obj, dict):
        candidates += [(k, v) for k, v in obj.items() if isinstance(k, str)]
    best_key: str | None = None
    best: list[tuple[str, _Tensor]] = []
    best_module: str | None = None
    for key, value in candidates:
        try:
            found, module_type = _tensors_in(value)
        except CheckpointError as error:
            raise CheckpointError(f"{file}: {error}") from None
        if len(found) > len(best):
            best_key, best, best_module = key, found, module_type
    if not best:
        raise CheckpointError(f"{file} holds no state dict (no dict of tensors at the top "
                              "level or one level down)")
    extra: dict[str, Any] = {}
    if best_module is not None:
        extra["module_type"] = best_module
    if unpickler.foreign_globals:
        extra["foreign_globals"] = unpickler.foreign_globals
    tensors = [TensorInfo(name, t.shape, t.dtype) for name, t in best]
    return tensors, best_key, extra


def _tensors_in(value: Any) -> tuple[list[tuple[str, _Tensor]], str | None]:
    if isinstance(value, _Opaque) and _module_state(value) is not None:
        return _walk_module(value), type(value)._fzl_global.rpartition(".")[2]
    if isinstance(value, dict):
        return [(k, v) for k, v in value.items()
                if isinstance(k, str) and isinstance(v, _Tensor)], None
    return [], None


def _module_state(value: _Opaque) -> dict[str, Any] | None:
    state = value._fzl_state
    if isinstance(state, tuple) and state and isinstance(state[0], dict):
        state = state[0]
    if isinstance(state, dict) and isinstance(state.get("_parameters"), dict):
        return state
    return None


def _walk_module(root: _Opaque) -> list[tuple[str, _Tensor]]:
    """A pickled module's state-dict entries (params, persistent buffers, then children,
    depth first), the order `Module.state_dict()` uses. Iterative, and bounded: a module
    nested more than MAX_MODULE_DEPTH levels deep is refused with a CheckpointError."""
    out: list[tuple[str, _Tensor]] = []
    seen: set[int] = set()
    stack: list[tuple[_Opaque, str, int]] = [(root, "", 0)]
    while stack:
        module, prefix, depth = stack.pop()
        state = _module_state(module)
        if state is None or id(module) in seen:
            continue
        if depth > MAX_MODULE_DEPTH:
            raise CheckpointError(f"pickled modules nested more than {MAX_MODULE_DEPTH} "
                                  "levels deep: not a model freezelint reads")
        seen.add(id(module))
        non_persistent = state.get("_non_persistent_buffers_set") or set()
        for name, tensor in state["_parameters"].items():
            if isinstance(tensor, _Tensor):
                out.append((prefix + str(name), tensor))
        buffers = state.get("_buffers")
        if isinstance(buffers, dict):
            for name, tensor in buffers.items():
                if isinstance(tensor, _Tensor) and name not in non_persistent:
                    out.append((prefix + str(name), tensor))
        children = state.get("_modules")
        if isinstance(children, dict):
            stack.extend((child, f"{prefix}{name}.", depth + 1)
                         for name, child in reversed(children.items())
                         if isinstance(child, _Opaque))
    return out


# -- messages ------------------------------------------------------------------------------


def _directory_message(directory: Path) -> str:
    inside = sorted(p.name for p in directory.iterdir()
                    if p.suffix in CHECKPOINT_SUFFIXES and p.is_file())[:3]
    hint = f" (pass a weights file inside it: {', '.join(inside)})" if inside else ""
    return f"{directory} is a directory, not a checkpoint file{hint}"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]
