"""Issue 13 in the editor: a document whose model is unknown gets one code lens at the first
site no model-aware rule could check, saying so; never a diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from helpers import LOOP_WITHOUT_MODEL
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from test_lsp import SERVER, open_doc, position_of, published, start

pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def lenses(client: LanguageClient, uri: str) -> list[types.CodeLens]:
    return await client.text_document_code_lens_async(types.CodeLensParams(
        types.TextDocumentIdentifier(uri))) or []


async def test_one_lens_at_the_first_unchecked_site(client: LanguageClient,
                                                   tmp_path: Path) -> None:
    await start(client, tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, LOOP_WITHOUT_MODEL)
    assert await published(client, uri) == []  # nothing is wrong: no diagnostic
    (lens,) = await lenses(client, uri)
    assert lens.range.start == position_of(LOOP_WITHOUT_MODEL, "name != 'fc.weight'")
    assert lens.command is not None
    assert lens.command.title.startswith(
        "freezelint: 1 name test, 1 freeze, 1 optimizer in this document not checked: "
        "model unknown")


async def test_no_such_lens_once_the_model_is_named(client: LanguageClient,
                                                    tmp_path: Path) -> None:
    await start(client, tmp_path, options={"model": "resnet50"})
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, LOOP_WITHOUT_MODEL)
    await published(client, uri)
    assert not any("not checked" in (lens.command.title if lens.command else "")
                   for lens in await lenses(client, uri))
