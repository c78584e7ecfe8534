"""The freezelint language server: pygls 2 handlers, each a few lines, over the modules that
do the work (linting: debounce and results; actions, hover, completion, lens; notebooks;
settings). No editor-specific code lives here.

Diagnostics are pushed (`textDocument/publishDiagnostics`) unless the client declares pull
support (`textDocument/diagnostic`), in which case text documents are pulled only: VS Code
keeps pushed and pulled diagnostics in separate collections and would show both. Notebook
cells are always pushed, since clients do not pull cells (vscode-languageserver-node#1464).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from freezelint import __version__
from freezelint.common.errors import bounded_traceback, describe_error
from freezelint.inputs.notebook import split_lines
from freezelint.lsp.actions import KINDS, fix_all, has_safe_fix, line_actions, wants_fix_all
from freezelint.lsp.completion import TRIGGERS, complete
from freezelint.lsp.hover import hover
from freezelint.lsp.lens import code_lenses
from freezelint.lsp.linting import (
    CELLS,
    JUPYTERLAB,
    SCRIPT,
    Linter,
    LintResult,
    Snapshot,
)
from freezelint.lsp.notebooks import Part
from freezelint.lsp.settings import EditorSettings, settings_section

LOG = logging.getLogger("freezelint.lsp")

# The MS template's form. A filter with cells but without `notebook` makes every Python
# client (pygls, pytest-lsp) fail in `initialize` (lsprotocol structuring, pitfall P2).
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithNotebook(
            notebook=kind, cells=[types.NotebookCellLanguage(language="python")])
        for kind in ("jupyter-notebook", "interactive")],
    save=True,
)


@dataclass(frozen=True)
class _Unreadable:
    """A request whose params do not fit its method's schema."""

    id: int | str
    error: JsonRpcException


class FreezelintProtocol(LanguageServerProtocol):
    """pygls 2.1 logs a request whose params cannot be deserialized and never answers it,
    so the client waits forever; this answers it with the JSON-RPC error (InvalidParams).
    Likewise a request after `shutdown`, which pygls drops: it gets InvalidRequest, as the
    specification says."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "id" in data and "method" in data:
                return _Unreadable(data["id"], error)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Unreadable):
            self._send_response(message.id, error=message.error.to_response_error())
            return
        if (self._shutdown and getattr(message, "id", None) is not None
                and getattr(message, "method", types.EXIT) != types.EXIT):
            self._send_response(message.id, error=JsonRpcInvalidRequest(
                "the server is shut down: only exit is accepted").to_response_error())
            return
        super().handle_message(message)


class FreezelintServer(LanguageServer):
    """Server state: settings, the linter, which keys are notebooks, what was published."""

    def __init__(self) -> None:
        super().__init__("freezelint", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=NOTEBOOK_SYNC,
                         protocol_cls=FreezelintProtocol)
        self.settings = EditorSettings()
        self.pull = False
        self.notebooks: set[str] = set()
        self.published: dict[str, set[str]] = {}
        self.linter = Linter(self.snapshot, self.publish, self.report_failure)
        self.client_log = ClientLogHandler(self)

    # -- what the linter needs -----------------------------------------------------------
    def key_of(self, uri: str) -> str:
        """The notebook a cell belongs to, else the document itself."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None and notebook.uri in self.notebooks else uri

    def snapshot(self, key: str, generation: int) -> Snapshot | None:
        workspace = self.workspace
        if key in self.notebooks:
            notebook = workspace.get_notebook_document(notebook_uri=key)
            if notebook is None:
                return None
            parts = []
            missing = 0
            for cell in notebook.cells:
                if cell.kind != types.NotebookCellKind.Code:
                    continue
                if unquote(cell.document) not in workspace.text_documents \
                        and cell.document not in workspace.text_documents:
                    missing += 1  # the client never sent this cell's text: lint the others
                    continue
                doc = workspace.get_text_document(cell.document)
                if doc.language_id in (None, "python"):
                    parts.append(Part(cell.document, doc.version, doc.source))
            kind = CELLS
        else:
            if unquote(key) not in workspace.text_documents:
                return None
            doc = workspace.get_text_document(key)
            parts = [Part(key, doc.version, doc.source)]
            kind = document_kind(key)
        root = Path(workspace.root_path) if workspace.root_path else None
        return Snapshot(key, generation, kind, tuple(parts), document_path(key), root,
                        self.settings, workspace.position_codec,
                        missing_cells=missing if key in self.notebooks else 0)

    def publish(self, result: LintResult) -> None:
        key = result.snapshot.key
        if self.pull and key not in self.notebooks:
            return
        current = result.by_uri()
        for uri in self.published.get(key, set()) - current.keys():
            self._send(uri, [])  # a cell that was deleted
        for segment in result.layout.segments:
            self._send(segment.uri, current.get(segment.uri, []), segment.version)
        self.published[key] = set(current)

    def clear(self, key: str) -> None:
        for uri in self.published.pop(key, set()):
            self._send(uri, [])

    def report_failure(self, key: str, error: BaseException) -> None:
        """Log a failed lint in a bounded size: one line and the last frames only (a
        RecursionError's full traceback is thousands of frames, and its str() may itself
        recurse)."""
        LOG.error("linting %s failed: %s", key, describe_error(error))
        LOG.debug("%s", bounded_traceback(error))

    def _send(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None = None) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    # -- settings ------------------------------------------------------------------------
    async def fetch_configuration(self) -> None:
        """`workspace/configuration` section "freezelint", if the client answers it."""
        if not get_capability(self.client_capabilities, "workspace.configuration", False):
            return
        try:
            values = await self.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section="freezelint")]))
        except Exception as error:  # a client that says it can and then cannot
            LOG.warning("workspace/configuration failed: %s", error)
            return
        if values:
            self.settings = self.settings.updated(settings_section(values[0]))

    def settings_changed(self) -> None:
        """Models may resolve differently now: forget them and re-lint every open key."""
        self.linter.models.clear()
        for key in self.linter.keys:
            self.linter.changed(key, 0)
        if self.pull and get_capability(self.client_capabilities,
                                        "workspace.diagnostics.refresh_support", False):
            self.workspace_diagnostic_refresh(None)
        if get_capability(self.client_capabilities, "workspace.code_lens.refresh_support", False):
            self.workspace_code_lens_refresh(None)

    @property
    def debounce(self) -> float:
        return self.settings.debounce_ms / 1000


class ClientLogHandler(logging.Handler):
    """Sends freezelint's log records to the client's log (window/logMessage). Records
    may come from worker threads, so they are handed to the event loop to send."""

    def __init__(self, server: LanguageServer) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self.loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Each record as one bounded message (see BoundedRecords)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        kind = (types.MessageType.Error if record.levelno >= logging.ERROR
                else types.MessageType.Warning if record.levelno >= logging.WARNING
                else types.MessageType.Info)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
            loop.call_soon_threadsafe(self.server.window_log_message, params)


def document_kind(uri: str) -> str:
    """How a text document is linted: jupyterlab-lsp's notebook text, a lone notebook cell
    (a client without notebook sync), or a script."""
    parsed = urlparse(uri)
    if unquote(parsed.path).endswith(".ipynb") and parsed.scheme != "vscode-notebook-cell":
        return JUPYTERLAB
    if parsed.scheme == "vscode-notebook-cell":
        return CELLS
    return SCRIPT


def document_path(uri: str) -> Path | None:
    """The file a document is (a cell's notebook): its configuration is the one above it,
    and per-file globs match its path."""
    parsed = urlparse(uri)
    if parsed.scheme == "vscode-notebook-cell":
        uri = parsed._replace(scheme="file", fragment="").geturl()
    path = to_fs_path(uri)
    return Path(path) if path else None


# -- handlers ----------------------------------------------------------------------------


def on_initialize(ls: FreezelintServer, params: types.InitializeParams) -> None:
    ls.settings = ls.settings.updated(settings_section(params.initialization_options))
    ls.pull = get_capability(params.capabilities, "text_document.diagnostic", None) is not None
    with contextlib.suppress(RuntimeError):
        ls.client_log.loop = asyncio.get_running_loop()


async def on_initialized(ls: FreezelintServer, params: types.InitializedParams) -> None:
    await ls.fetch_configuration()


async def on_did_change_configuration(ls: FreezelintServer,
                                      params: types.DidChangeConfigurationParams) -> None:
    ls.settings = ls.settings.updated(settings_section(params.settings))
    await ls.fetch_configuration()
    ls.settings_changed()


def on_did_open(ls: FreezelintServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.linter.changed(params.text_document.uri, 0)


def on_did_change(ls: FreezelintServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.linter.changed(params.text_document.uri, ls.debounce)


def on_did_save(ls: FreezelintServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.linter.changed(params.text_document.uri, 0)


def on_did_close(ls: FreezelintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.linter.closed(params.text_document.uri)
    ls.clear(params.text_document.uri)


def on_notebook_open(ls: FreezelintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.notebooks.add(params.notebook_document.uri)
    ls.linter.changed(params.notebook_document.uri, 0)


def on_notebook_change(ls: FreezelintServer,
                       params: types.DidChangeNotebookDocumentParams) -> None:
    ls.linter.changed(params.notebook_document.uri, ls.debounce)


def on_notebook_save(ls: FreezelintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    ls.linter.changed(params.notebook_document.uri, 0)


def on_notebook_close(ls: FreezelintServer,
                      params: types.DidCloseNotebookDocumentParams) -> None:
    ls.notebooks.discard(params.notebook_document.uri)
    ls.linter.closed(params.notebook_document.uri)
    ls.clear(params.notebook_document.uri)


async def on_diagnostic(ls: FreezelintServer, params: types.DocumentDiagnosticParams
                        ) -> types.DocumentDiagnosticReport:
    uri = params.text_document.uri
    key = ls.key_of(uri)
    if key in ls.notebooks:  # cells are pushed; an empty pull report does not clear them
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    result = await ls.linter.result(key)
    if result is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    result_id = str(result.generation)  # generations are unique across documents
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(items=result.for_uri(uri),
                                                     result_id=result_id)


async def on_code_action(ls: FreezelintServer, params: types.CodeActionParams
                         ) -> list[types.CodeAction] | None:
    uri, only = params.text_document.uri, params.context.only
    result = await ls.linter.result(ls.key_of(uri))
    if result is None:
        return None
    actions = line_actions(result, uri, params.range, only)
    if wants_fix_all(params.context) and has_safe_fix(result, uri):
        action = await asyncio.to_thread(fix_all, result, uri)
        if action is not None and ls.linter.is_current(result):
            actions.append(action)
    return actions or None


async def on_hover(ls: FreezelintServer, params: types.HoverParams) -> types.Hover | None:
    uri = params.text_document.uri
    result = await ls.linter.result(ls.key_of(uri))
    return hover(result, uri, params.position) if result else None


def on_completion(ls: FreezelintServer, params: types.CompletionParams
                  ) -> types.CompletionList | None:
    """Answered from the current line and the last known models, without waiting for a
    lint: completion is typed, and must not wait for the debounce."""
    uri, position = params.text_document.uri, params.position
    lines = split_lines(ls.workspace.get_text_document(uri).source)
    if position.line >= len(lines):
        return None
    models = ls.linter.models_for(ls.key_of(uri))
    return complete(lines[position.line], position.line, position.character,
                    ls.workspace.position_codec, models)


async def on_code_lens(ls: FreezelintServer, params: types.CodeLensParams
                       ) -> list[types.CodeLens] | None:
    uri = params.text_document.uri
    result = await ls.linter.result(ls.key_of(uri))
    return code_lenses(result, uri) if result else None


def on_shutdown(ls: FreezelintServer, params: Any) -> None:
    ls.linter.shutdown()


HANDLERS: list[tuple[str, Callable[..., Any], Any]] = [
    (types.INITIALIZE, on_initialize, None),
    (types.INITIALIZED, on_initialized, None),
    (types.WORKSPACE_DID_CHANGE_CONFIGURATION, on_did_change_configuration, None),
    (types.TEXT_DOCUMENT_DID_OPEN, on_did_open, None),
    (types.TEXT_DOCUMENT_DID_CHANGE, on_did_change, None),
    (types.TEXT_DOCUMENT_DID_SAVE, on_did_save, types.SaveOptions(include_text=False)),
    (types.TEXT_DOCUMENT_DID_CLOSE, on_did_close, None),
    (types.NOTEBOOK_DOCUMENT_DID_OPEN, on_notebook_open, None),
    (types.NOTEBOOK_DOCUMENT_DID_CHANGE, on_notebook_change, None),
    (types.NOTEBOOK_DOCUMENT_DID_SAVE, on_notebook_save, None),
    (types.NOTEBOOK_DOCUMENT_DID_CLOSE, on_notebook_close, None),
    (types.TEXT_DOCUMENT_DIAGNOSTIC, on_diagnostic,
     types.DiagnosticOptions(identifier="freezelint", inter_file_dependencies=False,
                             workspace_diagnostics=False)),
    (types.TEXT_DOCUMENT_CODE_ACTION, on_code_action,
     types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=False)),
    (types.TEXT_DOCUMENT_HOVER, on_hover, None),
    (types.TEXT_DOCUMENT_COMPLETION, on_completion,
     types.CompletionOptions(trigger_characters=TRIGGERS, resolve_provider=False)),
    (types.TEXT_DOCUMENT_CODE_LENS, on_code_lens, types.CodeLensOptions(resolve_provider=False)),
    (types.SHUTDOWN, on_shutdown, None),
]


class BoundedRecords(logging.Filter):
    """Keeps every record of freezelint's logger to a bounded size wherever it goes (the
    client's log, stderr): a traceback is cut to its last frames and a message to
    MAX_LOG_CHARS. A RecursionError's full traceback is thousands of frames (670 KB per
    lint was seen), which the client keeps in memory for every keystroke."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}\n{bounded_traceback(record.exc_info[1])}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        message = record.getMessage()
        if len(message) > MAX_LOG_CHARS:
            record.msg = message[:MAX_LOG_CHARS] + " [...]"
            record.args = None
        return True


MAX_LOG_CHARS = 4000


def create_server() -> FreezelintServer:
    server = FreezelintServer()
    for method, handler, options in HANDLERS:
        server.feature(method, options)(handler)
    server.client_log.addFilter(BoundedRecords())
    logging.getLogger("freezelint").addHandler(server.client_log)
    for log_handler in logging.getLogger().handlers:  # stderr (serve's basicConfig)
        if not any(isinstance(f, BoundedRecords) for f in log_handler.filters):
            log_handler.addFilter(BoundedRecords())
    return server
