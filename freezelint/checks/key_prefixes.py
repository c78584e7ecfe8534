"""Stripping a wrapper prefix (`module.`, `_orig_mod.`) from a state dict key, in the form
the project's Python supports: the one place the fixes and the messages of FZL301-FZL303 and
FZL308 take it from."""

from __future__ import annotations

import libcst as cst

from freezelint.checks.base import Context


def strip_prefix(key: cst.BaseExpression, prefix: str, ctx: Context
                 ) -> tuple[str, cst.BaseExpression]:
    """The key without `prefix` when it has it: `key.removeprefix(prefix)` where the project
    supports no Python older than 3.9 (engine/target.py), else the portable
    `(key[len(prefix):] if key.startswith(prefix) else key)`."""
    literal = cst.SimpleString(repr(prefix))
    python = ctx.data.get("python", (3, 9))
    if callable(python):  # engine/lint.py: looked up when first needed
        python = ctx.data["python"] = python()
    if python >= (3, 9):  # type: ignore[operator]
        return (f"`.removeprefix('{prefix}')`",
                cst.Call(func=cst.Attribute(value=key, attr=cst.Name("removeprefix")),
                         args=[cst.Arg(literal)]))
    cut = cst.Subscript(value=key, slice=[cst.SubscriptElement(cst.Slice(
        lower=cst.Call(func=cst.Name("len"), args=[cst.Arg(literal)]), upper=None))])
    test = cst.Call(func=cst.Attribute(value=key, attr=cst.Name("startswith")),
                    args=[cst.Arg(literal)])
    return (f"`[len('{prefix}'):]` under a `startswith('{prefix}')` test (the project supports "
            f"Python {python[0]}.{python[1]}, without str.removeprefix)",  # type: ignore[index]
            cst.IfExp(test=test, body=cut, orelse=key,
                      lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))


def strip_advice(prefix: str, ctx: Context) -> str:
    """How a message tells to strip `prefix` from a key `k`, in the form the project's
    Python supports (the same form the fixes write)."""
    return f"`{ctx.module.code_for_node(strip_prefix(cst.Name('k'), prefix, ctx)[1])}`"
