"""The text pre-filter may skip work, never findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from freezelint.common.rule_docs import all_rule_docs
from freezelint.engine.lint import LintConfig, lint
from freezelint.models.zoo import load_zoo
from freezelint.prefilter import worth_linting

ROOT = Path(__file__).parent.parent
TEXTS = [
    *[(f"{d.id}-example", d.example("Example"), d.model) for d in all_rule_docs().values()],
    *[(f"{d.id}-fixed", d.example("Use instead"), d.model) for d in all_rule_docs().values()],
    *[(p.name, p.read_text(), None) for p in sorted((ROOT / "examples").glob("*.py"))],
]


@pytest.mark.parametrize("explicit", [False, True], ids=["auto", "explicit-model"])
@pytest.mark.parametrize(("name", "text", "model"), TEXTS, ids=[t[0] for t in TEXTS])
def test_prefilter_never_skips_a_file_with_a_finding(name, text, model, explicit):
    manifest = load_zoo(model) if explicit and model else None
    unfiltered = lint(text, LintConfig(model=manifest, prefilter=False))
    filtered = lint(text, LintConfig(model=manifest))
    assert filtered == unfiltered
    if any(d.rule != "FZL000" for d in unfiltered):  # syntax errors are checked either way
        assert worth_linting(text, explicit_model=manifest is not None)


def test_prefilter_skips_unrelated_code():
    text = "import json\n\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n"
    assert not worth_linting(text, explicit_model=False)
    assert not worth_linting(text, explicit_model=True)


# Model-free findings the text test must keep, in the forms the rules accept.
KEPT = [
    ("FZL110", "for p in model.parameters:\n    p.requires_grad = False\n"),
    ("FZL110", "for p in (self.backbone\n        ).parameters:\n    p.requires_grad = False\n"),
    ("FZL110", "opt = SGD(list(net.named_parameters), lr=0.1)\n"),
    ("FZL111", "model.fc.out_features = 3\n"),
    ("FZL111", "model.classifier[6].in_features = 10\n"),
    ("FZL111", "(model.fc).out_features = 3\n"),
    ("FZL111", "model.fc \\\n    .out_features = 3\n"),
    ("FZL105", "p.require_grad = False\n"),
    ("FZL105", "layer.requires_grad_ = False\n"),
    ("FZL105", "p.requires_grd = False\n"),
    ("FZL105", "p.Requires_grad = False\n"),
]
# Constructors of zoo models, which make the names checkable.
ZOO_LOOP = ("for name, p in model.named_parameters():\n    if name != 'fc.weight':\n"
            "        p.requires_grad = False\n")
CONSTRUCTORS = [
    "import torchvision\nmodel = torchvision.models.vit_b_16()\n",
    "from torchvision.models import vgg16\nmodel = vgg16(weights=None)\n",
    "import timm\nmodel = timm.create_model('vit_base_patch16_224', pretrained=False)\n",
    "from transformers import ViTForImageClassification\n"
    "model = ViTForImageClassification.from_pretrained('google/vit-base-patch16-224')\n",
    "from transformers import AutoModel\nmodel = AutoModel.from_pretrained('bert-base-uncased')\n",
]


@pytest.mark.parametrize("constructor", CONSTRUCTORS)
def test_zoo_constructors_are_kept(constructor: str) -> None:
    text = constructor + ZOO_LOOP
    assert "FZL101" in [d.rule for d in lint(text, LintConfig(prefilter=False))]
    assert worth_linting(text, explicit_model=False)
    assert lint(text) == lint(text, LintConfig(prefilter=False))
# Ordinary code that only looks similar: the rules stay silent, so nothing needs parsing.
SKIPPED = [
    "import sys\nfor name in sys.modules:\n    print(name)\n",
    "import inspect\nfor p in inspect.signature(f).parameters:\n    print(p)\n",
    "sig = inspect.signature(f)\nnames = list(sig.parameters)\n",
    "class Linear:\n    def __init__(self, n):\n        self.in_features = n\n        self.out_channels = n\n",
    "def enable(self):\n    self.gradient_checkpointing = True\n    self.grad_scale = 2.0\n",
    # transformers' Whisper/WavLM encoders record that they froze themselves.
    "def _freeze_parameters(self):\n    for param in self.parameters():\n"
    "        param.requires_grad = False\n    self._requires_grad = False\n",
    "self.requires_grad_flag = True\nself.desires = []\n",
    # A library's name, not one of the models detect.py knows.
    "import torchvision\nresize = torchvision.transforms.Resize(224)\n"
    "if is_torchvision_available():\n    model = build()\n",
    "import timm\nmodel = timm.create_model(name, pretrained=True)\n",
]


@pytest.mark.parametrize(("rule", "text"), KEPT)
def test_model_free_findings_are_kept(rule: str, text: str) -> None:
    assert rule in [d.rule for d in lint(text, LintConfig(prefilter=False))]
    assert worth_linting(text, explicit_model=False)
    assert rule in [d.rule for d in lint(text)]


@pytest.mark.parametrize("text", SKIPPED)
def test_lookalikes_are_not_parsed(text: str) -> None:
    assert lint(text, LintConfig(prefilter=False)) == []
    assert not worth_linting(text, explicit_model=False)


def test_a_counted_replace_is_not_reported() -> None:
    # timm's deepseek_vit: `replace('encoder.', '', 1)` under a startswith guard strips the
    # prefix only; FZL303 is for the uncounted replace that also strips inner occurrences.
    text = ("out = {}\nfor k, v in sd.items():\n    if k.startswith('encoder.'):\n"
            "        k = k.replace('encoder.', '', 1)\n    out[k] = v\n")
    assert lint(text, LintConfig(prefilter=False)) == lint(text) == []
    assert [d.rule for d in lint(text.replace(", 1)", ")"))] == ["FZL303"]
