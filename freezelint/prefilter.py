"""A cheap text test that decides whether a file is worth parsing at all.

Parsing is most of a lint's cost, and most Python files in a repository never touch a
model. Every rule needs one of a few textual footholds: a model constructor the zoo knows, a
model directive, or one of the syntactic patterns the model-free rules look for. With an
explicit model (or checkpoint) the footholds are the module methods the analysis follows.
A test runs every rule example through `lint` and checks this never skips one with a finding.
"""

from __future__ import annotations

import re

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

# Without an explicit model: what can make a file produce any finding.
_WITHOUT_MODEL = re.compile(
    r"ASTModel|torchvision|timm\.|freezelint:"  # a model the zoo knows, or a directive
    r"|(?:Bert|ViT|AST|Auto)(?:Model|For)\w*\.from_"  # transformers classes the zoo knows
    r"|strict\s*=\s*False"  # unchecked non-strict loads (FZL304)
    r"|torch\.save|torch\.load\(\s*['\"]"  # checkpoints whose keys can be known
)
# Attribute assignments with "grad" in the name: typos of requires_grad (FZL105).
_GRAD_ASSIGN = re.compile(r"\.(\w*grad\w*)\s*=(?!=)")

# With an explicit model or checkpoint: any use of a module, a parameter or a state dict.
_WITH_MODEL = re.compile(
    r"parameters|modules|children|buffers|requires_grad|state_dict|\.train\(|\.eval\("
    r"|_features|_channels|torch\.load|strict"
)


def has_syntactic_patterns(text: str) -> bool:
    """True when a model-free rule could fire: only then is the syntax pass worth running."""
    if _SYNTACTIC.search(text):
        return True
    return any(name != "requires_grad" for name in _GRAD_ASSIGN.findall(text))


def worth_linting(text: str, *, explicit_model: bool) -> bool:
    if _WITHOUT_MODEL.search(text) or has_syntactic_patterns(text):
        return True
    return explicit_model and _WITH_MODEL.search(text) is not None
