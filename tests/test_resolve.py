"""resolve_model: every spec form, and a one-line ModelSpecError for every bad one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from freezelint.models import checkpoint
from freezelint.models.ast_arch import ast_manifest
from freezelint.models.manifest import Manifest
from freezelint.models.resolve import CHECKPOINT_SUFFIXES, ModelSpecError, resolve_model

REPO = Path(__file__).resolve().parents[1]


def _shapes(manifest: Manifest) -> dict[str, tuple[int, ...]]:
    return {p.name: p.shape for p in manifest.parameters}


# -- zoo and call syntax -------------------------------------------------------------------


def test_zoo_id() -> None:
    manifest = resolve_model("ast")
    assert manifest.name == "ast"
    assert len(manifest.parameters) == 159
    assert _shapes(manifest)["v.pos_embed"] == (1, 1214, 768)


def test_zoo_id_with_kwargs() -> None:
    shapes = _shapes(resolve_model("ast", {"label_dim": 10, "input_tdim": 512}))
    assert shapes["v.pos_embed"] == (1, 602, 768)
    assert shapes["mlp_head.1.weight"] == (10, 768)


def test_call_syntax_parses_literal_kwargs() -> None:
    shapes = _shapes(resolve_model("ast(label_dim=10, input_tdim=512)"))
    assert shapes["v.pos_embed"] == (1, 602, 768)
    assert shapes["mlp_head.1.weight"] == (10, 768)
    shapes = _shapes(resolve_model("ast(model_size='tiny224')"))
    assert shapes["v.cls_token"] == (1, 1, 192)


def test_explicit_kwargs_override_the_call() -> None:
    shapes = _shapes(resolve_model("ast(label_dim=10)", {"label_dim": 3}))
    assert shapes["mlp_head.1.weight"] == (3, 768)


def test_zoo_alias_and_num_classes() -> None:
    manifest = resolve_model("torchvision/resnet50(num_classes=7)")
    assert _shapes(manifest)["fc.weight"] == (7, 2048)


@pytest.mark.parametrize(("spec", "fragment"), [
    ("ast(10)", "pass arguments by keyword"),
    ("ast(label_dim=int('3'))", "must be a literal"),
    ("ast(label_dim=)", "cannot parse the arguments"),
    ("ast(**cfg)", "'**' arguments are not supported"),
    ("(label_dim=3)", "no model name"),
])
def test_bad_call_syntax(spec: str, fragment: str) -> None:
    with pytest.raises(ModelSpecError, match=re.escape(fragment)):
        resolve_model(spec)


def test_unknown_zoo_id_suggests() -> None:
    with pytest.raises(ModelSpecError, match=r"unknown zoo model 'asst'; did you mean ast"):
        resolve_model("asst")


def test_bad_zoo_argument() -> None:
    with pytest.raises(ModelSpecError, match="unexpected argument"):
        resolve_model("resnet50", {"depth": 3})
    with pytest.raises(ModelSpecError, match="unexpected argument"):
        resolve_model("ast", {"lable_dim": 3})


def test_empty_spec() -> None:
    with pytest.raises(ModelSpecError, match="empty model spec"):
        resolve_model("  ")


# -- files -----------------------------------------------------------------------------------


def test_manifest_json_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "small.json").write_text(
        ast_manifest(label_dim=4, model_size="tiny224").dumps(), encoding="utf-8")
    manifest = resolve_model("models/small.json", base_dir=tmp_path)
    assert _shapes(manifest)["mlp_head.1.weight"] == (4, 192)


def test_manifest_json_rejects_kwargs(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(ast_manifest().dumps(), encoding="utf-8")
    with pytest.raises(ModelSpecError, match=r"model arguments \(label_dim\) do not apply"):
        resolve_model("m.json", {"label_dim": 3}, base_dir=tmp_path)


def test_not_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"a": 1}', encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelSpecError, match=r"other\.json.*not a freezelint manifest"):
        resolve_model("other.json", base_dir=tmp_path)
    with pytest.raises(ModelSpecError, match=r"broken\.json is not JSON"):
        resolve_model("broken.json", base_dir=tmp_path)


@pytest.mark.parametrize("spec", ["missing.json", "weights/best.pt", "./run/last.ckpt",
                                  "model.safetensors", "./nothing"])
def test_missing_file(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ModelSpecError, match="model file not found: "):
        resolve_model(spec, base_dir=tmp_path)


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelSpecError, match=r"run is a directory.*model\.safetensors"):
        resolve_model("run", base_dir=tmp_path)
    with pytest.raises(ModelSpecError, match="is a directory"):
        resolve_model("./run/", base_dir=tmp_path)


def test_a_file_named_like_a_zoo_id_does_not_shadow_it(tmp_path: Path) -> None:
    (tmp_path / "ast").write_text("not a model", encoding="utf-8")
    assert resolve_model("ast", base_dir=tmp_path).name == "ast"


def test_python_file_without_a_name(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(ModelSpecError, match=r"net.py is a Python file.*net.py:MyModel"):
        resolve_model("net.py", base_dir=tmp_path)


def test_corrupt_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(ModelSpecError, match=r"bad\.pt.*not a PyTorch or safetensors"):
        resolve_model("bad.pt", base_dir=tmp_path)
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(ModelSpecError, match="empty"):
        resolve_model("empty.pth", base_dir=tmp_path)


def test_suffixes_agree_with_the_checkpoint_reader() -> None:
    assert CHECKPOINT_SUFFIXES == checkpoint.CHECKPOINT_SUFFIXES


def _tiny_ast_state_dict(prefix: str) -> dict[str, object]:
    pytest.importorskip("torch")
    from freezelint.models.architectures.ast_model import ASTModel

    model = ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                     imagenet_pretrain=False, audioset_pretrain=False)
    return {prefix + k: v for k, v in model.state_dict().items()}


@pytest.mark.torch
def test_checkpoint_wrapper_prefix_is_stripped(tmp_path: Path) -> None:
    import torch

    torch.save(_tiny_ast_state_dict("module."), tmp_path / "ast_dp.pth")
    manifest = resolve_model("ast_dp.pth", base_dir=tmp_path)
    expected = ast_manifest(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224")
    assert manifest.parameter_names == expected.parameter_names
    assert _shapes(manifest) == _shapes(expected)
    assert manifest.meta["stripped_prefix"] == "module."
    assert manifest.source == "checkpoint"


@pytest.mark.torch
def test_checkpoint_without_prefix(tmp_path: Path) -> None:
    import torch

    torch.save({"state_dict": _tiny_ast_state_dict(""), "epoch": 3}, tmp_path / "plain.ckpt")
    manifest = resolve_model(str(tmp_path / "plain.ckpt"))
    assert manifest.parameter_names[0] == "v.cls_token"
    assert "stripped_prefix" not in manifest.meta


def test_checkpoint_rejects_kwargs(tmp_path: Path) -> None:
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(ModelSpecError, match="do not apply"):
        resolve_model("w.pt", {"num_classes": 3}, base_dir=tmp_path)


# -- user models ---------------------------------------------------------------------------


def test_user_code_refused_when_not_allowed(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text("raise SystemExit('must not run')\n", encoding="utf-8")
    for spec in ("net.py:Net", "mypkg.models:make_model"):
        with pytest.raises(ModelSpecError, match="--trust-local-models"):
            resolve_model(spec, base_dir=tmp_path, allow_user_code=False)


@pytest.mark.torch
def test_user_model_file(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, classes=5):
                super().__init__()
                self.body = nn.Linear(8, 4)
                self.fc = nn.Linear(4, classes)
    """), encoding="utf-8")
    manifest = resolve_model("net.py:Net(classes=3)", base_dir=tmp_path,
                             cache_dir=tmp_path / "cache")
    assert manifest.parameter_names == ["body.weight", "body.bias", "fc.weight", "fc.bias"]
    assert _shapes(manifest)["fc.weight"] == (3, 4)


def test_user_model_that_fails_to_build(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "net.py").write_text("def make():\n    raise RuntimeError('boom')\n",
                                     encoding="utf-8")
    with pytest.raises(ModelSpecError, match="boom"):
        resolve_model("net.py:make", base_dir=tmp_path, cache_dir=tmp_path / "cache")


# -- no torch --------------------------------------------------------------------------------


def test_resolving_zoo_json_and_checkpoint_never_imports_torch(tmp_path: Path) -> None:
    safetensors = tmp_path / "w.safetensors"
    header = b'{"module.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}'
    safetensors.write_bytes(len(header).to_bytes(8, "little") + header + bytes(24))
    (tmp_path / "m.json").write_text(ast_manifest().dumps(), encoding="utf-8")
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from freezelint.models.resolve import resolve_model
        base = Path({str(tmp_path)!r})
        resolve_model("ast(label_dim=3)")
        resolve_model("m.json", base_dir=base)
        m = resolve_model("w.safetensors", base_dir=base)
        assert m.parameter_names == ["fc.weight"], m.parameter_names
        assert "torch" not in sys.modules
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
