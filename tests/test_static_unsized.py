"""A layer whose size the static class reader cannot evaluate (issue 14): the DCGAN of
pytorch/examples with its widths from the command line or the environment. Its parameter
names do not depend on the widths, so the names are known, in torch's order; their shapes are
unknown (`known_shape` None), never guessed. A layer whose *existence* depends on what the
reader cannot know is an open hole. Rules report on the known names (FZL101, FZL103) and say
nothing that needs an unknown shape (FZL306) or a name that could fall into the hole."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from freezelint.analysis.interpreter import Interpreter
from freezelint.analysis.values import ModuleObj
from freezelint.models.manifest import Manifest
from tests.helpers import chdir, invoke

FIXTURES = Path(__file__).parent / "fixtures" / "static_models"

BUILD = """\
import os

from dcgan import Discriminator, Generator

nz = int(os.environ["NZ"])
ngf = int(os.environ["NGF"])
ndf = int(os.environ["NDF"])
netG = Generator(1, nz, ngf, 3)
netD = Discriminator(1, ndf, 3, spectral_head=os.environ.get("AUX") == "1")
"""


def _project(tmp_path: Path, script: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'gan'\n")
    shutil.copy(FIXTURES / "dcgan.py", tmp_path / "dcgan.py")
    train = tmp_path / "train.py"
    train.write_text(textwrap.dedent(script))
    return train


def _static(script: Path, name: str) -> Manifest:
    it = Interpreter(cst.parse_module(script.read_text()), lambda request: None,
                     base_dir=script.parent)
    it.run()
    model = it.globals.names.get(name)
    assert isinstance(model, ModuleObj), f"{name} is not known: {model!r}"
    return model.model.manifest


@pytest.mark.torch
@pytest.mark.parametrize("aux", ["0", "1"])
def test_names_known_shapes_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    aux: str) -> None:
    script = _project(tmp_path, BUILD)
    generator, discriminator = _static(script, "netG"), _static(script, "netD")
    assert not list(tmp_path.glob("*.ran")), "the static read ran the project's code"
    torch = pytest.importorskip("torch")
    from freezelint.models.introspect import manifest_from_module

    monkeypatch.setenv("NZ", "100")
    monkeypatch.setenv("NGF", "64")
    monkeypatch.setenv("NDF", "32")
    monkeypatch.setenv("AUX", aux)
    spec = importlib.util.spec_from_file_location("dcgan", tmp_path / "dcgan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dcgan"] = module
    try:
        spec.loader.exec_module(module)
        with torch.device("meta"):
            live_g = manifest_from_module(module.Generator(1, 100, 64, 3), "G", "live")
            live_d = manifest_from_module(
                module.Discriminator(1, 32, 3, spectral_head=aux == "1"), "D", "live")
    finally:
        sys.modules.pop("dcgan", None)

    # The generator: every name, in torch's order; no shape is claimed but the ones that
    # depend on no unknown (BatchNorm's num_batches_tracked, a scalar).
    assert [p.name for p in generator.parameters] == [p.name for p in live_g.parameters]
    assert [b.name for b in generator.buffers] == [b.name for b in live_g.buffers]
    assert generator.holes == () and not generator.sized
    assert all(p.known_shape is None for p in generator.parameters)
    live_buffers = {b.name: b.shape for b in live_g.buffers}
    assert all(b.known_shape in (None, live_buffers[b.name]) for b in generator.buffers)
    assert [m.path for m in generator.modules] == [m.path for m in live_g.modules]

    # The discriminator: `aux` exists or not depending on what the reader cannot know (an
    # open hole); every other name is torch's, in torch's order.
    assert discriminator.holes == ("aux",)
    live_names = [p.name for p in live_d.parameters if not p.name.startswith("aux.")]
    assert [p.name for p in discriminator.parameters] == live_names
    # the head's 1 output channel is known, its input width is not
    (head,) = [p for p in discriminator.parameters if p.name == "head.0.weight"]
    assert head.known_shape is None


CHECK = BUILD + """\
import torch

for name, p in netG.named_parameters():
    if name == "main.0.bias":  # ConvTranspose2d(..., bias=False): there is none
        p.requires_grad = False
for name, p in netD.named_parameters():
    if name.startswith("aux."):  # may exist: the hole keeps this quiet
        p.requires_grad = False
for p in netG.parameters():
    p.requires_grad = False
optimizerG = torch.optim.Adam([p for p in netG.parameters() if p.requires_grad], lr=2e-4)

reference = Generator(1, 100, 64, 3)
netG.load_state_dict(reference.state_dict())  # shapes unknown: nothing to say about them
smaller = Generator(1, 100, 32, 3)
smaller.load_state_dict(reference.state_dict())  # both known: the widths differ
"""


def test_check_reports_on_known_names_only(tmp_path: Path) -> None:
    _project(tmp_path, CHECK)
    with chdir(tmp_path):
        result = invoke("check", "--no-cache", "--output-format", "json", "train.py")
    assert not list(tmp_path.glob("*.ran")), "linting ran the project's code"
    findings = [d for d in json.loads(result.output) if d.get("rule")]
    by_rule: dict[str, list[dict]] = {}
    for d in findings:
        by_rule.setdefault(d["rule"], []).append(d)
    lines = {rule: sorted(x["range"]["start"]["line"] for x in found)
             for rule, found in by_rule.items()}
    text = CHECK.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, line in enumerate(text, 1) if fragment in line)

    # FZL101 on the bias that does not exist (names known, shapes not); not on aux.
    assert lines["FZL101"] == [line_of('name == "main.0.bias"')]
    assert "Generator (dcgan.py)" in by_rule["FZL101"][0]["message"]
    assert not any("aux" in d["message"] for d in findings)
    # FZL103: every parameter of the generator frozen before its optimizer
    assert lines["FZL103"] == [line_of("optimizerG =")]
    # FZL306 on the load whose shapes are both known, not on the one with unknown widths
    assert lines.get("FZL306") == [line_of("smaller.load_state_dict")]


def test_unknown_shapes_survive_json_and_show_as_unknown(tmp_path: Path) -> None:
    """`params --json` of a model with unknown shapes writes them as null; read back, they are
    still unknown (never a scalar), and the table shows `?` with no element count."""
    script = _project(tmp_path, BUILD)
    generator = _static(script, "netG")
    again = Manifest.from_json(json.loads(generator.dumps()))
    assert [(t.name, t.known_shape) for t in again.parameters] == \
        [(t.name, t.known_shape) for t in generator.parameters]
    assert not again.sized and again.parameters[0].known_shape is None
    (tmp_path / "g.json").write_text(generator.dumps())
    with chdir(tmp_path):
        result = invoke("params", "--model", "g.json", "--flat")
    assert result.exit_code == 0, result.output
    assert any(line.split()[:2] == ["main.0.weight", "?"] for line in result.output.splitlines())
    assert "some shapes unknown" in result.output
