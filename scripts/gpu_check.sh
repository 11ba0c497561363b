#!/usr/bin/env bash
# GPU check, at most 10 minutes on one CUDA GPU, unattended. In order:
#  1. QM9 homo at the paper's protocol (all 100,000 training molecules, batch 96, Adam 1e-3,
#     cosine over 1,000 epochs, full validation every epoch) for GPU_CHECK_TRAIN_MIN minutes
#     (default 5); its record goes to OUT_DIR/results, and the projected wall time of the
#     1,000-epoch protocol (median epoch time x 1,000) is printed and kept in projection.json;
#  2. the benchmark on the GPU; 3. a few hundred training steps of the N-body and graph
#     autoencoder experiments. A stage that would not end within the 10 minutes is skipped.
# Everything lands in one folder:
#   scripts/gpu_check.sh [OUT_DIR]        (default: $OUT if set, else outputs/gpu_check)
# Without a CUDA GPU it stops at once with one line (exit 1). GPU_CHECK_DRY_RUN=1 runs stage 1 on
# the CPU with a tiny budget instead (2 epochs of 192 molecules; the test suite's check).
# GPU_CHECK_DATA_DIR: the QM9 cache folder (default: the repository's data/; built on first use
# from the qm9pack package). Needs the package installed with a CUDA build of torch.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-outputs/gpu_check}}
python=${PYTHON:-python}
dry_run=${GPU_CHECK_DRY_RUN:-0}
train_min=${GPU_CHECK_TRAIN_MIN:-5}
budget_s=${GPU_CHECK_BUDGET_S:-600}
start_s=$SECONDS
if [[ ! $train_min =~ ^[1-8]$ ]]; then
  echo "gpu_check: GPU_CHECK_TRAIN_MIN must be a whole number of minutes from 1 to 8, got '$train_min'" >&2
  exit 2
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} WANDB_MODE=offline

if [[ $dry_run != 1 ]]; then
  "$python" - <<'EOF' || exit 1
import sys
try:
    import torch
except Exception as err:
    sys.exit(f"gpu_check: torch does not import ({err}): nothing run")
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: no CUDA GPU visible to torch {torch.__version__}: nothing run")
EOF
fi
mkdir -p "$out"

left_s() { echo $((budget_s - (SECONDS - start_s))); }
# run_stage NAME MIN_SECONDS CMD...: run CMD (output to OUT_DIR/NAME.txt) if MIN_SECONDS are left,
# stopped when the budget is up (noted in OUT_DIR/skipped.txt); any other failure stops the check.
run_stage() {
  local name=$1 need=$2 rc=0
  shift 2
  if (($(left_s) < need)); then
    echo "gpu_check: skipped $name ($(left_s) s left, needs $need s)" | tee -a "$out/skipped.txt"
    return 0
  fi
  { timeout --signal=INT --kill-after=20 "$(left_s)" "$@" 2>&1 | tee "$out/$name.txt"; } || rc=$?
  if ((rc == 124)); then
    echo "gpu_check: $name stopped at the ${budget_s} s budget" | tee -a "$out/skipped.txt"
    return 0
  fi
  return "$rc"
}

qm9=(experiment=qm9 data.target=homo seed=0 trainer.enable_progress_bar=false
  "paths.log_dir=$out/runs" "hydra.run.dir=$out/runs/qm9_protocol_homo"
  model.scheduler.T_max=1000 num_threads="$OMP_NUM_THREADS"
  "beside='nothing else of this check (it runs its stages one after another)'")
if [[ -n ${GPU_CHECK_DATA_DIR:-} ]]; then qm9+=("paths.data_dir=$GPU_CHECK_DATA_DIR"); fi
if [[ $dry_run == 1 ]]; then
  qm9+=(trainer=cpu data.n_train=192 trainer.max_epochs=2 trainer.limit_val_batches=2
    trainer.limit_test_batches=2 forward_time.enabled=false)
else
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
  "$python" -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"
  # The protocol's time budget; the cosine schedule stays the 1,000-epoch one.
  qm9+=(trainer=gpu data.num_workers=4 "trainer.max_time=00:00:$(printf %02d "$train_min"):00")
fi

# 1. QM9 homo at the protocol: time per epoch, a few minutes of training, record, projection.
run_stage qm9_protocol_homo 120 "$python" train.py "${qm9[@]}"
"$python" scripts/project_protocol.py "$out/runs/qm9_protocol_homo" --epochs 1000 \
  | tee "$out/projection.txt"
"$python" -m egnn.records "$out/runs/qm9_protocol_homo" --results-dir "$out/results" \
  --experiment qm9_gpu_check | tee "$out/records.txt"

if [[ $dry_run != 1 ]]; then
  common=(trainer=gpu trainer.enable_progress_bar=false "paths.log_dir=$out/runs" num_threads="$OMP_NUM_THREADS")
  # 2. The benchmark on the GPU.
  run_stage benchmark_gpu 150 "$python" -m benchmarks.benchmark --device cuda --threads "$OMP_NUM_THREADS" \
    --runs 50 --scaling 1000,2000,5000,10000 --out "$out/benchmark_gpu.json"
  # 3. N-body EGNN: 10 epochs of 30 steps, validation every 5; graph autoencoder EGNN: 300 steps
  # of one graph (the paper's batch).
  run_stage nbody 60 "$python" train.py experiment=nbody trainer.max_epochs=10 "${common[@]}"
  run_stage ae_community 60 "$python" train.py experiment=ae_community model=ae_egnn trainer.max_epochs=2 \
    trainer.check_val_every_n_epoch=1 trainer.limit_train_batches=150 trainer.limit_val_batches=100 \
    "${common[@]}"
fi
find "$out/runs" -name metrics.json | sort > "$out/metrics_files.txt"
echo "GPU check done in $((SECONDS - start_s)) s: $out (projection: $(cat "$out/projection.txt"))"
