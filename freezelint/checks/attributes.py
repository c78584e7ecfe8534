"""FZL104, FZL105, FZL106, FZL110, FZL111: statements that look like they change a model
and change nothing. FZL105, FZL106 and FZL110 need no model; FZL104 does; FZL111 uses the
model when it knows the module and a conservative syntactic test otherwise."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator

import libcst as cst

from freezelint.analysis.facts import SizeAssign
from freezelint.checks.base import (
    Context,
    Finding,
    FixSpec,
    Lines,
    examples,
    fix,
    plural,
    rule,
    torch_nn,
)
from freezelint.common.diagnostics import Safety
from freezelint.common.words import edit_distance

# Without a model, only a chain like `model.fc.out_features` is surely a layer: `self.x`
# inside a module's own code is its constructor recording the size, and `num_features` is
# also a plain model attribute in timm.
_SIZE_ATTRS_WITHOUT_MODEL = {"out_features", "in_features", "out_channels", "in_channels"}


@rule("FZL104", reads=("module_grad_attrs",))
def module_requires_grad_attribute(ctx: Context) -> Iterator[Finding]:
    for fact in ctx.facts.module_grad_attrs.values():
        params = [p.name for p in fact.model.manifest.parameters_under(fact.path)]
        info = fact.model.manifest.module(fact.path)
        what = f"the {info.type} `{fact.path}`" if info and fact.path else f"`{fact.model.label}`"
        message = (f"`requires_grad` on a Module is a plain attribute: setting it on {what} "
                   f"changes nothing, its {plural(len(params), 'parameter')} "
                   f"({examples(params, 2)}) keep their requires_grad; call "
                   f"`requires_grad_()` instead")
        call = cst.Expr(cst.Call(
            func=cst.Attribute(value=fact.target.value, attr=cst.Name("requires_grad_")),
            args=[cst.Arg(fact.value)]))
        fixes: tuple[FixSpec, ...] = ()
        if isinstance(fact.node, cst.Assign) and len(fact.node.targets) == 1:
            fixes = (fix("Call requires_grad_()", Safety.SAFE, (fact.node, call)),)
        yield Finding(fact.node, message, fixes=fixes)


def is_requires_grad_typo(attr: str) -> bool:
    """`require_grad`, `requires_grd`, `requires_gard`, `Requires_grad` (within two edits),
    and the method's name `requires_grad_`. A leading underscore marks a deliberate private
    name (transformers records `self._requires_grad = False` after freezing)."""
    if attr == "requires_grad_":
        return True
    if attr == "requires_grad" or attr.startswith("_"):
        return False
    return edit_distance(attr.lower(), "requires_grad") <= 2


# Attribute assignments (`.name =`), and which may be typos: two edits leave one of the blocks
# `requ`, `ires`, `_gra` of the name whole, so every typo contains one of them. (The name is
# taken whole, possessively, and then tested: a pattern with the blocks inside the name
# stepped back through every name after a dot, twice the time on a large file.)
_ATTRIBUTE_ASSIGNED = re.compile(r"\.(\w++)\s*+=(?!=)")
_TYPO_BLOCK = re.compile(r"requ|ires|_gra", re.I)


def _assigns_a_typo(text: str) -> bool:
    return any(_TYPO_BLOCK.search(name) and is_requires_grad_typo(name)
               for name in _ATTRIBUTE_ASSIGNED.findall(text))


@rule("FZL105", reads=("syntax",), triggers=(_assigns_a_typo,))
def requires_grad_typo(ctx: Context) -> Iterator[Finding]:
    for _, target in ctx.facts.syntax.attribute_assigns:
        attr = target.attr.value
        if not is_requires_grad_typo(attr):
            continue
        if attr == "requires_grad_":
            message = ("assigning to `requires_grad_` replaces the method on this object "
                       "and freezes nothing; assign `requires_grad` instead")
        else:
            message = f"`{attr}` is not `requires_grad`: this creates a new attribute and freezes nothing"
        yield Finding(target.attr, message, fixes=(
            fix("Rename to requires_grad", Safety.SAFE, (target.attr, cst.Name("requires_grad"))),))


@rule("FZL106", reads=("syntax",), triggers=(r"requires_grad\s*==",))
def requires_grad_comparison_statement(ctx: Context) -> Iterator[Finding]:
    for node in ctx.facts.syntax.discarded_comparisons:
        comparison = node.value
        assert isinstance(comparison, cst.Comparison)
        target = comparison.left
        assert isinstance(target, cst.BaseAssignTargetExpression)  # `x.requires_grad`
        assignment = cst.Assign(targets=[cst.AssignTarget(target)],
                                value=comparison.comparisons[0].comparator)
        yield Finding(node, "`==` compares and throws the result away: this statement "
                            "changes nothing; use `=` to set requires_grad",
                      fixes=(fix("Use assignment", Safety.SAFE, (node, assignment)),))


MODULE_WORDS = re.compile(r"(model|net|backbone|encoder|decoder|head|classifier|layer|block)",
                          re.I)


def looks_like_module_name(name: str) -> bool:
    """Whether a receiver's name reads as a torch module when no model is known (`sys.modules`
    and `inspect.signature(f).parameters` are mappings, not methods)."""
    return bool(MODULE_WORDS.search(name)) and not name.endswith(("signature", "sig"))


def _looks_like_module(receiver: cst.BaseExpression) -> bool:
    """`model`, `net`, `self.backbone`... (_uncalled_on_a_module applies the same test to
    the text)."""
    if isinstance(receiver, cst.Attribute):
        receiver = receiver.attr
    return isinstance(receiver, cst.Name) and looks_like_module_name(receiver.value)


# Each search starts at the rare part, the attribute, and then looks at what precedes it: a
# pattern that starts with a name would be tried at every character of the file.
_UNCALLED = re.compile(r"\.\s*(?:named_)?(?:parameters|modules|children|buffers)\b(?!\s*\()")
_RECEIVER_NAME = re.compile(r"(\w+)[\s\\)]*$")  # `model`, `(model)`, `model \` + newline
_LOOK_BACK = 200


_CALLED_ON = re.compile(r"(\w+)\(\s*$")  # `signature(` just before the receiver's name


def _uncalled_on_a_module(text: str) -> bool:
    for match in _UNCALLED.finditer(text):
        receiver = _RECEIVER_NAME.search(text, max(0, match.start() - _LOOK_BACK), match.start())
        if receiver is None or not looks_like_module_name(receiver.group(1)):
            continue
        if ")" in receiver.group(0):
            # `(model).parameters` is the module's; `signature(encoder_fn).parameters` is a
            # call's result, which the rule does not judge (`in (model)`: a keyword, kept)
            call = _CALLED_ON.search(text, max(0, receiver.start() - _LOOK_BACK),
                                     receiver.start())
            if call is not None and not keyword.iskeyword(call.group(1)):
                continue
        return True
    return False


# With a model, any receiver may be one of its modules: the syntax pass runs on every use.
@rule("FZL110", reads=("syntax", "module_method_refs"), triggers=(_uncalled_on_a_module,),
      syntax=(r"\.(?:named_)?(?:parameters|modules|children|buffers)\b(?!\s*\()",))
def parameters_not_called(ctx: Context) -> Iterator[Finding]:
    for node in ctx.facts.syntax.uncalled_methods:
        if node not in ctx.facts.module_method_refs and not _looks_like_module(node.value):
            continue
        method = node.attr.value
        yield Finding(node, f"`{method}` is the method itself, not its result: call "
                            f"`{method}()` (iterating the method raises TypeError)",
                      fixes=(fix(f"Call {method}()", Safety.SAFE, (node, cst.Call(func=node))),))


_SIZE_ASSIGN = re.compile(r"\.\s*(?:in|out)_(?:features|channels)\s*=(?!=)")
_BARE_NAME = re.compile(r"(?<![\w.\])])\w+\s*$")


def _size_set_on_a_chain(text: str) -> bool:
    """`model.fc.out_features = 3`; on a bare name (`self.in_features = n`, a module recording
    its own size) it is not reported without a model."""
    for match in _SIZE_ASSIGN.finditer(text):
        line = text.rfind("\n", 0, match.start()) + 1
        if not _BARE_NAME.search(text, line, match.start()):
            return True
    return False


# With a model, a size attribute of any module it knows is reported, `num_features` included.
@rule("FZL111", reads=("syntax", "size_assigns"), triggers=(_size_set_on_a_chain,),
      syntax=(r"\._?(?:in|out)_(?:features|channels)\s*=(?!=)", r"num_features\s*=(?!=)"))
def out_features_mutated(ctx: Context) -> Iterator[Finding]:
    known = ctx.facts.size_assigns
    for stmt, target in ctx.facts.syntax.attribute_assigns:
        attr = target.attr.value
        fact = known.get(stmt)
        if fact is not None:
            tensors = fact.model.manifest.parameters_under(fact.path)
            weight = next((t for t in tensors if t.name == f"{fact.path}.weight"), None)
            shape = f" `{weight.name}` stays {list(weight.shape)}" \
                if weight is not None and weight.sized else ""
            yield Finding(stmt, f"setting `{attr}` on `{fact.path}` changes an attribute, not "
                                f"the layer:{shape or ' the weight keeps its shape'}; replace "
                                f"the layer with a new one of the size you want",
                          fixes=_new_linear_fix(ctx, fact, stmt, target))
        elif attr in _SIZE_ATTRS_WITHOUT_MODEL and _module_chain(target.value):
            yield Finding(stmt, f"setting `{attr}` changes an attribute, not the layer: the "
                                f"weight keeps its shape; replace the layer with a new one of "
                                f"the size you want")


def _new_linear_fix(ctx: Context, fact: SizeAssign, stmt: cst.CSTNode,
                    target: cst.Attribute) -> tuple[FixSpec, ...]:
    """`model.fc.out_features = 3` -> `model.fc = nn.Linear(model.fc.in_features, 3)`, for a
    Linear layer, adding `from torch import nn` when the file has no name for it."""
    info = fact.model.manifest.module(fact.path)
    if info is None or info.type != "Linear" or fact.attr not in {"in_features", "out_features"}:
        return ()
    if not isinstance(stmt, cst.Assign) or len(stmt.targets) != 1:
        return ()
    layer = ctx.module.code_for_node(target.value)
    size = ctx.module.code_for_node(stmt.value)
    nn, needed = torch_nn(ctx.module)
    if needed is None and nn == "nn" and not _imports_anything(ctx.module):
        return ()
    args = (f"{layer}.in_features, {size}" if fact.attr == "out_features"
            else f"{size}, {layer}.out_features")
    replacements: list[tuple[cst.CSTNode, cst.CSTNode | str | Lines]] = [
        (stmt, f"{layer} = {nn}.Linear({args})")]
    if needed is not None:
        replacements.append(needed.replacement())
    return (fix("Replace the layer with a new nn.Linear", Safety.UNSAFE, *replacements),)


def _imports_anything(module: cst.Module) -> bool:
    return any(isinstance(small, (cst.Import, cst.ImportFrom))
               for statement in module.body if isinstance(statement, cst.SimpleStatementLine)
               for small in statement.body)


def _module_chain(node: cst.BaseExpression) -> bool:
    """`model.fc` or `model.classifier[6]`: a submodule reached from a name other than self."""
    depth = 0
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        depth += 1
        node = node.value
    return depth >= 1 and isinstance(node, cst.Name) and node.value not in {"self", "cls"}
