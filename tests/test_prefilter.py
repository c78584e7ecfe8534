"""The text pre-filter may skip work, never findings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_lookalike_silent_and_skipped

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


# A library's name, not one of the models detect.py knows: nothing needs parsing. (Each rule's
# own lookalikes and kept forms are tested with the rule: tests/rules/test_FZLnnn_*.py.)
SKIPPED = [
    "import torchvision\nresize = torchvision.transforms.Resize(224)\n"
    "if is_torchvision_available():\n    model = build()\n",
    "import timm\nmodel = timm.create_model(name, pretrained=True)\n",
    # auto classes that build no model, and a model's class name quoted in a table
    "from transformers import AutoTokenizer, AutoConfig\n"
    "tok = AutoTokenizer.from_pretrained('bert-base-uncased')\n"
    "config = AutoConfig.from_pretrained('bert-base-uncased')\n",
    'RENAMED = {"ASTModel": "ViTModel", "DeiTModel": "ViTModel"}\n',
]


@pytest.mark.parametrize("text", SKIPPED)
def test_lookalikes_are_not_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)


# A project's own names that build no model the file uses: nothing to check against the class
# reader's names (transformers' own package imports its configs and helpers everywhere).
PROJECT_LOOKALIKES = [
    "from typing import Any\nfrom .generation import GenerationConfig\n\n"
    "config = GenerationConfig(max_length=20)\n\n"
    "def save(state_dict: Any) -> None:\n    print(len(state_dict))\n",
    "from . import utils as U\n\nfeatures = U.FeatureExtractor(sampling_rate=16_000)\n"
    "n_channels = features.num_channels\n",
]
# The same imports building a model the file uses as one: parsed.
PROJECT_MODELS = [
    "from .models import GPT\n\nmodel = GPT(n_layer=2)\nprint(model.state_dict().keys())\n",
    "from . import models as M\n\nnet: object = M.resnet_like(depth=2)\nnet.fc = nn.Linear(net.fc.in_features, 2)\n",
    "from .factory import build_model\n\nmodel = build_model(cfg)\n"
    "for p in model.encoder.parameters():\n    p.requires_grad = False\n",
    "import nets\n\nself_model = getattr(nets, 'Net')()\nself_model.head.requires_grad = False\n",
    # kept in an attribute that the file uses (a LightningModule's or a trainer's model)
    "from .models import GPT\n\nclass Task:\n    def __init__(self):\n"
    "        self.model = GPT(n_layer=2)\n\n    def freeze(self):\n"
    "        for p in self.model.parameters():\n            p.requires_grad = False\n",
    "import models\n\nclass Task:\n    def __init__(self):\n        self.net = models.Net()\n"
    "        self.net.head.requires_grad_(False)\n",
    # every name of a project module, star-imported
    "from .models import *\n\nmodel = build_model(cfg)\nmodel.train()\n",
]
PROJECT_LOOKALIKES.append(
    "from .constants import *\n\nsizes = compute_sizes(cfg)\nprint(sizes.parameters)\n")
# a factory returned by a function of the file whose result is no model the file uses
PROJECT_LOOKALIKES.append(
    "from models import build_model\n\n\ndef make():\n    return build_model()\n\n\n"
    "print(make())\nx.train()\n")
PROJECT_MODELS.extend([
    # returned by a function of the file (at any nesting) whose call the file keeps as a model
    "from models import build_model\n\n\ndef make():\n    return build_model()\n\n\n"
    "model = make()\nmodel.train()\n",
    "import models\n\n\nclass Task:\n    def setup(self):\n        def inner():\n"
    "            return models.Net().cuda()\n        self.net = inner()\n\n"
    "    def freeze(self):\n        self.net.requires_grad_(False)\n",
])


@pytest.mark.parametrize("text", PROJECT_LOOKALIKES)
def test_project_names_that_build_no_model_are_not_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)


@pytest.mark.parametrize("text", PROJECT_MODELS)
def test_a_project_model_the_file_uses_is_parsed(text: str) -> None:
    assert worth_linting(text, explicit_model=False)


def test_a_project_model_used_where_it_is_built_is_parsed() -> None:
    # litgpt's tests: `m = litgpt.GPT(config).requires_grad_(False).eval()`
    text = "import litgpt\n\nm = litgpt.GPT(config).requires_grad_(False).eval()\n"
    assert worth_linting(text, explicit_model=False)


def test_a_file_that_only_defines_layers_is_not_parsed() -> None:
    # a library's module: classes of layers, a buffer without gradient, nothing judged
    layers = ("import torch\nfrom torch import nn\n\n\nclass Rotary(nn.Module):\n"
              "    def __init__(self, dim):\n        super().__init__()\n"
              "        self.inv_freq = nn.Parameter(torch.ones(dim), requires_grad=False)\n"
              "        self.proj = nn.Linear(dim, dim)\n")
    assert_lookalike_silent_and_skipped(layers)
    frozen = layers + "\n\nmodel = Rotary(8)\nmodel.proj.requires_grad_(False)\n"
    assert worth_linting(frozen, explicit_model=False)


def test_tensors_wrapped_as_parameters_build_no_model() -> None:
    # a library's loading code (transformers' core_model_loading.py): no module is built
    loading = ("import torch\n\n\ndef materialize(model, state):\n"
               "    names = {k for k, _ in model.named_parameters()}\n"
               "    for key, value in state.items():\n"
               "        if key in names:\n"
               "            value = torch.nn.Parameter(value, requires_grad=False)\n"
               "    return model.state_dict()\n")
    assert_lookalike_silent_and_skipped(loading)
    built = loading + "\n\nhead = torch.nn.Linear(4, 2)\nhead.requires_grad_(False)\n"
    assert worth_linting(built, explicit_model=False)


def test_a_zoo_constructor_quoted_in_documentation_is_not_parsed() -> None:
    documented = ('"""Load a model:\n\n    model = AutoModel.from_pretrained("bert-base-uncased")\n'
                  '"""\n\n\ndef tokenize(text):\n    """Or `timm.create_model("resnet50")`."""\n'
                  '    return text.split()\n')
    assert_lookalike_silent_and_skipped(documented)
    code = documented + '\nmodel = AutoModel.from_pretrained("bert-base-uncased")\n'
    assert worth_linting(code, explicit_model=False)
    # a docstring and code on one line: the code is kept
    assert worth_linting('def f(): """doc"""; return AutoModel.from_pretrained("gpt2")\n',
                         explicit_model=False)


# A skipped file is checked for syntax errors with Python's parser and symbol table pass when
# no tree is needed (no site to count): what only they or the compiler refuse (`nonlocal` at
# module level, `return` outside a function) is not a syntax error for the parser, and an
# analysed file does not report it either.
COMPILER_ONLY = [
    "import json\nreturn json\n",
    "nonlocal x\n",
    "def f():\n    x = 1\n    def g():\n        global x\n        nonlocal x\n",
    "await something()\n",
]


@pytest.mark.parametrize("text", COMPILER_ONLY)
def test_a_skipped_file_reports_what_the_parser_refuses_not_the_compiler(text: str) -> None:
    assert not worth_linting(text, explicit_model=False)
    assert lint(text) == lint(text, LintConfig(prefilter=False)) == []


@pytest.mark.parametrize(("text", "line", "message"), [
    ("import json\n\ndef load(path:\n    return json.load(path)\n", 3, "'(' was never closed"),
    ("x = 1\nif x\n    y = 2\n", 2, "expected ':'"),
    ("import os\nprint('a' 'b' c)\n", 2, "invalid syntax"),
])
def test_a_skipped_file_with_a_syntax_error_reports_it_where_python_does(
        text: str, line: int, message: str) -> None:
    assert not worth_linting(text, explicit_model=False)
    [diagnostic] = lint(text)
    assert diagnostic.rule == "FZL000"
    assert diagnostic.span.start.line == line
    assert message in diagnostic.message


@pytest.mark.parametrize("tail", [
    "x" + ".b" * 200_000 + ".parameters()\n",  # one chain of attributes
    "self.b = Net()\nx" + ".b" * 200_000 + "\n",  # the same, on an attribute kept
    "y = " + ".a[" * 100_000 + "\n",  # subscripts never closed
])
def test_a_hostile_chain_is_judged_without_a_hang(tail: str) -> None:
    # each link was the start of a scan of the rest of the chain: quadratic, hours at the
    # size bound; a child process so that a hang fails the test instead of the run
    text = "from .models import *\nfrom .models import Net\nx = build()\n" + tail
    code = ("import sys\nfrom freezelint.prefilter import worth_linting\n"
            "print(worth_linting(sys.stdin.read(), explicit_model=False))\n")
    done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() in {"True", "False"}


@pytest.mark.parametrize("kept", ["model = f()\nmodel.train()\n", "x = g()\ny.train()\n"])
def test_returns_of_a_project_call_are_followed_without_a_hang(kept: str) -> None:
    # a hostile file: returns of a project call under 20,000 nested definitions, of one
    # name, then of 20,000 names; each looks up a bounded number of definitions, and a
    # bounded number of functions is followed (past it the file is parsed)
    nested = "".join("    " * (depth % 50) + "def f():\n" + "    " * (depth % 50 + 1)
                     + "return build_model()\n" for depth in range(20_000))
    distinct = "".join(f"def f{index}():\n    return build_model()\n"
                       for index in range(20_000))
    for body in (nested, distinct):
        text = "from models import build_model\n" + body + kept
        code = ("import sys\nfrom freezelint.prefilter import worth_linting\n"
                "print(worth_linting(sys.stdin.read(), explicit_model=False))\n")
        done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True,
                              text=True, timeout=60, check=True)
        assert done.stdout.strip() == ("True" if "model" in kept or body is distinct
                                       else "False")


# A library's module that defines layers and walks or freezes the modules of a model it is
# handed: nothing of its own to judge (transformers' hub_kernels.py, continuous_api.py).
OWN_LOOKALIKES = [
    "import torch.nn as nn\n\n\nclass Proto(nn.Module):\n    def forward(self, x):\n"
    "        return x\n\n\ndef prepare(model):\n    model.eval()\n"
    "    for name, module in model.named_modules():\n        print(name)\n",
    "from torch import nn\n\n\ndef swap(model, layer):\n    layer.proj = nn.Identity()\n"
    "    for p in model.parameters():\n        p.requires_grad = False\n",
]
# What the file builds and judges: its class used as a module in its own methods, called
# anywhere, or a torch.nn module kept where the file uses it as one.
OWN_MODELS = [
    "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\n\n"
    "def freeze(m):\n    for p in m.parameters():\n        p.requires_grad = False\n",
    "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    pass\n\n\n"
    "nets = [Net(), Net()]\nfor p in nets[0].parameters():\n    p.requires_grad = False\n",
    "import torch\n\nmodel = torch.nn.Sequential(torch.nn.Linear(4, 2))\nmodel.eval()\n",
    "from torch import nn\n\n\ndef build():\n    return nn.Linear(4, 2)\n\n\nhead = build()\n"
    "head.requires_grad_(False)\n",
]


@pytest.mark.parametrize("text", OWN_LOOKALIKES)
def test_a_module_walking_a_model_it_is_handed_is_not_parsed(text: str) -> None:
    assert_lookalike_silent_and_skipped(text)


@pytest.mark.parametrize("text", OWN_MODELS)
def test_a_model_the_file_builds_and_judges_is_parsed(text: str) -> None:
    assert worth_linting(text, explicit_model=False)
