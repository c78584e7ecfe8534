"""Benchmark: reading a ~350 MB checkpoint's names and shapes with read_checkpoint.

Why: linting against `--model weights.pth` must cost milliseconds and a few MB, whatever
the checkpoint's size, and must not import torch. This writes the state dict of an AST
base384 model (87M float32 parameters, 349 MB; keys carry `module.` like the released
AudioSet checkpoint) in the three formats, then measures:

- in-process read time over several runs (median, min);
- in a fresh subprocess that imports only freezelint.models.checkpoint: the read time,
  the tracemalloc peak of the read, the ru_maxrss growth caused by the read, the import
  time of the module, and whether torch got imported (it must not).

Goal: under 50 ms and under 50 MB per read.

    python bench/checkpoint_read.py                 # temp dir, removed afterwards
    python bench/checkpoint_read.py --dir /tmp/ckpt --keep --runs 50

Creating the files needs torch (and the `safetensors` package for that format, else a
hand-written header with a sparse data section is used); reading them does not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from freezelint.models.checkpoint import read_checkpoint  # noqa: E402

GOAL_MS = 50.0
GOAL_MB = 50.0

_PROBE = r"""
import json, resource, sys, time, tracemalloc
started = time.perf_counter()
from freezelint.models.checkpoint import read_checkpoint
imported = time.perf_counter() - started
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
started = time.perf_counter()
manifest = read_checkpoint(sys.argv[1])
elapsed = time.perf_counter() - started
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"read_s": elapsed, "import_s": imported, "tracemalloc_peak": peak,
                  "maxrss_delta_kb": rss_after - rss_before, "maxrss_kb": rss_after,
                  "tensors": len(manifest.parameters), "torch": "torch" in sys.modules}))
"""


def ast_base384_state_dict() -> dict[str, Any]:
    """A real AST base384 state dict (freezelint's torch AST when importable, else the same
    names and shapes from the paper's reference layout), keys prefixed with `module.`."""
    import torch

    try:
        from freezelint.models.architectures.ast_model import ASTModel
    except ImportError:
        ASTModel = None
    if ASTModel is not None:
        model = ASTModel(label_dim=527, fstride=10, tstride=10, input_fdim=128,
                         input_tdim=1024, model_size="base384", imagenet_pretrain=False,
                         audioset_pretrain=False, verbose=False)
        return {f"module.{k}": v for k, v in model.state_dict().items()}

    dim, shapes = 768, {}
    shapes["v.cls_token"] = (1, 1, dim)
    shapes["v.pos_embed"] = (1, 1214, dim)
    shapes["v.dist_token"] = (1, 1, dim)
    shapes["v.patch_embed.proj.weight"] = (dim, 1, 16, 16)
    shapes["v.patch_embed.proj.bias"] = (dim,)
    for i in range(12):
        block = f"v.blocks.{i}"
        for name, shape in (("norm1", (dim,)), ("attn.qkv", (3 * dim, dim)),
                            ("attn.proj", (dim, dim)), ("norm2", (dim,)),
                            ("mlp.fc1", (4 * dim, dim)), ("mlp.fc2", (dim, 4 * dim))):
            shapes[f"{block}.{name}.weight"] = shape
            shapes[f"{block}.{name}.bias"] = (shape[0],)
    for name, out in (("v.norm", None), ("v.head", 1000), ("v.head_dist", 1000),
                      ("mlp_head.0", None), ("mlp_head.1", 527)):
        shapes[f"{name}.weight"] = (dim,) if out is None else (out, dim)
        shapes[f"{name}.bias"] = (dim,) if out is None else (out,)
    return {f"module.{k}": torch.randn(s) for k, s in shapes.items()}


def write_safetensors(state: dict[str, Any], path: Path) -> str:
    try:
        import safetensors
        specs = {k: safetensors.TensorSpec(dtype=str(v.dtype).removeprefix("torch."),
                                           shape=list(v.shape), data_ptr=v.data_ptr(),
                                           data_len=v.numel() * v.element_size())
                 for k, v in state.items()}
        safetensors.serialize_file(specs, str(path), metadata={"format": "pt"})
        return "safetensors package"
    except ImportError:
        pass
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, tensor in state.items():
        size = tensor.numel() * tensor.element_size()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.truncate(8 + len(raw) + offset)
    return "hand-written header, sparse data"


def create(directory: Path) -> dict[str, Path]:
    import torch

    state = {k: v.contiguous() for k, v in ast_base384_state_dict().items()}
    files = {"torch-zip": directory / "audioset_10_10_0.4593.pth",
             "torch-legacy": directory / "audioset_legacy.pth",
             "safetensors": directory / "model.safetensors"}
    torch.save(state, files["torch-zip"])
    torch.save(state, files["torch-legacy"], _use_new_zipfile_serialization=False)
    how = write_safetensors(state, files["safetensors"])
    print(f"created {len(state)} tensors, "
          f"{sum(v.numel() for v in state.values()) / 1e6:.1f}M parameters "
          f"(safetensors via {how})")
    return files


def measure(path: Path, runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        read_checkpoint(path)
        times.append(time.perf_counter() - started)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True,
                           text=True, env=env, check=True)
    fresh = json.loads(probe.stdout)
    return {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3, **fresh}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="where to write the checkpoints "
                        "(default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    directory = args.dir or Path(tempfile.mkdtemp(prefix="freezelint-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        files = create(directory)
        print(f"{'format':<14}{'size MB':>9}{'median ms':>11}{'min ms':>8}{'fresh ms':>10}"
              f"{'tracemalloc MB':>16}{'maxrss +MB':>12}{'import ms':>11}  torch?")
        ok = True
        for fmt, path in files.items():
            r = measure(path, args.runs)
            peak_mb = r["tracemalloc_peak"] / 1e6
            rss_mb = r["maxrss_delta_kb"] / 1024
            print(f"{fmt:<14}{path.stat().st_size / 1e6:>9.0f}{r['median_ms']:>11.2f}"
                  f"{r['min_ms']:>8.2f}{r['read_s'] * 1e3:>10.2f}{peak_mb:>16.2f}"
                  f"{rss_mb:>12.2f}{r['import_s'] * 1e3:>11.1f}  {r['torch']}")
            ok &= (max(r["median_ms"], r["read_s"] * 1e3) < GOAL_MS
                   and max(peak_mb, rss_mb) < GOAL_MB and not r["torch"])
        print(f"goal (< {GOAL_MS:g} ms, < {GOAL_MB:g} MB, no torch import): "
              f"{'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
