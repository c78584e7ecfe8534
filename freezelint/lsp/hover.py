"""Hover: what a name test really selects, and what a diagnostic means.

On a string compared with real names (`name != 'fc.weight'`, `'blocks.11' in name`) the
hover lists the parameters (or modules) it matches, with their shapes and owning module,
or, when it matches none, the closest real names: the question a person asks when a
freeze loop does not do what they expected. On any other string that is a real name (a
state-dict key), it shows that tensor or module. On a diagnostic it shows the rule's
documentation, the same Markdown as `freezelint rule FZL101`.
"""

from __future__ import annotations

import difflib
import re

from lsprotocol import types

from freezelint.common.diagnostics import Position
from freezelint.common.rule_docs import RuleDoc, rule_doc
from freezelint.common.torch_api import HOVER_PREFIXES
from freezelint.engine.lint import NameMatch
from freezelint.lsp.linting import LintResult
from freezelint.lsp.text import contains
from freezelint.models.manifest import Manifest, TensorInfo
from freezelint.models.suggest import suggestions

SHOWN = 8  # names listed before "... and N more"
# A quoted literal on one line. Its characters are taken in runs, possessively: with a way
# back kept for each character, a 1 MB string on one line cost 160 MB to hover. (A string
# whose last character is an escaped quote is no string Python ends there: not matched.)
_STRING = re.compile(r"""(?P<q>['"])(?P<value>(?:[^\\'"]++|\\.|(?!(?P=q))['"])*+)(?P=q)""")


def hover(result: LintResult, uri: str, position: types.Position) -> types.Hover | None:
    at = result.layout.to_linted(uri, position)
    if at is None:
        return None
    sections: list[str] = []
    match = _name_match_at(result, at)
    if match is not None:
        sections.append(describe_match(match, _manifest(result.models, match.model)))
    else:
        literal = _literal_at(result.layout.lines[at.line - 1], at.column)
        described = describe_real_name(literal, result.models) if literal else None
        if described:
            sections.append(described)
    rules = dict.fromkeys(d.rule for d in result.diagnostics if contains(d.span, at))
    sections.extend(rule_markdown(doc) for rule in rules if (doc := rule_doc(rule)))
    if not sections:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(sections)))


def describe_match(match: NameMatch, manifest: Manifest | None) -> str:
    noun = "parameter" if match.domain == "parameter" else "module"
    universe = _names(manifest, match.domain) if manifest else list(match.tested)
    quoted = f"`{match.literal!r}`"
    if match.matched:
        count = len(match.matched)
        head = (f"{quoted} matches {count} of the {len(universe)} {noun}s of "
                f"`{match.model}`")
        owner = _common_module(match.matched, match.domain)
        if count > 1 and owner:
            head += f", all in {_module_text(owner, manifest)}"
        listed = list(match.matched[:SHOWN])
        more = count - len(listed)
    else:
        head = (f"{quoted} matches none of the {len(universe)} {noun}s of `{match.model}`. "
                "Closest real names:")
        listed = _closest(match, universe, manifest)
        more = 0
    lines = [head, ""] + [f"- {_name_text(name, manifest, match.domain)}" for name in listed]
    if more:
        lines.append(f"- ... and {more} more")
    return "\n".join(lines)


def describe_real_name(literal: str, models: list[Manifest]) -> str | None:
    """A string that is a real parameter, buffer or module name (a state-dict key)."""
    for manifest in models:
        for name in (literal, *(literal[len(w):] for w in HOVER_PREFIXES if literal.startswith(w))):
            for tensor in manifest.parameters:
                if tensor.name == name:
                    return f"parameter of `{manifest.name}`: {_name_text(name, manifest, 'parameter')}"
            for tensor in manifest.buffers:
                if tensor.name == name:
                    return (f"buffer of `{manifest.name}`: `{name}` {_shape(tensor)} "
                            f"{tensor.dtype}")
            if name and name in manifest.module_paths:
                count = len(manifest.parameters_under(name))
                return (f"module of `{manifest.name}`: {_module_text(name, manifest)}, "
                        f"{count} parameters")
    return None


def rule_markdown(doc: RuleDoc) -> str:
    """The rule's documentation with its title as a bold line (a `#` heading is huge in a
    hover) and a link to the full page."""
    body = re.sub(r"\A\s*# [^\n]*\n", "", doc.body).strip()
    return (f"**{doc.title}** ({doc.severity.value}, fix: {doc.fix})\n\n{body}\n\n"
            f"[Documentation]({doc.url})")


def _name_match_at(result: LintResult, at: Position) -> NameMatch | None:
    found = [m for m in result.analysis.name_matches if contains(m.span, at)]
    return min(found, key=lambda m: (m.span.end.line - m.span.start.line,
                                     m.span.end.column - m.span.start.column), default=None)


def _manifest(models: list[Manifest], label: str) -> Manifest | None:
    return next((m for m in models if m.name == label), None)


def _names(manifest: Manifest, domain: str) -> list[str]:
    if domain == "parameter":
        return manifest.parameter_names
    return [path for path in manifest.module_paths if path]


def _closest(match: NameMatch, universe: list[str], manifest: Manifest | None) -> list[str]:
    found = suggestions(match.literal, universe, manifest, match.kind) if manifest else []
    for name in difflib.get_close_matches(match.literal, universe, n=5, cutoff=0.4):
        if name not in found:
            found.append(name)
    return found[:5]


def _name_text(name: str, manifest: Manifest | None, domain: str) -> str:
    if manifest is None:
        return f"`{name}`"
    if domain != "parameter":
        return _module_text(name, manifest)
    tensor = next((t for t in manifest.parameters if t.name == name), None)
    if tensor is None:
        return f"`{name}`"
    owner = f" in {_module_text(tensor.module, manifest)}" if tensor.module else ""
    return f"`{name}` {_shape(tensor)}{owner}"


def _shape(tensor: TensorInfo) -> str:
    """`[768, 3072]`, or what is known of a shape the static class reader could not work
    out."""
    return str(list(tensor.shape)) if tensor.sized else "(shape unknown)"


def _module_text(path: str, manifest: Manifest | None) -> str:
    info = manifest.module(path) if manifest else None
    return f"`{path}` ({info.type})" if info and info.type and info.type != "?" else f"`{path}`"


def _common_module(names: tuple[str, ...], domain: str) -> str:
    owners = [n.rpartition(".")[0] if domain == "parameter" else n for n in names]
    parts = [o.split(".") for o in owners]
    common: list[str] = []
    for pieces in zip(*parts, strict=False):
        if len(set(pieces)) != 1:
            break
        common.append(pieces[0])
    return ".".join(common)


def _literal_at(line: str, column: int) -> str | None:
    for found in _STRING.finditer(line):
        if found.start() <= column <= found.end():
            return found.group("value")
    return None
