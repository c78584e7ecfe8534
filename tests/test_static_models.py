"""Models read from their source, compared with what torch builds from the same source.

Each model file in fixtures/static_models writes a file next to itself when it runs: the
static read must leave no such file (nothing ran), and its names (in order) and shapes must
equal `named_parameters()` / `named_buffers()` / `named_modules()` of the live model built on
the meta device from the same file."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from freezelint.analysis.classes import read_class
from freezelint.models.manifest import Manifest

FIXTURES = Path(__file__).parent / "fixtures" / "static_models"

MODELS = [
    ("gpt.py", "GPT", {}),
    ("gpt.py", "GPTSmall", {}),
    ("gpt.py", "GPTSmall", {"vocab_size": 77, "n_layer": 4}),
    ("unet.py", "UNet", {}),
    ("unet.py", "UNet", {"features": (4, 8, 16, 32), "use_bn": False}),
    ("unet.py", "UNetNoBN", {}),
    ("resnet_style.py", "ResNet", {}),
    ("resnet_style.py", "ResNet50ish", {}),
    ("resnet_style.py", "ResNet50ish", {"num_classes": 3}),
    ("sequence_models.py", "LSTMTagger", {}),
    ("sequence_models.py", "LSTMTagger", {"bidirectional": False, "layers": 3}),
    ("sequence_models.py", "TextTransformer", {}),
    ("sequence_models.py", "NamespaceModel", {}),
    ("subclasses.py", "Mixer", {}),
    ("subclasses.py", "Mixer", {"widths": [4, 4, 8, 8], "act": "SiLU", "classes": 7}),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for source in FIXTURES.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def _live(torch, path: Path, class_name: str, kwargs: dict) -> Manifest:  # type: ignore[no-untyped-def]
    name = f"_static_fixture_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        with torch.device("meta"):
            model = getattr(module, class_name)(**kwargs)
    finally:
        sys.modules.pop(name, None)
    from freezelint.models.introspect import manifest_from_module

    return manifest_from_module(model, class_name, "live")


@pytest.mark.torch
@pytest.mark.parametrize(("file", "class_name", "kwargs"), MODELS,
                         ids=[f"{m[1]}{'-' + '-'.join(map(str, m[2].values())) if m[2] else ''}"
                              for m in MODELS])
def test_static_manifest_equals_torch(project: Path, file: str, class_name: str,
                                      kwargs: dict) -> None:
    static = read_class(project / file, class_name, kwargs)
    assert static is not None
    assert not list(project.glob("*.ran")), "the static read ran the model's module"
    assert static.holes == ()
    torch = pytest.importorskip("torch")
    live = _live(torch, project / file, class_name, kwargs)
    assert [(p.name, p.shape) for p in static.parameters] == \
        [(p.name, p.shape) for p in live.parameters]
    assert [(b.name, b.shape, b.persistent) for b in static.buffers] == \
        [(b.name, b.shape, b.persistent) for b in live.buffers]
    assert [(m.path, m.type) for m in static.modules] == [(m.path, m.type) for m in live.modules]
