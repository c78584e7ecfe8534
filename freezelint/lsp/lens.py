"""Code lens on each optimizer construction: what it will actually train; and one lens per
document at the first site checked against no model, saying what was not checked.

"trains 0 of 159 parameters" above `torch.optim.SGD(...)` says at a glance what no other
tool shows: the result of the freeze loop, the head replacement and the filter, replayed
over the model's real names. When the analysis could not tell (a freeze that depends on
something it cannot evaluate), the lens says so rather than guess.
"""

from __future__ import annotations

from lsprotocol import types

from freezelint.common.coverage import describe_unchecked
from freezelint.engine.lint import OptimizerSummary
from freezelint.lsp.linting import LintResult


def code_lenses(result: LintResult, uri: str) -> list[types.CodeLens]:
    lenses = []
    for summary in result.analysis.optimizers:
        where = result.layout.locate(summary.span)
        if where is None or where[0] != uri:
            continue
        start = where[1].start
        lenses.append(types.CodeLens(
            range=types.Range(start, start),
            # An empty command id: a label, not a button.
            command=types.Command(title=lens_title(summary), command=""),
        ))
    coverage = result.analysis.coverage
    unchecked = coverage.unchecked()
    if unchecked and coverage.first_unchecked is not None:
        # A label at the first such site, never a diagnostic: nothing is wrong there, the
        # user is told that no model-aware rule looked at it.
        where = result.layout.locate(coverage.first_unchecked)
        if where is not None and where[0] == uri:
            start = where[1].start
            lenses.append(types.CodeLens(
                range=types.Range(start, start),
                command=types.Command(title=unchecked_title(unchecked), command="")))
    return lenses


def unchecked_title(unchecked: dict[str, int]) -> str:
    return (f"freezelint: {describe_unchecked(unchecked)} in this document not checked: model "
            "unknown (set freezelint.model or add a `# freezelint: model=...` comment)")


def lens_title(summary: OptimizerSummary) -> str:
    if summary.trained is None or summary.trained_numel is None:
        return (f"freezelint: trains an unknown number of the {summary.total} parameters of "
                f"{summary.model} (depends on code it cannot evaluate)")
    share = _percent(summary.trained_numel, summary.total_numel)
    return (f"freezelint: trains {summary.trained} of {summary.total} parameters "
            f"({share} of elements) of {summary.model}")


def _percent(part: int, whole: int) -> str:
    """0% and 100% only when exact: a small head must not be rounded to 0%."""
    if whole <= 0 or part <= 0:
        return "0%"
    if part >= whole:
        return "100%"
    value = 100 * part / whole
    if value < 0.01:
        return "<0.01%"
    if value > 99.9:
        return ">99.9%"
    return f"{value:.1f}%" if value >= 10 else f"{value:.2f}%"
