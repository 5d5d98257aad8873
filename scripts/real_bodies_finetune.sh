#!/usr/bin/env bash
# Fine-tune the non-causal offline81-v2 for 4 epochs with real bodies as a fourth source
# (25% real motion on sampled bodies, 15% real bodies, 30% / 30% simulated: the recipe
# of session 13, scripts/real_bodies_study.sh), then evaluate it, plain and flip-averaged,
# on the held-out real people and the synthetic split ($RUNS/eval/VERSION/{real-people,
# synthetic}). A model with more channels starts from v2 widened
# (pose3d.model.widen_channels). Resumable. Needs scripts/real_bodies_data.sh.
# Usage: scripts/real_bodies_finetune.sh CHANNELS OUT_FOLDER VERSION
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
channels=$1 out=$2 version=$3
V2_COMMIT=73b5ff9  # offline81-v2 as bundled
mkdir -p "$RUNS/v2"
git show "$V2_COMMIT:pose3d/models/offline.pt" > "$RUNS/v2/offline81-v2.pt"

$COACH train --shards "$DATA/shards-real" --init-from "$RUNS/v2/offline81-v2.pt" --no-causal \
  --filter-widths 3,3,3,3 --channels "$channels" --epochs 4 --samples-per-epoch 250000 \
  --lr 3e-4 --lr-decay 0.92 --seed 0 --threads 2 --resume \
  --extra-shards "$DATA/shards-real-extra" --extra-shards "$DATA/shards-proc" \
  --extra-shards "$DATA/shards" --source-shares 0.25,0.15,0.3,0.3 --out "$out" \
  --version "$version"
for split in real-people:shards-real synthetic:shards; do
  $COACH evaluate --checkpoint "$out/best.pt" --shards "$DATA/${split#*:}" \
    --out "$RUNS/eval/$version/${split%%:*}" --flip-test
done
