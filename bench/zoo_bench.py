"""Zoo costs: shipped size, model load times, and a cold single-file lint with a zoo model.

    .venv/bin/python bench/zoo_bench.py [--sample N]

Prints (goals from issue 15): the zoo's size on disk and inside a wheel (zip of the
package); the index load; loading a model (decoding its shard, applying arguments) for a
sample of ids across libraries, cold (fresh caches) and warm; and `freezelint check` on
one-script projects using a timm, a transformers and a Hugging Face model, cold (new
process, no result cache): wall time and peak RSS. Goals: a model well under 20 ms, a cold
lint within 0.3 s, RSS within 150 MB.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCRIPTS = {
    # control: the same loop on the AST model (no library zoo lookup), as README's example
    "control (ASTModel)": """
        from models import ASTModel
        model = ASTModel(label_dim=10)
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith('mlp_head.')
    """,
    "timm": """
        import timm
        model = timm.create_model('convnext_tiny', pretrained=True, num_classes=10)
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith('head.fc.')
    """,
    "transformers": """
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained('roberta-base', num_labels=3)
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith('classifier.')
    """,
    "llama": """
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained('meta-llama/Llama-2-7b-hf')
        for name, p in model.named_parameters():
            p.requires_grad = 'lm_head' in name
    """,
}


def sizes() -> None:
    from freezelint.models.zoo import ZOO_DIR

    files = sorted(ZOO_DIR.iterdir())
    disk = sum(f.stat().st_size for f in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            archive.write(f, f.name)
    print(f"zoo: {len(files)} files, {disk / 1e6:.2f} MB on disk, "
          f"{len(buffer.getvalue()) / 1e6:.2f} MB zipped (its share of a wheel)")


def loads(sample: int) -> None:
    from freezelint.models import zoo

    started = time.process_time()
    ids = zoo.zoo_ids()
    print(f"index: {len(ids)} models, {len(zoo.hf_ids())} Hugging Face ids, "
          f"loaded in {(time.process_time() - started) * 1000:.1f} ms CPU")
    step = max(1, len(ids) // sample)
    chosen = ids[::step]
    cold: list[tuple[float, str]] = []
    warm: list[tuple[float, str]] = []
    for model_id in chosen:
        zoo._shard.cache_clear()
        started = time.process_time()
        zoo.load_zoo(model_id)
        cold.append(((time.process_time() - started) * 1000, model_id))
        started = time.process_time()
        zoo.load_zoo(model_id)
        warm.append(((time.process_time() - started) * 1000, model_id))
    # CPU time, not wall time: the figures hold on a busy machine too.
    for label, pairs in (("cold (shard read)", cold), ("warm (shard cached)", warm)):
        pairs.sort()
        times = [t for t, _ in pairs]
        print(f"load_zoo {label}, CPU: {len(times)} models, median "
              f"{statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} "
              f"ms, max {times[-1]:.1f} ms ({pairs[-1][1]})")


def lint_runs() -> None:
    freezelint = ROOT / ".venv" / "bin" / "freezelint"
    for label, code in SCRIPTS.items():
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "train.py"
            script.write_text(textwrap.dedent(code))
            runs, cpu = [], []
            for _ in range(3):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                result = subprocess.run([str(freezelint), "check", str(script), "--no-cache"],
                                        capture_output=True, text=True, cwd=folder)
                runs.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            found = [line for line in result.stdout.splitlines() if "FZL" in line]
            print(f"cold lint ({label}): wall best {min(runs):.2f} s, CPU best {min(cpu):.2f} s, "
                  f"peak RSS {peak / 1024:.0f} MB, exit {result.returncode}, "
                  f"{len(found)} findings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=200, help="models to load")
    args = parser.parse_args()
    sizes()
    loads(args.sample)
    lint_runs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
