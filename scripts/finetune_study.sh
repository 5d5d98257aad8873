#!/usr/bin/env bash
# One fine-tuning study of the offline lifter (issue 18): the bundled offline lifter
# fine-tuned 4 epochs on the v2 mixture exactly as the ft-control of
# scripts/real_bodies_study.sh, with the training options given as arguments, then
# measured beside the bundled one: MPJPE and bone drift on the real and synthetic test
# splits, the squats' bottom (CMU 14: training subject; HDM05: held-out people, measured,
# never tuned on) and, with SCORING=1, the real-motion scoring with the bundled detector
# (fitted to the bundled lifter's units: refit it before judging the cues,
# scripts/fit_scoring.sh). Usage: RUN=name scripts/finetune_study.sh [coach train options].
# Needs the shards of scripts/train_real.sh. About 25 min of training on the 2-core CPU.
# Run from the repository root.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
PYTHON=${PYTHON:-.venv/bin/python}
RUN=${RUN:?name the run: RUN=ft-something}
SCORING=${SCORING:-0}

$COACH train --shards "$DATA/shards-real" --init-from pose3d/models/offline.pt --no-causal \
  --filter-widths 3,3,3,3 --channels 256 --epochs 4 --samples-per-epoch 250000 --lr 3e-4 \
  --lr-decay 0.92 --seed 0 --threads 2 --resume \
  --extra-shards "$DATA/shards-proc" --extra-shards "$DATA/shards" --source-shares 0.4,0.3,0.3 \
  --out "$RUNS/$RUN" --version "$RUN" "$@"
for split in real:shards-real synthetic:shards; do
  $COACH evaluate --checkpoint "$RUNS/$RUN/last.pt" --shards "$DATA/${split#*:}" \
    --out "$RUNS/eval/$RUN/${split%%:*}"
  $COACH evaluate --checkpoint pose3d/models/offline.pt --shards "$DATA/${split#*:}" \
    --out "$RUNS/eval/offline81-v2/${split%%:*}"
done
for checkpoint in pose3d/models/offline.pt "$RUNS/$RUN/last.pt"; do
  $PYTHON scripts/lifted_squat_depth.py --checkpoint "$checkpoint" | tail -1
  $PYTHON scripts/lifted_squat_depth.py --checkpoint "$checkpoint" --held-out | tail -1
done
if [ "$SCORING" = 1 ]; then
  for seed in 0 5; do
    $COACH evaluate-scoring-real --root "$DATA/mocap" --checkpoint "$RUNS/$RUN/last.pt" \
      --seed "$seed" --out "$RUNS/eval/$RUN/real-scoring-seed$seed" --no-track
  done
fi
