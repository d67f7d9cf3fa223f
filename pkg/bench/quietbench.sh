#!/usr/bin/env bash
# Issue 15's comparison in one command, for a quiet machine (`make quietbench`; about 10 minutes
# on 2 cores): the LoRA training step against the PyTorch peer at its best configuration —
# Debian's torch 1.13 (/usr/bin/python3, `make bench-setup`) and current torch from
# $LORALAB_CACHE/venv-test (`make setup`), each at 1 torch thread × 1 and nproc BLAS threads —
# interleaved (Go, peer, Go, peer …), at
#   1. bench-small (the reference's shape: hidden 256, 4 layers, batch 8 × seq 256),
#   2. the seq-512 shape (hidden 384, 6 layers, 6 heads, intermediate 1024, batch 4 × seq 512),
#   3. the sequence sweep 256, 512, 1024, 2048 at 2,048 tokens per step (bench-small's model;
#      the peer at 1 torch thread × nproc BLAS threads only, for time),
#   4. inference: forward tokens/s and KV-cache decoding new tokens/s of the tiny model and of the
#      Qwen2.5-0.5B shape (random float32 weights; 2.5 GB), Go against torch_infer_peer.py.
# Everything goes to one directory (default build/quietbench): report.md (the summary and every
# table), the raw outputs beside it. QUIETBENCH_SMOKE=1 runs the same plumbing in a minute
# (one step, small shapes, no 0.5B model): a check of the script, not a measurement.
#
# Usage: pkg/bench/quietbench.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOMLX_BACKEND=go
OUT=${1:-build/quietbench}
mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
REPORT=$OUT/report.md
CACHE=${LORALAB_CACHE:-$HOME/.cache/loralab}
PYTHONS=()
for p in /usr/bin/python3 "$CACHE/venv-test/bin/python"; do
  if "$p" -c 'import torch' 2>/dev/null; then PYTHONS+=("$p"); fi
done
PYLIST=$(IFS=,; echo "${PYTHONS[*]}")
[ -n "$PYLIST" ] || echo "quietbench: no interpreter imports torch (make setup; make bench-setup): Go only" >&2

SMOKE=${QUIETBENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
  SMALL="-seq 64 -batch 2 -steps 1 -warmup 0 -rounds 1 -threads 1"
  SEQ512="-hidden 96 -layers 2 -heads 6 -inter 128 -seq 128 -batch 1 -steps 1 -warmup 0 -rounds 1 -threads 1"
  SWEEP="64:4 128:2"; SWEEPFLAGS="-steps 1 -warmup 0 -rounds 1 -threads 1 -blas-threads 2"
  GOBENCH="1x"; INFER_TINY="--reps 1 --batch 2 --seq 64 --new 8"; REAL=""
else
  # The peer at 1 torch thread × 1 and nproc BLAS threads: 2 torch threads were the slowest
  # configuration of every run so far (5× slower at load 3–4, 14:14 UTC 2026-12-01) and would
  # double the run (QUIETBENCH_THREADS="1,2" brings them back).
  TH=${QUIETBENCH_THREADS:-1}
  SMALL="-steps 6 -warmup 2 -rounds 4 -threads $TH"
  SEQ512="-hidden 384 -layers 6 -heads 6 -inter 1024 -seq 512 -batch 4 -steps 4 -warmup 1 -rounds 3 -threads $TH"
  SWEEP="256:8 512:4 1024:2 2048:1"; SWEEPFLAGS="-steps 3 -warmup 1 -rounds 1 -threads 1 -blas-threads 2"  # the peer's best on a quiet machine so far
  GOBENCH="3x"; INFER_TINY=""; REAL=1
fi

t0=$(date +%s)
section() { echo; echo "== $1 ($(( $(date +%s) - t0 )) s, load $(cut -d' ' -f1-3 /proc/loadavg))" >&2; }

section "build"
go build -o "$OUT/bin/peerbench" ./pkg/bench/cmd/peerbench
go test -c -o "$OUT/bin/bench.test" ./pkg/bench
go test -c -o "$OUT/bin/llama.test" ./pkg/llama

peerbench() { "$OUT/bin/peerbench" ${PYLIST:+-python "$PYLIST"} "$@"; }
headline() { grep -E '^- (Go best|Peer best|Ratio Go/peer|Medians over rounds|CPU seconds)' "$1" || true; }

section "1. bench-small"
peerbench $SMALL -md "$OUT/small.md" > "$OUT/small.txt"
section "2. seq-512 shape"
peerbench $SEQ512 -md "$OUT/seq512.md" > "$OUT/seq512.txt"
section "3. sequence sweep"
for sb in $SWEEP; do
  s=${sb%:*} b=${sb#*:}
  peerbench $SWEEPFLAGS -seq "$s" -batch "$b" -md "$OUT/sweep-$s.md" > "$OUT/sweep-$s.txt"
done

section "4. inference"
IARGS_QWEN="--hidden 896 --layers 24 --heads 14 --kv-heads 2 --inter 4864 --vocab 151936 --qkv-bias 1 --tied 1 --rope-theta 1e6 --batch 1 --seq 512 --prompt 16 --new 32 --reps 2"
: > "$OUT/infer-peer.jsonl"
inferpeer() { # model threads args...
  local model=$1 th=$2; shift 2
  for p in "${PYTHONS[@]}"; do
    OPENBLAS_NUM_THREADS=$(nproc) MKL_NUM_THREADS=$(nproc) "$p" pkg/bench/peer/torch_infer_peer.py --threads "$th" "$@" |
      sed "s|^{|{\"model\": \"$model\", \"python\": \"$p\", |" >> "$OUT/infer-peer.jsonl"
  done
}
(cd pkg/llama && "$OUT/bin/llama.test" -test.run '^$' -test.bench 'ForwardTiny|GenerateTiny' -test.benchtime "$GOBENCH") > "$OUT/infer-go.txt"
inferpeer tiny 1 $INFER_TINY
inferpeer tiny "$(nproc)" $INFER_TINY
if [ -n "$REAL" ]; then
  (cd pkg/bench && LORALAB_BENCH_REAL=1 "$OUT/bin/bench.test" -test.run '^$' -test.bench 'InferQwen05B' -test.benchtime 2x) >> "$OUT/infer-go.txt"
  inferpeer qwen2.5-0.5b 1 $IARGS_QWEN
fi
section "done"

{
  echo "# Issue 15 quiet-machine run ($(date -u +'%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD))"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; load at the end $(cut -d' ' -f1-3 /proc/loadavg); total $(( $(date +%s) - t0 )) s."
  [ "$SMOKE" = 1 ] && echo && echo "**SMOKE RUN (QUIETBENCH_SMOKE=1): a check of the script, not a measurement.**"
  echo
  echo "## Summary"
  echo
  for f in small seq512; do echo "### $f"; headline "$OUT/$f.md"; echo; done
  echo "### Sequence sweep (2,048 tokens per step)"
  echo
  echo "| seq × batch | Go tokens/s | peer best tokens/s | Go/peer | CPU s/step Go, peer |"
  echo "|---|---:|---:|---:|---|"
  for sb in $SWEEP; do
    s=${sb%:*} b=${sb#*:} f="$OUT/sweep-${sb%:*}.md"
    go=$(grep -oP '^- Go best: +\*\*\K[0-9.]+' "$f" || echo -)
    pe=$(grep -oP '^- Peer best: +\*\*\K[0-9.]+' "$f" || echo -)
    ra=$(grep -oP '^- Ratio Go/peer: \*\*\K[0-9.]+' "$f" || echo -)
    cpu=$(grep -oP '^- CPU seconds per step, least of each side: \K.*(?= \(upper)' "$f" || echo -)
    echo "| $s × $b | $go | $pe | ${ra}× | $cpu |"
  done
  echo
  echo "### Inference"
  echo
  echo "| side | model | forward tokens/s (CPU s) | decoding new tokens/s (CPU s) |"
  echo "|---|---|---:|---:|"
  python3 - "$OUT/infer-go.txt" "$OUT/infer-peer.jsonl" <<'EOF'
import json, re, sys
go = {}
for line in open(sys.argv[1]):
    m = re.match(r'Benchmark(\S+?)-\d+\s+\d+\s+\d+ ns/op(.*)', line)
    if not m:
        continue
    metrics = dict((k, float(v)) for v, k in re.findall(r'([\d.]+) (\S+)', m.group(2)))
    rate = metrics.get('tokens/s', metrics.get('new_tokens/s'))
    name = m.group(1)
    model = 'qwen2.5-0.5b' if 'Qwen' in name else 'tiny'
    kind = 'forward' if 'orward' in name else 'decode'
    go.setdefault(model, {})[kind] = f"{rate:,.1f} ({metrics.get('cpu_s/op', 0):.3f})"
for model, d in go.items():
    print(f"| Go | {model} | {d.get('forward', '–')} | {d.get('decode', '–')} |")
for line in open(sys.argv[2]):
    r = json.loads(line)
    print(f"| torch {r['torch']}, {r['threads']} threads | {r['model']} | {r['forward_tokens_per_s']:,.1f} ({r['forward_cpu_s']:.3f}) "
          f"| {r['decode_new_tokens_per_s']:,.1f} ({r['decode_cpu_s']:.3f}) |")
EOF
  echo
  echo "Go: llama.BenchmarkForwardTiny ([8, 256]), BenchmarkGenerateTiny (32-token prompt, 96 new),"
  echo "bench.BenchmarkInferQwen05B ([1, 512]; 16-token prompt, 32 new); CPU s per forward / per decode run."
  echo "Peer: pkg/bench/peer/torch_infer_peer.py, same shapes, BLAS threads = nproc."
  echo
  echo "## Details"
  for f in small seq512; do echo; cat "$OUT/$f.md"; done
  for sb in $SWEEP; do echo; cat "$OUT/sweep-${sb%:*}.md"; done
} > "$REPORT"
echo "quietbench: wrote $REPORT ($(( $(date +%s) - t0 )) s)" >&2
