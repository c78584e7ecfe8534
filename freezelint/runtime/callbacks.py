"""Run the audit at train start from PyTorch Lightning or the Hugging Face Trainer.

Both frameworks are optional extras (`freezelint[lightning]`, `freezelint[transformers]`)
and are imported only when a callback is constructed: importing this module never imports
them. `FreezelintLightningCallback(...)` returns an instance of a class built on first use
that derives from both the framework's callback base and the class named here, so the
framework's `isinstance(cb, Callback)` checks and the user's `isinstance(cb,
FreezelintLightningCallback)` both hold.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from freezelint.runtime.core import AuditReport, OnProblem, audit


class _AuditSettings:
    """What both callbacks share: the audit's options and what to do with the report."""

    def __init__(self, *, on_problem: OnProblem = "warn", frozen_bn: str | None = None,
                 every_epoch: bool = False, print_report: bool = True) -> None:
        self.on_problem = on_problem
        self.frozen_bn = frozen_bn
        self.every_epoch = every_epoch
        self.print_report = print_report
        self.reports: list[AuditReport] = []
        super().__init__()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the public name (Lightning's spawn strategies pickle callbacks; the
        class built on first use has no importable name of its own)."""
        public = (FreezelintLightningCallback if isinstance(self, FreezelintLightningCallback)
                  else FreezelintTrainerCallback)
        return (_restore, (public, dict(self.__dict__)))

    def _run(self, model: Any, optimizers: Any, show: bool) -> AuditReport:
        report = audit(model, optimizers or None, on_problem=self.on_problem,
                       frozen_bn=self.frozen_bn)  # type: ignore[arg-type]
        self.reports.append(report)
        if show and self.print_report:
            print(f"freezelint: audit of `{report.model}` at train start", file=sys.stderr)
            report.print()
        return report


class FreezelintLightningCallback(_AuditSettings):
    """`Trainer(callbacks=[FreezelintLightningCallback()])`: audits the LightningModule and
    `trainer.optimizers` at `on_train_start` (and each train epoch start with
    `every_epoch=True`, which catches gradual-unfreezing schedules that forget the
    optimizer). The report is printed on the global-zero process only."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is FreezelintLightningCallback:
            cls = _lightning_class()
        return object.__new__(cls)


class FreezelintTrainerCallback(_AuditSettings):
    """`Trainer(..., callbacks=[FreezelintTrainerCallback()])`: audits the model and the
    optimizer that the Hugging Face Trainer passes to `on_train_begin` (and `on_epoch_begin`
    with `every_epoch=True`)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is FreezelintTrainerCallback:
            cls = _transformers_class()
        return object.__new__(cls)


def _restore(public: type, state: dict[str, Any]) -> Any:
    callback = public()
    callback.__dict__.update(state)
    return callback


@cache
def _lightning_class() -> type:
    base = _lightning_callback_base()

    class LightningAudit(FreezelintLightningCallback, base):  # type: ignore[misc, valid-type]
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self._run(pl_module, list(trainer.optimizers), trainer.is_global_zero)

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            if self.every_epoch and trainer.current_epoch > 0:
                self._run(pl_module, list(trainer.optimizers), trainer.is_global_zero)

    LightningAudit.__name__ = LightningAudit.__qualname__ = "FreezelintLightningCallback"
    return LightningAudit


def _lightning_callback_base() -> type:
    """`lightning.pytorch.Callback`, or `pytorch_lightning.Callback` when only that package
    is installed or it is the one already in use (a Trainer accepts only its own package's
    callbacks)."""
    prefer_old = "pytorch_lightning" in sys.modules and "lightning" not in sys.modules
    for module_name in (("pytorch_lightning", "lightning.pytorch") if prefer_old
                        else ("lightning.pytorch", "pytorch_lightning")):
        try:
            module = __import__(module_name, fromlist=["Callback"])
        except ImportError:
            continue
        return module.Callback  # type: ignore[no-any-return]
    raise ImportError("FreezelintLightningCallback needs PyTorch Lightning: "
                      "pip install 'freezelint[lightning]' (or pytorch_lightning)")


@cache
def _transformers_class() -> type:
    try:
        from transformers import TrainerCallback
    except ImportError:
        raise ImportError("FreezelintTrainerCallback needs Hugging Face transformers: "
                          "pip install 'freezelint[transformers]'") from None

    class TrainerAudit(FreezelintTrainerCallback, TrainerCallback):  # type: ignore[misc, valid-type]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._audit_from(state, kwargs)

        def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.every_epoch and state.epoch:
                self._audit_from(state, kwargs)

        def _audit_from(self, state: Any, kwargs: dict[str, Any]) -> None:
            model = kwargs.get("model")
            if model is None:
                return
            self._run(model, kwargs.get("optimizer"),
                      bool(getattr(state, "is_world_process_zero", True)))

    TrainerAudit.__name__ = TrainerAudit.__qualname__ = "FreezelintTrainerCallback"
    return TrainerAudit
