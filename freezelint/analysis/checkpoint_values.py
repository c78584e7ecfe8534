"""The values the checkpoint flow computes with (analysis/checkpoint_flow.py), and the facts
it hands to the rules.

Kept apart from the pass so that the verdicts (checkpoint_verdicts.py), the pass's records
(checkpoint_records.py) and the rules that read its facts (checks/saved_checkpoints.py) share
one vocabulary without importing the pass itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

UNKNOWN: Any = object()

# Methods that return the module they are called on, names unchanged.
_SAME_MODULE = frozenset({"to", "cuda", "cpu", "eval", "train", "float", "half", "double",
                          "bfloat16", "requires_grad_", "type", "to_empty"})
_LIGHTNING_ROOTS = ("lightning", "pytorch_lightning", "lightning.pytorch")
_WRAPPER_ATTR = {"module.": "module", "_orig_mod.": "_orig_mod"}
# Methods that change a dict in place, and calls that only read a state dict handed to them.
_MUTATORS = frozenset({"pop", "popitem", "update", "setdefault", "clear", "__setitem__",
                       "__delitem__"})
_READS_STATE = frozenset({"load_state_dict", "get", "items", "keys", "values", "torch.save",
                          "print", "len", "list", "sorted", "isinstance", "info", "debug",
                          "warning", "format"})


# -- values -----------------------------------------------------------------------------------
@dataclass(eq=False)
class Built:
    """A module built by calling `callee(...)`; `compiled` holds the submodules compiled in
    place since (`m.fc = torch.compile(m.fc)` makes `fc.weight` `fc._orig_mod.weight`)."""

    callee: str
    args: str
    node: cst.Call
    compiled: tuple[str, ...] = ()
    scope: int = 0  # the function body it was built in (0: the module)


@dataclass(frozen=True, eq=False)
class Wrapped:
    """`nn.DataParallel(inner)`, DDP, `torch.compile(inner)`: `attr.` before every key."""

    inner: Any
    attr: str
    wrapper: str
    node: cst.Call


@dataclass(frozen=True)
class LightningClass:
    """A LightningModule subclass of this file: each attribute `__init__` assigns exactly one
    constructor call to (`self.model = Net()` -> {'model': 'Net'})."""

    name: str
    children: dict[str, str]


@dataclass(frozen=True, eq=False)
class Lightning:
    cls: LightningClass
    node: cst.CSTNode


@dataclass(frozen=True, eq=False)
class Part:
    """`owner.path`: a submodule of a module the pass follows (`lit.model`, `model.fc`)."""

    owner: Any
    path: str
    callee: str | None


@dataclass(frozen=True, eq=False)
class Keys:
    """A state dict taken from `module` (its format when `state_dict()` was called)."""

    module: Any
    compiled: tuple[str, ...]
    node: cst.CSTNode


@dataclass(frozen=True, eq=False)
class Filtered:
    """`{k: v for k, v in sd.items() if k[7:] in target}`: keeps `k`, tested `tested`."""

    node: cst.DictComp
    tested: cst.BaseExpression
    target: str


@dataclass(eq=False)
class Trainer:
    callbacks: list[Any]
    fitted: Any = None


@dataclass(frozen=True, eq=False)
class CheckpointCallback:
    node: cst.CSTNode


@dataclass(frozen=True)
class Saved:
    value: Any
    node: cst.CSTNode
    path: str
    elsewhere: str = ""  # the project file that saves it, when not this one


# -- facts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrefixLoad:
    """A load whose state dict's keys are certain not to fit the module loaded into.

    kind: "carry" (every key has `prefix` the module lacks; strip it), "lack" (the module is
    a wrapper whose keys have `prefix`; load into `receiver.<attr>`), "lightning" (the keys
    are the LightningModule's, the module loaded is the one at `prefix`), "compiled" (the
    submodules in `paths` were compiled in place on one side only), "container" (the file
    holds a dict, the state dict is under `key`)."""

    node: cst.Call
    kind: str
    prefix: str
    cause: str
    saved: Saved
    receiver: cst.BaseExpression
    argument: cst.BaseExpression
    paths: tuple[str, ...] = ()
    key: str = ""


@dataclass
class CheckpointFlow:
    loads: list[PrefixLoad] = field(default_factory=list)
    # `X.load_state_dict(..., strict=False)` as a statement: (call, statement).
    discarded_nonstrict: list[tuple[cst.Call, cst.Expr]] = field(default_factory=list)
    # Filters that test a transformed key but keep the original, whose result reaches the
    # dict tested or a load: (comprehension, tested expression).
    tested_not_kept: list[tuple[cst.DictComp, cst.BaseExpression]] = field(default_factory=list)
    # Loads of a state dict the file saves in the key format the receiver loads (every save
    # of that path fits it): nothing for FZL308/FZL309 to report, but judged all the same.
    fits: list[cst.Call] = field(default_factory=list)
    # The top-level statement each reported node (and what a fix replaces) sits in.
    owner: dict[cst.CSTNode, int] = field(default_factory=dict)


class _Env:
    def __init__(self, parent: _Env | None = None) -> None:
        self.names: dict[str, Any] = {}
        self.parent = parent

    def get(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        return self.parent.get(name) if self.parent is not None else UNKNOWN


@dataclass(frozen=True)
class Setting:
    """`args.output_dir`, `cfg['ckpt']`, `config.train.out`: a value read from a settings
    object (a parameter, or a name bound once at the top level) that the file never writes
    to nor calls a method of. Unknown, but the same at every read, so a path built from it
    names the same file at a save and at a load. In paths its code stands for it, between
    NUL characters no real path contains."""

    code: str

    @property
    def token(self) -> str:
        return f"\x00{self.code}\x00"


def symbolic(path: str) -> bool:
    """A path built from a `Setting`: it may name the same file as another path."""
    return "\x00" in path


def as_text(value: Any) -> Any:
    """A value as it enters a path: a `Setting` by its token, anything else as it is."""
    return value.token if isinstance(value, Setting) else value


class _PathStr(str):
    """A `pathlib.Path` the pass follows: `/` joins."""


@dataclass(frozen=True, eq=False)
class _CallbackPath:
    callback: CheckpointCallback


@dataclass(frozen=True, eq=False)
class _Loaded:
    """What `torch.load(path)` gives, or an entry of it (`['state_dict']`): judged once
    every save of the file is known."""

    path: str | _CallbackPath | None  # None: a file the pass cannot name
    keys: tuple[str, ...]


class _Items:
    """`.items()` of a state dict read from a file."""
