#!/usr/bin/env bash
# A figure grid (ae_sparsity, ae_embedding, nbody_data_efficiency) as one Hydra multirun, one
# thread per run, then a record per finished run of this sweep under results/<experiment>/ and
# the figures under outputs/figures/. A failed run does not lose the others' records; the script
# then exits with the multirun's status.
# Usage: scripts/run_sweep.sh EXPERIMENT [EXTRA HYDRA OVERRIDES...]
#   scripts/run_sweep.sh ae_sparsity data.p=0.1,0.5 model=ae_egnn,ae_gnn trainer.max_epochs=200
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=${1:?usage: scripts/run_sweep.sh EXPERIMENT [EXTRA HYDRA OVERRIDES...]}
shift
sweep_dir=outputs/$experiment/multirun_$(date +%Y-%m-%d_%H-%M-%S)
status=0
OMP_NUM_THREADS=1 .venv/bin/python train.py -m experiment="$experiment" \
  hydra.sweep.dir="$sweep_dir" trainer.enable_progress_bar=false "$@" || status=$?
for run in "$sweep_dir"/*/; do
  [ -f "$run/metrics.json" ] && .venv/bin/python -m egnn.records "$run"
done
.venv/bin/python -m egnn.reporting.plots
exit "$status"
