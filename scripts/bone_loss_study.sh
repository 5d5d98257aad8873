#!/usr/bin/env bash
# Does pricing bone lengths teach the lifter a real deep squat? (issue 18, session 34)
# The bundled offline lifter shortens the thigh of a real deep squat (0.44-0.94 of its
# length at the bottom, scripts/lifted_squat_depth.py) and lifts the bottom at ~90 deg
# of knee flexion for ~150. This fine-tunes it as scripts/finetune_study.sh does, with
# the labelled bones' length error added to MPJPE (--bone-weight 1), and measures it.
# About 25 min on the 2-core CPU. Results: docs/design-notes.md (scoring); not bundled.
set -euo pipefail
RUN=${RUN:-ft-bones} exec "$(dirname "$0")/finetune_study.sh" --bone-weight 1.0
