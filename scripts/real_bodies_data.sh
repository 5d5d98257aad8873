#!/usr/bin/env bash
# The real-bodies training source (issue 16): each CMU training take on its performer's
# own body and on two other real training subjects' skeletons (--real-body
# --donor-variants 2), filmed from anywhere around the person with real MediaPipe's
# failure modes. Skips what exists. Needs the data of scripts/train_real.sh. A few
# minutes on the 2-core CPU. Run from the repository root.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
FILMING=(--camera-coverage anywhere --noise-profile mediapipe-real --partial-framing)

[ -f "$DATA/real-clips-extra/summary.json" ] || \
  $COACH mocap clips --root "$DATA/mocap" --manifest "$DATA/mocap/MANIFEST.tsv" \
    --out "$DATA/real-clips-extra" --split train --variants 0 --donor-variants 2 \
    --real-body --seed 1
[ -f "$DATA/shards-real-extra/summary.json" ] || \
  $COACH dataflow build-shards --input "$DATA/real-clips-extra/*.clip.npz" \
    --output "$DATA/shards-real-extra" --cameras-per-clip 4 --num-shards 8 --seed 1 \
    "${FILMING[@]}" --direct_running_mode multi_processing --direct_num_workers 2
