"""Real-code corpus harness: freezelint on public fine-tuning repositories, findings triaged.

A linter is judged on code it has never seen. This script runs freezelint on a directory of
checked-out repositories (bench/corpus_repos.toml pins them), prints the findings per rule
per repository and the coverage line ("model known at N of M sites"), and compares the
findings with bench/corpus_triage.toml, where a person marked every finding true or false
with a one-line reason after reading the code. CI never fetches, so this is a benchmark,
not a test.

    python bench/corpus_harness.py checkout --out /work/corpus [--mirror /work/.mirror]
    python bench/corpus_harness.py run --corpus /work/corpus [--rev REV] [--new-triage F]

A site is a place where a model-aware rule has something to check: a name test on the names
of `named_parameters()`/`named_modules()` (`'fc' in name`, `name.startswith(...)`), a
freeze (`.requires_grad = ...`, `.requires_grad_()`), an optimizer construction, a
`load_state_dict` call. The model is known at a site when the analysis identified the model
there: freezelint's own count (freezelint/engine/sites.py), which `freezelint check
--statistics` prints and this script reads.

`run` exits 1 when a finding is untriaged or marked false, so a regression shows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib


BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
REPOS_FILE = BENCH / "corpus_repos.toml"
TRIAGE_FILE = BENCH / "corpus_triage.toml"
KEPT_SUFFIXES = (".py", ".ipynb")
KEPT_NAMES = frozenset({"pyproject.toml", "setup.cfg", "ruff.toml", ".ruff.toml",
                        "freezelint.toml"})


@dataclass(frozen=True)
class Repo:
    name: str  # owner/name
    commit: str

    @property
    def directory(self) -> str:
        return self.name.replace("/", "+")


def load_repos() -> list[Repo]:
    with REPOS_FILE.open("rb") as handle:
        return [Repo(r["name"], r["commit"]) for r in tomllib.load(handle)["repo"]]


# -- checkout ----------------------------------------------------------------------------


def checkout(out: Path, mirror: Path | None) -> None:
    """Write each repository's Python files, notebooks and configuration at its pinned
    commit into out/<owner>+<name>/ (blobs missing from a partial mirror are skipped)."""
    for repo in load_repos():
        git_dir = _git_dir(repo, mirror)
        listing = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z",
                                  repo.commit], capture_output=True, check=True).stdout
        wanted: list[tuple[str, str]] = []
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            _, kind, sha = meta.split()
            name = path.decode()
            if kind == b"blob" and (name.endswith(KEPT_SUFFIXES)
                                    or os.path.basename(name) in KEPT_NAMES):
                wanted.append((name, sha.decode()))
        target = out / repo.directory
        written, missing = _write_blobs(git_dir, wanted, target)
        print(f"{repo.name}: {written} files ({missing} missing from the mirror) -> {target}")


def _git_dir(repo: Repo, mirror: Path | None) -> Path:
    if mirror is not None:
        return mirror / repo.directory / "repo"
    cache = Path(tempfile.gettempdir()) / "freezelint-corpus-git" / repo.directory
    if not cache.exists():
        subprocess.run(["git", "clone", "--bare", "--filter=blob:limit=2m",
                        f"https://github.com/{repo.name}.git", str(cache)], check=True)
    return cache


def _write_blobs(git_dir: Path, wanted: list[tuple[str, str]], target: Path) -> tuple[int, int]:
    process = subprocess.Popen(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    written = missing = 0
    for path, sha in wanted:
        process.stdin.write(sha.encode() + b"\n")
        process.stdin.flush()
        header = process.stdout.readline().split()
        if header[-1] == b"missing":
            missing += 1
            continue
        data = process.stdout.read(int(header[2]))
        process.stdout.read(1)
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        written += 1
    process.stdin.close()
    process.wait()
    return written, missing


# -- run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    repo: str
    path: str
    cell: int | None
    line: int
    column: int
    rule: str
    message: str

    @property
    def key(self) -> tuple[str, str, int | None, int, int, str]:
        return (self.repo, self.path, self.cell, self.line, self.column, self.rule)

    @property
    def where(self) -> str:
        cell = f":cell {self.cell}" if self.cell is not None else ""
        return f"{self.path}{cell}:{self.line}:{self.column}"


def _pythonpath(rev: str | None, keep: list[tempfile.TemporaryDirectory[str]]) -> str:
    """The freezelint to run: the working tree, or REV exported with git archive."""
    if rev is None:
        return str(REPO)
    tree = tempfile.TemporaryDirectory(prefix="freezelint-rev-")
    keep.append(tree)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "freezelint"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree.name], input=archive, check=True)
    # With PYTHONDONTWRITEBYTECODE set each run would compile the tree again.
    subprocess.run([sys.executable, "-m", "compileall", "-q", tree.name], check=True)
    return tree.name


def run_freezelint(directory: Path, pythonpath: str, python: str
                   ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[str]]:
    """freezelint's JSON findings on one repository, its own coverage count (the line
    `--statistics` prints: "model known at N of M sites (...)"), None when this freezelint
    does not report one, and the rules that failed with an exception (logged on stderr:
    the other rules' findings are still reported, so only stderr tells)."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    with tempfile.TemporaryDirectory() as cache:
        command = [python, "-m", "freezelint", "check", str(directory), "--exit-zero",
                   "--cache-dir", cache]
        # Run from the empty cache directory: `python -m` puts the working directory first
        # on sys.path, so run from the repository it would import the working tree, not REV.
        findings = subprocess.run([*command, "--output-format", "json"], capture_output=True,
                                  text=True, env=env, cwd=cache)
        if findings.returncode != 0:
            raise SystemExit(f"freezelint failed on {directory}:\n{findings.stderr}")
        # The same files again, from the cache just filled: the coverage line.
        statistics = subprocess.run([*command, "--statistics"], capture_output=True,
                                    text=True, env=env, cwd=cache)
    failed = _FAILED_RULE.findall(findings.stderr)
    return json.loads(findings.stdout), parse_coverage(statistics.stderr), failed


_FAILED_RULE = re.compile(r"^rule (FZL\d+) failed$", re.M)


_COVERAGE = re.compile(r"^model known at (\d+) of (\d+) sites(?: \((.*)\))?$", re.M)
_KIND = re.compile(r"([a-z ]+?) (\d+)/(\d+)")


def parse_coverage(stderr: str) -> dict[str, Any] | None:
    match = _COVERAGE.search(stderr)
    if match is None:
        return None if "All checks passed" not in stderr and "Found" not in stderr \
            else {"checked": 0, "sites": 0, "by_kind": {}}
    by_kind = {kind.strip(): {"checked": int(a), "sites": int(b)}
               for kind, a, b in _KIND.findall(match.group(3) or "")}
    return {"checked": int(match.group(1)), "sites": int(match.group(2)), "by_kind": by_kind}


def _findings(repo: Repo, directory: Path, records: list[dict[str, Any]]) -> list[Finding]:
    found = []
    for record in records:
        if record.get("rule") is None:
            continue  # not a finding (what was not checked)
        start = record["range"]["start"]
        found.append(Finding(repo.name, os.path.relpath(record["path"], directory),
                             record.get("cell"), start["line"], start["column"],
                             record["rule"], record["message"]))
    return found


def load_triage(path: Path) -> dict[tuple[Any, ...], dict[str, Any]]:
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("finding", [])
    return {(e["repo"], e["path"], e.get("cell"), e["line"], e["column"], e["rule"]): e
            for e in entries}


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def triage_entry(finding: Finding, verdict: str, reason: str) -> str:
    cell = f"cell = {finding.cell}\n" if finding.cell is not None else ""
    return (f"[[finding]]\nrepo = {_toml_string(finding.repo)}\n"
            f"path = {_toml_string(finding.path)}\n{cell}line = {finding.line}\n"
            f"column = {finding.column}\nrule = \"{finding.rule}\"\n"
            f"message = {_toml_string(finding.message)}\n"
            f"verdict = \"{verdict}\"\nreason = {_toml_string(reason)}\n")


def run(corpus: Path, rev: str | None, triage_path: Path, new_triage: Path | None,
        python: str, pythonpath: str | None = None, only: set[str] | None = None) -> int:
    keep: list[tempfile.TemporaryDirectory[str]] = []
    pythonpath = pythonpath or _pythonpath(rev, keep)
    triage = load_triage(triage_path)
    all_findings: list[Finding] = []
    totals: Counter[str] = Counter()
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    failures: list[str] = []
    print(f"freezelint from {pythonpath} ({rev or 'working tree'}) on {corpus}\n")
    for repo in load_repos():
        if only and repo.name not in only:
            continue
        directory = corpus / repo.directory
        if not directory.is_dir():
            print(f"{repo.name}: not checked out (run `checkout`)")
            continue
        records, coverage, failed = run_freezelint(directory, pythonpath, python)
        if failed:
            failures.extend(f"{repo.name}: rule {rule} failed" for rule in failed)
        findings = _findings(repo, directory, records)
        all_findings.extend(findings)
        by_rule = Counter(f.rule for f in findings)
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items())) or "none"
        if coverage is None:
            print(f"{repo.name}: findings {rules}; coverage not reported by this freezelint")
            continue
        print(f"{repo.name}: findings {rules}; model known at {coverage['checked']} of "
              f"{coverage['sites']} sites")
        totals.update({"checked": coverage["checked"], "sites": coverage["sites"]})
        for kind, counts in coverage["by_kind"].items():
            per_kind[kind].update(counts)
    kinds = ", ".join(f"{kind} {c['checked']}/{c['sites']}" for kind, c in sorted(per_kind.items()))
    print(f"\ncoverage: model known at {totals['checked']} of {totals['sites']} sites ({kinds})")
    # A rule that raised reported nothing on that file: a bug to fix, never a pass.
    print(f"rule failures: {len(failures)}" + "".join(f"\n  {f}" for f in failures))
    return _compare(all_findings, triage, new_triage, only) or int(bool(failures))


def _compare(findings: list[Finding], triage: dict[tuple[Any, ...], dict[str, Any]],
             new_triage: Path | None, only: set[str] | None = None) -> int:
    verdicts: Counter[str] = Counter()
    untriaged: list[Finding] = []
    print("\nfindings against the triage:")
    for finding in sorted(findings, key=lambda f: f.key):
        entry = triage.get(finding.key)
        verdict = entry["verdict"] if entry else "untriaged"
        verdicts[verdict] += 1
        if entry is None:
            untriaged.append(finding)
        reason = entry["reason"] if entry else finding.message
        print(f"  [{verdict}] {finding.repo} {finding.where} {finding.rule}: {reason}")
    current = {f.key for f in findings}
    repos = {f.repo for f in findings} | set(only or ())
    gone = [entry for key, entry in triage.items() if key not in current
            and (only is None or entry["repo"] in repos)]
    for entry in gone:
        print(f"  [gone, was {entry['verdict']}] {entry['repo']} {entry['path']}:"
              f"{entry['line']} {entry['rule']}: {entry['reason']}")
    print(f"\n{len(findings)} findings: {verdicts['true']} true, {verdicts['false']} false, "
          f"{verdicts['untriaged']} untriaged; {len(gone)} triaged findings gone "
          f"({sum(e['verdict'] == 'false' for e in gone)} of them false)")
    if new_triage is not None:
        entries = [triage_entry(f, "?", "") for f in untriaged]
        new_triage.write_text("\n".join(entries), encoding="utf-8")
        print(f"untriaged findings written to {new_triage} (verdict = \"?\")")
    return 1 if verdicts["false"] or verdicts["untriaged"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    out = sub.add_parser("checkout", help="write the pinned repositories' files")
    out.add_argument("--out", type=Path, required=True)
    out.add_argument("--mirror", type=Path, help="bare git dirs as <owner>+<name>/repo")
    go = sub.add_parser("run", help="lint the corpus, print coverage, compare with the triage")
    go.add_argument("--corpus", type=Path, required=True)
    go.add_argument("--rev", help="freezelint as committed at REV (default: working tree)")
    go.add_argument("--triage", type=Path, default=TRIAGE_FILE)
    go.add_argument("--new-triage", type=Path, help="write untriaged findings here as TOML")
    go.add_argument("--python", default=sys.executable)
    go.add_argument("--pythonpath", help="run the freezelint found in this directory instead")
    go.add_argument("--only", help="comma-separated owner/name: only these repositories (the "
                                   "triage comparison then covers only them too)")
    args = parser.parse_args(argv)
    if args.command == "checkout":
        checkout(args.out, args.mirror)
        return 0
    only = set(args.only.split(",")) if args.only else None
    return run(args.corpus, args.rev, args.triage, args.new_triage, args.python,
               args.pythonpath, only)


if __name__ == "__main__":
    sys.exit(main())
