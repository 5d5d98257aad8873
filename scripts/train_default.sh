#!/usr/bin/env bash
# Reproduce the bundled models from scratch on a 2-core CPU (about 2.5 hours):
# data -> shards -> causal model (live) + non-causal model (recordings) + per-frame
# baseline -> evaluation -> pose3d/models/ -> the scoring's population model and
# thresholds (calibrated on validation clips; data/heldout is for evaluation only).
# Every step is deterministic in its seed. Run from the repository root: scripts/train_default.sh
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
EPOCHS=${EPOCHS:-20}
SAMPLES=${SAMPLES:-250000}

if [ ! -f "$DATA/shards/summary.json" ]; then
  $COACH dataflow generate-clips --count 600 --output "$DATA/clips" --seed 0
  $COACH dataflow build-shards --input "$DATA/clips/*.clip.npz" --output "$DATA/shards" \
    --cameras-per-clip 4 --num-shards 8 --seed 0 \
    --direct_running_mode multi_processing --direct_num_workers 2
fi
# The product model: causal (live streaming), 81 frames, 256 channels (0.83 M parameters).
$COACH train --shards "$DATA/shards" --out "$RUNS/causal81" --filter-widths 3,3,3,3 \
  --channels 256 --causal --epochs "$EPOCHS" --samples-per-epoch "$SAMPLES" --lr-decay 0.92 \
  --seed 0 --version "causal81-v1"
# Baseline: the same network and recipe with receptive field 1 (per-frame).
$COACH train --shards "$DATA/shards" --out "$RUNS/perframe" --filter-widths 1,1,1,1 \
  --channels 256 --causal --epochs "$EPOCHS" --samples-per-epoch "$SAMPLES" --lr-decay 0.92 \
  --seed 0 --version "perframe-v1"
# Recorded sessions: the same recipe without causality (sees each frame's future too).
$COACH train --shards "$DATA/shards" --out "$RUNS/offline81" --filter-widths 3,3,3,3 \
  --channels 256 --no-causal --epochs "$EPOCHS" --samples-per-epoch "$SAMPLES" --lr-decay 0.92 \
  --seed 0 --version "offline81-v1"
$COACH evaluate --checkpoint "$RUNS/causal81/best.pt" --baseline "$RUNS/perframe/best.pt" \
  --shards "$DATA/shards" --out "$RUNS/report"
$COACH evaluate --checkpoint "$RUNS/offline81/best.pt" --baseline "$RUNS/perframe/best.pt" \
  --shards "$DATA/shards" --out "$RUNS/report-offline"
$COACH bundle --checkpoint "$RUNS/causal81/best.pt" --report "$RUNS/report"
$COACH bundle --offline --checkpoint "$RUNS/offline81/best.pt" --report "$RUNS/report-offline"
# The scoring's population model of correct form (correct sessions lifted by the bundled
# recordings model), its rule thresholds (calibrated on labelled validation clips), and the
# learned per-repetition detector trained on 14,000 labelled clips (8,000 of them squats
# and lunges, whose knee errors are the hardest to see), its thresholds chosen out of fold
# and its figures checked on the validation clips (about 20 minutes; the scored training
# units are kept in runs/detector-units, so a refit of the models alone takes minutes).
$COACH synth --out "$DATA/validation" --clips 180 --seed 11
$COACH synth --out "$DATA/detector-train" --clips 6000 --seed 23 --workers 2
$COACH synth --out "$DATA/detector-train-legs" --clips 8000 --seed 29 \
  --exercises squat --exercises lunge --workers 2
# The knee network (scoring/knee_net.py) reads caving knees and knees past the toes from the
# 2D landmarks; it learns from its own 10,000 squats and lunges (seed 31), never the
# detector's training clips, so the detector sees its outputs as on new sessions.
$COACH synth --out "$DATA/knee-net-train" --clips 10000 --seed 31 \
  --exercises squat --exercises lunge --workers 2
$COACH train-knee-net --clips "$DATA/knee-net-train" --epochs 12
$COACH fit-scoring --validation "$DATA/validation" \
  --training "$DATA/detector-train" --training "$DATA/detector-train-legs" \
  --units-cache "$RUNS/detector-units"
# Held-out clips for `coach evaluate-scoring --clips data/heldout --live` (never fitted on).
$COACH synth --out "$DATA/heldout" --clips 600 --seed 7
