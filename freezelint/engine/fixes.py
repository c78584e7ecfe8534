"""Apply the fixes attached to diagnostics, as text edits, until nothing changes.

Every edit was computed on the libcst tree and rendered to text, so untouched bytes
(comments, CRLF endings, tabs, encoding lines) stay identical. A fix whose result would not
parse is discarded (the others still apply): fixing never produces a file that does not
parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from freezelint.common.diagnostics import Diagnostic, Edit, Fix, Safety
from freezelint.engine.lint import LintConfig, lint
from freezelint.inputs.edits import apply_edits

MAX_ROUNDS = 10


@dataclass
class FixResult:
    text: str
    applied: int
    remaining: list[Diagnostic] = field(default_factory=list)
    rejected: int = 0  # findings whose fix was discarded: the result would not parse

    @property
    def changed(self) -> bool:
        return self.applied > 0


def chosen_fix(diagnostic: Diagnostic, unsafe: bool) -> Fix | None:
    """The first fix allowed at this safety level: safe ones always, unsafe on request."""
    for candidate in diagnostic.fixes:
        if candidate.safety is Safety.SAFE or unsafe:
            return candidate
    return None


def apply_fixes_once(text: str, diagnostics: list[Diagnostic], unsafe: bool) -> tuple[str, int]:
    edits: list[Edit] = []
    fixes = 0
    for diagnostic in diagnostics:
        chosen = chosen_fix(diagnostic, unsafe)
        if chosen is not None:
            # Identical edits (the import two fixes both need) are applied once.
            edits.extend(e for e in chosen.edits if e not in edits)
            fixes += 1
    if not edits:
        return text, 0
    new_text, applied = apply_edits(text, edits)
    return new_text, min(applied, fixes)


def fix_text(text: str, config: LintConfig | None = None, unsafe: bool = False) -> FixResult:
    """Lint, apply the allowed fixes, and repeat until stable (at most MAX_ROUNDS).

    When a round's result would not parse, each of its fixes is tried alone: the ones whose
    result parses are applied together, the others are discarded (counted in `rejected`,
    once per finding however many rounds offer it). One broken fix never blocks the rest."""
    applied = 0
    discarded: set[tuple[str, str]] = set()
    diagnostics = lint(text, config)
    for _ in range(MAX_ROUNDS):
        new_text, count = apply_fixes_once(text, diagnostics, unsafe)
        if count == 0 or new_text == text:
            break
        if not parses(new_text):
            good = []
            for diagnostic in diagnostics:
                alone, fixed = apply_fixes_once(text, [diagnostic], unsafe)
                if fixed and alone != text and not parses(alone):
                    discarded.add((diagnostic.rule, diagnostic.message))
                else:
                    good.append(diagnostic)
            new_text, count = apply_fixes_once(text, good, unsafe)
            if count == 0 or new_text == text:
                break
            if not parses(new_text):  # each parses alone, not together: keep the text
                discarded.add(("", "fixes that conflict"))
                break
        text = new_text
        applied += count
        diagnostics = lint(text, config)
    return FixResult(text, applied, diagnostics, len(discarded))


def parses(text: str) -> bool:
    from freezelint.inputs.nesting import check_nesting

    try:
        check_nesting(text)  # never hand the native parser a text it could crash on
        cst.parse_module(text)
    except Exception:
        return False
    return True
