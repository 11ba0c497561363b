#!/usr/bin/env bash
# Run the paper's N-body protocol for several seeds, one after another, one thread each.
# Usage: scripts/run_nbody_seeds.sh [EXPERIMENT] [SEEDS...]   (default: nbody 0 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=${1:-nbody}
shift || true
seeds=${*:-0 1 2}
for seed in $seeds; do
  OMP_NUM_THREADS=1 .venv/bin/python train.py experiment="$experiment" seed="$seed" trainer.enable_progress_bar=false
done
