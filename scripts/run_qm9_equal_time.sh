#!/usr/bin/env bash
# Equal-time comparison on QM9: our model and the release's formulation (model.net.name=egnn_release:
# the same function and parameters, computed as the release computes it, padded molecules and all
# padded pairs) trained side by side, one thread each, for the same wall-clock minutes, on the same
# data and schedule (experiment=qm9_cpu_1h). Writes the two records (results/qm9_equal_time/, with
# their learning curves) and the plot of validation MAE against minutes.
# Usage: scripts/run_qm9_equal_time.sh MINUTES [TARGET] [OVERRIDES...]
#   scripts/run_qm9_equal_time.sh 45 homo
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: scripts/run_qm9_equal_time.sh MINUTES [TARGET] [OVERRIDES...]}
target=${2:-homo}
shift 2 || shift $#
budget=$(printf "00:%02d:%02d:00" $((minutes / 60)) $((minutes % 60)))
mkdir -p outputs/logs
pids=()
for model in egnn egnn_release; do
  log=outputs/logs/qm9_equal_time_${model}.log
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment=qm9_cpu_1h data.target="$target" seed=0 \
    model.net.name="$model" task_name="qm9_equal_time_${model}" trainer.max_time="$budget" \
    trainer.enable_progress_bar=false forward_time.enabled=false "$@" >"$log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  if ! wait "$pid"; then
    kill "${pids[@]}" 2>/dev/null || true
    echo "a run failed: see outputs/logs/qm9_equal_time_*.log" >&2
    exit 1
  fi
done
dirs=()
for model in egnn egnn_release; do
  log=outputs/logs/qm9_equal_time_${model}.log
  dir=$(grep -o 'run folder: [^ ]*' "$log" | tail -1 | cut -d' ' -f3 | sed 's/\x1b\[[0-9;]*m//g' || true)
  [ -n "$dir" ] || { echo "no run folder in $log" >&2; exit 1; }
  dirs+=("$dir")
done
.venv/bin/egnn-record "${dirs[@]}" --experiment qm9_equal_time --curve --replace
.venv/bin/python scripts/plot_qm9_budget.py "${dirs[@]}" --time wall \
  --out "results/qm9_equal_time/${target}_equal_time.png"
