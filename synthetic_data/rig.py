"""Any rig's skeleton in motion (BVH or ASF/AMC) -> the body-28 layout.

Joint mapping to body-28
------------------------
Names are compared case-insensitively with namespaces (``mixamorig:``, ``a|b|``)
stripped. A BVH joint sits at the *start* of its bone, so for each anatomical joint
the table names the bone that starts there (first match wins; ``L`` = side letter)::

    body-28     CMU / amc2bvh  cgspeed (DAZ)  Reallusion CC     mixamo, MoBu     LeftHip style
    hip         lfemur         lThigh         CC_Base_L_Thigh   LeftUpLeg        LeftHip
    knee        ltibia         lShin          CC_Base_L_Calf    LeftLeg          LeftKnee
    ankle       lfoot          lFoot          CC_Base_L_Foot    LeftFoot         LeftAnkle
    toe (tip)   ltoes end      lFoot end      ..._ToeBase end   LeftToeBase end  LeftToe end
    shoulder    lhumerus       lShldr         ..._L_Upperarm    LeftArm          LeftShoulder
    elbow       lradius        lForeArm       ..._L_Forearm     LeftForeArm      LeftElbow
    wrist       lhand          lHand          CC_Base_L_Hand    LeftHand         LeftWrist
    hand dir.   lfingers       lMid1          CC_Base_L_Mid1    LeftHandMiddle1  (wrist end)
    (neck base) lowerneck      neck           ..._NeckTwist01   Neck             Neck
    neck_top    head           head           CC_Base_Head      Head             Head

Why CMU's wrist is ``lhand`` and not ``lwrist``: in the ASF, ``lwrist`` has one degree
of freedom, a twist about its own long axis (the forearm's pronation), while ``lhand``
has the two of a wrist (flexion and deviation); shoulder-to-``lhand`` also matches the
shoulder-to-wrist length of anthropometric tables (0.33 of height) where
shoulder-to-``lwrist`` is 0.27. ``LeftShoulder``/``lCollar``/``lclavicle`` clavicle
bones, twist and share bones (``*Twist*``, ``*ShareBone``), fingers, eyes, face bones
are ignored.

Derived, and listed in ``body.extra["derived_joints"]``:

* ``pelvis``: above the hip centre as in the simulator (a rig's root sits anywhere
  from 3 cm below to 10 cm above the hips);
* ``thorax``: 1% of height above the shoulder centre, as in the simulator (the neck
  base of a rig lies 7 cm below the shoulders in CMU files, 5 cm above in cgspeed's);
* ``spine`` (not listed: it is measured): the point of the spine chain (root to neck
  base) at the simulator's spine height, 0.13 of height above the hip centre, so it
  bends with the spine;
* ``head_top``, nose, eyes, ears: body-28 rest offsets from ``neck_top`` carried by the
  head bone's rotation (CMU's head bone ends mid-head, cgspeed's in the eyes);
* heels (and toes where no toe bone): carried by the foot bone's rotation.

Hands are placed on the measured hand direction at the simulator's distance beyond
the wrist (0.06 of height). When names are unknown, a hierarchy fallback finds the two
leg chains (lowest ends), the spine (highest end), the two arms (longest side branches
of the spine) and, along them, hip/knee/ankle (the straight downward run of the leg)
and shoulder/elbow/wrist (segment lengths closest to body proportions); left is +x in
the reference pose, swapped if the feet then point backwards.

Units: the skeleton's standing height (thigh + shin + hip centre to neck top, over the
0.85 of height they span) picks the unit (m, cm, mm, inch, or the CMU unit 0.056444 m)
that gives a plausible person (1.2-2.2 m); with no plausible unit the person is scaled
to 1.70 m and ``body.extra["units"]`` says ``"normalised"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from synthetic_data.body import _REST_FRACTIONS, BODY_JOINT_NAMES
from synthetic_data.clip import Clip, ClipFormatError
from synthetic_data.completion import complete_body, external_clip

CGSPEED_METRES = 0.056444  # CMU ASF length unit (inch / 0.45), kept by cgspeed's BVH
UNIT_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cgspeed": CGSPEED_METRES}
PLAUSIBLE_HEIGHT_M = (1.2, 2.2)
NOMINAL_HEIGHT_M = 1.70  # used only when no unit gives a plausible height

# Body-28 fractions of standing height: hip centre to spine; hip to ankle plus hip
# centre to neck top (the part of the height a skeleton measures).
_HIPS_TO_SPINE = 0.13
_MEASURED_SPAN = 0.85
_HAND_BEYOND_WRIST = 0.06
_UPPER_ARM, _FOREARM, _CLAVICLE = 0.186, 0.146, 0.13

_SIDES = (("left", "l"), ("right", "r"))
# Role -> candidate bone names (``{side}`` left/right, ``{s}`` l/r); the bone STARTS at
# the anatomical joint. More specific anatomical names come first (LeftAnkle before
# LeftFoot: in the LeftHip convention LeftFoot is below the ankle).
_LIMB_NAMES: dict[str, tuple[str, ...]] = {
    "hip": ("{s}femur", "{s}thigh", "{side}upleg", "cc_base_{s}_thigh", "{side}upperleg",
            "{side}thigh", "{side}hip", "{side}_hip", "{s}hip", "{s}_hip"),
    "knee": ("{s}tibia", "{s}shin", "{side}leg", "cc_base_{s}_calf", "{side}lowerleg",
             "{side}shin", "{side}knee", "{side}_knee", "{s}knee", "{s}_knee"),
    "ankle": ("{side}ankle", "{side}_ankle", "{s}ankle", "{s}_ankle", "{s}foot", "{side}foot",
              "cc_base_{s}_foot", "{s}_foot"),
    "shoulder": ("{s}humerus", "{s}shldr", "{side}arm", "cc_base_{s}_upperarm",
                 "{side}upperarm", "{side}_shoulder", "{side}shoulder", "{s}shoulder"),
    "elbow": ("{s}radius", "{s}forearm", "{side}forearm", "cc_base_{s}_forearm",
              "{side}lowerarm", "{side}elbow", "{side}_elbow", "{s}elbow"),
    "wrist": ("{s}hand", "{side}hand", "cc_base_{s}_hand", "{side}wrist", "{side}_wrist",
              "{s}wrist"),
}  # fmt: skip
# Optional points: (bone, "start" | "end").
_POINT_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "toe": (("{s}toes", "end"), ("{side}toebase", "end"), ("cc_base_{s}_toebase", "end"),
            ("{side}toe_end", "start"), ("{side}toe", "end"), ("{side}_toe", "start"),
            ("{s}toe", "end")),
    "hand": (("{s}fingers", "start"), ("{s}mid1", "start"), ("{side}fingerbase", "start"),
             ("{side}handmiddle1", "start"), ("cc_base_{s}_mid1", "start"),
             ("{side}handindex1", "start"), ("{s}index1", "start"), ("{side}_hand", "start")),
}  # fmt: skip
_NECK_NAMES = ("lowerneck", "neck", "cc_base_necktwist01", "neck1", "neck01")
_HEAD_NAMES = ("head", "cc_base_head")
_CROWN_NAMES = ("headtop_end", "headtop", "head_top", "headend", "head_end")


def normalise_name(name: str) -> str:
    """``"mixamorig:LeftArm"`` -> ``"leftarm"``: no namespace or path, lower case."""
    name = re.sub(r"^.*[:|]", "", name).lower()
    return re.sub(r"^mixamorig\d*_", "", name)


# ---------------------------------------------------------------------------------------
# Any posed skeleton (BVH or ASF/AMC) -> body-28


@dataclass
class PosedSkeleton:
    """A skeleton in motion, in file units, y up.

    Attributes:
        names: Joint (bone) names as in the file, ``J`` of them.
        parents: Parent index per joint, -1 for the root.
        starts: ``(T, J, 3)`` world position of each joint (where its bone starts).
        ends: ``(T, J, 3)`` where its bone ends: the End Site, else its children's mean
            start (its only child's start); NaN for a leaf without an End Site.
        rotations: ``(T, J, 3, 3)`` world rotation of each bone relative to the zero pose.
        rest_starts, rest_ends: ``(J, 3)`` the zero pose (all rotations identity).
        has_end_site: Per joint: does the file give an explicit end (End Site, ASF bone)?
    """

    names: list[str]
    parents: list[int]
    starts: np.ndarray
    ends: np.ndarray
    rotations: np.ndarray
    rest_starts: np.ndarray
    rest_ends: np.ndarray
    has_end_site: list[bool]

    @property
    def num_frames(self) -> int:
        return self.starts.shape[0]


def ends_from_children(starts: np.ndarray, ends: np.ndarray, parents: list[int]) -> np.ndarray:
    """Fill missing bone ends ``(T, J, 3)`` with the mean start of the joint's children."""
    ends = ends.copy()
    for joint in range(len(parents)):
        kids = [c for c, p in enumerate(parents) if p == joint]
        if kids and not np.isfinite(ends[0, joint]).all():
            ends[:, joint] = starts[:, kids].mean(axis=1)
    return ends


class _Tree:
    """Parent/child queries on a joint hierarchy."""

    def __init__(self, parents: list[int]) -> None:
        self.parents = parents
        self.children: list[list[int]] = [[] for _ in parents]
        for joint, parent in enumerate(parents):
            if parent >= 0:
                self.children[parent].append(joint)

    def ancestors(self, joint: int) -> list[int]:
        """``joint``, its parent, ..., the root."""
        chain = [joint]
        while self.parents[chain[-1]] >= 0:
            chain.append(self.parents[chain[-1]])
        return chain

    def is_ancestor(self, top: int, joint: int) -> bool:
        return top in self.ancestors(joint)

    def path(self, top: int, bottom: int) -> list[int]:
        """Joints from ``top`` down to ``bottom``, both included."""
        chain = self.ancestors(bottom)
        return chain[: chain.index(top) + 1][::-1]

    def lca(self, *joints: int) -> int:
        common = set(self.ancestors(joints[0]))
        for joint in joints[1:]:
            common &= set(self.ancestors(joint))
        return max(common, key=lambda j: len(self.ancestors(j)))

    def leaves(self, top: int) -> list[int]:
        found, todo = [], [top]
        while todo:
            joint = todo.pop()
            todo += self.children[joint]
            if not self.children[joint]:
                found.append(joint)
        return sorted(found)


@dataclass
class SkeletonRoles:
    """Which joints of a skeleton are which body-28 joints.

    ``joints``: ``left_hip`` ... ``right_wrist``, ``neck`` (the neck base, top of the spine) and
    ``head`` (its start is ``neck_top``; its rotation carries the face). ``points``:
    optional ``left_toe`` / ``left_hand`` / ``head_top`` as ``(joint, "start" | "end")``.
    ``spine``: the joints from the root to the neck. ``method``: ``"names"`` or
    ``"hierarchy"``.
    """

    joints: dict[str, int]
    points: dict[str, tuple[int, str]]
    spine: list[int]
    method: str


def _first(index: dict[str, int], names) -> int | None:
    return next((index[n] for n in names if n in index), None)


def _roles_from_names(skeleton: PosedSkeleton) -> SkeletonRoles | str:
    """Roles by bone names, or why they cannot be found that way."""
    index: dict[str, int] = {}
    for joint, name in enumerate(skeleton.names):
        index.setdefault(normalise_name(name), joint)
    tree = _Tree(skeleton.parents)
    joints: dict[str, int] = {}
    for side, s in _SIDES:
        for role, templates in _LIMB_NAMES.items():
            found = _first(index, (t.format(side=side, s=s) for t in templates))
            if found is not None:
                joints[f"{side}_{role}"] = found
    for role, names in (("neck", _NECK_NAMES), ("head", _HEAD_NAMES)):
        found = _first(index, names)
        if found is not None:
            joints[role] = found
    needed = [f"{side}_{r}" for side, _ in _SIDES for r in _LIMB_NAMES] + ["neck", "head"]
    missing = [role for role in needed if role not in joints]
    if missing:
        return f"no bone named for {missing}"
    chains = [("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")]
    for side, _ in _SIDES:
        for upper, lower in chains:
            if not tree.is_ancestor(joints[f"{side}_{upper}"], joints[f"{side}_{lower}"]):
                return f"the {side} {lower} bone is not below the {side} {upper} bone"
    if not tree.is_ancestor(joints["neck"], joints["head"]):
        return "the head bone is not below the neck bone"
    points: dict[str, tuple[int, str]] = {}
    for side, s in _SIDES:
        for role, anchor in (("toe", "ankle"), ("hand", "wrist")):
            for template, where in _POINT_NAMES[role]:
                found = index.get(template.format(side=side, s=s))
                if found is not None and tree.is_ancestor(joints[f"{side}_{anchor}"], found):
                    points[f"{side}_{role}"] = (found, where)
                    break
        ankle, wrist = joints[f"{side}_ankle"], joints[f"{side}_wrist"]
        if f"{side}_toe" not in points and skeleton.has_end_site[ankle]:
            points[f"{side}_toe"] = (ankle, "end")  # cgspeed: the foot bone ends at the toes
        if f"{side}_hand" not in points and np.isfinite(skeleton.rest_ends[wrist]).all():
            points[f"{side}_hand"] = (wrist, "end")
    crown = _first(index, _CROWN_NAMES)
    if crown is not None and tree.is_ancestor(joints["head"], crown):
        points["head_top"] = (crown, "start")
    return SkeletonRoles(joints, points, tree.path(0, joints["neck"]), "names")


def _collapse(
    points: list[np.ndarray], owners: list[int | None]
) -> tuple[np.ndarray, list[int | None]]:
    """Drop zero-length segments of a chain, keeping the deeper joint at each point (its
    rotation moves the next segment)."""
    scale = max(float(np.linalg.norm(points[-1] - points[0])), 1e-9)
    kept_points, kept_owners = [points[0]], [owners[0]]
    for point, owner in zip(points[1:], owners[1:], strict=True):
        if np.linalg.norm(point - kept_points[-1]) < 1e-6 * scale:
            kept_owners[-1] = owner if owner is not None else kept_owners[-1]
        else:
            kept_points.append(point)
            kept_owners.append(owner)
    return np.array(kept_points), kept_owners


def _leg_joints(points: np.ndarray, owners: list[int | None]) -> tuple[int, int, int]:
    """Hip, knee, ankle of a leg chain in an upright pose: the longest straight downward
    run is thigh + shank; the knee is the joint nearest the middle of that run."""
    segments = np.diff(points, axis=0)
    lengths = np.linalg.norm(segments, axis=1)
    down = -segments[:, 1] >= 0.85 * lengths
    best, run_start = (0.0, 0, 0), None
    for k in range(len(segments) + 1):
        if k < len(segments) and down[k]:
            run_start = k if run_start is None else run_start
            continue
        if run_start is not None and lengths[run_start:k].sum() > best[0]:
            best = (float(lengths[run_start:k].sum()), run_start, k)
        run_start = None
    total, first, last = best
    if last - first < 2:
        raise ValueError("no straight hip-knee-ankle run in a leg chain")
    arcs = np.concatenate([[0.0], np.cumsum(lengths[first:last])])
    middle = first + 1 + int(np.argmin(np.abs(arcs[1:-1] - total / 2)))
    if min(arcs[middle - first], total - arcs[middle - first]) < 0.25 * total:
        raise ValueError("no knee near the middle of a leg chain")
    hip, knee, ankle = owners[first], owners[middle], owners[last]
    if hip is None or knee is None or ankle is None:
        raise ValueError("a leg chain ends at the ankle (no foot bone)")
    return hip, knee, ankle


def _arm_joints(
    points: np.ndarray, owners: list[int | None], height: float, spine: np.ndarray
) -> tuple[int, int, int, int | None]:
    """Shoulder, elbow, wrist (joints) and a hand point index along an arm chain: the
    three joints whose bone lengths and distance from the spine best fit body
    proportions (upper arm 0.186, forearm 0.146, shoulder 0.13 of height from the spine)."""
    arcs = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    lateral = np.min(np.linalg.norm(points[:, None] - spine[None], axis=-1), axis=1)
    best, choice = np.inf, None
    count = len(points)
    for a in range(1, count):
        for b in range(a + 1, count):
            for c in range(b + 1, count):
                if None in (owners[a], owners[b], owners[c]) or lateral[a] <= 0:
                    continue  # each must be a joint (its rotation moves the next bone)
                cost = (
                    np.log((arcs[b] - arcs[a]) / (_UPPER_ARM * height)) ** 2
                    + np.log((arcs[c] - arcs[b]) / (_FOREARM * height)) ** 2
                    + np.log(lateral[a] / (_CLAVICLE * height)) ** 2
                )
                if cost < best:
                    best, choice = cost, (a, b, c)
    if choice is None:
        raise ValueError("an arm chain has no shoulder-elbow-wrist joints")
    a, b, c = choice
    beyond = [k for k in range(c + 1, count) if arcs[k] - arcs[c] >= 0.03 * height]
    return owners[a], owners[b], owners[c], (beyond[0] if beyond else None)


def _upright_pose_of(skeleton: PosedSkeleton) -> tuple[np.ndarray, np.ndarray, str]:
    """Starts and bone tips ``(J, 3)`` of a pose where the legs hang below the root and
    the head is above it: the zero pose, else frame 0 (iClone's zero pose is folded)."""
    for starts, ends, label in (
        (skeleton.rest_starts, skeleton.rest_ends, "rest"),
        (skeleton.starts[0], skeleton.ends[0], "frame 0"),
    ):
        tips = np.where(np.isfinite(ends), ends, starts)
        root_y, span = starts[0, 1], float(np.ptp(tips[:, 1]))
        legs_below = tips[:, 1].min() < root_y - 0.25 * span
        head_above = tips[:, 1].max() > root_y + 0.25 * span
        if span > 0 and legs_below and head_above:
            return starts, tips, label
    raise ValueError("neither the rest pose nor frame 0 stands upright")


def _feet(tree: _Tree, starts: np.ndarray, tips: np.ndarray) -> tuple[int, int, float]:
    """The two lowest bone ends on either side of the root (``x`` sign) that hang from
    chains of at least three bones each, and the side of the first (+1: +x)."""
    root_x, root_y = starts[0, 0], starts[0, 1]
    leaves = [j for j in range(len(tree.parents)) if not tree.children[j]]
    low = sorted((j for j in leaves if tips[j, 1] < root_y), key=lambda j: tips[j, 1])
    if not low:
        raise ValueError("no leg chains (no bone ends below the root)")
    first = low[0]
    side = float(np.sign(tips[first, 0] - root_x))
    for other in low[1:]:
        apart = np.sign(tips[other, 0] - root_x) == -side
        if apart and len(tree.path(tree.lca(first, other), other)) >= 4:
            return first, other, side
    raise ValueError("found one leg chain, not two")


def _leg(
    tree: _Tree, pelvis: int, foot: int, starts: np.ndarray, tips: np.ndarray
) -> tuple[int, int, int, tuple[int, str] | None]:
    """Hip, knee, ankle joints and the toe point of the leg from ``pelvis`` to ``foot``."""
    chain = tree.path(pelvis, foot)
    points, owners = _collapse([starts[j] for j in chain] + [tips[foot]], [*chain, None])
    hip, knee, ankle = _leg_joints(points, owners)
    # The toe tip: the foot's end farthest from the ankle (a heel end is shorter).
    tip = max(tree.leaves(ankle), key=lambda j: np.linalg.norm(tips[j] - starts[ankle]))
    reach = np.linalg.norm(tips[tip] - starts[ankle])
    toe = (tip, "end") if reach > 0.1 * np.linalg.norm(starts[hip] - starts[knee]) else None
    return hip, knee, ankle, toe


def _arms(
    tree: _Tree,
    spine: list[int],
    skip: Callable[[int], bool],
    starts: np.ndarray,
    tips: np.ndarray,
    height: float,
) -> dict[float, tuple]:
    """Per side (+1 / -1 in x) the longest chain branching off the spine (not a leg):
    ``(shoulder, elbow, wrist, hand point, first arm joint, branch joint)``."""
    root_x = starts[0, 0]
    chains = []  # (arc length, side, branch joint, leaf)
    for branch in spine[:-1]:
        for child in tree.children[branch]:
            if child in spine or skip(child):
                continue
            for leaf in tree.leaves(child):
                points = np.array([starts[j] for j in tree.path(branch, leaf)] + [tips[leaf]])
                arc = float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())
                chains.append((arc, float(np.sign(tips[leaf, 0] - root_x)), branch, leaf))
    spine_points = np.array([starts[j] for j in spine])
    found = {}
    for sign in (1.0, -1.0):
        side_chains = [c for c in chains if c[1] == sign]
        if not side_chains:
            raise ValueError("found fewer than two arm chains")
        _, _, branch, leaf = max(side_chains)
        chain = tree.path(branch, leaf)
        points, owners = _collapse([starts[j] for j in chain] + [tips[leaf]], [*chain, None])
        shoulder, elbow, wrist, hand = _arm_joints(points, owners, height, spine_points)
        hand_point = None
        if hand is not None:
            hand_point = (owners[hand], "start") if owners[hand] is not None else (leaf, "end")
        found[sign] = (shoulder, elbow, wrist, hand_point, chain[1], branch)
    return found


def _neck_and_head(
    spine: list[int], arms: dict[float, tuple], starts: np.ndarray, tips: np.ndarray, height: float
) -> tuple[int, int]:
    """The neck base: the spine joint nearest where the arm chains leave the spine; the
    head: the last spine joint above it with a bone of some length."""
    highest_branch = max(spine.index(arm[5]) for arm in arms.values())
    arm_roots = np.mean([starts[arm[4]] for arm in arms.values()], axis=0)
    neck = min(spine[highest_branch:], key=lambda j: np.linalg.norm(starts[j] - arm_roots))
    above = spine[spine.index(neck) + 1 :]
    ends = [starts[n] for n in above[1:]] + [tips[above[-1]]] if above else []
    heads = [j for j, e in zip(above, ends, strict=True)
             if np.linalg.norm(e - starts[j]) > 0.02 * height]  # fmt: skip
    if not heads:
        raise ValueError("no head bone above the neck")
    return neck, heads[-1]


def _roles_from_hierarchy(skeleton: PosedSkeleton) -> SkeletonRoles:
    """Roles from the shape of the hierarchy in an upright pose (names unknown): legs to
    the lowest ends, the spine to the highest, arms the longest side branches of the
    spine; +x is the character's left unless the feet then point backwards."""
    tree = _Tree(skeleton.parents)
    starts, tips, _ = _upright_pose_of(skeleton)
    foot_a, foot_b, side_a = _feet(tree, starts, tips)
    pelvis = tree.lca(foot_a, foot_b)
    leg_tops = {tree.path(pelvis, f)[1] for f in (foot_a, foot_b)}

    def in_legs(joint: int) -> bool:
        return any(tree.is_ancestor(top, joint) for top in leg_tops)

    upper = [j for j in range(len(tree.parents)) if not tree.children[j] and not in_legs(j)]
    if not upper:
        raise ValueError("no spine chain above the legs")
    head_leaf = max(upper, key=lambda j: tips[j, 1])
    spine = tree.path(tree.lca(pelvis, head_leaf), head_leaf)
    legs = {foot: _leg(tree, pelvis, foot, starts, tips) for foot in (foot_a, foot_b)}
    thigh_shin = np.mean(
        [np.linalg.norm(starts[h] - starts[k]) + np.linalg.norm(starts[k] - starts[a])
         for h, k, a, _ in legs.values()]
    )  # fmt: skip
    height = thigh_shin / 0.49  # hip to ankle is 0.49 of standing height
    arms = _arms(tree, spine, in_legs, starts, tips, height)
    neck, head = _neck_and_head(spine, arms, starts, tips, height)

    joints: dict[str, int] = {"neck": neck, "head": head}
    points: dict[str, tuple[int, str]] = {}
    sides = ("left", "right") if side_a > 0 else ("right", "left")
    for foot, side in zip((foot_a, foot_b), sides, strict=True):
        hip, knee, ankle, toe = legs[foot]
        joints |= {f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle}
        if toe is not None:
            points[f"{side}_toe"] = toe
    for sign, side in ((1.0, "left"), (-1.0, "right")):
        shoulder, elbow, wrist, hand_point, _, _ = arms[sign]
        joints |= {f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist}
        if hand_point is not None:
            points[f"{side}_hand"] = hand_point
    roles = SkeletonRoles(joints, points, tree.path(0, neck), "hierarchy")
    if _handedness(roles, starts, tips) < 0:  # the toes point backwards: it faces -z
        roles = _swap_sides(roles)
    return roles


def _swap_sides(roles: SkeletonRoles) -> SkeletonRoles:
    def swap(name: str) -> str:
        if name.startswith("left_"):
            return "right_" + name[5:]
        if name.startswith("right_"):
            return "left_" + name[6:]
        return name

    return replace(
        roles,
        joints={swap(k): v for k, v in roles.joints.items()},
        points={swap(k): v for k, v in roles.points.items()},
    )


def _point_at(starts: np.ndarray, tips: np.ndarray, point: tuple[int, str]) -> np.ndarray:
    joint, where = point
    return starts[..., joint, :] if where == "start" else tips[..., joint, :]


def _handedness(roles: SkeletonRoles, starts: np.ndarray, tips: np.ndarray) -> float:
    """> 0 when the toes point forwards for a person whose left is ``left_hip`` (forward =
    left x up, right-handed), < 0 when mirrored, 0 when the feet have no toe points."""
    j = roles.joints
    left = starts[j["left_hip"]] - starts[j["right_hip"]]
    forward = np.cross(left, [0.0, 1.0, 0.0])
    total = 0.0
    for side in ("left", "right"):
        if f"{side}_toe" in roles.points:
            toe = _point_at(starts, tips, roles.points[f"{side}_toe"])
            total += float((toe - starts[j[f"{side}_ankle"]]) @ forward)
    return total


def find_roles(skeleton: PosedSkeleton, source: str) -> SkeletonRoles:
    """Body-28 roles of a skeleton's joints, by name, else by hierarchy."""
    found = _roles_from_names(skeleton)
    if isinstance(found, SkeletonRoles):
        return found
    try:
        return _roles_from_hierarchy(skeleton)
    except ValueError as exc:
        raise ClipFormatError(
            f"{source}: cannot map the skeleton to body-28: by name, {found}; by hierarchy, {exc}"
        ) from None


@dataclass
class _Reference:
    """An upright pose of the skeleton: starts/tips ``(J, 3)``, rotations ``(J, 3, 3)``,
    the body axes there (left, up, forward) and the standing height (file units)."""

    starts: np.ndarray
    tips: np.ndarray
    rotations: np.ndarray
    axes: np.ndarray
    height: float
    label: str


def _leg_and_trunk(roles: SkeletonRoles, starts: np.ndarray) -> tuple[float, float]:
    j = roles.joints
    legs = np.mean(
        [
            np.linalg.norm(starts[..., j[f"{s}_hip"], :] - starts[..., j[f"{s}_knee"], :], axis=-1)
            + np.linalg.norm(
                starts[..., j[f"{s}_knee"], :] - starts[..., j[f"{s}_ankle"], :], axis=-1
            )
            for s in ("left", "right")
        ],
        axis=0,
    )
    hips = (starts[..., j["left_hip"], :] + starts[..., j["right_hip"], :]) / 2
    trunk = np.linalg.norm(starts[..., j["head"], :] - hips, axis=-1)
    return legs, trunk


def _reference(skeleton: PosedSkeleton, roles: SkeletonRoles) -> _Reference:
    """The reference pose: the zero pose or else frame 0 when upright (head to ankles over
    0.9 of the leg and trunk lengths), else the most upright frame (1 in 10)."""
    j = roles.joints

    def uprightness(starts: np.ndarray) -> np.ndarray:
        legs, trunk = _leg_and_trunk(roles, starts)
        ankles = (starts[..., j["left_ankle"], 1] + starts[..., j["right_ankle"], 1]) / 2
        return (starts[..., j["head"], 1] - ankles) / np.maximum(legs + trunk, 1e-9)

    rest_rotations = np.broadcast_to(np.eye(3), skeleton.rotations.shape[1:])
    candidates = [(skeleton.rest_starts, skeleton.rest_ends, rest_rotations, "rest")]
    candidates.append((skeleton.starts[0], skeleton.ends[0], skeleton.rotations[0], "frame 0"))
    chosen = next((c for c in candidates if uprightness(c[0]) > 0.9), None)
    if chosen is None:
        scores = uprightness(skeleton.starts[::10])
        frame = int(np.argmax(scores)) * 10
        rot = skeleton.rotations[frame]
        chosen = (skeleton.starts[frame], skeleton.ends[frame], rot, f"frame {frame}")
    starts, ends, rotations, label = chosen
    tips = np.where(np.isfinite(ends), ends, starts)
    up = np.array([0.0, 1.0, 0.0])
    left = starts[j["left_hip"]] - starts[j["right_hip"]]
    left = left - (left @ up) * up
    left /= max(float(np.linalg.norm(left)), 1e-9)
    forward = np.cross(left, up)
    # Standing height: leg bones are rigid; the trunk is taken at its most upright
    # (95th percentile over the take), so a stooped reference pose does not shrink it.
    legs, trunk = _leg_and_trunk(roles, starts)
    _, trunks = _leg_and_trunk(roles, skeleton.starts[::4])
    height = float(legs + max(float(trunk), float(np.percentile(trunks, 95)))) / _MEASURED_SPAN
    return _Reference(starts, tips, rotations, np.stack([left, up, forward]), height, label)


def choose_scale(
    height_units: float, units: str = "auto", prior: float | None = None
) -> tuple[float, str]:
    """Metres per file unit and its name, for a skeleton ``height_units`` tall.

    ``units``: ``"auto"`` or a key of :data:`UNIT_METRES`. ``"auto"`` takes ``prior``
    (e.g. what an ASF header says) when it gives a plausible height, else the plausible
    unit nearest 1.7 m, else scales the person to :data:`NOMINAL_HEIGHT_M`.
    """
    if units != "auto":
        if units not in UNIT_METRES:
            raise ValueError(f"unknown units {units!r}; expected auto, {', '.join(UNIT_METRES)}")
        return UNIT_METRES[units], units
    low, high = PLAUSIBLE_HEIGHT_M
    if prior is not None and low <= height_units * prior <= high:
        return prior, "file"
    plausible = [(n, s) for n, s in UNIT_METRES.items() if low <= height_units * s <= high]
    if plausible:
        name, scale = min(plausible, key=lambda ns: abs(np.log(height_units * ns[1] / 1.7)))
        return scale, name
    return NOMINAL_HEIGHT_M / max(height_units, 1e-9), "normalised"


def _carried(
    skeleton: PosedSkeleton, ref: _Reference, joint: int, anchor: np.ndarray, offset: np.ndarray
) -> np.ndarray:
    """``anchor (T, 3)`` plus a body-frame ``offset`` (x left, y up, z forward; file
    units) fixed to ``joint``'s bone as it was in the reference pose, ``(T, 3)``."""
    in_world = offset @ ref.axes
    local = ref.rotations[joint].T @ in_world
    return anchor + np.einsum("tij,j->ti", skeleton.rotations[:, joint], local)


def _spine_point(skeleton: PosedSkeleton, roles: SkeletonRoles, ref: _Reference) -> np.ndarray:
    """``(T, 3)``: the point of the measured spine chain (root to neck base) that stands
    at the simulator's spine height above the hip centre in the reference pose."""
    j = roles.joints
    hips = (ref.starts[j["left_hip"]] + ref.starts[j["right_hip"]]) / 2
    axis = ref.starts[j["neck"]] - hips
    axis = axis / max(float(np.linalg.norm(axis)), 1e-12)
    heights = (ref.starts[roles.spine] - hips) @ axis
    target = min(_HIPS_TO_SPINE * ref.height, float(heights.max()))
    chain = roles.spine
    for k in range(len(chain) - 1):
        low, high = heights[k], heights[k + 1]
        if low <= target <= high and high > low:
            u = (target - low) / (high - low)
            a, b = skeleton.starts[:, chain[k]], skeleton.starts[:, chain[k + 1]]
            return a + u * (b - a)
    # The chain starts above the target (a high root): take its lowest point.
    return skeleton.starts[:, chain[int(np.argmin(heights))]]


def _body_offsets() -> dict[str, np.ndarray]:
    """Body-28 rest offsets (fractions of height; x left, y up, z forward) of the joints
    we carry on bones, right side mirrored."""
    offsets = {}
    for name, (vector, _) in _REST_FRACTIONS.items():
        offsets[name] = np.array(vector)
        if name.startswith("left_"):
            offsets["right_" + name[5:]] = np.array(vector) * [-1, 1, 1]
    return offsets


_OFFSETS = _body_offsets()
_FACE = ("head_top", "nose", "left_eye", "right_eye", "left_ear", "right_ear")


def skeleton_to_body28(
    skeleton: PosedSkeleton,
    source: str,
    *,
    units: str = "auto",
    prior_scale: float | None = None,
) -> tuple[np.ndarray, list[str], dict]:
    """Body-28 joints ``(T, 28, 3)`` in metres (y up), the derived joints, and facts about
    the mapping (method, reference pose, height, unit) for ``body.extra``."""
    index: dict[str, int] = {}
    for joint, name in enumerate(skeleton.names):
        index.setdefault(normalise_name(name), joint)
    if all(name in index for name in BODY_JOINT_NAMES):  # our own writer's names
        joints = skeleton.starts[:, [index[n] for n in BODY_JOINT_NAMES]]
        height = float(np.ptp(joints[0, :, 1]))
        scale, unit = choose_scale(height, units, prior_scale)
        info = {"mapping": "body28", "skeleton_height_m": round(height * scale, 4)}
        return joints * scale, [], info | {"units": unit}
    roles = find_roles(skeleton, source)
    try:
        ref = _reference(skeleton, roles)
    except ValueError as exc:
        raise ClipFormatError(f"{source}: {exc}") from None
    scale, unit = choose_scale(ref.height, units, prior_scale)
    j, starts, height = roles.joints, skeleton.starts, ref.height
    partial = {
        name: starts[:, j[name]]
        for name in j
        if name.startswith(("left_", "right_"))  # hips ... wrists
    }
    # No thorax: rigs put the neck base anywhere from 7 cm below the shoulders (CMU's
    # lowerneck) to 5 cm above them (cgspeed, iClone); completion derives it just above
    # the shoulder centre, where the simulator has it.
    partial["neck_top"] = starts[:, j["head"]]
    partial["spine"] = _spine_point(skeleton, roles, ref)
    tips = np.where(np.isfinite(skeleton.ends), skeleton.ends, skeleton.starts)
    derived: list[str] = []
    for name in _FACE:
        if name == "head_top" and "head_top" in roles.points:
            partial[name] = _point_at(starts, tips, roles.points["head_top"])
            continue
        offset = _OFFSETS[name] * height  # body-28 face offsets are all from neck_top
        partial[name] = _carried(skeleton, ref, j["head"], partial["neck_top"], offset)
        derived.append(name)
    for side in ("left", "right"):
        ankle = j[f"{side}_ankle"]
        for part in ("heel", "toe"):
            name = f"{side}_{part}"
            if part == "toe" and name in roles.points:
                partial[name] = _point_at(starts, tips, roles.points[name])
                continue
            offset = _OFFSETS[name] * height
            partial[name] = _carried(skeleton, ref, ankle, partial[f"{side}_ankle"], offset)
            derived.append(name)
        partial[f"{side}_hand"] = _hand(skeleton, roles, ref, side, tips)
    try:
        joints, completed = complete_body(partial)
    except ValueError as exc:
        raise ClipFormatError(f"{source}: {exc}") from exc
    info = {
        "mapping": roles.method,
        "reference_pose": ref.label,
        "skeleton_height_m": round(height * scale, 4),
        "units": unit,
        "metres_per_unit": scale,
        "handedness": "ok" if _handedness(roles, ref.starts, ref.tips) >= 0 else "mirrored",
    }
    return joints * scale, sorted(set(completed + derived)), info


def _hand(
    skeleton: PosedSkeleton, roles: SkeletonRoles, ref: _Reference, side: str, tips: np.ndarray
) -> np.ndarray:
    """``(T, 3)``: the hand point on the measured hand direction (finger base, or the wrist
    bone's end), at the simulator's distance beyond the wrist; without one, the wrist
    bone carries the forearm's direction."""
    wrist = skeleton.starts[:, roles.joints[f"{side}_wrist"]]
    reach = _HAND_BEYOND_WRIST * ref.height
    point = roles.points.get(f"{side}_hand")
    if point is not None:
        direction = _point_at(skeleton.starts, tips, point) - wrist
        norm = np.linalg.norm(direction, axis=-1, keepdims=True)
        if (norm > 1e-6 * ref.height).all():
            return wrist + direction / norm * reach
    j = roles.joints
    forearm = ref.starts[j[f"{side}_wrist"]] - ref.starts[j[f"{side}_elbow"]]
    forearm_body = ref.axes @ forearm / max(float(np.linalg.norm(forearm)), 1e-9)
    return _carried(skeleton, ref, j[f"{side}_wrist"], wrist, forearm_body * reach)


def finish_clip(
    joints: np.ndarray,
    derived: list[str],
    clip_id: str,
    fps: float,
    movement: str,
    source: str,
    info: dict,
) -> Clip:
    """:func:`~synthetic_data.completion.external_clip` plus the mapping facts in
    ``body.extra``; NaN motion raises :class:`ClipFormatError`.

    ``body.height`` is the skeleton's standing height (``info["skeleton_height_m"]``)
    when known: the motion's own extent is no height for a take spent lying or crouching
    (it stays in ``body.extra["motion_height_m"]``)."""
    if not np.isfinite(joints).all():
        raise ClipFormatError(f"{clip_id}: the motion holds NaN or infinite positions")
    clip = external_clip(joints, derived, clip_id, fps, [], movement, source)
    extra = {**clip.body.extra, **info, "motion_height_m": clip.body.height}
    height = info.get("skeleton_height_m", clip.body.height)
    clip.body = replace(clip.body, height=height, extra=extra)
    return clip
