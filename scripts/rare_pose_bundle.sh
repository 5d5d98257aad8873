#!/usr/bin/env bash
# The rare-posture recordings-lifter candidate with its scoring refitted (issue 18,
# session 37): offline81-v2 fine-tuned 4 epochs with rare postures drawn more often
# (scripts/rare_pose_study.sh with its defaults; no scoring with the old detector),
# bundled as the recordings lifter (no test-time flip, as measured), everything in the
# scoring that reads its output refitted (scripts/fit_scoring.sh, which also measures the
# simulated held-out clips), then the real-motion scoring on two draws ($RUNS/real-scoring-
# eval-seed0, -seed5). It leaves the candidate bundled: `git checkout -- pose3d/models
# scoring/models` puts the committed models back. Results: docs/design-notes.md (scoring).
# Needs the data of scripts/train_real.sh. About 2.5 h on a quick 2-core host (session 37:
# fine-tuning 12 min, the scoring's refit 95 min, the evaluations the rest). Run from the
# repository root.
set -euo pipefail
COACH=${COACH:-.venv/bin/coach}
DATA=${DATA:-data}
RUNS=${RUNS:-runs}
RUN=${RUN:-ft-rare-limbs-0.5}
export COACH DATA RUNS

RUN="$RUN" SCORING=0 scripts/rare_pose_study.sh
$COACH bundle --checkpoint "$RUNS/$RUN/last.pt" --offline \
  --report "$RUNS/eval/$RUN/real" --extra-report "$RUNS/eval/$RUN/synthetic" \
  --command scripts/rare_pose_bundle.sh

scripts/fit_scoring.sh   # -> $RUNS/scoring-eval, $RUNS/scoring-eval-style
for seed in 0 5; do
  $COACH evaluate-scoring-real --root "$DATA/mocap" --seed "$seed" --live \
    --out "$RUNS/real-scoring-eval-seed$seed"
done
