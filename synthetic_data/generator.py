"""Generate clips: a body performs a movement, maybe with form errors, filmed by phones.

Everything is drawn from one ``numpy`` generator seeded by the clip's seed, so a seed
always gives the same clip (and the same file bytes). The trainer's reference
performance uses the average body at tempo 1 with evenly timed repetitions.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from synthetic_data.body import BodyParams, rest_offsets
from synthetic_data.cameras import Coverage, frame_subject
from synthetic_data.clip import Clip, ErrorLabel
from synthetic_data.errors import ERROR_KINDS, ErrorPlan, envelope, labels_from_change
from synthetic_data.kinematics import forward_kinematics
from synthetic_data.movements import DANCE_MOVES, Controls, Movement, get_movement
from synthetic_data.style import stance_offsets, style_offsets
from synthetic_data.timeline import Timeline, build_timeline

GENERATOR_NAME = "coach-synth"
GENERATOR_VERSION = "1.1.0"  # 1.1: arm errors act after the flexibility limit
_LINEAR_DOFS = ("root_x", "root_z", "root_lift")  # metres; compared in centimetres
STYLE_STREAM = 13  # the posture style's own random stream, apart from the clip's draws
STANCE_STREAM = 17  # the stance's (toes out), apart from both


@dataclass
class ClipRequest:
    """What to generate. ``None`` fields are drawn at random from the seed.

    Attributes:
        seed: Seeds everything else.
        movement: Movement name.
        role: ``"user"`` (varied) or ``"trainer"`` (reference performance).
        fps: Frame rate.
        duration_s: Fixed clip length (reps fill it), or ``None`` for whole reps.
        num_reps: Repetitions (routine passes for the dance).
        num_cameras: Phone cameras to place.
        tempo: Speed relative to the trainer.
        body: The performer; by default drawn from ``body_seed``.
        body_seed: Seed of the body (clips sharing it share a person).
        errors: Errors to inject; ``None`` draws them with ``error_rate``.
        error_rate: Probability that a user clip has errors.
        facing_deg: Direction the person faces.
        deep_squat: A squat's deep style, 0..1 (``Controls.deep_style``); 0 keeps the
            original squat (and every seed's clip as it was).
        style_variation: How much a user's correct posture differs from the trainer's,
            0..2 (:mod:`synthetic_data.style`: 1 is its spreads between people); drawn
            from the seed apart from the clip's other draws, so 0 keeps every seed's
            clip as it was and any value keeps its timing, errors and cameras.
        stance_variation: How far a user turns the toes out (with the knees over them),
            0..2 (:func:`synthetic_data.style.stance_offsets`: 1 draws 10-45 deg for a
            squat); drawn from a stream of its own like ``style_variation``, so 0 keeps
            every seed's clip as it was.
        camera_coverage: Where the phone cameras stand: ``"front"`` (within 60 deg of
            the person's facing, the draws every earlier clip was made with) or
            ``"anywhere"`` (all around them, as real users film). The cameras are drawn
            after the motion, so a seed's motion, errors and labels are the same under
            either; only the filming differs.
    """

    seed: int
    movement: str
    role: str = "user"
    fps: float = 30.0
    duration_s: float | None = None
    num_reps: int | None = None
    num_cameras: int = 1
    tempo: float | None = None
    body: BodyParams | None = None
    body_seed: int | None = None
    errors: list[ErrorPlan] | None = None
    error_rate: float = 0.6
    facing_deg: float | None = None
    deep_squat: float = 0.0
    style_variation: float = 0.0
    stance_variation: float = 0.0
    camera_coverage: Coverage = "front"
    extra: dict = field(default_factory=dict)


def error_windows(movement: Movement, timeline: Timeline) -> list[tuple[int, int]]:
    """Frame windows an error can span: repetitions, or single moves of the dance."""
    if movement.name != "dance":
        return timeline.reps
    windows = []
    for start, end in timeline.reps:
        bounds = np.linspace(start, end, len(DANCE_MOVES) + 1).round().astype(int)
        windows += [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]
    return windows


def draw_errors(
    rng: np.random.Generator, movement: Movement, windows: int, rate: float
) -> list[ErrorPlan]:
    """Random error plans: 0, 1 or 2 kinds, each over 1-3 consecutive windows."""
    if windows == 0 or rng.random() >= rate:
        return []
    count = 1 if rng.random() < 0.7 or len(movement.error_kinds) == 1 else 2
    kinds = rng.choice(movement.error_kinds, size=count, replace=False)
    plans = []
    for kind in kinds:
        first = int(rng.integers(windows))
        last = min(windows - 1, first + int(rng.integers(0, 3)))
        side = str(rng.choice(ERROR_KINDS[kind].segments))
        plans.append(ErrorPlan(str(kind), float(rng.uniform(0.2, 1.0)), side, first, last))
    return plans


def _pose(movement, body, timeline, plans, windows, apply, deep_style=0.0):
    """DOFs of the performance with the plans whose index is in ``apply``."""
    controls = Controls.neutral(timeline.phase.copy())
    controls.amplitude = timeline.amplitude.copy()
    controls.deep_style = deep_style
    frames = len(timeline.phase)
    envelopes = [envelope(frames, windows, p.first_rep, p.last_rep) for p in plans]
    for i, plan in enumerate(plans):
        kind = ERROR_KINDS[plan.kind]
        if i in apply and kind.adjust_controls:
            kind.adjust_controls(
                controls, envelopes[i], plan.severity, plan.side, period_frames=frames
            )
    pose = movement.pose(body, controls)
    for i, plan in enumerate(plans):
        kind = ERROR_KINDS[plan.kind]
        if i in apply and kind.adjust_pose:
            kind.adjust_pose(pose, envelopes[i], plan.severity, plan.side, phase=controls.phase)
    return pose


def _dof_change(a: dict, b: dict) -> np.ndarray:
    """Largest absolute DOF difference per frame (degrees; linear DOFs in cm)."""
    change = np.zeros_like(next(iter(a.values())))
    for name, values in a.items():
        scale = 100.0 if name in _LINEAR_DOFS else 1.0
        change = np.maximum(change, np.abs(values - b[name]) * scale)
    return change


def generate_clip(request: ClipRequest) -> Clip:
    """Generate one clip as described by ``request`` (deterministic in its seed)."""
    movement = get_movement(request.movement)
    rng = np.random.default_rng(request.seed)
    trainer = request.role == "trainer"
    if request.role not in ("trainer", "user"):
        raise ValueError(f"role must be 'trainer' or 'user', got {request.role!r}")
    if request.body is not None:
        body = request.body
    elif trainer:
        body = BodyParams.average()
    else:
        body_seed = request.seed if request.body_seed is None else request.body_seed
        body = BodyParams.sample(np.random.default_rng([body_seed, 7]), f"body-{body_seed:06d}")
    dance = movement.beats > 0
    if request.tempo is not None:
        tempo = request.tempo
    elif trainer:
        tempo = 1.0
    else:
        tempo = float(rng.uniform(0.75, 1.25) if dance else rng.uniform(0.6, 1.6))
    default_reps = (
        (2 if dance else 3) if trainer else int(rng.integers(1, 3) if dance else rng.integers(3, 7))
    )
    timeline = build_timeline(
        None if trainer else rng,
        fps=request.fps,
        period_s=movement.period_s,
        num_reps=request.num_reps or default_reps,
        tempo=tempo,
        lead_in_s=0.5 if trainer else float(rng.uniform(0.3, 1.5)),
        pause_probability=0.0 if dance else 0.3,
        rep_jitter=0.0 if dance else 0.06,
        amplitude_jitter=0.04,
        beats=movement.beats,
        duration_s=request.duration_s,
    )
    windows = error_windows(movement, timeline)
    if request.errors is not None:
        plans = list(request.errors)
    elif trainer:
        plans = []
    else:
        plans = draw_errors(rng, movement, len(windows), request.error_rate)
    for plan in plans:
        if plan.kind not in movement.error_kinds:
            raise ValueError(f"error {plan.kind!r} cannot be injected into {movement.name}")
        if not 0 <= plan.first_rep <= plan.last_rep < len(windows):
            raise ValueError(f"error {plan.kind!r} targets windows outside 0..{len(windows) - 1}")

    if not 0.0 <= request.deep_squat <= 1.0:
        raise ValueError(f"deep_squat must be in [0, 1], got {request.deep_squat}")
    style = request.deep_squat if movement.name == "squat" else 0.0
    if not 0.0 <= request.style_variation <= 2.0:
        raise ValueError(f"style_variation must be in [0, 2], got {request.style_variation}")
    posture = style_offsets(
        np.random.default_rng([request.seed, STYLE_STREAM]),
        movement,
        timeline,
        0.0 if trainer else request.style_variation,
    )
    if not 0.0 <= request.stance_variation <= 2.0:
        raise ValueError(f"stance_variation must be in [0, 2], got {request.stance_variation}")
    stance = stance_offsets(
        np.random.default_rng([request.seed, STANCE_STREAM]),
        movement,
        len(timeline.phase),
        0.0 if trainer else request.stance_variation,
    )
    clean = _pose(movement, body, timeline, plans, windows, set(), style)
    labels: list[ErrorLabel] = []
    for i, plan in enumerate(plans):
        alone = _pose(movement, body, timeline, plans, windows, {i}, style)
        labels += labels_from_change(plan, _dof_change(alone, clean))
    final = _pose(movement, body, timeline, plans, windows, set(range(len(plans))), style)
    # The person's own posture joins the final performance only: the labels above compare
    # poses without it, and an offset added to both sides of a difference cancels.
    for name, offset in (*posture.items(), *stance.items()):
        final[name] = final[name] + offset
    facing = 0.0 if trainer else float(rng.uniform(-180, 180))
    if request.facing_deg is not None:
        facing = request.facing_deg
    final["root_yaw"] = final["root_yaw"] + facing
    joints = forward_kinematics(rest_offsets(body), final, movement.planted_feet)
    cameras = [
        frame_subject(
            rng,
            joints,
            subject_height=body.height,
            facing_deg=facing,
            name=f"cam{i}",
            coverage=request.camera_coverage,
        )
        for i in range(request.num_cameras)
    ]
    clip_id = f"{movement.name}-{request.role}-{request.seed:09d}"
    generator = {"name": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": request.seed}
    if posture:  # recorded only when used: every other clip's file stays as it was
        generator["style_variation"] = request.style_variation
    if stance:
        generator["stance_variation"] = request.stance_variation
    if request.camera_coverage != "front":
        generator["camera_coverage"] = request.camera_coverage
    return Clip(
        clip_id=clip_id,
        fps=request.fps,
        joints=joints.astype(np.float32),
        body=body,
        cameras=cameras,
        movement=movement.name,
        tempo=round(tempo, 6),
        errors=sorted(labels, key=lambda e: (e.start_frame, e.kind, e.segment)),
        role=request.role,
        generator=generator,
        reps=timeline.reps,
        beat_times=timeline.beat_times,
    )


def trainer_clip(movement: str, *, fps: float = 30.0, num_cameras: int = 1) -> Clip:
    """The trainer's reference performance of ``movement``."""
    return generate_clip(
        ClipRequest(seed=0, movement=movement, role="trainer", fps=fps, num_cameras=num_cameras)
    )
