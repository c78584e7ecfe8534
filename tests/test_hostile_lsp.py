"""The language server under hostile and broken input (issue 18): it never dies, never grows
without bound, and says what it could not do. Run as a subprocess over stdio with
pytest-lsp, as an editor runs it; inputs are generated here."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient
from test_hostile_parse import elif_chain, or_chain
from test_hostile_readers import nested_modules, zip_bomb

SERVER = [sys.executable, "-m", "freezelint", "lsp"]
TIMEOUT = 60.0
MODEL = "import torchvision\n\nmodel = torchvision.models.resnet50(weights=None)\n"
FINDING = MODEL + "model.layer1.requires_grad = False\n"  # FZL104
LOOP = ("for name, p in model.named_parameters():\n"
        "    if name != 'fc.weight':\n        p.requires_grad = False\n")
# What the server may hold after all of this (it starts at about 60 MB with libcst).
MAX_RSS_MB = 400


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    if not getattr(lsp_client, "_freezelint_shut_down", False):
        await lsp_client.shutdown_session()


async def start(client: LanguageClient, root: Path, **options: Any) -> None:
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            notebook_document=types.NotebookDocumentClientCapabilities(
                synchronization=types.NotebookDocumentSyncClientCapabilities())),
        root_uri=root.as_uri(), initialization_options={"debounce": 0, **options}))


def open_doc(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    return uri


async def published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), TIMEOUT)
    return list(client.diagnostics[uri])


def rss_mb(client: LanguageClient) -> int:
    pid = client._server.pid  # type: ignore[union-attr]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


@pytest.mark.asyncio
async def test_the_server_survives_every_hostile_file_in_bounded_memory(
        client: LanguageClient, tmp_path: Path) -> None:
    await start(client, tmp_path)
    zip_bomb(tmp_path / "bomb.pth")
    nested_modules(tmp_path / "deep.pth", 100_000)
    hostile = {
        "orchain.py": or_chain(10_000),  # SIGSEGV in libcst's parser before
        "elifs.py": elif_chain(500),  # RecursionError, 670 KB of log per lint before
        "bomb.py": "# freezelint: model=bomb.pth\n" + LOOP,  # 8 GB RSS before
        "deep.py": "# freezelint: model=deep.pth\n" + LOOP,
    }
    notices = {}
    for name, text in hostile.items():
        found = await published(client, open_doc(client, tmp_path / name, text))
        notices[name] = " ".join(d.message for d in found)
    assert "freezelint cannot check this file: code nested too deeply" in notices["orchain.py"]
    assert "freezelint cannot check this file: code nested too deeply" in notices["elifs.py"]
    assert "`# freezelint: model=bomb.pth` cannot be used" in notices["bomb.py"]
    assert "would inflate past 16 MiB" in notices["bomb.py"]
    assert "nested more than 256 levels" in notices["deep.py"]
    # alive and still linting
    found = await published(client, open_doc(client, tmp_path / "ok.py", FINDING))
    assert [d.code for d in found] == ["FZL104"]
    print(f"server RSS after the hostile files: {rss_mb(client)} MB")
    assert rss_mb(client) < MAX_RSS_MB
    for _ in range(5):  # re-linting the hostile files does not grow the server
        for name, text in hostile.items():
            uri = (tmp_path / name).as_uri()
            client.diagnostics.pop(uri, None)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=2 + _),
                [types.TextDocumentContentChangeWholeDocument(text=text + f"# {_}\n")]))
            await published(client, uri)
    print(f"server RSS after 5 more rounds: {rss_mb(client)} MB")
    assert rss_mb(client) < MAX_RSS_MB


@pytest.mark.asyncio
async def test_an_unknown_code_in_select_is_said_and_the_rest_still_reports(
        client: LanguageClient, tmp_path: Path) -> None:
    await start(client, tmp_path, select=["FZL10x", "FZL104"])
    found = await published(client, open_doc(client, tmp_path / "train.py", FINDING))
    assert [d.code for d in found if d.code == "FZL104"] == ["FZL104"]
    assert any("freezelint.select: unknown rule code 'FZL10X'" in d.message for d in found)


@pytest.mark.asyncio
async def test_a_notebook_cell_without_its_text_leaves_the_others_linted(
        client: LanguageClient, tmp_path: Path) -> None:
    await start(client, tmp_path)
    notebook = (tmp_path / "nb.ipynb").as_uri()
    uris = [f"vscode-notebook-cell:{notebook.removeprefix('file:')}#W{i}sZmlsZQ%3D%3D"
            for i in range(3)]
    texts = [MODEL, "print('lost')\n", "model.layer1.requires_grad = False\n"]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        types.NotebookDocument(uri=notebook, notebook_type="jupyter-notebook", version=1,
                               cells=[types.NotebookCell(types.NotebookCellKind.Code, u)
                                      for u in uris]),
        [types.TextDocumentItem(u, "python", 1, t)  # the middle cell's text never sent
         for i, (u, t) in enumerate(zip(uris, texts, strict=True)) if i != 1]))
    last = await published(client, uris[2])
    first = await published(client, uris[0])
    assert [d.code for d in last] == ["FZL104"]
    assert any("1 code cell(s) of this notebook came without their text" in d.message
               for d in first)


@pytest.mark.asyncio
async def test_requests_after_shutdown_are_answered_with_an_error(client: LanguageClient,
                                                                  tmp_path: Path) -> None:
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "train.py", FINDING)
    await published(client, uri)
    await client.shutdown_async(None)
    with pytest.raises(JsonRpcException, match="shut down"):
        await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(uri), types.Position(3, 8))), TIMEOUT)
    client.exit(None)
    client._freezelint_shut_down = True  # type: ignore[attr-defined]
    await asyncio.wait_for(client._server.wait(), TIMEOUT)  # type: ignore[union-attr]


@pytest.mark.parametrize(("line", "column", "literal"), [
    ("if n != 'fc.weight':", 12, "fc.weight"),
    ("x = \"it's\" + 'a\"b'", 6, "it's"),
    ("x = \"it's\" + 'a\"b'", 15, 'a"b'),
    ("x = 'a\\'b'", 6, "a\\'b"),
    ("x = 'abc\\'", 6, None),  # no string Python ends there
    ("x = '" + "a" * 1_000_000 + "'", 500_000, "a" * 1_000_000),  # one long line
])
def test_hover_finds_the_literal_under_the_cursor(line: str, column: int,
                                                  literal: str | None) -> None:
    from freezelint.lsp.hover import _literal_at

    assert _literal_at(line, column) == literal
