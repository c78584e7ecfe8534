"""The language server in a real Neovim: Debian's `neovim` (0.7.2), headless, with no user
config. A Lua script starts `python -m freezelint lsp` with `vim.lsp.start_client`, attaches
it to the AST example, waits for the diagnostics, applies the quick fix on 'fc.weight' through
`textDocument/codeAction`, and writes what it saw as JSON for the assertions below.

0.7.2 has no `vim.lsp.start` or `vim.lsp.config`; the README's configurations for newer
versions pass the same command, init_options and settings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import debian_command

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "ast_head_finetune.py"
README = REPO / "editor-integrations" / "neovim" / "README.md"

SCRIPT = r"""
local env = vim.env
local result = {}
local ok, err = pcall(function()
  vim.cmd('edit ' .. vim.fn.fnameescape(env.FREEZELINT_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].filetype = 'python' -- -u NONE: no filetype detection
  local client_id = vim.lsp.start_client({
    name = 'freezelint',
    cmd = { env.FREEZELINT_PYTHON, '-m', 'freezelint', 'lsp' },
    root_dir = vim.fn.fnamemodify(env.FREEZELINT_FILE, ':h'),
    init_options = { debounce = 0 },
    settings = { freezelint = { ignore = {} } }, -- answers workspace/configuration
  })
  assert(client_id, 'vim.lsp.start_client returned nil')
  assert(vim.lsp.buf_attach_client(bufnr, client_id), 'buf_attach_client failed')
  local start = vim.loop.hrtime()
  vim.wait(20000, function() return #vim.diagnostic.get(bufnr) >= 3 end, 50)
  result.seconds = (vim.loop.hrtime() - start) / 1e9

  local target
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(result.diagnostics, {
      code = d.code, message = d.message, lnum = d.lnum, col = d.col,
      severity = d.severity, source = d.source,
    })
    if d.message:find("'fc.weight'", 1, true) then target = d end
  end
  assert(target, "no diagnostic on 'fc.weight'")

  -- The quick fix, as `vim.lsp.buf.code_action()` would request and apply it.
  local client = vim.lsp.get_client_by_id(client_id)
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = {
      start = { line = target.lnum, character = target.col },
      ['end'] = { line = target.end_lnum, character = target.end_col },
    },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, target.lnum) },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/codeAction', params, 10000)
  result.actions = {}
  for _, response in pairs(responses or {}) do
    for _, action in ipairs(response.result or {}) do
      table.insert(result.actions, action.title)
      if action.title:find("Replace with 'mlp_head.1.weight'", 1, true) then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      end
    end
  end
  result.fixed_line = vim.api.nvim_buf_get_lines(bufnr, target.lnum, target.lnum + 1, false)[1]

  -- The edit reaches the server (didChange), which lints again.
  vim.wait(20000, function()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.message:find("'fc.weight'", 1, true) then return false end
    end
    return true
  end, 50)
  result.after = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(result.after, { code = d.code, message = d.message, lnum = d.lnum, col = d.col })
  end
  vim.lsp.stop_client(client_id)
  vim.wait(5000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
end)
if not ok then result.error = tostring(err) end
local out = io.open(env.FREEZELINT_OUT, 'w')
out:write(vim.fn.json_encode(result))
out:close()
vim.cmd('qa!')
"""


@pytest.fixture(scope="module")
def nvim() -> str:
    found = debian_command("nvim", "neovim")
    if found is None:
        pytest.skip("nvim not found and it could not be installed (apt-get install -y neovim)")
    return found


@pytest.fixture(scope="module")
def seen(nvim: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("neovim")
    shutil.copy2(EXAMPLE, work / EXAMPLE.name)
    (work / "test.lua").write_text(SCRIPT)
    env = {**os.environ, "FREEZELINT_FILE": str(work / EXAMPLE.name),
           "FREEZELINT_PYTHON": sys.executable, "FREEZELINT_OUT": str(work / "out.json"),
           "XDG_STATE_HOME": str(work / "state"), "XDG_DATA_HOME": str(work / "data")}
    start = time.monotonic()
    done = subprocess.run([nvim, "--headless", "-u", "NONE", "-c", "luafile test.lua"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert (work / "out.json").exists(), f"nvim wrote nothing:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads((work / "out.json").read_text())
    assert "error" not in result, f"{result['error']}\n{done.stderr}"
    assert elapsed < 30, f"nvim took {elapsed:.1f} s"
    return result


def position(needle: str) -> tuple[int, int]:
    """0-based line and column of `needle` in the example."""
    for lnum, line in enumerate(EXAMPLE.read_text().splitlines()):
        if needle in line:
            return lnum, line.index(needle)
    raise AssertionError(needle)


def test_diagnostics_reach_neovim(seen: dict[str, Any]) -> None:
    found = sorted((d["code"], d["lnum"], d["col"]) for d in seen["diagnostics"])
    assert found == sorted([
        ("FZL101", *position("'fc.weight'")),
        ("FZL101", *position("'fc.bias'")),
        ("FZL103", *position("torch.optim.SGD(")),
    ])
    assert all(d["source"] == "freezelint" for d in seen["diagnostics"])
    fzl101 = next(d for d in seen["diagnostics"] if "'fc.weight'" in d["message"])
    assert "mlp_head.1.weight" in fzl101["message"]
    assert fzl101["severity"] == 2  # vim.diagnostic.severity.WARN
    assert next(d for d in seen["diagnostics"] if d["code"] == "FZL103")["severity"] == 1


def test_quick_fix_from_neovim(seen: dict[str, Any]) -> None:
    assert any("Replace with 'mlp_head.1.weight'" in title for title in seen["actions"])
    assert seen["fixed_line"].strip() == "if name != 'mlp_head.1.weight' and name != 'fc.bias':"
    # Linted again after the edit: the head trains now, only 'fc.bias' is left.
    assert [(d["code"], d["lnum"]) for d in seen["after"]] == [("FZL101", position("'fc.bias'")[0])]


def test_readme_snippet_for_neovim_0_7(nvim: str, tmp_path: Path) -> None:
    """The README's 0.7 `init.lua` snippet, verbatim but for the interpreter, as a user's
    config (-u), with filetype detection doing the attaching."""
    blocks = re.findall(r"```lua\n(.*?)```", README.read_text(), re.S)
    snippet = next(block for block in blocks if "vim.lsp.start_client" in block)
    assert "'python3'" in snippet
    out = tmp_path / "codes.txt"
    (tmp_path / "init.lua").write_text(snippet.replace("'python3'", json.dumps(sys.executable)) + f"""
vim.api.nvim_create_autocmd('VimEnter', {{ callback = function()
  vim.wait(20000, function() return #vim.diagnostic.get(0) >= 3 end, 50)
  local codes = {{}}
  for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(codes, d.code .. ':' .. d.lnum) end
  local file = io.open({json.dumps(str(out))}, 'w')
  file:write(table.concat(codes, ' '))
  file:close()
  vim.cmd('qa!')
end }})
""")
    shutil.copy2(EXAMPLE, tmp_path / EXAMPLE.name)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([nvim, "--headless", "-u", "init.lua", EXAMPLE.name], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert out.exists(), f"{done.stdout}\n{done.stderr}"
    expected = [("FZL101", "'fc.weight'"), ("FZL101", "'fc.bias'"), ("FZL103", "torch.optim.SGD(")]
    assert sorted(out.read_text().split()) == sorted(
        f"{code}:{position(needle)[0]}" for code, needle in expected)
