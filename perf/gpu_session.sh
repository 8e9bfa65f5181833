#!/usr/bin/env bash
# Everything a GPU session checks and measures, in one call on the GPU machine (it has the driver, CUDA, PyTorch and
# PoCL, but no .NET). Here, first:
#   ../shared/tools/gpu-bundle perf/GpuCnn.Perf/GpuCnn.Perf.csproj        # -> .gpu/GpuCnn.Perf (tests included)
# Then the device tool's run, with carry [".gpu"]:
#   export DOTNET_BUNDLE_EXTRACT_BASE_DIR=/tmp/dn; perf/gpu_session.sh [table] [cuda] [opencl]
# Steps (all three by default, in this order, each under its own time limit so one slow step cannot eat the rest):
#   table   perf/side_by_side.sh: GpuCnn against PyTorch, img/s, ratio, memory, and SGEMM        (TABLE_S, 480 s)
#   cuda    the test suite's CUDA cases: every reference test and gradient check, on the GPU      (CUDA_S, 240 s)
#   opencl  the test suite's OpenCL cases, on whatever OpenCL device is present (PoCL)           (OPENCL_S, 240 s)
# All steps together stay within TOTAL_S (570 s, under the device tool's 600 s per call); a step that has no time
# left is reported as not run. With 15 minutes of device time, two calls fit: `table`, then `cuda opencl`.
# Results go to $OUT (the device tool's folder) or ./gpu-session; the summary lines are printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-/tmp/dn}
out=${OUT:-gpu-session}
mkdir -p "$out"
steps=("$@"); [ ${#steps[@]} -eq 0 ] && steps=(table cuda opencl)
if [ -x .gpu/GpuCnn.Perf ]; then perf=(.gpu/GpuCnn.Perf); else
  dotnet build -c Release perf/GpuCnn.Perf >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
  perf=(dotnet perf/GpuCnn.Perf/bin/Release/net10.0/GpuCnn.Perf.dll); fi

{ date -u; nvidia-smi 2>&1 || echo "no nvidia-smi"; } > "$out/machine.txt"
"${perf[@]}" cli devices > "$out/devices.txt" 2>&1
summary=()
deadline=$(( $(date +%s) + ${TOTAL_S:-570} ))
for step in "${steps[@]}"; do
  t0=$(date +%s)
  case $step in table) lim=${TABLE_S:-480} ;; cuda) lim=${CUDA_S:-240} ;; opencl) lim=${OPENCL_S:-240} ;;
    *) echo "unknown step '$step' (table, cuda, opencl)" >&2; exit 2 ;; esac
  left=$(( deadline - t0 )); [ "$lim" -gt "$left" ] && lim=$left
  if [ "$lim" -lt 20 ]; then summary+=("$step: not run, no time left in TOTAL_S"); continue; fi
  case $step in
    table)  OUT="$out/table" timeout "$lim" perf/side_by_side.sh > "$out/table.txt" 2>&1; rc=$?
            summary+=("table: exit $rc after $(( $(date +%s) - t0 )) s (limit $lim s); see table.txt") ;;
    cuda|opencl)
            timeout "$lim" "${perf[@]}" check --backends "$step" > "$out/check-$step.txt" 2>&1; rc=$?
            summary+=("check $step: exit $rc after $(( $(date +%s) - t0 )) s (limit $lim s): $(tail -1 "$out/check-$step.txt")")
            grep -E '^FAIL ' -A3 "$out/check-$step.txt" | head -40 ;;
  esac
done
cat "$out/devices.txt"
cat "$out/table.txt" 2>/dev/null
printf '%s\n' "${summary[@]}"
