#!/usr/bin/env bash
# Does drawing rare postures more often teach the lifter a real deep squat? (issue 18,
# session 35) A knee bent past 120 deg is 0.6% of the real training frames, and the
# bundled offline lifter lifts a real deep squat's bottom at ~90-100 deg of knee flexion
# for ~150-160 (scripts/lifted_squat_depth.py). This fine-tunes it as
# scripts/finetune_study.sh does, with frames drawn by count(posture bin)^-0.5 within
# each source, the bins cut on the knees, hips and upper arms (such squats ~7x as
# often), and measures it, real-motion scoring included. The variants of the design
# notes: POSTURE=legs, and POSTURE=legs POWER=1.0; SCORING=0 leaves out the scoring with
# the bundled detector (scripts/rare_pose_bundle.sh refits it). About 35 min on the 2-core CPU.
# Results: docs/design-notes.md (scoring).
set -euo pipefail
POWER=${POWER:-0.5}
POSTURE=${POSTURE:-limbs}
RUN=${RUN:-ft-rare-$POSTURE-$POWER} SCORING=${SCORING:-1} exec "$(dirname "$0")/finetune_study.sh" \
  --rare-pose-power "$POWER" --rare-posture "$POSTURE"
