"""The `freezelint` command: check, explain, models, params, rule, run, version.

A front end only: it reads files (`source`), resolves the model once (`models.resolve`),
calls `lint()` per file and hands the results to `report`. Exit codes follow Ruff:
0 clean, 1 findings, 2 usage or input error (2 wins over 1). No path prints a traceback:
a bad file is reported and the run goes on; a bug becomes `path: internal error: ...`.

torch is never imported on the way to linting against the zoo, a checkpoint or a manifest
file; only a user's own model (`pkg.mod:make_model`) needs it, and that is built in a
subprocess.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from freezelint import __version__
from freezelint.cli.report import MACHINE_FORMATS, OUTPUT_FORMATS, TEXT_FORMATS
from freezelint.common.terminal import visible
from freezelint.common.words import human, plural
from freezelint.engine.cache import DEFAULT_DIRECTORY as DEFAULT_CACHE_DIRECTORY
from freezelint.engine.config import closest, known_codes
from freezelint.engine.static_models import read_class
from freezelint.models.manifest import Manifest
from freezelint.models.resolve import ModelSpecError, resolve_model

if TYPE_CHECKING:
    from freezelint.cli.job import FixMode
    from freezelint.cli.report import FileResult
    from freezelint.engine.config import ConfigFinder, ProjectConfig

STDIN = "-"
# Set by a command after which nothing needs Python's own exit: startup.main then ends the
# process at once (`check` starts no thread and leaves no worker process or file open).
_SKIP_TEARDOWN = False


def _resume_collection_unless_ending() -> None:
    """The collector back on when `check` ends (cli/batch.py paused it), unless the process
    ends right after without Python's teardown (startup.py): re-enabled there, it would run
    one full collection of everything the run made, ~15 ms, for nothing."""
    from freezelint.cli.batch import resume_collection
    from freezelint.common.process import owns_the_process

    if not owns_the_process():
        resume_collection()


def may_skip_teardown() -> bool:
    """Whether the command that ran lets the process end without Python's teardown."""
    return _SKIP_TEARDOWN


class _Cli(click.Group):
    """A group whose unexpected exceptions end in one line and exit 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort, BrokenPipeError):
            raise  # click reports these itself (a closed pipe exits quietly)
        except Exception as error:  # a bug: say so in one line
            click.echo(f"freezelint: internal error: {_describe(error)}", err=True)
            ctx.exit(2)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="freezelint",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Model-aware linter for PyTorch fine-tuning code."""


# -- shared options ----------------------------------------------------------------------


def _model_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--model", "model_spec", metavar="SPEC",
                     help="Model to lint against: a zoo id (ast, resnet50), ast(label_dim=10), "
                          "a manifest .json, a checkpoint (.pt .pth .bin .ckpt .safetensors) "
                          "or your own pkg.module:callable / file.py:Class."),
        click.option("--model-arg", "model_args", metavar="KEY=VALUE", multiple=True,
                     help="Constructor argument for --model; the value is a Python literal "
                          "or else a string. Repeatable."),
        click.option("--trust-local-models/--no-trust-local-models", default=True,
                     show_default=True,
                     help="Allow --model to name your own model code, which is then run "
                          "(in a subprocess, on the meta device) to read its names. Model "
                          "directives inside source files never run code."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _parse_model_args(values: tuple[str, ...]) -> dict[str, Any]:
    """`label_dim=10` -> {"label_dim": 10}; a value that is no Python literal stays a
    string, so `model_size=base384` needs no quoting in a shell."""
    kwargs: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}",
                                     param_hint="'--model-arg'")
        try:
            kwargs[key] = ast.literal_eval(raw.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            kwargs[key] = raw.strip()
    return kwargs


def _resolve_explicit(spec: str | None, args: tuple[str, ...], trust: bool) -> Manifest | None:
    """The --model manifest, resolved once for the whole run; any problem is a usage error
    (exit 2, nothing linted) since every file would be linted against the wrong model."""
    kwargs = _parse_model_args(args)
    if spec is None:
        if kwargs:
            raise click.BadParameter("needs --model", param_hint="'--model-arg'")
        return None
    try:
        return resolve_model(spec, kwargs, base_dir=Path.cwd(), allow_user_code=trust,
                             read_class=read_class)
    except ModelSpecError as error:
        raise click.BadParameter(str(error), param_hint="'--model'") from None


# -- check -------------------------------------------------------------------------------

DEFAULT_CACHE_DIR = Path(DEFAULT_CACHE_DIRECTORY)
PROGRESS_MIN_FILES = 20


class ConfigProblem(click.ClickException):
    """A configuration file that cannot be used: `Error: <file>: <why>`, exit 2."""

    exit_code = 2


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_model_options
@click.option("--checkpoint", "checkpoint_path", metavar="PATH",
              help="Checkpoint whose keys and shapes the code loads (read from its header; "
                   "no torch, no unpickling of code).")
@click.option("--select", metavar="CODES",
              help="Only these rules: comma-separated codes or prefixes (FZL1,FZL201). "
                   "Replaces the configuration's select, extend-select and ignore.")
@click.option("--extend-select", metavar="CODES",
              help="Add these rules to the selection, e.g. the opt-in FZL900.")
@click.option("--ignore", metavar="CODES", help="Skip these rules (codes or prefixes).")
@click.option("--config", "config_file", metavar="PATH",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Use this configuration file (pyproject.toml or freezelint.toml) for "
                   "every file instead of the nearest one.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="full",
              show_default=True)
@click.option("-o", "--output-file", metavar="PATH",
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("--statistics", "show_statistics", is_flag=True,
              help="Print the number of findings per rule instead of each finding.")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when problems are found (input errors still exit 2).")
@click.option("--fix", is_flag=True, help="Apply safe fixes and write the files back.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None,
              help="Also apply fixes that may change behaviour (with --fix or --diff).")
@click.option("--diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing; exit 1 if any.")
@click.option("--show-fixes", is_flag=True, help="With --fix, list the fixes applied.")
@click.option("--add-noqa", is_flag=True,
              help="Add a `# noqa: FZL...` comment to every line with a finding, to "
                   "baseline an existing code base.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for many files.  [default: number of cores]")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where results of unchanged files are kept (share it in CI).  "
                   "[default: .freezelint_cache]")
@click.option("--no-cache", is_flag=True, help="Lint every file again.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also report on stderr what went wrong inside freezelint's analysis "
                   "(internal errors, with the line of the file they happened on).")
@click.option("--shard", metavar="I/N", callback=lambda ctx, param, value: _parse_shard(value),
              help="Check only the I-th of N equal parts of the files (1-based), for CI jobs "
                   "in parallel; their JSON reports concatenate into the whole one.")
def check(paths: tuple[str, ...], model_spec: str | None, model_args: tuple[str, ...],
          trust_local_models: bool, checkpoint_path: str | None, select: str | None,
          extend_select: str | None, ignore: str | None, config_file: Path | None,
          isolated: bool, output_format: str, output_file: Path | None,
          show_statistics: bool, exit_zero: bool, fix: bool, unsafe_fixes: bool | None,
          diff: bool, show_fixes: bool, add_noqa: bool, jobs: int | None,
          cache_dir: Path | None, no_cache: bool, verbose: bool,
          shard: tuple[int, int] | None) -> None:
    """Lint Python files and directories (`-` reads stdin).

    Each file is checked with the nearest configuration above it ([tool.freezelint] in
    pyproject.toml, or freezelint.toml); options given here override it."""
    from freezelint.cli.batch import check_all, default_jobs, pause_collection
    from freezelint.cli.job import FixMode
    from freezelint.engine.config import ConfigError, ConfigFinder
    from freezelint.inputs.source import discover

    global _SKIP_TEARDOWN
    _SKIP_TEARDOWN = True
    ctx = click.get_current_context()
    pause_collection()
    ctx.call_on_close(_resume_collection_unless_ending)
    if verbose:
        _log_to_stderr(ctx)
    if config_file is not None and isolated:
        raise click.UsageError("--config and --isolated cannot be used together.")
    if add_noqa and (fix or diff):
        raise click.UsageError("--add-noqa cannot be combined with --fix or --diff.")
    if add_noqa and STDIN in paths:
        raise click.UsageError("--add-noqa writes files: it cannot read stdin.")

    finder = ConfigFinder(config_file, isolated)
    try:
        run_config = finder.for_path(Path.cwd())
    except ConfigError as error:
        raise ConfigProblem(str(error)) from None
    options = _Options(
        select=_parse_codes(select, "--select"),
        extend_select=_parse_codes(extend_select, "--extend-select") or frozenset(),
        ignore=_parse_codes(ignore, "--ignore") or frozenset(),
        model=_resolve_explicit(model_spec, model_args, trust_local_models),
        checkpoint=_read_checkpoint(checkpoint_path),
        trust=trust_local_models
        if ctx.get_parameter_source("trust_local_models") is ParameterSource.COMMANDLINE
        else None,
        unsafe=unsafe_fixes,
        mode=FixMode(apply=fix, diff=diff, show=show_fixes, add_noqa=add_noqa),
        locate_unchecked=output_format not in TEXT_FORMATS,
    )
    if not no_cache and cache_dir is None:
        cache_dir = (run_config.resolve_path(run_config.cache_dir)
                     if run_config is not None and run_config.cache_dir else DEFAULT_CACHE_DIR)
    if jobs is None:
        jobs = run_config.jobs if run_config is not None and run_config.jobs else default_jobs()

    targets = [STDIN] if STDIN in paths else []
    unreadable_dirs: list[str] = []
    targets += [str(p) for p in discover((p for p in paths if p != STDIN), unreadable_dirs)]
    _refuse_overwriting_an_input(output_file, targets)
    if shard is not None:  # every I-th file of the sorted list: shards are disjoint and even
        index, count = shard
        targets = targets[index - 1::count]
    try:
        groups = _plan(targets, finder, options, None if no_cache else cache_dir)
    except ConfigError as error:
        raise ConfigProblem(str(error)) from None

    results: list[FileResult] = []
    for message in unreadable_dirs:
        click.echo(message, err=True)
    unreadable = len(unreadable_dirs)
    machine = output_format in MACHINE_FORMATS
    progress = _Progress(len(targets), enabled=_stderr_is_terminal()
                         and len(targets) > PROGRESS_MIN_FILES)
    for settings, group in groups:
        for outcome in check_all(group, settings, jobs):
            progress.advance()
            for message in outcome.messages:
                progress.clear()
                click.echo(visible(message), err=True)  # paths, directive specs: escaped
            if outcome.stdout is not None:
                click.echo(outcome.stdout, nl=False)
            if outcome.result is None or outcome.failed:  # failed: checked, not written
                unreadable += 1
            if outcome.result is not None:
                results.append(outcome.result)
    progress.clear()

    if add_noqa:
        ctx.exit(_report_noqa(results, unreadable))
    if diff:
        changed = [r for r in results if r.fixed_text is not None]
        click.echo("".join(_unified_diff(r) for r in changed), nl=False)
        fixes = sum(r.applied for r in changed)
        click.echo(f"Would fix {plural(fixes, 'problem')}." if fixes else "No fixes available.",
                   err=True)
        ctx.exit(2 if unreadable else 1 if changed else 0)

    # With `--fix -` stdout carries the fixed source: the report goes to stderr (or -o).
    to_stderr = options.mode.writes_stdout(STDIN) and STDIN in targets and output_file is None
    color = output_format == "full" and output_file is None and not to_stderr and _use_color()
    unsafe = bool(unsafe_fixes if unsafe_fixes is not None
                  else run_config is not None and run_config.unsafe_fixes)
    _emit(_render(results, output_format, show_statistics, unsafe, color), output_file,
          to_stderr)
    if not machine:
        if show_fixes:
            click.echo(_fixes_report(results), nl=False, err=True)
        fixed = sum(r.applied for r in results)
        if fix and fixed:
            click.echo(f"Fixed {plural(fixed, 'problem')}.", err=True)
        from freezelint.cli.report import coverage_statistics, summary

        if show_statistics and (coverage := coverage_statistics(results)):
            click.echo(coverage, err=True)
        click.echo(summary(results, unreadable), err=True)

    if unreadable:
        ctx.exit(2)
    if not exit_zero and any(r.diagnostics for r in results):
        ctx.exit(1)


def _refuse_overwriting_an_input(output_file: Path | None, targets: list[str]) -> None:
    """`-o b.py` with b.py among the files checked would replace the code with the report."""
    if output_file is None or not output_file.exists():
        return
    for target in targets:
        with contextlib.suppress(OSError):
            if target != STDIN and os.path.samefile(target, output_file):
                raise click.BadParameter(f"{output_file} is one of the files being checked: "
                                         "the report would replace it",
                                         param_hint="'-o' / '--output-file'")


@dataclass(frozen=True)
class _Options:
    """What the command line says, before any configuration file is consulted."""

    select: frozenset[str] | None  # None: not given; containing "ALL": every rule
    extend_select: frozenset[str]
    ignore: frozenset[str]
    model: Manifest | None  # --model, already resolved
    checkpoint: Manifest | None
    trust: bool | None  # --[no-]trust-local-models when given explicitly
    unsafe: bool | None
    mode: FixMode
    locate_unchecked: bool = True  # the output format shows where (report.py _not_checked)


def _plan(targets: list[str], finder: ConfigFinder, options: _Options, cache_dir: Path | None
          ) -> list[tuple[Any, list[str]]]:
    """Group the files by their effective configuration, one cli.job.GroupConfig per group.

    Command-line options override the configuration: --select replaces its select,
    extend-select and ignore, --ignore and --extend-select add to them, --model replaces model and
    per-file-models, --checkpoint and --[no-]unsafe-fixes replace theirs. Models and
    checkpoints are resolved once each, however many groups use them."""
    from freezelint.cli.job import GroupConfig
    from freezelint.engine import selection

    keyed: dict[tuple[Any, ...], list[str]] = {}
    configs: dict[tuple[Any, ...], Any] = {}
    trusts: list[bool] = []
    for target in targets:
        path = Path.cwd() if target == STDIN else Path(target)
        config = finder.for_path(path)
        rules = selection.for_file(config, None if target == STDIN else path,
                                   select=options.select, extend_select=options.extend_select,
                                   ignore=options.ignore, replaces_project=True)
        select, extend, ignore = rules.select, rules.extend_select, rules.ignore
        model = None
        if options.model is None and config is not None:
            chosen = config.model_for(None if target == STDIN else path)
            if chosen is not None:
                if not trusts:  # read the user's configuration once per run, if needed
                    trusts.append(_trust(options.trust))
                model = (chosen[0], json.dumps(chosen[1], sort_keys=True, default=repr),
                         str(config.path), trusts[0])
        checkpoint = (config.checkpoint if options.checkpoint is None and config is not None
                      else None)
        checkpoint_key = str(config.resolve_path(checkpoint)) if checkpoint and config else None
        unsafe = options.unsafe if options.unsafe is not None else bool(
            config is not None and config.unsafe_fixes)
        key = (model, checkpoint_key, select, extend, ignore, unsafe)
        keyed.setdefault(key, []).append(target)
        configs.setdefault(key, config)

    models: dict[Any, Manifest] = {}
    checkpoints: dict[str, Manifest] = {}
    groups = []
    for key, group in keyed.items():
        model_key, checkpoint_key, select, extend, ignore, unsafe = key
        config = configs[key]
        manifest = options.model
        if model_key is not None:
            if model_key not in models:
                models[model_key] = _config_model(config, model_key,
                                                  refused_by_flag=options.trust is False)
            manifest = models[model_key]
        keys = options.checkpoint
        if checkpoint_key is not None:
            if checkpoint_key not in checkpoints:
                checkpoints[checkpoint_key] = _config_checkpoint(config, checkpoint_key)
            keys = checkpoints[checkpoint_key]
        mode = replace(options.mode, unsafe=unsafe)
        groups.append((GroupConfig(model=manifest, checkpoint=keys, select=select,
                                   extend_select=extend, ignore=ignore, mode=mode,
                                   cache_dir=cache_dir,
                                   locate_unchecked=options.locate_unchecked), group))
    return groups


def _log_to_stderr(ctx: click.Context) -> None:
    """--verbose: freezelint's log records (the analysis's internal errors) on stderr, for
    the length of the command."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("freezelint: %(message)s"))
    logger = logging.getLogger("freezelint")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    ctx.call_on_close(restore)


def _trust(flag: bool | None) -> bool:
    """Whether the user lets a configured model be their own code: --[no-]trust-local-models
    when given, else their own configuration file (never the project's, see config.py)."""
    from freezelint.engine.config import user_trusts_local_models

    return flag if flag is not None else user_trusts_local_models()


def _config_model(config: ProjectConfig, key: tuple[str, str, str, bool],
                  refused_by_flag: bool = False) -> Manifest:
    """A model named in a configuration file, relative to its directory. The user's own
    code runs only when the user trusts it (`_trust`)."""
    from freezelint.engine.config import ConfigError, user_config_path
    from freezelint.models.specs import is_user_model_spec

    spec, kwargs, _, trust = key
    if not trust and is_user_model_spec(spec.partition("(")[0].strip()):
        try:  # a class read from its source runs nothing: no trust needed
            return resolve_model(spec, json.loads(kwargs), base_dir=config.directory,
                                 allow_user_code=False, read_class=read_class)
        except ModelSpecError:
            pass
        if refused_by_flag:
            raise ConfigError(f"{config.path}: model {spec!r} is your own code, and "
                              "--no-trust-local-models forbids building it (which runs it)")
        project = (" The project's own `trust-local-models = true` cannot grant that: a "
                   "repository being linted must not decide to run its code."
                   if config.trust_local_models else "")
        raise ConfigError(
            f"{config.path}: model {spec!r} is your own code, and building it runs that code: "
            "pass --trust-local-models to allow it, or set `trust-local-models = true` in "
            f"your own {user_config_path()} to allow it in every project.{project}")
    try:
        return resolve_model(spec, json.loads(kwargs), base_dir=config.directory,
                             allow_user_code=trust, read_class=read_class)
    except ModelSpecError as error:
        raise ConfigError(f"{config.path}: model {spec!r}: {error}") from None


def _config_checkpoint(config: ProjectConfig, path: str) -> Manifest:
    from freezelint.engine.config import ConfigError
    from freezelint.models.checkpoint import CheckpointError, read_checkpoint

    try:
        return read_checkpoint(path)
    except CheckpointError as error:
        raise ConfigError(f"{config.path}: checkpoint: {error}") from None


def _render(results: list[FileResult], output_format: str, show_statistics: bool,
            unsafe: bool, color: bool) -> str:
    from freezelint.cli import report

    if show_statistics:
        return report.render_statistics(results, unsafe,
                                        as_json=output_format in ("json", "json-lines"))
    renderers: dict[str, Callable[[list[FileResult]], str]] = {
        "concise": report.render_concise,
        "json": report.render_json,
        "json-lines": report.render_json_lines,
        "sarif": report.render_sarif,
        "github": report.render_github,
    }
    if output_format in renderers:
        return renderers[output_format](results)
    return report.render_full(results, color=color)


def _emit(output: str, output_file: Path | None, to_stderr: bool) -> None:
    """The report to stdout (stderr with `--fix -`), or to -o/--output-file."""
    if output_file is None:
        click.echo(output, nl=False, color=True, err=to_stderr)
        return
    try:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(output, encoding="utf-8")
    except OSError as error:
        raise ConfigProblem(f"cannot write {output_file}: {error.strerror or error}") from None


def _report_noqa(results: list[FileResult], unreadable: int) -> int:
    """Ruff's line for --add-noqa, and the exit status: 0 unless a file could not be read
    or written (the findings are silenced, not fixed, so they do not count)."""
    added = sum(r.noqa_added for r in results)
    click.echo(f"Added {plural(added, 'noqa directive')}.", err=True)
    left = sum(len(r.diagnostics) for r in results)
    if left:
        click.echo(f"{plural(left, 'finding')} left without a comment: syntax errors, "
                   "unused suppressions, and lines that end inside a string or with a "
                   "backslash cannot take one.", err=True)
    return 2 if unreadable else 0


class _Progress:
    """`Checking 40/300 files` on stderr, rewritten in place and erased at the end: only
    for a person at a terminal, on a run long enough to wait for, at most 10 updates a
    second. Lines printed meanwhile (a file's error) first erase it."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.shown = 0  # width of what is on screen
        self.last = 0.0

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and self.done < self.total:
            return
        self.last = now
        text = f"Checking {self.done}/{self.total} files"
        click.echo("\r" + text.ljust(self.shown), nl=False, err=True)
        self.shown = len(text)

    def clear(self) -> None:
        if self.shown:
            click.echo("\r" + " " * self.shown + "\r", nl=False, err=True)
            self.shown = 0


def _stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise click.BadParameter(f"{value!r} is not I/N with 1 <= I <= N", param_hint="'--shard'")
    return int(match.group(1)), int(match.group(2))


def _read_checkpoint(path: str | None) -> Manifest | None:
    """`--checkpoint`: a usage error (exit 2) when it cannot be read."""
    if path is None:
        return None
    from freezelint.models.checkpoint import CheckpointError, read_checkpoint

    try:
        return read_checkpoint(path)
    except CheckpointError as error:
        raise click.UsageError(f"--checkpoint: {error}") from None


# A line as Python and patch(1) count them: ended by \r\n, \r or \n only (str.splitlines
# also splits at form feeds and other separators, which shifts the hunks' line numbers).
_DIFF_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _unified_diff(result: FileResult) -> str:
    """A patch `patch -p1` / `git apply` accept, a last line without newline included.
    A notebook gets one diff per changed cell, headed `nb.ipynb:cell N` as Ruff's, with
    line numbers counted within the cell (not a patch: the file is JSON)."""
    if result.cells is not None and result.fixed_cells is not None:
        cells = zip(result.cells.numbers, result.cells.sources, result.fixed_cells.sources,
                    strict=True)
        return "".join(_diff(_ended(old), _ended(new), f"{result.path}:cell {number}",
                             f"{result.path}:cell {number}")
                       for number, old, new in cells if old != new)
    assert result.fixed_text is not None and result.text is not None
    return _diff(result.text, result.fixed_text, f"a/{result.path}", f"b/{result.path}")


def _ended(cell: str) -> str:
    """A cell's source with a final newline: Jupyter stores none, and a diff of every cell
    saying `No newline at end of file` would be noise."""
    return cell if not cell or cell.endswith(("\n", "\r")) else cell + "\n"


def _diff(old: str, new: str, fromfile: str, tofile: str) -> str:
    import difflib

    lines = []
    for line in difflib.unified_diff(_DIFF_LINE.findall(old), _DIFF_LINE.findall(new),
                                     fromfile=fromfile, tofile=tofile):
        lines.append(line)
        if not line.endswith(("\n", "\r")):
            lines.append("\n\\ No newline at end of file\n")
    return "".join(lines)


def _fixes_report(results: list[FileResult]) -> str:
    lines = []
    for result in results:
        for rule_id, count in result.fixed_rules.items():
            lines.append(f"{result.path}: fixed {count} x {rule_id}\n")
    return "".join(lines) if lines else "No fixes applied.\n"


def _parse_codes(value: str | None, option: str) -> frozenset[str] | None:
    """`FZL101, fzl2` -> {"FZL101", "FZL2"}; every item must be a code or a prefix of one,
    since a typo would otherwise silently select nothing (or ignore nothing)."""
    from freezelint.engine.config import validate_codes

    if value is None:
        return None
    try:
        codes = validate_codes(value.split(","))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=f"'{option}'") from None
    return codes or None  # `--select ""` from an empty CI variable: as if not given


def _use_color() -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


# -- models ------------------------------------------------------------------------------


@main.command()
@click.argument("filter_text", metavar="[FILTER]", required=False)
@click.option("--library", type=click.Choice(["torchvision", "timm", "transformers", "freezelint"]),
              help="Only the models of this library.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def models(filter_text: str | None, library: str | None, as_json: bool) -> None:
    """List the built-in model zoo, or the models whose id, alias or description contains
    FILTER (case ignored): `freezelint models convnext`. Exit 1 when nothing matches."""
    from freezelint.models.zoo import zoo_entries

    entries = zoo_entries()
    if library:
        entries = [e for e in entries if e["library"] == library]
    if filter_text:
        needle = filter_text.lower()
        entries = [e for e in entries
                   if needle in e["id"].lower() or needle in e["description"].lower()
                   or any(needle in alias.lower() for alias in e["aliases"])]
    if not entries:
        shown = f" matches {filter_text!r}" if filter_text else " in that library"
        click.echo(f"No zoo model{shown}.", err=True)
        raise SystemExit(1)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    rows = [("ID", "LIBRARY", "PARAMS", "DESCRIPTION")]
    rows += [(e["id"], e["library"], str(e["parameters"]), e["description"]) for e in entries]
    click.echo(_table(rows, right_aligned={2}))


# -- params ------------------------------------------------------------------------------


@main.command()
@_model_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the manifest JSON (accepted back by --model file.json).")
@click.option("--flat", is_flag=True,
              help="One line per parameter (name, shape, dtype) instead of the tree.")
def params(model_spec: str | None, model_args: tuple[str, ...], trust_local_models: bool,
           as_json: bool, flat: bool) -> None:
    """Show a model's module tree with parameter counts.

    --flat lists every parameter (name, shape, dtype); --json prints the manifest."""
    if model_spec is None:
        raise click.UsageError("Missing option '--model'.")
    manifest = _resolve_explicit(model_spec, model_args, trust_local_models)
    assert manifest is not None
    if as_json:
        click.echo(manifest.dumps(), nl=False)
        return
    if not flat:
        from freezelint.cli.tree import draw

        _echo_rich(draw(manifest))
    rows = [(p.name, _shape(p.shape) if p.sized else "?", p.dtype) for p in manifest.parameters]
    if rows and flat:
        click.echo(_table(rows))
    if manifest.buffers and flat:
        click.echo("\nbuffers:")
        click.echo(_table([(b.name, _shape(b.shape) if b.sized else "?", b.dtype
                            + ("" if b.persistent else "  (not in state_dict)"))
                           for b in manifest.buffers]))
    total = (f"{plural(len(manifest.parameters), 'parameter')}, "
             + (f"{human(manifest.total_numel)} elements" if manifest.sized
                else "some shapes unknown"))
    if manifest.buffers:
        total += f", {plural(len(manifest.buffers), 'buffer')}"
    prefix = manifest.meta.get("stripped_prefix")
    if prefix:
        total += f" (checkpoint keys carry the prefix {prefix!r}, shown without it)"
    click.echo(total)


def _echo_rich(renderable: object) -> None:
    """Print a rich renderable: colour only for a terminal without NO_COLOR, box-drawing
    characters only when stdout can encode them."""
    from freezelint.cli.tree import render

    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "├─│└".encode(encoding)
        ascii_only = False
    except (UnicodeEncodeError, LookupError):
        ascii_only = True
    color = _use_color()
    click.echo(render(renderable, color=color, ascii_only=ascii_only), color=color)


# -- explain -----------------------------------------------------------------------------


class _InputError(click.ClickException):
    """A file that cannot be explained: `Error: <file>: <why>`, exit 2."""

    exit_code = 2


@main.command()
@click.argument("path", metavar="PATH")
@_model_options
def explain(path: str, model_spec: str | None, model_args: tuple[str, ...],
            trust_local_models: bool) -> None:
    """Show what a script or notebook leaves trainable.

    Draws the model's module tree after the script's freezing: trainable and frozen per
    module, the totals and what each optimizer gets. The model is found as for `check`:
    --model, else the configuration's (per-file-)model, else a `# freezelint: model=...`
    comment, else detected from its constructor."""
    from freezelint.cli.batch import DirectiveResolver, read_input
    from freezelint.cli.report import location
    from freezelint.cli.tree import explanation
    from freezelint.engine.config import ConfigError
    from freezelint.engine.lint import LintConfig, analyze
    from freezelint.inputs.notebook import is_notebook, read_notebook
    from freezelint.inputs.source import SourceError, read_source

    model = _resolve_explicit(model_spec, model_args, trust_local_models)
    trust = (trust_local_models if click.get_current_context().get_parameter_source(
        "trust_local_models") is ParameterSource.COMMANDLINE else None)
    try:
        configured_model, checkpoint = _configured_model(Path(path), trust,
                                                         with_model=model is None)
    except ConfigError as error:
        raise ConfigProblem(str(error)) from None
    model = model or configured_model
    cells = None
    skipped = 0  # notebook cells left out because they do not parse
    try:
        if is_notebook(path):
            notebook = read_notebook(read_input(path))
            prepared = notebook.prepare()
            text, cells, skipped = prepared.text, notebook.cells, len(prepared.skipped)
        else:
            text = read_source(path).text
    except OSError as error:
        raise _InputError(f"{path}: {error.strerror or error}") from None
    except SourceError as error:
        raise _InputError(f"{path}: {error}") from None
    warnings: list[str] = []
    config = LintConfig(model=model, path=Path(path), checkpoint=checkpoint,
                        resolve_spec=DirectiveResolver().for_file(path, warnings))
    try:
        analysis = analyze(text, config)
    except SourceError as error:  # nested deeper than the parser can take
        raise _InputError(f"{path}: {error}") from None
    for warning in warnings:  # an unusable `# freezelint: model=` directive
        click.echo(warning, err=True)
    if not analysis.models:
        raise _InputError(
            f"{path}: no model found; name it with --model, a `# freezelint: model=...` "
            "comment, or a constructor freezelint knows (ASTModel(...), resnet50(...), ...)")
    problems = len(analysis.diagnostics) + skipped
    _echo_rich(explanation(analysis, lambda span: location(path, span, cells), path,
                           problems))


def _configured_model(path: Path, trust: bool | None, with_model: bool
                      ) -> tuple[Manifest | None, Manifest | None]:
    """The model (unless --model replaces it) and checkpoint that the configuration governing
    `path` names, resolved as `check` resolves them (trust: --[no-]trust-local-models when
    given, else the file's own setting)."""
    from freezelint.engine.config import ConfigFinder

    config = ConfigFinder().for_path(path)
    if config is None:
        return None, None
    model = None
    chosen = config.model_for(path) if with_model else None
    if chosen is not None:
        spec, kwargs = chosen
        key = (spec, json.dumps(kwargs, sort_keys=True, default=repr), str(config.path),
               _trust(trust))
        model = _config_model(config, key, refused_by_flag=trust is False)
    checkpoint = None
    if config.checkpoint:
        checkpoint = _config_checkpoint(config, str(config.resolve_path(config.checkpoint)))
    return model, checkpoint


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"






def _table(rows: Sequence[tuple[str, ...]], right_aligned: frozenset[int] | set[int] = frozenset()
           ) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in right_aligned else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# -- rule --------------------------------------------------------------------------------


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Print every rule.")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable: id, name, severity, fix safety, url, summary, body.")
def rule(code: str | None, show_all: bool, as_json: bool) -> None:
    """Print the documentation of a rule: freezelint rule FZL101."""
    from freezelint.common.rule_docs import RuleDoc, all_rule_docs, rule_doc

    def render(doc: RuleDoc) -> str:
        body = doc.body.strip()
        return f"{body}\n" if body.startswith("# ") else f"# {doc.title}\n\n{body}\n"

    def record(doc: RuleDoc) -> dict[str, str]:
        return {"id": doc.id, "name": doc.name, "severity": doc.severity.value, "fix": doc.fix,
                "url": doc.url, "summary": doc.summary, "body": doc.body.strip()}

    if show_all:
        docs = list(all_rule_docs().values())
        if not docs:
            raise click.ClickException("no rule documentation found")
        if as_json:
            click.echo(json.dumps([record(doc) for doc in docs], indent=2))
        else:
            click.echo("\n".join(render(doc) for doc in docs), nl=False)
        return
    if code is None:
        raise click.UsageError("Give a rule code (freezelint rule FZL101) or --all.")
    doc = rule_doc(code.strip())
    if doc is None:
        close = closest(code.strip().upper(), sorted(all_rule_docs()) or known_codes())
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise click.BadParameter(f"unknown rule {code!r}{hint}", param_hint="'CODE'")
    if as_json:
        click.echo(json.dumps(record(doc), indent=2))
    else:
        click.echo(render(doc), nl=False)


# -- lsp ---------------------------------------------------------------------------------


@main.command()
@click.option("--tcp", "tcp_port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Listen on 127.0.0.1:PORT instead of stdio (for debugging).")
@click.option("--stdio", is_flag=True,
              help="Talk over stdin/stdout (the default; accepted because clients such as "
                   "vscode-languageclient pass it).")
def lsp(tcp_port: int | None, stdio: bool) -> None:
    """Run the language server (stdio by default)."""
    from freezelint.lsp import serve

    serve(tcp_port)


# -- run ---------------------------------------------------------------------------------


@main.command(context_settings={"ignore_unknown_options": True,
                                "allow_interspersed_args": False})
@click.option("--frozen-bn", type=click.Choice(["eval"]), default=None,
              help="Also report BatchNorm layers whose parameters are frozen but that are "
                   "in training mode (FZL108).")
@click.argument("script", type=click.Path(exists=True, dir_okay=False))
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED, metavar="[ARGS]...")
def run(script: str, script_args: tuple[str, ...], frozen_bn: str | None) -> None:
    """Run a training script with the runtime audit hooked into its first optimizer.

    The report (a table of what trains, then the problems) goes to stderr when the first
    optimizer is built, and anything new at its first step(); the script goes on, and its
    exit code is freezelint's. Options after SCRIPT are the script's own.
    """
    try:  # torch is an extra: say so instead of an internal error
        from freezelint.runtime.runner import run_script
    except ModuleNotFoundError as error:
        if error.name != "torch":
            raise
        raise click.ClickException("freezelint run needs torch: "
                                   "pip install 'freezelint[torch]'") from None
    code = run_script(script, script_args, frozen_bn=frozen_bn)  # type: ignore[arg-type]
    click.get_current_context().exit(code)


# -- version -----------------------------------------------------------------------------


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"freezelint {__version__}")


# -- helpers -----------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    from freezelint.common.errors import describe_error

    return describe_error(error)
