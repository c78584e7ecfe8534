"""Checking one `.ipynb` file: the runner's per-file work, for notebooks.

The code cells are linted together as one text (`notebook.prepare`), so a freeze loop in one
cell and the optimizer in another are seen in order. Diagnostics stay in that text's
coordinates, with the notebook's CellMap in the FileResult: the report prints them as
`nb.ipynb:cell 3:2:5` and the result cache stores them as for any file (keyed on the
notebook's bytes). Fixes and `--add-noqa` edit the marked text of `notebook.editable` and
are split back into cells; the file is written only when its JSON can be reproduced byte
for byte apart from the changed sources.
"""

from __future__ import annotations

from pathlib import Path

from freezelint.cli.job import GroupConfig, Outcome, fixed_rules
from freezelint.cli.report import FileResult
from freezelint.common.coverage import Coverage
from freezelint.common.diagnostics import Diagnostic
from freezelint.engine.cache import ResultCache
from freezelint.engine.lint import LintConfig, lint_result, selected
from freezelint.inputs.notebook import Notebook, NotebookError, editable, read_notebook
from freezelint.inputs.source import SourceText


def check_notebook(target: str, data: bytes, settings: GroupConfig, config: LintConfig,
                   cache: ResultCache | None, outcome: Outcome) -> Outcome:
    """Lint (or fix, diff, add-noqa) the notebook whose bytes are `data`."""
    mode = settings.mode
    try:
        notebook = read_notebook(data)
    except NotebookError as error:
        outcome.messages.append(f"{target}: error: {error}")
        return outcome
    before, dependencies, coverage = lint_notebook(notebook, config)
    if not mode.computes_fixes:
        if cache is not None and not outcome.messages:  # warnings are said on every run
            cache.put(data, before, dependencies, coverage)
        outcome.result = result_for(target, notebook, before, coverage)
        return outcome
    return _rewrite(target, data, notebook, before, config, settings, outcome, coverage)


def lint_notebook(notebook: Notebook, config: LintConfig
                  ) -> tuple[list[Diagnostic], list[Path], Coverage]:
    """Diagnostics of the joined code cells (with one FZL000 per cell left out), the
    files besides the notebook that they depend on, and what was (not) checked."""
    if not notebook.python:
        return [], [], Coverage()
    prepared = notebook.prepare()
    analysis = lint_result(prepared.text, config)
    skipped = [d for d in prepared.skipped if selected(d.rule, config)]
    diagnostics = sorted([*analysis.diagnostics, *skipped], key=lambda d: d.sort_key)
    return diagnostics, list(analysis.dependencies), analysis.coverage


def result_for(target: str, notebook: Notebook, diagnostics: list[Diagnostic],
               coverage: Coverage | None = None) -> FileResult:
    return FileResult(target, diagnostics, notebook.text, cells=notebook.cells,
                      coverage=coverage)


def _rewrite(target: str, data: bytes, notebook: Notebook, before: list[Diagnostic],
             config: LintConfig, settings: GroupConfig, outcome: Outcome, coverage: Coverage
             ) -> Outcome:
    """Fix the code cells (or add suppression comments to them), then write the notebook
    back, or keep the new cells for `--diff`."""
    mode = settings.mode
    if not notebook.python:
        outcome.result = result_for(target, notebook, before, coverage)
        return outcome
    marked = editable(notebook.prepare())
    new_text, changes = _edit(marked.text, config, settings, target, outcome)
    sources = marked.split(new_text) if changes else None
    if changes and sources is None:
        outcome.messages.append(f"{target}: warning: fixes not applied: one of them reached "
                                "across notebook cells (a freezelint bug, please report it)")
    if not changes or sources is None:
        outcome.result = result_for(target, notebook, before, coverage)
        return outcome
    fixed = notebook.with_sources(sources)
    remaining, _, _ = lint_notebook(fixed, config)
    rules = fixed_rules(before, remaining)
    if mode.diff and not mode.add_noqa:
        outcome.result = FileResult(target, before, notebook.text, cells=notebook.cells,
                                    fixed_text=fixed.text, fixed_cells=fixed.cells,
                                    applied=changes, fixed_rules=rules, coverage=coverage)
        return outcome
    from freezelint.inputs.writeback import WriteError, write_atomic

    try:
        content = fixed.dumps()
        write_atomic(target, content, SourceText(content, notebook.encoding, "\n", notebook.bom),
                     original=data)
    except (NotebookError, WriteError) as error:  # not written: its findings stand, unfixed
        outcome.messages.append(f"{target}: error: {error}")
        outcome.failed = True
        outcome.result = result_for(target, notebook, before, coverage)
        return outcome
    result = result_for(target, fixed, remaining, coverage)
    if mode.add_noqa:
        result.noqa_added = changes
    else:
        result.applied = changes
        result.fixed_rules = rules
    outcome.result = result
    return outcome


def _edit(text: str, config: LintConfig, settings: GroupConfig, target: str,
          outcome: Outcome) -> tuple[str, int]:
    """The marked text after the fixes (or the suppression comments) and how many."""
    if settings.mode.add_noqa:
        from freezelint.engine.lint import add_noqa, lint

        added = add_noqa(text, lint(text, config))
        return added.text, added.added
    from freezelint.engine.fixes import fix_text

    fixed = fix_text(text, config, unsafe=settings.mode.unsafe)
    if fixed.rejected:
        discarded = "fix" if fixed.rejected == 1 else f"{fixed.rejected} fixes"
        outcome.messages.append(f"{target}: warning: {discarded} discarded: result would not "
                                "parse (a freezelint bug, please report it)")
    return fixed.text, fixed.applied
