"""A cheap text test that decides whether a file is worth parsing at all.

Parsing is most of a lint's cost, and most Python files in a repository never touch a
model. Every rule needs one of a few textual footholds, and none is written here by hand:
- a model constructor the zoo knows, or a model directive (from detect.py's own tables);
- a rule's own triggers: the text that can make it report with no model known, which each
  rule declares with `@rule(..., triggers=...)` (checks/);
- with an explicit model (or checkpoint): any use of a module, a parameter or a state dict
  (MODEL_FOOTHOLDS, next to the facts in analysis/facts.py).
Rules that read the one-pass syntax collection declare when it is worth running
(`@rule(..., syntax=...)`, their triggers by default): `has_syntactic_patterns`.
A test runs every rule example through `lint` and checks this never skips one with a finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache

from freezelint import checks
from freezelint.analysis.detect import names_a_zoo_model
from freezelint.analysis.facts import MODEL_FOOTHOLDS
from freezelint.analysis.project_modules import maybe_project
from freezelint.checks.attributes import looks_like_module_name

# Without an explicit model: a model the analysis can identify. Separate patterns, each
# starting with a literal, which `re` scans for quickly (one alternation is ten times slower).
_WITHOUT_MODEL = tuple(re.compile(pattern) for pattern in (
    r"ASTModel", r"freezelint:",  # the AST constructor, or a model directive
    r"Auto(?:Model|For)\w*\.from_",  # transformers Auto classes (detect.py reads the name)
))


def _names_a_zoo_model(text: str) -> bool:
    # The other constructors: detect.py's own test, from the zoo's names (a library's name
    # alone, `is_torchvision_available`, names no model).
    if any(pattern.search(text) for pattern in _WITHOUT_MODEL):
        return True
    return names_a_zoo_model(text)


TextTest = Callable[[str], bool]


@cache
def _rule_triggers() -> tuple[TextTest, ...]:
    """Every rule's triggers, each distinct test once."""
    return _unique(test for rule in checks.REGISTRY.values() for test in rule.triggers)


@cache
def _syntax_triggers() -> tuple[TextTest, ...]:
    return _unique(test for rule in checks.REGISTRY.values() for test in rule.syntax)


def _unique(tests: Iterable[TextTest]) -> tuple[TextTest, ...]:
    return tuple(dict.fromkeys(tests))


def has_syntactic_patterns(text: str) -> bool:
    """True when a rule that reads the syntax pass (analysis/syntax.py) could report on
    `text`: only then is that pass worth running."""
    return any(test(text) for test in _syntax_triggers())


def _model_free_finding_possible(text: str) -> bool:
    return any(test(text) for test in _rule_triggers())


# A model class of the project's own, defined in the file, or imported from a module that may
# be the project's and called (`from models import GPT` ... `GPT(config)`,
# `GPT.from_pretrained(...)`, `model = build_model(cfg)`): the static class reader may know its
# names, so the file is worth parsing as if a model were named.
# A module built from torch.nn in the script (`model = nn.Sequential(...)`,
# `torch.nn.Linear(20, 1)`) is a model of known names once the script uses it as one.
_OWN_MODEL = (re.compile(r"\bclass \w+\([^)]*(?:Module|Sequential|ModuleList|ModuleDict)\b"),
              re.compile(r"\bnn\.[A-Z]\w*\("))
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)",
                          re.MULTILINE)


def _calls_a_project_name(text: str) -> bool:
    """A name imported from a module that may be the project's, then constructed (a
    capitalised name called, or its class methods: `V.ViTConfig.tiny()`) or, for a
    factory, called into a variable named like a module (`model = build_model(cfg)`)."""
    for match in _FROM_IMPORT.finditer(text):
        if not maybe_project(match.group(1)):
            continue
        for item in match.group(2).strip("()").split(","):
            words = item.split("#")[0].split()
            name = words[-1] if len(words) == 3 and words[1] == "as" else words[0] if words else ""
            if not name.isidentifier():
                continue
            if name[:1].isupper():
                if re.search(rf"\b{name}(?:\.\w+)*\s*\(", text):
                    return True
            elif any(looks_like_module_name(variable)
                     for variable in re.findall(rf"(\w+)\s*=\s*{name}\s*\(", text)):
                return True
    return False


# A project module imported by name whose class the file uses (`import models` ...
# `models.Net(...)`, `from pkg import models as m` ... `getattr(m, "Net")`).
_MODULE_IMPORT = re.compile(r"^[ \t]*(?:import ([\w.]+)(?: as (\w+))?"
                            r"|from [\w.]* import (\w+)(?: as (\w+))?)", re.MULTILINE)
_LIBRARIES = frozenset({"torch", "torchvision", "timm", "transformers", "peft", "numpy", "os",
                        "sys", "math", "json", "re", "argparse", "time", "random", "logging"})


_CLASS_OF = re.compile(r"\b(\w+)\.(?:\w+\.)*(?:[A-Z]\w*|__dict__)\b|getattr\((\w+)\b")


def _uses_project_module(text: str) -> bool:
    bound = set()
    for match in _MODULE_IMPORT.finditer(text):
        dotted, alias, name, name_alias = match.groups()
        found = alias or name_alias or name or (dotted or "").split(".")[0]
        if found and found not in _LIBRARIES and not found[:1].isupper():
            bound.add(found)
    return bool(bound) and any(m.group(1) in bound or m.group(2) in bound
                               for m in _CLASS_OF.finditer(text))


def worth_linting(text: str, *, explicit_model: bool) -> bool:
    if _names_a_zoo_model(text) or _model_free_finding_possible(text):
        return True
    if not (MODEL_FOOTHOLDS.search(text) is not None or has_syntactic_patterns(text)):
        return False
    return explicit_model or any(p.search(text) for p in _OWN_MODEL) \
        or _calls_a_project_name(text) or _uses_project_module(text)
