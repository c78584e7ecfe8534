"""The user's model class reached the ways real projects reach it (issue 14): a project module
imported by name (`import mingpt.model`, `from mingpt import model as gpt`, `import pkg.nets
as N`, `from . import nets`, `getattr(module, "Class")`), in a `src/` layout, a configured
source root or a namespace package, and configs made by staticmethods and classmethods (minGPT's
`GPT.get_default_config()` CfgNode completed by the caller, a `from_config` classmethod
returning `cls(...)`, dataclass presets and `dataclasses.replace`, litgpt's
`Config.from_name(...)` with its properties and a property setter that registers buffers).

For each idiom the model the script builds is read statically and compared with the model the
same script builds with torch on the meta device (names in order, shapes); `freezelint check`
finds the script's real mistake with no --model, and nothing of the project ran (each fixture
module writes a `.ran` file next to itself when imported)."""

from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import pytest

from freezelint.analysis.interpreter import Interpreter
from freezelint.analysis.values import ModuleObj
from freezelint.models.manifest import Manifest
from tests.helpers import chdir, invoke

FIXTURES = Path(__file__).parent / "fixtures" / "static_models"


@dataclass(frozen=True)
class Idiom:
    name: str
    layout: str  # root | src | roots | package
    script: str  # builds `model`; a wrong name test follows it in the check test
    wrong: str  # the literal FZL101 must report
    files: tuple[str, ...] = ("mingpt",)


IDIOMS = [
    Idiom("import-dotted-staticmethod-config", "root", """\
        import mingpt.model

        config = mingpt.model.GPT.get_default_config()
        config.model_type = 'gpt-nano'
        config.vocab_size = 65
        config.block_size = 32
        model = mingpt.model.GPT(config)
        """, "transformer.h.3."),
    Idiom("from-package-import-module-as-classmethod", "root", """\
        from mingpt import model as gpt_model

        model = gpt_model.GPT.nano(vocab_size=50, block_size=16)
        """, "transformer.h.3."),
    Idiom("src-layout-import-as", "src", """\
        import mingpt.model as M
        from mingpt.utils import CfgNode

        config = CfgNode(model_type=None, n_layer=2, n_head=2, n_embd=32, vocab_size=10,
                         block_size=8, embd_pdrop=0.0, resid_pdrop=0.0, attn_pdrop=0.0)
        model = M.GPT(config)
        """, "transformer.h.2."),
    Idiom("source-root-getattr-constant", "roots", """\
        import mingpt.model

        ARCH = "GPT"
        config = mingpt.model.GPT.get_default_config()
        config.model_type = 'gpt-micro'
        config.vocab_size = 100
        config.block_size = 64
        model = getattr(mingpt.model, ARCH)(config)
        """, "transformer.h.4."),
    Idiom("relative-import-from-config", "package", """\
        from dataclasses import replace

        from . import vit_configs as V

        cfg = replace(V.ViTConfig.tiny(), num_classes=5)
        cfg.mlp_ratio = 2.0
        model = V.VisionTransformer.from_config(cfg, depth=2)
        """, "blocks.2.", ("vit_configs.py",)),
    Idiom("namespace-package-submodule", "namespace", """\
        from nets import vit_configs

        cfg = vit_configs.ViTConfig(embed_dim=32, depth=2, num_heads=2, num_classes=3)
        model = vit_configs.VisionTransformer.from_config(cfg)
        """, "blocks.2.", ("vit_configs.py",)),
    Idiom("litgpt-config-by-name-properties", "src", """\
        import litgpt_style
        from litgpt_style import Config

        model = litgpt_style.GPT(Config.from_name("pythia-14m", n_layer=2))
        """, "transformer.h.0.norm_2.", ("litgpt_style.py",)),
    Idiom("litgpt-rmsnorm-llama-mlp", "src", """\
        from litgpt_style import GPT, Config

        config = Config.from_name("tiny-llama-1.1b", n_layer=2, n_embd=64, n_head=4,
                                  intermediate_size=128, block_size=64)
        model = GPT(config)
        """, "transformer.h.1.mlp.fc.", ("litgpt_style.py",)),
    Idiom("module-dict-staticmethod-preset", "root", """\
        import vit_configs

        model = vit_configs.__dict__["VisionTransformer"].from_config(
            vit_configs.ViTConfig.small(num_classes=7))
        """, "blocks.6.", ("vit_configs.py",)),
]


def _layout(tmp_path: Path, idiom: Idiom) -> tuple[Path, list[Path]]:
    """The project on disk: (the script, the folders Python would import from)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    code_dir = {"root": tmp_path, "src": tmp_path / "src", "roots": tmp_path / "lib",
                "package": tmp_path / "app", "namespace": tmp_path / "nets"}[idiom.layout]
    code_dir.mkdir(exist_ok=True)
    if idiom.layout == "roots":
        (tmp_path / "pyproject.toml").write_text(
            "[project]\nname = 'demo'\n\n[tool.freezelint]\nsource-roots = ['lib']\n")
    for name in idiom.files:
        source = FIXTURES / name
        if source.is_dir():
            shutil.copytree(source, code_dir / name)
        else:
            shutil.copy(source, code_dir / name)
    if idiom.layout == "package":
        (code_dir / "__init__.py").write_text("")
        script = code_dir / "train.py"
    else:
        (tmp_path / "scripts").mkdir()
        script = tmp_path / ("train.py" if idiom.layout in {"root", "namespace"}
                             else "scripts/train.py")
    script.write_text(textwrap.dedent(idiom.script))
    return script, [tmp_path if idiom.layout in {"package", "namespace"} else code_dir]


def _ran(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.rglob("*.ran"))


def _static(script: Path) -> Manifest:
    it = Interpreter(cst.parse_module(script.read_text()), lambda request: None,
                     base_dir=script.parent)
    it.run()
    model = it.globals.names.get("model")
    assert isinstance(model, ModuleObj), f"the model is not known: {model!r}"
    return model.model.manifest


def _live(torch, script: Path, paths: list[Path], package: bool) -> Manifest:  # type: ignore[no-untyped-def]
    from freezelint.models.introspect import manifest_from_module

    saved_path = list(sys.path)
    # Modules another test imported under the same top-level names (`nets`) would shadow
    # the project's: set aside for the import, put back after.
    local = {p.stem for root in paths for p in root.iterdir() if p.suffix == ".py" or p.is_dir()}
    shadowed = {n: m for n, m in sys.modules.items() if n.split(".")[0] in local}
    for name in shadowed:
        del sys.modules[name]
    saved_modules = set(sys.modules)
    sys.path[:0] = [str(p) for p in paths]
    try:
        with torch.device("meta"):
            if package:
                model = importlib.import_module(f"{script.parent.name}.{script.stem}").model
            else:
                scope: dict[str, object] = {"__name__": "__train__"}
                exec(compile(script.read_text(), str(script), "exec"), scope)
                model = scope["model"]
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:  # the project's modules, not torch's
            file = getattr(sys.modules[name], "__file__", None) or ""
            if any(file.startswith(str(p)) for p in paths):
                del sys.modules[name]
        sys.modules.update(shadowed)
    return manifest_from_module(model, "live", "live")


@pytest.mark.torch
@pytest.mark.parametrize("idiom", IDIOMS, ids=[i.name for i in IDIOMS])
def test_static_model_equals_torch(tmp_path: Path, idiom: Idiom) -> None:
    script, paths = _layout(tmp_path, idiom)
    static = _static(script)
    assert not _ran(tmp_path), "the static read ran the project's code"
    assert static.holes == ()
    torch = pytest.importorskip("torch")
    live = _live(torch, script, paths, idiom.layout == "package")
    assert [(p.name, p.known_shape) for p in static.parameters] == \
        [(p.name, p.shape) for p in live.parameters]
    # buffers computed by tensor arithmetic (litgpt's RoPE cache) may have unknown shapes
    assert [(b.name, b.persistent) for b in static.buffers] == \
        [(b.name, b.persistent) for b in live.buffers]
    shapes = {b.name: b.shape for b in live.buffers}
    assert all(b.known_shape in (None, shapes[b.name]) for b in static.buffers)
    assert [(m.path, m.type) for m in static.modules] == [(m.path, m.type) for m in live.modules]


@pytest.mark.parametrize("idiom", IDIOMS, ids=[i.name for i in IDIOMS])
def test_check_finds_the_mistake_without_running_anything(tmp_path: Path, idiom: Idiom) -> None:
    script, _ = _layout(tmp_path, idiom)
    script.write_text(script.read_text() + textwrap.dedent(f"""\
        for name, p in model.named_parameters():
            if name.startswith({idiom.wrong!r}):
                p.requires_grad = False
        """))
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "--output-format", "concise",
                        str(script.relative_to(tmp_path)))
    assert result.exit_code == 1, result.output
    assert f"FZL101 {idiom.wrong!r} starts no parameter name" in result.output
    assert not _ran(tmp_path), "linting ran the project's code"


def test_config_changed_from_the_command_line_is_unknown(tmp_path: Path) -> None:
    """minGPT's projects: `config.merge_from_args(sys.argv[1:])` sets attributes the reader
    cannot name: every value of the config is unknown, so the number of layers is (an open
    hole where the blocks are) and so are the widths (names without shapes). The wrong
    prefix that FZL101 reports on the config left alone could now fall into the hole."""
    idiom = IDIOMS[0]
    script, _ = _layout(tmp_path, idiom)
    (tmp_path / "mingpt" / "model.py").write_text(
        (tmp_path / "mingpt" / "model.py").read_text().replace(
            "        return cls(config)",
            "        import sys\n        config.merge_from_args(sys.argv[1:])\n"
            "        return cls(config)"))
    script.write_text("from mingpt.model import GPT\n\nmodel = GPT.nano(50, 16)\n"
                      "for name, p in model.named_parameters():\n"
                      "    if name.startswith('transformer.h.3.'):\n"
                      "        p.requires_grad = False\n")
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "--output-format", "concise", "train.py")
    assert "FZL101" not in result.output
    assert not _ran(tmp_path)
    model = _static(script)
    assert "transformer.h" in model.holes
    assert model.could_match("transformer.h.3.", "prefix")
    assert not model.sized and model.parameters[0].name == "transformer.wte.weight"


def test_a_library_module_of_the_same_shape_stays_a_library(tmp_path: Path) -> None:
    """`import torchvision.models as models` ... `models.resnet18()`: no project module of
    that name, the zoo's model (and a project folder named like a library is not read)."""
    (tmp_path / "pyproject.toml").write_text("")
    script = tmp_path / "train.py"
    script.write_text("import torchvision.models as models\n\nmodel = models.resnet18()\n"
                      "for name, p in model.named_parameters():\n"
                      "    if name.startswith('fc2.'):\n"
                      "        p.requires_grad = False\n")
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "--output-format", "concise", "train.py")
    assert "FZL101 'fc2.' starts no parameter name of `resnet18`" in result.output
