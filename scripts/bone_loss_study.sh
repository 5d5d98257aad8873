#!/usr/bin/env bash
# Does pricing bone lengths teach the lifter a real deep squat? (issue 18, session 34)
# The bundled offline lifter shortens the thigh of a real deep squat (0.44-0.94 of its
# length at the bottom, scripts/lifted_squat_depth.py) and lifts the bottom at ~90 deg
# of knee flexion for ~150. This fine-tunes it 4 epochs on the v2 mixture, as the
# ft-control of scripts/real_bodies_study.sh, with the labelled bones' length error
# added to MPJPE (--bone-weight 1), and measures the lift's bone drift, MPJPE and the
# squats' bottom. Needs the shards of scripts/train_real.sh. About 25 min of training on
# the 2-core CPU. Run from the repository root. Results: docs/design-notes.md (scoring);
# not bundled.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
PYTHON=${PYTHON:-.venv/bin/python}

$COACH train --shards "$DATA/shards-real" --init-from pose3d/models/offline.pt --no-causal \
  --filter-widths 3,3,3,3 --channels 256 --epochs 4 --samples-per-epoch 250000 --lr 3e-4 \
  --lr-decay 0.92 --seed 0 --threads 2 --resume \
  --extra-shards "$DATA/shards-proc" --extra-shards "$DATA/shards" --source-shares 0.4,0.3,0.3 \
  --out "$RUNS/ft-bones" --version ft-bones --bone-weight 1.0
for split in real:shards-real synthetic:shards; do
  $COACH evaluate --checkpoint "$RUNS/ft-bones/last.pt" --shards "$DATA/${split#*:}" \
    --out "$RUNS/eval/ft-bones/${split%%:*}"
  $COACH evaluate --checkpoint pose3d/models/offline.pt --shards "$DATA/${split#*:}" \
    --out "$RUNS/eval/offline81-v2/${split%%:*}"
done
for checkpoint in pose3d/models/offline.pt "$RUNS/ft-bones/last.pt"; do
  $PYTHON scripts/lifted_squat_depth.py --checkpoint "$checkpoint" | tail -1
  $PYTHON scripts/lifted_squat_depth.py --checkpoint "$checkpoint" --held-out | tail -1
done
