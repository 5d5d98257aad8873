"""Acclaim ASF/AMC motion capture (CMU, HDM05): skeleton + motion into clips.

``.asf``: ``:units`` (``mass``, ``length``, ``angle deg|rad``), ``:root`` (``order``,
``axis``, ``position``, ``orientation``), ``:bonedata`` (``begin``/``end`` blocks with
``id``, ``name``, ``direction``, ``length``, ``axis`` + order, ``dof``, ``limits``) and
``:hierarchy`` (``parent child ...`` lines). ``.amc``: a header (``#`` comments,
``:FULLY-SPECIFIED``, ``:DEGREES``), then per frame its number and one line per bone
with degrees of freedom: ``name v1 v2 ...`` in the bone's ``dof`` order (the root's in
its ``order``).

Forward kinematics, as in the Acclaim specification: a bone's axis rotation ``C``
(its ``axis`` angles applied in the given order: ``XYZ`` is ``Rz @ Ry @ Rx``), its rest
vector ``B = direction * length`` in world axes, and per frame ``M`` from its dof
values (first listed applied first: ``rx ry rz`` is ``Rz @ Ry @ Rx``). Its world
rotation relative to the rest pose is ``D = D_parent @ C @ M @ C^-1``; the bone starts
at its parent's end and ends at ``start + D @ B``. The root sits at ``position`` plus
the AMC translation with ``D_root = C_root @ M_root @ C_root^-1`` (``C_root`` from
``orientation`` in the root's ``axis`` order).

Body-28 joints come from the CMU bone names exactly as for BVH files (a bone's start is
its parent's end; see :mod:`synthetic_data.rig` for the table and what is derived).
Units: the file's length unit is taken as VICON's inch divided by ``length`` (CMU and
HDM05 say ``length 0.45``: 0.056444 m), validated by the skeleton's standing height
(another plausible unit is chosen when that height is implausible). The world is
y-up, +x the character's left, +z its facing direction in the rest pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthetic_data.clip import Clip, ClipFormatError
from synthetic_data.kinematics import rot_x, rot_y, rot_z
from synthetic_data.rig import PosedSkeleton, finish_clip, skeleton_to_body28

VICON_INCH_METRES = 0.0254
_ROTATIONS = {"x": rot_x, "y": rot_y, "z": rot_z}


@dataclass
class AsfBone:
    """One ASF bone: rest vector ``direction * length`` (world axes, file units), axis
    angles (degrees) and their order, and degrees of freedom (``rx``, ``ry``, ``rz``)."""

    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray
    axis_order: str
    dofs: list[str] = field(default_factory=list)


@dataclass
class AsfSkeleton:
    """A parsed ASF file. ``parents`` maps each bone to its parent (``"root"`` at the top);
    ``order`` lists the bones parents first."""

    bones: dict[str, AsfBone]
    parents: dict[str, str]
    order: list[str]
    root_order: list[str]
    root_axis: str
    root_position: np.ndarray
    root_orientation: np.ndarray
    length_unit: float = 1.0
    angle_unit: str = "deg"
    mass_unit: float = 1.0

    @property
    def metres_per_unit(self) -> float:
        """What the header implies: VICON inches divided by the ``length`` unit."""
        return VICON_INCH_METRES / self.length_unit


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # HDM05 comments hold Windows-1252 paths


def _floats(parts: list[str], count: int, what: str, source: str) -> np.ndarray:
    try:
        values = np.array([float(p) for p in parts[:count]])
    except ValueError:
        raise ClipFormatError(f"{source}: {what} needs {count} numbers, got {parts}") from None
    if len(values) != count:
        raise ClipFormatError(f"{source}: {what} needs {count} numbers, got {parts}")
    return values


def _sections(text: str) -> dict[str, list[list[str]]]:
    """``":keyword rest"`` sections -> their lines split into words, comments dropped."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            keyword, *rest = line.split()
            current = sections.setdefault(keyword[1:].lower(), [])
            if rest:
                current.append(rest)
        elif current is not None:
            current.append(line.split())
    return sections


def _parse_bone(lines: list[list[str]], source: str, angle_scale: float) -> AsfBone:
    fields: dict[str, list[str]] = {}
    for parts in lines:
        if parts[0].startswith("(") or parts[0] == "limits":
            continue  # joint limits: not needed to play the motion
        fields[parts[0].lower()] = parts[1:]
    name = (fields.get("name") or [""])[0]
    if not name:
        raise ClipFormatError(f"{source}: a bone in :bonedata has no name")
    for key in ("direction", "length"):
        if key not in fields:
            raise ClipFormatError(f"{source}: bone {name} has no {key}")
    direction = _floats(fields["direction"], 3, f"bone {name} direction", source)
    norm = float(np.linalg.norm(direction))
    axis_parts = fields.get("axis", ["0", "0", "0", "XYZ"])
    axis = _floats(axis_parts, 3, f"bone {name} axis", source) * angle_scale
    order = axis_parts[3].upper() if len(axis_parts) > 3 else "XYZ"
    dofs = [d.lower() for d in fields.get("dof", [])]
    unknown = [d for d in dofs if d not in ("rx", "ry", "rz")]
    if unknown or sorted(order) != ["X", "Y", "Z"]:
        raise ClipFormatError(f"{source}: bone {name}: unsupported dof {unknown} or axis {order}")
    return AsfBone(
        name=name,
        direction=direction / norm if norm > 0 else direction,
        length=float(_floats(fields["length"], 1, f"bone {name} length", source)[0]),
        axis=axis,
        axis_order=order,
        dofs=dofs,
    )


def parse_asf(text: str, source: str = "<asf>") -> AsfSkeleton:
    """Parse ASF text; :class:`ClipFormatError` names ``source`` and the problem."""
    sections = _sections(text)
    for needed in ("root", "bonedata", "hierarchy"):
        if needed not in sections:
            raise ClipFormatError(f"{source}: not an ASF skeleton (no :{needed} section)")
    units = {parts[0].lower(): parts[1:] for parts in sections.get("units", []) if parts}
    angle_unit = (units.get("angle") or ["deg"])[0].lower()
    if angle_unit not in ("deg", "rad"):
        raise ClipFormatError(f"{source}: unknown angle unit {angle_unit!r}")
    angle_scale = 1.0 if angle_unit == "deg" else float(np.degrees(1.0))
    length_unit = float(_floats(units.get("length", ["1"]), 1, "length unit", source)[0])
    if length_unit <= 0:
        raise ClipFormatError(f"{source}: length unit must be positive, got {length_unit}")
    root = {parts[0].lower(): parts[1:] for parts in sections["root"]}
    bones: dict[str, AsfBone] = {}
    block: list[list[str]] | None = None
    for parts in sections["bonedata"]:
        word = parts[0].lower()
        if word == "begin":
            block = []
        elif word == "end":
            if block is None:
                raise ClipFormatError(f"{source}: 'end' without 'begin' in :bonedata")
            bone = _parse_bone(block, source, angle_scale)
            bones[bone.name] = bone
            block = None
        elif block is not None:
            block.append(parts)
    if block is not None:
        raise ClipFormatError(f"{source}: :bonedata ends inside a bone (truncated?)")
    parents = _parse_hierarchy(sections["hierarchy"], bones, source)
    return AsfSkeleton(
        bones=bones,
        parents=parents,
        order=_parents_first(parents),
        root_order=[o.lower() for o in root.get("order", ["TX", "TY", "TZ", "RX", "RY", "RZ"])],
        root_axis=(root.get("axis") or ["XYZ"])[0].upper(),
        root_position=_floats(root.get("position", ["0"] * 3), 3, "root position", source),
        root_orientation=_floats(root.get("orientation", ["0"] * 3), 3, "root orientation", source)
        * angle_scale,
        length_unit=length_unit,
        angle_unit=angle_unit,
        mass_unit=float((units.get("mass") or ["1"])[0]),
    )


def _parse_hierarchy(lines: list[list[str]], bones: dict[str, AsfBone], source: str):
    parents: dict[str, str] = {}
    for parts in lines:
        if parts[0].lower() in ("begin", "end"):
            continue
        parent, *children = parts
        if parent != "root" and parent not in bones:
            raise ClipFormatError(f"{source}: :hierarchy names unknown bone {parent!r}")
        for child in children:
            if child not in bones:
                raise ClipFormatError(f"{source}: :hierarchy names unknown bone {child!r}")
            parents[child] = parent
    orphans = sorted(set(bones) - set(parents))
    if orphans:
        raise ClipFormatError(f"{source}: bones outside the :hierarchy: {orphans}")
    return parents


def _parents_first(parents: dict[str, str]) -> list[str]:
    order, placed = [], {"root"}
    pending = list(parents)
    while pending:
        ready = [b for b in pending if parents[b] in placed]
        if not ready:
            raise ClipFormatError(f"the :hierarchy has a cycle among {pending}")
        order += ready
        placed.update(ready)
        pending = [b for b in pending if b not in placed]
    return order


def parse_amc(
    text: str, skeleton: AsfSkeleton, source: str = "<amc>"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Frame numbers ``(T,)`` and per bone its dof values ``(T, D)`` (the root's ``(T, 6)``
    in its ``order``); angles in degrees. Every frame must list every moving bone."""
    expected = {"root": len(skeleton.root_order)}
    expected |= {name: len(b.dofs) for name, b in skeleton.bones.items() if b.dofs}
    rows: dict[str, list[list[str]]] = {name: [] for name in expected}
    frames: list[int] = []
    radians = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            radians = radians or line.upper().startswith(":RADIANS")
            continue
        parts = line.split()
        if len(parts) == 1 and parts[0].isdigit():
            _check_frame(frames, rows, source)
            frames.append(int(parts[0]))
            continue
        if not frames:
            raise ClipFormatError(f"{source}: line {number}: motion before the first frame number")
        if parts[0] not in rows:
            raise ClipFormatError(
                f"{source}: line {number}: bone {parts[0]!r} has no dof in the ASF"
            )
        if len(parts) - 1 != expected[parts[0]]:
            raise ClipFormatError(
                f"{source}: line {number}: bone {parts[0]} has {len(parts) - 1} values, "
                f"the ASF gives it {expected[parts[0]]} degrees of freedom"
            )
        rows[parts[0]].append(parts[1:])
    if not frames:
        raise ClipFormatError(f"{source}: no motion frames (not an AMC file?)")
    _check_frame(frames, rows, source)
    values = {}
    for name, table in rows.items():
        try:
            values[name] = np.array(table, dtype=np.float64).reshape(len(frames), expected[name])
        except ValueError as exc:
            raise ClipFormatError(f"{source}: bone {name}: non-numeric values ({exc})") from None
        if not np.isfinite(values[name]).all():
            raise ClipFormatError(f"{source}: bone {name}: NaN or infinite values")
    if radians or skeleton.angle_unit == "rad":
        values = _angles_to_degrees(values, skeleton)
    return np.array(frames), values


def _check_frame(frames: list[int], rows: dict[str, list], source: str) -> None:
    """Every bone listed once in each frame seen so far (a cut file lacks some)."""
    lacking = sorted(name for name, table in rows.items() if len(table) != len(frames))
    if lacking:
        where = f"frame {frames[-1]}" if frames else "the start"
        raise ClipFormatError(f"{source}: {where} lacks or repeats bones {lacking} (truncated?)")


def _angles_to_degrees(values: dict[str, np.ndarray], skeleton: AsfSkeleton):
    out = dict(values)
    rotational = [i for i, o in enumerate(skeleton.root_order) if o.startswith("r")]
    out["root"] = values["root"].copy()
    out["root"][:, rotational] = np.degrees(values["root"][:, rotational])
    for name in values:
        if name != "root":
            out[name] = np.degrees(values[name])
    return out


def _euler(angles: np.ndarray, order: str) -> np.ndarray:
    """Rotations ``(T, 3, 3)`` of angles ``(T, 3)`` (x, y, z degrees), the axes applied in
    ``order`` (``"XYZ"``: x first, so ``Rz @ Ry @ Rx``)."""
    result = np.broadcast_to(np.eye(3), (angles.shape[0], 3, 3)).copy()
    for axis in order.lower():
        result = _ROTATIONS[axis](angles[:, "xyz".index(axis)]) @ result
    return result


def _dof_rotation(values: np.ndarray, dofs: list[str]) -> np.ndarray:
    """``M (T, 3, 3)`` from dof values ``(T, D)``, the first listed applied first."""
    result = np.broadcast_to(np.eye(3), (values.shape[0], 3, 3)).copy()
    for column, dof in enumerate(dofs):
        result = _ROTATIONS[dof[1]](values[:, column]) @ result
    return result


def asf_amc_skeleton(skeleton: AsfSkeleton, values: dict[str, np.ndarray]) -> PosedSkeleton:
    """Forward kinematics of the AMC values on the ASF skeleton (see the module doc)."""
    frames = values["root"].shape[0]
    names = ["root", *skeleton.order]
    index = {name: i for i, name in enumerate(names)}
    parents = [-1] + [index[skeleton.parents[b]] for b in skeleton.order]

    def pose(motion: dict[str, np.ndarray], count: int):
        starts = np.zeros((count, len(names), 3))
        ends = np.zeros((count, len(names), 3))
        rotations = np.zeros((count, len(names), 3, 3))
        root_values = motion["root"]
        translation = np.zeros((count, 3))
        angles = np.zeros((count, 3))
        for column, channel in enumerate(skeleton.root_order):
            target = translation if channel.startswith("t") else angles
            target[:, "xyz".index(channel[1])] = root_values[:, column]
        root_c = _euler(skeleton.root_orientation[None], skeleton.root_axis)[0]
        rotation_order = "".join(c[1] for c in skeleton.root_order if c.startswith("r"))
        root_m = _dof_rotation(angles[:, ["xyz".index(a) for a in rotation_order]],
                               [f"r{a}" for a in rotation_order])  # fmt: skip
        rotations[:, 0] = root_c @ root_m @ root_c.T
        starts[:, 0] = ends[:, 0] = skeleton.root_position + translation
        for name in skeleton.order:
            bone, i = skeleton.bones[name], index[name]
            parent = index[skeleton.parents[name]]
            c = _euler(bone.axis[None], bone.axis_order)[0]
            m = _dof_rotation(motion[name], bone.dofs) if bone.dofs else np.eye(3)
            rotations[:, i] = rotations[:, parent] @ c @ m @ c.T
            starts[:, i] = ends[:, parent]
            ends[:, i] = starts[:, i] + np.einsum(
                "tij,j->ti", rotations[:, i], bone.direction * bone.length
            )
        return starts, ends, rotations

    starts, ends, rotations = pose(values, frames)
    zero = {name: np.zeros((1, v.shape[1])) for name, v in values.items()}
    rest_starts, rest_ends, _ = pose(zero, 1)
    return PosedSkeleton(
        names=names,
        parents=parents,
        starts=starts,
        ends=ends,
        rotations=rotations,
        rest_starts=rest_starts[0],
        rest_ends=rest_ends[0],
        has_end_site=[False] + [True] * len(skeleton.order),
    )


def read_asf_amc(
    asf_path: str | Path,
    amc_path: str | Path,
    *,
    fps: float = 120.0,
    movement: str = "unknown",
    units: str = "auto",
) -> Clip:
    """Read a CMU/HDM05 ASF skeleton and AMC motion into a :class:`Clip` (y-up world,
    metres, floor at the lowest joint). AMC files carry no frame rate: ``fps`` gives it
    (CMU and HDM05 capture at 120)."""
    asf_path, amc_path = Path(asf_path), Path(amc_path)
    return clip_from_asf_amc_bytes(
        asf_path.read_bytes(), amc_path.read_bytes(), str(amc_path), asf_source=str(asf_path),
        fps=fps, movement=movement, units=units,
    )  # fmt: skip


def clip_from_asf_amc_bytes(
    asf: bytes,
    amc: bytes,
    source: str,
    *,
    asf_source: str = "<asf>",
    fps: float = 120.0,
    movement: str = "unknown",
    units: str = "auto",
) -> Clip:
    """File contents of an ASF skeleton and an AMC motion into a :class:`Clip`;
    ``source`` (the AMC) and ``asf_source`` name them in errors."""
    skeleton = parse_asf(_decode(asf), asf_source)
    _, values = parse_amc(_decode(amc), skeleton, source)
    posed = asf_amc_skeleton(skeleton, values)
    joints, derived, info = skeleton_to_body28(
        posed, source, units=units, prior_scale=skeleton.metres_per_unit
    )
    stem = Path(source).name
    stem = stem[: -len(".amc")] if stem.lower().endswith(".amc") else stem
    info |= {"skeleton_file": Path(asf_source).name}
    return finish_clip(joints, derived, f"amc-{stem}", fps, movement, "asfamc", info)
