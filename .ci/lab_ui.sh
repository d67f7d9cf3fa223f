#!/usr/bin/env bash
# The JupyterLab browser test: starts JupyterLab (the pip-installed $LORALAB_CACHE/venv-lab) on
# localhost with the GoNB kernel registered in a private Jupyter data folder under build/lab-ui
# (so a user's own kernel registration is neither used nor changed), and has Debian's chromium,
# driven by playwright-core, run notebooks through the UI (.ci/lab_ui.mjs). Screenshots and the
# server log go to build/lab-ui/.
#
#   .ci/lab_ui.sh [NOTEBOOK ...]     default: 00_quickstart.ipynb 05_export_adapter.ipynb
#
# Without JupyterLab or playwright-core (PyPI/npm unreachable at set-up) it says so and skips,
# except under CI=true, where it fails.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../docker/env.sh
source "$repo/docker/env.sh"
out="$repo/build/lab-ui"
lab="$LORALAB_CACHE/venv-lab/bin/jupyter-lab"
pw="$LORALAB_CACHE/npm-ui/node_modules/playwright-core"
missing=""
[ -x "$lab" ] || missing="JupyterLab ($lab)"
[ -d "$pw" ] || missing="${missing:+$missing, }playwright-core ($pw)"
[ -x /usr/bin/chromium ] || missing="${missing:+$missing, }/usr/bin/chromium"
if [ -n "$missing" ]; then
  msg="lab-ui: missing $missing: run make setup"
  if [ "${CI:-}" = true ]; then echo "$msg" >&2; exit 1; fi
  echo "$msg; skipping the browser test"
  exit 0
fi
rm -rf "$out" && mkdir -p "$out"

# Private Jupyter folders: the GoNB kernel registered for this checkout, autosave off (the UI
# must not write outputs into notebooks/), every cell rendered (no windowing), no news checks.
export JUPYTER_DATA_DIR="$out/jupyter-data" JUPYTER_CONFIG_DIR="$out/jupyter-config" \
  JUPYTER_RUNTIME_DIR="$out/jupyter-runtime" JUPYTERLAB_SETTINGS_DIR="$out/lab-settings" \
  JUPYTERLAB_WORKSPACES_DIR="$out/lab-workspaces" JUPYTER_PATH="" IPYTHONDIR="$out/ipython"
echo "lab-ui: registering the GoNB kernel in $JUPYTER_DATA_DIR"
bash "$repo/docker/setup.sh" --no-start >"$out/setup.log" 2>&1 || { cat "$out/setup.log" >&2; exit 1; }
settings() { mkdir -p "$JUPYTERLAB_SETTINGS_DIR/$1" && printf '%s\n' "$3" > "$JUPYTERLAB_SETTINGS_DIR/$1/$2.jupyterlab-settings"; }
settings @jupyterlab/docmanager-extension plugin '{"autosave": false}'
settings @jupyterlab/notebook-extension tracker '{"windowingMode": "none"}'
settings @jupyterlab/apputils-extension notification '{"fetchNews": "false", "checkForUpdates": false}'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
root_flag=(); [ "$(id -u)" = 0 ] && root_flag=(--allow-root)
setsid "$lab" --no-browser --ip=127.0.0.1 --port="$port" "${root_flag[@]}" \
  --config="$repo/docker/jupyter_server_config.json" --ServerApp.token="$token" --ServerApp.root_dir="$repo/notebooks" \
  --LabApp.expose_app_in_browser=True \
  >"$out/server.log" 2>&1 &
server=$!
cleanup() { kill -- -"$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/api/status?token=$token" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "lab-ui: JupyterLab exited" >&2; cat "$out/server.log" >&2; exit 1; }
  sleep 1
done
echo "lab-ui: JupyterLab $("$lab" --version) on 127.0.0.1:$port"
[ $# -gt 0 ] || set -- 00_quickstart.ipynb 05_export_adapter.ipynb
LAB_URL="http://127.0.0.1:$port" LAB_TOKEN="$token" LAB_OUT="$out" PLAYWRIGHT_CORE="$pw" \
  node "${LAB_UI_SCRIPT:-$repo/.ci/lab_ui.mjs}" "$@" || { echo "lab-ui: server log in $out/server.log" >&2; exit 1; }
