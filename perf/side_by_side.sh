#!/usr/bin/env bash
# Side-by-side throughput: GpuCnn (gpucnn bench, GpuCnn.Perf sgemm) against PyTorch (perf/reference/*.py), in the
# same run on the same machine, printed as one table with the ratio GpuCnn / PyTorch.
#
# On the GPU machine (no .NET there): first, here, `../shared/tools/gpu-bundle perf/GpuCnn.Perf/GpuCnn.Perf.csproj`,
# then run this script there with DEVICE=cuda (the default when nvidia-smi works). Elsewhere it runs GpuCnn from
# source with `dotnet run`, on DEVICE=cpu by default, and skips PyTorch when it is not installed.
#   QUICK=1 perf/side_by_side.sh          # few steps, for a smoke test
#   OUT=results perf/side_by_side.sh      # also keep every JSON result and log in OUT/
# Rows: our own kernels (--gemm auto: each GEMM-shaped layer timed once per shape, fastest kept), LeNet-5 replayed as
# a CUDA graph (--cuda-graph), the cuBLAS provider (--gemm cublas), TF32 (--tf32 on both sides), and a 4096^3 SGEMM
# (our best tiled kernel and cuBLAS vs torch.matmul). PyTorch runs eagerly in every row.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-/tmp/dn}
if [ -z "${DEVICE:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then DEVICE=cuda; else DEVICE=cpu; fi
fi
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
if [ -x .gpu/GpuCnn.Perf ]; then perf=(.gpu/GpuCnn.Perf); else
  dotnet build -c Release perf/GpuCnn.Perf >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
  perf=(dotnet perf/GpuCnn.Perf/bin/Release/net10.0/GpuCnn.Perf.dll); fi
torch_device=$([ "$DEVICE" = cuda ] && echo cuda || echo cpu)
have_torch=0
python3 -c 'import torch' >/dev/null 2>&1 && have_torch=1

# label model batch image-size steps(full) steps(quick) gpucnn-options pytorch-options
runs=("lenet5 lenet5 64 28 300 5 - -"
      "lenet5/graph lenet5 64 28 300 5 --cuda-graph -"
      "lenet5 lenet5 256 28 200 5 - -"
      "lenet5/graph lenet5 256 28 200 5 --cuda-graph -"
      "alexnet alexnet 128 224 30 2 - -"
      "alexnet/cublas alexnet 128 224 30 2 --gemm=cublas -"
      "alexnet/tf32 alexnet 128 224 30 2 --tf32 --tf32")
sgemm_size=4096
# The CPU accelerator is far slower: smaller AlexNet batches and a smaller SGEMM keep a CPU run to minutes.
if [ "$DEVICE" = cpu ]; then
  runs=("lenet5 lenet5 64 28 30 3 - -" "lenet5 lenet5 256 28 10 2 - -" "alexnet alexnet 8 224 2 1 - -")
  sgemm_size=512
fi
fmt='import json,sys; v=json.load(open(sys.argv[1]))["images_per_second"]; print(f"{v:.1f}" if v < 100 else round(v))'
ratio() { python3 -c "import sys; g,p=sys.argv[1:]; print(f'{float(g)/float(p):.2f}x')" "$1" "$2" 2>/dev/null || echo n/a; }

echo "device: $DEVICE$(command -v nvidia-smi >/dev/null 2>&1 && echo " ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1))"); $(date -u +%F)"
# Memory: GpuCnn's is the driver's used memory after the run minus before the model (buffers, kernels, cuBLAS
# workspace); PyTorch's is its allocator's peak of live tensors / peak held from the driver, in the timed steps.
printf '%-17s %6s %6s | %14s | %14s | %7s | %10s | %s\n' work batch size "GpuCnn img/s" "PyTorch img/s" ratio "GpuCnn MiB" "PyTorch MiB live/held"
for r in "${runs[@]}"; do
  read -r label model batch size steps quick gopt popt <<<"$r"
  [ "${QUICK:-0}" = 1 ] && steps=$quick
  gopt=${gopt//=/ }; [ "$gopt" = - ] && gopt=""; [ "$popt" = - ] && popt=""
  tag=${label//\//-}-$batch
  g="$out/gpucnn-$tag.json"; p="$out/pytorch-$tag.json"
  # shellcheck disable=SC2086
  "${perf[@]}" e2e "$model" --device "$DEVICE" --batch-size "$batch" --image-size "$size" --steps "$steps" --warmup 2 $gopt --metrics "$g" \
    > "$out/gpucnn-$tag.log" 2>&1 || echo "gpucnn $label $batch failed; see $out/gpucnn-$tag.log" >&2
  gi=$(python3 -c "$fmt" "$g" 2>/dev/null || echo n/a)
  gm=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])).get('device_memory_bytes'); print('n/a' if m is None else round(m/2**20))" "$g" 2>/dev/null || echo n/a)
  pi=n/a; pm=n/a
  if [ $have_torch = 1 ]; then
    # shellcheck disable=SC2086
    python3 perf/reference/pytorch_train.py --model "$model" --batch-size "$batch" --image-size "$size" --steps "$steps" \
      --warmup 2 --device "$torch_device" $popt > "$p" 2> "$out/pytorch-$tag.log" || echo "pytorch $label $batch failed" >&2
    pi=$(python3 -c "$fmt" "$p" 2>/dev/null || echo n/a)
    pm=$(python3 -c "
import json,sys
j=json.load(open(sys.argv[1])); a,r=j.get('peak_memory_bytes'),j.get('peak_reserved_bytes')
print('n/a' if a is None else f'{round(a/2**20)}/{round(r/2**20)}')" "$p" 2>/dev/null || echo n/a)
  fi
  printf '%-17s %6s %6s | %14s | %14s | %7s | %10s | %s\n' "$label" "$batch" "$size" "$gi" "$pi" "$(ratio "$gi" "$pi")" "$gm" "$pm"
done

# SGEMM: GFLOP/s, each GpuCnn kernel validated against a double reference before it is timed.
reps=$([ "${QUICK:-0}" = 1 ] && echo 2 || echo 20)
"${perf[@]}" sgemm --size "$sgemm_size" --device "$DEVICE" --reps "$reps" --metrics "$out/gpucnn-sgemm.json" > "$out/gpucnn-sgemm.log" 2>&1 \
  || echo "gpucnn sgemm failed or a kernel was invalid; see $out/gpucnn-sgemm.log" >&2
for prec in fp32 tf32; do
  tp=n/a
  if [ $have_torch = 1 ]; then
    python3 perf/reference/pytorch_sgemm.py --size "$sgemm_size" --device "$torch_device" --reps "$reps" $([ $prec = tf32 ] && echo --tf32) \
      > "$out/pytorch-sgemm-$prec.json" 2>> "$out/pytorch-sgemm.log" || echo "pytorch sgemm $prec failed" >&2
    tp=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["gflops"]))' "$out/pytorch-sgemm-$prec.json" 2>/dev/null || echo n/a)
  fi
  # Ours: the best of the library's ILGPU kernels for fp32, the best experimental kernel (perf/GpuCnn.Experimental, not yet
  # in the library) on its own row, and cuBLAS through our provider for both precisions.
  best() { python3 -c '
import json,sys
r=[x for x in json.load(open(sys.argv[1]))["results"] if x["valid"] and x["kernel"].startswith(sys.argv[2]) == (sys.argv[3] == "1")
   and not x["kernel"].startswith("cublas")]
print(round(max(x["gflops"] for x in r)) if r else "n/a")' "$out/gpucnn-sgemm.json" "$1" "$2" 2>/dev/null || echo n/a; }
  own=$(best exp 0); exp=$(best exp 1)
  cub=$(python3 -c '
import json,sys
r=[x for x in json.load(open(sys.argv[1]))["results"] if x["valid"] and x["kernel"]=="cublas-"+sys.argv[2]]
print(round(r[0]["gflops"]) if r else "n/a")' "$out/gpucnn-sgemm.json" "$prec" 2>/dev/null || echo n/a)
  if [ $prec = fp32 ]; then
    printf '%-17s %6s %6s | %14s | %14s | %7s | %10s | %s\n' "sgemm/own" - "$sgemm_size" "$own GF/s" "$tp GF/s" "$(ratio "$own" "$tp")" - "GpuCnn's ILGPU kernel vs torch.matmul fp32"
    printf '%-17s %6s %6s | %14s | %14s | %7s | %10s | %s\n' "sgemm/exp01-v4" - "$sgemm_size" "$exp GF/s" "$tp GF/s" "$(ratio "$exp" "$tp")" - "experimental Float4 shared reads (perf/GpuCnn.Experimental) vs torch.matmul fp32"
  fi
  printf '%-17s %6s %6s | %14s | %14s | %7s | %10s | %s\n' "sgemm/cublas-$prec" - "$sgemm_size" "$cub GF/s" "$tp GF/s" "$(ratio "$cub" "$tp")" - "cuBLAS via ILGPU vs torch.matmul $prec"
done
echo "PyTorch: $([ $have_torch = 1 ] && python3 -c 'import torch; print(torch.__version__)' || echo 'not installed'); results in $out"
