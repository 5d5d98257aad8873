"""The simulated body: a 28-joint skeleton, its proportions and its flexibility.

Body frame: x to the person's left, y up, z forward (the way they face), metres. The
rest pose stands upright with the arms hanging at the sides. Every bone is a fixed
offset from its parent joint, scaled by the person's height and proportions, so bone
lengths stay constant whatever the joint angles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from pose3d.skeleton import Layout

BODY_JOINT_NAMES = (
    "pelvis", "spine", "thorax", "neck_top", "head_top", "nose", "left_eye", "right_eye",
    "left_ear", "right_ear", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee",
    "left_ankle", "left_heel", "left_toe", "right_hip", "right_knee", "right_ankle",
    "right_heel", "right_toe",
)  # fmt: skip
BODY_PARENTS = (
    -1, 0, 1, 2, 3, 3, 3, 3, 3, 3, 2, 10, 11, 12, 2, 14, 15, 16, 0, 18, 19, 20, 20, 0, 23, 24,
    25, 25,
)  # fmt: skip

BODY28 = Layout(
    name="body28",
    joint_names=BODY_JOINT_NAMES,
    left=(6, 8, 10, 11, 12, 13, 18, 19, 20, 21, 22),
    right=(7, 9, 14, 15, 16, 17, 23, 24, 25, 26, 27),
    bones=tuple((p, c) for c, p in enumerate(BODY_PARENTS) if p >= 0),
    parents=BODY_PARENTS,
    segments={
        "spine": (0, 1, 2),
        "head": (3, 4, 5, 6, 7, 8, 9),
        "left_arm": (10, 11, 12, 13),
        "right_arm": (14, 15, 16, 17),
        "left_leg": (18, 19, 20, 21, 22),
        "right_leg": (23, 24, 25, 26, 27),
    },
)
J = {name: i for i, name in enumerate(BODY_JOINT_NAMES)}

# Rest offsets from the parent joint as fractions of standing height (x left, y up,
# z forward), after anthropometric tables (Drillis & Contini). Left side; the right
# side mirrors x. Groups say which proportion factor scales each bone.
_REST_FRACTIONS: dict[str, tuple[tuple[float, float, float], str]] = {
    "spine": ((0.0, 0.10, -0.005), "torso"),
    "thorax": ((0.0, 0.16, 0.0), "torso"),
    "neck_top": ((0.0, 0.07, 0.01), "head"),
    "head_top": ((0.0, 0.11, -0.01), "head"),
    "nose": ((0.0, 0.04, 0.055), "head"),
    "left_eye": ((0.018, 0.065, 0.045), "head"),
    "left_ear": ((0.045, 0.05, -0.005), "head"),
    "left_shoulder": ((0.129, -0.01, 0.0), "shoulders"),
    "left_elbow": ((0.0, -0.186, 0.0), "arms"),
    "left_wrist": ((0.0, -0.146, 0.0), "arms"),
    "left_hand": ((0.0, -0.06, 0.0), "arms"),
    "left_hip": ((0.06, -0.03, 0.0), "hips"),
    "left_knee": ((0.0, -0.245, 0.0), "legs"),
    "left_ankle": ((0.0, -0.245, 0.0), "legs"),
    "left_heel": ((0.0, -0.04, -0.05), "feet"),
    "left_toe": ((0.0, -0.04, 0.11), "feet"),
}


@dataclass(frozen=True)
class Flexibility:
    """Each person's range of motion, degrees. Movements never exceed these."""

    hip_flexion: float = 120.0
    knee_flexion: float = 140.0
    ankle_dorsiflexion: float = 35.0
    shoulder_flexion: float = 175.0
    shoulder_abduction: float = 175.0
    spine_flexion: float = 45.0

    @classmethod
    def sample(cls, rng: np.random.Generator, overall: float) -> Flexibility:
        """Scale each range by ``overall`` (0.5 stiff .. 1.2 supple) with joint-wise noise."""

        def pick(base: float, low: float, high: float) -> float:
            value = base * overall * rng.normal(1.0, 0.05)
            return float(np.clip(value, low, high))

        return cls(
            hip_flexion=pick(120, 75, 140),
            knee_flexion=pick(140, 100, 155),
            ankle_dorsiflexion=pick(35, 15, 45),
            shoulder_flexion=pick(175, 140, 185),
            shoulder_abduction=pick(175, 140, 185),
            spine_flexion=pick(45, 20, 60),
        )


@dataclass(frozen=True)
class BodyParams:
    """A person: height, sex-like build, per-segment proportions and flexibility.

    Attributes:
        height: Standing height, head top to floor (metres).
        build: ``"female"`` or ``"male"``-like proportions (hip vs shoulder width).
        proportions: Scale factor per bone group (1.0 = table average).
        flexibility: Range of motion.
        body_id: Identifier used to split data by subject.
    """

    height: float
    build: str
    proportions: dict[str, float]
    flexibility: Flexibility
    body_id: str = "body"
    flexibility_overall: float = 1.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BodyParams:
        data = dict(data)
        data["flexibility"] = Flexibility(**data["flexibility"])
        return cls(**data)

    @classmethod
    def average(cls, height: float = 1.75) -> BodyParams:
        """The trainer's reference body: table proportions, full flexibility."""
        groups = {g for _, g in _REST_FRACTIONS.values()}
        return cls(height, "neutral", {g: 1.0 for g in sorted(groups)}, Flexibility(), "trainer")

    @classmethod
    def sample(cls, rng: np.random.Generator, body_id: str) -> BodyParams:
        """A random person: height 1.45-2.05 m, build, proportions, flexibility."""
        build = str(rng.choice(["female", "male"]))
        mean_height = 1.64 if build == "female" else 1.77
        height = float(np.clip(rng.normal(mean_height, 0.09), 1.45, 2.05))
        proportions = {
            group: float(np.clip(rng.normal(1.0, 0.04), 0.9, 1.1))
            for group in ("torso", "head", "arms", "legs", "feet")
        }
        proportions["shoulders"] = float(rng.normal(0.94 if build == "female" else 1.04, 0.03))
        proportions["hips"] = float(rng.normal(1.08 if build == "female" else 0.95, 0.04))
        overall = float(rng.uniform(0.5, 1.2))
        return cls(
            height=round(height, 4),
            build=build,
            proportions=proportions,
            flexibility=Flexibility.sample(rng, overall),
            body_id=body_id,
            flexibility_overall=overall,
        )


def rest_offsets(body: BodyParams) -> np.ndarray:
    """Bone offsets of the rest pose, ``(28, 3)`` metres (row 0, the root, is zero).

    Proportion factors change segment lengths; the result is rescaled so that the
    standing height (floor to head top) equals ``body.height``.
    """
    offsets = np.zeros((len(BODY_JOINT_NAMES), 3))
    for name, (fraction, group) in _REST_FRACTIONS.items():
        vector = np.array(fraction) * body.proportions.get(group, 1.0)
        offsets[J[name]] = vector
        twin = name.replace("left_", "right_")
        if twin != name:
            offsets[J[twin]] = vector * [-1, 1, 1]
    positions = positions_from_offsets(offsets)
    standing_height = positions[:, 1].max() - positions[:, 1].min()
    return offsets * body.height / standing_height


def positions_from_offsets(offsets: np.ndarray) -> np.ndarray:
    """Rest-pose joint positions ``(28, 3)`` relative to the pelvis."""
    positions = np.zeros_like(offsets)
    for joint, parent in enumerate(BODY_PARENTS):
        if parent >= 0:
            positions[joint] = positions[parent] + offsets[joint]
    return positions
