"""read_checkpoint against files written by the real torch.save / safetensors writers.

The models are real architectures (AST, a ResNet-18 with BatchNorm buffers, a torch
TransformerEncoder), so the pickles contain what real checkpoints contain: Parameters,
int64 `num_batches_tracked`, `_metadata` on the OrderedDict, shared storages.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from freezelint.models.checkpoint import (
    CHECKPOINT_SUFFIXES,
    CheckpointError,
    common_prefix,
    read_checkpoint,
)

REPO = Path(__file__).resolve().parents[1]


# -- real architectures ----------------------------------------------------------------------


def _resnet18(num_classes: int = 10) -> Any:
    """torchvision's ResNet-18 layout (conv1/bn1/layer1..4/fc, BasicBlocks with a
    downsample branch), built from torch.nn so the test needs no torchvision."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            widths, inplanes = (64, 128, 256, 512), 64
            for index, width in enumerate(widths, start=1):
                stride = 1 if index == 1 else 2
                layer = nn.Sequential(BasicBlock(inplanes, width, stride),
                                      BasicBlock(width, width))
                setattr(self, f"layer{index}", layer)
                inplanes = width
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

    return ResNet()


def _ast() -> Any:
    pytest.importorskip("torch")
    try:
        from freezelint.models.architectures.ast_model import ASTModel
    except ImportError as error:  # written concurrently; the other models still run
        pytest.skip(f"ASTModel not available: {error}")
    return ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                    imagenet_pretrain=False, audioset_pretrain=False)


def _transformer() -> Any:
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class TextClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(1000, 64)
            layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2)
            self.classifier = nn.Sequential(nn.LayerNorm(64), nn.Linear(64, 5))

    return TextClassifier()


ARCHITECTURES = {"ast": _ast, "resnet18": _resnet18, "transformer": _transformer}


@pytest.fixture(params=sorted(ARCHITECTURES))
def model(request: pytest.FixtureRequest) -> Any:
    return ARCHITECTURES[request.param]()


def _expected(state_dict: dict[str, Any]) -> list[tuple[str, tuple[int, ...], str]]:
    return [(k, tuple(v.shape), str(v.dtype).removeprefix("torch."))
            for k, v in state_dict.items()]


def _read(manifest: Any) -> list[tuple[str, tuple[int, ...], str]]:
    return [(t.name, t.shape, t.dtype) for t in manifest.parameters]


# -- torch.save formats ------------------------------------------------------------------------


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_state_dict_matches_live_model(model: Any, zipped: bool, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "weights.pth"
    torch.save(model.state_dict(), path, _use_new_zipfile_serialization=zipped)

    manifest = read_checkpoint(path)

    assert _read(manifest) == _expected(model.state_dict())
    assert manifest.name == "weights.pth"
    assert manifest.source == "checkpoint"
    assert manifest.modules == ()
    assert manifest.meta == {"path": str(path),
                             "format": "torch-zip" if zipped else "torch-legacy",
                             "container_key": None}


def test_batchnorm_buffers_are_read_with_their_dtypes(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = _resnet18()
    torch.save(net.state_dict(), tmp_path / "r.pt")
    tensors = {t.name: t for t in read_checkpoint(tmp_path / "r.pt").parameters}
    assert tensors["bn1.running_mean"].shape == (64,)
    assert tensors["bn1.running_var"].dtype == "float32"
    assert tensors["bn1.num_batches_tracked"].shape == ()
    assert tensors["bn1.num_batches_tracked"].dtype == "int64"
    assert tensors["layer2.0.downsample.1.num_batches_tracked"].dtype == "int64"
    assert len(tensors) > len(list(net.named_parameters()))


def test_mixed_dtypes_and_views(tmp_path: Path) -> None:
    """half/bfloat16 weights, float8 (pickled with _rebuild_tensor_v3 and an untyped
    storage), bool masks, non-contiguous views and tensors sharing one storage."""
    torch = pytest.importorskip("torch")
    net = _transformer()
    state = OrderedDict((k, v.half()) for k, v in net.state_dict().items())
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    state["extra.bf16"] = torch.zeros(2, 3, dtype=torch.bfloat16)
    state["extra.f8"] = torch.zeros(4, dtype=torch.float8_e4m3fn)
    state["extra.mask"] = torch.ones(5, dtype=torch.bool)
    state["extra.transposed"] = base.t()
    state["extra.row"] = base[1]
    state["extra.scalar"] = torch.tensor(7)
    for zipped in (True, False):
        path = tmp_path / f"mixed-{zipped}.pt"
        torch.save(state, path, _use_new_zipfile_serialization=zipped)
        assert _read(read_checkpoint(path)) == _expected(state)


def test_dataparallel_prefix(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    wrapped = torch.nn.DataParallel(_resnet18())
    torch.save(wrapped.state_dict(), tmp_path / "dp.pth")

    manifest = read_checkpoint(tmp_path / "dp.pth")

    keys = manifest.state_dict_keys
    assert keys == list(wrapped.state_dict())
    assert all(k.startswith("module.") for k in keys)
    assert common_prefix(keys) == "module."
    stripped = [k.removeprefix("module.") for k in keys]
    assert stripped == list(wrapped.module.state_dict())


def test_compiled_inside_dataparallel_prefix(tmp_path: Path) -> None:
    """`module._orig_mod.`: a torch.compile'd model saved under DDP. Built with a holder
    module whose attribute is `_orig_mod`, as OptimizedModule names it."""
    torch = pytest.importorskip("torch")

    class Holder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self._orig_mod = inner

    wrapped = torch.nn.DataParallel(Holder(_transformer()))
    torch.save(wrapped.state_dict(), tmp_path / "ddp-compiled.pt")
    keys = read_checkpoint(tmp_path / "ddp-compiled.pt").state_dict_keys
    assert common_prefix(keys) == "module._orig_mod."


@pytest.mark.parametrize("key", ["state_dict", "model", "model_state_dict", "net"])
def test_wrapped_state_dict(key: str, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = _resnet18()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    checkpoint = {"epoch": 3, "global_step": 1200, key: net.state_dict(),
                  "optimizer": optimizer.state_dict(), "best_acc": 0.91,
                  "lr_schedulers": [{"last_epoch": 3}], "note": b"bytes survive"}
    torch.save(checkpoint, tmp_path / "run.ckpt")

    manifest = read_checkpoint(tmp_path / "run.ckpt")

    assert manifest.meta["container_key"] == key
    assert _read(manifest) == _expected(net.state_dict())


def test_lightning_style_checkpoint(tmp_path: Path) -> None:
    """A LightningModule holding the network as `self.model`, checkpointed with the
    optimizer's (populated) state and hyper-parameters in an argparse.Namespace."""
    torch = pytest.importorskip("torch")
    import argparse

    class LitClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = _ast() if _has_ast() else _transformer()

    lit = LitClassifier()
    optimizer = torch.optim.Adam(lit.parameters())
    for p in lit.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # exp_avg / exp_avg_sq tensors two levels down
    checkpoint = {"epoch": 3, "global_step": 10, "pytorch-lightning_version": "2.4.0",
                  "state_dict": lit.state_dict(), "optimizer_states": [optimizer.state_dict()],
                  "hyper_parameters": argparse.Namespace(lr=1e-3, classes=10),
                  "callbacks": {"ModelCheckpoint": {"best_model_score": torch.tensor(0.5)}}}
    torch.save(checkpoint, tmp_path / "epoch=3.ckpt")

    manifest = read_checkpoint(tmp_path / "epoch=3.ckpt")

    assert manifest.meta["container_key"] == "state_dict"
    assert manifest.state_dict_keys == list(lit.state_dict())
    assert common_prefix(manifest.state_dict_keys) == "model."
    assert "argparse.Namespace" in manifest.meta["foreign_globals"]


@pytest.mark.parametrize("kind", ["ast-or-transformer", "sequential-bn"])
def test_pickled_whole_module(kind: str, tmp_path: Path) -> None:
    """torch.save(model) pickles the classes; their state is walked like state_dict().
    (Classes must be importable to be pickled, so these are torch's and freezelint's.)"""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    if kind == "sequential-bn":
        net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))
        net[1].register_buffer("scratch", torch.zeros(3), persistent=False)
    elif _has_ast():
        net = _ast()
    else:
        net = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64), 2)
    torch.save({"model": net, "epoch": 1}, tmp_path / "full.pt")
    manifest = read_checkpoint(tmp_path / "full.pt")
    assert _read(manifest) == _expected(net.state_dict())
    assert manifest.meta["container_key"] == "model"
    assert manifest.meta["module_type"] == type(net).__name__


def test_hf_style_bin_is_a_torch_zip(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = _transformer()
    torch.save(net.state_dict(), tmp_path / "pytorch_model.bin")
    manifest = read_checkpoint(tmp_path / "pytorch_model.bin")
    assert manifest.meta["format"] == "torch-zip"
    assert manifest.state_dict_keys == list(net.state_dict())


# -- safetensors -------------------------------------------------------------------------------


def _write_safetensors(path: Path, tensors: list[tuple[str, str, list[int], int]],
                       metadata: dict[str, str] | None = None) -> None:
    """The format by hand: u64 little-endian header size, JSON header, raw bytes."""
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, itemsize in tensors:
        count = 1
        for size in shape:
            count *= size
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + count * itemsize]}
        offset += count * itemsize
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))


def test_safetensors_handwritten(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, [("v.cls_token", "F32", [1, 1, 768], 4),
                              ("v.pos_embed", "BF16", [1, 1214, 768], 2),
                              ("bn.num_batches_tracked", "I64", [], 8),
                              ("mask", "BOOL", [3], 1)],
                       metadata={"format": "pt"})
    manifest = read_checkpoint(path)
    assert _read(manifest) == [("v.cls_token", (1, 1, 768), "float32"),
                               ("v.pos_embed", (1, 1214, 768), "bfloat16"),
                               ("bn.num_batches_tracked", (), "int64"),
                               ("mask", (3,), "bool")]
    assert manifest.meta == {"path": str(path), "format": "safetensors", "container_key": None}


def test_safetensors_real_writer(model: Any, tmp_path: Path) -> None:
    """The safetensors package's own (Rust) writer, with its header order and padding."""
    torch = pytest.importorskip("torch")
    safetensors = pytest.importorskip("safetensors")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["extra.bf16"] = torch.zeros(3, 2, dtype=torch.bfloat16)
    state["extra.half"] = torch.zeros(5, dtype=torch.float16)
    path = tmp_path / "model.safetensors"
    try:
        import numpy  # noqa: F401  (safetensors.torch.save_file needs it)
    except ImportError:
        specs = {k: safetensors.TensorSpec(dtype=str(v.dtype).removeprefix("torch."),
                                           shape=list(v.shape), data_ptr=v.data_ptr(),
                                           data_len=v.numel() * v.element_size())
                 for k, v in state.items()}
        safetensors.serialize_file(specs, str(path), metadata={"format": "pt"})
    else:
        from safetensors.torch import save_file
        save_file(state, str(path), metadata={"format": "pt"})

    manifest = read_checkpoint(path)

    assert sorted(_read(manifest)) == sorted(_expected(state))
    assert manifest.meta["format"] == "safetensors"


def test_safetensors_truncated(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, [("w", "F32", [256, 256], 4)])
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(CheckpointError, match="truncated"):
        read_checkpoint(path)


def test_safetensors_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        read_checkpoint(path)
    path.write_bytes(struct.pack("<Q", 12) + b'{"w": [1, 2]}' + bytes(8))
    with pytest.raises(CheckpointError):
        read_checkpoint(path)


# -- hostile files -----------------------------------------------------------------------------


class _Exploit:
    """A payload in the style of real pickle exploits: __reduce__ names a callable."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


def _touch_command(marker: Path) -> str:
    return f"touch {marker}"


def _payloads(marker: Path) -> dict[str, Any]:
    import subprocess as sp

    return {
        "os.system": _Exploit(os.system, _touch_command(marker)),
        "subprocess.Popen": _Exploit(sp.Popen, ["touch", str(marker)]),
        "builtins.eval": _Exploit(eval, f"open({str(marker)!r}, 'w')"),
        "builtins.exec": _Exploit(exec, f"open({str(marker)!r}, 'w')"),
        "builtins.getattr": _Exploit(getattr, str(marker), "upper"),
    }


def _zip_checkpoint(path: Path, data_pkl: bytes) -> None:
    """A zip laid out like torch.save's, with a hand-made data.pkl."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/byteorder", "little")


@pytest.mark.parametrize("payload", ["os.system", "subprocess.Popen", "builtins.eval",
                                     "builtins.exec", "builtins.getattr"])
def test_malicious_zip_is_refused_and_not_run(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = OrderedDict([("weight", [1.0]), ("payload", _payloads(marker)[payload])])
    path = tmp_path / "evil.pth"
    _zip_checkpoint(path, pickle.dumps(evil, protocol=2))

    with pytest.raises(CheckpointError, match="refusing to unpickle") as caught:
        read_checkpoint(path)

    assert not marker.exists()
    assert "\n" not in str(caught.value)
    assert payload.split(".")[1] in str(caught.value)


def test_malicious_payload_next_to_real_tensors(tmp_path: Path) -> None:
    """The real attack: a working state dict with one poisoned entry."""
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    state = _transformer().state_dict()
    state["zz_payload"] = _Exploit(os.system, _touch_command(marker))  # type: ignore[assignment]
    path = tmp_path / "poisoned.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"refusing to unpickle (posix|nt|os)\.system"):
        read_checkpoint(path)
    assert not marker.exists()


def test_malicious_legacy_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    stream = io.BytesIO()
    pickle.dump(0x1950A86A20F9469CFC6C, stream, protocol=2)  # torch's magic number
    pickle.dump(1001, stream, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True}, stream, protocol=2)
    pickle.dump({"weight": _Exploit(os.system, _touch_command(marker))}, stream, protocol=2)
    path = tmp_path / "evil_legacy.pth"
    path.write_bytes(stream.getvalue())

    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        read_checkpoint(path)
    assert not marker.exists()


def test_malicious_magic_number_pickle_is_refused(tmp_path: Path) -> None:
    """The payload can sit in the very first pickle, before any magic number check."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_first.pt"
    path.write_bytes(pickle.dumps(_Exploit(os.system, _touch_command(marker)), protocol=2))
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        read_checkpoint(path)
    assert not marker.exists()


def test_unknown_globals_are_inert(tmp_path: Path) -> None:
    """A global we do not model becomes a placeholder: never imported, never called."""
    marker = tmp_path / "imported"
    package = tmp_path / "sneaky_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                         "def build(*a):\n    raise SystemExit(3)\n")
    data = (b"\x80\x02}q\x00(X\x04\x00\x00\x00confq\x01csneaky_pkg\nbuild\nq\x02"
            b"X\x01\x00\x00\x00xq\x03\x85q\x04Rq\x05u.")
    path = tmp_path / "odd.pt"
    _zip_checkpoint(path, data)
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(CheckpointError, match="no state dict"):
            read_checkpoint(path)
    finally:
        sys.path.remove(str(tmp_path))
    assert not marker.exists()
    assert "sneaky_pkg" not in sys.modules


def test_torchscript_archive_is_named(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    scripted = torch.jit.script(torch.nn.Linear(3, 2))
    scripted.save(str(tmp_path / "scripted.pt"))
    with pytest.raises(CheckpointError, match="TorchScript"):
        read_checkpoint(tmp_path / "scripted.pt")


# -- broken inputs -----------------------------------------------------------------------------


def _assert_one_line_error(path: Path, match: str) -> None:
    with pytest.raises(CheckpointError, match=match) as caught:
        read_checkpoint(path)
    assert "\n" not in str(caught.value)
    assert "Traceback" not in str(caught.value)


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_truncated_torch_checkpoint(zipped: bool, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "cut.pth"
    torch.save(_transformer().state_dict(), path, _use_new_zipfile_serialization=zipped)
    data = path.read_bytes()
    # the zip's directory is at its end; the legacy main pickle starts after ~140 bytes
    path.write_bytes(data[: len(data) // 2] if zipped else data[:400])
    _assert_one_line_error(path, "truncated or corrupt")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(bytes(range(7, 256)) * 40)
    _assert_one_line_error(path, "not a PyTorch or safetensors checkpoint")


def test_random_bytes_with_pickle_and_zip_magic(tmp_path: Path) -> None:
    for head in (b"\x80\x02", b"\x80\x04\x95", b"PK\x03\x04"):
        path = tmp_path / "noise.bin"
        path.write_bytes(head + bytes(range(256)) * 10)
        with pytest.raises(CheckpointError):
            read_checkpoint(path)


def test_plain_pickle_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl.pt"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    _assert_one_line_error(path, "not a PyTorch checkpoint")


def test_no_tensors(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save({"epoch": 3, "config": {"lr": 0.1}}, tmp_path / "meta.pt")
    _assert_one_line_error(tmp_path / "meta.pt", "no state dict")


def test_directory_missing_and_empty(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"")
    _assert_one_line_error(tmp_path, "is a directory.*model.safetensors")
    _assert_one_line_error(tmp_path / "missing.pt", "not found")
    _assert_one_line_error(tmp_path / "model.safetensors", "is empty")


def test_zip_without_data_pkl(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.npy", b"\x93NUMPY")
    _assert_one_line_error(path, "without data.pkl")


def test_fuzzed_pickles_only_raise_checkpoint_error(tmp_path: Path) -> None:
    """Mutated versions of a real data.pkl either read or fail with CheckpointError."""
    torch = pytest.importorskip("torch")
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    source = tmp_path / "src.pt"
    torch.save(_resnet18().state_dict(), source)
    with zipfile.ZipFile(source) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        original = archive.read(name)
    target = tmp_path / "fuzzed.pt"

    @hypothesis.settings(max_examples=150, deadline=None, database=None)
    @hypothesis.given(st.lists(st.tuples(st.integers(0, len(original) - 1),
                                         st.integers(0, 255)), min_size=1, max_size=8))
    def check(mutations: list[tuple[int, int]]) -> None:
        data = bytearray(original)
        for index, value in mutations:
            data[index] = value
        _zip_checkpoint(target, bytes(data))
        try:
            read_checkpoint(target)
        except CheckpointError as error:
            assert "\n" not in str(error)

    check()


# -- helpers and properties --------------------------------------------------------------------


def test_common_prefix() -> None:
    assert common_prefix(["module.fc.weight", "module.fc.bias"]) == "module."
    assert common_prefix(["module._orig_mod.fc.weight", "module._orig_mod.bn.bias"]) \
        == "module._orig_mod."
    assert common_prefix(["_orig_mod.v.cls_token", "_orig_mod.mlp_head.1.bias"]) == "_orig_mod."
    assert common_prefix(["model.backbone.conv.weight", "model.backbone.fc.bias"]) \
        == "model.backbone."
    assert common_prefix(["encoder.layer.0.w", "encoder.layer.1.w"]) == "encoder."
    assert common_prefix(["module.fc.weight", "fc.bias"]) is None
    assert common_prefix(["fc.weight", "fc.bias"]) is None
    assert common_prefix(["module."]) is None
    assert common_prefix([]) is None


def test_suffixes() -> None:
    assert CHECKPOINT_SUFFIXES == (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


def test_reading_does_not_import_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "ast.pth"
    net = _ast() if _has_ast() else _resnet18()
    torch.save({"state_dict": net.state_dict(), "epoch": 3}, path)
    code = ("import sys, json\n"
            "from freezelint.models.checkpoint import read_checkpoint\n"
            f"m = read_checkpoint({str(path)!r})\n"
            "print(json.dumps([len(m.parameters), 'torch' in sys.modules]))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=env, check=True)
    count, imported = json.loads(completed.stdout)
    assert count == len(net.state_dict())
    assert imported is False


def _has_ast() -> bool:
    try:
        from freezelint.models.architectures.ast_model import ASTModel  # noqa: F401
    except ImportError:
        return False
    return True
