"""What a name holds after code the analysis cannot decide (analysis/branches.py).

Both sides of an undecided `if`, a `try` and its handlers, a loop over values the analysis
cannot list: each may be the one that ran. A model bound differently on two sides is
unknown after them, and no rule judges it (each of these was a false positive: the side run
last was taken for the only one); the same model on both sides, or a name only one side
binds, stays known.
"""

from __future__ import annotations

import pytest

from freezelint.engine.lint import Analysis, LintConfig, analyze, lint_result

FREEZE_BUT_FC = ("for name, p in model.named_parameters():\n"
                 "    if not name.startswith('fc'):\n"
                 "        p.requires_grad = False\n")


def _lint(script: str) -> Analysis:
    return lint_result(script, LintConfig())


def _rules(analysis: Analysis) -> list[str]:
    return [d.rule for d in analysis.diagnostics]


def _unchecked(analysis: Analysis) -> bool:
    return bool(analysis.coverage.sites) and not analysis.coverage.checked


@pytest.mark.parametrize("choice", [
    # either architecture, by a setting the analysis cannot read
    "if sys.argv[1] == 'resnet':\n    model = torchvision.models.resnet18()\n"
    "else:\n    model = torchvision.models.vit_b_16()\n",
    "model = torchvision.models.resnet18()\nif sys.argv[1] == 'vit':\n"
    "    model = torchvision.models.vit_b_16()\n",
    "try:\n    model = torchvision.models.resnet18()\nexcept RuntimeError:\n"
    "    model = torchvision.models.vit_b_16()\n",
    "model = torchvision.models.resnet18()\nfor arch in sys.argv[1:]:\n"
    "    model = torchvision.models.vit_b_16()\n",
])
def test_a_model_chosen_where_the_analysis_cannot_tell_is_unknown(choice: str) -> None:
    # 'fc' is the ResNet's head: right for one side, wrong for the other
    analysis = _lint("import sys\n\nimport torchvision\n\n" + choice + FREEZE_BUT_FC)
    assert _rules(analysis) == []
    assert _unchecked(analysis)


def test_defaults_built_when_no_settings_are_given_are_not_certain() -> None:
    # `run(args)` with freeze=False trains the model: the defaults are one case of two
    (script) = ("import torch\nimport torchvision\n\n\nclass Args:\n    freeze = True\n\n\n"
                "def run(args=None):\n    if args is None:\n        args = Args()\n"
                "    model = torchvision.models.resnet18()\n    if args.freeze:\n"
                "        for p in model.parameters():\n            p.requires_grad = False\n"
                "    trained = [p for p in model.parameters() if p.requires_grad]\n"
                "    return torch.optim.SGD(trained, lr=0.1)\n")
    assert "FZL103" not in _rules(_lint(script))


def test_an_attribute_set_differently_on_each_side_is_unknown() -> None:
    analysis = _lint("import torchvision\n\n\nclass Task:\n    def __init__(self, arch):\n"
                     "        if arch == 'vit':\n            self.net = torchvision.models.vit_b_16()\n"
                     "        else:\n            self.net = torchvision.models.resnet18()\n\n"
                     "    def setup(self):\n        for name, p in self.net.named_parameters():\n"
                     "            if not name.startswith('fc'):\n"
                     "                p.requires_grad = False\n")
    assert _rules(analysis) == []
    assert _unchecked(analysis)


@pytest.mark.parametrize("choice", [
    # the same architecture either way: pretrained weights change no name
    "if sys.argv[1] == 'pretrained':\n"
    "    model = torchvision.models.resnet18(weights='DEFAULT')\n"
    "else:\n    model = torchvision.models.resnet18()\n",
    # a name only one side binds: using it after the other raises NameError
    "if sys.argv[1] == 'resnet':\n    model = torchvision.models.resnet18()\n",
])
def test_what_every_side_agrees_on_stays_known(choice: str) -> None:
    analysis = _lint("import sys\n\nimport torchvision\n\n" + choice
                     + FREEZE_BUT_FC.replace("'fc'", "'fc_head'"))
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "resnet18" in finding.message


@pytest.mark.parametrize("guard", [
    "try:\n    import torchvision\nexcept ImportError:\n    sys.exit(1)\n",
    "if is_torchvision_available():\n    import torchvision\n",
])
def test_a_guarded_import_stays_known(guard: str) -> None:
    analysis = _lint("import sys\n\n" + guard + "\nmodel = torchvision.models.resnet18()\n"
                     + FREEZE_BUT_FC.replace("'fc'", "'fc_head'"))
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "resnet18" in finding.message


OWN_NET = ("import sys\n\nimport torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n"
           "    def __init__(self, heads=False, extra=False):\n        super().__init__()\n"
           "        if isinstance(heads, bool):\n            heads = (heads, heads)\n"
           "        if heads[0]:\n            self.a = nn.Linear(4, 4)\n"
           "        if heads[1]:\n            self.b = nn.Linear(4, 2)\n"
           "        if extra:\n            self.lora = nn.Parameter(torch.zeros(4))\n\n\n")


def test_isinstance_of_a_plain_value_is_decided() -> None:
    # litgpt's LoRA layers: `if isinstance(enable_lora, bool): enable_lora = [enable_lora] * 3`
    # with a tuple handed in; undecided, the layers built after it were unknown
    analysis = _lint(OWN_NET + "model = Net((True, True))\n" + FREEZE_BUT_FC)
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "(4 parameters)" in finding.message  # a and b, both built


def test_a_loop_over_parameters_it_cannot_list_leaves_them_unknown() -> None:
    # a model with a parameter that may not exist: the loop froze every parameter there is,
    # and the analysis cannot say which; it must not say they all still train
    script = (OWN_NET + "model = Net((True, True), extra=sys.argv[1] == 'x')\n"
              "for p in model.parameters():\n    p.requires_grad = False\n")
    assert _lint(script).diagnostics == []
    [trainable] = [t for t in analyze(script).trainable if "a.weight" in t]
    assert all(state is not True for state in trainable.values())


def test_a_conditional_expression_keeps_a_model_both_sides_build() -> None:
    analysis = _lint("import sys\n\nimport torchvision\n\n"
                     "model = torchvision.models.resnet18(weights='DEFAULT') if sys.argv[1] "
                     "else torchvision.models.resnet18()\n"
                     "other = torchvision.models.resnet18() if sys.argv[1] "
                     "else torchvision.models.vit_b_16()\n"
                     + FREEZE_BUT_FC.replace("'fc'", "'fc_head'")
                     + FREEZE_BUT_FC.replace("'fc'", "'fc_head'").replace("model.", "other."))
    [finding] = [d for d in analysis.diagnostics if d.rule == "FZL101"]
    assert "resnet18" in finding.message and finding.span.start.line == 8  # `model`'s only
