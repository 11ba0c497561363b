#!/usr/bin/env bash
# Run the N-body protocol for several models, one after another, one thread each.
# Usage: scripts/run_nbody_models.sh SEED MODEL [MODEL...]   e.g. scripts/run_nbody_models.sh 0 nbody_gnn nbody_rf nbody_linear
set -euo pipefail
cd "$(dirname "$0")/.."
seed=$1
shift
for model in "$@"; do
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment=nbody model="$model" seed="$seed" trainer.enable_progress_bar=false
done
