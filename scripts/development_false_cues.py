"""False cues on correct real squats of the development data, and the shallow squats found
(issue 18).

CMU subject 14's squats (the agreed **train** split; the held-out people are never read
here) as the real evaluation draws them (:data:`lab.development_squats.DRAW_SEEDS`),
scored as the product does (filmed with ``mediapipe-real`` noise, repaired, lifted by
the bundled recordings lifter, the bundled detector and rules, the trainer's take lifted
too: another take of the same squats) and streamed through a live session:

1. The correct views of the four squats joined as HDM05's cuts are
   (:func:`lab.real_exercise.joined_squat_sessions`): one row per view that got a cue,
   and the views cued per kind. The detector learned from CMU 14's 2-squat takes, so its
   own cues here are a floor; the image's rules learned nothing from them.
2. The views with an injected shallow squat, per take (2 squats) and joined: the
   labelled shallow repetitions that got a "sit deeper" cue, product and live (live:
   of those reported before the stream ended; the rest come with the closing summary),
   and the cues on their unlabelled repetitions. A rule that spares cues is checked
   here for what it costs.

    .venv/bin/python scripts/development_false_cues.py
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from lab.clips import film_phone, observe_clip
from lab.development_squats import (
    DRAW_SEEDS,
    add_arguments,
    cmu_squats,
    labelled_reps,
    reps_overlapping,
)
from lab.live_eval import LiveModels, replay_live
from lab.real_exercise import RealSession, joined_squat_sessions
from lab.real_scoring_eval import PROFILE, labelled_clips, lifted_reference
from pose3d.lifter import Lifter
from scoring import score_session
from scoring.observed import PoseSource
from scoring.population import PopulationModel
from scoring.reference import Reference
from scoring.report import ErrorEvent
from synthetic_data.clip import Clip

SHALLOW = "shallow_squat"


class Scorer:
    """The product's and the live session's cues for a development clip."""

    def __init__(self) -> None:
        self.population = PopulationModel.load()
        self.lifter = Lifter.for_recordings()
        self.live = LiveModels(Lifter.from_checkpoint(), self.lifter, self.population)

    def views(
        self, sessions: list[RealSession], keep: Callable[[Clip], bool]
    ) -> Iterator[tuple[int, Clip, list[ErrorEvent], list[ErrorEvent], float, int]]:
        """Each drawn clip of ``sessions`` that ``keep`` takes, with its seed, the product's
        cues, the live cues, the end (s) of the last repetition reported live and the
        repetitions counted; each session's trainer is the next session's take, lifted."""
        for seed in DRAW_SEEDS:
            for number, session in enumerate(sessions):
                other = sessions[(number + 1) % len(sessions)].clip
                trainer = lifted_reference(other, self.lifter, seed)
                for index, clip in enumerate(labelled_clips(session, seed)):
                    if keep(clip):
                        yield seed, clip, *self.cues(clip, seed + index, trainer)

    def cues(
        self, clip: Clip, number: int, trainer: Reference
    ) -> tuple[list[ErrorEvent], list[ErrorEvent], float, int]:
        """The product's cues, the live cues, the end (s) of the last repetition reported
        live and the repetitions counted, for ``clip`` filmed with seed ``number``."""
        seen = film_phone(clip, number, PROFILE)
        observed = observe_clip(clip, number, self.lifter, PROFILE, seen=seen)
        report = score_session(
            observed[PoseSource.LIFTED], trainer, population=self.population, include_ghost=False
        )
        events, reported_s = replay_live(
            clip, number, self.live, {}, "intermediate", trainer, PROFILE, seen
        )
        return report.errors, events, reported_s, report.reps


def cued_reps(clip: Clip, events: list[ErrorEvent], kind: str) -> np.ndarray:
    """``(R,)`` bool: the repetitions of ``clip`` a ``kind`` event overlaps."""
    spans = [(e.start_s * clip.fps, e.end_s * clip.fps) for e in events if e.kind == kind]
    return reps_overlapping(clip, spans)


def false_cues(scorer: Scorer, sessions: list[RealSession]) -> None:
    """Table 1: the joined sessions' correct views that got a cue."""
    views, cued = 0, Counter()
    print("| seed | view | repetitions counted | product cues | live cues |")
    print("|---|---|---|---|---|")
    for seed, clip, product_events, live_events, _, reps in scorer.views(
        sessions, lambda clip: not clip.errors
    ):
        views += 1
        product = sorted({e.kind for e in product_events})
        streamed = sorted({e.kind for e in live_events})
        cued.update(f"product {kind}" for kind in product)
        cued.update(f"live {kind}" for kind in streamed)
        cued.update(path for path, kinds in (("product", product), ("live", streamed)) if kinds)
        if product or streamed:
            row = f"| {seed} | {clip.clip_id} | {reps} | {', '.join(product)} |"
            print(f"{row} {', '.join(streamed)} |")
    print(
        f"\n{views} correct views; views cued: "
        + ", ".join(f"{k} {v}" for k, v in sorted(cued.items()))
    )


def shallow_found(scorer: Scorer, sources: dict[str, list[RealSession]]) -> None:
    """Table 2: the labelled shallow repetitions cued, and the cues on the others."""
    print("\n| sessions | path | shallow repetitions found | cues on unlabelled repetitions |")
    print("|---|---|---|---|")
    for name, sessions in sources.items():
        tally = Counter()
        with_shallow = scorer.views(sessions, lambda clip: labelled_reps(clip, SHALLOW).any())
        for _, clip, product, live, reported_s, _ in with_shallow:
            labelled = labelled_reps(clip, SHALLOW)
            ends_s = np.array([end for _, end in clip.reps]) / clip.fps
            for path, events, judged in (
                ("product", product, np.ones(len(labelled), dtype=bool)),
                ("live", live, ends_s <= reported_s + 0.5),  # the rep's last frames may trail
            ):
                hit = cued_reps(clip, events, SHALLOW)
                tally[f"{path} labelled"] += int((labelled & judged).sum())
                tally[f"{path} found"] += int((hit & labelled & judged).sum())
                tally[f"{path} other"] += int((hit & ~labelled & judged).sum())
        for path in ("product", "live"):
            found, labelled = tally[f"{path} found"], tally[f"{path} labelled"]
            print(f"| {name} | {path} | {found} of {labelled} | {tally[f'{path} other']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    takes = cmu_squats(args.root, args.manifest)
    joined = joined_squat_sessions(takes)
    scorer = Scorer()
    false_cues(scorer, joined)
    shallow_found(scorer, {"2-squat takes": takes, "joined": joined})


if __name__ == "__main__":
    main()
