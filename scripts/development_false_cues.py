"""False cues on correct real squats of the development data (issue 18).

CMU subject 14's four squats joined into 4-squat sessions as HDM05's cuts are
(:func:`lab.development_squats.real_draws`' joined source; train split, the held-out
people are never read here), the correct views of the real evaluation's draws, scored as
the product does (filmed with ``mediapipe-real`` noise, repaired, lifted by the bundled
recordings lifter, the bundled detector and rules, the trainer's take lifted too: the
other order of the same squats) and streamed through a live session. Prints one row per
view that got a cue and the count of views cued per kind. The detector learned from
CMU 14's 2-squat takes, so its own cues here are a floor; the image's rules learned
nothing from them.

    .venv/bin/python scripts/development_false_cues.py
"""

from __future__ import annotations

import argparse
from collections import Counter

from lab.clips import film_phone, observe_clip
from lab.development_squats import DRAW_SEEDS, add_arguments, cmu_squats
from lab.live_eval import LiveModels, replay_live
from lab.real_exercise import joined_squat_sessions
from lab.real_scoring_eval import PROFILE, labelled_clips, lifted_reference
from pose3d.lifter import Lifter
from scoring import score_session
from scoring.observed import PoseSource
from scoring.population import PopulationModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    sessions = joined_squat_sessions(cmu_squats(args.root, args.manifest))
    population = PopulationModel.load()
    lifter = Lifter.for_recordings()
    live = LiveModels(Lifter.from_checkpoint(), lifter, population)
    views, cued = 0, Counter()
    print("| seed | view | repetitions counted | product cues | live cues |")
    print("|---|---|---|---|---|")
    for seed in DRAW_SEEDS:
        for number, session in enumerate(sessions):
            trainer = lifted_reference(sessions[1 - number].clip, lifter, seed)
            for index, clip in enumerate(labelled_clips(session, seed)):
                if clip.errors:
                    continue
                views += 1
                seen = film_phone(clip, seed + index, PROFILE)
                observed = observe_clip(clip, seed + index, lifter, PROFILE, seen=seen)
                report = score_session(
                    observed[PoseSource.LIFTED], trainer, population=population, include_ghost=False
                )
                events, _ = replay_live(
                    clip, seed + index, live, {}, "intermediate", trainer, PROFILE, seen
                )
                product = sorted({e.kind for e in report.errors})
                streamed = sorted({e.kind for e in events})
                cued.update(f"product {kind}" for kind in product)
                cued.update(f"live {kind}" for kind in streamed)
                cued.update(
                    path for path, kinds in (("product", product), ("live", streamed)) if kinds
                )
                if product or streamed:
                    row = f"| {seed} | {clip.clip_id} | {report.reps} | {', '.join(product)} |"
                    print(f"{row} {', '.join(streamed)} |")
    print(
        f"\n{views} correct views; views cued: "
        + ", ".join(f"{k} {v}" for k, v in sorted(cued.items()))
    )


if __name__ == "__main__":
    main()
