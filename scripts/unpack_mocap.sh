#!/usr/bin/env bash
# Unpack the real motion-capture archives (../shared/mocap) into $DATA/mocap once: CMU
# (training and evaluation) and HDM05 (evaluation only, CC BY-SA), with their manifest.
# Called by scripts/train_real.sh and scripts/fit_scoring.sh; run from the repository root.
set -euo pipefail
DATA=${DATA:-data}
MOCAP=${MOCAP:-../shared/mocap}
if [ ! -f "$DATA/mocap/MANIFEST.tsv" ]; then
  mkdir -p "$DATA/mocap"
  tar -xJf "$MOCAP/cmu.tar.xz" -C "$DATA/mocap"
  tar -xJf "$MOCAP/hdm05.tar.xz" -C "$DATA/mocap"  # evaluation only (CC BY-SA)
  cp "$MOCAP/MANIFEST.tsv" "$DATA/mocap/"
fi
