"""Benchmark: `freezelint check` on one training script in a fresh process, revisions compared.

Why: a single script in pre-commit or on the command line must stay within 0.3 s (issues 7,
13, 14, 15). Each revision is exported with `git archive` (the working tree may be mid-edit;
`WORKTREE` takes the working tree's freezelint/ as it is), byte-compiled (with
PYTHONDONTWRITEBYTECODE set, as on the development machine, every run would otherwise compile
freezelint again) and put first on PYTHONPATH. Runs are interleaved (revisions in turn, the
order reversed every other round) so that a busy minute hits every revision alike, and each
run gets a fresh `--cache-dir`. What is reported is the child's CPU time (user + system,
from os.wait4), which other processes on a loaded machine inflate far less than wall time,
and its peak RSS; the wall time is printed too (it counts whatever else the machine does).
One discarded run per revision and script first warms the start-up cache
(freezelint/startup.py) and the zoo lookup (models/zoo_lookup.py), as any second run after
installing would. Both live in a per-user cache directory of the benchmark's own
(XDG_CACHE_HOME): other processes that run freezelint on the machine (a test run, another
version) rewrite the user's shared one, which made random runs compile dataclass code again.

The scripts (written to a temporary directory):
- ast: examples/ast_head_finetune.py with `--model ast` (3 findings);
- timm: a convnext_tiny head fine-tune, the model auto-detected from `timm.create_model`;
- roberta: `AutoModelForSequenceClassification.from_pretrained("roberta-base")` with a
  misspelt name test (1 finding);
- project: a small train.py whose model class is nanoGPT's GPT in the project's models.py
  (tests/fixtures/static_models/gpt.py), read statically (1 finding).

    python bench/cold_single.py --revs 0b5f29d,HEAD --runs 10
    python bench/cold_single.py --revs HEAD,WORKTREE --scripts ast,project
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 0.3

TIMM = '''"""Fine-tune ConvNeXt-Tiny on a 10-class dataset: head only."""
import timm
import torch
import torch.nn as nn

model = timm.create_model("convnext_tiny", pretrained=True, num_classes=10)

for name, p in model.named_parameters():
    if not name.startswith("head.fc"):
        p.requires_grad = False

optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
criterion = nn.CrossEntropyLoss()


def train(loader):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
'''

ROBERTA = '''"""Fine-tune roberta-base for sentence classification; the first 8 layers frozen."""
import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("roberta-base", num_labels=3)

for name, p in model.named_parameters():
    if name.startswith("roberta.embeddings") or any(f"layer.{i}." in name for i in range(8)):
        p.requires_grad = False
    if "clasifier" in name:
        p.requires_grad = True

optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=2e-5)


def train(loader):
    model.train()
    for batch in loader:
        out = model(**batch)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
'''

PROJECT = '''"""Fine-tune our own small GPT: only the last block and the final norm train."""
import torch

from models import GPT, GPTConfig

config = GPTConfig(n_layer=6, n_head=4, n_embd=128)
model = GPT(config)

for name, p in model.named_parameters():
    if not name.startswith('transformer.h.7.') and name != 'transformer.ln_f.weight':
        p.requires_grad = False

optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)


def train(loader):
    model.train()
    for x, y in loader:
        logits, loss = model(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
'''


def scripts(folder: Path) -> dict[str, tuple[list[str], Path]]:
    """Each script's command-line arguments and the directory it runs in."""
    (folder / "ast_head_finetune.py").write_text(
        (REPO / "examples" / "ast_head_finetune.py").read_text())
    (folder / "timm_finetune.py").write_text(TIMM)
    (folder / "roberta_finetune.py").write_text(ROBERTA)
    project = folder / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    shutil.copy(REPO / "tests" / "fixtures" / "static_models" / "gpt.py", project / "models.py")
    (project / "train.py").write_text(PROJECT)
    return {"ast": (["ast_head_finetune.py", "--model", "ast"], folder),
            "timm": (["timm_finetune.py"], folder),
            "roberta": (["roberta_finetune.py"], folder),
            "project": (["train.py"], project)}


def export(rev: str, into: Path) -> Path:
    tree = into / rev.replace("/", "_")
    tree.mkdir()
    if rev == "WORKTREE":
        shutil.copytree(REPO / "freezelint", tree / "freezelint",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(REPO / "rules", tree / "rules")
    else:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "freezelint")],
                   check=True)
    return tree


def run_once(tree: Path, args: list[str], cwd: Path, cache_home: Path
             ) -> tuple[float, float, int, float]:
    """CPU seconds, peak RSS in MB, the number of findings and the wall seconds of one
    cold run."""
    cache = tempfile.mkdtemp(prefix="freezelint-cold-cache-")
    env = dict(os.environ, PYTHONPATH=str(tree), XDG_CACHE_HOME=str(cache_home))
    try:
        with tempfile.TemporaryFile() as out:
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "freezelint", "check", "--cache-dir", cache, *args],
                cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
            _, _, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            out.seek(0)
            findings = out.read().decode(errors="replace").count(": FZL")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, findings, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--revs", default="HEAD", help="commits, or WORKTREE, comma-separated")
    parser.add_argument("--scripts", default="ast,timm,roberta,project")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    revs = args.revs.split(",")
    with tempfile.TemporaryDirectory(prefix="freezelint-cold-") as folder:
        root = Path(folder)
        trees = {rev: export(rev, root) for rev in revs}
        work = root / "scripts"
        work.mkdir()
        cache_home = root / "user-cache"  # the benchmark's own (see above)
        chosen = {name: spec for name, spec in scripts(work).items()
                  if name in args.scripts.split(",")}
        results: dict[tuple[str, str], list[tuple[float, float, int, float]]] = {}
        load_before = os.getloadavg()
        for argv, cwd in chosen.values():
            for rev in revs:
                run_once(trees[rev], argv, cwd, cache_home)  # warms the caches
        for round_ in range(args.runs):
            for name, (argv, cwd) in chosen.items():
                for rev in revs if round_ % 2 == 0 else revs[::-1]:
                    results.setdefault((name, rev), []).append(
                        run_once(trees[rev], argv, cwd, cache_home))
        load_after = os.getloadavg()
    print(f"{args.runs} interleaved runs per row; load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    print("| script | revision | CPU ms median (min-max) | wall ms median | peak RSS MB median "
          "| findings |")
    print("|---|---|---|---|---|---|")
    for name in chosen:
        for rev in revs:
            runs = results[(name, rev)]
            cpu = [c * 1000 for c, _, _, _ in runs]
            wall = statistics.median(w * 1000 for _, _, _, w in runs)
            rss = statistics.median(m for _, m, _, _ in runs)
            found = sorted({f for _, _, f, _ in runs})
            print(f"| {name} | {rev} | {statistics.median(cpu):.0f} ({min(cpu):.0f}-"
                  f"{max(cpu):.0f}) | {wall:.0f} | {rss:.0f} | {', '.join(map(str, found))} |")
    print(f"goal: within {GOAL_S} s CPU per script")


if __name__ == "__main__":
    main()
