"""``coach evaluate-scoring --live``: the cues the live socket sends, measured.

A recorded session is lifted by the non-causal model and judged as a whole. Live, the
causal model lifts each frame as it arrives, and each finished repetition is judged with
up to ``LIVE_CONTEXT_REPS`` earlier ones (a routine to music: cut on its beat grid), after
the recordings model lifts that stretch again (:class:`LiveSession`). This replays each
held-out clip through the socket's own session object, the phone's MediaPipe frames
pushed in batches of BATCH_FRAMES as JSON (with the music's beat times for a dance,
which the app playing the music knows), and tallies the errors sent with the
repetitions against the labels. The last repetition is never "finished" while the
stream runs (its errors come in the closing summary), so labels after the last reported
repetition are left out.

The session is the socket's own (:class:`scoring.live.LiveSession`), on the models the
API loads, run as the API runs them (one torch thread per call).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from tqdm import tqdm

from lab.clips import film_phone, reference_for
from lab.tallies import ModeResult
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence
from scoring import PopulationModel
from scoring.live import LiveModels, LiveSession
from scoring.reference import Reference
from scoring.report import ErrorEvent
from synthetic_data.clip import Clip
from synthetic_data.detector import Observation

BATCH_FRAMES = 6  # frames per socket message (a phone sends every 0.2 s at 30 fps)
LIVE_MODE = "live cues (per finished repetition, as the socket sends them)"


def live_models(population: PopulationModel | None) -> LiveModels:
    """The models the API's live socket runs: the bundled causal lifter for the stream,
    the recordings lifter to judge finished repetitions. Torch gets one thread, as in the
    API's engine, so the replay computes as the socket does."""
    torch.set_num_threads(1)
    return LiveModels(Lifter.from_checkpoint(), Lifter.for_recordings(), population)


def stream_clip(
    clip: Clip,
    number: int,
    models: LiveModels,
    cache: dict,
    strictness: str,
    reference: Reference | None = None,
    profile: str = "phone-v1",
    seen: Observation | None = None,
) -> tuple[LiveSession, list[dict]]:
    """Stream ``clip``, filmed by the phone (seeded by ``number``, detector noise of
    ``profile``; or ``seen``, when the caller filmed it so already), through a live
    session against ``reference`` (default: the simulator's trainer of the movement), as
    the socket feeds one. Returns the session (not stopped: its summary is still to
    come) and the ``rep`` messages it sent, in order."""
    seen = film_phone(clip, number, profile) if seen is None else seen
    sequence = KeypointSequence(
        "mediapipe33", clip.fps, *seen.image_size, seen.keypoints, seen.scores
    ).to_json()
    frames = sequence.pop("frames")
    sequence["beat_times"] = [float(b) for b in clip.beat_times] or None  # the app plays it
    if reference is None:
        reference = reference_for(clip.movement, cache)[0]
    session = LiveSession(models, reference, sequence, strictness)
    messages = []
    for start in range(0, len(frames), BATCH_FRAMES):
        session.push(frames[start : start + BATCH_FRAMES])
        if session.check_due():
            messages += session.finished_reps()
    return session, messages


def replay_live(
    clip: Clip,
    number: int,
    models: LiveModels,
    cache: dict,
    strictness: str,
    reference: Reference | None = None,
    profile: str = "phone-v1",
    seen: Observation | None = None,
) -> tuple[list[ErrorEvent], float]:
    """:func:`stream_clip`'s distinct errors sent with the finished repetitions, and the
    end (seconds) of the last repetition reported."""
    _, messages = stream_clip(clip, number, models, cache, strictness, reference, profile, seen)
    errors = {
        (e["kind"], e["segment"], e["start_s"], e["end_s"]): e
        for message in messages
        for e in message["errors"]
    }  # an error spanning two repetitions is sent with both
    events = [ErrorEvent(**e) for e in errors.values()]
    return events, max((m["end_s"] for m in messages), default=0.0)


def live_result(
    clips: list[Clip], population: PopulationModel | None, strictness: str
) -> ModeResult:
    """Tallies of the live cues of every clip (labels after the last reported repetition
    left out)."""
    models = live_models(population)
    result = ModeResult()
    cache: dict = {}
    for number, clip in enumerate(tqdm(clips, desc="live replay", leave=False)):
        events, reported_s = replay_live(clip, number, models, cache, strictness)
        result.add_clip(reported_part(clip, reported_s), events, correct=not clip.errors)
    return result


def reported_part(clip: Clip, reported_s: float) -> Clip:
    """``clip`` with its labels cut at ``reported_s``, the end of the last repetition
    reported live: what lies after it comes with the closing summary, not live, so a
    label that starts there is left out and one that runs past it ends there. (Kept whole,
    a label over both squats of a 2-squat take, of which live reports the first, gave a
    found cue half its timing IoU: CMU 14's rounded backs 0.60 live against 0.81
    recorded, 0.88 cut; docs/design-notes.md.)"""
    end = round(reported_s * clip.fps)
    judged = [
        replace(label, end_frame=max(label.start_frame + 1, min(label.end_frame, end)))
        for label in clip.errors
        if label.start_frame / clip.fps < reported_s
    ]
    return replace(clip, errors=judged)
