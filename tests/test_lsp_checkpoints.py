"""Issue 17 in the editor: a checkpoint saved from a DataParallel model and loaded into the
bare one is underlined at the load without any model being known, with the save as related
information, and the quick fix gives the CLI's --fix result."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from test_lsp import SERVER, actions_at, apply, only_edits, open_doc, published, start

from freezelint.engine.fixes import fix_text

SCRIPT = textwrap.dedent("""
    import torch
    from torch import nn

    from nets import Net

    model = nn.DataParallel(Net())
    torch.save(model.state_dict(), 'best.pth')

    restored = Net()
    restored.load_state_dict(torch.load('best.pth'))
    """)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, tmp_path_factory.mktemp("workspace"))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_saved_prefix_mismatch_in_the_editor(client: LanguageClient,
                                                   tmp_path: Path) -> None:
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, SCRIPT)
    found = await published(client, uri)
    assert [d.code for d in found] == ["FZL308"]
    diagnostic = found[0]
    assert diagnostic.range.start.line == SCRIPT.splitlines().index(
        "restored.load_state_dict(torch.load('best.pth'))")
    related = diagnostic.related_information or []
    assert [r.location.range.start.line for r in related] == [
        SCRIPT.splitlines().index("torch.save(model.state_dict(), 'best.pth')")]
    actions = [a for a in await actions_at(client, uri, diagnostic.range)
               if a.kind == types.CodeActionKind.QuickFix and "Strip" in a.title]
    assert len(actions) == 1
    assert apply(SCRIPT, only_edits(actions[0], uri)) == fix_text(SCRIPT).text
