"""Manifests with holes: parts of a model whose names could not be worked out.

A name that could fall into a hole is unknown, so no rule may call it wrong; a manifest
without holes behaves as before."""

from __future__ import annotations

import textwrap

import pytest

from freezelint.engine.lint import LintConfig, lint
from freezelint.models.manifest import Manifest


def _with_holes(manifest: Manifest, *holes: str) -> Manifest:
    doc = manifest.to_json()
    doc["holes"] = list(holes)
    return Manifest.from_json(doc)


def _codes(text: str, manifest: Manifest) -> list[str]:
    return [d.rule for d in lint(textwrap.dedent(text), LintConfig(model=manifest))]


FREEZE_BY_NAME = """\
    def setup(model):
        for name, p in model.named_parameters():
            if {test}:
                p.requires_grad = False
"""


@pytest.mark.parametrize("test", [
    "name == 'layer9.0.conv1.weight'",
    "name.startswith('layer9.')",
    "name.endswith('.conv9.weight')",
    "'conv9' in name",
])
def test_a_name_that_could_be_in_a_hole_is_not_reported(zoo, test: str) -> None:  # type: ignore[no-untyped-def]
    resnet18 = zoo("resnet18")
    script = FREEZE_BY_NAME.format(test=test)
    assert "FZL101" in _codes(script, resnet18)  # complete manifest: these match nothing
    # The same model with its layer9 unknown (a module the reader could not build).
    holed = _with_holes(resnet18, "layer9")
    assert "FZL101" not in _codes(script, holed)


FREEZE_BY_MODULE = """\
    def setup(model):
        for name, module in model.named_modules():
            if {test}:
                module.requires_grad_(False)
"""


def test_a_name_outside_every_hole_is_still_reported(zoo) -> None:  # type: ignore[no-untyped-def]
    resnet18 = zoo("resnet18")
    holed = _with_holes(resnet18, "layer9")
    for test in ("name == 'fc2'", "name.startswith('classifier')"):
        assert "FZL101" in _codes(FREEZE_BY_MODULE.format(test=test), holed)


def test_a_hole_makes_the_parameters_around_it_unknown(zoo) -> None:  # type: ignore[no-untyped-def]
    """`model.parameters()` of a model with a hole is not the known names alone: a loop
    over them decides nothing, and an optimizer built on them holds unknown parameters."""
    resnet18 = zoo("resnet18")
    script = """\
        import torch

        def setup(model):
            for p in model.parameters():
                p.requires_grad = False
            return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    """
    assert "FZL103" in _codes(script, resnet18)
    assert "FZL103" not in _codes(script, _with_holes(resnet18, "layer9"))


def test_a_hole_at_the_root_leaves_every_name_unknown(zoo) -> None:  # type: ignore[no-untyped-def]
    resnet18 = zoo("resnet18")
    holed = _with_holes(resnet18, "")
    for test in ("name == 'fc2'", "name.startswith('classifier')"):
        assert "FZL101" in _codes(FREEZE_BY_MODULE.format(test=test), resnet18)
        assert "FZL101" not in _codes(FREEZE_BY_MODULE.format(test=test), holed)


def test_holes_survive_json_and_a_replaced_module_closes_its_hole(zoo) -> None:  # type: ignore[no-untyped-def]
    resnet18 = zoo("resnet18")
    holed = _with_holes(resnet18, "fc", "layer4.1")
    again = Manifest.from_json(holed.to_json())
    assert again.holes == ("fc", "layer4.1")
    assert again.in_hole("layer4.1.conv1.weight") and not again.in_hole("layer4.0.conv1.weight")
    assert again.hole_under("layer4") and again.hole_under("") and not again.hole_under("layer3")
    replaced = again.replace_module("fc", [], [])
    assert replaced.holes == ("layer4.1",)
    assert "holes" not in resnet18.to_json()
