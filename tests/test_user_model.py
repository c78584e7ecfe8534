"""build_user_model: the user's own model built in a subprocess, cached on disk.

Each uncached build starts a Python process that imports torch (~2 s), so the tests share
cache directories where they can and keep the number of builds small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from freezelint.models import user_model
from freezelint.models.user_model import UserModelError, build_user_model, is_user_model_spec

REPO = Path(__file__).resolve().parents[1]

# A real architecture in a user's file: AST from freezelint's torch implementation when it
# is there, otherwise a BERT-style encoder from torch's own TransformerEncoder.
MODEL_FILE = '''
import torch
from torch import nn

print("user code prints at import")  # must not corrupt the manifest


class AudioClassifier(nn.Module):
    def __init__(self, label_dim=10, width=WIDTH):
        super().__init__()
        try:
            from freezelint.models.architectures.ast_model import ASTModel
        except ImportError:
            ASTModel = None
        if ASTModel is not None:
            self.ast = ASTModel(label_dim=label_dim, input_fdim=32, input_tdim=32,
                                model_size="tiny224", imagenet_pretrain=False,
                                audioset_pretrain=False)
        else:
            layer = nn.TransformerEncoderLayer(width, 4, 4 * width, batch_first=True)
            self.ast = nn.TransformerEncoder(layer, 2)
        self.bn = nn.BatchNorm1d(width)
        self.head = nn.Linear(width, label_dim)
        print("built", label_dim)


def make(label_dim=10):
    return AudioClassifier(label_dim=label_dim)


instance = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
'''


def _write_model(directory: Path, width: int = 192, name: str = "my_model.py") -> Path:
    path = directory / name
    path.write_text(MODEL_FILE.replace("WIDTH", str(width)), encoding="utf-8")
    return path


def _live(path: Path, attr: str, **kwargs: object) -> object:
    """The same model built in this process, for comparison."""
    torch = pytest.importorskip("torch")
    namespace: dict[str, object] = {"__name__": "live_model"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    with torch.device("meta"):
        return namespace[attr](**kwargs)  # type: ignore[operator]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _forbid_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the worker was started although the cache should answer")

    monkeypatch.setattr(user_model.subprocess, "run", fail)
    monkeypatch.setattr(user_model.subprocess, "Popen", fail)  # how the builder starts


def test_spec_syntax() -> None:
    assert is_user_model_spec("models/net.py:Net")
    assert is_user_model_spec("net.py:Factory.build")
    assert is_user_model_spec("pkg.models:make_model")
    assert is_user_model_spec("pkg:Net")
    assert is_user_model_spec(r"C:\work\net.py:Net")
    assert not is_user_model_spec("ast")
    assert not is_user_model_spec("resnet50")
    assert not is_user_model_spec("hf:google/vit-base-patch16-224")
    assert not is_user_model_spec("net.py")
    assert not is_user_model_spec("net.py:")
    assert not is_user_model_spec(":Net")
    assert not is_user_model_spec("weights.pth")
    assert not is_user_model_spec("pkg.models:make-model")


def test_file_spec_matches_named_parameters(tmp_path: Path, cache: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    path = _write_model(tmp_path)
    live = _live(path, "AudioClassifier", label_dim=7)

    manifest = build_user_model("my_model.py:AudioClassifier", {"label_dim": 7},
                                cache_dir=cache, cwd=tmp_path)

    assert manifest.parameter_names == [n for n, _ in live.named_parameters()]
    assert [p.shape for p in manifest.parameters] == [tuple(p.shape)
                                                      for _, p in live.named_parameters()]
    assert [b.name for b in manifest.buffers] == [n for n, _ in live.named_buffers()]
    assert manifest.state_dict_keys == list(live.state_dict())
    assert manifest.name == "my_model.py:AudioClassifier"
    assert manifest.source == "user"
    assert manifest.meta["device"] == "meta"
    assert manifest.module("head").attrs == {"in_features": 192, "out_features": 7}
    assert list(cache.glob("*.json")), "the build should be cached"

    # second call: served from the cache, no subprocess
    _forbid_worker(monkeypatch)
    started = time.perf_counter()
    again = build_user_model("my_model.py:AudioClassifier", {"label_dim": 7},
                             cache_dir=cache, cwd=tmp_path)
    assert time.perf_counter() - started < 0.5
    assert again == manifest

    # other kwargs are another cache entry
    with pytest.raises(AssertionError, match="worker was started"):
        build_user_model("my_model.py:AudioClassifier", {"label_dim": 8},
                         cache_dir=cache, cwd=tmp_path)


def test_dotted_spec_with_cwd(tmp_path: Path, cache: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    package = tmp_path / "proj" / "models"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    path = _write_model(package, name="audio.py")
    live = _live(path, "make", label_dim=3)

    manifest = build_user_model("proj.models.audio:make", {"label_dim": 3},
                                cache_dir=cache, cwd=tmp_path)

    assert manifest.parameter_names == [n for n, _ in live.named_parameters()]
    _forbid_worker(monkeypatch)
    assert build_user_model("proj.models.audio:make", {"label_dim": 3},
                            cache_dir=cache, cwd=tmp_path) == manifest


def test_file_inside_a_package_with_relative_imports(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    package = tmp_path / "src" / "audio"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(
        "from torch import nn\n\ndef classifier(width, classes):\n"
        "    return nn.Sequential(nn.LayerNorm(width), nn.Linear(width, classes))\n")
    (package / "net.py").write_text(textwrap.dedent("""
        from torch import nn
        from .layers import classifier
        class Net(nn.Module):
            def __init__(self, classes=4):
                super().__init__()
                self.backbone = nn.TransformerEncoder(
                    nn.TransformerEncoderLayer(48, 4, 96, batch_first=True), 2)
                self.mlp_head = classifier(48, classes)
    """))
    manifest = build_user_model("src/audio/net.py:Net", {"classes": 6}, cache_dir=cache,
                                cwd=tmp_path)
    assert manifest.parameter_names[-4:] == ["mlp_head.0.weight", "mlp_head.0.bias",
                                             "mlp_head.1.weight", "mlp_head.1.bias"]
    assert manifest.parameters[-2].shape == (6, 48)


def test_module_instance_attribute(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    _write_model(tmp_path)
    manifest = build_user_model("my_model.py:instance", cache_dir=cache, cwd=tmp_path)
    assert manifest.parameter_names == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_edit_invalidates_cache(tmp_path: Path, cache: Path) -> None:
    """The named file and the project files it imports are part of the cache key."""
    pytest.importorskip("torch")
    (tmp_path / "blocks.py").write_text(textwrap.dedent("""
        from torch import nn
        def head(width):
            return nn.Linear(width, 5)
    """))
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        from torch import nn
        import blocks
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = nn.TransformerEncoder(
                    nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 1)
                self.fc = blocks.head(32)
    """))
    first = build_user_model("net.py:Net", cache_dir=cache, cwd=tmp_path)
    assert first.parameter_names[-2:] == ["fc.weight", "fc.bias"]

    # edit the named file
    text = (tmp_path / "net.py").read_text().replace("self.fc", "self.classifier")
    (tmp_path / "net.py").write_text(text)
    second = build_user_model("net.py:Net", cache_dir=cache, cwd=tmp_path)
    assert second.parameter_names[-2:] == ["classifier.weight", "classifier.bias"]

    # edit only the helper it imports
    (tmp_path / "blocks.py").write_text(textwrap.dedent("""
        from torch import nn
        def head(width):
            return nn.Sequential(nn.Dropout(0.1), nn.Linear(width, 5))
    """))
    third = build_user_model("net.py:Net", cache_dir=cache, cwd=tmp_path)
    assert third.parameter_names[-2:] == ["classifier.1.weight", "classifier.1.bias"]


def test_error_at_import(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "broken.py").write_text("import torch\nRATIO = 1 / 0\n")
    with pytest.raises(UserModelError) as caught:
        build_user_model("broken.py:Net", cache_dir=cache, cwd=tmp_path)
    message = str(caught.value)
    assert "ZeroDivisionError: division by zero" in message
    assert "broken.py:2" in message
    assert "\n" not in message and "Traceback" not in message
    assert not list(cache.glob("*.json")), "failures are not cached"


def test_missing_module_import(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "needs.py").write_text("import not_a_real_package_xyz\n")
    with pytest.raises(UserModelError, match="No module named 'not_a_real_package_xyz'"):
        build_user_model("needs.py:Net", cache_dir=cache, cwd=tmp_path)
    with pytest.raises(UserModelError, match="No module named 'nowhere_pkg'"):
        build_user_model("nowhere_pkg.models:Net", cache_dir=cache, cwd=tmp_path)


def test_missing_attribute(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    _write_model(tmp_path)
    with pytest.raises(UserModelError, match="has no attribute 'Nope'"):
        build_user_model("my_model.py:Nope", cache_dir=cache, cwd=tmp_path)


def test_constructor_raising(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    _write_model(tmp_path)
    with pytest.raises(UserModelError, match="unexpected keyword argument 'depth'"):
        build_user_model("my_model.py:AudioClassifier", {"depth": 3}, cache_dir=cache,
                         cwd=tmp_path)


def test_not_a_module(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "f.py").write_text("def make():\n    return 42\n")
    with pytest.raises(UserModelError, match=r"returned a int, not a torch\.nn\.Module"):
        build_user_model("f.py:make", cache_dir=cache, cwd=tmp_path)


def test_meta_device_failure_falls_back_to_cpu(tmp_path: Path, cache: Path) -> None:
    """Constructors that read values (`.item()`) cannot run on meta; they run on CPU."""
    pytest.importorskip("torch")
    (tmp_path / "valued.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                hidden = int(torch.tensor(24).item())
                self.fc = nn.Linear(8, hidden)
    """))
    manifest = build_user_model("valued.py:Net", cache_dir=cache, cwd=tmp_path)
    assert manifest.meta["device"] == "cpu"
    assert manifest.parameters[0].shape == (24, 8)


def test_missing_file(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(UserModelError, match="does not exist"):
        build_user_model("nowhere.py:Net", cache_dir=cache, cwd=tmp_path)


def test_not_a_spec() -> None:
    with pytest.raises(UserModelError, match="not a model spec"):
        build_user_model("resnet50")


def test_kwargs_must_be_json(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(UserModelError, match="JSON"):
        build_user_model("net.py:Net", {"x": object()}, cache_dir=cache, cwd=tmp_path)


def test_torch_missing(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_torch(name: str) -> str:
        raise user_model.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(user_model.importlib.metadata, "version", no_torch)
    _write_model(tmp_path)
    with pytest.raises(UserModelError, match=r"pip install freezelint\[torch\]"):
        build_user_model("my_model.py:AudioClassifier", cache_dir=cache, cwd=tmp_path)


def test_timeout(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n")
    started = time.perf_counter()
    with pytest.raises(UserModelError, match="timed out after 1 s"):
        build_user_model("slow.py:Net", cache_dir=cache, cwd=tmp_path, timeout=1)
    assert time.perf_counter() - started < 20


def test_worker_crash_reports_last_stderr_line(tmp_path: Path, cache: Path) -> None:
    """A build that kills its own process leaves no result: the message says how the
    builder ended, and quotes stderr's last line as its output (issue 18)."""
    pytest.importorskip("torch")
    (tmp_path / "crash.py").write_text(
        "import os, sys\nprint('fatal: out of cheese', file=sys.stderr)\nos._exit(7)\n")
    with pytest.raises(UserModelError, match=r"exited with code 7 without a result \(its "
                       r"last output: 'fatal: out of cheese'\)"):
        build_user_model("crash.py:Net", cache_dir=cache, cwd=tmp_path)


def test_corrupt_cache_entry_is_rebuilt(tmp_path: Path, cache: Path) -> None:
    pytest.importorskip("torch")
    _write_model(tmp_path)
    first = build_user_model("my_model.py:instance", cache_dir=cache, cwd=tmp_path)
    (entry,) = cache.glob("*.json")
    entry.write_text("{not json")
    assert build_user_model("my_model.py:instance", cache_dir=cache, cwd=tmp_path) == first
    assert json.loads(entry.read_text())["manifest"]["name"] == "my_model.py:instance"
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]


def test_linter_process_never_imports_torch(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    _write_model(tmp_path)
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from freezelint.models.user_model import build_user_model
        m = build_user_model("my_model.py:make", cache_dir=Path({str(tmp_path / 'c')!r}),
                             cwd=Path({str(tmp_path)!r}))
        print(json.dumps([len(m.parameters), "torch" in sys.modules]))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=env, cwd=tmp_path, check=True)
    count, imported = json.loads(completed.stdout.strip().splitlines()[-1])
    assert count > 10
    assert imported is False
