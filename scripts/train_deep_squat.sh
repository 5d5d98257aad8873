#!/usr/bin/env bash
# The recordings lifter taught deep squats (issue 18): the v2 offline lifter (from
# scripts/train_real.sh) lifted real deep squats (knees bent 130-165 deg) as if the person
# barely bent (26-74 deg from the front, even from exact 2D), because neither the
# simulator's squats (<= ~120 deg) nor the real training subjects went that deep. This
# fine-tunes it for a few epochs on the same three sources plus simulated deep squats
# (generator style deep_squat 0.5-1), filmed all around with real-like noise; model
# selection stays on the real validation subjects. About 25 min on the 2-core CPU after
# train_real.sh's data exist. Run from the repository root.
# Measured (session 9, not bundled): real validation 99.7 -> 98.2 mm, but held-out real
# people 129.5 -> 131.0 mm and the synthetic test split 33.6 -> 35.4 mm; on the HDM05
# squats the lifted knee flexion at the bottom moved only from 90 to 98 deg (real: 149),
# while simulated deep squats lift within 9-17 deg: the real deep squat differs from the
# simulated one in more than its ranges (docs/design-notes.md, scoring).
# Its effect on scoring: coach evaluate-scoring-real --checkpoint runs/$RUN/best.pt
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
EPOCHS=${EPOCHS:-4}
SAMPLES=${SAMPLES:-250000}
RUN=real-offline81-v3
FILMING=(--camera-coverage anywhere --noise-profile mediapipe-real --partial-framing)

[ -f "$DATA/clips-deep/manifest.json" ] || \
  $COACH dataflow generate-clips --count 300 --exercises squat --deep-squat-share 1.0 \
    --output "$DATA/clips-deep" --seed 7
[ -f "$DATA/shards-deep/summary.json" ] || \
  $COACH dataflow build-shards --input "$DATA/clips-deep/*.clip.npz" \
    --output "$DATA/shards-deep" --cameras-per-clip 4 --num-shards 4 --seed 0 "${FILMING[@]}"

$COACH train --shards "$DATA/shards-real" --extra-shards "$DATA/shards-proc" \
  --extra-shards "$DATA/shards" --extra-shards "$DATA/shards-deep" \
  --source-shares 0.35,0.25,0.25,0.15 --init-from pose3d/models/offline.pt \
  --out "$RUNS/$RUN" --filter-widths 3,3,3,3 --channels 256 --no-causal --epochs "$EPOCHS" \
  --samples-per-epoch "$SAMPLES" --lr 0.0003 --lr-decay 0.92 --warmup-epochs 0 --seed 0 \
  --version offline81-v3 --resume

$COACH evaluate --checkpoint "$RUNS/$RUN/best.pt" --shards "$DATA/shards-real" \
  --out "$RUNS/eval/$RUN/real-people"
$COACH evaluate --checkpoint "$RUNS/$RUN/best.pt" --shards "$DATA/shards" \
  --out "$RUNS/eval/$RUN/synthetic"
# Bundle it only if it holds up against offline81-v2 on both (see docs/real-scoring-eval):
# $COACH bundle --checkpoint "$RUNS/$RUN/best.pt" --report "$RUNS/eval/$RUN/real-people" \
#   --extra-report "$RUNS/eval/$RUN/synthetic" --command scripts/train_deep_squat.sh --offline
