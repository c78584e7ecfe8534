"""The language server on a script whose model class lives in another file of the project:
diagnostics, hover and completion use the names read from the class, and an edit of the
model file is seen at the next lint of the script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from helpers import LOOP_WITHOUT_MODEL
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from test_lsp import (
    CAPABILITIES,
    SERVER,
    change_doc,
    codes,
    hover_text,
    open_doc,
    position_of,
    published,
)

FIXTURES = Path(__file__).parent / "fixtures" / "static_models"

SCRIPT = """\
import torch
from models import GPT, GPTConfig

model = GPT(GPTConfig())
for name, p in model.named_parameters():
    if not name.startswith('transformer.h.2.'):
        p.requires_grad = False
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_model_file_of_the_project(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    models = tmp_path / "models.py"
    shutil.copy(FIXTURES / "gpt.py", models)
    await client.initialize_session(types.InitializeParams(
        capabilities=CAPABILITIES, root_uri=tmp_path.as_uri(),
        initialization_options={"debounce": 0}))
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, SCRIPT)
    # 3 layers by default: transformer.h.2 exists, nothing to report.
    assert codes(await published(client, uri)) == []
    text = await hover_text(client, uri, position_of(SCRIPT, "'transformer.h.2.'", 3))
    assert "of `GPT (models.py)`" in text
    assert "`transformer.h.2.attn.c_attn.weight` [96, 32]" in text

    # The model file changes (2 layers): the next lint of the script reads it again.
    models.write_text(models.read_text().replace("n_layer: int = 3", "n_layer: int = 2"))
    change_doc(client, uri, SCRIPT + "\n", 2)
    diagnostics = await published(client, uri)
    # Now the prefix matches nothing, so everything is frozen and the optimizer gets nothing.
    assert codes(diagnostics) == ["FZL101", "FZL103"]
    assert any("'transformer.h.2.' starts no parameter name of `GPT (models.py)`" in d.message
               for d in diagnostics)
    assert not (tmp_path / "models.ran").exists()

    # Completion inside a new name test offers the class's real names.
    typing = SCRIPT.replace("if not name.startswith('transformer.h.2.'):",
                            "if not name.startswith('transformer.h.")
    change_doc(client, uri, typing, 3)
    await published(client, uri)
    cursor = position_of(typing, "'transformer.h.", len("'transformer.h."))
    completions = await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri), cursor))
    assert isinstance(completions, types.CompletionList)
    labels = [item.label for item in completions.items]
    assert "transformer.h.1.mlp.c_fc.weight" in labels
    assert not any(label.startswith("transformer.h.2") for label in labels)


@pytest.mark.asyncio
async def test_a_configured_class_read_statically_needs_no_trust(client: LanguageClient,
                                                                  tmp_path: Path) -> None:
    """pyproject names the project's own class; it is read from source (nothing runs), so
    the editor uses it without the trust that building it would need."""
    marker = tmp_path / "model-code-ran"
    (tmp_path / "mymodel.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n\n"
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.backbone = nn.Linear(8, 8)\n"
        "        self.classifier = nn.Linear(8, 2)\n")
    (tmp_path / "pyproject.toml").write_text('[tool.freezelint]\nmodel = "mymodel.py:Net"\n')
    await client.initialize_session(types.InitializeParams(
        capabilities=CAPABILITIES, root_uri=tmp_path.as_uri(),
        initialization_options={"debounce": 0}))
    uri = (tmp_path / "train.py").as_uri()
    open_doc(client, uri, LOOP_WITHOUT_MODEL)
    found = await published(client, uri)
    assert codes(found) == ["FZL101", "FZL103"]
    assert "classifier.weight" in next(d.message for d in found if d.code == "FZL101")
    assert not marker.exists()
