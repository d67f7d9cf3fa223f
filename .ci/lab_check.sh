#!/usr/bin/env bash
# Checks that `make lab` starts a Jupyter server that answers on localhost and lists the
# notebooks, then stops it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${1:-18888}"
log="$(mktemp)"
JUPYTER_PORT=$port setsid make -C "$repo" lab >"$log" 2>&1 &
pid=$!
cleanup() { kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT
for _ in $(seq 1 180); do
  token="$(grep -o "127.0.0.1:$port/[^ ]*token=[0-9a-f]*" "$log" | head -1 | sed 's/.*token=//' || true)"
  if [ -n "$token" ] && listing="$(curl -fsS "http://127.0.0.1:$port/api/contents?token=$token" 2>/dev/null)"; then
    want=$(cd "$repo/notebooks" && ls ./*.ipynb | wc -l)
    got=$(printf '%s' "$listing" | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin)["content"] if c["name"].endswith(".ipynb")))')
    if [ "$got" = "$want" ] && [ "$want" -gt 0 ]; then
      echo "Jupyter answered on 127.0.0.1:$port and listed $got notebooks"
      echo "lab: 1 passed, 0 failed"
      exit 0
    fi
    echo "lab: server lists $got notebooks, want $want" >&2
    exit 1
  fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "lab: server exited" >&2; cat "$log" >&2; exit 1; fi
  sleep 1
done
echo "lab: no answer on 127.0.0.1:$port within 180 s" >&2
cat "$log" >&2
exit 1
