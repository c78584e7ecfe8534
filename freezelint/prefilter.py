"""A cheap text test that decides whether a file is worth parsing at all.

Parsing is most of a lint's cost, and most Python files in a repository never touch a
model. Every rule needs one of a few textual footholds: a model constructor the zoo knows, a
model directive, or one of the syntactic patterns the model-free rules look for. With an
explicit model (or checkpoint) the footholds are the module methods the analysis follows.
A test runs every rule example through `lint` and checks this never skips one with a finding.
"""

from __future__ import annotations

import re

from freezelint.analysis.detect import names_a_zoo_model
from freezelint.common.words import edit_distance

# The patterns the model-free, syntactic rules look for: without one of them the one-pass
# syntax collection (analysis/syntax.py) is skipped.
_SYNTACTIC = re.compile(
    r"requires_grad\s*=="  # discarded comparison (FZL106)
    r"|\.(?:named_)?(?:parameters|modules|children|buffers)\b(?!\s*\()"  # uncalled (FZL110)
    r"|\._?(?:in|out)_(?:features|channels)\s*=(?!=)"  # size attributes (FZL111)
    r"|\[\s*(?:6|7|8|9|10|len\(\s*['\"])\s*:\s*\]"  # prefix slices (FZL302)
    r"|\.(?:replace|lstrip)\(\s*['\"]\w+\.['\"]"  # prefix strips (FZL303)
    r"|num_features\s*=(?!=)"  # size attributes of a known module (FZL111)
)

# Without an explicit model: what can make a file produce any finding. Separate patterns, each
# starting with a literal, which `re` scans for quickly (one alternation is ten times slower).
_WITHOUT_MODEL = tuple(re.compile(pattern) for pattern in (
    r"ASTModel", r"freezelint:",  # the AST constructor, or a model directive
    r"Auto(?:Model|For)\w*\.from_",  # transformers Auto classes (detect.py reads the name)
    r"strict\s*=\s*False",  # unchecked non-strict loads (FZL304)
    r"torch\.(?:save|load\(\s*['\"])",  # checkpoints whose keys can be known
))


def _names_a_zoo_model(text: str) -> bool:
    # The other constructors: detect.py's own test, from the zoo's names (a library's name
    # alone, `is_torchvision_available`, names no model).
    if any(pattern.search(text) for pattern in _WITHOUT_MODEL):
        return True
    return names_a_zoo_model(text)
# Attribute assignments that may be typos of requires_grad (FZL105). Two edits leave one of
# the blocks `requ`, `ires`, `_gra` of the name whole, so every typo contains one of them.
_TYPO_CANDIDATE = re.compile(r"\.(\w*(?:requ|ires|_gra)\w*)\s*=(?!=)", re.I)

# Without a model, the model-free rules report only what these find (each mirrors its rule's
# own test, so that ordinary code is not parsed for nothing). Each search starts at the rare
# part, the attribute, and then looks at what precedes it: a pattern that starts with a name
# would be tried at every character of the file.
# FZL110: a method used uncalled on a receiver whose name reads as a module (`sys.modules` and
# `inspect.signature(f).parameters` are mappings, not methods).
_UNCALLED = re.compile(r"\.\s*(?:named_)?(?:parameters|modules|children|buffers)\b(?!\s*\()")
_RECEIVER_NAME = re.compile(r"(\w+)[\s\\)]*$")  # `model`, `(model)`, `model \` + newline
MODULE_WORDS = re.compile(r"(model|net|backbone|encoder|decoder|head|classifier|layer|block)",
                          re.I)
# FZL111: a size attribute set on a chain (`model.fc.in_features = 3`); on a bare name
# (`self.in_features = n`, a module recording its own size) it is not reported.
_SIZE_ASSIGN = re.compile(r"\.\s*(?:in|out)_(?:features|channels)\s*=(?!=)")
_BARE_NAME = re.compile(r"(?<![\w.\])])\w+\s*$")
_LOOK_BACK = 200
_MODEL_FREE = re.compile(
    r"requires_grad\s*=="  # discarded comparison (FZL106)
    r"|\[\s*(?:6|7|8|9|10|len\(\s*['\"])\s*:\s*\]"  # prefix slices (FZL302)
    r"|\.(?:replace|lstrip)\(\s*['\"]\w+\.['\"]"  # prefix strips (FZL303)
    r"|_(?:modules|save)\s*=\s*[\w.]+\.(?:append|extend)\("  # a PEFT list that is None (FZL404)
)

# With an explicit model or checkpoint: any use of a module, a parameter or a state dict.
_WITH_MODEL = re.compile(
    r"parameters|modules|children|buffers|requires_grad|state_dict|\.train\(|\.eval\("
    r"|_features|_channels|torch\.load|strict"
)


def looks_like_module_name(name: str) -> bool:
    """Whether a receiver's name reads as a torch module when no model is known."""
    return bool(MODULE_WORDS.search(name)) and not name.endswith(("signature", "sig"))


def is_requires_grad_typo(attr: str) -> bool:
    """`require_grad`, `requires_grd`, `requires_gard`, `Requires_grad` (within two edits),
    and the method's name `requires_grad_`. A leading underscore marks a deliberate private
    name (transformers records `self._requires_grad = False` after freezing)."""
    if attr == "requires_grad_":
        return True
    if attr == "requires_grad" or attr.startswith("_"):
        return False
    return edit_distance(attr.lower(), "requires_grad") <= 2


def has_syntactic_patterns(text: str) -> bool:
    """True when a model-free rule could fire, or a known model's module be resized: only
    then is the syntax pass (analysis/syntax.py) worth running."""
    if _SYNTACTIC.search(text):
        return True
    return any(is_requires_grad_typo(name) for name in _TYPO_CANDIDATE.findall(text))


def _model_free_finding_possible(text: str) -> bool:
    if _MODEL_FREE.search(text) or any(is_requires_grad_typo(n)
                                        for n in _TYPO_CANDIDATE.findall(text)):
        return True
    for match in _UNCALLED.finditer(text):
        receiver = _RECEIVER_NAME.search(text, max(0, match.start() - _LOOK_BACK), match.start())
        if receiver is not None and looks_like_module_name(receiver.group(1)):
            return True
    for match in _SIZE_ASSIGN.finditer(text):
        line = text.rfind("\n", 0, match.start()) + 1
        if not _BARE_NAME.search(text, line, match.start()):
            return True
    return False


def worth_linting(text: str, *, explicit_model: bool) -> bool:
    if _names_a_zoo_model(text) or _model_free_finding_possible(text):
        return True
    return explicit_model and (_WITH_MODEL.search(text) is not None
                               or has_syntactic_patterns(text))
