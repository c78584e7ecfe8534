"""`freezelint run train.py [args]`: run a script as `__main__` with the audit hooked into
its first optimizer.

No change to the script is needed, which is the point: the runtime audit must reach code the
static analysis cannot follow (config-driven freezing, models from factories). While the
script runs, `torch.optim.Optimizer.__init__` is wrapped; when the first optimizer has been
built, its model is found in the calling frames (the `nn.Module` that owns the most of the
optimizer's parameters), the audit runs and its report goes to stderr. A second audit at that
optimizer's first `step()` reports only what is new by then (a head replaced or a freeze
applied after the optimizer was built). The patch is removed when the script ends, and the
script's exit code is returned. An audit that fails says so in one line and the script goes
on: the audit observes a run, it never breaks one.
"""

from __future__ import annotations

import functools
import runpy
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TextIO

from torch import nn
from torch.optim import Optimizer

from freezelint.runtime.core import AuditReport, FrozenBN, audit


def run_script(script: str, args: Sequence[str], *, frozen_bn: FrozenBN | None = None,
               out: TextIO | None = None) -> int:
    """Run `script` with `sys.argv = [script, *args]` as `python script.py args` would, and
    return its exit code (an uncaught exception prints its traceback and gives 1)."""
    hook = FirstOptimizerAudit(frozen_bn=frozen_bn, out=out)
    path = Path(script)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *args]
    sys.path.insert(0, str(path.resolve().parent))
    original_init = Optimizer.__init__
    Optimizer.__init__ = hook.wrap(original_init)  # type: ignore[method-assign]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except Exception as error:
        traceback.print_exception(type(error), error, _script_frames(error.__traceback__, path))
        return 1
    finally:
        Optimizer.__init__ = original_init  # type: ignore[method-assign]
        sys.argv = saved_argv
        sys.path[:] = saved_path
    return 0


class FirstOptimizerAudit:
    """Audits the first optimizer a script builds, once at construction and once (new
    findings only) at its first `step()`."""

    def __init__(self, *, frozen_bn: FrozenBN | None = None, out: TextIO | None = None) -> None:
        self.frozen_bn = frozen_bn
        self.out = out
        self.done = False
        self.reported: set[tuple[str, str]] = set()
        self.reports: list[AuditReport] = []

    def wrap(self, original: Any) -> Any:
        @functools.wraps(original)
        def init(optimizer: Any, *args: Any, **kwargs: Any) -> None:
            original(optimizer, *args, **kwargs)
            if not self.done:
                self.done = True
                self._guarded(self.at_construction, optimizer, sys._getframe(1))

        return init

    def at_construction(self, optimizer: Any, frame: FrameType) -> None:
        found = find_model(optimizer, frame)
        if found is None:
            self._print(f"freezelint: {type(optimizer).__name__} built, but no nn.Module in "
                        f"the calling code owns its parameters; nothing to audit\n")
            return
        label, model = found
        report = audit(model, optimizer, on_problem="return", frozen_bn=self.frozen_bn,
                       name=label)
        where = f" at {_where(report)}" if report.location else ""
        self._print(f"freezelint: audit of `{label}` when {type(optimizer).__name__} was "
                    f"built{where}\n{report.render()}")
        self._remember(report)

        def at_first_step(opt: Any, args: Any, kwargs: Any) -> None:
            handle.remove()
            self._guarded(self.at_first_step, opt, model, label)

        handle = optimizer.register_step_pre_hook(at_first_step)

    def at_first_step(self, optimizer: Any, model: nn.Module, label: str) -> None:
        report = audit(model, optimizer, on_problem="return", frozen_bn=self.frozen_bn,
                       name=label)
        new = [report.line(d) for d in report.ordered()
               if (d.rule, d.message) not in self.reported]
        self._remember(report)
        if new:
            where = f" at {_where(report)}" if report.location else ""
            self._print(f"freezelint: at the first {type(optimizer).__name__}.step(){where}, "
                        f"new findings:\n" + "".join(f"{line}\n" for line in new))

    def _remember(self, report: AuditReport) -> None:
        self.reports.append(report)
        self.reported.update((d.rule, d.message) for d in report.diagnostics)

    def _guarded(self, func: Any, *args: Any) -> None:
        try:
            func(*args)
        except Exception as error:
            self._print(f"freezelint: the audit failed ({type(error).__name__}: {error}); "
                        f"the script goes on\n")

    def _print(self, text: str) -> None:
        stream = self.out or sys.stderr
        stream.write(text)
        stream.flush()


def find_model(optimizer: Any, frame: FrameType | None) -> tuple[str, nn.Module] | None:
    """The module(s) that own the optimizer's parameters, from the locals and globals of
    the calling frames (and the attributes of a `self` there, for trainer classes).

    The module owning the most of them wins (the largest on a tie, so `model` beats
    `model.mlp_head` bound to `head`). If other modules own parameters it does not (a loss
    with learnable weights), they are audited together in a ModuleDict, so that their
    parameters are not mistaken for stale ones."""
    wanted = {id(p) for group in optimizer.param_groups for p in group["params"]}
    candidates: dict[int, tuple[str, nn.Module]] = {}
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for name, value in list(scope.items()):
                if isinstance(value, nn.Module):
                    candidates.setdefault(id(value), (name, value))
                elif name == "self" and hasattr(value, "__dict__"):
                    for attr, inner in vars(value).items():
                        if isinstance(inner, nn.Module):
                            candidates.setdefault(id(inner), (f"self.{attr}", inner))
        frame = frame.f_back
    owned = []
    for name, module in candidates.values():
        ids = {id(p) for p in module.parameters()}
        if ids & wanted:
            owned.append((len(ids & wanted), len(ids), name, module, ids))
    if not owned:
        return None
    owned.sort(key=lambda c: (c[0], c[1]), reverse=True)
    chosen = [owned[0]]
    covered = set(owned[0][4])
    for candidate in owned[1:]:
        extra = (candidate[4] & wanted) - covered
        if extra and not candidate[4] <= covered:
            chosen.append(candidate)
            covered |= candidate[4]
    if len(chosen) == 1:
        return chosen[0][2], chosen[0][3]
    together = nn.ModuleDict({c[2].replace(".", "_"): c[3] for c in chosen})
    return " + ".join(c[2] for c in chosen), together


def _where(report: AuditReport) -> str:
    assert report.location is not None
    return f"{report.location.path}:{report.location.line}"


def _exit_code(code: Any) -> int:
    """As the interpreter does: None is 0, an int is itself, anything else is printed and
    gives 1 (`sys.exit("message")`)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _script_frames(tb: TracebackType | None, script: Path) -> TracebackType | None:
    """Drop the runner's and runpy's frames, so the traceback starts in the script like
    `python script.py` does."""
    target = str(script.resolve())
    current = tb
    while current is not None:
        if str(Path(current.tb_frame.f_code.co_filename).resolve()) == target:
            return current
        current = current.tb_next
    return tb
