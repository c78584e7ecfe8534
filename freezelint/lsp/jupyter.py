"""freezelint's server spec for jupyter-lsp, the server half of jupyterlab-lsp.

Installed as the `jupyter_lsp_spec_v1` entry point of the freezelint package, so a
JupyterLab running in the same environment as `pip install 'freezelint[jupyterlab]'` finds
it without configuration (it is listed by `GET /lsp/status`). jupyterlab-lsp then opens each
notebook as one virtual document, `file:///.../x.ipynb`, whose text is the code cells joined
by blank lines with magics rewritten to `get_ipython()` calls; the server lints that text as
one program (`freezelint.lsp.notebooks.prepare_jupyterlab`).

The same dict can be given by hand instead, under
`{"LanguageServerManager": {"language_servers": {"freezelint": ...}}}` in a
`jupyter_server_config.json` (see editor-integrations/jupyterlab/README.md).

This module must not import jupyter-lsp: the entry point is loaded by jupyter-lsp itself,
and the spec is plain data.
"""

from __future__ import annotations

import sys
from typing import Any

SPEC_VERSION = 2  # jupyter_lsp.schema.SPEC_VERSION: the spec schema this dict follows

# Shown by jupyterlab-lsp's settings editor (Settings > Language Servers) and sent back as
# `workspace/didChangeConfiguration` {"freezelint": {...}}, which the server reads like the
# VS Code settings. No defaults: an empty `select` would select no rule at all, and an
# unset key leaves the server's own default (and the project's freezelint.toml or pyproject.toml).
CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "freezelint",
    "type": "object",
    "properties": {
        "freezelint.model": {
            "type": "string",
            "description": "Model to lint against, as for `freezelint check --model`: a zoo "
                           "name (ast, resnet50), a checkpoint or manifest path, or your own "
                           "module:callable. Unset: detected from the code or a "
                           "`# freezelint: model=...` directive. The project's "
                           "freezelint.toml or [tool.freezelint] wins over this setting.",
        },
        "freezelint.modelArgs": {
            "type": "object",
            "description": "Keyword arguments for the model, e.g. {\"label_dim\": 10}.",
        },
        "freezelint.select": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Rule codes or prefixes to report (e.g. [\"FZL1\"]). Unset: "
                           "the default rules.",
        },
        "freezelint.ignore": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Rule codes or prefixes never to report.",
        },
        "freezelint.debounce": {
            "type": "number",
            "minimum": 0,
            "description": "Milliseconds to wait after a keystroke before linting "
                           "(server default: 150).",
        },
        "freezelint.trustLocalModels": {
            "type": "boolean",
            "description": "Allow the server to build a model that is your own code "
                           "(pkg.mod:make_model, models.py:Net) on the meta device. Building "
                           "it runs that code.",
        },
    },
}


def spec(app: Any = None) -> dict[str, dict[str, Any]]:
    """The `jupyter_lsp_spec_v1` entry point: {key: spec}. `app` is jupyter-lsp's
    LanguageServerManager; it is not needed, since the server runs from this interpreter."""
    return {
        "freezelint": {
            "version": SPEC_VERSION,
            "argv": [sys.executable, "-m", "freezelint", "lsp"],
            "languages": ["python"],
            "mime_types": ["text/python", "text/x-ipython"],
            "display_name": "freezelint",
            # The server lints what the editor holds; no `.virtual_documents` on disk.
            "requires_documents_on_disk": False,
            "env": {"PYTHONUNBUFFERED": "1"},
            "urls": {
                "home": "https://github.com/freezelint/freezelint",
                "issues": "https://github.com/freezelint/freezelint/issues",
            },
            "install": {"pip": "pip install 'freezelint[jupyterlab]'"},
            "troubleshoot": (
                f"freezelint runs as `{sys.executable} -m freezelint lsp`, the interpreter "
                "of the Jupyter server. Check that `python -m freezelint lsp --help` works "
                "there, and that `jupyter server extension list` shows jupyter_lsp enabled. "
                "The server logs to the Jupyter server's terminal (stderr)."
            ),
            "config_schema": CONFIG_SCHEMA,
        }
    }
