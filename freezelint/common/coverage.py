"""What a lint could check against a model, and what it could not: the counts and messages.

A site is a place where a model-aware rule has something to check: a name test on the names
of `named_parameters()` / `named_modules()` (`'fc' in name`, `name.startswith(...)`), a
freeze (`.requires_grad = ...`, `.requires_grad_()`), an optimizer construction, a
`load_state_dict` call. A site is checked when the analysis knew the model there; at the
others every model-aware rule is silent, and the report must say so rather than "All checks
passed!" (the linter never calls unchecked code clean).

engine/sites.py counts the sites; this module is the data and its wording, light enough for
the result cache and the report (a warm run imports neither libcst nor the analysis).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from freezelint.common.diagnostics import Span

NAME_TEST, FREEZE, OPTIMIZER, LOAD = "name test", "freeze", "optimizer", "checkpoint load"
KINDS = (NAME_TEST, FREEZE, OPTIMIZER, LOAD)
_PLURAL = {NAME_TEST: "name tests", FREEZE: "freezes", OPTIMIZER: "optimizers",
           LOAD: "checkpoint loads"}
HOW_TO_NAME = "name one with --model or a `# freezelint: model=` comment"


@dataclass(frozen=True)
class Coverage:
    """Per kind of site: how many a file has, and at how many the model was known.
    `first_unchecked` is where an editor shows that the rest was not checked."""

    sites: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    first_unchecked: Span | None = None

    @property
    def total(self) -> int:
        return sum(self.sites.values())

    @property
    def known(self) -> int:
        return sum(self.checked.values())

    def unchecked(self) -> dict[str, int]:
        return {kind: self.sites[kind] - self.checked.get(kind, 0) for kind in KINDS
                if self.sites.get(kind, 0) > self.checked.get(kind, 0)}

    def to_json(self) -> dict[str, Any]:
        return {"sites": self.sites, "checked": self.checked,
                "first_unchecked": None if self.first_unchecked is None else [
                    self.first_unchecked.start.line, self.first_unchecked.start.column,
                    self.first_unchecked.end.line, self.first_unchecked.end.column]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Coverage:
        first = data.get("first_unchecked")
        return cls(dict(data["sites"]), dict(data["checked"]),
                   Span.of(*first) if first else None)


def describe_unchecked(counts: dict[str, int]) -> str:
    """`7 name tests, 1 optimizer` (kinds in a fixed order)."""
    return ", ".join(f"{n} {_PLURAL[kind] if n != 1 else kind}" for kind in KINDS
                     if (n := counts.get(kind, 0)))


def file_message(coverage: Coverage) -> str:
    """The one line an editor or a machine report shows for a file with unchecked sites."""
    return (f"{describe_unchecked(coverage.unchecked())} not checked: model unknown "
            f"({HOW_TO_NAME})")


def summary_line(coverages: Iterable[Coverage]) -> str | None:
    """`7 name tests in 3 files were not checked: model unknown (...)`, or None."""
    totals: dict[str, int] = {}
    files = 0
    for coverage in coverages:
        unchecked = coverage.unchecked()
        files += bool(unchecked)
        for kind, n in unchecked.items():
            totals[kind] = totals.get(kind, 0) + n
    if not totals:
        return None
    were = "was" if sum(totals.values()) == 1 else "were"
    where = "1 file" if files == 1 else f"{files} files"
    return f"{describe_unchecked(totals)} in {where} {were} not checked: model unknown " \
           f"({HOW_TO_NAME})"


def statistics_line(coverages: Iterable[Coverage]) -> str:
    """`model known at N of M sites (name tests 3/10, ...)` for --statistics."""
    sites: dict[str, int] = {}
    checked: dict[str, int] = {}
    for coverage in coverages:
        for kind, n in coverage.sites.items():
            sites[kind] = sites.get(kind, 0) + n
        for kind, n in coverage.checked.items():
            checked[kind] = checked.get(kind, 0) + n
    parts = ", ".join(f"{_PLURAL[k]} {checked.get(k, 0)}/{sites[k]}" for k in KINDS if k in sites)
    detail = f" ({parts})" if parts else ""
    return f"model known at {sum(checked.values())} of {sum(sites.values())} sites{detail}"
