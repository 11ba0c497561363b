#!/usr/bin/env bash
# Data-efficiency grid (paper Fig. 3) as one Hydra multirun, smallest sizes first, one thread,
# then a record per finished run of this sweep under results/nbody_data_efficiency/ and the plot.
# Usage: scripts/run_nbody_data_efficiency.sh [SIZES] [MODELS] [EXTRA HYDRA OVERRIDES...]
#   scripts/run_nbody_data_efficiency.sh 100,200,400,800,1600,3200 egnn,gnn,rf trainer.max_time=00:00:12:00
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-100,200,400,800,1600,3200,6400,12800,25000,50000}
models=${2:-egnn,gnn,rf}
shift 2 || true
sweep_dir=outputs/nbody_data_efficiency/multirun_$(date +%Y-%m-%d_%H-%M-%S)
status=0  # a failed run does not lose the others' records
OMP_NUM_THREADS=1 .venv/bin/python train.py -m experiment=nbody_data_efficiency \
  hydra.sweep.dir="$sweep_dir" "data.n_train=$sizes" "model=$models" \
  trainer.enable_progress_bar=false "$@" || status=$?
for run in "$sweep_dir"/*/; do
  [ -f "$run/metrics.json" ] && .venv/bin/python -m egnn.reporting.records "$run"
done
.venv/bin/python -m egnn.reporting.plots
exit "$status"
