"""Verdicts of the checkpoint flow (analysis/checkpoint_flow.py): what is certainly wrong when
a saved state dict is loaded into a module.

Both ends are described as a model under a chain of wrappers; the verdict compares the
chains (and the submodules compiled in place) and says nothing unless both ends are the same
model. Pure functions of the values (checkpoint_values.py), apart from the walk that builds
them.
"""

from __future__ import annotations

from typing import Any

from freezelint.analysis.checkpoint_values import UNKNOWN, Built, Keys, Lightning, Part, Wrapped

# -- verdicts ---------------------------------------------------------------------------------
Verdict = tuple[str, str, str, tuple[str, ...], str]


def _within(value: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return UNKNOWN
        value = value.get(key, UNKNOWN)
    return value


def _verdict(value: Any, receiver: Any, compiled: tuple[str, ...]) -> Verdict | None:
    """What is certainly wrong when `value` (what was saved, or an entry of it) is loaded
    into `receiver`, or None when it fits or is not known."""
    if isinstance(value, dict):
        fitting = [k for k, v in value.items()
                   if isinstance(v, Keys) and _compare(v, receiver, compiled) == "fits"]
        if len(fitting) == 1 and value:
            return ("container", "", "", tuple(value), fitting[0])
        return None
    if not isinstance(value, Keys):
        return None
    outcome = _compare(value, receiver, compiled)
    return outcome if isinstance(outcome, tuple) else None


def _fits(value: Any, receiver: Any, compiled: tuple[str, ...]) -> bool:
    """Whether `value` is a state dict saved in the key format `receiver` loads (the same
    model under the same wrappers, the same submodules compiled in place): nothing is wrong
    with the keys. Not where either end may have been compiled in code the pass does not
    follow (`?`), whose keys are unknown even when both ends say so."""
    return isinstance(value, Keys) and "?" not in value.compiled and "?" not in compiled \
        and _compare(value, receiver, compiled) == "fits"


def _compare(keys: Keys, receiver: Any, compiled: tuple[str, ...]) -> Verdict | str | None:
    saved_leaf, saved_chain = _describe(keys.module)
    leaf, chain = _describe(receiver)
    if isinstance(saved_leaf, Lightning) and not saved_chain and not chain:
        path = _lightning_path(saved_leaf, leaf)
        if path == "":
            return "fits"
        if path is not None:
            return ("lightning", path + ".", type_name(saved_leaf), (), "")
        return None
    if not _same_model(saved_leaf, leaf):
        return None
    if saved_chain == chain:
        if "?" in keys.compiled or "?" in compiled or not isinstance(leaf, Built):
            return "fits" if keys.compiled == compiled else None
        if set(keys.compiled) != set(compiled):
            paths = tuple(sorted(set(keys.compiled) ^ set(compiled)))
            side = "saved" if set(keys.compiled) > set(compiled) else "loaded"
            return ("compiled", "", side, paths, "")
        return "fits"
    if len(saved_chain) > len(chain) and saved_chain[len(saved_chain) - len(chain):] == chain:
        extra = saved_chain[:len(saved_chain) - len(chain)]
        return ("carry", "".join(a + "." for a in extra), _cause(keys.module, extra), (), "")
    if len(chain) > len(saved_chain) and chain[len(chain) - len(saved_chain):] == saved_chain:
        extra = chain[:len(chain) - len(saved_chain)]
        return ("lack", "".join(a + "." for a in extra), _cause(receiver, extra), (), "")
    return None


def type_name(value: Lightning) -> str:
    return value.cls.name


def _lightning_path(saved: Lightning, leaf: Any) -> str | None:
    """Where in the saved LightningModule the module loaded sits: '' for the module itself,
    the attribute path for a submodule, None when it cannot be told."""
    if isinstance(leaf, Lightning):
        return "" if leaf.cls is saved.cls else None
    if isinstance(leaf, Part) and isinstance(leaf.owner, Lightning):
        return leaf.path if leaf.owner.cls is saved.cls else None
    if isinstance(leaf, Built) and _class_like(leaf.callee):
        holders = [a for a, c in saved.cls.children.items() if c == leaf.callee]
        return holders[0] if len(holders) == 1 else None
    return None


def _cause(module: Any, extra: tuple[str, ...]) -> str:
    """The wrapper code that added the outermost of `extra`: `nn.DataParallel`."""
    while isinstance(module, Wrapped):
        if module.attr == extra[0]:
            return module.wrapper
        module = module.inner
    return ""


def _describe(module: Any) -> tuple[Any, tuple[str, ...]]:
    """The model under the wrappers, and the wrappers' attributes from the outside in."""
    chain: list[str] = []
    while isinstance(module, Wrapped):
        chain.append(module.attr)
        module = module.inner
    return module, tuple(chain)


def _same_model(a: Any, b: Any) -> bool:
    """The same object, or a new instance of the same class (a function's result only with
    the same arguments): both have the same names."""
    if a is b:
        return True
    if isinstance(a, Built) and isinstance(b, Built):
        return a.callee == b.callee and (a.args == b.args or _class_like(a.callee))
    if isinstance(a, Part) and isinstance(b, Part):
        return a.path == b.path and _same_model(a.owner, b.owner)
    if isinstance(a, Lightning) and isinstance(b, Lightning):
        return a.cls is b.cls
    return False


def _class_like(name: str) -> bool:
    return name.rpartition(".")[2][:1].isupper()


def _is_module(value: Any) -> bool:
    return isinstance(value, (Built, Wrapped, Lightning, Part))


def _compiled(module: Any) -> tuple[str, ...]:
    leaf, _ = _describe(module)
    return leaf.compiled if isinstance(leaf, Built) else ()


def _escape(values: list[Any]) -> None:
    """A model handed to code the pass does not follow may be compiled in place there."""
    for value in values:
        leaf, _ = _describe(value)
        if isinstance(leaf, Built):
            leaf.compiled = ("?",)
