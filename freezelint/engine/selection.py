"""Which rules report on a file: one policy for the command line, the language server and
notebooks.

A selection is `select` (None: the default set; codes or prefixes, "ALL" meaning every
rule), `extend_select` (added to it) and `ignore` (taken out). A rule whose page says
`opt-in: true` (FZL900) reports only when selected by its code or by a prefix longer than
"FZL", never through the default set, "ALL" or "FZL". `for_file` merges what a front end was
given (flags, editor settings) with the project's configuration, the same way for every
front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from freezelint.common.rule_docs import all_rule_docs

if TYPE_CHECKING:
    from freezelint.engine.config import ProjectConfig


@cache
def opt_in_rules() -> frozenset[str]:
    """The rules whose page says `opt-in: true`."""
    return frozenset(doc.id for doc in all_rule_docs().values() if doc.opt_in)


@dataclass(frozen=True)
class RuleSelection:
    select: frozenset[str] | None = None
    extend_select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    def selects(self, rule_id: str) -> bool:
        return is_selected(rule_id, self.select, self.extend_select, self.ignore)


def is_selected(rule_id: str, select: frozenset[str] | None, extend_select: frozenset[str],
                ignore: frozenset[str]) -> bool:
    """Whether `rule_id` reports under this selection."""
    def hit(codes: frozenset[str]) -> bool:
        return any(rule_id.startswith(code.upper()) for code in codes)

    if rule_id in opt_in_rules():
        chosen = [c.upper() for c in (*(select or ()), *extend_select)]
        if not any(len(c) > 3 and rule_id.startswith(c) for c in chosen):
            return False
    elif select is not None and not hit(select) and not hit(extend_select):
        return False
    return not hit(ignore)


def for_file(project: ProjectConfig | None, file: Path | None, *,
             select: frozenset[str] | None = None,
             extend_select: frozenset[str] = frozenset(),
             ignore: frozenset[str] = frozenset(),
             replaces_project: bool = False) -> RuleSelection:
    """The selection for `file` (None: standard input or an unsaved buffer): a front end's
    codes merged with the project's configuration.

    The project's select wins over the front end's, its extend-select and ignore add to
    them, and its per-file-ignores apply to `file`. With `replaces_project` (the command
    line's --select) a given select replaces the project's select, extend-select and ignore;
    per-file-ignores still apply."""
    if project is None or (replaces_project and select is not None):
        chosen = RuleSelection(select, extend_select, ignore)
    else:
        chosen = RuleSelection(project.select if project.select is not None else select,
                               project.extend_select | extend_select,
                               project.ignore | ignore)
    if chosen.select is not None and "ALL" in chosen.select:
        chosen = RuleSelection(None, chosen.extend_select, chosen.ignore)
    if project is not None and file is not None:
        chosen = RuleSelection(chosen.select, chosen.extend_select,
                               chosen.ignore | project.ignores_for(file))
    return chosen
