#!/usr/bin/env bash
# Installs code-server 4.99.3 (VS Code 1.99.3, the newest release that runs on Node 20) into
# a cache directory, from the npm registry only, plus the Debian packages the end-to-end test
# needs (chromium for Playwright, libkrb5-dev and ripgrep for code-server). Idempotent: a
# second run only checks. About 3 minutes the first time on 2 cores.
#
#   bash editor-integrations/vscode/e2e/install-code-server.sh
#   -> $FREEZELINT_E2E_CACHE/code-server/node_modules/.bin/code-server
#
# code-server's own postinstall cannot run here (it downloads ripgrep from GitHub), so the
# install runs with --ignore-scripts and then redoes what its postinstall.sh does, with
# Debian's ripgrep in place of the download.
set -euo pipefail

VERSION=4.99.3
CACHE="${FREEZELINT_E2E_CACHE:-$HOME/.cache/freezelint-e2e}"
PREFIX="$CACHE/code-server"
BIN="$PREFIX/node_modules/.bin/code-server"
CONFIG="$CACHE/config.yaml"   # so that code-server never writes ~/.config/code-server

log() { echo "install-code-server: $*" >&2; }

if [ -x "$BIN" ] && "$BIN" --config "$CONFIG" --version 2>/dev/null | grep -q "^$VERSION "; then
  log "code-server $VERSION already installed in $PREFIX"
  exit 0
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" != 20 ]; then
  log "code-server $VERSION needs Node 20 (found $(node --version)); newer code-server releases need Node 22+"
  exit 1
fi

missing=()
command -v rg >/dev/null || missing+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)   # kerberos' native build
command -v chromium >/dev/null || missing+=(chromium)             # the browser Playwright drives
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})"
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export npm_config_yes=true          # node-pty's rebuild runs `npx node-gyp` without asking
export npm_config_unsafe_perm=true  # code-server refuses to install as root without it
NPM=(npm --no-fund --no-audit --loglevel=error)

rm -rf "$PREFIX"
mkdir -p "$PREFIX"
printf 'bind-addr: 127.0.0.1:8080\nauth: none\ncert: false\n' > "$CONFIG"
cd "$PREFIX"
echo '{"name": "freezelint-e2e-code-server", "private": true}' > package.json
log "npm install code-server@$VERSION"
"${NPM[@]}" install --ignore-scripts "code-server@$VERSION"

# code-server's postinstall.sh (vscode_install), by hand:
cd node_modules/code-server/lib/vscode
"${NPM[@]}" install --omit=dev --ignore-scripts
mkdir -p node_modules/@vscode/ripgrep/bin   # its postinstall skips the download when bin/ exists
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
log "npm rebuild (native modules: node-pty, spdlog, kerberos, ...; about a minute)"
"${NPM[@]}" rebuild
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && "${NPM[@]}" install --omit=dev)
cd "$PREFIX"
"${NPM[@]}" rebuild argon2   # skipped by --ignore-scripts; code-server loads it at start

"$BIN" --config "$CONFIG" --version
log "installed: $BIN"
