"""`lint(text, config)`: the one entry point the CLI, the language server and the tests share.

text -> parse (once) -> interpret over the model's real names -> rules -> Diagnostics.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from freezelint import checks
from freezelint.analysis.detect import ModelRequest
from freezelint.analysis.facts import OptimizerBuilt
from freezelint.analysis.interpreter import Interpreter
from freezelint.analysis.peft_configs import entry_matches
from freezelint.analysis.positions import StatementPositions
from freezelint.analysis.syntax import collect_syntax
from freezelint.checks.base import Context, Finding, Lines, Replacement
from freezelint.common.coverage import Coverage
from freezelint.common.diagnostics import Diagnostic, Edit, Fix, Related, Safety, Severity, Span
from freezelint.common.rule_docs import rule_doc
from freezelint.engine.definition_texts import top_level_spans
from freezelint.engine.model_free import model_free_definitions, uses_a_model
from freezelint.engine.selection import is_selected, opt_in_rules
from freezelint.engine.sites import analysed_sites, may_have_sites, unanalysed_sites
from freezelint.engine.target import minimum_python
from freezelint.inputs.nesting import check_nesting
from freezelint.inputs.source import LONE_CR, has_python_tree, python_accepts, python_tree
from freezelint.models.manifest import Manifest
from freezelint.prefilter import has_syntactic_patterns, worth_linting

if TYPE_CHECKING:  # the editor's statement cache: the command line never needs it
    from freezelint.analysis.incremental import StatementCache

_DIRECTIVE = re.compile(r"#\s*freezelint:\s*model\s*=\s*(\S+)")

SYNTAX_ERROR = "FZL000"
UNUSED_SUPPRESSION = "FZL900"
# Rules the engine reports itself rather than a checks/ rule: syntax errors (parse stage) and
# unused suppressions (filter stage, where it is known which suppressions were used).
ENGINE_RULES = frozenset({SYNTAX_ERROR, UNUSED_SUPPRESSION})
# Rules that run only when selected by name or by a prefix longer than "FZL" (`FZL900`,
# `FZL9`), never through the default set, "ALL" or "FZL": `opt-in: true` in their rules/*.md.
OPT_IN_RULES = opt_in_rules()

SpecResolver = Callable[[str], Manifest]
# Lines as libcst counts them, each with its own ending (\r\n, \r or \n).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

# How a file's text becomes its libcst tree. A run over many files puts its own here
# (cli/batch.py), which keeps the tree out of the cyclic collector's passes.
parse_module: Callable[[str], cst.Module] = cst.parse_module


def zoo_resolver(request: ModelRequest) -> Manifest | None:
    """Auto-detected constructors resolve to shipped manifests only: no torch, no user code.
    Arguments the zoo cannot apply exactly make the model unknown (not its default)."""
    from freezelint.models.zoo import load_zoo

    try:
        return load_zoo(request.model_id, request.kwargs)
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
    # Rule selection, codes or prefixes: `select` None means the default set; `extend_select`
    # adds to it (the way to turn on an opt-in rule without listing every other one).
    select: frozenset[str] | None = None
    ignore: frozenset[str] = field(default_factory=frozenset)
    extend_select: frozenset[str] = field(default_factory=frozenset)
    resolve_spec: SpecResolver | None = None
    # Skip files whose text cannot produce a finding (see prefilter.py). Such files are not
    # parsed, so a syntax error in them is not reported either.
    prefilter: bool = True
    # Where the first site not checked is (Coverage.first_unchecked): for the reports that
    # show it (JSON, SARIF, GitHub annotations, the editor's lens). The text reports only
    # count, and placing one node in a large file is a walk of its top-level statement.
    locate_unchecked: bool = True


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
    # Per model in `models`, each parameter's requires_grad at the end of the script: True,
    # False, or None where it depends on something the analysis could not evaluate
    # (`freezelint explain` draws it).
    trainable: list[dict[str, bool | None]] = field(default_factory=list)
    # Per model in `models`, where it was built: '' for the top level, else the function or
    # `Class.method` analysed on its own.
    scopes: list[str] = field(default_factory=list)
    # Files besides the source that the result depends on (for the result cache).
    dependencies: list[Path] = field(default_factory=list)
    # The sites model-aware rules check, and at how many of them the model was known: the
    # report says what was not checked instead of "All checks passed!".
    coverage: Coverage = field(default_factory=Coverage)


def lint(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
    """Diagnostics for `text`, sorted by position. Positions are computed only when there
    is something to report. Raises `inputs.nesting.TooDeep` (a SourceError) for a text
    nested deeper than the parser can take: it cannot be checked."""
    return _run(text, config or LintConfig(), details=False).diagnostics


def lint_result(text: str, config: LintConfig | None = None) -> Analysis:
    """`lint` with the files the result depends on, for callers that cache results."""
    return _run(text, config or LintConfig(), details=False)


def analyze(text: str, config: LintConfig | None = None,
            statements: StatementCache | None = None) -> Analysis:
    """`lint` plus what editors show besides diagnostics: the names each literal matched
    and what each optimizer trains. `statements` lets an editor reuse the statements (and
    their positions) that did not change since the last keystroke."""
    return _run(text, config or LintConfig(), details=True, statements=statements)


def _run(text: str, config: LintConfig, details: bool,
         statements: StatementCache | None = None) -> Analysis:
    explicit_model = config.model is not None or config.checkpoint is not None
    if config.prefilter and not details and not worth_linting(text, explicit_model=explicit_model):
        # Nothing to find but syntax errors: Python's own parser checks those several times
        # faster than building the libcst tree.
        counted = may_have_sites(text)
        error, tree = _python_syntax_error(text, tree_needed=counted)
        coverage = unanalysed_sites(tree, text) if tree is not None and counted else Coverage()
        return Analysis(_filter([error] if error else [], config, text), coverage=coverage)
    if statements is None:  # (the statement cache measures each new statement itself)
        check_nesting(text)  # TooDeep: a text libcst's native parser could crash on
    try:
        module = statements.parse(text) if statements else parse_module(text)
    except cst.ParserSyntaxError as error:
        return Analysis(_filter([_syntax_error(text, error)], config, text))
    except (ValueError, RecursionError) as error:
        return Analysis(_filter([_generic_error(str(error))], config, text))
    explicit = config.model or _directive_model(text, config)
    base_dir = config.path.parent if config.path is not None else None
    # What is computed per statement is remembered for statements the cache keeps.
    reused = statements if statements is not None and statements.reuses(module) else None
    interpreter = Interpreter(module, zoo_resolver, explicit, base_dir=base_dir,
                              checkpoint=config.checkpoint, text=text)
    # The project's modules are read for a file that uses a model the way a rule judges,
    # and always for an editor (`details`: hover and completion on `model.` as it is typed).
    interpreter.read_project = details or uses_a_model(text)
    # The texts of the top-level definitions: which of them use no model, and which hold no
    # site to count (a file that reads nothing holds none). An editor reads for every one.
    spans = None
    if interpreter.read_project and not details:
        spans = top_level_spans(module, text)
        interpreter.model_free = model_free_definitions(text, spans)
    syntax = has_syntactic_patterns(text)
    if syntax and reused is not None:
        # The syntax pass first, as run() does it, with the facts of the statements an
        # editor reuses remembered between keystrokes.
        interpreter.facts.syntax = collect_syntax(module, interpreter.facts.owner,
                                                  checks.VISITS, memo=reused.syntax)
        syntax = False
    facts = interpreter.run(syntax=syntax, visits=checks.VISITS)
    context = Context(module, facts, text, data={"path": config.path})
    # What fixes may use (3.9: removeprefix), found when a rule first asks: it may parse the
    # project's pyproject.toml.
    context.data["python"] = partial(minimum_python, config.path)
    findings: list[tuple[str, Finding]] = []
    ran: set[str] = set()
    for rule_id, check in checks.REGISTRY.items():
        if not _selected(rule_id, config):
            continue
        ran.add(rule_id)
        try:
            findings.extend((rule_id, finding) for finding in check(context))
        except Exception:  # one broken rule must not hide the others' findings
            import logging  # imported on this rare path only: it costs milliseconds at start

            logging.getLogger("freezelint").exception("rule %s failed", rule_id)
    # A load the checkpoint flow judged (FZL304/FZL308/FZL309 report it without a model)
    # was checked too, by the rule that ran.
    coverage, first_unchecked = analysed_sites(
        module, facts, text, facts.owner, flow=context.data.get("checkpoint_flow"), ran=ran,
        memo=reused.sites if reused else None, spans=spans)
    if not config.locate_unchecked and not details:
        first_unchecked = None
    if not findings and not details and first_unchecked is None:
        return Analysis(_filter([], config, text), dependencies=facts.files_read,
                        coverage=coverage)
    positions = StatementPositions(module, text, facts.owner,
                                   reused.positions if reused else None,
                                   statements.statement_lines(text) if statements else None)
    if first_unchecked is not None:
        coverage = replace(coverage, first_unchecked=_span(positions, first_unchecked))
    lines = _LINE.findall(text)
    diagnostics = [_diagnostic(rule_id, finding, positions, module, lines)
                   for rule_id, finding in findings]
    analysis = Analysis(_filter(_dedupe(diagnostics), config, text),
                        dependencies=facts.files_read, coverage=coverage)
    if details:
        analysis.name_matches = [
            NameMatch(_span(positions, t.node), t.literal, t.kind, t.domain, t.model.label,
                      tuple(n for n in t.model.trainable if n in t.matched) or tuple(sorted(t.matched)),
                      tuple(sorted(t.tested)))
            for t in facts.name_tests.values()]
        analysis.name_matches += [  # PEFT config entries, matched as PEFT matches them
            NameMatch(_span(positions, m.node), m.literal, m.kind, "module", m.model.label,
                      m.matched, m.tested)
            for m in entry_matches(facts.peft)]
        analysis.optimizers = [_optimizer_summary(b, positions) for b in facts.optimizers
                               if b.optimizer.model is not None]
        analysis.models = [m.manifest for m in facts.models]
        analysis.trainable = [dict(m.trainable) for m in facts.models]
        analysis.scopes = [m.scope for m in facts.models]
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
        # (no element counts for a model whose shapes are not all known)
        trained_numel=sum(sizes.get(n, 0) for n in trained)
        if trained is not None and model.manifest.sized else None,
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


def selected(rule_id: str, config: LintConfig) -> bool:
    """Whether the configuration lets `rule_id` report: for diagnostics made outside
    `lint`, such as the FZL000 of a notebook cell that had to be skipped."""
    return _selected(rule_id, config)


def _selected(rule_id: str, config: LintConfig) -> bool:
    return is_selected(rule_id, config.select, config.extend_select, config.ignore)


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
        ended = line if line.endswith(("\r", "\n")) or not lines else lines[0]  # a last line
        newline = "\r\n" if ended.endswith("\r\n") else "\r" if ended.endswith("\r") else "\n"
        rendered = [p if isinstance(p, str) else module.code_for_node(p) for p in new.parts]
        # A comment after the statement (a noqa or type-ignore comment) belongs to its
        # code, the first of the new lines: the edit takes it along instead of leaving it
        # at the end of the last inserted line.
        end = lines[span.end.line - 1] if span.end.line <= len(lines) else ""
        tail = end.rstrip("\r\n")[span.end.column:]
        if tail.strip().startswith("#") and len(rendered) > 1:
            span = Span.of(span.start.line, span.start.column, span.end.line,
                           span.end.column + len(tail))
            rendered[0] += tail
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


def _python_syntax_error(text: str, tree_needed: bool = True
                         ) -> tuple[Diagnostic | None, ast.Module | None]:
    """Python's own parse: the syntax error, or else the tree (the unchecked sites of a
    skipped file are counted on it; None when not `tree_needed`)."""
    if not tree_needed and not has_python_tree(text) and python_accepts(text):
        return None, None
    tree = python_tree(text)  # (the pre-filter may have asked for it already)
    if tree is not None:
        return None, tree
    try:
        compile(text, "<freezelint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max((error.offset or 1) - 1, 0)
        return Diagnostic("FZL000", "syntax-error", Severity.ERROR,
                          f"syntax error: {error.msg}",
                          Span.of(line, column, line, column + 1)), None
    except (ValueError, OverflowError, RecursionError, MemoryError) as error:
        return _generic_error(str(error)), None
    return None, tree


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


# -- suppression comments ----------------------------------------------------------------
#
# A `freezelint: ignore[FZL101]` or `noqa: FZL101` comment silences the line it is on (a
# bare `noqa` or `freezelint: ignore`, every rule there); `freezelint: file-ignore[FZL201]`
# silences the whole file. Only real comments count: the same words in a string are text.
# Ruff and flake8 read the same comments, so codes that are not ours stay as they are.

_CODE = r"[A-Z]+[0-9]+"
_LINE_DIRECTIVE = re.compile(
    r"#\s*(?:(?i:freezelint:\s*(?P<kind>file-ignore|ignore))(?![\w-])"
    r"(?:\[(?P<bracket>[^\]\r\n]*)\])?"
    rf"|(?P<noqa>(?i:noqa))(?![\w-])(?::\s*(?P<listed>{_CODE}(?:(?:\s*,\s*|\s+){_CODE})*))?)")
_BRACKET_CODE = re.compile(r"[A-Za-z]+[0-9]*")
# Cheap test before tokenizing: a file without these words has no suppression.
_MARKER = re.compile(r"noqa|freezelint\s*:\s*(?:file-)?ignore", re.I)
# With nothing reported, only these can be unused (FZL900): a comment listing one of our
# codes, or a freezelint one. A bare noqa comment, or one listing only other tools' codes,
# never is.
_MAY_BE_UNUSED = re.compile(r"FZL|(?i:freezelint\s*:\s*(?:file-)?ignore)")


@dataclass(frozen=True)
class Suppression:
    """One suppression comment. Columns are 0-based code-point offsets, like Span's."""

    line: int
    start: int  # the directive's '#'
    end: int  # just after its codes (or after the keyword when it lists none)
    kind: str  # "ignore", "noqa" or "file-ignore"
    codes: tuple[str, ...] | None  # None: every rule
    codes_start: int  # where the code list is (for editing it); == end without one
    codes_end: int

    def matches(self, diagnostic: Diagnostic) -> list[str | None]:
        """The entries of this suppression that silence `diagnostic` (None for a bare one)."""
        if self.kind != "file-ignore" and diagnostic.span.start.line != self.line:
            return []
        if self.codes is None:
            return [None]
        return [code for code in self.codes if diagnostic.rule.startswith(code)]


def suppressions(text: str) -> tuple[list[Suppression], bool]:
    """Every suppression comment in `text`, and whether they were found exactly (from
    Python's tokenizer). A file that does not tokenize (a syntax error) is searched line by
    line from the first '#', as a best effort that may mistake a string for a comment."""
    if not _MARKER.search(text):
        return [], True
    comments = _comments(text)
    exact = comments is not None
    if comments is None:
        comments = []
        for number, line in enumerate(_LINE.findall(text), start=1):
            at = line.find("#")
            if at >= 0:
                comments.append((number, at, line[at:].rstrip("\r\n")))
    found = []
    for number, column, comment in comments:
        for match in _LINE_DIRECTIVE.finditer(comment):
            found.append(_suppression(number, column, match))
    return found, exact


def _comments(text: str) -> list[tuple[int, int, str]] | None:
    """(line, column, text) of each comment token; None when the text does not tokenize.
    A lone CR ends a line for libcst but not for the tokenizer: it is read as the newline it
    stands for (one character for one, so lines and columns stay libcst's)."""
    text = LONE_CR.sub("\n", text)
    try:
        return [(token.start[0], token.start[1], token.string)
                for token in tokenize.generate_tokens(io.StringIO(text).readline)
                if token.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def _suppression(line: int, column: int, match: re.Match[str]) -> Suppression:
    start, end = column + match.start(), column + match.end()
    if match.group("noqa"):
        kind = "noqa"
        listed = match.group("listed")
        codes = tuple(re.findall(_CODE, listed)) if listed else None
        span = match.span("listed") if listed else (match.end(), match.end())
    else:
        kind = match.group("kind").lower()
        inner = match.group("bracket")
        codes = tuple(c.upper() for c in _BRACKET_CODE.findall(inner)) if inner else ()
        codes = codes or None  # `ignore` and `ignore[]` both mean every rule
        span = match.span("bracket") if inner is not None else (match.end(), match.end())
    return Suppression(line, start, end, kind, codes, column + span[0], column + span[1])


def _filter(diagnostics: list[Diagnostic], config: LintConfig, text: str) -> list[Diagnostic]:
    """Apply select/ignore and suppression comments, report unused suppressions when FZL900
    is selected, then sort by position."""
    report_unused = _selected(UNUSED_SUPPRESSION, config)
    diagnostics = [d for d in diagnostics if _selected(d.rule, config)]
    if not diagnostics and not (report_unused and _MAY_BE_UNUSED.search(text)):
        return []  # (most files: no need to tokenize them for their comments)
    directives, exact = suppressions(text)
    used: set[tuple[int, str | None]] = set()
    kept = []
    for d in diagnostics:
        hits = [(i, code) for i, s in enumerate(directives) for code in s.matches(d)]
        used.update(hits)
        if not hits:
            kept.append(d)
    if report_unused and exact:
        # FZL900 can be silenced too, by a comment that lists it, but not by the bare
        # comment it reports: that one would otherwise always hide its own finding.
        for index, d in _unused_suppressions(directives, used, config, _LINE.findall(text)):
            if not any(s.matches(d) for i, s in enumerate(directives)
                       if i != index or s.codes is not None):
                kept.append(d)
    return sorted(kept, key=lambda d: d.sort_key)


def _engine_and_checks() -> list[str]:
    return sorted({SYNTAX_ERROR, *checks.REGISTRY})


def _unused_suppressions(directives: list[Suppression], used: set[tuple[int, str | None]],
                         config: LintConfig, lines: list[str]) -> list[tuple[int, Diagnostic]]:
    """FZL900 for each suppression entry that silenced nothing. Only when that is a fact:
    every rule the entry names ran (a rule left out by select/ignore might have needed
    it), the code is ours (`# noqa: E501` is Ruff's business) and the comment names it
    (a bare `# noqa` may be there for another linter)."""
    rules = [r for r in _engine_and_checks() if r not in OPT_IN_RULES]
    ran = {r for r in rules if _selected(r, config)}

    def knowable(code: str | None) -> bool:
        named = [r for r in rules if code is None or r.startswith(code)]
        if code is not None and not named and any(r.startswith(code) for r in OPT_IN_RULES):
            return False  # silencing FZL900 itself: whether that is used cannot be told
        return all(r in ran for r in named)

    found = []
    for index, s in enumerate(directives):
        if s.codes is None:
            if s.kind == "noqa" or (index, None) in used or not knowable(None):
                continue
            unused: list[str] = []
            remaining: list[str] = []
        else:
            unused = [c for c in s.codes if c.startswith("FZL") and (index, c) not in used
                      and knowable(c)]
            if not unused:
                continue
            remaining = [c for c in s.codes if c not in unused]
        found.append((index, _unused_diagnostic(s, unused, remaining, rules, lines)))
    return found


def _unused_diagnostic(s: Suppression, unused: list[str], remaining: list[str],
                       rules: list[str], lines: list[str]) -> Diagnostic:
    where = "in this file" if s.kind == "file-ignore" else "on this line"
    unknown = [c for c in unused if not any(r.startswith(c) for r in rules)]
    known = [c for c in unused if c not in unknown]
    reasons = []
    if not unused:
        reasons.append(f"nothing to suppress {where}")
    if known:
        reasons.append(f"no {' or '.join(known)} finding {where}")
    if unknown:
        reasons.append(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} "
                       "not a freezelint rule")
    if remaining:
        title = f"Remove {', '.join(unused)} from the suppression"
        edit = Edit(Span.of(s.line, s.codes_start, s.line, s.codes_end), ", ".join(remaining))
    else:
        title = "Remove the unused suppression"
        edit = _removal(s, lines)
    doc = rule_doc(UNUSED_SUPPRESSION)
    return Diagnostic(
        rule=UNUSED_SUPPRESSION,
        name=doc.name if doc else "unused-suppression",
        severity=doc.severity if doc else Severity.INFO,
        message="unused suppression: " + "; ".join(reasons),
        span=Span.of(s.line, s.start, s.line, s.end),
        fixes=(Fix(title, Safety.SAFE, (edit,)),),
    )


def _removal(s: Suppression, lines: list[str]) -> Edit:
    """The edit that deletes a whole suppression and nothing else: the comment with the
    spaces before it, the whole line when the comment was all it held, and only the
    directive when another comment (`# type: ignore`) or an explanation follows it."""
    line = lines[s.line - 1] if s.line <= len(lines) else ""
    content = line.rstrip("\r\n")
    before, rest = content[:s.start], content[s.end:]
    if rest.strip():
        if rest.lstrip().startswith("#"):  # another comment follows: keep it
            return Edit(Span.of(s.line, s.start, s.line, s.end + len(rest) - len(rest.lstrip())),
                        "")
        return Edit(Span.of(s.line, s.start, s.line, s.end), "#")  # an explanation follows
    if before.strip():
        return Edit(Span.of(s.line, len(before.rstrip()), s.line, len(content)), "")
    if content != line:  # a line of its own, with its line ending
        return Edit(Span.of(s.line, 0, s.line + 1, 0), "")
    if s.line > 1:  # the last line, without an ending: take the previous line's ending
        previous = lines[s.line - 2].rstrip("\r\n")
        return Edit(Span.of(s.line - 1, len(previous), s.line, len(content)), "")
    return Edit(Span.of(s.line, 0, s.line, len(content)), "")


# -- --add-noqa --------------------------------------------------------------------------


@dataclass
class NoqaResult:
    text: str
    added: int  # lines that got a directive or more codes in theirs
    remaining: list[Diagnostic]  # findings no comment can silence


def add_noqa(text: str, diagnostics: list[Diagnostic]) -> NoqaResult:
    """Silence `diagnostics` with `# noqa: FZL...` comments at the end of their first
    lines (codes are appended to a suppression comment already there). A line whose end is
    inside a string or continued by a backslash cannot take a comment; neither syntax
    errors nor FZL900 get one. Only the edited lines change, and their line endings stay."""
    commentable = _commentable_lines(text)
    wanted: dict[int, list[str]] = {}
    remaining = []
    for d in diagnostics:
        line = d.span.start.line
        if d.rule in ENGINE_RULES or commentable is None or line not in commentable:
            remaining.append(d)
        elif d.rule not in wanted.setdefault(line, []):
            wanted[line].append(d.rule)
    if not wanted:
        return NoqaResult(text, 0, remaining)
    directives = [s for s in suppressions(text)[0] if s.kind != "file-ignore" and s.codes]
    lines = _LINE.findall(text)
    edits: list[tuple[int, int, str]] = []  # (line, column, inserted text)
    for line, codes in sorted(wanted.items()):
        codes = sorted(codes)
        existing = [s for s in directives if s.line == line]
        existing.sort(key=lambda s: (s.kind != "noqa", s.start))
        if existing:
            edits.append((line, existing[0].codes_end, ", " + ", ".join(codes)))
            continue
        content = lines[line - 1].rstrip("\r\n") if line <= len(lines) else ""
        edits.append((line, len(content.rstrip()), "  # noqa: " + ", ".join(codes)))
    for line, column, inserted in reversed(edits):
        old = lines[line - 1]
        content = old.rstrip("\r\n")
        ending = old[len(content):]
        if column >= len(content.rstrip()):  # a new comment replaces trailing blanks
            lines[line - 1] = content[:column] + inserted + ending
        else:
            lines[line - 1] = content[:column] + inserted + content[column:] + ending
    return NoqaResult("".join(lines), len(edits), remaining)


def _commentable_lines(text: str) -> set[int] | None:
    """Lines whose end is outside strings and not continued with a backslash: there a
    comment can go. None when the text does not tokenize. A lone CR (old Mac line ends)
    is read as the newline it stands for, as in `_comments`."""
    text = LONE_CR.sub("\n", text)
    ends = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT}
    try:
        return {token.start[0]
                for token in tokenize.generate_tokens(io.StringIO(text).readline)
                if token.type in ends}
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
