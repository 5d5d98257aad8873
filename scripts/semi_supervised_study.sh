#!/usr/bin/env bash
# What semi-supervised training buys when only 10% of the training bodies have 3D labels:
# the same model and budget trained supervised-only on the labelled 10%, and
# semi-supervised (trajectory model + reprojection + bone-length losses on the other 90%).
# Needs the shards of scripts/train_default.sh. About 25 minutes on 2 CPU cores.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
COMMON=(--shards "$DATA/shards" --filter-widths 3,3,3,3 --channels 256 --causal --epochs 6
        --samples-per-epoch 100000 --lr-decay 0.8 --labelled-fraction 0.1 --seed 0)
$COACH train "${COMMON[@]}" --out "$RUNS/sup10" --version sup10
$COACH train "${COMMON[@]}" --out "$RUNS/semi10" --semi-supervised --warmup-epochs 2 --version semi10
$COACH evaluate --checkpoint "$RUNS/semi10/best.pt" --baseline "$RUNS/sup10/best.pt" \
  --shards "$DATA/shards" --out "$RUNS/semi-report"
