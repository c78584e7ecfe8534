"""The language server end to end: `python -m freezelint lsp` as a subprocess over stdio,
driven by pytest-lsp's client, with the debounce set to 0 through initializationOptions.

Expected positions are computed from the text (`text.index`), never written as numbers.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from helpers import LOOP_WITHOUT_MODEL, invoke
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from freezelint.common.rule_docs import rule_doc
from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import LintConfig, lint
from freezelint.models.zoo import load_zoo

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "examples" / "ast_head_finetune.py").read_text(encoding="utf-8")
FIXED = EXAMPLE.replace("'fc.weight'", "'mlp_head.1.weight'").replace("'fc.bias'", "'mlp_head.1.bias'")
SERVER = [sys.executable, "-m", "freezelint", "lsp"]
TIMEOUT = 20.0

# Notebook sync is advertised only to clients that declare notebook support (pitfall P1).
CAPABILITIES = types.ClientCapabilities(
    notebook_document=types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(
            execution_summary_support=True)),
    workspace=types.WorkspaceClientCapabilities(configuration=True),
    text_document=types.TextDocumentClientCapabilities(
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(
                    value_set=[types.CodeActionKind.QuickFix,
                               types.CodeActionKind.SourceFixAll])))),
)


@pytest.fixture(autouse=True, scope="module")
def _own_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers started here build user models into a cache of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    """A server of its own, for a test that initializes it with other capabilities or
    settings."""
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def shared(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    """One server for the tests that need only the default set-up (starting Python with
    libcst and lsprotocol takes about a second). Each test uses documents of its own."""
    SHARED_INIT[:] = [await start(lsp_client, tmp_path_factory.mktemp("workspace"))]
    yield
    await lsp_client.shutdown_session()


SHARED_INIT: list[types.InitializeResult] = []  # what the shared server answered


# Tests on the shared server run in the module's event loop, where it lives.
on_shared_server = pytest.mark.asyncio(loop_scope="module")


async def start(client: LanguageClient, root: Path, options: dict[str, Any] | None = None,
                capabilities: types.ClientCapabilities = CAPABILITIES) -> types.InitializeResult:
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities, root_uri=root.as_uri(),
        initialization_options={"debounce": 0, **(options or {})}))


# -- helpers ---------------------------------------------------------------------------


def position_of(text: str, needle: str, offset: int = 0) -> types.Position:
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return types.Position(line, index - (text.rfind("\n", 0, index) + 1))


def range_of(text: str, needle: str) -> types.Range:
    return types.Range(position_of(text, needle), position_of(text, needle, len(needle)))


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [types.TextDocumentContentChangeWholeDocument(text=text)]))


async def published(client: LanguageClient, *uris: str) -> list[types.Diagnostic]:
    """The diagnostics next published for `uris` (all of them, concatenated)."""

    async def wait() -> None:
        while any(uri not in client.diagnostics for uri in uris):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), TIMEOUT)
    return [d for uri in uris for d in client.diagnostics[uri]]


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII text: characters are code points) from the last to the first."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return starts[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


def only_edits(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.changes is not None
    assert set(action.edit.changes) == {uri}
    return list(action.edit.changes[uri])


async def actions_at(client: LanguageClient, uri: str, range_: types.Range,
                     only: list[str] | None = None) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), range_,
        types.CodeActionContext(diagnostics=[], only=only)))
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


async def hover_text(client: LanguageClient, uri: str, position: types.Position) -> str:
    result = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), position))
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    return result.contents.value


def spans(ranges: list[types.Range]) -> list[tuple[int, int, int, int]]:
    """Ranges as sortable tuples (lsprotocol's Range is not hashable)."""
    return sorted((r.start.line, r.start.character, r.end.line, r.end.character) for r in ranges)


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


# -- diagnostics -------------------------------------------------------------------------


@on_shared_server
async def test_open_publishes_the_ast_scenario_with_exact_ranges(shared: LanguageClient,
                                                                 tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, EXAMPLE)
    found = await published(shared, uri)

    by_code = sorted(found, key=lambda d: (d.range.start.line, d.range.start.character))
    assert [d.code for d in by_code] == ["FZL101", "FZL101", "FZL103"]
    weight, bias, optimizer = by_code
    assert weight.range == range_of(EXAMPLE, "'fc.weight'")
    assert bias.range == range_of(EXAMPLE, "'fc.bias'")
    call = EXAMPLE[EXAMPLE.index("torch.optim.SGD("):].split("\n")[0]
    assert optimizer.range == range_of(EXAMPLE, call)
    assert weight.severity == types.DiagnosticSeverity.Warning
    assert optimizer.severity == types.DiagnosticSeverity.Error
    for diagnostic in found:
        assert diagnostic.source == "freezelint"
        assert "FZL" not in diagnostic.message  # the code has a column of its own
        doc = rule_doc(str(diagnostic.code))
        assert doc is not None and diagnostic.code_description is not None
        assert diagnostic.code_description.href == doc.url
    assert "mlp_head.1.weight" in weight.message
    # The related location is the freeze that emptied the optimizer's parameter list.
    assert optimizer.related_information is not None
    (related,) = optimizer.related_information
    assert related.location.uri == uri
    assert related.location.range == range_of(EXAMPLE, "p.requires_grad = False")
    # The fixes travel in `data`, in LSP coordinates.
    assert isinstance(weight.data, dict)
    (fix,) = weight.data["fixes"]
    assert fix["safety"] == "unsafe"
    assert fix["edits"][0]["newText"] == "'mlp_head.1.weight'"
    assert fix["edits"][0]["range"]["start"] == {"line": weight.range.start.line,
                                                 "character": weight.range.start.character}


@on_shared_server
async def test_typing_the_fix_clears_the_diagnostics_and_close_clears_them(
        shared: LanguageClient, tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, EXAMPLE)
    assert len(await published(shared, uri)) == 3
    half = EXAMPLE.replace("'fc.weight'", "'mlp_head.1.weight'")
    change_doc(shared, uri, half, 2)
    assert codes(await published(shared, uri)) == ["FZL101"]
    change_doc(shared, uri, FIXED, 3)
    assert await published(shared, uri) == []
    change_doc(shared, uri, EXAMPLE, 4)
    assert len(await published(shared, uri)) == 3
    shared.diagnostics.pop(uri)
    shared.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(uri)))
    assert await published(shared, uri) == []


@pytest.mark.asyncio
async def test_pull_diagnostics_for_clients_that_pull(client: LanguageClient,
                                                      tmp_path: Path) -> None:
    capabilities = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        diagnostic=types.DiagnosticClientCapabilities()))
    result = await start(client, tmp_path, capabilities=capabilities)
    assert result.capabilities.diagnostic_provider is not None
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, EXAMPLE)
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        types.TextDocumentIdentifier(uri)))
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    assert codes(list(report.items)) == ["FZL101", "FZL101", "FZL103"]
    again = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        types.TextDocumentIdentifier(uri), previous_result_id=report.result_id))
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    change_doc(client, uri, FIXED, 2)
    fixed = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        types.TextDocumentIdentifier(uri), previous_result_id=report.result_id))
    assert isinstance(fixed, types.RelatedFullDocumentDiagnosticReport) and list(fixed.items) == []
    assert uri not in client.diagnostics  # pulled, not also pushed (no duplicates)


# -- code actions ------------------------------------------------------------------------


@on_shared_server
async def test_quick_fixes_give_the_cli_fix_result(shared: LanguageClient,
                                                   tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    text, version = EXAMPLE, 1
    open_doc(shared, uri, text)
    found = await published(shared, uri)
    while fixable := [d for d in found if d.code == "FZL101"]:
        actions = await actions_at(shared, uri, fixable[0].range)
        quick = [a for a in actions if a.kind == types.CodeActionKind.QuickFix
                 and a.title.startswith("Replace")]
        assert len(quick) == 1
        assert quick[0].title.endswith("(unsafe)") and not quick[0].is_preferred
        text = apply(text, only_edits(quick[0], uri))
        version += 1
        change_doc(shared, uri, text, version)
        found = await published(shared, uri)
    assert found == []
    assert text == fix_text(EXAMPLE, unsafe=True).text

    # And the same as the command line, which writes the file.
    script = tmp_path / "cli.py"
    script.write_text(EXAMPLE, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "freezelint", "check", "--fix", "--unsafe-fixes",
                    str(script)], capture_output=True, timeout=60, check=False)
    assert script.read_text(encoding="utf-8") == text


@on_shared_server
async def test_fix_all_applies_safe_fixes_only(shared: LanguageClient, tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    text = EXAMPLE.replace("p.requires_grad = False", "p.require_grad = False")
    open_doc(shared, uri, text)
    assert codes(await published(shared, uri)) == ["FZL101", "FZL101", "FZL105"]

    everything = types.Range(types.Position(0, 0), types.Position(0, 0))
    actions = await actions_at(shared, uri, everything, only=[types.CodeActionKind.SourceFixAll])
    (fix_all,) = actions
    assert fix_all.kind == "source.fixAll.freezelint"
    fixed = apply(text, only_edits(fix_all, uri))
    assert fixed == fix_text(text, LintConfig(), unsafe=False).text
    assert "p.requires_grad = False" in fixed  # the safe FZL105 fix
    assert "'fc.weight'" in fixed and "'fc.bias'" in fixed  # the unsafe FZL101 ones: not
    change_doc(shared, uri, fixed, 2)
    assert codes(await published(shared, uri)) == ["FZL101", "FZL101", "FZL103"]


@on_shared_server
async def test_ignore_on_this_line_inserts_the_comment(shared: LanguageClient,
                                                       tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, EXAMPLE)
    found = await published(shared, uri)
    weight = next(d for d in found if d.range == range_of(EXAMPLE, "'fc.weight'"))
    actions = await actions_at(shared, uri, weight.range)
    (ignore,) = [a for a in actions if a.title == "Ignore FZL101 on this line"]
    text = apply(EXAMPLE, only_edits(ignore, uri))
    assert "    if name != 'fc.weight' and name != 'fc.bias':  # freezelint: ignore[FZL101]\n" in text
    assert lint(text) == [d for d in lint(text) if d.rule != "FZL101"]
    change_doc(shared, uri, text, 2)
    assert codes(await published(shared, uri)) == ["FZL103"]
    # On a line that already has the comment, the code is added to it.
    optimizer = (await published(shared, uri))[0]
    (ignore,) = [a for a in await actions_at(shared, uri, optimizer.range)
                 if a.title.startswith("Ignore")]
    assert only_edits(ignore, uri)[0].new_text == "  # freezelint: ignore[FZL103]"


# -- hover, completion, code lens --------------------------------------------------------


@on_shared_server
async def test_hover_shows_what_a_name_test_matches(shared: LanguageClient,
                                                    tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, EXAMPLE)
    await published(shared, uri)
    text = await hover_text(shared, uri, position_of(EXAMPLE, "'fc.weight'", 3))
    assert "matches none of the 159 parameters of `ast`" in text
    assert "`mlp_head.1.weight` [10, 768]" in text  # the closest real name, after the edit
    assert "FZL101 name-matches-nothing" in text  # the diagnostic's rule documentation

    change_doc(shared, uri, FIXED, 2)
    assert await published(shared, uri) == []
    text = await hover_text(shared, uri, position_of(FIXED, "'mlp_head.1.weight'", 1))
    assert "matches 1 of the 159 parameters of `ast`" in text
    assert "- `mlp_head.1.weight` [10, 768] in `mlp_head.1` (Linear)" in text
    assert "FZL101" not in text


@on_shared_server
async def test_completion_offers_real_names_inside_a_name_test(shared: LanguageClient,
                                                               tmp_path: Path) -> None:
    result = SHARED_INIT[0]
    assert result.capabilities.completion_provider is not None
    assert set(result.capabilities.completion_provider.trigger_characters or []) == {"'", '"', "."}
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, FIXED)
    await published(shared, uri)
    # Typing a new name test: the quote is not closed yet, so the text does not parse.
    typing = FIXED.replace("if name != 'mlp_head.1.weight' and name != 'mlp_head.1.bias':",
                           "if name != 'mlp_head.")
    change_doc(shared, uri, typing, 2)
    await published(shared, uri)
    cursor = position_of(typing, "'mlp_head.", len("'mlp_head."))
    completions = await shared.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri), cursor))
    assert isinstance(completions, types.CompletionList)
    labels = [item.label for item in completions.items]
    assert labels[:4] == ["mlp_head.0.weight", "mlp_head.0.bias",
                          "mlp_head.1.weight", "mlp_head.1.bias"]
    assert all(label.startswith("mlp_head.") for label in labels)
    edit = completions.items[2].text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range == types.Range(position_of(typing, "'mlp_head.", 1), cursor)
    # Outside a string, or in a comment, nothing is offered.
    comment = position_of(typing, "# Freeze everything", len("# Freeze everything"))
    assert await shared.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri), comment)) is None


@on_shared_server
async def test_code_lens_shows_what_the_optimizer_trains(shared: LanguageClient,
                                                         tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, EXAMPLE)
    await published(shared, uri)

    async def lens() -> types.CodeLens:
        (found,) = await shared.text_document_code_lens_async(types.CodeLensParams(
            types.TextDocumentIdentifier(uri))) or []
        return found

    frozen = await lens()
    assert frozen.range.start == position_of(EXAMPLE, "torch.optim.SGD(")
    assert frozen.command is not None
    assert "trains 0 of 159 parameters (0% of elements)" in frozen.command.title
    change_doc(shared, uri, FIXED, 2)
    await published(shared, uri)
    head = await lens()
    assert head.command is not None
    assert "trains 2 of 159 parameters (<0.01% of elements)" in head.command.title


# -- notebooks ---------------------------------------------------------------------------

SETUP_CELL = EXAMPLE[:EXAMPLE.index("# Freeze everything")]
FREEZE_CELL = "%matplotlib inline\n" + EXAMPLE[EXAMPLE.index("# Freeze everything"):
                                               EXAMPLE.index("optimizer = ")].rstrip("\n")
OPTIMIZER_CELL = "!nvidia-smi\n" + EXAMPLE[EXAMPLE.index("optimizer = "):]
BROKEN_CELL = "batch = next(iter(loader)\n"


def cell(notebook: str, index: int) -> str:
    return f"vscode-notebook-cell:{notebook.removeprefix('file:')}#W{index}sZmlsZQ%3D%3D"


@on_shared_server
async def test_vscode_notebook_cells_are_linted_together(shared: LanguageClient,
                                                         tmp_path: Path) -> None:
    result = SHARED_INIT[0]
    assert result.capabilities.notebook_document_sync is not None
    notebook = (tmp_path / "finetune.ipynb").as_uri()
    texts = [SETUP_CELL, "Some *markdown*", FREEZE_CELL, BROKEN_CELL, OPTIMIZER_CELL]
    uris = [cell(notebook, i) for i in range(len(texts))]
    kinds = [types.NotebookCellKind.Markup if i == 1 else types.NotebookCellKind.Code
             for i in range(len(texts))]
    shared.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        types.NotebookDocument(uri=notebook, notebook_type="jupyter-notebook", version=1,
                               cells=[types.NotebookCell(kind, uri)
                                      for kind, uri in zip(kinds, uris, strict=True)]),
        [types.TextDocumentItem(uri, "markdown" if i == 1 else "python", 1, text)
         for i, (uri, text) in enumerate(zip(uris, texts, strict=True))]))
    code_uris = [u for u, k in zip(uris, kinds, strict=True) if k == types.NotebookCellKind.Code]
    await published(shared, *code_uris)

    assert list(shared.diagnostics[uris[0]]) == []
    freeze = list(shared.diagnostics[uris[2]])
    assert codes(freeze) == ["FZL101", "FZL101"]
    assert spans([d.range for d in freeze]) == spans([range_of(FREEZE_CELL, "'fc.weight'"),
                                                      range_of(FREEZE_CELL, "'fc.bias'")])
    (broken,) = shared.diagnostics[uris[3]]
    assert broken.code == "FZL000" and broken.severity == types.DiagnosticSeverity.Error
    (optimizer,) = shared.diagnostics[uris[4]]  # knows about the freeze in another cell
    assert optimizer.code == "FZL103"
    assert optimizer.range.start == position_of(OPTIMIZER_CELL, "torch.optim.SGD(")
    assert optimizer.related_information is not None
    assert optimizer.related_information[0].location.uri == uris[2]
    assert optimizer.related_information[0].location.range == range_of(
        FREEZE_CELL, "p.requires_grad = False")

    # Hover and quick fixes work per cell, against the whole notebook.
    text = await hover_text(shared, uris[2], position_of(FREEZE_CELL, "'fc.weight'", 2))
    assert "mlp_head.1.weight" in text
    actions = await actions_at(shared, uris[2], range_of(FREEZE_CELL, "'fc.weight'"))
    assert any(a.title == "Replace with 'mlp_head.1.weight' (unsafe)" for a in actions)

    # Fixing the freeze cell clears the optimizer cell too.
    fixed = FREEZE_CELL.replace("'fc.weight'", "'mlp_head.1.weight'").replace(
        "'fc.bias'", "'mlp_head.1.bias'")
    for uri in code_uris:
        shared.diagnostics.pop(uri, None)
    shared.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
        types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            text_content=[types.NotebookDocumentCellContentChanges(
                types.VersionedTextDocumentIdentifier(version=2, uri=uris[2]),
                [types.TextDocumentContentChangeWholeDocument(text=fixed)])]))))
    await published(shared, *code_uris)
    assert [str(d.code) for uri in code_uris for d in shared.diagnostics[uri]] == ["FZL000"]

    # Deleting the broken cell clears its diagnostics.
    shared.diagnostics.pop(uris[3])
    shared.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        types.VersionedNotebookDocumentIdentifier(version=3, uri=notebook),
        types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=3, delete_count=1),
                did_close=[types.TextDocumentIdentifier(uris[3])])))))
    assert await published(shared, uris[3]) == []
    # Closing the notebook clears every cell.
    shared.diagnostics.clear()
    shared.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        types.NotebookDocumentIdentifier(notebook),
        [types.TextDocumentIdentifier(uri) for uri in code_uris if uri != uris[3]]))
    assert await published(shared, *[u for u in code_uris if u != uris[3]]) == []


@on_shared_server
async def test_jupyterlab_notebook_text_survives_magics_and_a_bad_cell(
        shared: LanguageClient, tmp_path: Path) -> None:
    uri = (tmp_path / "demo.ipynb").as_uri()
    freeze = EXAMPLE[EXAMPLE.index("# Freeze everything"):EXAMPLE.index("optimizer = ")]
    cells = [SETUP_CELL.rstrip("\n"),
             'get_ipython().run_line_magic("matplotlib", " inline")',
             "model?",
             freeze.rstrip("\n"),
             "def broken(:\n    pass",
             EXAMPLE[EXAMPLE.index("optimizer = "):].rstrip("\n")]
    text = "\n\n\n".join(cells) + "\n"
    open_doc(shared, uri, text)
    found = await published(shared, uri)
    assert codes(found) == ["FZL000", "FZL101", "FZL101", "FZL103"]
    ranges = {str(d.code): d.range for d in found if d.code != "FZL101"}
    assert ranges["FZL000"].start.line == position_of(text, "def broken(:").line
    assert ranges["FZL103"].start == position_of(text, "torch.optim.SGD(")
    assert spans([d.range for d in found if d.code == "FZL101"]) == spans(
        [range_of(text, "'fc.weight'"), range_of(text, "'fc.bias'")])


# -- robustness and configuration -------------------------------------------------------


@on_shared_server
async def test_a_document_that_does_not_parse_gives_fzl000_and_the_server_goes_on(
        shared: LanguageClient, tmp_path: Path) -> None:
    broken = (tmp_path / "broken.py").as_uri()
    text = "import torch\n\ndef train(model:\n    pass\n"
    open_doc(shared, broken, text)
    (error,) = await published(shared, broken)
    assert error.code == "FZL000" and error.severity == types.DiagnosticSeverity.Error
    assert error.message.startswith("syntax error")
    assert await actions_at(shared, broken, error.range) == []  # nothing to fix or ignore
    # Requests on documents nobody opened get an empty answer, not a crash.
    nowhere = (tmp_path / "never-opened.py").as_uri()
    assert await shared.text_document_code_lens_async(types.CodeLensParams(
        types.TextDocumentIdentifier(nowhere))) is None
    # And the server still serves.
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, EXAMPLE)
    assert len(await published(shared, uri)) == 3
    assert "mlp_head.1.weight" in await hover_text(
        shared, uri, position_of(EXAMPLE, "'fc.weight'", 1))




@on_shared_server
async def test_pyproject_names_the_model(shared: LanguageClient, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.freezelint]\nmodel = "ast"\n')
    uri = (project / "src" / "setup.py").as_uri()
    open_doc(shared, uri, LOOP_WITHOUT_MODEL)
    found = await published(shared, uri)
    assert codes(found) == ["FZL101", "FZL103"]
    assert found == [d for d in found if d.code != "freezelint.model"]
    # Elsewhere, the same code names no model: nothing to say.
    elsewhere = (tmp_path / "setup.py").as_uri()
    open_doc(shared, elsewhere, LOOP_WITHOUT_MODEL)
    assert await published(shared, elsewhere) == []


@on_shared_server
async def test_the_editor_uses_the_configuration_the_cli_uses(shared: LanguageClient,
                                                              tmp_path: Path) -> None:
    """freezelint.toml with per-file keys: the editor reports what `freezelint check` does."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "freezelint.toml").write_text(textwrap.dedent("""\
        per-file-models = { "scripts/*" = "ast" }
        per-file-ignores = { "*_probe.py" = ["FZL103"] }
    """))
    reports = {}
    for name in ("finetune.py", "linear_probe.py"):
        path = project / "scripts" / name
        path.write_text(LOOP_WITHOUT_MODEL)
        open_doc(shared, path.as_uri(), LOOP_WITHOUT_MODEL)
        reports[name] = codes(await published(shared, path.as_uri()))
        cli = invoke("check", str(path), "--no-cache", "--output-format", "json")
        assert reports[name] == sorted(f["rule"] for f in json.loads(cli.stdout))
    assert reports == {"finetune.py": ["FZL101", "FZL103"], "linear_probe.py": ["FZL101"]}


@on_shared_server
async def test_a_broken_configuration_is_shown_and_picked_up_once_repaired(
        shared: LanguageClient, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.freezelint]\nmodle = "ast"\n')
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, LOOP_WITHOUT_MODEL)
    (notice,) = await published(shared, uri)
    assert notice.code == "freezelint.config"
    assert notice.severity == types.DiagnosticSeverity.Warning
    assert "unknown key 'modle'" in notice.message and "did you mean 'model'" in notice.message
    assert str(config) in notice.message

    config.write_text('[tool.freezelint]\nmodel = "ast"\n')
    change_doc(shared, uri, LOOP_WITHOUT_MODEL + "\n", 2)
    assert codes(await published(shared, uri)) == ["FZL101", "FZL103"]


def user_model_project(root: Path) -> Path:
    """A project whose pyproject names its own model, which leaves a marker when imported."""
    marker = root / "model-code-ran"
    (root / "mymodel.py").write_text(textwrap.dedent(f"""\
        import os
        from pathlib import Path
        Path({str(marker)!r}).write_text("ran")

        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = nn.Linear(8, 8)
                # A width read at run time: the class cannot be read statically, only built.
                self.classifier = nn.Linear(8, int(os.environ.get("CLASSES", "2")))
    """))
    (root / "pyproject.toml").write_text('[tool.freezelint]\nmodel = "mymodel.py:Net"\n')
    return marker


@on_shared_server
async def test_user_code_models_are_not_built_without_trust(shared: LanguageClient,
                                                            tmp_path: Path) -> None:
    marker = user_model_project(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    open_doc(shared, uri, LOOP_WITHOUT_MODEL)
    (notice,) = await published(shared, uri)
    assert notice.code == "freezelint.model"
    assert notice.severity == types.DiagnosticSeverity.Information
    assert notice.range.start == types.Position(0, 0)
    assert "trust-local-models = true" in notice.message
    assert "freezelint.trustLocalModels" in notice.message
    assert not marker.exists()


@pytest.mark.torch
@pytest.mark.asyncio
async def test_user_code_models_are_built_once_trusted(client: LanguageClient,
                                                       tmp_path: Path) -> None:
    pytest.importorskip("torch")
    marker = user_model_project(tmp_path)
    await start(client, tmp_path, options={"trustLocalModels": True})
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, LOOP_WITHOUT_MODEL)
    found = await published(client, uri)
    assert codes(found) == ["FZL101", "FZL103"]
    assert "classifier.weight" in next(d.message for d in found if d.code == "FZL101")
    assert marker.exists()


@pytest.mark.asyncio
async def test_settings_from_the_client_relint_open_documents(client: LanguageClient,
                                                              tmp_path: Path) -> None:
    await start(client, tmp_path, options={"ignore": ["FZL103"]})
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, LOOP_WITHOUT_MODEL)
    assert await published(client, uri) == []  # no model yet
    client.diagnostics.pop(uri)
    client.set_configuration({"model": "ast", "ignore": []}, section="freezelint")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert codes(await published(client, uri)) == ["FZL101", "FZL103"]
    client.diagnostics.pop(uri)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"freezelint": {"select": ["FZL103"]}}))
    assert codes(await published(client, uri)) == ["FZL103"]


UNUSED_SUPPRESSION = "import torch\nx = 1  # freezelint: ignore[FZL101]\n"


@pytest.mark.asyncio
async def test_editor_extend_select_turns_on_an_opt_in_rule(client: LanguageClient,
                                                            tmp_path: Path) -> None:
    """The server selects rules as the CLI does (engine/selection.py): the opt-in FZL900
    only when extend-select names it."""
    await start(client, tmp_path, options={"extendSelect": ["FZL900"]})
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, UNUSED_SUPPRESSION)
    assert codes(await published(client, uri)) == ["FZL900"]
    client.diagnostics.pop(uri)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"freezelint": {"extendSelect": []}}))
    assert await published(client, uri) == []


@on_shared_server
async def test_project_extend_select_turns_on_an_opt_in_rule(shared: LanguageClient,
                                                             tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "freezelint.toml").write_text('extend-select = ["FZL900"]\n')
    path = project / "train.py"
    path.write_text(UNUSED_SUPPRESSION)
    open_doc(shared, path.as_uri(), UNUSED_SUPPRESSION)
    assert codes(await published(shared, path.as_uri())) == ["FZL900"]
    cli = invoke("check", str(path), "--no-cache", "--output-format", "json")
    assert [f["rule"] for f in json.loads(cli.stdout)] == ["FZL900"]
    elsewhere = (tmp_path / "train.py").as_uri()  # no configuration: opt-in stays off
    open_doc(shared, elsewhere, UNUSED_SUPPRESSION)
    assert await published(shared, elsewhere) == []


def rpc(method: str, params: Any, id_: int | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if id_ is not None:
        message["id"] = id_
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_reply(connection: socket.socket, id_: int, buffer: bytearray) -> dict[str, Any]:
    """The response to request `id_` (notifications before it are skipped)."""
    while True:
        header_end = buffer.find(b"\r\n\r\n")
        if header_end >= 0:
            length = int(bytes(buffer[:header_end]).split(b"Content-Length:")[1].split(b"\r\n")[0])
            if len(buffer) >= header_end + 4 + length:
                message = json.loads(bytes(buffer[header_end + 4:header_end + 4 + length]))
                del buffer[:header_end + 4 + length]
                if message.get("id") == id_:
                    return message
                continue
        chunk = connection.recv(65536)
        assert chunk, "connection closed"
        buffer.extend(chunk)


def test_tcp_malformed_requests_and_a_clean_exit(tmp_path: Path) -> None:
    """`--tcp` listens on 127.0.0.1; a request with bad params gets a JSON-RPC error and
    the server goes on; shutdown then exit ends the process with status 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*SERVER, "--tcp", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.1)
        buffer = bytearray()
        with connection:
            connection.sendall(rpc("initialize", {"capabilities": {}, "processId": None,
                                                  "initializationOptions": {"debounce": 0}}, 1))
            reply = read_reply(connection, 1, buffer)
            assert reply["result"]["serverInfo"]["name"] == "freezelint"
            capabilities = reply["result"]["capabilities"]
            assert capabilities["codeActionProvider"]["codeActionKinds"] == [
                "quickfix", "source.fixAll", "source.fixAll.freezelint"]
            assert capabilities["hoverProvider"] and capabilities["codeLensProvider"]
            connection.sendall(rpc("initialized", {}))
            connection.sendall(rpc("textDocument/hover", {"bogus": True}, 2))
            assert "error" in read_reply(connection, 2, buffer)
            uri = (tmp_path / "train.py").as_uri()
            connection.sendall(rpc("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "python", "version": 1, "text": EXAMPLE}}))
            connection.sendall(rpc("textDocument/codeLens", {"textDocument": {"uri": uri}}, 3))
            (lens,) = read_reply(connection, 3, buffer)["result"]
            assert "trains 0 of 159 parameters" in lens["command"]["title"]
            connection.sendall(rpc("shutdown", None, 4))
            assert read_reply(connection, 4, buffer)["result"] is None
            connection.sendall(rpc("exit", None))
        assert server.wait(timeout=TIMEOUT) == 0
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


def test_lint_config_sanity() -> None:
    """The scenario the suite relies on, checked without the server."""
    config = LintConfig(model=load_zoo("ast"))
    assert sorted(d.rule for d in lint(LOOP_WITHOUT_MODEL, config)) == ["FZL101", "FZL103"]


# -- the pieces, in process --------------------------------------------------------------


def test_columns_are_utf16_on_lines_beyond_the_bmp() -> None:
    from pygls.workspace import PositionCodec

    from freezelint.common.diagnostics import Span
    from freezelint.lsp.notebooks import Part, prepare_script
    from freezelint.lsp.text import Layout

    text = "label = '\U0001F600'; key = 'fc.weight'\n"
    prepared = prepare_script(Part("file:///x.py", 1, text))
    layout = Layout(prepared.segments, prepared.lines, PositionCodec())
    column = text.index("'fc.weight'")  # code points, as libcst counts
    uri, where = layout.locate(Span.of(1, column, 1, column + len("'fc.weight'"))) or ("", None)
    assert uri == "file:///x.py" and where is not None
    assert where.start == types.Position(0, column + 1)  # the emoji is two UTF-16 units
    assert layout.to_linted(uri, where.start) == Span.of(1, column, 1, column).start


def test_jupyterlab_text_skips_only_the_chunk_that_does_not_parse() -> None:
    from freezelint.lsp.notebooks import Part, prepare_jupyterlab

    cells = ["import torch", "x?", "data = load(\n    'a.csv'", "y = 1\n%time y += 1", "z = 2"]
    text = "\n\n\n".join(cells) + "\n"
    prepared = prepare_jupyterlab(Part("file:///nb.ipynb", 1, text))
    linted = prepared.text.split("\n")
    assert linted[0] == "import torch" and "z = 2" in linted and "y = 1" in linted
    assert "x?" not in prepared.text and "%time" not in prepared.text
    assert "load(" not in prepared.text  # the unclosed call is skipped ...
    (skipped,) = prepared.skipped  # ... and reported once, where Python placed it
    assert skipped.rule == "FZL000"
    assert skipped.span.start.line == text[:text.index("data = load(")].count("\n") + 1
    assert len(linted) == len(text.split("\n"))  # every line where it was


def test_vscode_cell_magics_are_left_out() -> None:
    from freezelint.lsp.notebooks import Part, prepare_cells

    cells = [Part("c0", 1, "%%bash\necho hi"), Part("c1", 1, "%%time\nx = 1"),
             Part("c2", 1, "!pip install timm\ny = 2\n")]
    prepared = prepare_cells(cells)
    assert prepared.skipped == ()
    assert prepared.text == "\n\n\nx = 1\n\ny = 2\n"
    assert [(s.uri, s.start, s.end, s.terminated) for s in prepared.segments] == [
        ("c0", 0, 2, False), ("c1", 2, 4, False), ("c2", 4, 6, True)]


@pytest.mark.asyncio
async def test_a_failing_lint_is_reported_and_a_stale_one_never_published() -> None:
    from pygls.workspace import PositionCodec

    from freezelint.lsp.linting import SCRIPT, Linter, LintResult, Snapshot
    from freezelint.lsp.notebooks import Part
    from freezelint.lsp.settings import EditorSettings

    texts: dict[str, Any] = {"doc": EXAMPLE}
    published_results: list[tuple[LintResult, bool]] = []
    failures: list[BaseException] = []

    def snapshot(key: str, generation: int) -> Snapshot:
        return Snapshot(key, generation, SCRIPT, (Part(key, generation, texts[key]),),
                        None, None, EditorSettings(), PositionCodec())

    def publish(result: LintResult) -> None:
        published_results.append((result, linter.is_current(result)))

    linter = Linter(snapshot, publish, lambda key, error: failures.append(error))
    texts["doc"] = None  # the lint of this text raises
    linter.changed("doc", 0)
    assert await linter.result("doc") is None
    assert failures and not published_results

    texts["doc"] = EXAMPLE
    linter.changed("doc", 0)
    await asyncio.sleep(0.01)  # let the lint start in its thread
    texts["doc"] = FIXED
    linter.changed("doc", 0)
    final = await linter.result("doc")
    await asyncio.sleep(0.05)
    assert final is not None and final.diagnostics == []
    assert published_results and all(current for _, current in published_results)
    assert published_results[-1][0].diagnostics == []
