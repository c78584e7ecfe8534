"""The language server in a real Emacs: Debian's `emacs-nox` (28.2) with Eglot from
`elpa-eglot`, in batch mode. The README's Eglot configuration is loaded verbatim: its
`eglot-server-programs` entry starts `python3 -m freezelint lsp` (PATH puts this test's
interpreter first), and its `eglot-workspace-configuration` names the model, which the
script below does not construct: the diagnostics appear only if those settings reached the
server. The script then applies the quick fix through `textDocument/codeAction` and waits
for the diagnostics to clear.

Batch Emacs never goes idle, so what Eglot and Flymake do on idle timers (sending a change,
starting a Flymake check) is called explicitly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import LOOP_WITHOUT_MODEL, debian_command

REPO = Path(__file__).resolve().parents[1]
README = REPO / "editor-integrations" / "emacs" / "README.md"

LOOP = LOOP_WITHOUT_MODEL  # no constructor: the model must come from the editor settings

SCRIPT = r"""
(require 'package)
(package-initialize)                    ; Debian's elpa-eglot, on Emacs 28
(require 'eglot)
(require 'json)
(load (getenv "FREEZELINT_SNIPPET") nil t)

(defun freezelint-test-diagnostics ()
  (vconcat
   (mapcar (lambda (d)
             (save-excursion
               (goto-char (flymake-diagnostic-beg d))
               `((line . ,(line-number-at-pos)) (column . ,(current-column))
                 (type . ,(symbol-name (flymake-diagnostic-type d)))
                 (text . ,(flymake-diagnostic-text d)))))
           (flymake-diagnostics))))

(defun freezelint-test-wait (done)
  (let ((deadline (+ (float-time) 20)))
    (while (and (< (float-time) deadline) (not (funcall done)))
      (flymake-start)
      (accept-process-output nil 0.05))))

(let (result)
  (condition-case err
      (progn
        (find-file (getenv "FREEZELINT_FILE"))
        (python-mode)
        (apply #'eglot (eglot--guess-contact))
        (freezelint-test-wait (lambda () (>= (length (flymake-diagnostics)) 2)))
        (push (cons 'diagnostics (freezelint-test-diagnostics)) result)
        (goto-char (point-min))
        (search-forward "'fc.weight'")
        (let ((actions (eglot-code-actions (match-beginning 0) (match-end 0) "quickfix")))
          (push (cons 'actions (vconcat (mapcar (lambda (a) (plist-get a :title)) actions)))
                result)
          (eglot--apply-workspace-edit (plist-get (car actions) :edit)))
        (push (cons 'text (buffer-substring-no-properties (point-min) (point-max))) result)
        (eglot--signal-textDocument/didChange)
        (freezelint-test-wait (lambda () (null (flymake-diagnostics))))
        (push (cons 'after (freezelint-test-diagnostics)) result)
        (eglot-shutdown (eglot-current-server)))
    (error (push (cons 'error (format "%S" err)) result)))
  (with-temp-file (getenv "FREEZELINT_OUT") (insert (json-encode result))))
(kill-emacs 0)
"""


def readme_snippet() -> str:
    blocks = re.findall(r"```elisp\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if "eglot-server-programs" in block)


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    emacs = debian_command("emacs", "emacs-nox", "elpa-eglot")
    if emacs is None:
        pytest.skip("emacs not found and it could not be installed "
                    "(apt-get install -y emacs-nox elpa-eglot)")
    work = tmp_path_factory.mktemp("emacs")
    (work / "train.py").write_text(LOOP, encoding="utf-8")
    (work / "snippet.el").write_text(readme_snippet(), encoding="utf-8")
    (work / "test.el").write_text(SCRIPT, encoding="utf-8")
    python3 = Path(sys.executable).with_name("python3")
    assert python3.exists(), "the README starts `python3`: this interpreter has no python3"
    env = {**os.environ, "PATH": f"{python3.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "HOME": str(work), "FREEZELINT_SNIPPET": str(work / "snippet.el"),
           "FREEZELINT_FILE": str(work / "train.py"), "FREEZELINT_OUT": str(work / "out.json")}
    done = subprocess.run([emacs, "--batch", "-l", "test.el"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    if "Cannot open load file" in done.stderr and "eglot" in done.stderr:
        pytest.skip("Eglot is not installed (apt-get install -y elpa-eglot)")
    assert (work / "out.json").exists(), f"emacs wrote nothing:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads((work / "out.json").read_text())
    assert "error" not in result, f"{result['error']}\n{done.stderr}"
    return result


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and 0-based column, as Emacs counts them."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1)


def test_the_readme_configuration_brings_diagnostics_with_the_configured_model(
        seen: dict[str, Any]) -> None:
    found = sorted((d["line"], d["column"], d["type"], d["text"].split(":")[0])
                   for d in seen["diagnostics"])
    assert found == sorted([
        (*position(LOOP, "'fc.weight'"), "eglot-warning", "freezelint [FZL101]"),
        (*position(LOOP, "torch.optim.SGD("), "eglot-error", "freezelint [FZL103]"),
    ])
    fzl101 = next(d for d in seen["diagnostics"] if "FZL101" in d["text"])
    assert "of `ast`" in fzl101["text"] and "'mlp_head.1.weight'" in fzl101["text"]


def test_the_quick_fix_applies_and_the_diagnostics_clear(seen: dict[str, Any]) -> None:
    assert seen["actions"][0] == "Replace with 'mlp_head.1.weight' (unsafe)"
    assert seen["text"] == LOOP.replace("'fc.weight'", "'mlp_head.1.weight'")
    assert seen["after"] == []
