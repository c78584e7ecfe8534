"""Fetch the benchmark corpora from PyPI into bench/.corpus/ (gitignored).

Two corpora, both pinned to exact versions so every run lints the same bytes:

- `transformers`: the `transformers/` package of the transformers 5.23.0 wheel WITHOUT
  `transformers/models/` (trainer.py, modeling_utils.py, generation/, integrations/,
  pipelines/, ...): 316 files, 175,366 lines. The corpus the team's research notes (anchors) timed TorchFix,
  Fixit and Ruff on.
- `training`: real training / fine-tuning scripts that packages ship on PyPI (freeze loops,
  LoRA trainable-parameter selection, optimizer construction, checkpoint loading):
    yolov5 7.0.14 (wheel)         yolov5/train.py, yolov5/classify/train.py,
                                  yolov5/segment/train.py (`--freeze`: requires_grad = False
                                  on `model.{i}.` prefixes)
    torchtune 0.6.1 (wheel)       recipes/*.py, recipes/dev/*.py (full / LoRA / QAT / DPO /
                                  distillation fine-tuning recipes; torchtune has no sdist)
    open_clip_torch 3.3.0 (sdist) src/open_clip_train/*.py (main.py, train.py, ...)
    trl 1.16.0 (sdist)            trl/scripts/*.py (sft.py, dpo.py, grpo.py, ...)
  Checked and not used: the transformers 5.23.0 sdist ships no examples/ (only tests/), the
  timm 1.0.31, accelerate 1.15.0 and peft 0.21.2 sdists ship no train/example scripts, and
  the diffusers 0.42.1 sdist has no examples/ either.

Downloads use pip (`pip download --no-deps`, `--no-binary :all:` for sdists) and so go
through whatever index pip is configured with. Unpacking keeps only the files listed above.

    python bench/fetch_corpus.py            # fetch what is missing, print the counts
    python bench/fetch_corpus.py --force    # fetch and unpack again
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS_ROOT = BENCH / ".corpus"
DOWNLOADS = CORPUS_ROOT / "downloads"


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    kind: str  # "wheel" or "sdist"
    include: tuple[str, ...]  # fnmatch patterns on the member path (sdist: without top dir)
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    sources: tuple[Source, ...]
    expected_files: int | None = None
    expected_lines: int | None = None

    @property
    def path(self) -> Path:
        return CORPUS_ROOT / self.name


CORPORA = (
    Corpus(
        name="transformers",
        description="transformers 5.23.0 wheel, transformers/ without transformers/models/",
        sources=(
            Source("transformers", "5.23.0", "wheel",
                   include=("transformers/*.py",),
                   exclude=("transformers/models/*",)),
        ),
        expected_files=316,
        expected_lines=175_366,
    ),
    Corpus(
        name="training",
        description="training / fine-tuning scripts shipped in yolov5, torchtune, "
                    "open_clip_torch and trl",
        sources=(
            Source("yolov5", "7.0.14", "wheel",
                   include=("yolov5/train.py", "yolov5/classify/train.py",
                            "yolov5/segment/train.py")),
            Source("torchtune", "0.6.1", "wheel",
                   include=("recipes/*.py",),
                   exclude=("recipes/__init__.py", "recipes/dev/__init__.py")),
            Source("open_clip_torch", "3.3.0", "sdist",
                   include=("src/open_clip_train/*.py",),
                   exclude=("src/open_clip_train/__init__.py",)),
            Source("trl", "1.16.0", "sdist",
                   include=("trl/scripts/*.py",),
                   exclude=("trl/scripts/__init__.py",)),
        ),
    ),
)


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _find_download(source: Source) -> Path | None:
    if not DOWNLOADS.is_dir():
        return None
    prefix = f"{_normalise(source.package)}-{source.version}".lower()
    for path in sorted(DOWNLOADS.iterdir()):
        dist, _, rest = path.name.partition("-")
        key = f"{_normalise(dist)}-{rest}".lower()
        if source.kind == "wheel" and key.startswith(prefix + "-") and key.endswith(".whl"):
            return path
        if source.kind == "sdist" and key in (prefix + ".tar.gz", prefix + ".zip"):
            return path
    return None


def download(source: Source, python: str = sys.executable) -> Path:
    found = _find_download(source)
    if found is not None:
        return found
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    command = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(DOWNLOADS), f"{source.package}=={source.version}"]
    if source.kind == "wheel":
        command[4:4] = ["--only-binary", ":all:"]
    else:
        command[4:4] = ["--no-binary", ":all:"]
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"pip download failed for {source.package}=={source.version}")
    found = _find_download(source)
    if found is None:
        raise SystemExit(f"pip download did not leave a {source.kind} of "
                         f"{source.package}=={source.version} in {DOWNLOADS}")
    return found


def _wanted(member: str, source: Source) -> bool:
    if not member.endswith(".py"):
        return False
    if not any(fnmatch.fnmatchcase(member, pattern) for pattern in source.include):
        return False
    return not any(fnmatch.fnmatchcase(member, pattern) for pattern in source.exclude)


def _members(archive: Path) -> list[tuple[str, bytes]]:
    """(path inside the distribution, bytes); an sdist's top directory is dropped."""
    out: list[tuple[str, bytes]] = []
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as handle:
            strip = archive.suffix == ".zip"
            for info in handle.infolist():
                if info.is_dir():
                    continue
                name = info.filename.split("/", 1)[1] if strip else info.filename
                out.append((name, handle.read(info)))
    else:
        with tarfile.open(archive) as handle:
            for info in handle.getmembers():
                if not info.isfile():
                    continue
                parts = info.name.split("/", 1)
                if len(parts) != 2:
                    continue
                extracted = handle.extractfile(info)
                if extracted is not None:
                    out.append((parts[1], extracted.read()))
    return out


def unpack(corpus: Corpus, archives: dict[Source, Path]) -> None:
    if corpus.path.exists():
        shutil.rmtree(corpus.path)
    for source in corpus.sources:
        # Several packages share the `training` corpus: give each its own directory so
        # identical relative paths (train.py) never collide.
        target = corpus.path if len(corpus.sources) == 1 else (
            corpus.path / f"{source.package}-{source.version}")
        for name, data in _members(archives[source]):
            if _wanted(name, source):
                path = target / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


def corpus_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.py") if p.is_file())


def count(path: Path) -> tuple[int, int, int]:
    """(files, lines as `wc -l` counts them, bytes) of the .py files under path."""
    files = corpus_files(path)
    lines = 0
    size = 0
    for file in files:
        data = file.read_bytes()
        lines += data.count(b"\n")
        size += len(data)
    return len(files), lines, size


def fetch(force: bool = False, quiet: bool = False) -> dict[str, tuple[int, int, int]]:
    counts: dict[str, tuple[int, int, int]] = {}
    for corpus in CORPORA:
        stamp = corpus.path / ".complete"
        if force or not stamp.exists():
            archives = {source: download(source) for source in corpus.sources}
            unpack(corpus, archives)
            stamp.write_text("\n".join(f"{s.package}=={s.version} {s.kind} {archives[s].name}"
                                       for s in corpus.sources) + "\n")
        files, lines, size = count(corpus.path)
        counts[corpus.name] = (files, lines, size)
        if not quiet:
            print(f"{corpus.name:13s} {files:4d} files {lines:8,d} lines {size / 1e6:6.2f} MB"
                  f"  {corpus.path.relative_to(BENCH.parent)}  ({corpus.description})")
            if corpus.name == "training":
                for source in corpus.sources:
                    sub = corpus.path / f"{source.package}-{source.version}"
                    f, n, _ = count(sub)
                    print(f"{'':13s}   {source.package}=={source.version} ({source.kind}): "
                          f"{f} files, {n:,d} lines")
        if corpus.expected_files is not None and (files, lines) != (
                corpus.expected_files, corpus.expected_lines):
            raise SystemExit(f"{corpus.name}: expected {corpus.expected_files} files and "
                             f"{corpus.expected_lines} lines, found {files} and {lines}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="download and unpack again")
    args = parser.parse_args()
    fetch(force=args.force)


if __name__ == "__main__":
    main()
