"""`lint(text, config)`: the one entry point the CLI, the language server and the tests share.

text -> parse (once) -> interpret over the model's real names -> rules -> Diagnostics.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from freezelint import checks
from freezelint.analysis.detect import ModelRequest
from freezelint.analysis.facts import OptimizerBuilt
from freezelint.analysis.interpreter import Interpreter
from freezelint.checks.base import Context, Finding, Lines, Replacement
from freezelint.diagnostics import Diagnostic, Edit, Fix, Related, Severity, Span
from freezelint.models.manifest import Manifest
from freezelint.prefilter import worth_linting
from freezelint.rule_docs import RuleDoc, rule_doc

_DIRECTIVE = re.compile(r"#\s*freezelint:\s*model\s*=\s*(\S+)")
_IGNORE = re.compile(r"#\s*(?:freezelint:\s*ignore|noqa)(?:\[([A-Z0-9, ]+)\]|:\s*([A-Z0-9, ]+))?",
                     re.I)
_FILE_IGNORE = re.compile(r"#\s*freezelint:\s*file-ignore(?:\[([A-Z0-9, ]+)\])?", re.I)

SpecResolver = Callable[[str], Manifest]
_LOG = logging.getLogger("freezelint")
# Lines as libcst counts them, each with its own ending (\r\n, \r or \n).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def zoo_resolver(request: ModelRequest) -> Manifest | None:
    """Auto-detected constructors resolve to shipped manifests only: no torch, no user code."""
    from freezelint.models.zoo import load_zoo

    try:
        return load_zoo(request.model_id, request.kwargs)
    except (LookupError, ValueError):
        try:
            return load_zoo(request.model_id, {})
        except (LookupError, ValueError):
            return None


@dataclass
class LintConfig:
    """What a lint run needs besides the text.

    `model` is the explicit model (from --model or configuration); without it the model is
    taken from a `# freezelint: model=...` directive, resolved by `resolve_spec`, or
    auto-detected from a constructor in the code."""

    model: Manifest | None = None
    # The file being linted: relative checkpoint paths in `torch.load('...')` resolve
    # against its directory.
    path: Path | None = None
    # `--checkpoint`: the keys of checkpoints the code loads from paths it cannot resolve.
    checkpoint: Manifest | None = None
    select: frozenset[str] | None = None
    ignore: frozenset[str] = field(default_factory=frozenset)
    resolve_spec: SpecResolver | None = None
    # Skip files whose text cannot produce a finding (see prefilter.py). Such files are not
    # parsed, so a syntax error in them is not reported either.
    prefilter: bool = True


@dataclass(frozen=True)
class NameMatch:
    """A literal compared with real names, and what it matched (for hover)."""

    span: Span
    literal: str
    kind: str
    domain: str
    model: str
    matched: tuple[str, ...]
    tested: tuple[str, ...]


@dataclass(frozen=True)
class OptimizerSummary:
    """What an optimizer construction trains (for code lenses): None when unknown."""

    span: Span
    model: str
    trained: int | None
    total: int
    trained_numel: int | None
    total_numel: int


@dataclass
class Analysis:
    diagnostics: list[Diagnostic]
    name_matches: list[NameMatch] = field(default_factory=list)
    optimizers: list[OptimizerSummary] = field(default_factory=list)
    models: list[Manifest] = field(default_factory=list)
    # Files besides the source that the result depends on (for the result cache).
    dependencies: list[Path] = field(default_factory=list)


def lint(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
    """Diagnostics for `text`, sorted by position. Positions are computed only when there
    is something to report."""
    return _run(text, config or LintConfig(), details=False).diagnostics


def lint_result(text: str, config: LintConfig | None = None) -> Analysis:
    """`lint` with the files the result depends on, for callers that cache results."""
    return _run(text, config or LintConfig(), details=False)


def analyze(text: str, config: LintConfig | None = None) -> Analysis:
    """`lint` plus what editors show besides diagnostics: the names each literal matched
    and what each optimizer trains."""
    return _run(text, config or LintConfig(), details=True)


def _run(text: str, config: LintConfig, details: bool) -> Analysis:
    explicit_model = config.model is not None or config.checkpoint is not None
    if config.prefilter and not details and not worth_linting(text, explicit_model=explicit_model):
        # Nothing to find but syntax errors: Python's own parser checks those several times
        # faster than building the libcst tree.
        error = _python_syntax_error(text)
        return Analysis(_filter([error], config, text) if error else [])
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return Analysis(_filter([_syntax_error(text, error)], config, text))
    except (ValueError, RecursionError) as error:
        return Analysis(_filter([_generic_error(str(error))], config, text))
    explicit = config.model or _directive_model(text, config)
    base_dir = config.path.parent if config.path is not None else None
    facts = Interpreter(module, zoo_resolver, explicit, base_dir=base_dir,
                        checkpoint=config.checkpoint).run()
    context = Context(module, facts, text)
    findings: list[tuple[str, Finding]] = []
    for rule_id, check in checks.REGISTRY.items():
        if not _selected(rule_id, config):
            continue
        try:
            findings.extend((rule_id, finding) for finding in check(context))
        except Exception:  # one broken rule must not hide the others' findings
            _LOG.exception("rule %s failed", rule_id)
    if not findings and not details:
        return Analysis([], dependencies=facts.files_read)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = _LINE.findall(text)
    diagnostics = [_diagnostic(rule_id, finding, positions, module, lines)
                   for rule_id, finding in findings]
    analysis = Analysis(_filter(_dedupe(diagnostics), config, text),
                        dependencies=facts.files_read)
    if details:
        analysis.name_matches = [
            NameMatch(_span(positions, t.node), t.literal, t.kind, t.domain, t.model.label,
                      tuple(n for n in t.model.trainable if n in t.matched) or tuple(sorted(t.matched)),
                      tuple(sorted(t.tested)))
            for t in facts.name_tests.values()]
        analysis.optimizers = [_optimizer_summary(b, positions) for b in facts.optimizers
                               if b.optimizer.model is not None]
        analysis.models = [m.manifest for m in facts.models]
    return analysis


def _optimizer_summary(built: OptimizerBuilt, positions: object) -> OptimizerSummary:
    model = built.optimizer.model
    assert model is not None
    sizes = {p.name: p.numel for p in model.manifest.parameters}
    names = built.optimizer.names
    trained: list[str] | None = None
    if names is not None and all(built.trainable.get(n) is not None for n in names):
        trained = [n for n in names if built.trainable.get(n)]
    return OptimizerSummary(
        span=_span(positions, built.optimizer.node),
        model=model.label,
        trained=len(trained) if trained is not None else None,
        total=len(built.trainable),
        trained_numel=sum(sizes.get(n, 0) for n in trained) if trained is not None else None,
        total_numel=sum(sizes.get(n, 0) for n in built.trainable),
    )


def _directive_model(text: str, config: LintConfig) -> Manifest | None:
    match = _DIRECTIVE.search(text)
    if match is None:
        return None
    spec = match.group(1)
    if config.resolve_spec is not None:
        try:
            return config.resolve_spec(spec)
        except (LookupError, ValueError, OSError):
            return None
    return zoo_resolver(ModelRequest(spec))


def _selected(rule_id: str, config: LintConfig) -> bool:
    def hit(codes: frozenset[str]) -> bool:
        return any(rule_id.startswith(code.upper()) for code in codes)

    if config.select is not None and not hit(config.select):
        return False
    return not hit(config.ignore)


def _span(positions: object, node: cst.CSTNode) -> Span:
    code_range = positions[node]  # type: ignore[index]
    return Span.of(code_range.start.line, code_range.start.column,
                   code_range.end.line, code_range.end.column)


def _diagnostic(rule_id: str, finding: Finding, positions: object, module: cst.Module,
                lines: list[str]) -> Diagnostic:
    doc = rule_doc(rule_id)
    fixes = tuple(
        Fix(spec.title, spec.safety, tuple(
            _edit(r, _span(positions, r.node), module, lines) for r in spec.replacements))
        for spec in finding.fixes)
    return Diagnostic(
        rule=rule_id,
        name=doc.name if doc else rule_id,
        severity=doc.severity if doc else Severity.WARNING,
        message=finding.message,
        span=_span(positions, finding.node),
        related=tuple(Related(_span(positions, n), msg) for n, msg in finding.related),
        fixes=fixes,
    )


def _edit(replacement: Replacement, span: Span, module: cst.Module, lines: list[str]) -> Edit:
    new = replacement.new
    if isinstance(new, str):
        return Edit(span, new)
    if isinstance(new, Lines):
        line = lines[span.start.line - 1] if span.start.line <= len(lines) else ""
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        newline = "\r\n" if line.endswith("\r\n") else "\r" if line.endswith("\r") else "\n"
        rendered = [p if isinstance(p, str) else module.code_for_node(p) for p in new.parts]
        return Edit(span, (newline + indent).join(rendered))
    return Edit(span, module.code_for_node(new))


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, Span, str]] = set()
    unique = []
    for d in diagnostics:
        key = (d.rule, d.span, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def _python_syntax_error(text: str) -> Diagnostic | None:
    try:
        compile(text, "<freezelint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max((error.offset or 1) - 1, 0)
        return Diagnostic("FZL000", "syntax-error", Severity.ERROR,
                          f"syntax error: {error.msg}", Span.of(line, column, line, column + 1))
    except (ValueError, OverflowError, RecursionError, MemoryError) as error:
        return _generic_error(str(error))
    return None


def _syntax_error(text: str, error: cst.ParserSyntaxError) -> Diagnostic:
    """Python's own parser places syntax errors better than libcst's (whose raw_line is
    often a line late) and words them the way users know; libcst's is the fallback."""
    line, column = error.raw_line, error.raw_column
    message = error.message.splitlines()[0] if error.message else "invalid syntax"
    try:
        compile(text, "<freezelint>", "exec", dont_inherit=True)
    except SyntaxError as python_error:
        if python_error.lineno:
            line = python_error.lineno
            column = max((python_error.offset or 1) - 1, 0)
            message = python_error.msg
    except (ValueError, OverflowError, RecursionError, MemoryError):
        pass
    return Diagnostic("FZL000", "syntax-error", Severity.ERROR,
                      f"syntax error: {message}", Span.of(line, column, line, column + 1))


def _generic_error(message: str) -> Diagnostic:
    return Diagnostic("FZL000", "syntax-error", Severity.ERROR, f"cannot parse: {message}",
                      Span.of(1, 0, 1, 1))


def _filter(diagnostics: list[Diagnostic], config: LintConfig, text: str) -> list[Diagnostic]:
    """Apply select/ignore and suppression comments, then sort by position."""
    lines = [line.rstrip("\r\n") for line in _LINE.findall(text)]
    file_ignored = _file_ignores(text)
    kept = []
    for d in diagnostics:
        if not _selected(d.rule, config) or _matches_codes(d.rule, file_ignored):
            continue
        line = lines[d.span.start.line - 1] if 0 < d.span.start.line <= len(lines) else ""
        if _suppressed(d.rule, line):
            continue
        kept.append(d)
    return sorted(kept, key=lambda d: d.sort_key)


def _file_ignores(text: str) -> set[str] | None:
    codes: set[str] = set()
    found = False
    for match in _FILE_IGNORE.finditer(text):
        found = True
        if match.group(1) is None:
            return None  # every rule
        codes.update(c.strip().upper() for c in match.group(1).split(","))
    return codes if found else set()


def _matches_codes(rule_id: str, codes: set[str] | None) -> bool:
    return codes is None or any(rule_id.startswith(c) for c in codes if c)


def _suppressed(rule_id: str, line: str) -> bool:
    if "#" not in line:
        return False
    for match in _IGNORE.finditer(line):
        listed = match.group(1) or match.group(2)
        if listed is None:
            return True
        if _matches_codes(rule_id, {c.strip().upper() for c in listed.split(",")}):
            return True
    return False


def documentation(rule_id: str) -> RuleDoc | None:
    return rule_doc(rule_id)
