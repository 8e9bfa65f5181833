#!/usr/bin/env bash
# The CPU accelerator's paths side by side in one run, interleaved: "ilgpu" is the path before issue 17
# (GPUCNN_CPU_SIMD=0 GPUCNN_CPU_HOST_KERNELS=0: ILGPU kernels, blocked/direct GEMMs), "host" the default (host SIMD
# GEMM family, chunked kernels as host loops). Prints ms per step of each round and the median ratio of speeds.
#   ROUNDS=3 perf/cpu_paths.sh
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
dotnet build -c Release src/GpuCnn.Cli >/dev/null 2>&1 && dotnet build -c Release perf/GpuCnn.Perf >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
cli=src/GpuCnn.Cli/bin/Release/net10.0/GpuCnn.Cli
perf=(dotnet perf/GpuCnn.Perf/bin/Release/net10.0/GpuCnn.Perf.dll)
for size in 512 1024; do
  echo "SGEMM ${size}^3, one process (blocked = the ILGPU kernel, simd = the host family):"
  "${perf[@]}" sgemm --size "$size" --device cpu --reps 5 | grep -E '^(blocked|simd) '
done
# label model batch image-size steps warmup
runs=("lenet5/64 lenet5 64 28 30 3" "lenet5/256 lenet5 256 28 10 2" "resnet18/16 resnet18 16 32 2 1" "alexnet/4 alexnet 4 224 2 1")
step() { # simd host model batch size steps warmup -> ms/step
  GPUCNN_CPU_SIMD=$1 GPUCNN_CPU_HOST_KERNELS=$2 "$cli" bench "$3" --device cpu --batch-size "$4" --image-size "$5" \
    --steps "$6" --warmup "$7" 2>&1 | grep -o '[0-9.]* ms/step' | cut -d' ' -f1
}
printf '%-12s %-40s %-40s %s\n' work "ilgpu ms/step by round" "host ms/step by round" "median speed ratio host/ilgpu"
for r in "${runs[@]}"; do
  set -- $r
  old=() new=() ratios=()
  for ((i = 0; i < rounds; i++)); do
    a=$(step 0 0 "$2" "$3" "$4" "$5" "$6"); b=$(step 1 1 "$2" "$3" "$4" "$5" "$6")
    old+=("$a"); new+=("$b"); ratios+=("$(python3 -c "print(round($a / $b, 2))")")
  done
  med=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}')
  printf '%-12s %-40s %-40s %s\n' "$1" "${old[*]}" "${new[*]}" "$med"
done
