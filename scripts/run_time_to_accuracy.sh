#!/usr/bin/env bash
# Time to accuracy of the N-body EGNN: experiment=nbody computed as the release computes it
# ("release's formulation": model.net.name=egnn_release, eager, for-loop Adam; the same function at
# the release's cost, so the release's time is measured on the machine at hand) against the default
# command as a user runs it (python train.py experiment=nbody: compile=auto compiles this model,
# fused Adam), one run at a time, one thread each, each stopping at the first validation MSE below
# TARGET. The default run goes twice: first with an empty Inductor cache (what a first run on a
# machine pays for compiling), then with that cache warm (every later run). REPEATS=k (default 1)
# repeats the runs k times; the summary results/benchmark/time_to_accuracy.json then holds every
# run and the README table their medians. EAGER=1 adds our eager backbone (compile=false). BF16=1
# adds the default run in bf16 autocast (trainer.precision=bf16-mixed), cold and warm: not the same
# arithmetic; faster where bf16 matmuls are (an AVX512-BF16 AMD EPYC), slower elsewhere (an AMX
# machine). Extra Hydra overrides go to every run.
# Usage: [REPEATS=k] [EAGER=1] [BF16=1] scripts/run_time_to_accuracy.sh [TARGET] [OVERRIDES...]
#   REPEATS=3 scripts/run_time_to_accuracy.sh 0.0071 seed=3 trainer.max_time=00:00:08:00
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-0.0071}
shift || true
repeats=${REPEATS:-1}
mkdir -p outputs/logs
run() {  # NAME, overrides... -> prints the run folder
  local name=$1 log
  shift
  log=outputs/logs/time_to_accuracy_${name}.log
  # Own task name per run: two runs started in the same second would share a run folder.
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment=nbody task_name="nbody_tta_${name}" \
    callbacks.early_stopping.stopping_threshold="$target" trainer.enable_progress_bar=false "$@" \
    >"$log" 2>&1 || { echo "run $name failed: see $log" >&2; exit 1; }
  grep -o 'run folder: [^ ]*' "$log" | tail -1 | cut -d' ' -f3 | sed 's/\x1b\[[0-9;]*m//g'
}
cold_and_warm() {  # NAME LABEL overrides...: the default run on an empty Inductor cache, then warm
  local name=$1 label=$2 cache cold warm
  shift 2
  cache=$(mktemp -d -p outputs inductor_cache_XXXX)
  cold=$(TORCHINDUCTOR_CACHE_DIR=$cache run "${name}_cold$k" "$@")
  warm=$(TORCHINDUCTOR_CACHE_DIR=$cache run "${name}_warm$k" "$@")
  rm -rf "$cache"
  pairs+=("$label, cold compile cache$suffix=$cold" "$label, warm compile cache$suffix=$warm")
}
pairs=()
for k in $(seq 1 "$repeats"); do
  suffix=$([ "$repeats" -gt 1 ] && echo " #$k" || true)
  release=$(run "release$k" model.net.name=egnn_release compile=false \
    ++model.optimizer.fused=false "$@")
  pairs+=("release's formulation$suffix=$release")
  if [ "${EAGER:-0}" = 1 ]; then
    eager=$(run "eager$k" compile=false "$@")
    pairs+=("eager$suffix=$eager")
  fi
  cold_and_warm default "default command" "$@"
  if [ "${BF16:-0}" = 1 ]; then  # the default run in bf16 autocast, its own cache
    cold_and_warm bf16 "default command, bf16-mixed" trainer.precision=bf16-mixed "$@"
  fi
done
.venv/bin/python -m egnn.run.time_to_accuracy --target "$target" "${pairs[@]}"
