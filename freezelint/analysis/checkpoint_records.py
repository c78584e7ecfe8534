"""The checkpoint flow's state and records (analysis/checkpoint_flow.py): the base class of
the pass.

It holds what the file says once (imports, LightningModule classes), records each save and
load the walk meets, and judges the loads after the whole file (and its siblings) is read. The
walk itself, statements and expressions, is the subclass in checkpoint_flow.py; each method
is defined in exactly one of the two.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libcst as cst

from freezelint.analysis.checkpoint_syntax import _bound_names, _code, _dotted, _is_simple
from freezelint.analysis.checkpoint_values import (
    _LIGHTNING_ROOTS,
    UNKNOWN,
    CheckpointFlow,
    Filtered,
    Keys,
    Lightning,
    LightningClass,
    PrefixLoad,
    Saved,
    Trainer,
    _CallbackPath,
    _Loaded,
    symbolic,
)
from freezelint.analysis.checkpoint_verdicts import (
    _compiled,
    _fits,
    _is_module,
    _verdict,
    _within,
)
from freezelint.analysis.walk import walk


class FlowRecords:
    """The pass's state: what the file says once (imports, LightningModule classes), the
    saves and loads it records, and the judging of each load once every save is known.
    The walk over statements and expressions (checkpoint_flow._Flow) fills it."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.flow = CheckpointFlow()
        self.imports: dict[str, str] = {}
        self.lightning: dict[str, LightningClass] = {}
        self.saves: dict[str, list[Saved]] = {}
        self.pending: list[tuple[cst.Call, Any, tuple[str, ...], _Loaded, cst.BaseExpression,
                                 cst.BaseExpression]] = []
        self.functions: list[tuple[cst.FunctionDef, int]] = []
        self.top = 0
        self.once: set[str] = set()
        self.written: set[str] = set()  # names whose attributes or items the file changes
        # The function walked: its parameters, and the names it binds (none at the top level).
        self.params: set[str] = set()
        self.local: set[str] = set()
        self.statement: cst.CSTNode | None = None
        self.trainers: list[Trainer] = []
        # Enclosing branches and loops (code that may not run), `try` bodies with handlers
        # (a failing load there is handled), and the function being walked.
        self.branches = 0
        self.tries = 0
        self.scope = 0

    def judge(self) -> CheckpointFlow:
        for call, receiver_value, compiled, state, receiver, argument in self.pending:
            self._judge(call, receiver_value, compiled, state, receiver, argument)
        return self.flow

    # -- what the file says once ------------------------------------------------------------
    def _scan(self, module: cst.Module) -> None:
        """Imports, LightningModule classes, names bound once at the top level (a function
        body may read them), and names whose attributes the file assigns."""
        counts: dict[str, int] = {}
        for statement in module.body:
            for name in _bound_names(statement):
                counts[name] = counts.get(name, 0) + (1 if _is_simple(statement) else 2)
        self.once = {n for n, c in counts.items() if c == 1}
        for node in walk(module):
            kind = type(node)  # (exact types first: isinstance goes through ABCMeta)
            if kind in _CHANGERS:
                self.written.update(_changed_roots(node))
            if kind is not cst.Import and kind is not cst.ImportFrom:
                continue
            if isinstance(node, cst.Import):
                for alias in node.names:
                    dotted = _dotted(alias.name)
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        self.imports[alias.asname.name.value] = dotted
                    else:
                        self.imports.setdefault(dotted.split(".")[0], dotted.split(".")[0])
            elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar) \
                    and node.module is not None and not node.relative:
                base = _dotted(node.module)
                for alias in node.names:
                    local = alias.asname.name if alias.asname is not None else alias.name
                    if isinstance(local, cst.Name):
                        self.imports[local.value] = f"{base}.{_dotted(alias.name)}"
        for statement in module.body:
            if isinstance(statement, cst.ClassDef):
                self._lightning_class(statement)

    def _lightning_class(self, node: cst.ClassDef) -> None:
        bases = [self._qualified(b.value) for b in node.bases]
        if not any((b.endswith("LightningModule") and b.split(".")[0] in _LIGHTNING_ROOTS)
                   or b in self.lightning for b in bases):
            return
        children: dict[str, str] = {}
        ambiguous: set[str] = set()
        for sub in walk(node):
            if not isinstance(sub, cst.Assign):
                continue
            for target in sub.targets:
                t = target.target
                if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) \
                        and t.value.value == "self":
                    callee = _dotted(sub.value.func) if isinstance(sub.value, cst.Call) else ""
                    if not callee or t.attr.value in children:
                        ambiguous.add(t.attr.value)
                    children[t.attr.value] = self._qualified_text(callee)
        for parent in bases:
            if parent in self.lightning:
                for attr, callee in self.lightning[parent].children.items():
                    if attr in children:
                        ambiguous.add(attr)
                    children[attr] = callee
        kept = {a: c for a, c in children.items() if a not in ambiguous}
        self.lightning[node.name.value] = LightningClass(node.name.value, kept)

    # -- saves and loads --------------------------------------------------------------------
    def _own(self, node: cst.CSTNode) -> None:
        for sub in walk(node):
            self.flow.owner[sub] = self.top

    def _save(self, path: Any, value: Any, node: cst.CSTNode) -> None:
        self._own(node)
        if isinstance(path, _CallbackPath):
            return
        if isinstance(path, str):
            self.saves.setdefault(path, []).append(Saved(value, node, path))
        else:
            self.saves.setdefault("", []).append(Saved(value, node, ""))

    def _load(self, path: Any) -> Any:
        if isinstance(path, _CallbackPath) or (isinstance(path, str) and path):
            return _Loaded(path, ())
        return _Loaded(None, ())  # read from a file the pass cannot name

    def _load_into(self, node: cst.Call, receiver: Any, args: list[Any],
                   kwargs: dict[str, Any]) -> None:
        strict = next((a.value for a in node.args
                       if a.keyword is not None and a.keyword.value == "strict"), None)
        if len(node.args) > 1 and node.args[1].keyword is None:
            strict = node.args[1].value
        state = kwargs.get("state_dict", args[0] if args else UNKNOWN)
        if isinstance(strict, cst.Name) and strict.value == "False" \
                and isinstance(self.statement, cst.Expr) and self.statement.value is node \
                and isinstance(state, _Loaded):
            # A state dict read from a file: one that does not fit loads partly, silently.
            # (Keys the code builds from the model itself are left alone.)
            self.flow.discarded_nonstrict.append((node, self.statement))
            self._own(self.statement)
        if not node.args or not isinstance(node.func, cst.Attribute):
            return
        argument = next((a.value for a in node.args
                         if a.keyword is None or a.keyword.value == "state_dict"), None)
        if argument is None:
            return
        if isinstance(state, Filtered):
            receiver_code = _code(self.module, node.func.value)
            if state.target in {receiver_code + ".state_dict()"} \
                    or self._target_of(state.target) == receiver_code:
                self._tested(state)
            return
        if _is_module(receiver) and isinstance(state, _Loaded) and state.path is not None \
                and not self.tries:
            self._own(node)
            self.pending.append((node, receiver, _compiled(receiver), state, node.func.value,
                                 argument))

    def _target_of(self, name: str) -> str | None:
        """The receiver code of `name = receiver.state_dict()` at the top level, if once."""
        for statement in self.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name) \
                        and small.targets[0].target.value == name \
                        and isinstance(small.value, cst.Call) \
                        and isinstance(small.value.func, cst.Attribute) \
                        and small.value.func.attr.value == "state_dict":
                    return _code(self.module, small.value.func.value)
        return None

    def _tested(self, filtered: Filtered) -> None:
        entry = (filtered.node, filtered.tested)
        self._own(filtered.node)
        if entry not in self.flow.tested_not_kept:
            self.flow.tested_not_kept.append(entry)

    def _judge(self, node: cst.Call, receiver: Any, compiled: tuple[str, ...], state: _Loaded,
               receiver_node: cst.BaseExpression, argument: cst.BaseExpression) -> None:
        """Compare the state dict a load gets with the module it loads into, after the whole
        file is read (a resumed run loads a file the script saves further down)."""
        saves = self.saves.get(state.path, []) if isinstance(state.path, str) else \
            self._callback_saves(state.path)
        if not saves or self.saves.get(""):
            return  # written nowhere here, or some save's path is unknown: it may be this file
        if any(symbolic(p) and p != state.path for p in self.saves):
            return  # a path built from settings (`args.out`) may name this file as well
        verdicts = {_verdict(_within(s.value, state.keys), receiver, compiled) for s in saves}
        if len(verdicts) != 1:
            return
        verdict = verdicts.pop()
        if verdict is None:
            if all(_fits(_within(s.value, state.keys), receiver, compiled) for s in saves):
                self.flow.fits.append(node)
            return
        kind, prefix, cause, paths, key = verdict
        self.flow.loads.append(PrefixLoad(node, kind, prefix, cause, saves[0], receiver_node,
                                          argument, paths, key))

    def _callback_saves(self, path: _CallbackPath | None) -> list[Saved]:
        if path is None:  # a load from a path the flow could not follow
            return []
        trainers = [t for t in self._trainers() if path.callback in t.callbacks]
        if len(trainers) != 1 or not isinstance(trainers[0].fitted, Lightning):
            return []
        keys = Keys(trainers[0].fitted, (), path.callback.node)
        return [Saved({"state_dict": keys}, path.callback.node, "best_model_path")]

    def _trainers(self) -> Iterator[Trainer]:
        yield from self.trainers

    # -- names ------------------------------------------------------------------------------
    def _qualified(self, node: cst.BaseExpression) -> str:
        return self._qualified_text(_dotted(node))

    def _qualified_text(self, dotted: str) -> str:
        if not dotted:
            return ""
        head, _, rest = dotted.partition(".")
        base = self.imports.get(head)
        if base is None:
            return dotted
        return f"{base}.{rest}" if rest else base


_CHANGERS = frozenset({cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Del, cst.Call})


def _changed_roots(node: cst.CSTNode) -> Iterator[str]:
    """The names whose attributes or items `node` may change: assignment and `del` targets
    (`args.out = ...`, `cfg['x'] += 1`), `setattr(args, ...)`, `vars(args)`, and any method
    called on the name itself (`cfg.merge_from_file(...)`, `cfg.update(...)`)."""
    if type(node) not in _CHANGERS:  # (most nodes: see checkpoint_syntax._BINDERS)
        return
    targets: list[cst.BaseExpression] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.Del)):
        targets = [node.target]
    elif isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name) and func.value in {"setattr", "vars", "delattr"} \
                and node.args:
            targets = [node.args[0].value]
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            yield func.value.value
    for target in targets:
        for sub in walk(target):
            if isinstance(sub, (cst.Attribute, cst.Subscript)):
                root: cst.BaseExpression = sub
                while isinstance(root, (cst.Attribute, cst.Subscript)):
                    root = root.value
                if isinstance(root, cst.Name):
                    yield root.value
            elif isinstance(sub, cst.Name) and isinstance(node, cst.Call):
                yield sub.value
