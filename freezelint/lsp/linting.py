"""Linting open documents: one result per document or notebook, never a stale one.

Editors send a change per keystroke (jupyterlab-lsp sends the whole notebook each time), so
each document has an asyncio debounce: a newer edit cancels a lint that has not started
yet. A lint that has started runs to the end in a worker thread (`asyncio.to_thread`, so the
event loop keeps answering hovers and completions) and the next one waits for it; its result
is dropped if the text changed meanwhile. Every result is stored and published from the
event loop, never from the worker thread (the threading.Timer debounce of Fixit's server
publishes from a timer thread).

A "key" is what is linted as one text: a text document's URI, or a notebook's URI for VS
Code's notebookDocument form (its cells are linted together).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.workspace import PositionCodec

from freezelint.analysis.incremental import StatementCache
from freezelint.common.diagnostics import Diagnostic, Severity
from freezelint.engine.lint import Analysis, LintConfig, analyze, selected
from freezelint.inputs.source import SourceError
from freezelint.lsp.convert import Entry, entries
from freezelint.lsp.notebooks import (
    Part,
    Prepared,
    prepare_cells,
    prepare_jupyterlab,
    prepare_script,
)
from freezelint.lsp.settings import EditorSettings, ModelCache, Notice, lint_setup
from freezelint.lsp.text import Layout
from freezelint.models.manifest import Manifest

LOG = logging.getLogger("freezelint.lsp")
# Statements parsed for earlier versions of any open document, reused after each edit.
_STATEMENTS = StatementCache()

SCRIPT = "script"  # a .py document: linted exactly as it is
CELLS = "cells"  # notebook cells (notebookDocument form, or one cell opened alone)
JUPYTERLAB = "jupyterlab"  # one .ipynb text document, cells joined by blank lines


@dataclass(frozen=True)
class Snapshot:
    """Everything a lint needs, copied on the event loop so the worker thread touches no
    shared state."""

    key: str
    generation: int
    kind: str
    parts: tuple[Part, ...]
    path: Path | None  # the document's file: its configuration, directive model files
    root: Path | None
    settings: EditorSettings
    codec: PositionCodec
    missing_cells: int = 0  # code cells whose text document the client never sent


@dataclass
class LintResult:
    snapshot: Snapshot
    prepared: Prepared
    layout: Layout
    analysis: Analysis
    diagnostics: list[Diagnostic]  # in the linted text's coordinates
    config: LintConfig
    entries: list[Entry]
    models: list[Manifest] = field(default_factory=list)

    @property
    def generation(self) -> int:
        return self.snapshot.generation

    def for_uri(self, uri: str) -> list[types.Diagnostic]:
        return [entry.lsp for entry in self.entries if entry.uri == uri]

    def by_uri(self) -> dict[str, list[types.Diagnostic]]:
        """Every document of the key, with an empty list for those without diagnostics
        (publishing [] is what clears a cell that no longer has any)."""
        found: dict[str, list[types.Diagnostic]] = {uri: [] for uri in self.layout.uris}
        for entry in self.entries:
            found.setdefault(entry.uri, []).append(entry.lsp)
        return found


def compute(snapshot: Snapshot, models: ModelCache) -> LintResult:
    """Lint one snapshot. Runs in a worker thread."""
    config, notices = lint_setup(snapshot.settings, snapshot.path, snapshot.root, models)
    unusable = _record_directive_failures(config)
    prepared = prepare(snapshot)
    try:
        analysis = analyze(prepared.text, config, statements=_STATEMENTS)
    except SourceError as error:  # nested deeper than the parser can take: not checked
        analysis = Analysis([])
        notices = [*notices, Notice(f"freezelint cannot check this file: {error}",
                                    Severity.WARNING)]
    if snapshot.missing_cells:
        notices = [*notices, Notice(
            f"{snapshot.missing_cells} code cell(s) of this notebook came without their text "
            "(the client sent no text document for them): the other cells are linted without "
            "them", Severity.WARNING)]
    notices = [*notices, *(Notice(f"The directive `# freezelint: model={spec}` cannot be "
                                  f"used: {error}; the file is linted without that model",
                                  Severity.WARNING) for spec, error in unusable)]
    _freeze_new_trees()
    skipped = [d for d in prepared.skipped if selected(d.rule, config)]
    diagnostics = sorted([*analysis.diagnostics, *skipped], key=lambda d: d.sort_key)
    layout = Layout(prepared.segments, prepared.lines, snapshot.codec)
    return LintResult(snapshot, prepared, layout, analysis, diagnostics, config,
                      entries(diagnostics, notices, layout), list(analysis.models))


def _record_directive_failures(config: LintConfig) -> list[tuple[str, Exception]]:
    """Wrap the directive resolver so that a `# freezelint: model=` directive that cannot
    be used is shown in the document, not silently ignored."""
    failures: list[tuple[str, Exception]] = []
    resolve = config.resolve_spec
    if resolve is None:
        return failures

    def recording(spec: str) -> Manifest:
        try:
            return resolve(spec)
        except (LookupError, ValueError, OSError) as error:
            if all(spec != seen for seen, _ in failures):
                failures.append((spec, error))
            raise

    config.resolve_spec = recording
    return failures


_frozen_at = 0


def _freeze_new_trees() -> None:
    """After a document's statements were parsed in bulk (open, paste), move them out of the
    cyclic garbage collector's sight: they live as long as the cache does, and a full
    collection walking hundreds of thousands of CST nodes is what made every tenth keystroke
    take 60 ms longer. Only bulk parses trigger it, so what stays frozen is bounded."""
    global _frozen_at
    if _STATEMENTS.parsed - _frozen_at > 20:
        gc.freeze()
        _frozen_at = _STATEMENTS.parsed


def prepare(snapshot: Snapshot) -> Prepared:
    if snapshot.kind == CELLS:
        return prepare_cells(list(snapshot.parts))
    if snapshot.kind == JUPYTERLAB:
        return prepare_jupyterlab(snapshot.parts[0])
    return prepare_script(snapshot.parts[0])


class Linter:
    """Lint state of every open key.

    `snapshot(key, generation)` copies the current text (None once the key is closed);
    `publish(result)` sends a fresh result; `report(key, error)` logs a failed lint. All three
    are called on the event loop."""

    def __init__(self, snapshot: Callable[[str, int], Snapshot | None],
                 publish: Callable[[LintResult], None],
                 report: Callable[[str, BaseException], None]) -> None:
        self.models = ModelCache()
        self._snapshot = snapshot
        self._publish = publish
        self._report = report
        # Generations count edits across all keys, so that a generation names one text
        # even after a document is closed and opened again (it is the pull result id).
        self._counter = itertools.count(1)
        self._generation: dict[str, int] = {}
        self._results: dict[str, LintResult] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._models_seen: dict[str, list[Manifest]] = {}

    @property
    def keys(self) -> list[str]:
        return list(self._generation)

    def changed(self, key: str, delay: float) -> None:
        """The text of `key` changed (or was opened, saved, or its settings changed): lint it
        after `delay` seconds unless it changes again first."""
        self._generation[key] = next(self._counter)
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            waiting.cancel()
        self._waiting[key] = asyncio.get_running_loop().create_task(self._debounced(key, delay))

    def closed(self, key: str) -> None:
        """Forget `key`; a lint still running for it will find its generation gone."""
        self._generation.pop(key, None)
        self._results.pop(key, None)
        self._models_seen.pop(key, None)
        self._locks.pop(key, None)
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            waiting.cancel()

    def shutdown(self) -> None:
        for task in self._waiting.values():
            task.cancel()
        self._waiting.clear()

    def is_current(self, result: LintResult) -> bool:
        return self._generation.get(result.snapshot.key) == result.generation

    def models_for(self, key: str) -> list[Manifest]:
        """The models of the last lint that found any: while a string is being typed the
        text often does not parse, and completion still needs the model's names."""
        seen = self._models_seen.get(key)
        if seen:
            return seen
        result = self._results.get(key)
        return [result.config.model] if result is not None and result.config.model else []

    async def _debounced(self, key: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if self._waiting.get(key) is asyncio.current_task():
            del self._waiting[key]  # from here on a newer edit queues behind this lint
        result = await self.result(key)
        if result is not None and self.is_current(result):
            self._publish(result)

    async def result(self, key: str) -> LintResult | None:
        """The result for the current text of `key`, linting it now if needed; None when
        `key` is not open, its lint failed, or it kept changing while being linted."""
        for _ in range(3):
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:
                generation = self._generation.get(key)
                if generation is None:
                    return None
                cached = self._results.get(key)
                if cached is not None and cached.generation == generation:
                    return cached
                snapshot = self._snapshot(key, generation)
                if snapshot is None:
                    return None
                try:
                    result = await asyncio.to_thread(compute, snapshot, self.models)
                except Exception as error:  # one document's failure must not stop the server
                    self._report(key, error)
                    return None
                if self._generation.get(key) == generation:
                    self._results[key] = result
                    if result.models:
                        self._models_seen[key] = result.models
                    return result
        return None
