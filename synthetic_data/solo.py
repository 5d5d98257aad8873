"""Unity Perception SOLO datasets: read keypoint sequences into clips, and write them.

Layout read (and written)::

    ROOT/annotation_definitions.json      keypoint templates
    ROOT/sequence.N/stepM.frame_data.json one frame: captures with annotations

A capture (``type.unity.com/unity.solo.RGBCamera``) carries the camera's world
``position``, its ``rotation`` quaternion written ``[x, y, z, w]``, its image
``dimension`` ``[w, h]`` and ``matrix``, the 3x3 upper-left of Unity's projection
matrix in column-major order: ``m00 = 2 fx / w`` and ``m11 = 2 fy / h`` give the pixel
focal lengths; the principal point is taken at the image centre (lens shift is not
supported). A ``KeypointAnnotation`` lists, per labelled person, ``keypoints`` with
``index`` (into the template), ``location`` (pixels, y down), ``cameraCartesianLocation``
(metres in Unity's camera space: x right, y up, z forward) and ``state`` (0 absent,
1 occluded, 2 visible).

Unity's world is left-handed (x right, y up, z forward); ours is right-handed with y up,
so world points map as ``(x, y, z) -> (x, y, -z)`` and Unity camera points to OpenCV
camera points as ``(x, y, z) -> (x, -y, z)``.

Templates: COCO-17 (``nose, left_eye, ...``) and the 18-point OpenPose-order "Coco"
template (``nose, neck, right_shoulder, ...``) are recognised by their labels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pose3d.camera import Intrinsics, project, world_to_camera
from pose3d.skeleton import COCO17
from synthetic_data.clip import CameraSpec, Clip, ClipFormatError
from synthetic_data.completion import complete_body, external_clip

CAMERA_TYPE = "type.unity.com/unity.solo.RGBCamera"
KEYPOINT_TYPE = "type.unity.com/unity.solo.KeypointAnnotation"
OPENPOSE18_LABELS = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
_ALIASES = {"neck": "thorax"}  # OpenPose "neck" sits at the shoulder centre: our thorax
_FLIP_WORLD = np.diag([1.0, 1.0, -1.0])
_FLIP_CAMERA = np.diag([1.0, -1.0, 1.0])
_STEP_FILE = re.compile(r"step(\d+)\.frame_data\.json$")


def _normalise_label(label: str) -> str:
    return re.sub(r"[\s\-]+", "_", label.strip().lower())


def quaternion_to_matrix(xyzw: np.ndarray) -> np.ndarray:
    """Rotation matrix ``(3, 3)`` of a unit quaternion written ``[x, y, z, w]``."""
    x, y, z, w = np.asarray(xyzw, dtype=np.float64) / np.linalg.norm(xyzw)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """Inverse of :func:`quaternion_to_matrix`: ``[x, y, z, w]`` with ``w >= 0``."""
    m = np.asarray(matrix, dtype=np.float64)
    w = np.sqrt(max(0.0, 1 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = np.sqrt(max(0.0, 1 + m[0, 0] - m[1, 1] - m[2, 2])) / 2
    y = np.sqrt(max(0.0, 1 - m[0, 0] + m[1, 1] - m[2, 2])) / 2
    z = np.sqrt(max(0.0, 1 - m[0, 0] - m[1, 1] + m[2, 2])) / 2
    x = np.copysign(x, m[2, 1] - m[1, 2])
    y = np.copysign(y, m[0, 2] - m[2, 0])
    z = np.copysign(z, m[1, 0] - m[0, 1])
    return np.array([x, y, z, w])


def camera_from_capture(capture: dict, name: str) -> CameraSpec:
    """Our :class:`CameraSpec` from a SOLO RGBCamera capture."""
    width, height = (int(v) for v in capture["dimension"])
    m = np.asarray(capture["matrix"], dtype=np.float64).reshape(3, 3).T  # column-major
    intrinsics = Intrinsics(
        fx=float(m[0, 0] * width / 2),
        fy=float(m[1, 1] * height / 2),
        cx=width / 2,
        cy=height / 2,
        width=width,
        height=height,
    )
    unity_rotation = quaternion_to_matrix(capture["rotation"])
    rotation = _FLIP_CAMERA @ unity_rotation.T @ _FLIP_WORLD
    position = _FLIP_WORLD @ np.asarray(capture["position"], dtype=np.float64)
    return CameraSpec(name, intrinsics, rotation, position, placement="unity")


def _template_labels(root: Path) -> dict[str, list[str]]:
    """Template id -> body-28 joint name (or '' if unused) per template index."""
    path = root / "annotation_definitions.json"
    try:
        definitions = json.loads(path.read_text())["annotationDefinitions"]
    except FileNotFoundError:
        raise ClipFormatError(f"{root}: no annotation_definitions.json") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ClipFormatError(f"{path}: unreadable annotation definitions ({exc})") from exc
    templates = {}
    for definition in definitions:
        if definition.get("@type") != KEYPOINT_TYPE:
            continue
        template = definition["template"]
        by_index = {kp["index"]: _normalise_label(kp["label"]) for kp in template["keypoints"]}
        labels = [by_index.get(i, "") for i in range(max(by_index) + 1)]
        templates[template["templateId"]] = [_ALIASES.get(label, label) for label in labels]
    if not templates:
        raise ClipFormatError(f"{path}: no keypoint template")
    return templates


def _step_files(sequence: Path) -> list[Path]:
    steps = [(int(m.group(1)), p) for p in sequence.iterdir() if (m := _STEP_FILE.search(p.name))]
    return [p for _, p in sorted(steps)]


def read_solo_sequence(
    sequence: str | Path,
    *,
    movement: str = "unknown",
    instance: int | None = None,
    dataset_name: str | None = None,
) -> Clip:
    """Read one ``sequence.N`` folder into a :class:`Clip` (first labelled person unless
    ``instance`` names one). Joints Unity did not report in 3D (state 0) are
    interpolated from neighbouring frames; joints no template names are derived
    (:mod:`synthetic_data.completion`). Clip ids are ``solo-<dataset_name>-sequence.N``
    (``dataset_name`` defaults to the root folder's name)."""
    sequence = Path(sequence)
    root = sequence.parent
    dataset_name = dataset_name or root.name
    templates = _template_labels(root)
    steps = _step_files(sequence)
    if not steps:
        raise ClipFormatError(f"{sequence}: no stepN.frame_data.json files")
    frames_3d: list[dict[str, np.ndarray]] = []
    timestamps, camera = [], None
    for step in steps:
        try:
            frame = json.loads(step.read_text())
            capture = next(c for c in frame["captures"] if c.get("@type") == CAMERA_TYPE)
            annotation = next(a for a in capture["annotations"] if a.get("@type") == KEYPOINT_TYPE)
            values = annotation["values"]
            person = next(v for v in values if instance is None or v["instanceId"] == instance)
            labels = templates[annotation["templateId"]]
        except StopIteration:
            raise ClipFormatError(
                f"{step}: no camera capture with keypoints of the person"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ClipFormatError(f"{step}: unreadable frame ({exc})") from exc
        if camera is None:
            camera = camera_from_capture(capture, "unity")
        points = {}
        for kp in person["keypoints"]:
            name = labels[kp["index"]] if kp["index"] < len(labels) else ""
            if name and kp.get("state", 0) > 0:
                p_unity = np.asarray(kp["cameraCartesianLocation"], dtype=np.float64)
                points[name] = _FLIP_CAMERA @ p_unity
        frames_3d.append(points)
        timestamps.append(float(frame.get("timestamp", len(timestamps))))
    names = sorted({name for f in frames_3d for name in f})
    cam_points = {}
    for name in names:
        values = np.full((len(frames_3d), 3), np.nan)
        for t, f in enumerate(frames_3d):
            if name in f:
                values[t] = f[name]
        present = ~np.isnan(values[:, 0])
        idx = np.arange(len(values))
        for axis in range(3):
            values[:, axis] = np.interp(idx, idx[present], values[present, axis])
        cam_points[name] = values
    world = {
        name: (pts @ camera.rotation) + camera.position for name, pts in cam_points.items()
    }  # camera_to_world for row vectors
    try:
        joints, derived = complete_body(world)
    except ValueError as exc:
        raise ClipFormatError(f"{sequence}: {exc}") from exc
    fps = 1.0 / float(np.median(np.diff(timestamps))) if len(timestamps) > 1 else 30.0
    clip_id = f"solo-{dataset_name}-{sequence.name}"
    return external_clip(joints, derived, clip_id, fps, [camera], movement, "unity-solo")


def read_solo(
    root: str | Path, *, movement: str = "unknown", dataset_name: str | None = None
) -> list[Clip]:
    """Every ``sequence.N`` of a SOLO dataset root, in sequence order."""
    root = Path(root)
    sequences = sorted(
        (p for p in root.glob("sequence.*") if p.is_dir()),
        key=lambda p: int(p.name.split(".")[1]) if p.name.split(".")[1].isdigit() else -1,
    )
    if not sequences:
        raise ClipFormatError(f"{root}: no sequence.N folders (not a SOLO dataset?)")
    return [read_solo_sequence(s, movement=movement, dataset_name=dataset_name) for s in sequences]


def write_solo(clip: Clip, root: str | Path, *, sequence: int = 0, camera: int = 0) -> Path:
    """Write ``clip`` seen by one of its cameras as a SOLO dataset with a COCO-17 template.

    Keypoints outside the image get state 0, the others state 2. Returns the sequence
    folder.
    """
    root = Path(root)
    folder = root / f"sequence.{sequence}"
    folder.mkdir(parents=True, exist_ok=True)
    template_id = "coco17-template"
    definitions = _solo_definitions(template_id)
    (root / "annotation_definitions.json").write_text(json.dumps(definitions, indent=1))
    cam = clip.cameras[camera]
    capture = _solo_camera_fields(cam)
    coco_cam, uv = _coco17_in_camera(clip, cam)
    for t in range(clip.num_frames):
        keypoints = _solo_keypoints(coco_cam[t], uv[t], cam.intrinsics)
        frame = _solo_frame(t, sequence, clip.fps, capture, template_id, keypoints)
        (folder / f"step{t}.frame_data.json").write_text(json.dumps(frame))
    return folder


def _solo_definitions(template_id: str) -> dict:
    """``annotation_definitions.json`` content: one keypoint template, COCO-17 joint names
    and bones, with id ``template_id``."""
    return {
        "annotationDefinitions": [
            {
                "@type": KEYPOINT_TYPE,
                "id": "keypoints",
                "description": "Produces keypoint annotations for all visible labeled objects",
                "template": {
                    "templateId": template_id,
                    "templateName": "coco",
                    "keypoints": [
                        {"label": n, "index": i} for i, n in enumerate(COCO17.joint_names)
                    ],
                    "skeleton": [{"joint1": a, "joint2": b} for a, b in COCO17.bones],
                },
            }
        ]
    }


def _solo_camera_fields(cam: CameraSpec) -> dict[str, list[float]]:
    """The RGBCamera capture fields that stay the same every frame, in Unity's
    conventions (inverse of :func:`camera_from_capture`).

    ``position``: world position ``[x, y, z]`` (m, left-handed, rounded to 1e-6);
    ``rotation``: quaternion ``[x, y, z, w]`` (9 decimals); ``dimension``: image
    ``[w, h]`` px; ``matrix``: 9 numbers, the 3x3 upper-left of the projection matrix in
    column-major order (``2 fx / w``, ``2 fy / h``, -1 on the diagonal; 9 decimals).
    """
    intr = cam.intrinsics
    unity_rotation = (_FLIP_CAMERA @ cam.rotation @ _FLIP_WORLD).T
    matrix = np.zeros((3, 3))
    matrix[0, 0], matrix[1, 1], matrix[2, 2] = (
        2 * intr.fx / intr.width,
        2 * intr.fy / intr.height,
        -1,
    )
    return {
        "position": [round(float(v), 6) for v in _FLIP_WORLD @ cam.position],
        "rotation": [round(float(v), 9) for v in matrix_to_quaternion(unity_rotation)],
        "dimension": [float(intr.width), float(intr.height)],
        "matrix": [round(float(v), 9) for v in matrix.T.reshape(-1)],
    }


def _coco17_in_camera(clip: Clip, cam: CameraSpec) -> tuple[np.ndarray, np.ndarray]:
    """The clip's COCO-17 joints seen by ``cam``: ``(coco_cam (T, 17, 3), uv (T, 17, 2))``.

    ``coco_cam`` is in OpenCV camera coordinates (m, x right, y down, z forward); ``uv``
    the pixels through a pinhole with ``cam``'s focal lengths and the principal point at
    the image centre (what SOLO's matrix can express: no distortion, no lens shift),
    depth clamped to at least 1 mm so points behind the lens still project.
    """
    intr = cam.intrinsics
    coco_world = clip.coco17().astype(np.float64)
    coco_cam = world_to_camera(coco_world, cam.rotation, cam.position)
    pinhole = Intrinsics(intr.fx, intr.fy, intr.width / 2, intr.height / 2, intr.width, intr.height)
    uv = project(np.maximum(coco_cam, [-np.inf, -np.inf, 1e-3]), pinhole)
    return coco_cam, uv


def _solo_keypoints(coco_cam: np.ndarray, uv: np.ndarray, intr: Intrinsics) -> list[dict]:
    """One frame's SOLO keypoints from ``coco_cam`` ``(17, 3)`` (OpenCV camera, m) and
    ``uv`` ``(17, 2)`` px: ``location`` in pixels (4 decimals), ``cameraCartesianLocation``
    in Unity camera space (m, y up, 6 decimals) and ``state`` 2 for a joint in front of
    the camera and inside the image, else 0."""
    keypoints = []
    for j in range(COCO17.num_joints):
        inside = 0 <= uv[j, 0] < intr.width and 0 <= uv[j, 1] < intr.height
        keypoints.append(
            {
                "index": j,
                "location": [round(float(v), 4) for v in uv[j]],
                "cameraCartesianLocation": [round(float(v), 6) for v in _FLIP_CAMERA @ coco_cam[j]],
                "state": 2 if inside and coco_cam[j, 2] > 0 else 0,
            }
        )
    return keypoints


def _solo_frame(
    t: int,
    sequence: int,
    fps: float,
    camera_fields: dict[str, list[float]],
    template_id: str,
    keypoints: list[dict],
) -> dict:
    """``stepT.frame_data.json`` content for frame ``t`` (timestamp ``t / fps`` s): one
    RGBCamera capture (``camera_fields`` from :func:`_solo_camera_fields`) with one
    keypoint annotation of one person (instance 1)."""
    return {
        "frame": t,
        "sequence": sequence,
        "step": t,
        "timestamp": round(t / fps, 6),
        "captures": [
            {
                "@type": CAMERA_TYPE,
                "id": "camera",
                "description": "phone camera",
                "position": camera_fields["position"],
                "rotation": camera_fields["rotation"],
                "filename": f"step{t}.camera.png",
                "imageFormat": "Png",
                "dimension": camera_fields["dimension"],
                "projection": "Perspective",
                "matrix": camera_fields["matrix"],
                "annotations": [
                    {
                        "@type": KEYPOINT_TYPE,
                        "id": "keypoints",
                        "sensorId": "camera",
                        "description": "keypoints",
                        "templateId": template_id,
                        "values": [
                            {
                                "instanceId": 1,
                                "labelId": 1,
                                "pose": "unset",
                                "keypoints": keypoints,
                            }
                        ],
                    }
                ],
            }
        ],
    }
