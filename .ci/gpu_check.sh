#!/usr/bin/env bash
# make gpu-check — LoRA Lab on a GPU through XLA (a PJRT CUDA plugin), for a machine that has one.
# Never needed by the tests; run it as-is when a GPU is lent.
#
# What it shows (each table is also appended to $GPU_CHECK_DIR/gpu-check.md):
#   1. the backend line (it must say xla:cuda) and nvidia-smi's view of the GPU;
#   2. the real-shape benchmark on the GPU: synthetic checkpoints with the exact shapes of
#      Qwen2.5-0.5B, Qwen2.5-1.5B and deepseek-llm-7b (pkg/bench/cmd/synthckpt, bf16 on disk),
#      each loaded with its frozen base in each dtype of $GPU_CHECK_DTYPES: load time, host
#      peak RSS, LoRA training tokens/s (r=16, seven projections, seq 512, batch 1 and 4, with
#      and without gradient checkpointing + chunked loss) and generation tokens/s;
#   3. a short training of the Qwen2.5-0.5B shape (20 steps, batch 8 × 512): first and last
#      loss, tokens/s.
# It fails with a message saying what is missing when there is no NVIDIA GPU, no PJRT CUDA
# plugin, or when XLA cannot start on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3} GOEXPERIMENT=${GOEXPERIMENT:-simd}
dir=${GPU_CHECK_DIR:-/tmp/realshapes}
models=${GPU_CHECK_MODELS:-qwen2.5-0.5b qwen2.5-1.5b deepseek-llm-7b}
dtypes=${GPU_CHECK_DTYPES:-float32}
md="$dir/gpu-check.md"
fail() { echo "gpu-check: FAIL: $*" >&2; exit 1; }

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver on this machine, so no GPU to check"
nvidia-smi -L | grep -q '^GPU' || fail "nvidia-smi lists no GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

plugin=""
for d in ${PJRT_PLUGIN_LIBRARY_PATH:+${PJRT_PLUGIN_LIBRARY_PATH//:/ }} "$HOME/.local/lib/go-xla" /usr/local/lib/go-xla /usr/local/lib/gomlx/pjrt; do
  if [ -f "$d/pjrt_c_api_cuda_plugin.so" ]; then plugin="$d/pjrt_c_api_cuda_plugin.so"; break; fi
done
[ -n "$plugin" ] || fail "no PJRT CUDA plugin (pjrt_c_api_cuda_plugin.so) in \$PJRT_PLUGIN_LIBRARY_PATH, ~/.local/lib/go-xla, /usr/local/lib/go-xla or /usr/local/lib/gomlx/pjrt; install it where the network allows (e.g. go run github.com/gomlx/go-xla/cmd/pjrt_installer@v0.4.13 -plugin=cuda) and run again"
echo "gpu-check: PJRT CUDA plugin $plugin"

export GOMLX_BACKEND=xla:cuda
mkdir -p "$dir" build
go build -o build/synthckpt ./pkg/bench/cmd/synthckpt
go build -o build/realshapes ./pkg/bench/cmd/realshapes
echo "# gpu-check $(date -u +'%Y-%m-%d %H:%M UTC')" >> "$md"

for m in $models; do
  [ -f "$dir/$m/config.json" ] || build/synthckpt -out "$dir" "$m"
  build/realshapes -require-backend xla -dir "$dir/$m" -dtypes "${dtypes// /,}" -batches 1,4 -modes plain,lean \
    -steps 3 -warmup 1 -gen 32 -md "$md" || fail "real-shape benchmark of $m on the GPU failed (see above)"
done

echo "gpu-check: short training of the Qwen2.5-0.5B shape (20 steps, batch 8 x 512)"
[ -f "$dir/qwen2.5-0.5b/config.json" ] || build/synthckpt -out "$dir" qwen2.5-0.5b
build/realshapes -require-backend xla -name "qwen2.5-0.5b short training" -dir "$dir/qwen2.5-0.5b" \
  -dtypes "${dtypes// /,}" -batches 8 -modes plain -steps 20 -warmup 1 -gen 0 -md "$md" \
  || fail "short training on the GPU failed (see above)"
echo "gpu-check: OK — figures appended to $md"
