"""Real motion capture readers: BVH in every naming, ASF/AMC, the manifest and its split.

Every file is small and written here: one anatomical template (a 1.75 m person in a
T-pose, facing +z, left at +x) laid out as each convention's bone hierarchy, so that
each convention must find the same hips, knees, ankles, shoulders, elbows and wrists.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from synthetic_data.asfamc import read_asf_amc
from synthetic_data.body import J
from synthetic_data.bvh import CGSPEED_METRES, read_bvh, write_bvh
from synthetic_data.clip import ClipFormatError
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.mocap import (
    UnsupportedTake,
    iter_takes,
    load_manifest,
    movement_kind,
    read_take,
    split_of,
)

# Anatomical points of the template (metres; left side, the right mirrors x).
POINTS = {
    "root": (0.0, 0.98, -0.02), "buttock": (0.09, 1.0, -0.03), "hip": (0.09, 0.92, 0.0),
    "midthigh": (0.09, 0.71, 0.0), "knee": (0.09, 0.50, 0.01), "ankle": (0.09, 0.08, 0.0),
    "ball": (0.09, 0.02, 0.12), "toe": (0.09, 0.01, 0.18), "spine1": (0.0, 1.10, -0.03),
    "spine2": (0.0, 1.26, -0.03), "neck": (0.0, 1.45, -0.02), "neck2": (0.0, 1.52, -0.01),
    "head": (0.0, 1.58, 0.0), "head_end": (0.0, 1.68, 0.0), "crown": (0.0, 1.77, 0.0),
    "eye": (0.03, 1.66, 0.08), "collar": (0.02, 1.44, 0.0), "shoulder": (0.18, 1.47, -0.02),
    "elbow": (0.46, 1.47, -0.02), "forearm": (0.58, 1.47, -0.02), "wrist": (0.71, 1.47, -0.02),
    "hand": (0.79, 1.47, -0.02), "fingertip": (0.89, 1.47, -0.02), "thumb": (0.75, 1.46, 0.03),
}  # fmt: skip
MEASURED = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")


def point(key: str) -> np.ndarray:
    """``"L.knee"`` / ``"R.knee"`` / ``"neck"`` -> metres."""
    side, _, name = key.rpartition(".")
    value = np.array(POINTS[name])
    return value * [-1, 1, 1] if side == "R" else value


def table(text: str, left: str, right: str) -> list[tuple[str, str, str, str | None]]:
    """Bone rows ``name parent start [end]`` (``-``: none); a row with ``{s}`` stands for
    both sides (``{s}`` -> ``left`` / ``right``, ``S.`` -> ``L.`` / ``R.``)."""
    rows = []
    for line in text.strip().splitlines():
        name, parent, start, *end = line.split()
        parent = "" if parent == "-" else parent
        sides = ((left, "L"), (right, "R")) if "{s}" in name else (("", ""),)
        for s, side in sides:
            rows.append(
                (
                    name.format(s=s),
                    parent.format(s=s),
                    start.replace("S.", f"{side}."),
                    end[0].replace("S.", f"{side}.") if end else None,
                )
            )
    return rows


CMU = table(
    """
    root - root
    {s}hipjoint root root
    {s}femur {s}hipjoint S.hip
    {s}tibia {s}femur S.knee
    {s}foot {s}tibia S.ankle
    {s}toes {s}foot S.ball S.toe
    lowerback root root
    upperback lowerback spine1
    thorax upperback spine2
    lowerneck thorax neck
    upperneck lowerneck neck2
    head upperneck head head_end
    {s}clavicle thorax neck
    {s}humerus {s}clavicle S.shoulder
    {s}radius {s}humerus S.elbow
    {s}wrist {s}radius S.forearm
    {s}hand {s}wrist S.wrist
    {s}fingers {s}hand S.hand S.fingertip
    {s}thumb {s}wrist S.wrist S.thumb
    """,
    "l",
    "r",
)
CGSPEED = table(
    """
    hip - root
    abdomen hip spine1
    chest abdomen spine2
    neck chest neck
    head neck head
    {s}Collar chest S.collar
    {s}Shldr {s}Collar S.shoulder
    {s}ForeArm {s}Shldr S.elbow
    {s}Hand {s}ForeArm S.wrist
    {s}Thumb1 {s}Hand S.thumb S.thumb
    {s}Mid1 {s}Hand S.hand S.fingertip
    {s}Buttock hip S.buttock
    {s}Thigh {s}Buttock S.hip
    {s}Shin {s}Thigh S.knee
    {s}Foot {s}Shin S.ankle S.toe
    """,
    "l",
    "r",
) + table("{s}Eye head S.eye S.eye", "left", "right")
ICLONE = table(
    """
    CC_Base_Hip - root
    CC_Base_Pelvis CC_Base_Hip root
    CC_Base_{s}_Thigh CC_Base_Pelvis S.hip
    CC_Base_{s}_ThighTwist01 CC_Base_{s}_Thigh S.hip
    CC_Base_{s}_ThighTwist02 CC_Base_{s}_ThighTwist01 S.midthigh S.midthigh
    CC_Base_{s}_Calf CC_Base_{s}_Thigh S.knee
    CC_Base_{s}_Foot CC_Base_{s}_Calf S.ankle
    CC_Base_{s}_ToeBase CC_Base_{s}_Foot S.ball S.toe
    CC_Base_Waist CC_Base_Hip spine1
    CC_Base_Spine01 CC_Base_Waist spine1
    CC_Base_Spine02 CC_Base_Spine01 spine2
    CC_Base_NeckTwist01 CC_Base_Spine02 neck
    CC_Base_NeckTwist02 CC_Base_NeckTwist01 neck2
    CC_Base_Head CC_Base_NeckTwist02 head head_end
    CC_Base_{s}_Clavicle CC_Base_Spine02 S.collar
    CC_Base_{s}_Upperarm CC_Base_{s}_Clavicle S.shoulder
    CC_Base_{s}_UpperarmTwist01 CC_Base_{s}_Upperarm S.shoulder S.elbow
    CC_Base_{s}_Forearm CC_Base_{s}_Upperarm S.elbow
    CC_Base_{s}_Hand CC_Base_{s}_Forearm S.wrist
    CC_Base_{s}_Mid1 CC_Base_{s}_Hand S.hand S.fingertip
    """,
    "L",
    "R",
)
MIXAMO = table(
    """
    mixamorig:Hips - root
    mixamorig:{s}UpLeg mixamorig:Hips S.hip
    mixamorig:{s}Leg mixamorig:{s}UpLeg S.knee
    mixamorig:{s}Foot mixamorig:{s}Leg S.ankle
    mixamorig:{s}ToeBase mixamorig:{s}Foot S.ball
    mixamorig:{s}Toe_End mixamorig:{s}ToeBase S.toe S.toe
    mixamorig:Spine mixamorig:Hips spine1
    mixamorig:Spine1 mixamorig:Spine spine2
    mixamorig:Neck mixamorig:Spine1 neck
    mixamorig:Head mixamorig:Neck head
    mixamorig:HeadTop_End mixamorig:Head crown crown
    mixamorig:{s}Shoulder mixamorig:Spine1 S.collar
    mixamorig:{s}Arm mixamorig:{s}Shoulder S.shoulder
    mixamorig:{s}ForeArm mixamorig:{s}Arm S.elbow
    mixamorig:{s}Hand mixamorig:{s}ForeArm S.wrist
    mixamorig:{s}HandMiddle1 mixamorig:{s}Hand S.hand S.fingertip
    """,
    "Left",
    "Right",
)
LEFTHIP = table(
    """
    Hips - root
    {s}Hip Hips S.hip
    {s}Knee {s}Hip S.knee
    {s}Ankle {s}Knee S.ankle
    {s}Toe {s}Ankle S.ball S.toe
    lowerback Hips spine1
    Chest lowerback spine2
    Neck Chest neck
    Head Neck head head_end
    {s}Shoulder Chest S.shoulder
    {s}Elbow {s}Shoulder S.elbow
    {s}Wrist {s}Elbow S.wrist S.hand
    """,
    "Left",
    "Right",
)
LEFTUPLEG = table(
    """
    Hips - root
    {s}HipJoint Hips root
    {s}UpLeg {s}HipJoint S.hip
    {s}Leg {s}UpLeg S.knee
    {s}Foot {s}Leg S.ankle
    {s}ToeBase {s}Foot S.ball S.toe
    LowerBack Hips root
    Spine LowerBack spine1
    Spine1 Spine spine2
    Neck Spine1 neck
    Neck1 Neck neck2
    Head Neck1 head head_end
    {s}Shoulder Spine1 S.collar
    {s}Arm {s}Shoulder S.shoulder
    {s}ForeArm {s}Arm S.elbow
    {s}Hand {s}ForeArm S.wrist
    {s}FingerBase {s}Hand S.hand S.fingertip
    """,
    "Left",
    "Right",
)
CONVENTIONS = {
    "cmu": (CMU, 1 / CGSPEED_METRES, {"knee": "ltibia", "elbow": "lradius"}),
    "cgspeed": (CGSPEED, 100.0, {"knee": "lShin", "elbow": "lForeArm"}),
    "reallusion": (ICLONE, 100.0, {"knee": "CC_Base_L_Calf", "elbow": "CC_Base_L_Forearm"}),
    "mixamo": (MIXAMO, 100.0, {"knee": "mixamorig:LeftLeg", "elbow": "mixamorig:LeftForeArm"}),
    "lefthip": (LEFTHIP, 1.0, {"knee": "LeftKnee", "elbow": "LeftElbow"}),
    "leftupleg": (LEFTUPLEG, 100.0, {"knee": "LeftLeg", "elbow": "LeftForeArm"}),
}


def bvh_text(rows, scale: float, frames: list[dict], fps: float = 120.0) -> str:
    """BVH of ``rows`` ``(name, parent, start, end)`` (rest pose = the template, in metres
    times ``scale``); each frame maps a bone name to its ``(z, x, y)`` degrees, ``"@"`` to
    a root offset (metres)."""
    position = {name: point(start) * scale for name, _, start, _ in rows}
    children: dict[str, list[str]] = {}
    for name, parent, _, _ in rows:
        children.setdefault(parent, []).append(name)
    ends = {name: end for name, _, _, end in rows}
    parents = {name: parent for name, parent, _, _ in rows}
    lines, order = ["HIERARCHY"], []

    def emit(name: str, depth: int) -> None:
        order.append(name)
        pad = "  " * depth
        offset = position[name] - (position[parents[name]] if parents[name] else 0)
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET " + " ".join(f"{v:.6f}" for v in offset))
        channels = "6 Xposition Yposition Zposition" if depth == 0 else "3"
        lines.append(f"{pad}  CHANNELS {channels} Zrotation Xrotation Yrotation")
        for child in children.get(name, []):
            emit(child, depth + 1)
        if ends[name] is not None:
            site = point(ends[name]) * scale - position[name]
            lines.extend([f"{pad}  End Site", f"{pad}  {{"])
            lines.extend([f"{pad}    OFFSET " + " ".join(f"{v:.6f}" for v in site), f"{pad}  }}"])
        lines.append(pad + "}")

    emit(rows[0][0], 0)
    lines += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {1 / fps:.8f}"]
    for frame in frames:
        values = list(np.asarray(frame.get("@", (0, 0, 0))) * scale)
        for name in order:
            values += list(frame.get(name, (0.0, 0.0, 0.0)))
        lines.append(" ".join(f"{v:.6f}" for v in values))
    return "\n".join(lines) + "\n"


def relative(joints: np.ndarray) -> np.ndarray:
    """Positions relative to the hip centre (removes the floor shift and root offset)."""
    hips = (joints[..., J["left_hip"], :] + joints[..., J["right_hip"], :]) / 2
    return joints - hips[..., None, :]


def template_relative(key: str) -> np.ndarray:
    return point(key) - (point("L.hip") + point("R.hip")) / 2


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_each_naming_finds_the_anatomical_joints(tmp_path, convention):
    rows, scale, names = CONVENTIONS[convention]
    bent = {names["knee"]: (0.0, 60.0, 0.0), names["elbow"]: (0.0, 0.0, -90.0)}
    path = tmp_path / f"{convention}.bvh"
    path.write_text(bvh_text(rows, scale, [{}, bent]))
    clip = read_bvh(path)
    assert clip.body.extra["mapping"] == "names"
    rest = relative(clip.joints[0])
    for side, prefix in (("left", "L"), ("right", "R")):
        for name in MEASURED:
            np.testing.assert_allclose(
                rest[J[f"{side}_{name}"]], template_relative(f"{prefix}.{name}"), atol=1e-4,
                err_msg=f"{convention} {side}_{name}",
            )  # fmt: skip
    assert rest[J["left_hip"], 0] > 0 > rest[J["right_hip"], 0]  # left is +x: left
    np.testing.assert_allclose(rest[J["neck_top"]], template_relative("head"), atol=1e-4)
    # The thorax is derived just above the shoulder centre, whatever the rig's neck base.
    shoulders = (rest[J["left_shoulder"]] + rest[J["right_shoulder"]]) / 2
    np.testing.assert_allclose(rest[J["thorax"]] - shoulders, [0, 0.0176, 0], atol=0.003)
    # Frame 1: the knee bends backwards (Xrotation +60), the elbow forwards.
    knee, ankle = clip.joints[1, J["left_knee"]], clip.joints[1, J["left_ankle"]]
    np.testing.assert_allclose(knee, clip.joints[0, J["left_knee"]], atol=1e-5)
    shank = np.linalg.norm(point("L.knee") - point("L.ankle"))
    assert ankle[2] < knee[2] - 0.8 * shank * np.sin(np.radians(60))
    elbow, wrist = clip.joints[1, J["left_elbow"]], clip.joints[1, J["left_wrist"]]
    assert wrist[2] > elbow[2] + 0.2
    derived = set(clip.body.extra["derived_joints"])
    assert {"pelvis", "thorax", "nose", "left_heel"} <= derived
    assert not derived & {f"{s}_{n}" for s in ("left", "right") for n in MEASURED}
    assert 1.6 < clip.body.height < 1.9


def test_face_and_heels_follow_the_head_and_feet(tmp_path):
    """Derived joints ride on their bone: a nod moves the nose down, a heel raise lifts
    the heel (CMU naming, ``head`` and ``lfoot`` rotated)."""
    frames = [{}, {"head": (0.0, 40.0, 0.0), "lfoot": (0.0, 30.0, 0.0)}]
    (tmp_path / "nod.bvh").write_text(bvh_text(CMU, 1 / CGSPEED_METRES, frames))
    clip = read_bvh(tmp_path / "nod.bvh")
    rel = relative(clip.joints)
    assert rel[1, J["nose"], 1] < rel[0, J["nose"], 1] - 0.02
    assert rel[1, J["nose"], 2] > rel[0, J["nose"], 2]
    assert rel[1, J["left_heel"], 1] > rel[0, J["left_heel"], 1] + 0.02
    np.testing.assert_allclose(rel[1, J["right_heel"]], rel[0, J["right_heel"]], atol=1e-6)


def test_a_person_facing_backwards_keeps_left_on_the_left(tmp_path):
    turned = {"root": (0.0, 0.0, 180.0)}  # Yrotation 180: facing -z, left at -x
    (tmp_path / "turned.bvh").write_text(bvh_text(CMU, 1 / CGSPEED_METRES, [turned]))
    joints = read_bvh(tmp_path / "turned.bvh").joints[0]
    assert joints[J["left_hip"], 0] < joints[J["right_hip"], 0]
    left = joints[J["left_hip"]] - joints[J["right_hip"]]
    forward = np.cross(left, [0.0, 1.0, 0.0])
    assert (joints[J["left_toe"]] - joints[J["left_ankle"]]) @ forward > 0
    assert (joints[J["nose"]] - joints[J["neck_top"]]) @ forward > 0


def test_hierarchy_fallback_on_nonsense_names(tmp_path):
    named = tmp_path / "cmu.bvh"
    named.write_text(bvh_text(CMU, 1 / CGSPEED_METRES, [{}, {"ltibia": (0.0, 45.0, 0.0)}]))
    text = named.read_text()
    for number, name in enumerate(re.findall(r"(?:ROOT|JOINT) (\S+)", text)):
        text = re.sub(rf"\b(ROOT|JOINT) {name}\n", rf"\1 bone{number:02d}\n", text)
    (tmp_path / "nonsense.bvh").write_text(text)
    by_name, by_shape = read_bvh(named), read_bvh(tmp_path / "nonsense.bvh")
    assert by_shape.body.extra["mapping"] == "hierarchy"
    for side in ("left", "right"):
        for name in (*MEASURED, "toe"):
            index = J[f"{side}_{name}"]
            np.testing.assert_allclose(
                by_shape.joints[:, index], by_name.joints[:, index], atol=1e-4
            )
    for name in ("thorax", "neck_top"):
        np.testing.assert_allclose(
            by_shape.joints[:, J[name]], by_name.joints[:, J[name]], atol=1e-4
        )


@pytest.mark.parametrize("facing", [0.0, 180.0])
def test_hierarchy_fallback_on_a_simulated_squat(tmp_path, facing):
    """Our own writer's skeleton with its names scrambled: arms hang down, the body has
    its own proportions, and facing -z must not swap the sides."""
    clip = generate_clip(ClipRequest(seed=5, movement="squat", duration_s=1.0, facing_deg=facing))
    text = write_bvh(clip, tmp_path / "squat.bvh").read_text()
    names = iter(range(100))
    text = re.sub(r"(ROOT|JOINT) (\w+)", lambda m: f"{m[1]} x{next(names):02d}", text)
    (tmp_path / "scrambled.bvh").write_text(text)
    read = read_bvh(tmp_path / "scrambled.bvh")
    assert read.body.extra["mapping"] == "hierarchy"
    names = [f"{s}_{n}" for s in ("left", "right") for n in (*MEASURED, "toe")]
    for name in [*names, "neck_top"]:
        np.testing.assert_allclose(
            relative(read.joints)[:, J[name]], relative(clip.joints)[:, J[name]], atol=1e-3,
            err_msg=name,
        )  # fmt: skip
    # Derived where the simulator puts them (the thorax above the shoulders, the spine on
    # the measured spine chain), within a centimetre.
    for name in ("thorax", "spine", "pelvis", "nose", "left_heel"):
        error = np.linalg.norm(read.joints[:, J[name]] - clip.joints[:, J[name]], axis=-1)
        assert error.max() < 0.03 and np.median(error) < 0.015, name


@pytest.mark.parametrize(
    ("scale", "unit"),
    [(1.0, "m"), (100.0, "cm"), (1 / 0.0254, "inch"), (1 / CGSPEED_METRES, "cgspeed"),
     (3.7, "normalised")],
)  # fmt: skip
def test_units_from_the_skeleton_height(tmp_path, scale, unit):
    (tmp_path / "u.bvh").write_text(bvh_text(CMU, scale, [{}]))
    clip = read_bvh(tmp_path / "u.bvh")
    assert clip.body.extra["units"] == unit
    assert 1.6 < clip.body.height < 1.9
    assert 1.6 < clip.body.extra["skeleton_height_m"] < 1.9


def test_fps_override_and_skipped_t_pose(tmp_path):
    frames = [{"lhumerus": (-80.0, 0.0, 0.0)}, {}, {}, {}]
    (tmp_path / "t.bvh").write_text(bvh_text(CMU, 1 / CGSPEED_METRES, frames, fps=120.0))
    clip = read_bvh(tmp_path / "t.bvh", fps=60.0, skip_frames=1)
    assert clip.fps == 60.0 and clip.num_frames == 3
    with pytest.raises(ClipFormatError, match="nothing left"):
        read_bvh(tmp_path / "t.bvh", skip_frames=4)


def test_bad_bvh_files_are_named(tmp_path):
    legless = [r for r in CMU if not r[0][1:].startswith(("hip", "femur", "tibia", "foot", "toes"))]
    (tmp_path / "legless.bvh").write_text(bvh_text(legless, 1.0, [{}]))
    with pytest.raises(ClipFormatError, match=r"legless\.bvh: cannot map the skeleton"):
        read_bvh(tmp_path / "legless.bvh")
    text = bvh_text(CMU, 1.0, [{}, {}])
    (tmp_path / "cut.bvh").write_text(text[: text.rindex("\n", 0, -2)])
    with pytest.raises(ClipFormatError, match=r"cut\.bvh: truncated motion"):
        read_bvh(tmp_path / "cut.bvh")
    lines = text.splitlines()
    lines[-1] = lines[-1].rsplit(" ", 1)[0] + " nan"
    (tmp_path / "nan.bvh").write_text("\n".join(lines) + "\n")
    with pytest.raises(ClipFormatError, match=r"nan\.bvh: .*NaN"):
        read_bvh(tmp_path / "nan.bvh")


# --- ASF/AMC ---------------------------------------------------------------------------

ASF_BONES = [  # name, direction, length (CMU units), axis, dof
    ("lhipjoint", (0.66, -0.71, 0.25), 2.5, "0 0 0", ""),
    ("lfemur", (0.34202, -0.939693, 0), 7.6, "0 0 20", "rx ry rz"),
    ("ltibia", (0.34202, -0.939693, 0), 7.3, "0 0 20", "rx"),
    ("lfoot", (0.09, -0.24, 0.97), 2.2, "-90 0 20", "rx rz"),
    ("ltoes", (0, 0, 1), 1.1, "-90 0 20", "rx"),
    ("lowerback", (0, 1, 0), 2.06, "0 0 0", "rx ry rz"),
    ("upperback", (0, 1, 0), 2.06, "0 0 0", "rx ry rz"),
    ("thorax", (0, 1, 0), 2.07, "0 0 0", "rx ry rz"),
    ("lowerneck", (0, 1, 0), 1.57, "0 0 0", "rx ry rz"),
    ("upperneck", (0, 1, 0), 1.56, "0 0 0", "rx ry rz"),
    ("head", (0, 1, 0), 1.63, "0 0 0", "rx ry rz"),
    ("lclavicle", (0.97, 0.25, -0.05), 3.66, "0 0 0", "ry rz"),
    ("lhumerus", (1, 0, 0), 4.87, "180 -30 -90", "rx ry rz"),
    ("lradius", (1, 0, 0), 3.36, "180 -30 -90", "rx"),
    ("lwrist", (1, 0, 0), 1.68, "0 90 90", "ry"),
    ("lhand", (1, 0, 0), 0.66, "0 90 90", "rx rz"),
    ("lfingers", (1, 0, 0), 0.53, "0 90 90", "rx"),
]
ASF_TREE = """root lhipjoint rhipjoint lowerback
lhipjoint lfemur
lfemur ltibia
ltibia lfoot
lfoot ltoes
rhipjoint rfemur
rfemur rtibia
rtibia rfoot
rfoot rtoes
lowerback upperback
upperback thorax
thorax lowerneck lclavicle rclavicle
lowerneck upperneck
upperneck head
lclavicle lhumerus
lhumerus lradius
lradius lwrist
lwrist lhand
lhand lfingers
rclavicle rhumerus
rhumerus rradius
rradius rwrist
rwrist rhand
rhand rfingers"""


def asf_text(length_unit: float = 0.45, radians: bool = False, scale: float = 1.0) -> str:
    """The CMU skeleton of ``ASF_BONES`` (right side mirrored), optionally in radians."""
    bones = []
    for name, direction, _, axis, dof in ASF_BONES:
        angles = np.array(axis.split(), dtype=float)
        bones.append((name, np.array(direction, dtype=float), angles, dof))
        if name.startswith("l") and not name.startswith("lower"):  # a left bone
            mirrored = np.array(direction, dtype=float) * [-1, 1, 1]
            bones.append(("r" + name[1:], mirrored, angles * [1, -1, -1], dof))
    lines = [":version 1.10", ":name VICON", ":units", "  mass 1.0", f"  length {length_unit}",
             f"  angle {'rad' if radians else 'deg'}", ":documentation", "   test skeleton",
             ":root", "   order TX TY TZ RX RY RZ", "   axis XYZ", "   position 0 0 0",
             "   orientation 0 0 0", ":bonedata"]  # fmt: skip
    lengths = {name: length for name, _, length, _, _ in ASF_BONES}
    for number, (name, direction, angles, dof) in enumerate(bones, start=1):
        axis = np.radians(angles) if radians else angles
        length = lengths["l" + name[1:] if name.startswith("r") else name] * scale
        lines += ["  begin", f"     id {number}", f"     name {name}",
                  "     direction " + " ".join(f"{v:g}" for v in direction),
                  f"     length {length:g}",
                  "     axis " + " ".join(f"{v:.9g}" for v in axis) + " XYZ"]  # fmt: skip
        if dof:
            lines += [f"    dof {dof}", "    limits (-180.0 180.0)"]
            lines += ["           (-180.0 180.0)"] * (len(dof.split()) - 1)
        lines.append("  end")
    lines += [":hierarchy", "  begin", *("    " + row for row in ASF_TREE.splitlines()), "  end"]
    return "\n".join(lines) + "\n"


def amc_text(frames: list[dict], radians: bool = False) -> str:
    """AMC frames: each maps a bone to its dof values (degrees); the rest are zero."""
    dofs = {name: len(dof.split()) for name, _, _, _, dof in ASF_BONES if dof}
    dofs |= {"r" + n[1:]: c for n, c in dofs.items() if n[0] == "l" and not n.startswith("lower")}
    lines = ["#!OML:ASF test.asf", ":FULLY-SPECIFIED", ":DEGREES"]
    for number, frame in enumerate(frames, start=1):
        lines.append(str(number))
        root = list(frame.get("root", (0.0, 17.0, 0.0, 0.0, 0.0, 0.0)))
        if radians:
            root[3:] = np.radians(root[3:])
        lines.append("root " + " ".join(f"{v:.9g}" for v in root))
        for name, count in dofs.items():
            values = np.array(frame.get(name, [0.0] * count), dtype=float)
            values = np.radians(values) if radians else values
            lines.append(f"{name} " + " ".join(f"{v:.9g}" for v in values))
    return "\n".join(lines) + "\n"


def write_asf_amc(folder, frames, name="02", **asf_options):
    asf, amc = folder / f"{name}.asf", folder / f"{name}_01.amc"
    asf.write_text(asf_text(**asf_options))
    amc.write_text(amc_text(frames, radians=asf_options.get("radians", False)))
    return asf, amc


def test_asf_amc_joints_units_and_knee(tmp_path):
    asf, amc = write_asf_amc(tmp_path, [{}, {"ltibia": [90.0]}])
    clip = read_asf_amc(asf, amc, fps=120.0, movement="walk")
    assert clip.fps == 120.0 and clip.movement == "walk" and clip.clip_id == "amc-02_01"
    assert clip.body.extra["units"] == "file" and clip.body.extra["mapping"] == "names"
    assert 1.6 < clip.body.extra["skeleton_height_m"] < 1.9
    rest = clip.joints[0]
    assert rest[J["left_hip"], 0] > rest[J["right_hip"], 0]  # lfemur goes to +x: left
    thigh = np.linalg.norm(rest[J["left_knee"]] - rest[J["left_hip"]])
    assert thigh == pytest.approx(7.6 * CGSPEED_METRES, abs=1e-5)
    # CMU's wrist is lhand's start: humerus, radius and the lwrist twist segment.
    forearm = np.linalg.norm(rest[J["left_wrist"]] - rest[J["left_elbow"]])
    assert forearm == pytest.approx((3.36 + 1.68) * CGSPEED_METRES, abs=1e-5)
    knee, ankle = clip.joints[1, J["left_knee"]], clip.joints[1, J["left_ankle"]]
    np.testing.assert_allclose(knee, rest[J["left_knee"]], atol=1e-6)
    shank = 7.3 * CGSPEED_METRES
    assert ankle[2] < knee[2] - 0.95 * shank  # ltibia rx +90: the shank swings back
    assert abs(ankle[1] - knee[1]) < 0.2 * shank


def test_asf_amc_radians_and_odd_units_agree(tmp_path):
    frames = [{"ltibia": [40.0], "lhumerus": [10.0, 20.0, 30.0], "root": (1, 17, 2, 5, 60, 0)}]
    degrees = read_asf_amc(*write_asf_amc(tmp_path, frames, name="11"))
    radians = read_asf_amc(*write_asf_amc(tmp_path, frames, name="12", radians=True))
    np.testing.assert_allclose(radians.joints, degrees.joints, atol=1e-5)
    # A header unit that gives a 0.7 m person is overruled by the height.
    odd = read_asf_amc(*write_asf_amc(tmp_path, frames, name="13", length_unit=1.0))
    assert odd.body.extra["units"] == "cgspeed"  # 0.056444 m, the header's 0.0254 / 0.45
    np.testing.assert_allclose(odd.joints, degrees.joints, rtol=1e-5, atol=1e-5)


def test_bad_asf_amc_files_are_named(tmp_path):
    asf, amc = write_asf_amc(tmp_path, [{}, {}])
    text = amc.read_text()
    (tmp_path / "cut.amc").write_text(text[: text.rindex("lfoot")])
    with pytest.raises(ClipFormatError, match=r"cut\.amc: frame 2 lacks .*truncated"):
        read_asf_amc(asf, tmp_path / "cut.amc")
    (tmp_path / "extra.amc").write_text(text.replace("ltibia 0", "ltibia 0 0"))
    with pytest.raises(ClipFormatError, match=r"extra\.amc: line \d+: bone ltibia has 2 values"):
        read_asf_amc(asf, tmp_path / "extra.amc")
    (tmp_path / "alien.amc").write_text(text.replace("lfoot", "tail"))
    with pytest.raises(ClipFormatError, match=r"alien\.amc: line \d+: bone 'tail'"):
        read_asf_amc(asf, tmp_path / "alien.amc")
    (tmp_path / "nohier.asf").write_text(asf.read_text().split(":hierarchy")[0])
    with pytest.raises(ClipFormatError, match=r"nohier\.asf: not an ASF skeleton"):
        read_asf_amc(tmp_path / "nohier.asf", amc)
    (tmp_path / "empty.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n")
    with pytest.raises(ClipFormatError, match=r"empty\.amc: no motion frames"):
        read_asf_amc(asf, tmp_path / "empty.amc")


# --- manifest, split, takes ------------------------------------------------------------

COLUMNS = "source path subject frames fps license format skeleton trial description header_fps"
HEADER = "\t".join([*COLUMNS.split(), "repo"])


def manifest_row(source, path, subject, frames, fps, fmt, skeleton, trial, description, header):
    return "\t".join(map(str, (source, path, subject, frames, fps, "CMU licence", fmt, skeleton,
                               trial, description, header, "some/repo")))  # fmt: skip


@pytest.fixture
def archive(tmp_path):
    """A tiny archive: CMU ASF/AMC (test subject 2 and train subject 14), cgspeed and iClone
    BVH (T-pose first, header fps wrong), HDM05 ASF/AMC, a DeepMimic take."""
    root = tmp_path / "mocap"
    for folder in ("cmu_asfamc/02", "cmu_asfamc/14", "cmu_bvh_przestr/14", "cmu_bvh_iclone/016",
                   "hdm05_cuts/bd", "cmu_deepmimic_jump/011"):  # fmt: skip
        (root / folder).mkdir(parents=True)
    write_asf_amc(root / "cmu_asfamc/02", [{}, {}, {}], name="02")
    (root / "cmu_asfamc/14/14.asf").write_text(asf_text())
    (root / "cmu_asfamc/14/14_06.amc").write_text(amc_text([{}, {}]))
    (root / "hdm05_cuts/bd/HDM_bd.asf").write_text(asf_text())
    (root / "hdm05_cuts/bd/HDM_bd_squat1Reps_001_120.amc").write_text(amc_text([{}, {}]))
    for path, rows, knee in (
        ("cmu_bvh_przestr/14/14_07.bvh", CGSPEED, "lShin"),
        ("cmu_bvh_iclone/016/016_02.bvh", ICLONE, "CC_Base_L_Calf"),
    ):
        t_pose_first = [{}, {knee: (0.0, 20.0, 0.0)}, {}, {}]  # the rest pose is a T-pose
        (root / path).write_text(bvh_text(rows, 100.0, t_pose_first, fps=120.0))
    (root / "cmu_deepmimic_jump/011/11_01.txt").write_text('{"Frames": []}')
    rows = [
        manifest_row("cmu_asfamc", "cmu_asfamc/02/02_01.amc", "cmu_002", 3, 120,
                     "asf/amc (original CMU)", "asf:02.asf", "02_01", "walk", ""),
        manifest_row("cmu_asfamc", "cmu_asfamc/14/14_06.amc", "cmu_014", 2, 120,
                     "asf/amc (original CMU)", "asf:14.asf", "14_06",
                     "jumping jacks, jog, squats, side twists, stretches", ""),
        manifest_row("cmu_bvh_przestr", "cmu_bvh_przestr/14/14_07.bvh", "cmu_014", 4, 60, "bvh",
                     "43j:hip,abdomen", "14_07", "jump up to grab, reach for, tiptoe", 120.0),
        manifest_row("cmu_bvh_iclone", "cmu_bvh_iclone/016/016_02.bvh", "cmu_016", 4, 59.999,
                     "bvh", "100j:CC_Base_Hip", "16_02", "jump", 120.0),
        manifest_row("hdm05_cuts", "hdm05_cuts/bd/HDM_bd_squat1Reps_001_120.amc", "hdm05_bd", 2,
                     120.0, "asf/amc (HDM05 cut clips)", "asf:HDM_bd.asf", "squat1Reps_001",
                     "squat1Reps", ""),
        manifest_row("cmu_deepmimic_jump", "cmu_deepmimic_jump/011/11_01.txt", "cmu_011", 1, 30.0,
                     "deepmimic json txt", "humanoid3d(44 vals/frame)", "11_01",
                     "soccer - kick ball", 30.0),
    ]  # fmt: skip
    (root / "MANIFEST.tsv").write_text("\n".join([HEADER, *rows]) + "\n")
    return root


def test_split_is_by_person_and_hdm05_is_test_only():
    assert [split_of(f"cmu_{n:03d}") for n in (2, 7, 9, 49, 94)] == ["test"] * 5
    assert split_of("cmu_016") == split_of("cmu_135") == "validation"
    assert split_of("cmu_014") == split_of("cmu_105") == split_of("cmu_1") == "train"
    assert {split_of(f"hdm05_{a}") for a in ("bd", "bk", "dg", "mm", "tr")} == {"test"}
    with pytest.raises(ValueError, match="unknown mocap subject"):
        split_of("someone")


def test_movement_kinds_from_descriptions():
    cases = {"walk, veer left": "walk", "run/jog, sudden stop": "run", "salsa dance": "dance",
             "jumping jacks, jog, squats": "exercise", "squat1Reps": "exercise",
             "hopBothLegs1hops": "jump", "soccer - kick ball": "sports", "270": "other",
             "kickLFront1Reps": "martial_arts", "lieDownFloor": "everyday"}  # fmt: skip
    assert {d: movement_kind(d) for d in cases} == cases


def test_read_take_trusts_the_manifest(archive):
    takes = {t.path: t for t in load_manifest(archive / "MANIFEST.tsv")}
    amc = read_take(archive, takes["cmu_asfamc/02/02_01.amc"])
    assert amc.body.body_id == "cmu_002" and amc.body.extra["split"] == "test"
    assert amc.body.extra["source"] == "cmu_asfamc" and amc.body.extra["licence"] == "CMU licence"
    assert amc.movement == "walk" and amc.num_frames == 3 and amc.clip_id == "cmu_asfamc-02-02_01"
    cgspeed = read_take(archive, takes["cmu_bvh_przestr/14/14_07.bvh"])
    assert cgspeed.fps == 60 and cgspeed.num_frames == 3  # header said 120; T-pose dropped
    assert cgspeed.body.extra["split"] == "train" and cgspeed.movement == "jump"
    ankle_z = relative(cgspeed.joints)[:, J["left_ankle"], 2]
    shank = np.linalg.norm(point("L.knee") - point("L.ankle"))
    # The first frame kept is the bent knee (the ankle 20 deg back), not the T-pose.
    assert ankle_z[0] - ankle_z[1] == pytest.approx(-shank * np.sin(np.radians(20)), abs=0.01)
    iclone = read_take(archive, takes["cmu_bvh_iclone/016/016_02.bvh"])
    assert iclone.num_frames == 3 and iclone.fps == pytest.approx(59.999)
    assert iclone.body.extra["split"] == "validation"
    hdm = read_take(archive, takes["hdm05_cuts/bd/HDM_bd_squat1Reps_001_120.amc"])
    assert hdm.body.body_id == "hdm05_bd" and hdm.body.extra["split"] == "test"
    assert hdm.movement == "exercise" and hdm.num_frames == 2
    with pytest.raises(UnsupportedTake, match="DeepMimic"):
        read_take(archive, takes["cmu_deepmimic_jump/011/11_01.txt"])


def test_iter_takes_filters_and_hands_back_failures(archive):
    (archive / "cmu_asfamc/14/14_06.amc").write_text("1\nroot 0 0 0\n")  # broken
    train = list(iter_takes(archive, archive / "MANIFEST.tsv", splits=("train",)))
    assert [t.path for t, _ in train] == [
        "cmu_asfamc/14/14_06.amc",
        "cmu_bvh_przestr/14/14_07.bvh",
        "cmu_deepmimic_jump/011/11_01.txt",
    ]
    outcomes = {t.path: r for t, r in train}
    assert isinstance(outcomes["cmu_asfamc/14/14_06.amc"], ClipFormatError)
    assert "14_06.amc" in str(outcomes["cmu_asfamc/14/14_06.amc"])
    assert isinstance(outcomes["cmu_deepmimic_jump/011/11_01.txt"], UnsupportedTake)
    assert outcomes["cmu_bvh_przestr/14/14_07.bvh"].body.body_id == "cmu_014"
    test = list(iter_takes(archive, archive / "MANIFEST.tsv", ("test",), sources=["hdm05_cuts"]))
    assert [t.subject for t, _ in test] == ["hdm05_bd"]
    with pytest.raises(ValueError, match="unknown splits"):
        list(iter_takes(archive, archive / "MANIFEST.tsv", ("val",)))
