#!/usr/bin/env bash
# Creates bench/.venv-tools with the peer linters the benchmark compares against, at the
# versions research/anchors.md measured: TorchFix 0.7.0, Fixit 2.2.1, Ruff 0.17.6.
#
# TorchFix 0.7.0 does not depend on torch (its wheel's METADATA requires flake8, PyYAML and
# libcst>=1.5.0,<1.6.0 only), so no torch is installed here and no CUDA build can be pulled
# in. TorchFix and Fixit share one venv, so both run on the same libcst (1.5.x, the newest
# TorchFix allows).
#
#   bash bench/setup_tools.sh            # uses python3 on PATH
#   PYTHON=/path/to/python3.11 bash bench/setup_tools.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-tools"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    torchfix==0.7.0 fixit==2.2.1 ruff==0.17.6
"$venv/bin/python" - <<'PY'
import importlib.metadata as m
for name in ("torchfix", "fixit", "ruff", "libcst"):
    print(f"{name} {m.version(name)}")
try:
    m.version("torch")
    print("torch installed (unexpected)")
except m.PackageNotFoundError:
    print("torch not installed (as intended)")
PY
# /usr/bin/time (GNU time) measures each child's peak RSS; Debian package `time`.
if [ ! -x /usr/bin/time ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
    else
        echo "warning: /usr/bin/time missing (Debian/Ubuntu: apt-get install time); peak RSS falls back to psutil polling" >&2
    fi
fi
