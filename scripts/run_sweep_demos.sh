#!/usr/bin/env bash
# Small-setting demonstrations of the three sweep mechanisms (20 epochs each, one thread per job):
# a 3-seed multirun, a 3-trial Optuna search and a joblib-launched pair. Records of the seed and
# joblib runs go to results/nbody_demo_{seeds,joblib}/; the Optuna trials (one seed, several
# settings) are summarised from their folder: python -m egnn.run.summary outputs/nbody_demo_optuna/multirun_*
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
common=(experiment=nbody trainer.max_epochs=20 trainer.enable_progress_bar=false)
.venv/bin/python train.py -m "${common[@]}" task_name=nbody_demo_seeds seed=0,1,2
.venv/bin/python train.py -m "${common[@]}" task_name=nbody_demo_optuna hparams_search=nbody_optuna \
  hydra.sweeper.n_trials=3 hydra.sweeper.sampler.n_startup_trials=3
.venv/bin/python train.py -m "${common[@]}" task_name=nbody_demo_joblib seed=0,1 launcher=joblib
for run in outputs/nbody_demo_{seeds,joblib}/multirun_*/*/; do
  [ -f "$run/metrics.json" ] && .venv/bin/python -m egnn.records "$run"
done
