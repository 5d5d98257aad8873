#!/usr/bin/env bash
# Lifters that hold up on real people (issue 16): real motion capture (../shared/mocap,
# CMU training subjects retargeted onto simulated bodies) mixed with the procedural clips,
# both filmed by cameras all around the person with MediaPipe-like noise; then evaluated
# on held-out real people (CMU test subjects and HDM05) and on the synthetic test split.
# About 25 min per 81-frame model on the 2-core CPU. Run from the repository root.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
EPOCHS=${EPOCHS:-20}
SAMPLES=${SAMPLES:-250000}
MOCAP=${MOCAP:-../shared/mocap}
FILMING=(--camera-coverage anywhere --noise-profile mediapipe-real --partial-framing)

if [ ! -f "$DATA/mocap/MANIFEST.tsv" ]; then
  mkdir -p "$DATA/mocap"
  tar -xJf "$MOCAP/cmu.tar.xz" -C "$DATA/mocap"
  tar -xJf "$MOCAP/hdm05.tar.xz" -C "$DATA/mocap"  # evaluation only (CC BY-SA)
  cp "$MOCAP/MANIFEST.tsv" "$DATA/mocap/"
fi
[ -f "$DATA/real-clips/summary.json" ] || \
  $COACH mocap clips --root "$DATA/mocap" --manifest "$DATA/mocap/MANIFEST.tsv" \
    --out "$DATA/real-clips" --variants 4 --seed 0
[ -f "$DATA/clips/manifest.json" ] || \
  $COACH dataflow generate-clips --count 600 --output "$DATA/clips" --seed 0
[ -f "$DATA/shards-real/summary.json" ] || \
  $COACH dataflow build-shards --input "$DATA/real-clips/*.clip.npz" \
    --output "$DATA/shards-real" --cameras-per-clip 4 --num-shards 8 --seed 0 "${FILMING[@]}"
[ -f "$DATA/shards-proc/summary.json" ] || \
  $COACH dataflow build-shards --input "$DATA/clips/*.clip.npz" \
    --output "$DATA/shards-proc" --cameras-per-clip 4 --num-shards 8 --seed 0 "${FILMING[@]}"
# The seed's synthetic test split (front cameras, phone-v1 noise): the no-regression check.
[ -f "$DATA/shards/summary.json" ] || \
  $COACH dataflow build-shards --input "$DATA/clips/*.clip.npz" --output "$DATA/shards" \
    --cameras-per-clip 4 --num-shards 8 --seed 0

# Validation (model selection) is on the real validation subjects (CMU 16, 135).
# v2 recipe: start from the bundled simulator-trained lifter of the same architecture and
# train on three sources in fixed shares per batch: real motion (all around, real-like
# noise) 40%, procedural clips filmed the same way 30%, and the seed's front cameras with
# phone-v1 noise 30% (so the simulator's own split does not regress).
train() {  # run folder, filter widths, causal flag, version, starting checkpoint
  $COACH train --shards "$DATA/shards-real" --extra-shards "$DATA/shards-proc" \
    --extra-shards "$DATA/shards" --source-shares 0.4,0.3,0.3 --init-from "$5" \
    --out "$RUNS/$1" --filter-widths "$2" --channels 256 "$3" --epochs "$EPOCHS" \
    --samples-per-epoch "$SAMPLES" --lr-decay 0.92 --seed 0 --version "$4" --resume
}
# The v1 lifters (simulator only) as committed before v2 replaced them.
V1_COMMIT=990367f
mkdir -p "$RUNS/v1"
git show "$V1_COMMIT:pose3d/models/offline.pt" > "$RUNS/v1/offline81-v1.pt"
git show "$V1_COMMIT:pose3d/models/default.pt" > "$RUNS/v1/causal81-v1.pt"
train real-offline81-v2 3,3,3,3 --no-causal offline81-v2 "$RUNS/v1/offline81-v1.pt"
train real-causal81-v2 3,3,3,3 --causal causal81-v2 "$RUNS/v1/causal81-v1.pt"

for model in real-offline81-v2 real-causal81-v2; do
  $COACH evaluate --checkpoint "$RUNS/$model/best.pt" --shards "$DATA/shards-real" \
    --out "$RUNS/eval-real/$model"
  $COACH evaluate --checkpoint "$RUNS/$model/best.pt" --shards "$DATA/shards" \
    --out "$RUNS/eval-synth/$model"
done
