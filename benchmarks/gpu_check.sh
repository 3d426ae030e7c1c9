#!/usr/bin/env bash
# The GPU checks in one command, for the day a machine with an NVIDIA GPU is lent:
#   1. the gpu-marked tests (.venv/bin/pytest -m gpu);
#   2. benchmarks/network_scaling.py, cuda against cpp (one thread) at 10k, 100k and
#      1M hidden neurons (cpp at 1M only with GPU_CHECK_CPP_1M=1: its two runs alone
#      would take most of the time budget);
#   3. the main job on the GPU: mtspark-bio forgetting --device cuda.
# Everything it measures goes to one folder (argument; default
# benchmarks/results/gpu_check-<UTC date and time>/): summary.txt says what ran, what
# was skipped and why, with each step's exit status and wall time; machine.txt, one log
# per step, the scaling results (JSON) and the forgetting result file.
#
# Each step has a time budget and the whole stays under GPU_CHECK_BUDGET_S seconds
# (default 470, under 8 minutes); a step stopped at its budget is reported as such.
# Without a GPU it runs what it can (the gpu tests, which then skip; cpp at 10k; the
# main job's refusal of --device cuda) and says what it skipped. .ci/run does not run it.
#
#   benchmarks/gpu_check.sh [OUT_DIR]
#   GPU_CHECK_FORGETTING_ARGS="--n-tasks 2" benchmarks/gpu_check.sh   # a shorter main job
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-benchmarks/results/gpu_check-$(date -u +%Y%m%d-%H%M)}
BUDGET_S=${GPU_CHECK_BUDGET_S:-470}
BUILD=${GPU_CHECK_BUILD_DIR:-/tmp/mtspark-gpu-check}
PY=.venv/bin/python
mkdir -p "$OUT" "$BUILD"
OUT=$(cd "$OUT" && pwd)
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
START=$SECONDS

say() { echo "$*" | tee -a "$SUMMARY"; }

# run_step NAME BUDGET_S COMMAND...: runs under the smaller of its budget and what is
# left of the total, output to NAME.log; records exit status and wall time
run_step() {
    local name=$1 budget=$2
    shift 2
    local left=$((BUDGET_S - (SECONDS - START)))
    if ((left < 20)); then
        say "SKIPPED $name: total budget of ${BUDGET_S} s spent"
        return 0
    fi
    ((budget > left)) && budget=$left
    local t0=$SECONDS status
    echo "== $name (budget ${budget} s): $*"
    timeout -k 15 "$budget" "$@" > "$OUT/$name.log" 2>&1
    status=$?
    tail -n 5 "$OUT/$name.log"
    if ((status == 124 || status == 137)); then
        say "STOPPED $name at its budget of ${budget} s (exit $status); partial output in $name.log: $*"
    else
        say "RAN $name: exit $status in $((SECONDS - t0)) s: $*"
    fi
    return 0
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(hostname); cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
    grep -m1 'model name' /proc/cpuinfo
    free -g | head -2
    echo "git: $(git rev-parse --short HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) changed files"
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    nvcc --version 2>&1 | tail -2 || echo "nvcc: not available"
} > "$OUT/machine.txt"

GPU=0
if command -v nvidia-smi > /dev/null && nvidia-smi -L 2> /dev/null | grep -q '^GPU'; then
    GPU=1
fi
say "gpu_check $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), GPU: $( ((GPU)) && nvidia-smi -L | head -1 || echo none)"

# 1. gpu-marked tests: without a GPU they skip (their reasons are in the log)
run_step pytest_gpu 150 .venv/bin/pytest -m gpu -p no:cacheprovider -rs --junitxml="$OUT/pytest_gpu.xml"

# 2. scaling: one invocation per size, so a size stopped at its budget leaves the
# smaller ones' results; network_scaling.py writes benchmarks/results/<name>-<host>.json
scaling() {
    local size=$1 devices=$2 budget=$3 name=gpu_check_scaling_$1
    run_step "scaling_$size" "$budget" "$PY" benchmarks/network_scaling.py --sizes "$size" --devices "$devices" \
        --build-dir "$BUILD/scaling" --name "$name"
    mv -f benchmarks/results/"$name"-*.json "$OUT"/ 2> /dev/null || true
}
if ((GPU)); then
    scaling 10000 cuda,cpp1 70
    scaling 100000 cuda,cpp1 80
    if [[ ${GPU_CHECK_CPP_1M:-0} == 1 ]]; then
        scaling 1000000 cuda,cpp1 150
    else
        scaling 1000000 cuda 80
        say "SKIPPED scaling cpp1 at 1M: two runs of 190 M synapses on one core take minutes (GPU_CHECK_CPP_1M=1 runs it)"
    fi
else
    scaling 10000 cpp1 150
    say "SKIPPED scaling cuda at 10k, 100k, 1M: no GPU (nvidia-smi lists none)"
    say "SKIPPED scaling cpp1 at 100k, 1M: only wanted beside cuda; cpp alone is in benchmarks/README.md"
fi

# 3. the main job on the GPU (without one, Plan refuses --device cuda: that refusal is checked)
# shellcheck disable=SC2086  # GPU_CHECK_FORGETTING_ARGS is a list of options
run_step forgetting_cuda 170 /usr/bin/time -v .venv/bin/mtspark-bio forgetting --device cuda \
    --out "$OUT/forgetting-cuda.h5" --build-dir "$BUILD/forgetting" ${GPU_CHECK_FORGETTING_ARGS:-}
if ((!GPU)); then
    say "SKIPPED the main job on cuda: no GPU; its refusal: $(grep -m1 -i -E 'gpu|cuda' "$OUT/forgetting_cuda.log")"
    say "SKIPPED the brian2cuda build without a run (benchmarks/cuda_build.py): over an hour of nvcc on 2 cores"
fi

say "done in $((SECONDS - START)) s (budget ${BUDGET_S} s); results in $OUT"
exit 0
