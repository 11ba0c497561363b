#!/usr/bin/env bash
# Time to accuracy of the N-body EGNN (issue 6): experiment=nbody "before" (eager, for-loop Adam)
# and "after" (compile=true, with the default fused Adam), run side by side (one thread each; on
# two cores, one core each), each stopping at the first validation MSE below TARGET; then the summary
# results/benchmark/time_to_accuracy.json. Extra Hydra overrides go to both runs.
# Usage: scripts/run_time_to_accuracy.sh [TARGET] [OVERRIDES...]
#   scripts/run_time_to_accuracy.sh 0.0071 trainer.max_time=00:00:15:00
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-0.0071}
shift || true
mkdir -p outputs/logs
run() {  # LABEL, overrides...
  local label=$1 log
  shift
  log=outputs/logs/time_to_accuracy_${label}.log
  # Own task name per run: two runs started in the same second would share a run folder.
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment=nbody task_name="nbody_tta_${label}" \
    callbacks.early_stopping.stopping_threshold="$target" trainer.enable_progress_bar=false "$@" \
    >"$log" 2>&1
  grep -o 'run folder: [^ ]*' "$log" | tail -1 | cut -d' ' -f3 | sed 's/\x1b\[[0-9;]*m//g'
}
run before compile=false ++model.optimizer.fused=false "$@" >outputs/logs/tta_before.dir &
before=$!
run after compile=true "$@" >outputs/logs/tta_after.dir &
after=$!
status=0
wait "$before" || status=$?
wait "$after" || status=$?
[ "$status" -eq 0 ] || { echo "a run failed: see outputs/logs/time_to_accuracy_*.log" >&2; exit "$status"; }
.venv/bin/python -m egnn.reporting.time_to_accuracy --target "$target" \
  "before=$(cat outputs/logs/tta_before.dir)" "after=$(cat outputs/logs/tta_after.dir)"
