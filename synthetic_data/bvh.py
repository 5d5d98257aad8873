"""BVH motion capture: read into clips (and write, for round trips).

Reads any BVH hierarchy with any rotation channel order (``Zrotation Xrotation
Yrotation`` is applied as ``Rz @ Rx @ Ry``, in the order listed) and any frame time.
The world is taken as y-up and right-handed, as in CMU files, where +x is the
character's left and +z the way it faces in the rest pose (checked on every file of
``../shared/mocap``: with left taken from the names, the toes point forward). Which bone
is which anatomical joint, what is derived and how units are found:
:mod:`synthetic_data.rig`, shared with the ASF/AMC reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthetic_data.body import BODY_JOINT_NAMES, BODY_PARENTS
from synthetic_data.clip import Clip, ClipFormatError
from synthetic_data.kinematics import rot_x, rot_y, rot_z
from synthetic_data.rig import (
    CGSPEED_METRES,
    PosedSkeleton,
    ends_from_children,
    finish_clip,
    skeleton_to_body28,
)

__all__ = ["CGSPEED_METRES", "clip_from_bvh_bytes", "parse_bvh", "read_bvh", "write_bvh"]
_ROTATIONS = {"x": rot_x, "y": rot_y, "z": rot_z}

# ---------------------------------------------------------------------------------------
# BVH parsing and forward kinematics


@dataclass
class BvhJoint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    end_site: np.ndarray | None = None


@dataclass
class BvhMotion:
    """A parsed BVH file: hierarchy, frame time (s) and channel values ``(T, C)``."""

    joints: list[BvhJoint]
    frame_time: float
    values: np.ndarray

    def forward_kinematics(self, values: np.ndarray | None = None):
        """Joint starts ``(T, J, 3)``, End Site positions ``(T, J, 3)`` (NaN where none) and
        world rotations ``(T, J, 3, 3)`` (identity in the zero pose), file units."""
        values = self.values if values is None else values
        frames, count = values.shape[0], len(self.joints)
        rotations = np.zeros((frames, count, 3, 3))
        starts = np.zeros((frames, count, 3))
        ends = np.full((frames, count, 3), np.nan)
        column = 0
        for index, joint in enumerate(self.joints):
            local_rot = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
            translation = np.broadcast_to(joint.offset, (frames, 3)).copy()
            for channel in joint.channels:
                column_values = values[:, column]
                column += 1
                axis = channel[0].lower()
                if channel.lower().endswith("position"):  # added to the OFFSET
                    translation[:, "xyz".index(axis)] += column_values
                else:
                    local_rot = local_rot @ _ROTATIONS[axis](column_values)
            if joint.parent < 0:
                rotations[:, index] = local_rot
                starts[:, index] = translation
            else:
                parent_rot = rotations[:, joint.parent]
                starts[:, index] = starts[:, joint.parent] + np.einsum(
                    "tij,tj->ti", parent_rot, translation
                )
                rotations[:, index] = parent_rot @ local_rot
            if joint.end_site is not None:
                ends[:, index] = starts[:, index] + np.einsum(
                    "tij,j->ti", rotations[:, index], joint.end_site
                )
        return starts, ends, rotations


def parse_bvh(text: str, source: str = "<bvh>") -> BvhMotion:
    """Parse BVH text; :class:`ClipFormatError` names ``source`` and the problem."""
    tokens = _Tokens(text, source)
    if tokens.take().upper() != "HIERARCHY":
        raise ClipFormatError(f"{source}: not a BVH file (no HIERARCHY)")
    joints = _parse_hierarchy(tokens)
    frames, frame_time = _parse_motion_header(tokens)
    channels = sum(len(j.channels) for j in joints)
    values = _motion_values(tokens.rest(), frames, channels, frame_time, source)
    return BvhMotion(joints, frame_time, values)


class _Tokens:
    """The whitespace-separated tokens of a BVH file, read in order; errors name
    ``source``."""

    def __init__(self, text: str, source: str) -> None:
        self.tokens = text.split()
        self.position = 0
        self.source = source

    def take(self) -> str:
        """The next token (:class:`ClipFormatError` at the end of the file)."""
        if self.position >= len(self.tokens):
            raise ClipFormatError(f"{self.source}: unexpected end of file (truncated?)")
        self.position += 1
        return self.tokens[self.position - 1]

    def numbers(self, count: int) -> np.ndarray:
        """The next ``count`` tokens as a ``(count,)`` float64 array."""
        try:
            return np.array([float(self.take()) for _ in range(count)])
        except ValueError as exc:
            raise ClipFormatError(f"{self.source}: expected a number ({exc})") from None

    def rest(self) -> list[str]:
        """The tokens not read yet."""
        return self.tokens[self.position :]


def _parse_hierarchy(tokens: _Tokens) -> list[BvhJoint]:
    """Joints of the HIERARCHY section, in file order (parents before children), read
    up to and including the ``MOTION`` keyword.

    ``OFFSET`` and ``End Site`` offsets are in file units; ``channels`` are the names as
    written (e.g. ``Zrotation``), in file order.
    """
    source = tokens.source
    joints: list[BvhJoint] = []
    stack: list[int] = []  # open braces: joint index, or -2 for an End Site's
    pending_end = False
    while True:
        token = tokens.take()
        upper = token.upper()
        if upper in ("ROOT", "JOINT"):
            joints.append(BvhJoint(tokens.take(), stack[-1] if stack else -1, np.zeros(3)))
        elif upper == "END":
            tokens.take()  # "Site"
            pending_end = True
        elif token == "{":
            stack.append(-2 if pending_end else len(joints) - 1)
        elif token == "}":
            if not stack:
                raise ClipFormatError(f"{source}: unbalanced braces")
            closed = stack.pop()
            pending_end = False if closed == -2 else pending_end
        elif upper == "OFFSET":
            offset = tokens.numbers(3)
            if pending_end:
                joints[[s for s in stack if s >= 0][-1]].end_site = offset
            else:
                joints[-1].offset = offset
        elif upper == "CHANNELS":
            try:
                count = int(tokens.take())
            except ValueError:
                raise ClipFormatError(f"{source}: CHANNELS needs a count") from None
            joints[-1].channels = [tokens.take() for _ in range(count)]
        elif upper == "MOTION":
            break
        else:
            raise ClipFormatError(f"{source}: unexpected token {token!r} in HIERARCHY")
    if not joints:
        raise ClipFormatError(f"{source}: the HIERARCHY has no joints")
    return joints


def _parse_motion_header(tokens: _Tokens) -> tuple[int, float]:
    """``(frames, frame_time)`` from ``Frames: N`` and ``Frame Time: S`` (seconds), as
    written (checked by :func:`_motion_values`)."""
    source = tokens.source
    if tokens.take().rstrip(":").upper() != "FRAMES":
        raise ClipFormatError(f"{source}: MOTION lacks 'Frames:'")
    try:
        frames = int(tokens.take())
    except ValueError:
        raise ClipFormatError(f"{source}: 'Frames:' needs a whole number") from None
    if tokens.take().upper() != "FRAME" or tokens.take().upper() != "TIME:":
        raise ClipFormatError(f"{source}: MOTION lacks 'Frame Time:'")
    try:
        frame_time = float(tokens.take())
    except ValueError:
        raise ClipFormatError(f"{source}: 'Frame Time:' needs a number") from None
    return frames, frame_time


def _motion_values(
    data: list[str], frames: int, channels: int, frame_time: float, source: str
) -> np.ndarray:
    """Channel values ``(frames, channels)`` float64 from the motion tokens ``data``
    (values beyond ``frames`` rows are ignored), after checking them, ``frames`` and
    ``frame_time`` (s)."""
    if len(data) < frames * channels:
        raise ClipFormatError(
            f"{source}: truncated motion: {len(data)} values "
            f"for {frames} frames x {channels} channels"
        )
    try:
        values = np.array(data[: frames * channels], dtype=np.float64).reshape(frames, channels)
    except ValueError as exc:
        raise ClipFormatError(f"{source}: non-numeric motion data ({exc})") from None
    if frame_time <= 0:
        raise ClipFormatError(f"{source}: frame time must be positive, got {frame_time}")
    if frames < 1:
        raise ClipFormatError(f"{source}: no motion frames")
    if not np.isfinite(values).all():
        raise ClipFormatError(f"{source}: motion data holds NaN or infinite values")
    return values


def posed_skeleton(motion: BvhMotion) -> PosedSkeleton:
    """The motion as a :class:`~synthetic_data.rig.PosedSkeleton` (file units)."""
    parents = [j.parent for j in motion.joints]
    starts, ends, rotations = motion.forward_kinematics()
    rest_starts, rest_ends, _ = motion.forward_kinematics(np.zeros((1, motion.values.shape[1])))
    sites = [j.end_site is not None for j in motion.joints]
    return PosedSkeleton(
        names=[j.name for j in motion.joints],
        parents=parents,
        starts=starts,
        ends=ends_from_children(starts, ends, parents),
        rotations=rotations,
        rest_starts=rest_starts[0],
        rest_ends=ends_from_children(rest_starts, rest_ends, parents)[0],
        has_end_site=sites,
    )


# ---------------------------------------------------------------------------------------
# Reading and writing


def read_bvh(
    path: str | Path,
    *,
    units: str = "auto",
    movement: str = "unknown",
    fps: float | None = None,
    skip_frames: int = 0,
) -> Clip:
    """Read a BVH file into a :class:`Clip` (y-up world, metres, floor at the lowest joint).

    Args:
        units: ``"auto"`` (from the skeleton's height) or ``"m"``, ``"cm"``, ``"mm"``,
            ``"inch"``, ``"cgspeed"``.
        fps: Overrides the header's frame time (some headers are wrong).
        skip_frames: Leading frames to drop (cgspeed and iClone files start with a
            T-pose); the mapping may still use them as the upright reference.
    """
    path = Path(path)
    return clip_from_bvh_bytes(
        path.read_bytes(), str(path), units=units, movement=movement, fps=fps,
        skip_frames=skip_frames,
    )  # fmt: skip


def clip_from_bvh_bytes(
    data: bytes,
    source: str,
    *,
    units: str = "auto",
    movement: str = "unknown",
    fps: float | None = None,
    skip_frames: int = 0,
) -> Clip:
    """Parse BVH file contents into a :class:`Clip`; ``source`` names it in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # a stray accent in a comment or name
    stem = Path(source).name
    stem = stem[: -len(".bvh")] if stem.lower().endswith(".bvh") else stem
    motion = parse_bvh(text, source)
    if motion.values.shape[0] <= skip_frames:
        raise ClipFormatError(
            f"{source}: {motion.values.shape[0]} frames, nothing left after skipping {skip_frames}"
        )
    skeleton = posed_skeleton(motion)
    joints, derived, info = skeleton_to_body28(skeleton, source, units=units)
    return finish_clip(
        joints[skip_frames:],
        derived,
        f"bvh-{stem}",
        fps if fps is not None else 1.0 / motion.frame_time,
        movement,
        "bvh",
        info | {"skipped_frames": skip_frames},
    )


def _kabsch(rest: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Rotations ``(T, 3, 3)`` best mapping rest vectors ``(K, 3)`` onto ``(T, K, 3)``."""
    if rest.shape[0] == 1:  # one child: the minimal rotation turning one direction into the other
        a = rest[0] / np.linalg.norm(rest[0])
        b = current[:, 0] / np.linalg.norm(current[:, 0], axis=-1, keepdims=True)
        v = np.cross(a, b)
        c = (b @ a)[:, None, None]
        vx = np.zeros((len(b), 3, 3))
        vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
        vx = vx - vx.transpose(0, 2, 1)
        return np.eye(3) + vx + vx @ vx / np.maximum(1 + c, 1e-9)
    h = np.einsum("ki,tkj->tij", rest, current)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, 1, 2) @ np.swapaxes(u, 1, 2)))
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = d
    return np.swapaxes(vt, 1, 2) @ fix @ np.swapaxes(u, 1, 2)


def _euler_zxy(matrix: np.ndarray) -> np.ndarray:
    """Angles (deg) ``(T, 3)`` as (z, x, y) with ``R = Rz @ Rx @ Ry``."""
    x = np.arcsin(np.clip(matrix[:, 2, 1], -1, 1))
    z = np.arctan2(-matrix[:, 0, 1], matrix[:, 1, 1])
    y = np.arctan2(-matrix[:, 2, 0], matrix[:, 2, 2])
    return np.degrees(np.stack([z, x, y], axis=-1))


def write_bvh(clip: Clip, path: str | Path) -> Path:
    """Write a clip's body-28 motion as BVH (metres, ``Zrotation Xrotation Yrotation``).

    Joint rotations are solved from the positions (Kabsch per joint over its children),
    so reading the file back reproduces the joint positions.
    """
    path = Path(path)
    joints = clip.joints.astype(np.float64)
    offsets = joints[0] - joints[0, [max(p, 0) for p in BODY_PARENTS]]
    offsets[0] = 0
    children = {
        j: [c for c, p in enumerate(BODY_PARENTS) if p == j] for j in range(len(BODY_PARENTS))
    }
    world_rot = np.zeros((clip.num_frames, len(BODY_PARENTS), 3, 3))
    lines = ["HIERARCHY"]

    def emit(joint: int, depth: int) -> None:
        pad = "  " * depth
        keyword = "ROOT" if depth == 0 else "JOINT"
        lines.append(f"{pad}{keyword} {BODY_JOINT_NAMES[joint]}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET " + " ".join(f"{v:.6f}" for v in offsets[joint]))
        channels = "6 Xposition Yposition Zposition" if depth == 0 else "3"
        lines.append(f"{pad}  CHANNELS {channels} Zrotation Xrotation Yrotation")
        for child in children[joint]:
            emit(child, depth + 1)
        if not children[joint]:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET 0.000000 0.000000 0.000000")
            lines.append(f"{pad}  }}")
        lines.append(pad + "}")

    emit(0, 0)
    columns = [joints[:, 0]]
    for joint in range(len(BODY_PARENTS)):
        kids = children[joint]
        if kids:
            rest = offsets[kids]
            current = joints[:, kids] - joints[:, [joint]]
            world_rot[:, joint] = _kabsch(rest, current)
        else:
            world_rot[:, joint] = world_rot[:, BODY_PARENTS[joint]]
        parent = BODY_PARENTS[joint]
        local = (
            world_rot[:, joint]
            if parent < 0
            else np.swapaxes(world_rot[:, parent], 1, 2) @ world_rot[:, joint]
        )
        columns.append(_euler_zxy(local))
    values = np.concatenate(columns, axis=1)
    lines += ["MOTION", f"Frames: {clip.num_frames}", f"Frame Time: {1.0 / clip.fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")
    return path
