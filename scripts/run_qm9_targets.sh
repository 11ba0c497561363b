#!/usr/bin/env bash
# Train QM9 targets one after another, one thread each.
# Usage: scripts/run_qm9_targets.sh EXPERIMENT TARGET [TARGET...]   e.g. scripts/run_qm9_targets.sh qm9_cpu homo mu
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=$1
shift
for target in "$@"; do
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment="$experiment" data.target="$target" seed=0 trainer.enable_progress_bar=false
done
