"""The autofix engine's guarantees (the design's "Fixes", issue 3 "The autofix engine").

Every fixable rule's flagged example (rules/*.md) and every scenario file (examples/*.py)
is reformatted the ways real files differ: comments at line ends, 2/4/8-space or tab indentation, blank
lines between statements, CRLF endings, a coding declaration (UTF-8 or Latin-1 with
non-ASCII comments) or a UTF-8 BOM. Whatever the layout, fixing must produce text that
parses, be idempotent, leave every line it did not fix byte-identical (line ending
included), keep CRLF everywhere, and keep every comment.

The engine's other promises are tested directly: fixes are re-applied until stable (a real
two-round case: the AST checkpoint merge), the rounds are bounded, and a fix whose result
would not parse is discarded without blocking the others.
"""

from __future__ import annotations

import codecs
import io
import itertools
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import freezelint.engine.fixes as fixes
from freezelint.common.diagnostics import Diagnostic, Edit, Fix, Safety, Severity, Span
from freezelint.common.rule_docs import RuleDoc, all_rule_docs
from freezelint.engine.fixes import FixResult, apply_edits, chosen_fix, fix_text, parses
from freezelint.engine.lint import OPT_IN_RULES, LintConfig, lint
from freezelint.inputs.source import decode_source
from freezelint.models.zoo import load_zoo

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """A flagged source, the model it is linted against, and whether its fix is unsafe."""

    id: str
    code: str
    model: str | None
    unsafe: bool
    expected: str | None = None  # what the fix must produce (the "Use instead" block)


def _fixable_cases() -> list[Case]:
    docs: list[RuleDoc] = sorted(all_rule_docs().values(), key=lambda d: d.id)
    cases = []
    for doc in docs:
        if doc.fix == "none":
            continue
        flagged = doc.example("Example")
        assert flagged is not None, f"{doc.file} has no Example block"
        cases.append(Case(doc.id, flagged, doc.model, doc.fix == "unsafe",
                          doc.example("Use instead")))
    for example in sorted((REPO / "examples").glob("*.py")):  # the scenarios, model detected
        cases.append(Case(example.stem, example.read_text(encoding="utf-8"), None, unsafe=True))
    return cases


CASES = _fixable_cases()
_CONFIGS: dict[str | None, LintConfig] = {}


def config_for(model: str | None, rule_id: str | None = None) -> LintConfig:
    """An opt-in rule (FZL900) is added to the default set: it runs only when selected."""
    key = f"{model}+{rule_id}" if rule_id in OPT_IN_RULES else model
    if key not in _CONFIGS:
        _CONFIGS[key] = LintConfig(model=load_zoo(model) if model else None,
                                   extend_select=frozenset({rule_id} & OPT_IN_RULES))
    return _CONFIGS[key]


def test_every_rule_with_a_fix_is_covered() -> None:
    documented = {d.id for d in all_rule_docs().values() if d.fix != "none"}
    assert documented <= {c.id for c in CASES}
    assert len(documented) >= 14  # FZL101-110, FZL201/204, FZL302-307 at the time of writing


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_example_has_something_to_fix(case: Case) -> None:
    """Otherwise the property test below would prove nothing for it."""
    result = fix_text(case.code, config_for(case.model, case.id), unsafe=case.unsafe)
    assert result.applied > 0
    assert result.text != case.code


# -- reformatting ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    indent: str  # one level: "  ", "    ", "        " or "\t"
    comment_lines: frozenset[int]  # 0-based lines that get "  # note N" at their end
    blank_after: frozenset[int]  # 0-based lines followed by an empty line
    crlf: bool
    header: str | None  # a "# -*- coding: ... -*-" first line: None, "utf-8", "latin-1"
    bom: bool  # UTF-8 BOM (never with a latin-1 declaration)
    accent: bool  # the added comments contain a non-ASCII character

    @property
    def encoding(self) -> str:
        return self.header or "utf-8"


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    header = draw(st.sampled_from([None, "utf-8", "latin-1"]))
    lines = st.frozensets(st.integers(min_value=0, max_value=40), max_size=12)
    return Layout(
        indent=draw(st.sampled_from(["  ", "    ", "        ", "\t"])),
        comment_lines=draw(lines),
        blank_after=draw(lines),
        crlf=draw(st.booleans()),
        header=header,
        bom=header != "latin-1" and draw(st.booleans()),
        accent=draw(st.booleans()),
    )


# f-strings are tokenized in parts from Python 3.12 on; a middle part may span lines.
_STRING_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


@dataclass(frozen=True)
class LineInfo:
    statement: bool  # starts outside brackets and strings: its indentation is syntax
    commentable: bool  # ends outside strings and without a backslash: may take a comment
    ends_statement: bool  # ends outside brackets and strings: a blank line may follow


def line_infos(code: str) -> list[LineInfo]:
    """What may be changed on each line of `code` without changing its meaning."""
    lines = code.splitlines(keepends=True)
    depth_at_start = [0] * (len(lines) + 2)
    in_string = [False] * (len(lines) + 2)  # the line starts inside a string
    ends_in_string = [False] * (len(lines) + 2)
    depth = 0
    row = 1  # lines before this one have their start depth recorded
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        start_row, end_row = token.start[0], token.end[0]
        while row <= start_row:
            depth_at_start[row] = depth
            row += 1
        if token.type in _STRING_TOKENS:
            for inner in range(start_row, end_row):
                ends_in_string[inner] = True
                in_string[inner + 1] = True
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
    while row <= len(lines) + 1:
        depth_at_start[row] = depth
        row += 1
    infos = []
    for number, line in enumerate(lines, start=1):
        continued = line.rstrip("\r\n").endswith("\\")
        open_end = ends_in_string[number] or continued
        infos.append(LineInfo(
            statement=depth_at_start[number] == 0 and not in_string[number]
            and not (number > 1 and lines[number - 2].rstrip("\r\n").endswith("\\")),
            commentable=not open_end,
            ends_statement=not open_end and depth_at_start[number + 1] == 0,
        ))
    return infos


def comment(number: int, layout: Layout) -> str:
    return f"# note {number}." + (" café" if layout.accent else "")


def reformat(code: str, layout: Layout) -> str:
    """`code` (LF, 4-space indentation) laid out as `layout` says, still LF-terminated."""
    out = []
    lines = code.splitlines()
    for index, (line, info) in enumerate(zip(lines, line_infos(code), strict=True)):
        if info.statement and line.strip():
            stripped = line.lstrip(" ")
            width = len(line) - len(stripped)
            assert width % 4 == 0, f"example not indented by 4: {line!r}"
            line = layout.indent * (width // 4) + stripped
        if index in layout.comment_lines and info.commentable:
            line += ("  " if line.strip() else "") + comment(index, layout)
        out.append(line + "\n")
        if index in layout.blank_after and info.ends_statement:
            out.append("\n")
    text = "".join(out)
    if layout.header is not None:
        text = f"# -*- coding: {layout.header} -*-\n" + text
    return text


def to_bytes(text: str, layout: Layout) -> bytes:
    if layout.crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode(layout.encoding)
    return codecs.BOM_UTF8 + data if layout.bom else data


def added_comments(code: str, layout: Layout) -> list[str]:
    infos = line_infos(code)
    return [comment(i, layout) for i in sorted(layout.comment_lines)
            if i < len(infos) and infos[i].commentable]


# -- the property ------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """One round of fixing: the text before and after, and the lines its edits touched."""

    before: str
    after: str
    edited: frozenset[int]  # 1-based lines of `before`


def edited_lines(diagnostics: list[Diagnostic], unsafe: bool) -> frozenset[int]:
    lines: set[int] = set()
    for diagnostic in diagnostics:
        chosen = chosen_fix(diagnostic, unsafe)
        if chosen is not None:
            for edit in chosen.edits:
                lines.update(range(edit.span.start.line, edit.span.end.line + 1))
    return frozenset(lines)


@contextmanager
def recorded_rounds() -> Iterator[list[Round]]:
    """The rounds `fix_text` applies, seen from inside (it calls apply_fixes_once once per
    round with that round's diagnostics)."""
    rounds: list[Round] = []
    real = fixes.apply_fixes_once

    def record(text: str, diagnostics: list[Diagnostic], unsafe: bool) -> tuple[str, int]:
        new, count = real(text, diagnostics, unsafe)
        if count and new != text:
            rounds.append(Round(text, new, edited_lines(diagnostics, unsafe)))
        return new, count

    with patch.object(fixes, "apply_fixes_once", record):
        yield rounds


def assert_untouched_lines_kept(before: list[bytes], after: list[bytes],
                                touched: frozenset[int]) -> None:
    """Every line not in `touched` (1-based) is in `after`, byte for byte, in order, and each
    run of such lines stays contiguous: only the touched lines may differ."""
    runs: list[list[bytes]] = [[]]
    for number, line in enumerate(before, start=1):
        if number in touched:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(line)
    position = 0
    first_touched = min(touched, default=len(before) + 1)
    for index, run in enumerate(runs):
        if not run:
            continue
        if index == 0 and first_touched > 1:
            assert after[:len(run)] == run, "the lines before the first fix changed"
            position = len(run)
            continue
        found = next((at for at in range(position, len(after) - len(run) + 1)
                      if after[at:at + len(run)] == run), None)
        assert found is not None, f"untouched lines changed or moved: {run!r}"
        position = found + len(run)
    last_touched = max(touched, default=0)
    if runs[-1] and last_touched < len(before):
        assert after[len(after) - len(runs[-1]):] == runs[-1], "the lines after the last fix changed"


def byte_lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts())
def test_fix_under_any_layout(case: Case, layout: Layout) -> None:
    config = config_for(case.model, case.id)
    data = to_bytes(reformat(case.code, layout), layout)
    source = decode_source(data)  # the path the CLI and the language server take
    assert source.bom == layout.bom

    with recorded_rounds() as rounds:
        result = fix_text(source.text, config, unsafe=case.unsafe)
    assert result.applied > 0, "the reformatted example is still fixed"
    assert result.rejected == 0
    assert not [d for d in result.remaining if d.rule == case.id], result.remaining
    fixed = result.text.encode(source.encoding)  # what write_atomic writes

    # The fixed file parses, for libcst and for Python (which reads the BOM and coding line).
    cst.parse_module(result.text)
    compile(fixed, f"<{case.id}>", "exec", dont_inherit=True)

    # Idempotent: a second run changes nothing and applies nothing.
    again = fix_text(result.text, config, unsafe=case.unsafe)
    assert again.text == result.text
    assert again.applied == 0

    # Every line no fix touched is identical, line ending included, in every round.
    assert rounds and rounds[0].before == source.text and rounds[-1].after == result.text
    for previous, current in itertools.pairwise(rounds):
        assert previous.after == current.before
    for step in rounds:
        assert_untouched_lines_kept(byte_lines(step.before.encode(source.encoding)),
                                    byte_lines(step.after.encode(source.encoding)), step.edited)
    before, after = byte_lines(data), byte_lines(fixed)
    assert fixed.startswith(codecs.BOM_UTF8) == layout.bom

    # Line endings: CRLF on every line of a CRLF file, never a CR in an LF file.
    if layout.crlf:
        assert all(line.endswith(b"\r\n") for line in after), after
        assert fixed.count(b"\r") == fixed.count(b"\r\n")
    else:
        assert b"\r" not in fixed

    # Comments survive, each exactly once, and so does the coding declaration.
    for note in added_comments(case.code, layout):
        assert result.text.count(note) == 1, note
    if layout.header is not None:
        assert after[0].lstrip(codecs.BOM_UTF8).startswith(
            f"# -*- coding: {layout.header} -*-".encode())

    # Indentation: lines the fix wrote are indented with the file's own unit (tabs stay tabs).
    original = set(before)
    for line in after:
        if line in original:
            continue
        text = line.decode(source.encoding).lstrip("\ufeff")
        indent = text[:len(text) - len(text.lstrip(" \t"))]
        assert indent == layout.indent * (len(indent) // len(layout.indent)), repr(line)

    # And the result is the documented fixed example, laid out the same way.
    if case.expected is not None and len(case.expected.splitlines()) == len(case.code.splitlines()):
        expected = to_bytes(reformat(case.expected, layout), layout)
        assert fixed == expected


# -- the engine's own promises -----------------------------------------------------------


def _diagnostic(rule: str, edits: tuple[Edit, ...], safety: Safety = Safety.SAFE) -> Diagnostic:
    return Diagnostic(rule, "test-rule", Severity.WARNING, "test", edits[0].span,
                      fixes=(Fix("test fix", safety, edits),))


def test_a_fix_that_enables_another_is_applied_in_the_next_round() -> None:
    """The AST merge: FZL305 keeps the key the filter tested, `k[7:]`; that copy is itself
    an unguarded slice (FZL302), fixed in a second round."""
    code = (REPO / "examples" / "ast_checkpoint_merge.py").read_text(encoding="utf-8")
    with recorded_rounds() as rounds:
        result = fix_text(code)
    assert len(rounds) == 2
    assert "pretrained = {k[7:]: v for k, v in pretrained.items() " in rounds[0].after
    assert ("pretrained = {k.removeprefix('module.'): v for k, v in pretrained.items() "
            "if k.removeprefix('module.') in model_dict}") in result.text
    assert result.applied == 3
    assert result.remaining == []
    assert fix_text(result.text).applied == 0


def test_fixes_are_reapplied_until_stable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fix that makes another one possible: rounds go on until nothing is left."""
    steps = {"x = 1\n": "x = 2\n", "x = 2\n": "x = 3\n"}

    def fake_lint(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
        if text not in steps:
            return []
        return [_diagnostic("FZL999", (Edit(Span.of(1, 4, 1, 5), steps[text][4]),))]

    monkeypatch.setattr(fixes, "lint", fake_lint)
    result = fix_text("x = 1\n")
    assert result.text == "x = 3\n"
    assert result.applied == 2
    assert result.remaining == []
    assert result.rejected == 0


def test_rounds_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two fixes that undo each other forever stop after MAX_ROUNDS, with parsing text."""
    def flip(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
        new = "b" if text.startswith("x = a") else "a"
        return [_diagnostic("FZL999", (Edit(Span.of(1, 4, 1, 5), new),))]

    monkeypatch.setattr(fixes, "lint", flip)
    result = fix_text("x = a\n")
    assert result.applied == fixes.MAX_ROUNDS
    assert parses(result.text)


def test_fix_that_would_not_parse_is_discarded(monkeypatch: pytest.MonkeyPatch) -> None:
    code = CASES[0].code
    config = config_for(CASES[0].model)
    real = lint(code, config)
    assert real, "the example is flagged"
    broken = [_diagnostic("FZL999", (Edit(real[0].span, "((("),))]
    monkeypatch.setattr(fixes, "lint", lambda text, config=None: broken)
    result = fix_text(code, config)
    assert result.text == code
    assert result.applied == 0
    assert result.rejected == 1
    assert not result.changed
    assert result.remaining == broken  # the findings are still reported


def test_one_broken_fix_does_not_block_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """A buggy rule's fix is dropped; the other findings of the file are still fixed."""
    def lint_with_a_broken_rule(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
        found = []
        if "b = 1" in text:
            found.append(_diagnostic("FZL998", (Edit(Span.of(2, 0, 2, 1), "b ="),)))
        if "a = 1" in text:
            found.append(_diagnostic("FZL999", (Edit(Span.of(1, 4, 1, 5), "2"),)))
        return found

    monkeypatch.setattr(fixes, "lint", lint_with_a_broken_rule)
    result = fix_text("a = 1\nb = 1\n")
    assert result.text == "a = 2\nb = 1\n"
    assert result.applied == 1
    assert result.rejected == 1  # once, though the broken fix was offered in two rounds
    assert [d.rule for d in result.remaining] == ["FZL998"]


def test_a_good_round_is_kept_when_the_next_would_not_parse(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def lint_in_two_steps(text: str, config: LintConfig | None = None) -> list[Diagnostic]:
        new = "2" if text == "x = 1\n" else "("
        return [_diagnostic("FZL999", (Edit(Span.of(1, 4, 1, 5), new),))]

    monkeypatch.setattr(fixes, "lint", lint_in_two_steps)
    result = fix_text("x = 1\n")
    assert result == FixResult("x = 2\n", 1, lint_in_two_steps("x = 2\n"), rejected=1)


def test_unsafe_fixes_need_unsafe() -> None:
    case = next(c for c in CASES if c.id == "FZL101")
    config = config_for(case.model, case.id)
    assert fix_text(case.code, config).text == case.code
    assert fix_text(case.code, config, unsafe=True).text == case.expected


def test_overlapping_edits_wait_for_the_next_round() -> None:
    text = "value = alpha + beta\n"
    first = Edit(Span.of(1, 8, 1, 13), "gamma")
    overlapping = Edit(Span.of(1, 10, 1, 20), "x")
    later = Edit(Span.of(1, 16, 1, 20), "delta")
    assert apply_edits(text, [later, overlapping, first]) == ("value = gamma + delta\n", 2)


def test_edit_positions_count_lines_as_libcst_does() -> None:
    """CR, LF and CRLF end lines; a form feed does not (str.splitlines would split it)."""
    text = "a = 1\r\nb = 2\x0c\nc = 3\rd = 4\n"
    edits = [Edit(Span.of(3, 4, 3, 5), "30"), Edit(Span.of(4, 4, 4, 5), "40")]
    assert apply_edits(text, edits)[0] == "a = 1\r\nb = 2\x0c\nc = 30\rd = 40\n"
