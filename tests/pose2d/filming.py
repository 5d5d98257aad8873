"""Clips filmed from chosen sides for the front-end tests.

``clips/`` holds two short takes of held-out real people (CMU Graphics Lab motion
capture, free for all uses: a walk of 86 frames and a dance of 131, as
``coach mocap clips`` wrote them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from lab.front_end_eval import centred
from synthetic_data.cameras import body_facing_deg, frame_subject, mean_deg
from synthetic_data.clip import Clip, read_clip
from synthetic_data.detector import MEDIAPIPE_REAL, DetectorNoise, Observation, film
from synthetic_data.generator import ClipRequest, generate_clip

CLIPS = Path(__file__).parent / "clips"
# The real detector's failures without identity switches, swaps several times as often
# (so that a few short clips hold enough of them), and without either.
SWAPPING = replace(MEDIAPIPE_REAL, swap_rate=0.02, identity_switch_probability=0.0)
SWITCHING = replace(MEDIAPIPE_REAL, identity_switch_probability=1.0)
CLEAN = replace(MEDIAPIPE_REAL, swap_rate=0.0, identity_switch_probability=0.0)


def real_clips() -> list[Clip]:
    """The two real takes, centred on the origin."""
    return [centred(read_clip(path)) for path in sorted(CLIPS.glob("*.clip.npz"))]


def synthetic_clips() -> list[Clip]:
    """A simulated squat and dance, 4 s each."""
    return [
        generate_clip(ClipRequest(seed=seed, movement=movement, duration_s=4.0))
        for seed, movement in enumerate(("squat", "dance"))
    ]


def film_from(
    clip: Clip,
    yaw_deg: float,
    seed: int | list[int],
    noise: DetectorNoise = SWAPPING,
    layout: str = "mediapipe33",
) -> Observation:
    """``clip`` filmed by a phone camera about ``yaw_deg`` from the person's mean facing
    (0 in front, 90 on their left, 180 behind), detector noise level 1."""
    rng = np.random.default_rng(seed)
    mean_facing = mean_deg(body_facing_deg(clip.joints))
    camera = frame_subject(
        rng,
        clip.joints,
        subject_height=clip.body.height,
        facing_deg=mean_facing + yaw_deg,
        name="test",
        coverage="anywhere",
        yaw_range_deg=10.0,
    )
    return film(clip, camera, rng, layout=layout, profile=noise)
