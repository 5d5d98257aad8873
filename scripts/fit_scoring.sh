#!/usr/bin/env bash
# Refit everything in the scoring that depends on the recordings lifter (issue 16): the
# population model of correct form, the learned detector and its thresholds, then measure
# the held-out clips (lifted and live). Run after bundling a new offline lifter; the knee
# network reads 2D only and is kept. About 1 h on the 2-core CPU (the bundled detector,
# session 17); each training folder's units and the real units are cached in
# $RUNS/detector-units, so a rerun or an added folder costs mostly the ~50-min fit.
# Run from the repository root.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
WORKERS=${WORKERS:-2}

synth() {  # folder, clips, seed, [--exercises ...]
  [ -f "$DATA/$1/manifest.json" ] || \
    $COACH synth --out "$DATA/$1" --clips "$2" --seed "$3" --workers "$WORKERS" "${@:4}"
}
synth validation 180 11                    # calibration check only
synth detector-train 6000 23               # every movement
synth detector-train-legs 8000 29 --exercises squat --exercises lunge  # knee errors
synth heldout 600 7                        # never used to fit anything
# The real exercise takes of the train split join the detector's units (issue 18; HDM05
# is unpacked too but never trained on).
DATA="$DATA" scripts/unpack_mocap.sh

$COACH fit-scoring --validation "$DATA/validation" --training "$DATA/detector-train" \
  --training "$DATA/detector-train-legs" --real-mocap "$DATA/mocap" \
  --units-cache "$RUNS/detector-units"
$COACH evaluate-scoring --clips "$DATA/heldout" --out "$RUNS/scoring-eval" --live
