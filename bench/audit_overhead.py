"""Benchmark: what `freezelint.audit(model, optimizer)` adds to a run, for ~100M parameters.

Why: the audit is meant to run inside real training (at train start, at every epoch from
the callbacks, at the first optimizer step from `freezelint run`), so it must cost next to
nothing. It never reads tensor data, only flags, ids, shapes and module modes, so its cost
grows with the number of tensors and modules, not with their size. Goal: under 50 ms for a
model of 100M parameters.

Cases (each: median, min and max wall time of --runs calls after one warm-up call, and the
median CPU time of the process, which a busy shared machine inflates less; the very first
call of the process is reported separately, since it also reads the rule catalog):

- AST base384, label_dim=527 (88M parameters, 159 tensors) on the meta device, backbone
  frozen, SGD over all parameters; then the same with `checkpoint=` a state dict of
  the model saved under DataParallel (`module.` keys) with a 10-class head.
- the same AST on CPU after one AdamW step with the backbone frozen afterwards: every
  frozen parameter holds a stale `.grad` and optimizer state, so every check has work.
- 100 x nn.Linear(1000, 1000) on CPU (100.1M parameters, 200 tensors).
- 1,250 x (nn.Linear(280, 280) + nn.BatchNorm1d(280)) on the meta device (98.8M parameters,
  5,000 tensors, 1,250 BatchNorm layers) with `frozen_bn="eval"`: many small tensors.

    python bench/audit_overhead.py
    python bench/audit_overhead.py --runs 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from freezelint.models.architectures.ast_model import ASTModel  # noqa: E402
from freezelint.runtime import audit  # noqa: E402


def ast_base384() -> ASTModel:
    return ASTModel(label_dim=527, model_size="base384", imagenet_pretrain=False,
                    audioset_pretrain=False)


def freeze_backbone(model: ASTModel) -> None:
    for param in model.v.parameters():
        param.requires_grad = False


def case_ast_meta() -> tuple[nn.Module, Any, dict[str, Any]]:
    with torch.device("meta"):
        model = ast_base384()
    freeze_backbone(model)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), {}


def case_ast_meta_checkpoint() -> tuple[nn.Module, Any, dict[str, Any]]:
    model, optimizer, _ = case_ast_meta()
    with torch.device("meta"):
        saved = ASTModel(label_dim=10, model_size="base384")
    state = {f"module.{k}": v for k, v in saved.state_dict().items()}
    return model, optimizer, {"checkpoint": state}


def case_ast_cpu_adamw_stale() -> tuple[nn.Module, Any, dict[str, Any]]:
    model = ast_base384()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for param in model.parameters():  # one step without a forward pass: gradients by hand
        param.grad = torch.zeros_like(param)
    optimizer.step()
    freeze_backbone(model)  # frozen after the step: stale .grad and AdamW state remain
    return model, optimizer, {}


def case_linear_stack_cpu() -> tuple[nn.Module, Any, dict[str, Any]]:
    model = nn.Sequential(*(nn.Linear(1000, 1000) for _ in range(100)))
    for layer in list(model)[:90]:
        layer.requires_grad_(False)
    return model, torch.optim.SGD(model.parameters(), lr=0.1), {}


def case_many_tensors_meta() -> tuple[nn.Module, Any, dict[str, Any]]:
    with torch.device("meta"):
        model = nn.Sequential(*(nn.Sequential(nn.Linear(280, 280), nn.BatchNorm1d(280))
                                for _ in range(1250)))
    for block in list(model)[:1000]:
        block.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    return model, torch.optim.SGD(params, lr=0.1), {"frozen_bn": "eval"}


CASES: list[tuple[str, Callable[[], tuple[nn.Module, Any, dict[str, Any]]]]] = [
    ("AST base384, meta, SGD", case_ast_meta),
    ("AST base384, meta, SGD, checkpoint=", case_ast_meta_checkpoint),
    ("AST base384, CPU, AdamW, stale grads", case_ast_cpu_adamw_stale),
    ("100 x Linear(1000,1000), CPU, SGD", case_linear_stack_cpu),
    ("1250 x (Linear+BN1d), meta, frozen_bn", case_many_tensors_meta),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()

    print(f"torch {torch.__version__}, {options.runs} runs per case, "
          f"times in milliseconds\n")
    header = (f"{'case':40} {'params':>7} {'tensors':>7} {'first':>7} {'median':>7} "
              f"{'min':>7} {'max':>7} {'cpu':>7}  findings")
    print(header)
    print("-" * len(header))
    first_call = True
    worst = 0.0
    for label, build in CASES:
        model, optimizer, kwargs = build()
        params = sum(p.numel() for p in model.parameters())
        tensors = sum(1 for _ in model.parameters())
        start = time.perf_counter()
        report = audit(model, optimizer, on_problem="return", **kwargs)
        first = (time.perf_counter() - start) * 1000
        times, cpu = [], []
        for _ in range(options.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            audit(model, optimizer, on_problem="return", **kwargs)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        median = statistics.median(times)
        worst = max(worst, median)
        findings = ",".join(sorted({d.rule for d in report.diagnostics})) or "-"
        print(f"{label:40} {params / 1e6:6.1f}M {tensors:7} {first:7.2f} {median:7.2f} "
              f"{min(times):7.2f} {max(times):7.2f} {statistics.median(cpu):7.2f}  {findings}"
              + ("  (first call reads the rule catalog)" if first_call else ""))
        first_call = False
        del model, optimizer
    load = f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" \
        if hasattr(os, "getloadavg") else ""
    print(f"\nworst median: {worst:.2f} ms (goal: under 50 ms){load}")


if __name__ == "__main__":
    main()
