#!/usr/bin/env bash
# What does semi-supervised training on unlabelled real 2D buy on held-out real people?
# (issue 16). Half of the training people (real CMU subjects, and half the simulated
# bodies) keep their 3D; the other half is only filmed 2D. Three runs with the same
# budget, all from the simulator-only offline81-v1 (so no real 3D is known beforehand):
#   half-supervised   the labelled half only
#   half-semi         the labelled half + the unlabelled half with the reprojection and
#                     bone-length losses (after 1 supervised epoch for the trajectory model)
#   all-labelled      every person's 3D (what the missing labels would have bought)
# Then each is evaluated on the held-out real people and the synthetic split, with and
# without test-time flip averaging; then the per-frame baseline on the same mixture and a
# 243-frame receptive field grown from offline81-v2. Needs the data of
# scripts/train_real.sh. About 100 min on the 2-core CPU (the first two runs side by side,
# one thread each). Run from the repository root.
# Results: docs/real-motion/semi-supervised-real.md and README.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
EPOCHS=${EPOCHS:-4}
SAMPLES=${SAMPLES:-200000}

mkdir -p "$RUNS/v1"
git show 990367f:pose3d/models/offline.pt > "$RUNS/v1/offline81-v1.pt"
common=(--shards "$DATA/shards-real" --extra-shards "$DATA/shards-proc"
  --extra-shards "$DATA/shards" --source-shares 0.4,0.3,0.3
  --init-from "$RUNS/v1/offline81-v1.pt" --no-causal --filter-widths 3,3,3,3
  --channels 256 --epochs "$EPOCHS" --samples-per-epoch "$SAMPLES" --lr-decay 0.92
  --seed 0 --threads 1 --resume --no-track)
$COACH train "${common[@]}" --labelled-fraction 0.5 --semi-supervised --warmup-epochs 1 \
  --out "$RUNS/semi-half-semi" --version half-semi &
$COACH train "${common[@]}" --labelled-fraction 0.5 --out "$RUNS/semi-half-supervised" \
  --version half-supervised
$COACH train "${common[@]}" --labelled-fraction 1.0 --out "$RUNS/semi-all-labelled" \
  --version all-labelled
wait
for model in semi-half-supervised semi-half-semi semi-all-labelled; do
  $COACH evaluate --checkpoint "$RUNS/$model/best.pt" --shards "$DATA/shards-real" \
    --out "$RUNS/eval/$model/real-people" --flip-test --no-track
  $COACH evaluate --checkpoint "$RUNS/$model/best.pt" --shards "$DATA/shards" \
    --out "$RUNS/eval/$model/synthetic" --no-track
done
# The semi-supervised run's best checkpoint is its supervised first epoch: its last too.
for data in shards-real shards; do
  $COACH evaluate --checkpoint "$RUNS/semi-half-semi/last.pt" --shards "$DATA/$data" \
    --out "$RUNS/eval/semi-half-semi-last/$data" --no-track
done

# The per-frame baseline on the same mixture (receptive field 1, from scratch; ~17 min
# on one thread), against the bundled recordings model.
$COACH train --shards "$DATA/shards-real" --extra-shards "$DATA/shards-proc" \
  --extra-shards "$DATA/shards" --source-shares 0.4,0.3,0.3 --out "$RUNS/perframe-v2" \
  --filter-widths 1,1,1,1 --channels 256 --no-causal --epochs 32 --samples-per-epoch 250000 \
  --lr-decay 0.92 --seed 0 --threads 1 --version perframe-v2 --resume --no-track
for data in shards-real shards; do
  $COACH evaluate --checkpoint pose3d/models/offline.pt --baseline "$RUNS/perframe-v2/best.pt" \
    --shards "$DATA/$data" --out "$RUNS/eval/perframe-v2/$data" --flip-test --no-track
done

# A 243-frame receptive field: offline81-v2 grown by one block (starting as the identity)
# and fine-tuned with session 13's control recipe (~23 min on 2 threads).
$COACH train --shards "$DATA/shards-real" --extra-shards "$DATA/shards-proc" \
  --extra-shards "$DATA/shards" --source-shares 0.4,0.3,0.3 \
  --init-from pose3d/models/offline.pt --out "$RUNS/offline243-grown" \
  --filter-widths 3,3,3,3,3 --channels 256 --no-causal --epochs 4 --samples-per-epoch 250000 \
  --lr 3e-4 --lr-decay 0.92 --seed 0 --threads 2 --version offline243-grown --resume --no-track
$COACH evaluate --checkpoint "$RUNS/offline243-grown/best.pt" --baseline pose3d/models/offline.pt \
  --shards "$DATA/shards-real" --out "$RUNS/eval/offline243-grown/real-people" --no-track
$COACH evaluate --checkpoint "$RUNS/offline243-grown/best.pt" --shards "$DATA/shards" \
  --out "$RUNS/eval/offline243-grown/synthetic" --no-track
