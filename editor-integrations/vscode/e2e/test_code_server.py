"""The extension in a real VS Code: code-server 4.99.3 (VS Code 1.99.3) on 127.0.0.1, driven
by Playwright in Debian's headless Chromium.

It installs the freshly built .vsix, opens the AST example and a notebook with the same code
split over cells, waits for the squiggles, reads the Problems panel, applies the quick fix on
'fc.weight' and saves the screenshots the extension's README shows.

Opt-in (it installs code-server, about 3 minutes the first time):

    FREEZELINT_E2E_VSCODE=1 python -m pytest editor-integrations/vscode/e2e/test_code_server.py -s

FREEZELINT_VSIX=path/to/freezelint.vsix skips the build; FREEZELINT_E2E_CACHE moves the
code-server install (default ~/.cache/freezelint-e2e).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
EXTENSION = HERE.parent
REPO = EXTENSION.parents[1]
EXAMPLE = REPO / "examples" / "ast_head_finetune.py"
NOTEBOOK = REPO / "examples" / "ast_head_finetune.ipynb"  # the same code over cells, with magics
# The extension's README shows the committed screenshots: a run writes its own elsewhere
# unless FREEZELINT_REFRESH_SCREENSHOTS=1 asks it to refresh them.
SCREENSHOTS = HERE / "screenshots" if os.environ.get("FREEZELINT_REFRESH_SCREENSHOTS") == "1" \
    else Path(tempfile.gettempdir()) / "freezelint-screenshots" / "vscode"
CACHE = Path(os.environ.get("FREEZELINT_E2E_CACHE", Path.home() / ".cache" / "freezelint-e2e"))
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-proxy-server"]
TIMEOUT_MS = 60_000
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy

HOW_TO_RUN = ("pip install playwright (never `playwright install`: the browser is Debian's "
              "chromium), then FREEZELINT_E2E_VSCODE=1 python -m pytest "
              "editor-integrations/vscode/e2e/test_code_server.py -s")
pytestmark = [
    pytest.mark.skipif(
        os.environ.get("FREEZELINT_E2E_VSCODE") != "1",
        reason="real-editor test: set FREEZELINT_E2E_VSCODE=1 (installs code-server 4.99.3, "
               "needs Node 20, apt chromium, libkrb5-dev and ripgrep)"),
    # Checked before any fixture runs: code-server (295 MB) is not installed for nothing.
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason=f"playwright is not installed: {HOW_TO_RUN}"),
]

TIMINGS: dict[str, float] = {}
START = time.monotonic()


def mark(step: str) -> None:
    TIMINGS[step] = round(time.monotonic() - START, 1)
    print(f"[{TIMINGS[step]:6.1f} s] {step}", flush=True)


# -- setup -------------------------------------------------------------------------------


def build_vsix(work: Path) -> Path:
    """npm ci + esbuild + vsce package in a copy of the extension."""
    for name in ["package.json", "package-lock.json", "tsconfig.json", ".vscodeignore",
                 "README.md", "CHANGELOG.md", "LICENSE", "src"]:
        source = EXTENSION / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, work / name)
    for command in (["npm", "ci", "--prefer-offline", "--no-fund", "--no-audit"],
                    ["npm", "run", "build"], ["npm", "run", "package"]):
        subprocess.run(command, cwd=work, check=True, capture_output=True, timeout=600)
    return work / "freezelint.vsix"


def position(text: str, needle: str) -> str:
    """Where VS Code's Problems panel places `needle` in `text`: "[Ln l, Col c]", 1-based."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return f"[Ln {number}, Col {line.index(needle) + 1}]"
    raise AssertionError(needle)


def cell_position(needle: str) -> str:
    """The same inside the example notebook's cell that holds `needle` (cells count alone)."""
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and needle in source:
            return position(source, needle)
    raise AssertionError(needle)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def group_members(pgid: int) -> list[int]:
    """PIDs whose process group is `pgid` (the group code-server was started in)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to code-server by its PID, then whatever of its group is left, by PID."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in group_members(process.pid):
        print(f"killing leftover process {pid}", flush=True)
        os.kill(pid, signal.SIGKILL)


class CodeServer:
    def __init__(self, home: Path, url: str) -> None:
        self.home, self.url = home, url

    def trace(self) -> str:
        """The extension's output channel (LSP trace included), for assertions and errors."""
        logs = sorted(self.home.glob("data/logs/**/freezelint.log"))
        return "\n".join(log.read_text(errors="replace") for log in logs)


@pytest.fixture(scope="module")
def code_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServer]:
    mark("start")
    subprocess.run(["bash", str(HERE / "install-code-server.sh")], check=True, timeout=1200)
    mark("code-server installed")
    vsix = Path(os.environ.get("FREEZELINT_VSIX") or build_vsix(tmp_path_factory.mktemp("build")))
    mark("vsix built")

    home = tmp_path_factory.mktemp("code-server")
    (home / "data" / "User").mkdir(parents=True)
    (home / "data" / "User" / "settings.json").write_text(json.dumps({
        "freezelint.interpreter": [sys.executable],
        "freezelint.trace.server": "verbose",
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "extensions.ignoreRecommendations": True,
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "editor.minimap.enabled": False,
        "window.zoomLevel": 0,
    }, indent=2))
    (home / "config.yaml").write_text("auth: none\ncert: false\n")
    for folder, name, text in [
        ("py", "ast_head_finetune.py", EXAMPLE.read_text()),
        ("nb", NOTEBOOK.name, NOTEBOOK.read_text()),
    ]:
        (home / folder).mkdir()
        (home / folder / name).write_text(text)

    base = [str(CODE_SERVER), "--config", str(home / "config.yaml"),
            "--user-data-dir", str(home / "data"), "--extensions-dir", str(home / "ext")]
    subprocess.run([*base, "--install-extension", str(vsix)], check=True, timeout=120,
                   capture_output=True)
    mark("vsix installed")

    port = free_port()
    log = (home / "code-server.log").open("wb")
    process = subprocess.Popen(
        [*base, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with LOOPBACK.open(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((home / "code-server.log").read_text()) from None
                time.sleep(0.3)
        mark(f"code-server listening on {url} (pid {process.pid})")
        yield CodeServer(home, url)
    finally:
        stop(process)
        log.close()
        mark("code-server stopped")
        print("timings (s since start):", json.dumps(TIMINGS, indent=1), flush=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api",
                                         reason="pip install playwright (never `playwright install`)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


# -- driving the workbench ---------------------------------------------------------------


def open_folder(browser: Any, server: CodeServer, folder: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 820})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server.url}/?folder={server.home / folder}")
    page.wait_for_selector(".monaco-workbench .part.editor")
    page.wait_for_selector(".explorer-folders-view .monaco-list-row")
    return page


def quick_open(page: Any, name: str) -> None:
    page.keyboard.press("Control+P")
    page.wait_for_selector(".quick-input-widget .quick-input-box input")
    page.keyboard.type(name)
    page.locator(".quick-input-list .monaco-list-row", has_text=name).first.wait_for()
    page.keyboard.press("Enter")


def run_command(page: Any, title: str) -> None:
    page.keyboard.press("F1")
    page.wait_for_selector(".quick-input-widget .quick-input-box input")
    page.keyboard.type(title)
    page.locator(".quick-input-list .monaco-list-row", has_text=title).first.wait_for()
    page.keyboard.press("Enter")


def problems(page: Any, done: Callable[[list[str]], bool], server: CodeServer,
             timeout: float = TIMEOUT_MS / 1000) -> list[str]:
    """The Problems panel's rows, once `done(rows)`. Opens the panel if it is hidden
    (Ctrl+Shift+M toggles it: pressed while the panel has focus, it closes it)."""
    if not page.locator(".markers-panel").first.is_visible():
        page.keyboard.press("Control+Shift+M")
    rows = page.locator(".markers-panel .monaco-list-row")
    deadline = time.monotonic() + timeout
    while True:
        texts = [" ".join(t.split()) for t in rows.all_inner_texts()]
        if done(texts):
            return texts
        assert time.monotonic() < deadline, f"Problems rows {texts}\n{server.trace()[-4000:]}"
        time.sleep(0.25)


def has(code: str) -> Callable[[list[str]], bool]:
    return lambda rows: any(code in row for row in rows)


def editor_text(page: Any) -> str:
    return page.locator(".editor-instance .view-lines").first.inner_text().replace("\xa0", " ")


def wait_for_squiggles(page: Any, scope: str, server: CodeServer) -> None:
    try:
        page.locator(f"{scope} .squiggly-warning").first.wait_for(state="attached")
        page.locator(f"{scope} .squiggly-error").first.wait_for(state="attached")
    except Exception as error:
        raise AssertionError(f"no squiggles: {error}\n{server.trace()[-4000:]}") from error


def apply_quick_fix(page: Any, token_text: str, title: str, screenshot: bool = False) -> None:
    """Ctrl+. on the token, then the action titled `title`, and wait for the edit."""
    page.locator(".editor-instance .view-line span span", has_text=token_text).first.click()
    page.keyboard.press("Control+.")
    page.locator(".action-widget .monaco-list-row", has_text=title).first.wait_for()
    titles = page.locator(".action-widget .monaco-list-row.action").evaluate_all(
        "rows => rows.map(row => row.getAttribute('aria-label'))")
    if screenshot:
        page.screenshot(path=str(SCREENSHOTS / "vscode-quickfix.png"))
    # The widget's pointer block swallows clicks: choose with the keyboard, as a user does.
    focused = page.locator(".action-widget .monaco-list-row.action.focused")
    for _ in range(len(titles)):
        if title in (focused.get_attribute("aria-label") or ""):
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 20
    while token_text in editor_text(page):
        assert time.monotonic() < deadline, f"quick fix not applied; actions {titles}"
        time.sleep(0.2)


def only_fc_bias(rows: list[str]) -> bool:
    """After the fix on 'fc.weight': the head trains, only 'fc.bias' is left."""
    codes = [code for row in rows for code in re.findall(r"FZL\d{3}", row)]
    return codes == ["FZL101"] and "'fc.bias'" in " ".join(rows)


# -- the tests ---------------------------------------------------------------------------


def test_python_file_squiggles_problems_and_quick_fix(code_server: CodeServer, browser: Any) -> None:
    page = open_folder(browser, code_server, "py")
    mark("py: workbench loaded")
    quick_open(page, "ast_head_finetune.py")
    page.wait_for_selector(".editor-instance .view-lines")
    wait_for_squiggles(page, ".editor-instance", code_server)
    mark("py: squiggles")

    token = page.locator(".editor-instance .view-line span span", has_text="fc.weight").first
    token.hover()
    page.locator(".monaco-hover", has_text="FZL101").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "vscode-squiggles.png"))
    mark("py: hover + screenshot")

    rows = problems(page, has("FZL103"), code_server)
    mark("py: problems panel")
    page.screenshot(path=str(SCREENSHOTS / "vscode-problems.png"))
    fzl101 = [r for r in rows if "FZL101" in r]
    assert len(fzl101) == 2, rows
    source = EXAMPLE.read_text()
    assert any("'fc.weight'" in r and position(source, "'fc.weight'") in r for r in fzl101), rows
    assert any("'fc.bias'" in r and position(source, "'fc.bias'") in r for r in fzl101), rows
    assert any("FZL103" in r and position(source, "torch.optim.SGD(") in r for r in rows), rows

    apply_quick_fix(page, "fc.weight", "Replace with 'mlp_head.1.weight'", screenshot=True)
    mark("py: quick fix applied")
    text = editor_text(page)
    assert "if name != 'mlp_head.1.weight' and name != 'fc.bias':" in text, text

    # The server lints the new text.
    problems(page, only_fc_bias, code_server, timeout=20)
    mark("py: re-linted after the fix")
    page.close()


def test_notebook_cells_get_their_diagnostics(code_server: CodeServer, browser: Any) -> None:
    page = open_folder(browser, code_server, "nb")
    mark("nb: workbench loaded")
    quick_open(page, NOTEBOOK.name)
    page.wait_for_selector(".notebook-editor .cell-list-container")
    rows = problems(page, has("FZL103"), code_server)
    mark("nb: problems panel")
    assert len([r for r in rows if "FZL101" in r]) == 2, rows
    # Positions are relative to each cell.
    assert any("'fc.weight'" in r and cell_position("'fc.weight'") in r for r in rows), rows
    assert any("FZL103" in r and cell_position("torch.optim.SGD(") in r for r in rows), rows
    assert "notebookDocument/didOpen" in code_server.trace()

    # Clicking a row reveals its cell (the notebook renders only the cells in view): the
    # optimizer's cell has the error squiggle, the freeze loop's the warnings.
    for row_text, scope in [("FZL103", ".notebook-editor .squiggly-error"),
                            ("'fc.weight'", ".notebook-editor .squiggly-warning")]:
        page.locator(".markers-panel .monaco-list-row", has_text=row_text).first.click()
        try:
            page.locator(scope).first.wait_for(state="attached")
        except Exception as error:
            raise AssertionError(f"no {scope}: {error}\n{code_server.trace()[-4000:]}") from error
    mark("nb: squiggles")
    time.sleep(0.5)  # let the reveal scroll settle
    page.screenshot(path=str(SCREENSHOTS / "vscode-notebook.png"))

    # The commands are registered; the log says which interpreter runs the server.
    run_command(page, "freezelint: Show logs")
    channel = page.locator(".part.panel select.monaco-select-box").first
    deadline = time.monotonic() + 20
    while channel.input_value() != "freezelint":
        assert time.monotonic() < deadline, "the freezelint output channel is not shown"
        time.sleep(0.2)
    assert f"interpreter: {sys.executable} (from the freezelint.interpreter setting)" in code_server.trace()
    mark("nb: screenshot, logs")
    page.close()


def test_missing_freezelint_is_reported_with_the_pip_command(
        code_server: CodeServer, browser: Any) -> None:
    """A folder whose interpreter lacks freezelint gets an error with the pip command."""
    python = shutil.which("python3", path="/usr/bin")
    assert python is not None
    folder = code_server.home / "missing"
    (folder / ".vscode").mkdir(parents=True)
    (folder / ".vscode" / "settings.json").write_text(json.dumps({"freezelint.interpreter": [python]}))
    (folder / "train.py").write_text(EXAMPLE.read_text())
    if subprocess.run([python, "-c", "import freezelint"], cwd=folder, capture_output=True).returncode == 0:
        pytest.skip(f"{python} has freezelint installed")
    page = open_folder(browser, code_server, "missing")
    quick_open(page, "train.py")
    toast = page.locator(".notifications-toasts .notification-list-item",
                         has_text="freezelint is not installed")
    toast.first.wait_for()
    message = " ".join(toast.first.inner_text().split())
    assert f"{python} -m pip install freezelint" in message, message
    mark("missing: error shown")
    page.close()


def test_lint_on_save(code_server: CodeServer, browser: Any) -> None:
    """freezelint.lintOn = "save": an edit leaves the diagnostics as they were until saved."""
    folder = code_server.home / "onsave"
    (folder / ".vscode").mkdir(parents=True)
    (folder / ".vscode" / "settings.json").write_text(json.dumps({
        "freezelint.lintOn": "save",
        "files.autoSave": "off",  # code-server saves 1 s after an edit by default
    }))
    (folder / "train.py").write_text(EXAMPLE.read_text())
    page = open_folder(browser, code_server, "onsave")
    quick_open(page, "train.py")
    wait_for_squiggles(page, ".editor-instance", code_server)
    problems(page, has("FZL103"), code_server)
    apply_quick_fix(page, "fc.weight", "Replace with 'mlp_head.1.weight'")
    time.sleep(3)  # 20 times the default debounce
    rows = problems(page, has("FZL103"), code_server, timeout=1)
    assert len([r for r in rows if "FZL101" in r]) == 2, rows
    page.keyboard.press("Control+S")
    problems(page, only_fc_bias, code_server, timeout=20)
    mark("onsave: linted on save only")
    page.close()


def test_fix_all_command(code_server: CodeServer, browser: Any) -> None:
    """"freezelint: Fix all auto-fixable problems" applies the safe fixes (FZL104 here)."""
    folder = code_server.home / "fixall"
    folder.mkdir()
    (folder / "freeze.py").write_text(
        "import torchvision\n\n"
        "model = torchvision.models.resnet50(weights=None)\n"
        "model.layer1.requires_grad = False\n")
    page = open_folder(browser, code_server, "fixall")
    quick_open(page, "freeze.py")
    problems(page, has("FZL104"), code_server)
    page.locator(".editor-instance .view-lines").first.click()
    run_command(page, "freezelint: Fix all auto-fixable problems")
    deadline = time.monotonic() + 20
    while "model.layer1.requires_grad_(False)" not in editor_text(page):
        assert time.monotonic() < deadline, editor_text(page)
        time.sleep(0.2)
    problems(page, lambda rows: not any("FZL104" in row for row in rows), code_server, timeout=20)
    mark("fixall: applied")
    page.close()
