"""When each repetition happens: tempo, pauses, repeats and rep-to-rep variation.

A :class:`Timeline` gives, for every frame, the phase within the current repetition
(0 = rest), the repetition index (-1 while resting before the first one) and the
per-repetition range multiplier. The trainer does evenly timed, identical repetitions;
users vary tempo (0.6x-1.6x), pause between repetitions and vary from rep to rep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Timeline:
    """Frame-wise timing of a performance.

    Attributes:
        phase: ``(T,)`` position in the current repetition, [0, 1).
        rep: ``(T,)`` repetition index, -1 when not inside a repetition.
        amplitude: ``(T,)`` range multiplier of the current repetition.
        reps: ``[start, end)`` frames of each repetition.
        tempo: Speed factor relative to the movement's nominal period.
        beat_times: Beat instants (s) for movements done to music.
    """

    phase: np.ndarray
    rep: np.ndarray
    amplitude: np.ndarray
    reps: list[tuple[int, int]]
    tempo: float
    beat_times: list[float]


def build_timeline(
    rng: np.random.Generator | None,
    *,
    fps: float,
    period_s: float,
    num_reps: int,
    tempo: float = 1.0,
    lead_in_s: float = 0.5,
    tail_s: float = 0.5,
    pause_probability: float = 0.0,
    rep_jitter: float = 0.0,
    amplitude_jitter: float = 0.0,
    beats: int = 0,
    duration_s: float | None = None,
) -> Timeline:
    """Lay out ``num_reps`` repetitions at ``tempo``.

    With ``rng=None`` (the trainer) every repetition lasts ``period_s / tempo`` exactly
    and has amplitude 1. With ``duration_s`` the clip has exactly that length: reps
    are added until it is filled and the last one may be cut.
    """
    if tempo <= 0 or period_s <= 0 or fps <= 0:
        raise ValueError("tempo, period_s and fps must be positive")
    segments: list[tuple[str, float, float]] = [("rest", lead_in_s, 1.0)]
    count = 0
    total = lead_in_s
    while count < num_reps or (duration_s is not None and total < duration_s):
        if count > 0 and rng is not None and rng.random() < pause_probability:
            pause = float(rng.uniform(0.3, 1.5))
            segments.append(("rest", pause, 1.0))
            total += pause
        jitter = 1.0 if rng is None else float(rng.normal(1.0, rep_jitter))
        duration = period_s / tempo * np.clip(jitter, 0.8, 1.2)
        amplitude = (
            1.0 if rng is None else float(np.clip(rng.normal(1.0, amplitude_jitter), 0.85, 1.1))
        )
        segments.append(("rep", duration, amplitude))
        total += duration
        count += 1
        if duration_s is None and count >= num_reps:
            break
    segments.append(("rest", tail_s, 1.0))
    total += tail_s
    if duration_s is not None:
        total = duration_s
    frames = round(total * fps)
    times = np.arange(frames) / fps
    phase = np.zeros(frames)
    rep = np.full(frames, -1)
    amplitude = np.ones(frames)
    reps = []
    start = 0.0
    index = 0
    for kind, length, amp in segments:
        inside = (times >= start) & (times < start + length)
        if kind == "rep" and inside.any():
            phase[inside] = (times[inside] - start) / length
            rep[inside] = index
            amplitude[inside] = amp
            frame_ids = np.flatnonzero(inside)
            reps.append((int(frame_ids[0]), int(frame_ids[-1]) + 1))
            index += 1
        start += length
    beat_times: list[float] = []
    if beats:
        beat_period = period_s / tempo / beats
        beat_times = list(np.arange(lead_in_s, total, beat_period).round(6))
    return Timeline(phase, rep, amplitude, reps, tempo, beat_times)
