"""The rules. Importing this package registers every rule in `base.REGISTRY`."""

from freezelint.checks import (
    attributes,
    checkpoints,
    names,
    optimizer,
    param_groups,
    peft,
    saved_checkpoints,
    structure,
    trainable,
)
from freezelint.checks.base import REGISTRY, Context, Finding

__all__ = ["REGISTRY", "Context", "Finding", "attributes", "checkpoints", "names", "optimizer",
           "param_groups", "peft", "saved_checkpoints", "structure", "trainable"]
