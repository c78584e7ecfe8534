"""One file's check as the workers see it: what they are given (GroupConfig, FixMode) and
what they give back (Outcome). batch.py runs the checks and notebooks.py the notebook ones;
both import these from here, so neither imports the other at load time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freezelint.cli.report import FileResult
from freezelint.models.manifest import Manifest

STDIN = "-"


@dataclass(frozen=True)
class FixMode:
    apply: bool = False
    diff: bool = False
    unsafe: bool = False
    show: bool = False
    add_noqa: bool = False  # --add-noqa: write suppression comments instead of fixes

    @property
    def computes_fixes(self) -> bool:
        """Whether files may be rewritten or diffed: then the result cache is bypassed."""
        return self.apply or self.diff or self.add_noqa

    def writes_stdout(self, target: str) -> bool:
        """`--fix -`: the fixed source goes to stdout, so the report goes to stderr."""
        return target == STDIN and self.apply and not self.diff


@dataclass(frozen=True)
class GroupConfig:
    """Everything a worker needs to check a file: plain data, so it crosses processes.

    One GroupConfig serves a group of files that share their effective configuration (the
    CLI groups them): the configured model is resolved once per group, and per-file-ignores
    are already folded into `ignore`."""

    model: Manifest | None = None
    checkpoint: Manifest | None = None
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    mode: FixMode = FixMode()
    cache_dir: Path | None = None
    extend_select: frozenset[str] = frozenset()
    locate_unchecked: bool = True  # the report shows where the first unchecked site is

    def fingerprint(self) -> str:
        """The cache key of the configuration: everything that changes a file's findings.
        (`mode` does not: cached results are only read and written without fixes.)"""
        from freezelint.engine.cache import fingerprint

        model = self.model.identity() if self.model else None
        checkpoint = self.checkpoint.identity() if self.checkpoint else None
        select = None if self.select is None else sorted(self.select)
        return fingerprint(model, checkpoint, select, sorted(self.ignore),
                           sorted(self.extend_select), self.locate_unchecked)


@dataclass
class Outcome:
    """What checking one file produced: a result (None when it could not be checked),
    lines for stderr, and bytes for stdout (`--fix -`). `failed`: the file was checked but
    could not be written; its findings are in the result, unfixed, and the run exits 2."""

    target: str
    result: FileResult | None
    messages: list[str] = field(default_factory=list)
    stdout: bytes | None = None
    failed: bool = False


def fixed_rules(before: list[Any], after: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in before:
        counts[d.rule] = counts.get(d.rule, 0) + 1
    for d in after:
        if d.rule in counts:
            counts[d.rule] -= 1
    return {rule: n for rule, n in sorted(counts.items()) if n > 0}
