#!/usr/bin/env bash
# Graph autoencoder runs one after another, one thread each, then a record per run.
# Usage: scripts/run_ae.sh EXPERIMENT "MODELS" [EXTRA HYDRA OVERRIDES...]
#   scripts/run_ae.sh ae_community "ae_egnn ae_gnn" data.batch_size=8 model.optimizer.lr=2.83e-4
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=$1
models=$2
shift 2
for model in $models; do
  log=$(mktemp)
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment="$experiment" model="$model" \
    trainer.enable_progress_bar=false "$@" 2>&1 | tee "$log"
  run=$(grep -o 'run folder: [^ ]*' "$log" | tail -1 | cut -d' ' -f3 | sed 's/\x1b\[[0-9;]*m//g')
  [ -n "$run" ] && .venv/bin/python -m egnn.records "$run"
  rm -f "$log"
done
