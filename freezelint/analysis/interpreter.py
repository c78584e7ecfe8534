"""Program-order abstract interpretation of a fine-tuning script over real model names.

The interpreter runs the script's statements in order: expressions are evaluated by the
Evaluator (evaluator.py), plain values computed for real, torch objects as the abstract
values of `values.py`, anything else UNKNOWN. A loop over `named_parameters()` runs its body
once per real parameter name, so a name test is simply evaluated, and what it matched is
recorded for the rules. Helper functions defined in the file are followed when called;
functions never called are analysed on their own with a fresh model.

What each part knows:
- evaluator.py, python_builtins.py: plain Python (expressions, calls, builtins);
- modules.py: torch.nn models (attributes, submodules, module methods, replacement,
  wrappers, construction); nn_modules.py: the layers a script builds;
- trainable.py: requires_grad and train/eval state;
- optimizers.py: optimizers and their param groups;
- state_dicts.py: state dicts and checkpoints;
- recording.py: the name tests the rules read;
- library_calls.py: which library call means what;
- this module: statements, control flow, the driver and its budgets.

When a value cannot be evaluated the result is UNKNOWN and the rules stay silent. When the
analysis itself fails on a statement, the statement is skipped (as if it could not be
evaluated) and the failure is counted in `Facts.internal_errors` and logged (logger
`freezelint.analysis`): a bug shows, never only as a missing finding.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import libcst as cst

from freezelint.analysis import branches, class_self, lightning, modules, state_dicts, trainable
from freezelint.analysis import facts as F
from freezelint.analysis.evaluator import Evaluator, ModelResolver, body_of
from freezelint.analysis.nn_modules import NewModule
from freezelint.analysis.peft_configs import PeftConfig
from freezelint.analysis.project_modules import maybe_project
from freezelint.analysis.python_builtins import Builtin
from freezelint.analysis.scope import (
    MAX_CALL_DEPTH,
    MAX_CALLS,
    MAX_ITERATIONS,
    BreakSignal,
    ContinueSignal,
    Frame,
    ReturnSignal,
    UnreadableBody,
)
from freezelint.analysis.syntax import collect_syntax
from freezelint.analysis.values import (
    UNKNOWN,
    ClassSelf,
    Enumerated,
    FunctionObj,
    Instance,
    ModuleObj,
    OptimizerObj,
    ParamIter,
    PositionalList,
    Qualified,
    StateDict,
    is_unknown,
)

__all__ = ["STRICT_ENV", "Interpreter", "ModelResolver"]

# Set (to anything) to re-raise an internal error after it is counted and logged: the test
# suite sets it (tests/conftest.py), so a bug in the analysis fails a test instead of showing
# only as a missing finding.
STRICT_ENV = "FREEZELINT_STRICT_ANALYSIS"


# `return` outside a function, `break` and `continue` outside a loop: the parser takes them,
# Python's compiler does not. The code around them is still the user's, being written: the
# statement ends there and the analysis goes on with the next one, never with an error.
_OUTSIDE_THEIR_BLOCK = (ReturnSignal, BreakSignal, ContinueSignal)


class Interpreter(Evaluator):
    # Calls of classes imported from the project's own modules are read statically
    # (analysis/classes); the class reader itself resolves imports its own way.
    project_imports = True
    # Off for a script whose text uses no model the way a rule could judge (facts.MODEL_USES):
    # names it imports from the project's own modules are then unknown, and nothing is read.
    read_project = True
    # The file's top-level functions, classes and methods that use no model
    # (engine/model_free.py): their own runs have read_project off.
    model_free: frozenset[cst.CSTNode] = frozenset()
    _model_free_functions: frozenset[cst.CSTNode] = frozenset()  # the functions among them
    _reads_project = True  # read_project for the file
    # -- entry -----------------------------------------------------------------------------
    def run(self, *, syntax: bool = True, visits: frozenset[type] = frozenset()) -> F.Facts:
        """The facts of the script. `syntax`: whether to run the syntax pass too (the engine
        skips it when no rule that reads it could report on the text); `visits`: node types
        the rules want from that pass."""
        self._reads_project = self.read_project
        self._model_free_functions = frozenset(
            node for node in self.model_free if isinstance(node, cst.FunctionDef))
        if syntax:
            self.facts.syntax = collect_syntax(self.module, self.facts.owner, visits)
        self.globals.bind("__name__", "__main__")
        for index, stmt in enumerate(self.module.body):
            self.top = index
            with suppress(*_OUTSIDE_THEIR_BLOCK):  # (Python would not compile the file)
                self.exec_block([stmt], self.globals)
        # Functions nobody calls are still code the user runs somehow: analyse each one on
        # its own, with a fresh copy of the model so its effects cannot leak into the
        # module-level story (no false "freeze undone" across unrelated functions).
        for index, stmt in enumerate(self.module.body):
            self.top = index
            self.read_project = self._reads_project and stmt not in self.model_free
            if isinstance(stmt, cst.FunctionDef) and stmt not in self.called:
                self._run_standalone(stmt)
            elif isinstance(stmt, cst.ClassDef):
                self._run_class(stmt)
        self.read_project = self._reads_project
        lightning.finish(self, self.__dict__.get("_class_selves", {}))
        return self.facts

    def _run_class(self, cls: cst.ClassDef) -> None:
        """A class defined in the file (an nn.Module, a LightningModule): `__init__` runs
        first, then every other method on its own copy of what `__init__` built, since the
        order methods are called in is the framework's, not the file's."""
        methods = {f.name.value: f for f in body_of(cls) if isinstance(f, cst.FunctionDef)}
        instance = ClassSelf(methods)
        self.scope = cls.name.value
        # `__init__`, then Lightning's hooks that run before `configure_optimizers`, on the
        # instance itself: what they freeze is what the optimizer sees (class_self.py).
        before = class_self.hooks_before_optimizers(self, cls)
        freezes = len(self.facts.grad_assigns)
        for name in before:
            if name in methods and methods[name] not in self.called:
                self._run_method(methods[name], instance)
        class_self.attach(self, cls, instance, len(self.facts.grad_assigns) != freezes)
        self.__dict__.setdefault("_class_selves", {})[cls] = instance
        reads = self.read_project  # (what `__init__` and the hooks build, the methods use)
        for name, method in methods.items():
            if name not in before and method not in self.called:
                self.read_project = reads and method not in self.model_free
                self._run_method(method, instance.copy())
        self.read_project = reads
        self.scope = ""

    def _run_method(self, method: cst.FunctionDef, instance: Instance) -> None:
        cls = self.scope.partition(".")[0]
        self.scope = f"{cls}.{method.name.value}" if cls else method.name.value
        frame = Frame(parent=self.globals)
        params = [*method.params.posonly_params, *method.params.params]
        for i, param in enumerate(params):
            frame.bind(param.name.value, instance if i == 0 else UNKNOWN)
        with suppress(*_OUTSIDE_THEIR_BLOCK):
            self.exec_block(body_of(method), frame)

    def _run_standalone(self, fn: cst.FunctionDef) -> None:
        saved_primary = self.primary
        self.scope = fn.name.value
        # Only the model the user named stands for a name the function never binds
        # (modules.promote): without one, a copy would be a tree nobody touched.
        if saved_primary is not None and self.explicit is not None:
            self.primary = modules.new_model(self, saved_primary.manifest, None)
        frame = Frame(parent=self.globals)
        for param in fn.params.params:
            frame.bind(param.name.value, UNKNOWN)
        with suppress(*_OUTSIDE_THEIR_BLOCK):
            self.exec_block(body_of(fn), frame)
        self.primary = saved_primary
        self.scope = ""

    # -- functions -------------------------------------------------------------------------
    def call_function(self, fn: FunctionObj, args: list[Any], kwargs: dict[str, Any],
                      node: cst.CSTNode) -> Any:
        definition = fn.node
        if self.depth >= MAX_CALL_DEPTH or self.calls >= MAX_CALLS \
                or definition in self.running:
            # a body not followed is one the analysis cannot see, as an unreadable one
            self.unreadable([*args, *kwargs.values(), *(fn.closure or {}).values()])
            return UNKNOWN
        self.calls += 1
        local = Frame(parent=self.globals)
        if fn.closure is not None:
            local = Frame(dict(fn.closure), parent=self.globals)
        params = definition.params
        positional = [*params.posonly_params, *params.params]
        for i, param in enumerate(positional):
            if i < len(args):
                value = args[i]
            elif param.name.value in kwargs:
                value = kwargs[param.name.value]
            elif param.default is not None:
                value = self.eval(param.default, self.globals)
            else:
                value = UNKNOWN
            local.bind(param.name.value, value)
        for param in params.kwonly_params:
            value = kwargs.get(param.name.value, UNKNOWN)
            if param.name.value not in kwargs and param.default is not None:
                value = self.eval(param.default, self.globals)
            local.bind(param.name.value, value)
        self.depth += 1
        self.running.add(definition)
        saved_statement = self.statement
        self.call_sites.append((saved_statement, node))
        saved_top = self.top
        saved_reading = self.read_project
        if fn.top is not None:
            self.top = fn.top
        if not self.read_project and isinstance(definition, cst.FunctionDef) \
                and definition not in self._model_free_functions:
            # a function that may use a model, reached from one that does not (a method of
            # an instance it was given): the project is read for it
            self.read_project = self._reads_project
        try:
            if isinstance(definition, cst.Lambda):
                return self.eval(definition.body, local)
            self.called.add(definition)
            self.exec_block(body_of(definition), local)
            return None
        except ReturnSignal as ret:
            return ret.value
        except (BreakSignal, ContinueSignal):  # outside a loop: Python would not compile it
            return UNKNOWN
        except UnreadableBody:  # (raised before any statement of the body ran)
            self.unreadable([*args, *kwargs.values(), *(fn.closure or {}).values()])
            return UNKNOWN
        finally:
            self.depth -= 1
            self.running.discard(definition)
            self.call_sites.pop()
            self.statement = saved_statement
            self.top = saved_top
            self.read_project = saved_reading

    def unreadable(self, values: list[Any]) -> None:
        """`values` went to a function whose body cannot be read."""
        trainable.escape(values)

    # -- statements ------------------------------------------------------------------------
    def exec_block(self, body: Sequence[cst.CSTNode], frame: Frame) -> None:
        for stmt in body:
            self.seq += 1
            try:
                self.exec_stmt(stmt, frame)
            except (ReturnSignal, ContinueSignal, BreakSignal):
                raise
            except RecursionError:  # nesting deeper than Python's stack: give up the block
                return
            except Exception as error:  # a bug in the analysis: counted, logged, skipped
                self._internal_error(stmt, error)

    def _internal_error(self, stmt: cst.CSTNode, error: Exception) -> None:
        fact = F.InternalError.of(stmt, error, self.module, self.text, self.facts.owner)
        self.facts.internal_errors.append(fact)
        import logging  # this rare path only: the import costs milliseconds at start

        log = logging.getLogger("freezelint.analysis")
        log.info("%s", fact.message)  # `freezelint check --verbose` shows it
        log.debug("the traceback of that internal error", exc_info=error)
        if os.environ.get(STRICT_ENV):  # the test suite: a bug in the analysis fails the test
            raise error

    def exec_stmt(self, stmt: cst.CSTNode, frame: Frame) -> None:
        if self.top is not None:
            self.facts.owner[stmt] = self.top
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if self.top is not None:
                    self.facts.owner[small] = self.top
                self.statement = small
                self.exec_small(small, frame)
        elif isinstance(stmt, cst.If):
            self.exec_if(stmt, frame)
        elif isinstance(stmt, cst.For):
            self.exec_for(stmt, frame)
        elif isinstance(stmt, cst.While):
            self.eval(stmt.test, frame)
            self.run_iteration(stmt, frame)
        elif isinstance(stmt, cst.With):
            patched = any(_project_context(item.item, frame) for item in stmt.items)
            for item in stmt.items:
                value = self.eval(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, UNKNOWN if _is_ctx_unknown(value) else value,
                                frame)
            self.patched += patched
            try:
                self.exec_block(body_of(stmt), frame)
            finally:
                self.patched -= patched
        elif isinstance(stmt, cst.Try):
            orelse = stmt.orelse

            def completed() -> None:
                self.exec_block(body_of(stmt), frame)
                if orelse is not None:
                    self.exec_block(body_of(orelse), frame)

            def handled(handler: cst.ExceptHandler) -> Callable[[], None]:
                def run() -> None:
                    with self.maybe():
                        self.exec_block(body_of(handler), frame)
                return run

            # the body ran to its end, or a handler took over (from the state before it, one
            # of the states it may start from): branches.py joins what each left
            branches.run_both(frame, [completed, *(handled(h) for h in stmt.handlers)])
            if stmt.finalbody is not None:
                self.exec_block(body_of(stmt.finalbody), frame)
        elif isinstance(stmt, cst.FunctionDef):
            frame.bind(stmt.name.value, FunctionObj(stmt, None, self.top))
        elif isinstance(stmt, cst.ClassDef):
            from freezelint.analysis.classes import link  # the user's own classes

            frame.bind(stmt.name.value, link.class_value(self, stmt, frame))

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        if isinstance(small, cst.Expr):
            self.eval(small.value, frame)
        elif isinstance(small, cst.Assign):
            value = self.eval(small.value, frame)
            for target in small.targets:
                self.assign(target.target, value, frame, small)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.eval(small.value, frame), frame, small)
        elif isinstance(small, cst.AugAssign):
            self.eval(small.value, frame)
            if isinstance(small.target, cst.Name):
                frame.bind(small.target.value, UNKNOWN)
        elif isinstance(small, cst.Continue):
            raise ContinueSignal
        elif isinstance(small, cst.Break):
            raise BreakSignal
        elif isinstance(small, cst.Return):
            raise ReturnSignal(self.eval(small.value, frame) if small.value else None)
        elif isinstance(small, cst.Import):
            for alias in small.names:
                dotted = _dotted(alias.name)
                if alias.asname is not None:
                    self.assign(alias.asname.name, Qualified(dotted), frame)
                else:
                    top = dotted.split(".")[0]
                    frame.bind(top, Qualified(top))
                if self.project_imports and not self.read_project:
                    self._opaque_if_project(dotted, alias, frame)
                elif self.project_imports and maybe_project(dotted):
                    from freezelint.analysis.classes import link  # a project module

                    project = link.project_module(self, dotted, alias.asname is not None)
                    if project is not link.MISSING:
                        if alias.asname is None:
                            frame.bind(dotted.split(".")[0], project)
                        else:
                            self.assign(alias.asname.name, project, frame)
        elif isinstance(small, cst.ImportFrom):
            self.exec_import_from(small, frame)
        elif isinstance(small, cst.Del):
            self.exec_del(small.target, frame)

    def get_attr(self, owner: Any, attr: str, node: cst.CSTNode) -> Any:
        if isinstance(owner, Qualified) and getattr(owner, "ref", None) is not None:
            from freezelint.analysis.classes import link  # a project module: its own names

            return link.module_attribute(self, owner, attr)  # type: ignore[arg-type]
        if isinstance(owner, Builtin) and getattr(owner, "klass", None) is not None:
            from freezelint.analysis.classes import link  # a project class: its attributes

            return link.class_attribute(self, owner.klass, attr, node)  # type: ignore[attr-defined]
        return super().get_attr(owner, attr, node)

    def call(self, callee: Any, args: list[Any], kwargs: dict[str, Any], node: cst.Call) -> Any:
        if isinstance(callee, Qualified) and callee.name == "dataclasses.replace" and args \
                and self.project_imports:
            from freezelint.analysis.classes import link  # a config of the project's own

            replaced = link.replace_config(self, args, kwargs, node)
            if replaced is not link.MISSING:
                return replaced
        return super().call(callee, args, kwargs, node)

    def exec_del(self, target: cst.BaseExpression, frame: Frame) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.exec_del(element.value, frame)
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, frame)
            if isinstance(owner, StateDict):
                state_dicts.delete(self, owner, self.single_index(target, frame), target)

    def exec_import_from(self, small: cst.ImportFrom, frame: Frame) -> None:
        base = "." * len(small.relative) + (_dotted(small.module) if small.module else "")
        if isinstance(small.names, cst.ImportStar):
            if self.project_imports and base and self.read_project and maybe_project(base):
                from freezelint.analysis.classes import link  # a project module's names

                for name, value in link.project_star_import(self, base):
                    frame.bind(name, value)
            return
        for alias in small.names:
            name = _dotted(alias.name)
            local = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(local, cst.Name):
                frame.bind(local.value, Qualified(f"{base}.{name}" if base else name))
                if self.project_imports and base and not self.read_project:
                    if maybe_project(base):
                        frame.bind(local.value, UNKNOWN)
                elif self.project_imports and base and maybe_project(base):
                    from freezelint.analysis.classes import link  # a project module's class

                    project = link.project_import(self, base, name)
                    if project is not link.MISSING:
                        frame.bind(local.value, project)

    def _opaque_if_project(self, dotted: str, alias: cst.ImportAlias, frame: Frame) -> None:
        """`import models` when the project is not read: unknown, never a library's name."""
        if maybe_project(dotted):
            if alias.asname is None:
                frame.bind(dotted.split(".")[0], UNKNOWN)
            else:
                self.assign(alias.asname.name, UNKNOWN, frame)

    def exec_if(self, stmt: cst.If, frame: Frame) -> None:
        test = self.truth(self.eval(stmt.test, frame))
        orelse = stmt.orelse
        if test is True:
            self.exec_block(body_of(stmt), frame)
        elif test is False:
            self._exec_else(orelse, frame)
        else:
            jumped = False

            def side(run: Callable[[], None]) -> Callable[[], None]:
                def guarded() -> None:
                    nonlocal jumped
                    try:
                        run()
                    except (ContinueSignal, BreakSignal):
                        jumped = True
                return guarded

            discarded = branches.discarded_call(stmt, frame)
            if discarded is not None:
                self.discarded.add(discarded)
            try:
                with self.maybe():  # (branches.py: what the names hold after it)
                    branches.run_both(frame, [
                        side(lambda: self.exec_block(body_of(stmt), frame)),
                        side(lambda: self._exec_else(orelse, frame))])
            finally:
                if discarded is not None:
                    self.discarded.discard(discarded)
            if jumped:
                self.uncertain += 1  # undone by the enclosing loop pass

    def _exec_else(self, orelse: cst.If | cst.Else | None, frame: Frame) -> None:
        if isinstance(orelse, cst.If):
            self.exec_if(orelse, frame)
        elif isinstance(orelse, cst.Else):
            self.exec_block(body_of(orelse), frame)

    def exec_for(self, stmt: cst.For, frame: Frame) -> None:
        iterable = self.eval(stmt.iter, frame)
        elements = self.iterate(iterable, stmt.iter)
        if elements is None:
            if isinstance(iterable, ParamIter):
                # parameters the analysis cannot list (a model with holes): the body may set
                # requires_grad on any of them, so none is known to train or not after it
                trainable.escape([iterable])
            self.assign(stmt.target, UNKNOWN, frame)
            # one pass stands for any number, none included (branches.py)
            branches.run_both(frame, [lambda: self.run_iteration(stmt, frame), lambda: None])
            return
        by_index = isinstance(iterable, (Enumerated, PositionalList))
        self.index_context.append(by_index or self.index_context[-1])
        try:
            for count, element in enumerate(elements):
                if count >= MAX_ITERATIONS:
                    break
                self.assign(stmt.target, element, frame)
                if not self.run_iteration(stmt, frame):
                    break
        finally:
            self.index_context.pop()

    def run_iteration(self, stmt: cst.For | cst.While, frame: Frame) -> bool:
        """One pass of a loop body; False after a `break`. A `continue` or `break` inside a
        branch the analysis could not decide makes the rest of the pass uncertain (see
        exec_if), and that uncertainty ends with the pass."""
        uncertain = self.uncertain
        try:
            self.exec_block(body_of(stmt), frame)
        except ContinueSignal:
            pass
        except BreakSignal:
            return False
        finally:
            self.uncertain = uncertain
        return True

    @contextmanager
    def maybe(self) -> Iterator[None]:
        """Code that may or may not run: its effects on requires_grad become unknown."""
        self.uncertain += 1
        try:
            yield
        finally:
            self.uncertain -= 1

    # -- assignment ------------------------------------------------------------------------
    def assign(self, target: cst.BaseExpression, value: Any, frame: Frame,
               stmt: cst.CSTNode | None = None) -> None:
        if isinstance(target, cst.Name):
            frame.bind(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, (tuple, list)) and len(value) == len(elements):
                for element, item in zip(elements, value, strict=True):
                    self.assign(element, item, frame, stmt)
            else:
                for element in elements:
                    self.assign(element, UNKNOWN, frame, stmt)
        elif isinstance(target, cst.Attribute):
            owner = self.eval(target.value, frame)
            if isinstance(owner, NewModule):  # an edit of a module the script built
                owner = modules.adopt_new(self, owner, target)
            if isinstance(owner, Instance):
                owner.attrs[target.attr.value] = value
            elif isinstance(owner, PeftConfig):  # `config.target_modules = [...]`
                owner.changed = True
            else:
                modules.assign_attribute(self, owner, target, value, stmt)
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, frame)
            if isinstance(owner, NewModule):
                owner = modules.adopt_new(self, owner, target)
            index = self.single_index(target, frame)
            if isinstance(owner, ModuleObj) and isinstance(index, int):
                modules.assign_child(self, owner, index, value, stmt or target)
            elif isinstance(owner, StateDict):  # (its values are tensors, not any value)
                state_dicts.store(owner, index, value)
            elif isinstance(owner, dict) and not is_unknown(index):
                with suppress(TypeError):
                    owner[index] = value


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _project_context(item: cst.BaseExpression, frame: Frame) -> bool:
    """Whether a `with` item calls the project's own code (`with lora(r=8): model =
    LLaMA(config)`: lit-llama's context manager swaps the attention class the model is
    built with). What is built under it is not what the classes read say (evaluator.py
    `patched`). A library's context (`torch.no_grad()`, `fabric.init_module()`) is not."""
    if not isinstance(item, cst.Call):
        return False
    func = item.func
    while isinstance(func, cst.Attribute):
        func = func.value
    if not isinstance(func, cst.Name):
        return False
    callee = frame.lookup(func.value)
    return isinstance(callee, FunctionObj) or getattr(callee, "project_code", False)


def _is_ctx_unknown(value: Any) -> bool:
    return not isinstance(value, (ModuleObj, OptimizerObj))
