#!/usr/bin/env bash
# GPU check, under 5 minutes on one CUDA GPU: the benchmark on the GPU, then a few hundred
# training steps of each experiment with trainer=gpu. Everything lands in one folder:
#   scripts/gpu_check.sh [OUT_DIR]        (default: $OUT if set, else outputs/gpu_check)
# Needs the package installed with a CUDA build of torch and the QM9 cache (built on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-outputs/gpu_check}}
python=${PYTHON:-python}
mkdir -p "$out"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} WANDB_MODE=offline
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
"$python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"

"$python" -m benchmarks.benchmark --device cuda --threads "$OMP_NUM_THREADS" --runs 50 \
  --scaling 1000,2000,5000,10000 --out "$out/benchmark_gpu.json" | tee "$out/benchmark_gpu.txt"

common=(trainer=gpu trainer.enable_progress_bar=false "paths.log_dir=$out/runs" num_threads="$OMP_NUM_THREADS")
# N-body EGNN: 10 epochs of 30 steps, validation every 5.
"$python" train.py experiment=nbody trainer.max_epochs=10 "${common[@]}" | tee "$out/nbody.txt"
# QM9 homo: 300 steps of 96 molecules, a tenth of the validation split.
"$python" train.py experiment=qm9 data.target=homo trainer.max_epochs=1 \
  trainer.limit_train_batches=300 trainer.limit_val_batches=0.1 "${common[@]}" | tee "$out/qm9.txt"
# Graph autoencoder EGNN: 300 steps of one graph (the paper's batch).
"$python" train.py experiment=ae_community model=ae_egnn trainer.max_epochs=2 \
  trainer.check_val_every_n_epoch=1 trainer.limit_train_batches=150 trainer.limit_val_batches=100 \
  "${common[@]}" | tee "$out/ae_community.txt"
find "$out/runs" -name metrics.json | sort > "$out/metrics_files.txt"
echo "GPU check done: $out"
