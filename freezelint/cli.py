"""The `freezelint` command: check, models, params, rule, run, version.

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
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from freezelint import __version__
from freezelint.models.manifest import Manifest
from freezelint.models.resolve import ModelSpecError, resolve_model

if TYPE_CHECKING:  # lint and report import libcst; `freezelint version` need not wait
    from freezelint.report import FileResult

STDIN = "-"


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
        return resolve_model(spec, kwargs, base_dir=Path.cwd(), allow_user_code=trust)
    except ModelSpecError as error:
        raise click.BadParameter(str(error), param_hint="'--model'") from None


# -- check -------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_model_options
@click.option("--checkpoint", "checkpoint_path", metavar="PATH",
              help="Checkpoint whose keys and shapes the code loads (read from its header; "
                   "no torch, no unpickling of code).")
@click.option("--select", metavar="CODES",
              help="Only these rules: comma-separated codes or prefixes (FZL1,FZL201).")
@click.option("--ignore", metavar="CODES", help="Skip these rules (codes or prefixes).")
@click.option("--output-format", type=click.Choice(["full", "concise", "json"]),
              default="full", show_default=True)
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when problems are found (input errors still exit 2).")
@click.option("--fix", is_flag=True, help="Apply safe fixes and write the files back.")
@click.option("--unsafe-fixes", is_flag=True,
              help="Also apply fixes that may change behaviour (with --fix or --diff).")
@click.option("--diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing; exit 1 if any.")
@click.option("--show-fixes", is_flag=True, help="With --fix, list the fixes applied.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for many files.  [default: number of cores]")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".freezelint_cache"), show_default=True,
              help="Where results of unchanged files are kept (share it in CI).")
@click.option("--no-cache", is_flag=True, help="Lint every file again.")
def check(paths: tuple[str, ...], model_spec: str | None, model_args: tuple[str, ...],
          trust_local_models: bool, select: str | None, ignore: str | None,
          output_format: str, exit_zero: bool, fix: bool, unsafe_fixes: bool, diff: bool,
          show_fixes: bool, checkpoint_path: str | None, jobs: int | None, cache_dir: Path,
          no_cache: bool) -> None:
    """Lint Python files and directories (`-` reads stdin)."""
    from freezelint.report import render_concise, render_full, render_json, summary
    from freezelint.runner import FixMode, Settings, check_all, default_jobs
    from freezelint.source import discover

    selected = _parse_codes(select, "--select")
    ignored = _parse_codes(ignore, "--ignore") or frozenset()
    if selected is not None and "ALL" in selected:
        selected = None
    model = _resolve_explicit(model_spec, model_args, trust_local_models)
    checkpoint = _read_checkpoint(checkpoint_path)

    targets = [STDIN] if STDIN in paths else []
    targets += [str(p) for p in discover(p for p in paths if p != STDIN)]

    mode = FixMode(apply=fix, diff=diff, unsafe=unsafe_fixes, show=show_fixes)
    settings = Settings(model=model, checkpoint=checkpoint, select=selected, ignore=ignored,
                        mode=mode, cache_dir=None if no_cache else cache_dir)
    results: list[FileResult] = []
    unreadable = 0
    for outcome in check_all(targets, settings, jobs or default_jobs()):
        for message in outcome.messages:
            click.echo(message, err=True)
        if outcome.stdout is not None:
            click.echo(outcome.stdout, nl=False)
        if outcome.result is None:
            unreadable += 1
        else:
            results.append(outcome.result)

    if diff:
        changed = [r for r in results if r.fixed_text is not None]
        click.echo("".join(_unified_diff(r) for r in changed), nl=False)
        fixes = sum(r.applied for r in changed)
        click.echo(f"Would fix {_plural(fixes, 'problem')}." if fixes else "No fixes available.",
                   err=True)
        click.get_current_context().exit(2 if unreadable else 1 if changed else 0)

    # With `--fix -` stdout carries the fixed source: the report goes to stderr.
    to_stderr = mode.writes_stdout(STDIN) and STDIN in targets
    if output_format == "json":
        click.echo(render_json(results), nl=False, err=to_stderr)
    else:
        if output_format == "concise":
            output = render_concise(results)
        else:
            output = render_full(results, color=_use_color() and not to_stderr)
        click.echo(output, nl=False, color=True, err=to_stderr)
        if show_fixes:
            click.echo(_fixes_report(results), nl=False, err=True)
        fixed = sum(r.applied for r in results)
        if fix and fixed:
            click.echo(f"Fixed {_plural(fixed, 'problem')}.", err=True)
        click.echo(summary(results, unreadable), err=True)

    ctx = click.get_current_context()
    if unreadable:
        ctx.exit(2)
    if not exit_zero and any(r.diagnostics for r in results):
        ctx.exit(1)


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
    """A patch `patch -p1` / `git apply` accept, a last line without newline included."""
    import difflib

    assert result.fixed_text is not None and result.text is not None
    lines = []
    for line in difflib.unified_diff(
            _DIFF_LINE.findall(result.text), _DIFF_LINE.findall(result.fixed_text),
            fromfile=f"a/{result.path}", tofile=f"b/{result.path}"):
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


def known_codes() -> list[str]:
    """Every rule code: the documented ones, the registered ones and FZL000 (syntax)."""
    from freezelint.checks import REGISTRY
    from freezelint.rule_docs import all_rule_docs

    return sorted({"FZL000", *REGISTRY, *all_rule_docs()})


def _parse_codes(value: str | None, option: str) -> frozenset[str] | None:
    """`FZL101, fzl2` -> {"FZL101", "FZL2"}; every item must be a code or a prefix of one,
    since a typo would otherwise silently select nothing (or ignore nothing)."""
    if value is None:
        return None
    codes = frozenset(c.strip().upper() for c in value.split(",") if c.strip())
    if not codes:  # `--select ""` from an empty CI variable: as if not given
        return None
    known = known_codes()
    for code in sorted(codes):
        if code == "ALL" or any(k.startswith(code) for k in known):
            continue
        close = closest(code, known)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise click.BadParameter(f"unknown rule code {code!r}{hint}",
                                 param_hint=f"'{option}'")
    return codes


def closest(code: str, known: list[str], limit: int = 3) -> list[str]:
    """Known codes within two edits of `code`, nearest first. Edit distance rather than
    difflib's ratio, which ranks FZL112 above FZL101 for the typo FZL1O1."""
    ranked = sorted((_distance(code, k), k) for k in known)
    return [k for d, k in ranked if d <= 2][:limit]


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _use_color() -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


# -- models ------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def models(as_json: bool) -> None:
    """List the built-in model zoo."""
    from freezelint.models.zoo import zoo_entries

    entries = zoo_entries()
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
def params(model_spec: str | None, model_args: tuple[str, ...], trust_local_models: bool,
           as_json: bool) -> None:
    """Show a model's parameters: name, shape and dtype."""
    if model_spec is None:
        raise click.UsageError("Missing option '--model'.")
    manifest = _resolve_explicit(model_spec, model_args, trust_local_models)
    assert manifest is not None
    if as_json:
        click.echo(manifest.dumps(), nl=False)
        return
    rows = [(p.name, _shape(p.shape), p.dtype) for p in manifest.parameters]
    if rows:
        click.echo(_table(rows))
    if manifest.buffers:
        click.echo("\nbuffers:")
        click.echo(_table([(b.name, _shape(b.shape), b.dtype
                            + ("" if b.persistent else "  (not in state_dict)"))
                           for b in manifest.buffers]))
    total = (f"{_plural(len(manifest.parameters), 'parameter')}, "
             f"{_human(manifest.total_numel)} elements")
    if manifest.buffers:
        total += f", {_plural(len(manifest.buffers), 'buffer')}"
    prefix = manifest.meta.get("stripped_prefix")
    if prefix:
        total += f" (checkpoint keys carry the prefix {prefix!r}, shown without it)"
    click.echo(total)


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _human(count: int) -> str:
    """87_949_546 -> '87.9M': the magnitude matters, not the digits."""
    for factor, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= factor:
            return f"{count / factor:.1f}{unit}"
    return str(count)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _table(rows: list[tuple[str, ...]], right_aligned: frozenset[int] | set[int] = frozenset()
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
def rule(code: str | None, show_all: bool) -> None:
    """Print the documentation of a rule: freezelint rule FZL101."""
    from freezelint.rule_docs import RuleDoc, all_rule_docs, rule_doc

    def render(doc: RuleDoc) -> str:
        body = doc.body.strip()
        return f"{body}\n" if body.startswith("# ") else f"# {doc.title}\n\n{body}\n"

    if show_all:
        docs = list(all_rule_docs().values())
        if not docs:
            raise click.ClickException("no rule documentation found")
        click.echo("\n".join(render(doc) for doc in docs), nl=False)
        return
    if code is None:
        raise click.UsageError("Give a rule code (freezelint rule FZL101) or --all.")
    doc = rule_doc(code.strip())
    if doc is None:
        close = closest(code.strip().upper(), sorted(all_rule_docs()) or known_codes())
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise click.BadParameter(f"unknown rule {code!r}{hint}", param_hint="'CODE'")
    click.echo(render(doc), nl=False)


# -- lsp ---------------------------------------------------------------------------------


@main.command()
@click.option("--tcp", "tcp_port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Listen on 127.0.0.1:PORT instead of stdio (for debugging).")
def lsp(tcp_port: int | None) -> None:
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
    optimizer is built; the script then goes on, and its exit code is freezelint's.
    Options after SCRIPT are the script's own.
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
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

