"""The language server in a real JupyterLab: JupyterLab 4 + jupyterlab-lsp on 127.0.0.1,
driven by Playwright in Debian's headless Chromium (never `playwright install`).

JupyterLab must find freezelint on its own, through the `jupyter_lsp_spec_v1` entry point
(freezelint/lsp/jupyter.py): the test checks that `/lsp/status` lists it, then opens a
notebook with the AST scenario split over cells (the model in cell 1, a `%matplotlib` magic
and the ResNet freeze loop in cell 2, the optimizer in cell 3) and checks:
- the underlines (`.cm-lintRange`) on 'fc.weight', 'fc.bias' and the optimizer, the lint
  tooltip (message and source), and the Ctrl+hover with the real parameter names;
- the Diagnostics Panel rows: FZL101 twice in cell 2, FZL103 in cell 3, nothing else
  from freezelint (the magic line does not break the notebook);
- a mistake typed into cell 3 (`model.fc.requires_grad = False`: AST has no `fc`) gets its
  FZL109 underline and panel row within a few seconds.
Screenshots go to a temporary directory; with FREEZELINT_REFRESH_SCREENSHOTS=1 they replace
the ones in editor-integrations/jupyterlab/screenshots/ (the README shows them).

Needs: pip install 'freezelint[jupyterlab]' playwright; apt-get install chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
MANUAL_CONFIG = REPO / "editor-integrations" / "jupyterlab" / "jupyter_server_config.json"
# The README shows the committed screenshots: a run writes its own elsewhere, and
# FREEZELINT_REFRESH_SCREENSHOTS=1 refreshes the committed ones.
SCREENSHOTS = REPO / "editor-integrations" / "jupyterlab" / "screenshots" \
    if os.environ.get("FREEZELINT_REFRESH_SCREENSHOTS") == "1" \
    else Path(tempfile.gettempdir()) / "freezelint-screenshots" / "jupyterlab"
CHROMIUM = os.environ.get("FREEZELINT_CHROMIUM", "/usr/bin/chromium")
# Playwright makes a fresh profile per launch (it refuses --user-data-dir in `launch`).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def missing(browser: bool) -> str | None:
    needed = [("jupyterlab", "jupyterlab"), ("jupyter_lsp", "jupyter-lsp"),
              ("psutil", "psutil")]
    if browser:
        needed += [("jupyterlab_lsp", "jupyterlab-lsp"), ("playwright", "playwright")]
    for module, package in needed:
        if importlib.util.find_spec(module) is None:
            return (f"{package} is not installed: pip install 'freezelint[jupyterlab]' "
                    "playwright")
    if browser and not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: apt-get install chromium "
                "(never `playwright install`)")
    return None


def require(browser: bool) -> None:
    """Skip where the browser or JupyterLab is not installed; CI sets
    FREEZELINT_REQUIRE_JUPYTERLAB=1 so that a missing piece fails instead."""
    reason = missing(browser)
    if reason is not None:
        if os.environ.get("FREEZELINT_REQUIRE_JUPYTERLAB") == "1":
            pytest.fail(f"FREEZELINT_REQUIRE_JUPYTERLAB=1 but {reason}")
        pytest.skip(reason)


CELLS = [
    "import torch\n"
    "from src.models import ASTModel\n"
    "\n"
    "model = ASTModel(label_dim=10, imagenet_pretrain=False, audioset_pretrain=False)",
    "%matplotlib inline\n"
    "for name, p in model.named_parameters():\n"
    "    if name != 'fc.weight' and name != 'fc.bias':\n"
    "        p.requires_grad = False",
    "optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), "
    "lr=1e-3)",
]
MISTAKE = "model.fc.requires_grad = False"

# What JupyterLab stores per user, kept out of ~ and made quiet: no news toast, no update
# check (both would also try the network).
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


def notebook(cells: list[str]) -> dict[str, Any]:
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3",
                           "language": "python"},
            "language_info": {"name": "python", "mimetype": "text/x-python",
                              "file_extension": ".py"},
        },
        "cells": [{"cell_type": "code", "id": f"cell-{index}", "metadata": {},
                   "execution_count": None, "outputs": [], "source": source}
                  for index, source in enumerate(cells)],
    }


def mark(started: float, what: str) -> None:
    print(f"[{time.monotonic() - started:6.2f}s] {what}", flush=True)


# -- the Jupyter server -------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    root: Path
    log: Path
    pid: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets Jupyter shut its kernel and language servers down; whatever is left of
    its descendants after that is killed, each by its PID."""
    import psutil

    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    _, alive = psutil.wait_procs(descendants, timeout=5)
    for child in alive:
        print(f"killing leftover process {child.pid}", flush=True)
        with contextlib.suppress(psutil.NoSuchProcess):
            os.kill(child.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_lab(tmp_path: Path, *args: str) -> Iterator[Lab]:
    """`jupyter lab` on 127.0.0.1 with no token, its per-user state kept in `tmp_path`;
    stopped (with its kernel and language servers) on exit."""
    root = tmp_path / "root"
    root.mkdir()
    settings = tmp_path / "user-settings"
    for name, values in USER_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),  # no user config
           "JUPYTER_DATA_DIR": str(tmp_path / "data"),  # notebook secret, signatures
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    port = free_port()
    log = tmp_path / "jupyterlab.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ip", "127.0.0.1", "--port", str(port), "--ServerApp.port_retries=0",
             "--IdentityProvider.token=", "--ServerApp.password=",
             f"--ServerApp.root_dir={root}", "--LabApp.news_url=None", *args],
            cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    print(f"jupyter lab pid {process.pid} on {url}, log {log}", flush=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                get_json(f"{url}/api/status")
                break
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        mark(started, "jupyter lab answers /api/status")
        yield Lab(url, root, log, process.pid)
    finally:
        stopping = time.monotonic()
        stop(process)
        mark(stopping, "jupyter lab stopped")
        print(log.read_text(errors="replace")[-4000:])


# -- the browser ---------------------------------------------------------------------------


def panel_rows(page: Any) -> list[dict[str, str]]:
    """The Diagnostics Panel's rows from freezelint (other servers may add theirs)."""
    columns = ["message", "code", "severity", "source", "cell", "position"]
    texts = page.eval_on_selector_all(
        ".lsp-diagnostics-listing tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
    rows = [dict(zip(columns, cells, strict=False)) for cells in texts]
    return [row for row in rows if row.get("source") == "freezelint"]


def wait_for_rows(page: Any, predicate: Any, timeout: float) -> list[dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = panel_rows(page)
        if predicate(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def lint_ranges(page: Any) -> list[str]:
    return page.eval_on_selector_all(".cm-lintRange", "els => els.map(e => e.textContent)")


def test_notebook_shows_freezelint_diagnostics_and_relints_typing(tmp_path: Path) -> None:
    require(browser=True)
    with running_lab(tmp_path) as lab:
        drive_notebook(lab)


def drive_notebook(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    status = get_json(f"{lab.url}/lsp/status")
    assert "freezelint" in status["specs"], sorted(status["specs"])
    spec = status["specs"]["freezelint"]
    assert spec["languages"] == ["python"] and spec["display_name"] == "freezelint"
    (lab.root / "finetune.ipynb").write_text(json.dumps(notebook(CELLS), indent=1))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            mark(started, "browser launched")

            page.goto(f"{lab.url}/lab/tree/finetune.ipynb")
            page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content")
            mark(started, "notebook rendered")

            # The underlines. `attached`, not visible: a range can sit in a line that
            # jupyterlab-lsp rewrote (magics), which Playwright does not call visible.
            page.wait_for_selector(".cm-lintRange", state="attached", timeout=45_000)
            page.wait_for_function(
                "() => document.querySelectorAll('.cm-lintRange').length >= 3")
            mark(started, "underlines shown")
            ranges = lint_ranges(page)
            assert "'fc.weight'" in ranges and "'fc.bias'" in ranges, ranges
            assert any(r.startswith("torch.optim.SGD(") for r in ranges), ranges

            # The lint tooltip on 'fc.weight' names the right parameter.
            page.locator(".cm-lintRange", has_text="'fc.weight'").first.hover()
            tooltip = page.wait_for_selector(".cm-tooltip-lint", timeout=10_000)
            tip = tooltip.inner_text()
            # jupyterlab-lsp shows the message and the source; the rule id is in the panel.
            assert "did you mean 'mlp_head.1.weight'" in tip and "freezelint" in tip, tip
            page.screenshot(path=str(SCREENSHOTS / "jupyterlab-underline.png"))
            mark(started, "tooltip: " + " ".join(tip.split())[:100])
            page.mouse.move(5, 400)

            # Hover (jupyterlab-lsp wants Ctrl held): the real names behind 'fc.bias'.
            page.keyboard.down("Control")
            page.locator(".cm-lintRange", has_text="'fc.bias'").first.hover()
            # The hover box appears before the server's answer fills it: wait for the text.
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.lsp-hover'))"
                ".some(e => e.textContent.includes('mlp_head.1.bias'))", timeout=10_000)
            hover = page.locator(".lsp-hover").first.inner_text()
            assert "mlp_head.1.bias" in hover and "FZL101" in hover, hover
            page.screenshot(path=str(SCREENSHOTS / "jupyterlab-hover.png"))
            page.keyboard.up("Control")
            page.mouse.move(5, 400)
            mark(started, "hover: " + " ".join(hover.split())[:100])

            # The Diagnostics Panel, opened from the command palette.
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.keyboard.press("Escape")  # command mode: the palette shortcut works
            page.keyboard.press("Control+Shift+C")
            page.wait_for_selector(".lm-CommandPalette-input")
            page.keyboard.type("Show diagnostics panel")
            active = page.wait_for_selector(".lm-CommandPalette-item.lm-mod-active")
            assert "diagnostics panel" in active.inner_text().lower(), active.inner_text()
            page.keyboard.press("Enter")
            page.wait_for_selector(".lsp-diagnostics-listing tbody tr")
            rows = wait_for_rows(page, lambda rows: len(rows) >= 3, 10)
            mark(started, f"diagnostics panel: {len(rows)} rows")
            found = sorted((row["code"], row["cell"]) for row in rows)
            assert found == [("FZL101", "2"), ("FZL101", "2"), ("FZL103", "3")], rows
            messages = {row["code"]: row["message"] for row in rows}
            assert "empty parameter list" in messages["FZL103"], messages

            # A new mistake, typed at the end of cell 3: AST has no `fc`.
            cell = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".cm-content")
            cell.click()
            page.keyboard.press("Control+End")
            page.keyboard.press("Enter")
            page.keyboard.type(MISTAKE)
            typed = time.monotonic()
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.cm-lintRange'))"
                ".some(e => e.textContent === 'model.fc')",
                timeout=10_000)
            underline_after = time.monotonic() - typed
            rows = wait_for_rows(page, lambda rows: any(r["code"] == "FZL109" for r in rows),
                                 10)
            row_after = time.monotonic() - typed
            mark(started, f"typed mistake: underline after {underline_after:.2f}s, "
                          f"panel row after {row_after:.2f}s")
            new = [row for row in rows if row["code"] == "FZL109"]
            assert len(new) == 1 and new[0]["cell"] == "3", rows
            assert "no submodule `fc`" in new[0]["message"], new
            page.keyboard.press("Escape")
            page.mouse.move(5, 400)
            page.wait_for_timeout(300)
            page.screenshot(path=str(SCREENSHOTS / "jupyterlab-diagnostics.png"))
            mark(started, "screenshots saved")
            if errors:
                print("page errors:", *errors, sep="\n  ")
        finally:
            browser.close()


# -- the manual configuration ------------------------------------------------------------


async def lsp_initialize(url: str) -> dict[str, Any]:
    """What jupyterlab-lsp does first: open /lsp/ws/freezelint and send `initialize` (one
    JSON-RPC message per websocket message; jupyter-lsp adds the stdio framing)."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(url.replace("http://", "ws://") + "/lsp/ws/freezelint")
    try:
        connection.write_message(json.dumps({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}}}))
        while True:
            text = await asyncio.wait_for(connection.read_message(), timeout=30)
            assert text is not None, "jupyter-lsp closed the websocket"
            message = json.loads(text)
            if message.get("id") == 1:
                return message
    finally:
        connection.close()


def test_manual_server_config_starts_the_server(tmp_path: Path) -> None:
    """The README's alternative to the entry point: editor-integrations/jupyterlab/
    jupyter_server_config.json passed with --config, entry points ignored
    (autodetect off). Its spec must match the entry point's, and jupyter-lsp must start the
    server from it and relay `initialize`."""
    require(browser=False)
    from freezelint.lsp.jupyter import spec

    example = json.loads(MANUAL_CONFIG.read_text())
    manual = example["LanguageServerManager"]["language_servers"]["freezelint"]
    shipped = spec(None)["freezelint"]
    for key in ("version", "languages", "mime_types", "display_name",
                "requires_documents_on_disk"):
        assert manual[key] == shipped[key], key
    assert manual["argv"][1:] == shipped["argv"][1:]

    manual["argv"][0] = sys.executable  # the README: the interpreter that has freezelint
    config = tmp_path / "jupyter_server_config.json"
    config.write_text(json.dumps(example))
    with running_lab(tmp_path, "--LanguageServerManager.autodetect=False",
                     f"--config={config}") as lab:
        status = get_json(f"{lab.url}/lsp/status")
        assert sorted(status["specs"]) == ["freezelint"], sorted(status["specs"])
        answer = asyncio.run(lsp_initialize(lab.url))
    assert answer["result"]["serverInfo"]["name"] == "freezelint", answer
