"""`audit(model, optimizer)`: run the live checks, place them at the caller's line, and warn,
raise or return as asked.

The audit is an observer: it reads flags, ids and shapes, never tensor data, and never
changes the model or the optimizer, so it can run at every epoch of a real training run
(under 50 ms for a 100M-parameter model; see bench/audit_overhead.py).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal, TextIO

from torch.nn import Module

from freezelint.common.diagnostics import Diagnostic, Severity, Span
from freezelint.runtime import live_checks
from freezelint.runtime.table import ModuleRow, headline, module_rows, render_table

OnProblem = Literal["warn", "raise", "return"]
FrozenBN = Literal["eval"]

# Names and severities when the rule catalog cannot be read (an installed copy without
# its docs); `rule_doc` stays the source of truth.
_FALLBACK = {
    "FZL103": ("nothing-trainable", Severity.ERROR),
    "FZL108": ("frozen-batchnorm-train-mode", Severity.WARNING),
    "FZL201": ("optimizer-includes-frozen", Severity.INFO),
    "FZL202": ("optimizer-stale", Severity.ERROR),
    "FZL203": ("trainable-not-optimized", Severity.WARNING),
    "FZL301": ("state-dict-prefix-mismatch", Severity.ERROR),
    "FZL306": ("shape-mismatch", Severity.ERROR),
}

# Frames from these packages are not "the caller": a problem is placed at the user's line
# that called into them (the optimizer construction, the `trainer.fit(...)`).
_LIBRARY_MODULES = ("freezelint.runtime", "torch", "lightning", "pytorch_lightning",
                    "transformers", "accelerate", "runpy", "importlib")


class FreezelintWarning(UserWarning):
    """What `audit(..., on_problem="warn")` emits, once per problem; filter it like any
    warning (`warnings.simplefilter("error", FreezelintWarning)` turns them into errors)."""


class FreezelintAuditError(RuntimeError):
    """Raised by `audit(..., on_problem="raise")` when an error or warning was found."""

    def __init__(self, report: AuditReport) -> None:
        self.report = report
        self.diagnostics = report.problems
        lines = [f"freezelint audit of `{report.model}` found "
                 f"{live_checks.plural(len(self.diagnostics), 'problem')}:"]
        lines += [f"  {d.rule} {d.name}: {d.message}" for d in self.diagnostics]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Location:
    """Where the audit was called from (or the optimizer built): file and 1-based line."""

    path: str
    line: int


@dataclass
class AuditReport:
    """The audit's result: diagnostics with the static rules' ids, and the table rows."""

    model: str
    diagnostics: list[Diagnostic]
    rows: list[ModuleRow]
    has_optimizer: bool
    location: Location | None = None
    problems: list[Diagnostic] = field(init=False)

    def __post_init__(self) -> None:
        self.problems = [d for d in self.diagnostics if d.severity is not Severity.INFO]

    @property
    def ok(self) -> bool:
        """No error and no warning (information-level findings do not count)."""
        return not self.problems

    @property
    def headline(self) -> str:
        return headline(self.rows)

    def table(self, *, plain: bool = False) -> str:
        """The per-module summary and its totals line; `plain` skips rich."""
        return render_table(self.rows, self.has_optimizer, plain=plain)

    def ordered(self) -> list[Diagnostic]:
        """Errors first, then warnings, then information; by rule within each."""
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(self.diagnostics, key=lambda d: (order[d.severity], d.rule))

    def line(self, diagnostic: Diagnostic) -> str:
        """`train.py:12: FZL203 trainable-not-optimized [warning]: the param groups ...`"""
        where = f"{self.location.path}:{self.location.line}: " if self.location else ""
        return (f"{where}{diagnostic.rule} {diagnostic.name} [{diagnostic.severity.value}]: "
                f"{diagnostic.message}")

    def lines(self) -> list[str]:
        return [self.line(d) for d in self.ordered()]

    def render(self, *, plain: bool = False) -> str:
        """Table, then the diagnostics, then a count: what `freezelint run` prints."""
        text = self.table(plain=plain)
        text += "".join(f"{line}\n" for line in self.lines())
        count = len(self.problems)
        notes = len(self.diagnostics) - count
        text += f"{live_checks.plural(count, 'problem')} found" if count else "no problems found"
        text += f" ({live_checks.plural(notes, 'note')})\n" if notes else "\n"
        return text

    def print(self, file: TextIO | None = None) -> None:
        print(self.render(), file=file or sys.stderr, end="")

    def __str__(self) -> str:
        return self.render()


def audit(model: Module, optimizer: Any = None, *, checkpoint: Any = None,
          on_problem: OnProblem = "warn", frozen_bn: FrozenBN | None = None,
          name: str | None = None) -> AuditReport:
    """Check the live `model` (and `optimizer`, or a list of optimizers) for the silent
    fine-tuning failures that the static rules look for in code.

    - FZL103 nothing trainable; FZL203 trainable parameters in no param group; FZL201
      (information) frozen parameters in the optimizer, and its variants for frozen
      parameters with a leftover `.grad` (a warning when the optimizer holds them: `step()`
      still moves them) or leftover optimizer state; FZL202 param groups holding tensors
      that are not in the model (a module replaced after the optimizer was built); FZL207 a
      parameter in two param groups (two optimizers stepping it); FZL208 an empty group.
    - a PeftModel: FZL401 a `target_modules` entry and FZL403 a `modules_to_save` entry
      that matched no module.
    - `frozen_bn="eval"`: FZL108 BatchNorm layers with frozen parameters in training mode
      (off by default: the official tutorials leave BN in train mode on purpose).
    - `checkpoint=`: a path, a state dict or the result of `load_state_dict(strict=False)`;
      FZL301 wrapper prefix mismatch and FZL306 shape mismatch against `model.state_dict()`.

    `on_problem`: "warn" emits one FreezelintWarning per error or warning, placed at the
    caller's line, and prints nothing; "raise" raises FreezelintAuditError if there is an
    error or warning (information never raises); "return" only returns the report.
    `name` is what messages call the model (default: its class name).
    """
    if on_problem not in ("warn", "raise", "return"):
        raise ValueError(f"on_problem must be 'warn', 'raise' or 'return', got {on_problem!r}")
    if frozen_bn not in (None, "eval"):
        raise ValueError(f"frozen_bn must be None or 'eval', got {frozen_bn!r}")
    frame = user_frame(sys._getframe(1))
    location = Location(frame.f_code.co_filename, frame.f_lineno) if frame else None

    live = live_checks.LiveState.collect(model, optimizer, name)
    findings = [
        *live_checks.nothing_trainable(live),
        *live_checks.trainable_not_optimized(live),
        *live_checks.shared_between_groups(live),
        *live_checks.empty_groups(live),
        *live_checks.peft_entries(live),
        *live_checks.optimizer_stale(live),
        *live_checks.frozen_in_optimizer(live),
        *live_checks.stale_gradients(live),
        *live_checks.stale_optimizer_state(live),
    ]
    if frozen_bn == "eval":
        findings += live_checks.frozen_batchnorm_train_mode(live)
    if checkpoint is not None:
        findings += live_checks.checkpoint_mismatch(live, live_checks.checkpoint_keys(checkpoint))
    report = AuditReport(model=live.label,
                         diagnostics=[_diagnostic(f, location) for f in findings],
                         rows=module_rows(live), has_optimizer=live.has_optimizer,
                         location=location)

    if on_problem == "warn" and report.problems:
        for diagnostic in report.problems:
            _warn(diagnostic, frame)
    elif on_problem == "raise" and report.problems:
        raise FreezelintAuditError(report)
    return report


def user_frame(frame: FrameType | None) -> FrameType | None:
    """The first frame, going outwards, that is not in freezelint's runtime, torch or a
    training framework: the user's line that led here."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not any(module == lib or module.startswith(lib + ".") for lib in _LIBRARY_MODULES):
            return frame
        frame = frame.f_back
    return None


def rule_info(rule_id: str) -> tuple[str, Severity]:
    """The rule's name and documented severity, from the catalog (`rules/*.md`)."""
    from freezelint.common.rule_docs import rule_doc

    try:
        doc = rule_doc(rule_id)
    except (OSError, ValueError, KeyError):  # a damaged catalog must not stop a training run
        doc = None
    return (doc.name, doc.severity) if doc is not None else _FALLBACK[rule_id]


def _diagnostic(finding: live_checks.LiveFinding, location: Location | None) -> Diagnostic:
    name, severity = rule_info(finding.rule)
    line = location.line if location else 0
    data: dict[str, Any] = {"names": list(finding.names), "runtime": True}
    if location is not None:
        data["path"] = location.path
    return Diagnostic(rule=finding.rule, name=name, severity=finding.severity or severity,
                      message=finding.message, span=Span.of(line, 0, line, 0), data=data)


def _warn(diagnostic: Diagnostic, frame: FrameType | None) -> None:
    """A warning attributed to the user's line, honouring the warning filters and their
    once-per-location registry like `warnings.warn(stacklevel=...)` would."""
    text = f"{diagnostic.rule} {diagnostic.name}: {diagnostic.message}"
    if frame is None:
        warnings.warn(text, FreezelintWarning, stacklevel=3)
        return
    module_globals = frame.f_globals
    registry = module_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(text, FreezelintWarning, frame.f_code.co_filename, frame.f_lineno,
                           module=module_globals.get("__name__"), registry=registry,
                           module_globals=module_globals)
