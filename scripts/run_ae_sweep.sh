#!/usr/bin/env bash
# An autoencoder figure grid (ae_sparsity or ae_embedding) as one Hydra multirun, one thread per
# run, then a record per finished run under results/<experiment>/ and the figures.
# Usage: scripts/run_ae_sweep.sh EXPERIMENT [EXTRA HYDRA OVERRIDES...]
#   scripts/run_ae_sweep.sh ae_sparsity data.p=0.1,0.5 model=ae_egnn,ae_gnn trainer.max_epochs=200
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=$1
shift
OMP_NUM_THREADS=1 .venv/bin/python train.py -m experiment="$experiment" \
  trainer.enable_progress_bar=false "$@"
for run in outputs/"$experiment"/multirun_*/*/; do
  [ -f "$run/metrics.json" ] && .venv/bin/python -m egnn.reporting.records "$run"
done
.venv/bin/python -m egnn.reporting.plots
