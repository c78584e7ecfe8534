"""The rules. Importing this package imports every module in it, and each `@rule` there
registers itself in `base.REGISTRY`: adding a rule never means editing this file."""

from importlib import import_module
from pathlib import Path

from freezelint.checks.base import REGISTRY, Context, Finding, Rule

# Sorted, so that rules register (and report, before sorting) in the same order everywhere.
for _module in sorted(p.stem for p in Path(__file__).parent.glob("[!_]*.py")):
    import_module(f"{__name__}.{_module}")

# The node types the rules read from the syntax pass (`@rule(..., visits=...)`).
VISITS = frozenset(kind for rule in REGISTRY.values() for kind in rule.visits)

__all__ = ["REGISTRY", "VISITS", "Context", "Finding", "Rule"]
