#!/usr/bin/env bash
# Data-efficiency grid (paper Fig. 3) through scripts/run_sweep.sh: one Hydra multirun, smallest
# sizes first, one thread, then a record per finished run under results/nbody_data_efficiency/
# and the plot.
# Usage: scripts/run_nbody_data_efficiency.sh [SIZES] [MODELS] [EXTRA HYDRA OVERRIDES...]
#   scripts/run_nbody_data_efficiency.sh 100,200,400,800,1600,3200 nbody_egnn,nbody_gnn,nbody_rf trainer.max_time=00:00:12:00
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-100,200,400,800,1600,3200,6400,12800,25000,50000}
models=${2:-nbody_egnn,nbody_gnn,nbody_rf}
shift $(($# < 2 ? $# : 2))  # SIZES and MODELS, where given
exec scripts/run_sweep.sh nbody_data_efficiency "data.n_train=$sizes" "model=$models" "$@"
