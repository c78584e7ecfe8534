"""Checking many files: read, lint (or fix), cache, and spread the work over processes.

The CLI decides what to do and prints; this module does it for one file at a time and
returns what happened, so the same code runs in a worker process. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freezelint.cli.job import STDIN, GroupConfig, Outcome, fixed_rules
from freezelint.cli.report import FileResult
from freezelint.models.manifest import Manifest

if TYPE_CHECKING:  # imported where used: a cached run never loads the linter
    from concurrent.futures import Future, ProcessPoolExecutor

    import libcst as cst

    from freezelint.engine.cache import ResultCache
    from freezelint.engine.lint import LintConfig
    from freezelint.inputs.source import SourceText


class DirectiveResolver:
    """Resolves `# freezelint: model=...` directives: never user code (linting a file must
    not run what it names), relative paths from the file's directory, each spec once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, Path], Any] = {}

    def for_file(self, target: str, problems: list[str] | None = None
                 ) -> Callable[[str], Manifest]:
        """The resolver for `target`'s directives. A directive that cannot be used adds a
        warning to `problems`: the file is then linted without it, which must not pass
        for a check against the model it names."""
        base = Path.cwd() if target == STDIN else Path(target).parent.absolute()

        def resolve(spec: str) -> Manifest:
            from freezelint.models.resolve import ModelSpecError

            try:
                return self.resolve(spec, base)
            except ModelSpecError as error:
                warning = directive_warning(target, spec, error)
                if problems is not None and warning not in problems:
                    problems.append(warning)
                raise

        return resolve

    def resolve(self, spec: str, base: Path) -> Manifest:
        from freezelint.engine.static_models import read_class
        from freezelint.models.resolve import ModelSpecError, resolve_model

        key = (spec, base)
        if key not in self._cache:
            try:
                self._cache[key] = resolve_model(spec, base_dir=base, allow_user_code=False,
                                                 read_class=read_class)
            except ModelSpecError as error:
                self._cache[key] = error
        found = self._cache[key]
        if isinstance(found, ModelSpecError):
            raise found
        return found


_RESOLVER = DirectiveResolver()


def directive_warning(target: str, spec: str, error: Exception) -> str:
    return (f"{target}: warning: `# freezelint: model={spec}` cannot be used: {error}; the "
            "file was linted without that model")


# The cyclic garbage collector, off for the first file a `check` lints in this process:
# importing libcst and the analysis and linting one script make little cyclic garbage, and
# the collector would traverse every new class, function and syntax node dozens of times
# (~15 ms of a ~250 ms run). It is on again before a second file is linted or workers
# start, so a run over many files collects as usual.
_PAUSED = False
_LINTED = 0


def pause_collection() -> None:
    """Turn the collector off until `resume_collection` or a second file (see above)."""
    global _PAUSED
    if gc.isenabled():
        gc.disable()
        _PAUSED = True


# When the collector is on for many files, its youngest generation is collected after this
# many new objects rather than Python's 700. A lint makes hundreds of thousands of syntax
# nodes and analysis values, nearly all freed by reference counting alone; every 700 the
# collector traversed them, and every tenth time the older trees too: a fifth of the CPU of
# a run over many files (the transformers corpus, in one process: 22.3 -> 18.0 s, peak RSS
# +12 MB). Cycles are still collected, in larger batches.
_BATCH_THRESHOLD = 10_000


def resume_collection() -> None:
    """The collector on again, set for a run over many files (see above)."""
    global _PAUSED
    if _PAUSED:
        _PAUSED = False
        gc.enable()
    if gc.get_threshold()[0] < _BATCH_THRESHOLD:
        gc.set_threshold(_BATCH_THRESHOLD, *gc.get_threshold()[1:])


def parse_outside_collection() -> None:
    """From now on, each file's tree is kept out of the collector's passes (see below): for a
    run that lints more than one file."""
    from freezelint.analysis.classes import module_index
    from freezelint.engine import lint

    lint.parse_module = _parse_outside_collection
    module_index.parse_chunk = _parse_unvalidated  # (the project's: a chunk per definition)


def _parse_outside_collection(text: str) -> cst.Module:
    """A file's libcst tree, which the cyclic collector never traverses: hundreds of
    thousands of nodes, none of them in a cycle, that live as long as the file's lint and
    die by reference counting. The collector walked each one once as it was made and once
    more among the survivors (its youngest generations took about 0.8 s of a 6 s run over
    transformers in one process). So the garbage of the files before is collected, the tree
    is built with the collector off, and everything then alive is moved out of the
    collector's reach (gc.freeze): the tree, and the caches and modules, which live for the
    whole run. What dies later is still freed by reference counting; only a cycle among
    those would stay.

    Each node is built without libcst's validation, too (its `__post_init__`, which checks
    that a node built by hand can be rendered: a tenth of the parse). A tree the parser made
    from a text is valid by construction; libcst's own comment there says as much. Nodes a
    fix builds later are validated as always: this process is single-threaded."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        return _parse_unvalidated(text)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _parse_unvalidated(text: str) -> cst.Module:
    """libcst's parse of `text` without its per-node validation (see above): for the
    linted files and, in a run over many files, the chunks of the project's modules the
    analysis reads (a fifth of their parse)."""
    import libcst
    from libcst._nodes.base import CSTNode  # (private: checked below, restored after)

    validate = CSTNode.__dict__.get("__post_init__")
    if validate is not None:
        CSTNode.__post_init__ = _not_validated  # type: ignore[method-assign, assignment]
    try:
        return libcst.parse_module(text)
    finally:
        if validate is not None:
            CSTNode.__post_init__ = validate  # type: ignore[method-assign, assignment]


def _not_validated(node: object) -> None:
    """In place of CSTNode.__post_init__ while the parser builds a tree (see above)."""


def check_file(target: str, settings: GroupConfig, data: bytes | None = None) -> Outcome:
    """Read, lint and (with --fix/--diff) fix one file."""
    from freezelint.inputs.source import SourceError, decode_source

    global _LINTED
    if _LINTED:
        resume_collection()
        parse_outside_collection()
    _LINTED += 1
    mode = settings.mode
    outcome = Outcome(target, None)
    try:
        if data is None and target != STDIN:
            data = read_input(target)
        if data is not None and target != STDIN and is_notebook(target):
            return _check_notebook(target, data, settings, outcome)
        source = decode_source(data or b"")
    except (SourceError, OSError) as error:
        outcome.messages.append(f"{target}: error: {_reason(error)}")
        if mode.writes_stdout(target) and data is not None:
            outcome.stdout = data
        return outcome
    cache = _cache(settings) if not mode.computes_fixes and target != STDIN else None
    config = _config(target, settings, outcome.messages)
    try:
        if mode.add_noqa:
            return _add_noqa(target, source, data, config, outcome)
        if not mode.computes_fixes:
            from freezelint.engine.lint import lint_result

            analysis = lint_result(source.text, config)
            if cache is not None and data is not None and not outcome.messages:
                # (a warning, such as an unusable directive, must be said on every run)
                cache.put(data, analysis.diagnostics, analysis.dependencies, analysis.coverage)
            outcome.result = FileResult(target, analysis.diagnostics, source.text,
                                        coverage=analysis.coverage)
            return outcome
        return _fix(target, source, data, config, settings, outcome)
    except SourceError as error:  # a text the parser cannot take (nesting.TooDeep)
        outcome.messages.append(f"{target}: error: {error}")
        if mode.writes_stdout(target) and data is not None:
            outcome.stdout = data
        return outcome
    except Exception as error:  # a bug in an analysis or a rule: skip the file, say so
        outcome.messages.append(f"{target}: internal error: {describe(error)}")
        if mode.writes_stdout(target) and data is not None:
            outcome.stdout = data  # the caller's code is not lost on the way through
        return outcome


def _check_notebook(target: str, data: bytes, settings: GroupConfig, outcome: Outcome) -> Outcome:
    """An `.ipynb` file: its code cells linted together (see cli/notebooks.py)."""
    from freezelint.cli.notebooks import check_notebook
    from freezelint.inputs.source import SourceError

    cache = _cache(settings) if not settings.mode.computes_fixes else None
    try:
        return check_notebook(target, data, settings, _config(target, settings, outcome.messages),
                              cache, outcome)
    except SourceError as error:  # its cells nest deeper than the parser can take
        outcome.messages.append(f"{target}: error: {error}")
        return outcome
    except Exception as error:  # a bug in an analysis or a rule: skip the file, say so
        outcome.messages.append(f"{target}: internal error: {describe(error)}")
        return outcome


def _fix(target: str, source: SourceText, data: bytes | None, config: LintConfig,
         settings: GroupConfig,
         outcome: Outcome) -> Outcome:
    from freezelint.engine.fixes import fix_text
    from freezelint.engine.lint import lint_result
    from freezelint.inputs.writeback import WriteError, write_atomic

    mode = settings.mode
    analysis = lint_result(source.text, config)
    before, coverage = analysis.diagnostics, analysis.coverage
    fixed = fix_text(source.text, config, unsafe=mode.unsafe)
    if fixed.rejected:  # a rule's fix is broken: it is not applied, the others are
        discarded = "fix" if fixed.rejected == 1 else f"{fixed.rejected} fixes"
        outcome.messages.append(f"{target}: warning: {discarded} discarded: result would not "
                                "parse (a freezelint bug, please report it)")
    if mode.writes_stdout(target):
        # With `--fix -` stdout is the code, fixed or not, in its own encoding (and BOM):
        # an editor or `freezelint check --fix - < a.py > b.py` must never get a report.
        try:
            outcome.stdout = fixed.text.encode(source.encoding)
        except UnicodeEncodeError as error:
            outcome.messages.append(f"{target}: error: cannot encode the fixed text as "
                                    f"{source.encoding}: {error}")
            outcome.stdout = data or b""
            return outcome
    if not fixed.changed:
        outcome.result = FileResult(target, fixed.remaining, source.text, coverage=coverage)
        return outcome
    rules = fixed_rules(before, fixed.remaining)
    if mode.apply and not mode.diff:
        if target != STDIN:
            try:
                write_atomic(target, fixed.text, source, original=data)
            except WriteError as error:  # not written: its findings stand, unfixed
                outcome.messages.append(f"{target}: error: {error}")
                outcome.failed = True
                outcome.result = FileResult(target, before, source.text, coverage=coverage)
                return outcome
        outcome.result = FileResult(target, fixed.remaining, fixed.text, applied=fixed.applied,
                                    fixed_rules=rules, coverage=coverage)
        return outcome
    outcome.result = FileResult(target, before, source.text, fixed_text=fixed.text,
                                applied=fixed.applied, fixed_rules=rules, coverage=coverage)
    return outcome


def _add_noqa(target: str, source: SourceText, data: bytes | None, config: LintConfig,
              outcome: Outcome) -> Outcome:
    """--add-noqa: a suppression comment on each line with a finding, written atomically
    (encoding, BOM and line endings kept; only those lines change)."""
    from freezelint.engine.lint import add_noqa, lint
    from freezelint.inputs.writeback import WriteError, write_atomic

    findings = lint(source.text, config)
    added = add_noqa(source.text, findings)
    if added.added:
        try:
            write_atomic(target, added.text, source, original=data)
        except WriteError as error:  # not written: its findings stand, without comments
            outcome.messages.append(f"{target}: error: {error}")
            outcome.failed = True
            outcome.result = FileResult(target, findings, source.text)
            return outcome
    outcome.result = FileResult(target, added.remaining, added.text, noqa_added=added.added)
    return outcome


def _config(target: str, settings: GroupConfig, problems: list[str] | None = None
            ) -> LintConfig:
    from freezelint.engine.lint import LintConfig

    return LintConfig(model=settings.model, select=settings.select, ignore=settings.ignore,
                      extend_select=settings.extend_select,
                      resolve_spec=_RESOLVER.for_file(target, problems),
                      checkpoint=settings.checkpoint,
                      path=None if target == STDIN else Path(target),
                      locate_unchecked=settings.locate_unchecked)


_CACHES: dict[tuple[Path, int], ResultCache] = {}


def _cache(settings: GroupConfig) -> ResultCache | None:
    if settings.cache_dir is None:
        return None
    from freezelint.engine.cache import ResultCache

    key = (settings.cache_dir, id(settings))
    if key not in _CACHES:
        _CACHES.clear()
        _CACHES[key] = ResultCache(settings.cache_dir, settings.fingerprint())
    return _CACHES[key]


def read_input(target: str) -> bytes:
    """A file's bytes, only from a regular file and within the size bound of its kind
    (SourceError otherwise)."""
    from freezelint.inputs.source import MAX_NOTEBOOK_BYTES, MAX_SOURCE_BYTES, read_file

    return read_file(target, MAX_NOTEBOOK_BYTES if is_notebook(target) else MAX_SOURCE_BYTES)


def is_notebook(target: str) -> bool:
    """By suffix, as discovery does: the notebook module loads only for notebooks."""
    return target.lower().endswith(".ipynb")


def describe(error: BaseException) -> str:
    from freezelint.common.errors import describe_error

    return describe_error(error)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and not str(error).startswith(("binary", "not valid")):
        return error.strerror or str(error)
    return str(error)


def default_jobs() -> int:
    return max(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1), 1)


def check_all(targets: list[str], settings: GroupConfig, jobs: int) -> Iterator[Outcome]:
    """Outcomes for `targets` (stdin first). Cached results are read in this process, which
    needs neither libcst nor torch; the misses are spread over `jobs` processes when there
    are enough of them to pay for the workers' start-up."""
    if STDIN in targets:
        yield check_file(STDIN, settings, sys.stdin.buffer.read())
    misses = []
    for target in (t for t in targets if t != STDIN):
        cached = _cached(target, settings)
        if cached is not None:
            yield cached
        else:
            misses.append(target)
    if jobs <= 1 or len(misses) < 2 * jobs:
        for target in misses:
            yield check_file(target, settings)
        return
    from concurrent.futures import ProcessPoolExecutor

    resume_collection()  # (the workers fork with the collector on)
    # Imported before the workers fork, which then start with libcst and the analysis in
    # memory instead of importing them each (and the start-up cache sees libcst's classes).
    parse_outside_collection()  # (imports the engine)
    # What the workers inherit (the modules, libcst's classes, the zoo's tables) out of the
    # collector's reach before they fork: each one's first collection walked all of it
    # (~35 ms a worker) and wrote to the pages it shares with this process.
    gc.freeze()

    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                               initargs=(settings,))
    finished = False
    try:
        # Largest files first: a few big files are most of the work, and one of them left
        # for the end would keep one worker busy while the others wait. Outcomes still come
        # out in the order of `targets`.
        futures = {target: pool.submit(_worker_check, target)
                   for target in sorted(misses, key=_size, reverse=True)}
        for target in misses:
            yield _outcome(futures[target], target, settings)
        finished = True
    finally:
        if finished:
            pool.shutdown()
        else:  # Ctrl-C (or the caller stopped): stop now, not after the queued files
            _stop(pool)


def _outcome(future: Future[Outcome], target: str, settings: GroupConfig) -> Outcome:
    """A worker's outcome; when a worker process died (a crash in native code), the files
    it took down are checked again one by one, each in a process of its own, so that only
    the file that crashes is lost, and said to be."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()  # type: ignore[no-any-return]
    except BrokenProcessPool:
        return _isolated(target, settings)


def _isolated(target: str, settings: GroupConfig) -> Outcome:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1, initializer=_init_worker,
                             initargs=(settings,)) as alone:
        try:
            return alone.submit(_worker_check, target).result()
        except BrokenProcessPool:
            return Outcome(target, None, [f"{target}: error: the process checking this file "
                                          "died (a crash in native code); it was not checked"])


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued files and end the workers at once. A worker writing a fixed file
    finishes that write first (writeback blocks the signals for its few system calls), so
    no file is left half-written."""
    import signal

    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=5)


def _size(target: str) -> int:
    try:
        return os.stat(target).st_size
    except OSError:
        return 0


def _cached(target: str, settings: GroupConfig) -> Outcome | None:
    cache = _cache(settings) if not settings.mode.computes_fixes else None
    if cache is None:
        return None
    from freezelint.inputs.source import SourceError

    try:
        data = read_input(target)
    except SourceError:
        return None  # check_file says why
    entry = cache.get(data)
    if entry is None:
        return None
    diagnostics, coverage = entry
    from freezelint.inputs.source import decode_source

    if is_notebook(target):  # the cell map again: a JSON parse, no linting
        from freezelint.inputs.notebook import read_notebook

        try:
            notebook = read_notebook(data)
        except SourceError:
            return None
        return Outcome(target, FileResult(target, diagnostics, notebook.text,
                                          cells=notebook.cells, coverage=coverage))
    try:
        text = decode_source(data).text
    except SourceError:
        return None
    return Outcome(target, FileResult(target, diagnostics, text, coverage=coverage))


_WORKER_SETTINGS: GroupConfig | None = None


def _init_worker(settings: GroupConfig) -> None:
    """A worker leaves Ctrl-C to the main process, which stops the workers itself (a
    KeyboardInterrupt in each would print a traceback per worker)."""
    import signal

    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_check(target: str) -> Outcome:
    assert _WORKER_SETTINGS is not None
    return check_file(target, _WORKER_SETTINGS)
