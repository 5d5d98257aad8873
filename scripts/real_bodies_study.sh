#!/usr/bin/env bash
# Do real people's own proportions teach the lifter what the sampled bodies do not?
# (issue 16). The CMU training takes on the bodies of their own performers and on the
# skeletons of two other real training subjects (donors) are added as a fourth source,
# and offline81-v2 is fine-tuned 4 epochs with and without them (the control: the same
# epochs on the v2 mixture, so more training alone is ruled out). Both are evaluated on
# the held-out real people and the synthetic test split. Needs the data of
# scripts/train_real.sh. About 35 min on the 2-core CPU (the two runs side by side,
# one thread each), ~25 min for the scoring measures, ~20 min for the live model. Run from the repository root.
# Results: docs/real-motion/ and README.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
export COACH DATA RUNS

scripts/real_bodies_data.sh

# The v2 lifters as committed when this study ran.
V2_COMMIT=73b5ff9
mkdir -p "$RUNS/v2"
git show "$V2_COMMIT:pose3d/models/offline.pt" > "$RUNS/v2/offline81-v2.pt"
git show "$V2_COMMIT:pose3d/models/default.pt" > "$RUNS/v2/causal81-v2.pt"

common=(--shards "$DATA/shards-real" --init-from "$RUNS/v2/offline81-v2.pt" --no-causal
  --filter-widths 3,3,3,3 --channels 256 --epochs 4 --samples-per-epoch 250000 --lr 3e-4
  --lr-decay 0.92 --seed 0 --threads 1 --resume)
$COACH train "${common[@]}" --extra-shards "$DATA/shards-proc" --extra-shards "$DATA/shards" \
  --source-shares 0.4,0.3,0.3 --out "$RUNS/ft-control" --version ft-control &
$COACH train "${common[@]}" --extra-shards "$DATA/shards-real-extra" \
  --extra-shards "$DATA/shards-proc" --extra-shards "$DATA/shards" \
  --source-shares 0.25,0.15,0.3,0.3 --out "$RUNS/ft-realbodies" --version offline81-v3 &
wait
for model in ft-control ft-realbodies; do
  $COACH evaluate --checkpoint "$RUNS/$model/best.pt" --shards "$DATA/shards-real" \
    --out "$RUNS/eval/$model/real-people"
  $COACH evaluate --checkpoint "$RUNS/$model/best.pt" --shards "$DATA/shards" \
    --out "$RUNS/eval/$model/synthetic"
done

# The scoring on the candidate: the detector learned from offline81-v2's output, so
# bundle the candidate for a moment, measure, and put v2 back (not bundled: see README).
$COACH bundle --checkpoint "$RUNS/ft-realbodies/best.pt" --offline \
  --report "$RUNS/eval/ft-realbodies/real-people" \
  --extra-report "$RUNS/eval/ft-realbodies/synthetic" --command scripts/real_bodies_study.sh
$COACH evaluate-scoring --clips "$DATA/heldout" --out "$RUNS/scoring-eval-v3" --live
$COACH evaluate-scoring-real --root "$DATA/mocap" --out "$RUNS/real-scoring-v3"
git checkout -- pose3d/models

# The live model the same way, bundled as causal81-v3 (its live cues: evaluate-scoring
# --live above, run again after this bundle).
$COACH train --shards "$DATA/shards-real" --init-from "$RUNS/v2/causal81-v2.pt" --causal \
  --filter-widths 3,3,3,3 --channels 256 --epochs 4 --samples-per-epoch 250000 --lr 3e-4 \
  --lr-decay 0.92 --seed 0 --threads 2 --resume --extra-shards "$DATA/shards-real-extra" \
  --extra-shards "$DATA/shards-proc" --extra-shards "$DATA/shards" \
  --source-shares 0.25,0.15,0.3,0.3 --out "$RUNS/causal81-v3" --version causal81-v3
$COACH evaluate --checkpoint "$RUNS/causal81-v3/best.pt" --shards "$DATA/shards-real" \
  --out "$RUNS/eval/causal81-v3/real-people"
$COACH evaluate --checkpoint "$RUNS/causal81-v3/best.pt" --shards "$DATA/shards" \
  --out "$RUNS/eval/causal81-v3/synthetic"
$COACH bundle --checkpoint "$RUNS/causal81-v3/best.pt" \
  --report "$RUNS/eval/causal81-v3/real-people" \
  --extra-report "$RUNS/eval/causal81-v3/synthetic" --command scripts/real_bodies_study.sh
$COACH evaluate-scoring --clips "$DATA/heldout" --out docs/scoring-eval --live
