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
minutes=$1
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
for pid in "${pids[@]}"; do wait "$pid" || { echo "a run failed: see outputs/logs/qm9_equal_time_*.log" >&2; exit 1; }; done
dirs=()
for model in egnn egnn_release; do
  dirs+=("$(grep -o 'run folder: [^ ]*' "outputs/logs/qm9_equal_time_${model}.log" | tail -1 | cut -d' ' -f3 | sed 's/\x1b\[[0-9;]*m//g')")
done
.venv/bin/egnn-record "${dirs[@]}" --experiment qm9_equal_time --curve --replace
.venv/bin/python scripts/plot_qm9_budget.py "${dirs[@]}" --time wall \
  --out "results/qm9_equal_time/${target}_equal_time.png"
