"""What the interpreter learned about the script, for the rules to read.

Each fact carries the CST node it is about and `seq`, its place in program order. Facts
are aggregated per node: a statement inside a loop over 159 parameters is one fact that
names the parameters it touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from freezelint.analysis.peft_configs import PeftFacts
from freezelint.analysis.syntax import SyntaxFacts
from freezelint.analysis.values import ModelState, OptimizerObj, StateDict

# With a model known, the facts below come only from code that uses a module, a parameter or
# a state dict: a file without one of these words yields none (the pre-filter skips it).
# Plain words, each found with `in` (one alternation of them, tried at every character, was
# four times slower over a package's files).
MODEL_FOOTHOLDS = ("parameters", "modules", "children", "buffers", "requires_grad",
                   "state_dict", ".train(", ".eval(", "_features", "_channels", "torch.load",
                   "strict")


def has_model_foothold(text: str) -> bool:
    return any(word in text for word in MODEL_FOOTHOLDS)

# Besides a site (engine/sites.py site_words), text that uses a model the way a rule
# could judge it: a checkpoint, a layer replaced (`model.fc = nn.Linear(...)`, sized by
# `in_features`), train()/eval(), an uncalled `.parameters`, PEFT, Lightning's
# BackboneFinetuning. A script with neither reads none of the project's modules: what they
# define could not change a finding (reading them was most of a cold lint of a large
# package, whose files import each other's helpers everywhere).
MODEL_USES = re.compile(
    r"state_dict|torch\.load|\.(?:train|eval)\(|_features\b|_channels\b|=\s*(?:torch\.)?nn\.[A-Z]"
    r"|\.(?:parameters|modules|children|buffers)\b(?!\s*\()|peft|Peft|Lora"
    r"|BackboneFinetuning|configure_optimizers"
)


@dataclass(eq=False)
class NameTest:
    """A literal compared with real names: `name != 'fc.weight'`, `'norm' in name`."""

    node: cst.CSTNode
    literal: str
    kind: str  # "equal", "substring", "prefix", "suffix", "regex"
    domain: str  # "parameter" or "module"
    model: ModelState
    matched: set[str] = field(default_factory=set)
    tested: set[str] = field(default_factory=set)


@dataclass(eq=False)
class IndexTest:
    """`i < 100` where `i` counts `enumerate(model.parameters())`."""

    node: cst.CSTNode
    model: ModelState


@dataclass(eq=False)
class GradAssign:
    """One statement that sets `requires_grad` on real parameters."""

    node: cst.CSTNode
    model: ModelState
    seq: int
    values: dict[str, bool | None] = field(default_factory=dict)
    # What the statement writes when it runs, even inside a branch the analysis could not
    # decide (`if epoch == 5: unfreeze`): `values` is None there, `written` is not.
    written: dict[str, bool | None] = field(default_factory=dict)
    conditional: bool = False
    # The parameters were reached through enumerate() indices or a positional slice.
    by_index: bool = False
    after_wrap: cst.CSTNode | None = None
    optimizers_before: list[OptimizerObj] = field(default_factory=list)


@dataclass(eq=False)
class OptimizerBuilt:
    """An optimizer built, with what trained when it was."""

    optimizer: OptimizerObj
    # Trainable state of the model when the optimizer was built.
    trainable: dict[str, bool | None]
    last_freeze: GradAssign | None


@dataclass(eq=False)
class ModuleReplaced:
    """A submodule assigned anew (`model.fc = nn.Linear(...)`), and the optimizers built
    before that still hold the old one's parameters."""

    node: cst.CSTNode
    model: ModelState
    path: str
    seq: int
    new_names: list[str]
    stale_optimizers: list[OptimizerObj]


@dataclass(eq=False)
class MissingSubmodule:
    """A submodule path the model does not have, read or assigned."""

    node: cst.CSTNode
    model: ModelState
    path: str  # the missing module path
    assigned: bool  # `model.fc = nn.Linear(...)` rather than a read


@dataclass(eq=False)
class ModuleGradAttr:
    """`model.fc.requires_grad = False`: a plain attribute on a Module."""

    node: cst.Assign | cst.AugAssign
    model: ModelState
    path: str
    target: cst.Attribute
    value: cst.BaseExpression


@dataclass(eq=False)
class BatchNormUndone:
    """`model.train()` after BatchNorm layers were put in eval or frozen."""

    node: cst.CSTNode
    model: ModelState
    paths: list[str]
    cause: cst.CSTNode
    # Who calls train(), when it is not the script itself (a trainer, every step).
    by: str = ""


@dataclass(eq=False)
class IteratorReused:
    """An iterator of parameters consumed a second time (it yields nothing then)."""

    node: cst.CSTNode  # the second consumer
    first: cst.CSTNode  # the first consumer
    source: cst.CSTNode  # where the iterator was made


@dataclass(eq=False)
class SizeAssign:
    """`model.fc.out_features = 3` on a real module."""

    node: cst.CSTNode
    model: ModelState
    path: str
    attr: str


@dataclass(eq=False)
class KeyLookup:
    """`sd.pop('module.fc.weight')`, `del sd[...]`, `sd[...]` with a literal key."""

    node: cst.CSTNode  # the literal
    key: str
    state_dict: StateDict
    found: bool


@dataclass(eq=False)
class Merge:
    """`target.update(source)`: how many keys it overwrote and how many it added."""

    node: cst.CSTNode
    target: StateDict
    source: StateDict
    added: list[str]
    overwritten: list[str]
    target_size: int  # keys in the target before the merge


@dataclass(eq=False)
class Load:
    """`module.load_state_dict(sd, strict=...)` with what the analysis knows of both sides."""

    node: cst.Call
    model: ModelState
    expected: dict[str, tuple[int, ...]]  # the module's own state_dict keys and shapes
    state_dict: StateDict | None
    strict: bool | None
    result_discarded: bool
    statement: cst.CSTNode | None


@dataclass(eq=False)
class EmptyFilter:
    """A comprehension over a known state dict that keeps no key."""

    node: cst.CSTNode
    source: StateDict


@dataclass(eq=False)
class InternalError:
    """The analysis failed on a statement (a bug in freezelint, not in the script): the
    statement was skipped, as if it could not be evaluated, and the failure is reported."""

    node: cst.CSTNode
    line: int | None  # the script's line, when it can be computed
    error: str  # "KeyError: 'x'"
    where: str  # the analysis code that raised: "analysis/modules.py:120 in get_attr"

    @property
    def message(self) -> str:
        at = f"line {self.line}" if self.line is not None else "a statement"
        return f"internal error in the analysis at {at}: {self.error} ({self.where})"

    @classmethod
    def of(cls, node: cst.CSTNode, error: Exception, module: cst.Module, text: str | None,
           owner: dict[cst.CSTNode, int]) -> InternalError:
        import traceback

        frames = traceback.extract_tb(error.__traceback__)
        last = frames[-1] if frames else None
        where = "unknown" if last is None else \
            f"{_short(last.filename)}:{last.lineno} in {last.name}"
        line: int | None = None
        try:
            from freezelint.analysis.positions import StatementPositions

            positions = StatementPositions(module, text if text is not None else module.code,
                                           owner)
            line = positions[node].start.line
        except Exception:  # the location is a courtesy: never fail while reporting a failure
            line = None
        return cls(node, line, f"{type(error).__name__}: {error}", where)


def _short(filename: str) -> str:
    parts = Path(filename).parts
    return "/".join(parts[parts.index("freezelint") + 1:]) if "freezelint" in parts \
        else filename


@dataclass(eq=False)
class FinetuningHeld:
    """`configure_optimizers` of a LightningModule trained with a `BackboneFinetuning` callback
    gives its optimizer backbone parameters the callback froze (analysis/lightning.py)."""

    node: cst.CSTNode  # the optimizer built in configure_optimizers
    fit: cst.CSTNode  # trainer.fit(model)
    callback: cst.CSTNode  # BackboneFinetuning(...)
    epoch: object  # unfreeze_backbone_at_epoch, or UNKNOWN
    class_name: str
    held: list[str]


@dataclass(eq=False)
class FinetuningNoBackbone:
    """`trainer.fit(model)` with a `BackboneFinetuning` callback on a LightningModule that
    has no `backbone` (analysis/lightning.py)."""

    node: cst.CSTNode  # BackboneFinetuning(...)
    fit: cst.CSTNode
    class_name: str
    children: list[str]  # its top-level submodules, for did-you-mean


@dataclass(eq=False)
class Facts:
    """Everything the interpreter learned about one file, for the rules."""

    syntax: SyntaxFacts = field(default_factory=SyntaxFacts)
    size_assigns: dict[cst.CSTNode, SizeAssign] = field(default_factory=dict)
    # `X.parameters` attribute nodes whose X the interpreter knew to be a real module.
    module_method_refs: set[cst.CSTNode] = field(default_factory=set)
    name_tests: dict[cst.CSTNode, NameTest] = field(default_factory=dict)
    index_tests: dict[cst.CSTNode, IndexTest] = field(default_factory=dict)
    grad_assigns: dict[cst.CSTNode, GradAssign] = field(default_factory=dict)
    optimizers: list[OptimizerBuilt] = field(default_factory=list)
    replacements: list[ModuleReplaced] = field(default_factory=list)
    missing: dict[cst.CSTNode, MissingSubmodule] = field(default_factory=dict)
    module_grad_attrs: dict[cst.CSTNode, ModuleGradAttr] = field(default_factory=dict)
    batchnorm_undone: dict[cst.CSTNode, BatchNormUndone] = field(default_factory=dict)
    reused: dict[cst.CSTNode, IteratorReused] = field(default_factory=dict)
    models: list[ModelState] = field(default_factory=list)
    key_lookups: dict[cst.CSTNode, KeyLookup] = field(default_factory=dict)
    merges: dict[cst.CSTNode, Merge] = field(default_factory=dict)
    loads: dict[cst.CSTNode, Load] = field(default_factory=dict)
    empty_filters: dict[cst.CSTNode, EmptyFilter] = field(default_factory=dict)
    # Checkpoints whose keys came from a file (or a save in the script): (torch.load, keys).
    checkpoints: list[tuple[cst.CSTNode, StateDict]] = field(default_factory=list)
    # The top-level statement (index in module.body) each evaluated node sits in: positions
    # are then computed for the statements that have findings only.
    owner: dict[cst.CSTNode, int] = field(default_factory=dict)
    # Files besides the source whose content shaped the result (checkpoint headers).
    files_read: list[Path] = field(default_factory=list)
    add_param_group_seqs: list[int] = field(default_factory=list)
    # Statements the analysis failed on (its own bugs): skipped, counted and logged.
    internal_errors: list[InternalError] = field(default_factory=list)
    # PEFT configs and the models they were applied to.
    peft: PeftFacts = field(default_factory=PeftFacts)
    # trainer.fit with BackboneFinetuning: frozen backbone parameters the optimizer holds.
    finetuning_held: list[FinetuningHeld] = field(default_factory=list)
    finetuning_no_backbone: list[FinetuningNoBackbone] = field(default_factory=list)
