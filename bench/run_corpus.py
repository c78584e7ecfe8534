"""Time freezelint, TorchFix, Fixit and Ruff on the same corpora in one run, interleaved.

    python bench/run_corpus.py --fetch --setup      # everything, from a fresh clone
    python bench/run_corpus.py --quick              # TorchFix and Fixit once per corpus
    python bench/run_corpus.py --reps 5 --corpus training --tools freezelint,ruff

`--fetch` runs bench/fetch_corpus.py (PyPI downloads into bench/.corpus/), `--setup` runs
bench/setup_tools.sh (bench/.venv-tools with torchfix 0.7.0, fixit 2.2.1, ruff 0.17.6) and,
when the interpreter running this script cannot import freezelint, creates
bench/.venv-freezelint with this checkout installed editable. Both are done anyway when
what they make is missing.

Method (bench/README.md has the long form):
- Every command runs as a child process with its own fresh temporary working directory
  (so no tool finds a config or a default cache there) and absolute corpus paths.
- Wall time: time.perf_counter() around the child, from spawn to reaped.
- Peak RSS: GNU `/usr/bin/time -f %M` around each command: the peak of the largest single
  process in the command's tree (workers included once reaped). Not os.wait4() from here:
  a child's ru_maxrss starts at the high-water mark of the process it was forked from.
  Multi-process tools also get "tree MB": the sum of the RSS of the command and all its
  descendants, sampled from /proc every 20 ms (an upper bound: pages shared after fork
  are counted once per process).
- Interleaving: each repetition runs every (tool, variant) once, and the order rotates by one
  per repetition, so slow drift on the machine spreads over all tools. Medians are reported.
- freezelint cold = a fresh, empty --cache-dir per run (or --no-cache; or, on builds without
  either flag, a fresh working directory); warm = a --cache-dir filled by an untimed run
  first. Rows for --jobs 1 appear when `freezelint check --help` lists --jobs.
- Lines are counted like `wc -l` over the corpus's .py files.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import fetch_corpus  # noqa: E402

TOOLS_VENV = BENCH / ".venv-tools"
FREEZELINT_VENV = BENCH / ".venv-freezelint"
RESULTS = BENCH / ".results"
SINGLE_FILE = REPO / "examples" / "ast_head_finetune.py"
PAGE = os.sysconf("SC_PAGE_SIZE")
TIMEOUT = 3600


# --------------------------------------------------------------------------- measuring

@dataclass
class Measure:
    wall: float
    max_rss_kb: int
    tree_rss_kb: int
    returncode: int
    stdout: str
    stderr: str
    other_cpu: float = 0.0  # share of the machine's CPU busy with other work meanwhile


def _cpu_busy() -> float:
    """Seconds of CPU time the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat", "rb") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, ()))
    return out


def _tree_rss_kb(root: int, skip_root: bool) -> tuple[int, int]:
    """(sum of the current RSS over root's process tree, largest VmHWM in it), in KB."""
    total = hwm = 0
    for pid in _descendants(root):
        if skip_root and pid == root:
            continue
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE
            with open(f"/proc/{pid}/status", "rb") as handle:
                for line in handle:
                    if line.startswith(b"VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
                        break
        except (OSError, IndexError, ValueError):
            continue
    return total // 1024, hwm


QUIET = {"threshold": 0.25, "max_wait": 60.0}


def wait_for_quiet() -> float:
    """Wait (at most QUIET["max_wait"] s) until other processes use less than
    QUIET["threshold"] of the machine's CPU over a 0.5 s window; return the last share seen.
    On a machine that is otherwise idle this costs 0.5 s per run and nothing else."""
    deadline = time.monotonic() + QUIET["max_wait"]
    cores = os.cpu_count() or 1
    while True:
        busy0, t0 = _cpu_busy(), time.monotonic()
        time.sleep(0.5)
        share = (_cpu_busy() - busy0) / ((time.monotonic() - t0) * cores)
        if share < QUIET["threshold"] or time.monotonic() > deadline:
            return share
        time.sleep(1.0)


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
            sample_tree: bool = True) -> Measure:
    """Run argv once; wall time, peak RSS, sampled tree RSS, exit code and output.

    Peak RSS comes from GNU time's %M. Not from os.wait4() on a child of this process: on
    Linux a child's ru_maxrss keeps the high-water mark of the memory image it was forked
    from (this benchmark, holding every tool's output), so `true` "peaks" at the size of
    the parent. GNU time is a tiny C program, so its children start from almost nothing.
    Without /usr/bin/time the largest VmHWM seen while sampling /proc is used instead.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as rss:
        command = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else argv
        busy0 = _cpu_busy()
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL)
        peak = [0, 0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                tree, hwm = _tree_rss_kb(child.pid, skip_root=GNU_TIME is not None)
                peak[0] = max(peak[0], tree)
                peak[1] = max(peak[1], hwm)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True) if sample_tree else None
        if sampler:
            sampler.start()
        deadline = start + TIMEOUT
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
            time.sleep(0.001 if time.perf_counter() - start < 1 else 0.01)
        wall = time.perf_counter() - start
        busy = _cpu_busy() - busy0
        own = usage.ru_utime + usage.ru_stime  # includes the children GNU time reaped
        other = max(0.0, busy - own) / (wall * (os.cpu_count() or 1))
        done.set()
        if sampler:
            sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        max_rss = peak[1]
        if GNU_TIME:
            lines = [line for line in rss.read().splitlines() if line.strip()]
            try:
                max_rss = int(lines[-1])  # earlier lines: "Command exited with non-zero..."
            except (IndexError, ValueError):
                max_rss = peak[1]
        out.seek(0)
        err.seek(0)
        return Measure(wall, max_rss, peak[0], child.returncode,
                       out.read().decode("utf-8", "replace"),
                       err.read().decode("utf-8", "replace"), min(other, 1.0))


# --------------------------------------------------------------------------- tools

def count_freezelint(stdout: str) -> int:
    return len(re.findall(r"^.+:\d+:\d+: FZL\d+ ", stdout, re.M))


def count_torchfix(stdout: str) -> int:
    return len(re.findall(r"^.+:\d+:\d+: TOR\d+ ", stdout, re.M))


def count_fixit(stdout: str) -> int:
    return len(re.findall(r"^.+@\d+:\d+ \w+: ", stdout, re.M))


def count_ruff(stdout: str) -> int:
    found = re.search(r"^Found (\d+) errors?", stdout, re.M)
    if found:
        return int(found.group(1))
    return 0 if "All checks passed" in stdout else -1


@dataclass
class Variant:
    label: str  # row name in the table
    tool: str  # freezelint | torchfix | fixit | ruff
    build: Callable[[Path], list[str]]  # corpus dir -> argv (may prepare cache dirs)
    counter: Callable[[str], int]
    slow: bool = False
    prime: Callable[[Path], None] | None = None
    command_text: str = ""
    results: list[Measure] = field(default_factory=list)


@dataclass
class Freezelint:
    argv: list[str]  # how to start freezelint (console script or python -m freezelint)
    python: str
    has_jobs: bool
    has_cache_dir: bool
    has_no_cache: bool
    version: str
    torch_installed: bool


def freezelint_setup(python: str | None, allow_setup: bool) -> Freezelint:
    candidates = [python] if python else [sys.executable]
    if not python and (FREEZELINT_VENV / "bin" / "python").exists():
        candidates.append(str(FREEZELINT_VENV / "bin" / "python"))
    chosen = None
    for candidate in candidates:
        # Not from the checkout's root, where `python -c` would import ./freezelint.
        probe = subprocess.run([candidate, "-c", "import freezelint"], capture_output=True,
                               cwd=tempfile.gettempdir())
        if probe.returncode == 0:
            chosen = candidate
            break
    if chosen is None:
        if python or not allow_setup:
            raise SystemExit(f"{candidates[0]} cannot import freezelint: install it "
                             "(pip install -e .) or pass --setup")
        print(f"creating {FREEZELINT_VENV.relative_to(REPO)} with this checkout installed",
              flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(FREEZELINT_VENV)], check=True)
        chosen = str(FREEZELINT_VENV / "bin" / "python")
        subprocess.run([chosen, "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-e", str(REPO)], check=True)
    script = Path(chosen).parent / "freezelint"
    argv = [str(script)] if script.exists() else [chosen, "-m", "freezelint"]
    help_text = subprocess.run([*argv, "check", "--help"], capture_output=True,
                               text=True).stdout
    version = subprocess.run([*argv, "--version"], capture_output=True, text=True).stdout
    version = version.replace("freezelint", "").strip()
    torch = subprocess.run([chosen, "-c", "import importlib.util as u; "
                            "print(u.find_spec('torch') is not None)"],
                           capture_output=True, text=True).stdout.strip() == "True"
    return Freezelint(argv, chosen, "--jobs" in help_text, "--cache-dir" in help_text,
                      "--no-cache" in help_text, version.strip(), torch)


def tools_setup(allow_setup: bool, wanted: set[str]) -> None:
    needed = wanted & {"torchfix", "fixit", "ruff"}
    missing = [t for t in needed if not (TOOLS_VENV / "bin" / t).exists()]
    if missing or allow_setup:
        if missing:
            print(f"bench/.venv-tools lacks {', '.join(sorted(missing))}: running "
                  "bench/setup_tools.sh", flush=True)
        subprocess.run(["bash", str(BENCH / "setup_tools.sh")], check=True)


def tool_version(name: str) -> str:
    done = subprocess.run([str(TOOLS_VENV / "bin" / "python"), "-c",
                           f"import importlib.metadata as m; print(m.version('{name}'))"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "?"


class CacheDirs:
    """Temporary cache directories: a fresh one per cold run, one kept per warm variant."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = 0

    def fresh(self) -> Path:
        self.serial += 1
        path = self.root / f"cold-{self.serial}"
        return path

    def kept(self, name: str) -> Path:
        return self.root / f"warm-{name}"


def variants(fz: Freezelint, wanted: set[str], caches: CacheDirs, workdirs: Workdirs,
             ruff_all: bool) -> list[Variant]:
    base = [*fz.argv, "check"]
    tail = ["--output-format", "concise", "--exit-zero"]
    out: list[Variant] = []

    def fz_cold(jobs: list[str]) -> Callable[[Path], list[str]]:
        def build(corpus: Path) -> list[str]:
            if fz.has_cache_dir:
                return [*base, str(corpus), *tail, *jobs, "--cache-dir", str(caches.fresh())]
            if fz.has_no_cache:
                return [*base, str(corpus), *tail, *jobs, "--no-cache"]
            return [*base, str(corpus), *tail, *jobs]  # run_corpus gives a fresh cwd
        return build

    def fz_warm(name: str, jobs: list[str]) -> tuple[Callable[[Path], list[str]],
                                                      Callable[[Path], None]]:
        def argv(corpus: Path) -> list[str]:
            cache = ["--cache-dir", str(caches.kept(f"{name}-{corpus.name}"))] \
                if fz.has_cache_dir else []
            if not fz.has_cache_dir:
                workdirs.use_kept(f"{name}-{corpus.name}")
            return [*base, str(corpus), *tail, *jobs, *cache]

        def prime(corpus: Path) -> None:
            command = argv(corpus)
            measure(command, workdirs.current(), sample_tree=False)

        return argv, prime

    if "freezelint" in wanted:
        cold_how = ("fresh --cache-dir" if fz.has_cache_dir else "--no-cache"
                    if fz.has_no_cache else "fresh working dir")
        out.append(Variant("freezelint cold", "freezelint", fz_cold([]),
                           count_freezelint,
                           command_text=f"freezelint check DIR {' '.join(tail)} ({cold_how})"))
        if fz.has_jobs:
            out.append(Variant("freezelint cold --jobs 1", "freezelint", fz_cold(["--jobs", "1"]),
                               count_freezelint,
                               command_text=f"... --jobs 1 ({cold_how})"))
        argv, prime = fz_warm("default", [])
        warm_how = "primed --cache-dir" if fz.has_cache_dir else "primed working dir"
        out.append(Variant("freezelint warm", "freezelint", argv, count_freezelint,
                           prime=prime, command_text=f"... ({warm_how})"))
        if fz.has_jobs:
            argv, prime = fz_warm("jobs1", ["--jobs", "1"])
            out.append(Variant("freezelint warm --jobs 1", "freezelint", argv,
                               count_freezelint, prime=prime,
                               command_text=f"... --jobs 1 ({warm_how})"))
        if fz.has_no_cache and fz.has_cache_dir:
            out.append(Variant("freezelint --no-cache", "freezelint",
                               lambda c: [*base, str(c), *tail, "--no-cache"],
                               count_freezelint, command_text="... --no-cache"))
    bin_ = TOOLS_VENV / "bin"
    if "torchfix" in wanted:
        out.append(Variant("TorchFix 0.7.0", "torchfix", lambda c: [str(bin_ / "torchfix"), str(c)],
                           count_torchfix, slow=True, command_text="torchfix DIR"))
    if "fixit" in wanted:
        out.append(Variant("Fixit 2.2.1", "fixit", lambda c: [str(bin_ / "fixit"), "lint", str(c)],
                           count_fixit, slow=True, command_text="fixit lint DIR"))
    if "ruff" in wanted:
        out.append(Variant("Ruff 0.17.6", "ruff",
                           lambda c: [str(bin_ / "ruff"), "check", "--isolated", "--no-cache",
                                      str(c)],
                           count_ruff,
                           command_text="ruff check --isolated --no-cache DIR (default rules)"))
        if ruff_all:
            out.append(Variant("Ruff --select ALL", "ruff",
                               lambda c: [str(bin_ / "ruff"), "check", "--isolated", "--no-cache",
                                          "--select", "ALL", "--output-format", "concise",
                                          str(c)],
                               count_ruff,
                               command_text="ruff check --isolated --no-cache --select ALL "
                                            "--output-format concise DIR"))
    return out


class Workdirs:
    """The working directory each child starts in: fresh per run unless a warm variant
    (on a build without --cache-dir) asks for its kept one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = 0
        self._current = self.next_fresh()

    def next_fresh(self) -> Path:
        self.serial += 1
        self._current = self.root / f"cwd-{self.serial}"
        self._current.mkdir(parents=True)
        return self._current

    def use_kept(self, name: str) -> Path:
        self._current = self.root / f"cwd-kept-{name}"
        self._current.mkdir(parents=True, exist_ok=True)
        return self._current

    def current(self) -> Path:
        return self._current


# --------------------------------------------------------------------------- corpus runs

def run_corpus(name: str, path: Path, lines: int, files: int, todo: list[Variant],
               reps: int, quick: bool) -> list[dict]:
    workdirs = _WORKDIRS[0]
    for variant in todo:
        variant.results = []
        if variant.prime:
            workdirs.next_fresh()
            variant.prime(path)
    for rep in range(reps):
        order = todo[rep % len(todo):] + todo[:rep % len(todo)]
        for variant in order:
            if variant.slow and quick and rep > 0:
                continue
            workdirs.next_fresh()
            argv = variant.build(path)
            if QUIET["threshold"] < 1:
                wait_for_quiet()
            m = measure(argv, workdirs.current())
            variant.results.append(m)
            flag = "" if m.returncode in (0, 1) else f"  EXIT {m.returncode}"
            print(f"  [{name} rep {rep + 1}/{reps}] {variant.label:26s} {m.wall:8.2f} s "
                  f"{m.max_rss_kb / 1024:7.1f} MB  findings {variant.counter(m.stdout):5d}  "
                  f"other CPU {m.other_cpu:4.0%}{flag}", flush=True)
            if flag:
                sys.stderr.write(m.stderr[-2000:])
    rows = []
    for variant in todo:
        walls = [m.wall for m in variant.results]
        last = variant.results[-1]
        (RESULTS / f"{name}--{re.sub(r'[^A-Za-z0-9.]+', '_', variant.label)}.txt").write_text(
            last.stdout + ("\n--- stderr ---\n" + last.stderr if last.stderr else ""))
        rows.append({
            "corpus": name,
            "label": variant.label,
            "tool": variant.tool,
            "command": variant.command_text,
            "runs": len(walls),
            "walls": walls,
            "median": statistics.median(walls),
            "min": min(walls),
            "max": max(walls),
            "max_rss_mb": max(m.max_rss_kb for m in variant.results) / 1024,
            "tree_rss_mb": max(m.tree_rss_kb for m in variant.results) / 1024,
            "findings": variant.counter(last.stdout),
            "exit_codes": sorted({m.returncode for m in variant.results}),
            "other_cpu": statistics.median(m.other_cpu for m in variant.results),
            "lines": lines,
            "files": files,
        })
    return rows


_WORKDIRS: list[Workdirs] = []


def table(rows: list[dict]) -> str:
    fz = next((r for r in rows if r["label"].startswith("freezelint cold")), None)
    ruff = next((r for r in rows if r["label"] == "Ruff 0.17.6"), None)
    head = ("| tool | runs | median wall s (min-max) | lines/s | peak RSS MB | tree RSS MB "
            "| findings | x freezelint cold | x Ruff | other CPU |")
    out = [head, "|" + "---|" * 10]
    for r in rows:
        ratio_fz = f"{r['median'] / fz['median']:.2f}" if fz else "-"
        ratio_ruff = f"{r['median'] / ruff['median']:.1f}" if ruff else "-"
        spread = f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})" if r["runs"] > 1 \
            else f"{r['median']:.2f}"
        out.append(f"| {r['label']} | {r['runs']} | {spread} | {r['lines'] / r['median']:,.0f} "
                   f"| {r['max_rss_mb']:.0f} | {r['tree_rss_mb']:.0f} | {r['findings']} "
                   f"| {ratio_fz} | {ratio_ruff} | {r['other_cpu']:.0%} |")
    return "\n".join(out)


# --------------------------------------------------------------------------- single file

def _imported(importtime_stderr: str) -> set[str]:
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def _cumulative_us(importtime_stderr: str, module: str) -> int | None:
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.rsplit("|", 1)[1].strip() == module:
            return int(line.split("|")[1].strip())
    return None


def single_file(fz: Freezelint, runs: int, scratch: Path) -> dict:
    """`freezelint check examples/ast_head_finetune.py --model ast`, cold and warm,
    interleaved; whether torch (and libcst) got imported; `import freezelint` time."""
    target = str(SINGLE_FILE)
    base = [*fz.argv, "check", target, "--model", "ast"]
    warm_cache = scratch / "single-warm"
    serial = [0]

    def cold_args() -> list[str]:
        serial[0] += 1
        if fz.has_cache_dir:
            return ["--cache-dir", str(scratch / f"single-cold-{serial[0]}")]
        if fz.has_no_cache:
            return ["--no-cache"]
        return []

    def cwd_for(kind: str) -> Path:
        if kind == "warm":
            path = scratch / "single-warm-cwd"
        else:
            path = scratch / f"single-cold-cwd-{serial[0]}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    warm_args = ["--cache-dir", str(warm_cache)] if fz.has_cache_dir else []
    # The user cache (XDG_CACHE_HOME) holds the start-up cache of compiled dataclass code
    # (freezelint/startup.py): cold and warm runs share one, primed like a user's after the
    # first run; "first" runs each get an empty one, as on the first run after installing.
    steady_env = {**os.environ, "XDG_CACHE_HOME": str(scratch / "single-xdg")}
    measure(base + warm_args, cwd_for("warm"), env=steady_env, sample_tree=False)  # prime
    cold, warm, first = [], [], []
    first_cold: Measure | None = None
    kinds = ("cold", "warm", "first")
    for i in range(runs):
        for kind in kinds[i % 3:] + kinds[:i % 3]:
            if kind == "warm":
                m = measure(base + warm_args, cwd_for("warm"), env=steady_env,
                            sample_tree=False)
                warm.append(m)
                continue
            args = cold_args()
            env = steady_env if kind == "cold" else \
                {**os.environ, "XDG_CACHE_HOME": str(scratch / f"single-xdg-{serial[0]}")}
            m = measure(base + args, cwd_for("cold"), env=env, sample_tree=False)
            (cold if kind == "cold" else first).append(m)
            first_cold = first_cold if first_cold is not None else m
    # The default output format is "full": read its summary line ("Found 3 problems").
    found = re.search(r"Found (\d+) problem", first_cold.stdout + first_cold.stderr)
    findings = int(found.group(1)) if found else count_freezelint(first_cold.stdout)

    def importtime(extra: list[str], cwd: Path) -> dict:
        argv = [fz.python, "-X", "importtime", "-m", "freezelint", "check", target,
                "--model", "ast", *extra]
        done = subprocess.run(argv, cwd=cwd, env=steady_env, capture_output=True, text=True)
        mods = _imported(done.stderr)
        return {
            "torch_imported": any(m == "torch" or m.startswith("torch.") for m in mods),
            "libcst_imported": any(m == "libcst" or m.startswith("libcst.") for m in mods),
            "modules": len(mods),
            "libcst_cumulative_ms": (_cumulative_us(done.stderr, "libcst") or 0) / 1000,
        }

    imp_cold = importtime(cold_args(), cwd_for("cold"))
    imp_warm = importtime(warm_args, cwd_for("warm"))

    import_walls, bare_walls = [], []
    for _ in range(runs):
        bare_walls.append(measure([fz.python, "-c", "pass"], scratch, sample_tree=False).wall)
        import_walls.append(measure([fz.python, "-c", "import freezelint"], scratch,
                                    sample_tree=False).wall)
    done = subprocess.run([fz.python, "-X", "importtime", "-c", "import freezelint"],
                          capture_output=True, text=True)
    mods = _imported(done.stderr)
    return {
        "file": str(SINGLE_FILE.relative_to(REPO)),
        "runs": runs,
        "cold_how": "fresh --cache-dir" if fz.has_cache_dir else
                    "--no-cache" if fz.has_no_cache else "no cache flags in this build",
        "cold_median": statistics.median(m.wall for m in cold),
        "cold_min": min(m.wall for m in cold),
        "first_median": statistics.median(m.wall for m in first),
        "first_min": min(m.wall for m in first),
        "warm_median": statistics.median(m.wall for m in warm),
        "warm_min": min(m.wall for m in warm),
        "cold_max_rss_mb": max(m.max_rss_kb for m in cold) / 1024,
        "warm_max_rss_mb": max(m.max_rss_kb for m in warm) / 1024,
        "exit_codes": sorted({m.returncode for m in cold + warm + first}),
        "findings": findings,
        "importtime_cold": imp_cold,
        "importtime_warm": imp_warm,
        "python_bare_median": statistics.median(bare_walls),
        "import_freezelint_median": statistics.median(import_walls),
        "import_freezelint_cumulative_ms":
            (_cumulative_us(done.stderr, "freezelint") or 0) / 1000,
        "import_freezelint_pulls_torch": any(m == "torch" or m.startswith("torch.")
                                             for m in mods),
        "import_freezelint_pulls_libcst": any(m == "libcst" for m in mods),
    }


# --------------------------------------------------------------------------- findings

def freezelint_findings(fz: Freezelint, corpus: Path, scratch: Path) -> list[dict]:
    cache = (["--cache-dir", str(scratch / f"findings-{corpus.name}")] if fz.has_cache_dir
             else ["--no-cache"] if fz.has_no_cache else [])
    done = subprocess.run([*fz.argv, "check", str(corpus), "--output-format", "json",
                           "--exit-zero", *cache],
                          cwd=scratch, capture_output=True, text=True)
    try:
        data = json.loads(done.stdout or "[]")
    except ValueError:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
        raise SystemExit(
            f"freezelint --output-format json on {corpus} did not print JSON") from None
    if isinstance(data, dict):  # tolerate a wrapper object ({"diagnostics": [...]})
        data = data.get("diagnostics", [])
    out = []
    for d in data:
        path = Path(d["path"])
        try:
            rel = path.resolve().relative_to(corpus)
        except ValueError:
            rel = path
        out.append({"path": str(rel), "line": d["range"]["start"]["line"],
                    "column": d["range"]["start"]["column"], "rule": d["rule"],
                    "severity": d.get("severity"), "message": d["message"]})
    out.sort(key=lambda f: (f["path"], f["line"], f["column"], f["rule"]))
    return out


# --------------------------------------------------------------------------- main

def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                            "freezelint"], capture_output=True, text=True).stdout.strip()
    return {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cores": os.cpu_count(), "cpu": cpu, "memory": mem,
            "python": platform.python_version(), "platform": platform.platform(),
            "commit": commit + (" + uncommitted changes under freezelint/" if dirty else "")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark freezelint against TorchFix, Fixit and Ruff.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    parser.add_argument("--fetch", action="store_true",
                        help="fetch the corpora (bench/fetch_corpus.py) first")
    parser.add_argument("--setup", action="store_true",
                        help="create bench/.venv-tools (bench/setup_tools.sh) first, and "
                             "bench/.venv-freezelint if this interpreter lacks freezelint")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="run TorchFix and Fixit once per corpus (about 3 minutes each "
                             "on the transformers corpus)")
    parser.add_argument("--corpus", default="transformers,training",
                        help="comma list of corpora (default: transformers,training)")
    parser.add_argument("--tools", default="freezelint,torchfix,fixit,ruff",
                        help="comma list of tools")
    parser.add_argument("--no-ruff-all", action="store_true",
                        help="skip the extra `ruff --select ALL` row")
    parser.add_argument("--single-runs", type=int, default=10,
                        help="runs of the single-file and import measurements (default 10)")
    parser.add_argument("--no-single", action="store_true",
                        help="skip the single-file and import measurements")
    parser.add_argument("--quiet-threshold", type=float, default=0.25,
                        help="before each corpus run, wait until other processes use less "
                             "than this share of the machine's CPU (default 0.25; 1 = never "
                             "wait)")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="longest wait for that, in seconds (default 60)")
    parser.add_argument("--rev", help="benchmark freezelint as committed at this git revision "
                                      "(exported with git archive and put first on "
                                      "PYTHONPATH) instead of the working tree, which may be "
                                      "mid-edit")
    parser.add_argument("--python", help="interpreter that has freezelint installed "
                                         "(default: the one running this script)")
    args = parser.parse_args()

    QUIET["threshold"] = args.quiet_threshold
    QUIET["max_wait"] = args.quiet_wait
    wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
    corpora = [c for c in fetch_corpus.CORPORA
               if c.name in {n.strip() for n in args.corpus.split(",")}]
    if not corpora:
        raise SystemExit("no such corpus; known: " +
                         ", ".join(c.name for c in fetch_corpus.CORPORA))
    missing = [c for c in corpora if not (c.path / ".complete").exists()]
    if args.fetch or missing:
        if missing and not args.fetch:
            print("corpora missing: fetching them (bench/fetch_corpus.py)", flush=True)
        fetch_corpus.fetch()
    tools_setup(args.setup, wanted)
    snapshot = None
    if args.rev:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify",
                              f"{args.rev}^{{commit}}"], capture_output=True, text=True,
                             check=True).stdout.strip()
        snapshot = Path(tempfile.mkdtemp(prefix="freezelint-src-"))
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "freezelint",
                                  "rules"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive, check=True)
        # Byte-compile now, so that no timed run pays for writing __pycache__.
        subprocess.run([args.python or sys.executable, "-m", "compileall", "-q",
                        str(snapshot / "freezelint")], check=True)
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(snapshot) + (os.pathsep + old if old else "")
    fz = freezelint_setup(args.python, args.setup)
    where = subprocess.run([fz.python, "-c", "import freezelint; print(freezelint.__file__)"],
                           capture_output=True, text=True, cwd=tempfile.gettempdir()
                           ).stdout.strip()

    RESULTS.mkdir(exist_ok=True)
    info = machine()
    if args.rev:
        info["commit"] = f"{args.rev} = {sha[:7]} (git archive, not the working tree)"
    info["freezelint_module"] = where
    info["freezelint"] = f"{fz.version} ({' '.join(fz.argv)})"
    info["freezelint_flags"] = {"--jobs": fz.has_jobs, "--cache-dir": fz.has_cache_dir,
                                "--no-cache": fz.has_no_cache}
    info["torch_importable_by_freezelint_python"] = fz.torch_installed
    if wanted & {"torchfix", "fixit", "ruff"}:
        info["tools"] = {n: tool_version(n) for n in ("torchfix", "fixit", "ruff", "libcst")}
    print(json.dumps(info, indent=1), flush=True)

    report: dict = {"machine": info, "corpora": {}, "rows": []}
    with tempfile.TemporaryDirectory(prefix="freezelint-bench-") as tmp:
        scratch = Path(tmp)
        _WORKDIRS.append(Workdirs(scratch / "cwd"))
        caches = CacheDirs(scratch / "cache")
        todo = variants(fz, wanted, caches, _WORKDIRS[0], not args.no_ruff_all)
        for corpus in corpora:
            files, lines, size = fetch_corpus.count(corpus.path)
            report["corpora"][corpus.name] = {"files": files, "lines": lines, "bytes": size,
                                              "description": corpus.description}
            print(f"\n== corpus {corpus.name}: {files} files, {lines:,} lines", flush=True)
            rows = run_corpus(corpus.name, corpus.path.resolve(), lines, files, todo,
                              args.reps, args.quick)
            report["rows"].extend(rows)
            if "freezelint" in wanted:
                report.setdefault("findings", {})[corpus.name] = freezelint_findings(
                    fz, corpus.path.resolve(), scratch)
        if not args.no_single and "freezelint" in wanted:
            print("\n== single file and import time", flush=True)
            report["single"] = single_file(fz, args.single_runs, scratch)
    if snapshot is not None:
        shutil.rmtree(snapshot, ignore_errors=True)

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"run-{stamp}.json").write_text(json.dumps(report, indent=1))
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=1))

    print(f"\n# Results {info['date']} ({info['cores']} cores, {info['cpu']}, "
          f"{info['memory']}; freezelint {fz.version} at {info['commit']})")
    print(f"freezelint flags detected: {info['freezelint_flags']}")
    for corpus in corpora:
        c = report["corpora"][corpus.name]
        print(f"\n## {corpus.name}: {c['files']} files, {c['lines']:,} lines "
              f"({corpus.description})\n")
        print(table([r for r in report["rows"] if r["corpus"] == corpus.name]))
    print("\nx columns: this row's median wall time divided by the reference row's "
          "(>1 = slower than the reference). peak RSS = largest single process "
          "(GNU time %M); tree RSS = sampled sum over the process tree; other CPU = "
          "median share of the machine's CPU that other processes used during the runs "
          "(from /proc/stat: a noise indicator).")
    print("Commands: " + "; ".join(f"{v.label}: {v.command_text}" for v in todo))
    if "single" in report:
        s = report["single"]
        print(f"\n## single file: freezelint check {s['file']} --model ast "
              f"(median of {s['runs']}; cold = {s['cold_how']})\n")
        print(f"- cold: {s['cold_median']:.3f} s (min {s['cold_min']:.3f}), peak RSS "
              f"{s['cold_max_rss_mb']:.0f} MB; torch imported: "
              f"{s['importtime_cold']['torch_imported']}, libcst imported: "
              f"{s['importtime_cold']['libcst_imported']} "
              f"({s['importtime_cold']['libcst_cumulative_ms']:.0f} ms), "
              f"{s['importtime_cold']['modules']} modules")
        print(f"- first run after installing (cold, and no start-up cache yet): "
              f"{s['first_median']:.3f} s (min {s['first_min']:.3f})")
        print(f"- warm: {s['warm_median']:.3f} s (min {s['warm_min']:.3f}), peak RSS "
              f"{s['warm_max_rss_mb']:.0f} MB; torch imported: "
              f"{s['importtime_warm']['torch_imported']}, libcst imported: "
              f"{s['importtime_warm']['libcst_imported']}, "
              f"{s['importtime_warm']['modules']} modules")
        print(f"- findings: {s['findings']}; exit codes {s['exit_codes']}")
        print(f"- `python -c \"import freezelint\"`: {s['import_freezelint_median']:.3f} s "
              f"process (bare `python -c pass`: {s['python_bare_median']:.3f} s); "
              f"-X importtime cumulative {s['import_freezelint_cumulative_ms']:.1f} ms; "
              f"pulls torch: {s['import_freezelint_pulls_torch']}, libcst: "
              f"{s['import_freezelint_pulls_libcst']}")
        print(f"- torch importable by that interpreter: {fz.torch_installed}")
    for name, findings in report.get("findings", {}).items():
        print(f"\n## freezelint findings on {name} ({len(findings)})\n")
        for f in findings:
            print(f"- {f['path']}:{f['line']}:{f['column']}: {f['rule']} {f['message']}")
    print(f"\nraw results: {(RESULTS / 'latest.json').relative_to(REPO)}; each tool's last "
          f"output: bench/.results/<corpus>--<tool>.txt")


if __name__ == "__main__":
    main()
