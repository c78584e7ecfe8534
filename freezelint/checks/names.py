"""FZL101 and FZL102: literals compared with real parameter and module names."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from freezelint.analysis.facts import NameTest
from freezelint.checks.base import Context, Finding, examples, fix, plural, rule
from freezelint.checks.suggest import suggestions
from freezelint.common.diagnostics import Safety
from freezelint.common.torch_api import STACKED_PREFIXES

_KIND_PHRASE = {
    "equal": "matches no {domain} name of {model}",
    "substring": "occurs in no {domain} name of {model}",
    "prefix": "starts no {domain} name of {model}",
    "suffix": "ends no {domain} name of {model}",
    "regex": "matches no {domain} name of {model}",
}


@rule("FZL101", reads=("name_tests",))
def name_matches_nothing(ctx: Context) -> Iterator[Finding]:
    for test in ctx.facts.name_tests.values():
        if test.matched or not test.tested or test.model.is_opaque(test.literal) \
                or test.model.manifest.could_match(test.literal, test.kind):
            continue
        manifest = test.model.manifest
        if _matches_known(test):
            continue
        domain_names = sorted(test.tested, key=_order(manifest))
        phrase = _KIND_PHRASE[test.kind].format(domain=test.domain, model=f"`{test.model.label}`")
        message = f"'{test.literal}' {phrase} ({plural(len(domain_names), test.domain)})"
        options = suggestions(test.literal, domain_names, manifest, test.kind)
        fixes = ()
        if options:
            message += f"; did you mean '{options[0]}'?"
            if isinstance(test.node, cst.SimpleString):
                fixes = (fix(f"Replace with '{options[0]}'", Safety.UNSAFE,
                             (test.node, _requote(test.node, options[0]))),)
            if len(options) > 1:
                message += " Other close names: " + examples(options[1:]) + "."
        yield Finding(test.node, message, fixes=fixes)


def _matches_known(test: NameTest) -> bool:
    """A literal that is a real name under another naming (transformers 4.x vs 5.x, a buffer,
    a module used in a parameter loop) is not a name that matches nothing."""
    known = test.model.manifest.all_known_names()
    # Names yielded through a wrapper (`module.` after DataParallel) carry its prefix.
    wrapped = next((p for p in STACKED_PREFIXES
                    if test.tested and all(n.startswith(p) for n in test.tested)),
                   "")
    if wrapped:
        known = {wrapped + n for n in known}
    literal = test.literal
    if test.kind == "equal":
        return literal in known
    if test.kind == "substring":
        return any(literal in n for n in known)
    if test.kind == "prefix":
        return any(n.startswith(literal) for n in known)
    if test.kind == "suffix":
        return any(n.endswith(literal) for n in known)
    try:
        pattern = re.compile(literal)
    except re.error:
        return True
    return any(pattern.search(n) for n in known)


def _order(manifest):  # type: ignore[no-untyped-def]
    index = {n: i for i, n in enumerate(manifest.parameter_names)}
    return lambda name: (index.get(name, len(index)), name)


def _requote(node: cst.SimpleString, value: str) -> str:
    return f"{node.prefix}{node.quote}{value}{node.quote}"


@rule("FZL102", reads=("name_tests",))
def name_overmatch(ctx: Context) -> Iterator[Finding]:
    for test in ctx.facts.name_tests.values():
        if test.kind not in {"substring", "prefix"} or len(test.matched) < 2 \
                or test.model.manifest.could_match(test.literal, test.kind):
            continue
        literal = test.literal
        clean = [n for n in test.matched if _clean_match(literal, n)]
        stray = [n for n in test.matched if n not in clean]
        if not clean or not stray:
            continue
        order = _order(test.model.manifest)
        clean.sort(key=order)
        stray.sort(key=order)
        intended = literal if literal.endswith(".") else literal + "."
        message = (
            f"'{literal}' matches {plural(len(test.matched), test.domain)} of "
            f"`{test.model.label}`: {len(clean)} where it is a whole name part "
            f"({examples(clean, 2)}) and {len(stray)} more inside longer names "
            f"({examples(stray, 3)}); write '{intended}' to match only the first")
        fixes = ()
        if isinstance(test.node, cst.SimpleString) and not literal.endswith("."):
            fixes = (fix(f"Match whole name parts with '{intended}'", Safety.UNSAFE,
                         (test.node, _requote(test.node, intended))),)
        yield Finding(test.node, message, fixes=fixes)


def _clean_match(literal: str, name: str) -> bool:
    """True when `literal` occurs in `name` at dotted-part boundaries on both sides."""
    start = name.find(literal)
    while start != -1:
        end = start + len(literal)
        left = start == 0 or name[start - 1] == "." or literal.startswith(".")
        right = end == len(name) or name[end] == "." or literal.endswith(".")
        if left and right:
            return True
        start = name.find(literal, start + 1)
    return False
