#!/usr/bin/env bash
# Side-by-side training throughput: GpuCnn (gpucnn bench) against PyTorch (perf/reference/pytorch_train.py), in the
# same run on the same machine, printed as a table of img/s and their ratio.
#
# On the GPU machine (no .NET there): first, here, `../shared/tools/gpu-bundle perf/GpuCnn.Perf/GpuCnn.Perf.csproj`,
# then run this script there with DEVICE=cuda (the default when nvidia-smi works). Elsewhere it runs GpuCnn from
# source with `dotnet run`, on DEVICE=cpu by default, and skips PyTorch when it is not installed.
#   QUICK=1 perf/side_by_side.sh          # few steps, for a smoke test
#   OUT=results perf/side_by_side.sh      # also keep every JSON result in OUT/
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-/tmp/dn}
if [ -z "${DEVICE:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
if [ -x .gpu/GpuCnn.Perf ]; then gpucnn=(.gpu/GpuCnn.Perf e2e); else gpucnn=(dotnet run -c Release --project perf/GpuCnn.Perf -- e2e); fi
torch_device=$([ "$DEVICE" = cuda ] && echo cuda || echo cpu)
have_torch=0
python3 -c 'import torch' >/dev/null 2>&1 && have_torch=1

# model batch image-size steps(full) steps(quick)
runs=("lenet5 64 28 300 5" "lenet5 256 28 200 5" "alexnet 128 224 30 2")
# The CPU accelerator is far slower: smaller AlexNet batches keep a CPU run to minutes.
[ "$DEVICE" = cpu ] && runs=("lenet5 64 28 30 3" "lenet5 256 28 10 2" "alexnet 8 224 2 1")

printf '%-8s %6s %6s | %14s | %14s | %7s | %s\n' model batch size "GpuCnn img/s" "PyTorch img/s" ratio "PyTorch peak MiB"
for r in "${runs[@]}"; do
  read -r model batch size steps quick <<<"$r"
  [ "${QUICK:-0}" = 1 ] && steps=$quick
  g="$out/gpucnn-$model-$batch.json"; p="$out/pytorch-$model-$batch.json"
  "${gpucnn[@]}" "$model" --device "$DEVICE" --batch-size "$batch" --image-size "$size" --steps "$steps" --warmup 2 --metrics "$g" \
    > "$out/gpucnn-$model-$batch.log" 2>&1 || echo "gpucnn $model $batch failed; see $out/gpucnn-$model-$batch.log" >&2
  fmt='import json,sys; v=json.load(open(sys.argv[1]))["images_per_second"]; print(f"{v:.1f}" if v < 100 else round(v))'
  gi=$(python3 -c "$fmt" "$g" 2>/dev/null || echo n/a)
  pi=n/a; pm=n/a
  if [ $have_torch = 1 ]; then
    python3 perf/reference/pytorch_train.py --model "$model" --batch-size "$batch" --image-size "$size" --steps "$steps" \
      --warmup 2 --device "$torch_device" > "$p" 2> "$out/pytorch-$model-$batch.log" || echo "pytorch $model $batch failed" >&2
    pi=$(python3 -c "$fmt" "$p" 2>/dev/null || echo n/a)
    pm=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['peak_memory_bytes']; print('n/a' if m is None else round(m/2**20))" "$p" 2>/dev/null || echo n/a)
  fi
  ratio=$(python3 -c "import sys; g,p=sys.argv[1:]; print(f'{float(g)/float(p):.2f}x')" "$gi" "$pi" 2>/dev/null || echo n/a)
  printf '%-8s %6s %6s | %14s | %14s | %7s | %s\n' "$model" "$batch" "$size" "$gi" "$pi" "$ratio" "$pm"
done
echo "device: $DEVICE; PyTorch: $([ $have_torch = 1 ] && python3 -c 'import torch; print(torch.__version__)' || echo 'not installed'); results in $out"
