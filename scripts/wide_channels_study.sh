#!/usr/bin/env bash
# Do more channels pay for real motion? (issue 16). offline81-v2 widened from 256 to 384
# channels (pose3d.model.widen_channels: it first lifts exactly as v2) and fine-tuned with
# offline81-v3's recipe (scripts/real_bodies_finetune.sh), so the only difference from
# offline81-v3 is the width. 384 channels is 1.83 M parameters, inside the phone budget
# (<= 2 M), so a causal twin could ship live. About 20 min on the 2-core CPU. Run from
# the repository root. Results: docs/real-motion/ and README.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
export COACH DATA RUNS

scripts/real_bodies_data.sh
scripts/real_bodies_finetune.sh 384 "$RUNS/offline81-wide384" offline81-wide384
