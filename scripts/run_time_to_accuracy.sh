#!/usr/bin/env bash
# Time to accuracy of the N-body EGNN (issue 6): experiment=nbody, eager and compiled, run side by
# side (one thread each, one core each), each stopping at validation MSE < TARGET; then the summary
# results/benchmark/time_to_accuracy.json. Usage: scripts/run_time_to_accuracy.sh [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-0.0071}
run() {  # LABEL, extra overrides...
  local label=$1 log
  shift
  log=outputs/logs/time_to_accuracy_${label}.log
  mkdir -p outputs/logs
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment=nbody task_name=nbody_time_to_accuracy \
    callbacks.early_stopping.stopping_threshold="$target" trainer.enable_progress_bar=false "$@" \
    >"$log" 2>&1
  grep -o 'run folder: [^ ]*' "$log" | tail -1 | cut -d' ' -f3 | sed 's/\x1b\[[0-9;]*m//g'
}
run eager compile=false >outputs/logs/tta_eager.dir &
eager=$!
run compiled compile=true >outputs/logs/tta_compiled.dir &
compiled=$!
wait "$eager"
wait "$compiled"
.venv/bin/python -m egnn.reporting.time_to_accuracy --target "$target" \
  "eager=$(cat outputs/logs/tta_eager.dir)" "compiled=$(cat outputs/logs/tta_compiled.dir)"
