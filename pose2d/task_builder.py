"""Assemble MediaPipe's pose landmarker ``.task`` offline, from the mediapipe 0.10.21 wheel.

An offline build step (``coach-api pose-task``, ``make run``), not part of the service:
the API only reads the finished file (``Settings.resolved_pose_task``, which looks for
``POSE_TASK_NAME`` in its data folder's ``models``).

mediapipe 1.x ships no pose model and nothing may be downloaded at run time. The
0.10.21 wheel (a package, fetched like any other with ``pip download``) contains the
two TFLite models of the pose pipeline. A ``.task`` file is a zip of both, under the
names the Tasks API expects, and each model must carry TFLite metadata describing its
image input normalisation (the Tasks API refuses them otherwise):

======================================  ==============================  ============
inside the wheel                        inside the .task                 mean / std
======================================  ==============================  ============
``modules/pose_detection/               ``pose_detector.tflite``        127.5/127.5
pose_detection.tflite``
``modules/pose_landmark/                ``pose_landmarks_detector       0 / 255
pose_landmark_full.tflite``             .tflite``
======================================  ==============================  ============

mediapipe 1.2.2's metadata writer needs one compiled helper that its wheel lacks
(``_pywrap_metadata_version``); the 0.10.21 wheel has it, so it is loaded from there.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
import tempfile
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pose3d.archive import atomic_write

POSE_TASK_NAME = "pose_landmarker.task"  # the assembled file's name in data_dir/models
MEDIAPIPE_WHEEL_VERSION = "0.10.21"
_VERSION_MODULE = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"


@dataclass(frozen=True)
class _Model:
    """One TFLite model: where it is in the wheel, its name in the .task, its input
    normalisation (pixel - mean) / std, and a description for its metadata."""

    wheel_path: str
    task_name: str
    mean: float
    std: float
    description: str


_MODELS = (
    _Model(
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "pose_detector.tflite",
        127.5,
        127.5,
        "BlazePose person detector (224x224 RGB)",
    ),
    _Model(
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "pose_landmarks_detector.tflite",
        0.0,
        255.0,
        "BlazePose full landmark model (256x256 RGB), 33 landmarks",
    ),
)


class PoseTaskError(RuntimeError):
    """The ``.task`` cannot be assembled; the message says what is missing."""


def download_wheel(folder: Path) -> Path:
    """``pip download`` the mediapipe 0.10.21 wheel for this Python into ``folder``.

    Reuses a wheel already there. This is a package install step (the registry), not a
    run-time model download.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pattern = f"mediapipe-{MEDIAPIPE_WHEEL_VERSION}-*.whl"
    found = sorted(folder.glob(pattern))
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary", ":all:", "-d", str(folder)]
        command += [f"mediapipe=={MEDIAPIPE_WHEEL_VERSION}"]
        result = subprocess.run(command, capture_output=True, text=True)
        found = sorted(folder.glob(pattern))
        if result.returncode != 0 or not found:
            raise PoseTaskError(
                f"pip could not download mediapipe=={MEDIAPIPE_WHEEL_VERSION}: "
                + (result.stderr.strip().splitlines() or ["no wheel for this platform"])[-1]
            )
    return found[-1]


def _install_version_helper(wheel: zipfile.ZipFile, scratch: Path) -> None:
    """Make ``_pywrap_metadata_version`` importable from the wheel's compiled copy."""
    if _VERSION_MODULE in sys.modules:
        return
    names = [n for n in wheel.namelist() if "/_pywrap_metadata_version." in n]
    if not names:
        raise PoseTaskError("the wheel has no _pywrap_metadata_version extension")
    library = scratch / Path(names[0]).name
    library.write_bytes(wheel.read(names[0]))
    # Parent packages that mediapipe 1.x does not ship become empty namespaces.
    parts = _VERSION_MODULE.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        try:
            importlib.import_module(name)
        except ImportError:
            package = types.ModuleType(name)
            package.__path__ = []
            sys.modules[name] = package
    loader = importlib.machinery.ExtensionFileLoader(_VERSION_MODULE, str(library))
    spec = importlib.util.spec_from_file_location(_VERSION_MODULE, library, loader=loader)
    module = importlib.util.module_from_spec(spec)
    try:
        loader.exec_module(module)
    except ImportError as error:
        raise PoseTaskError(f"cannot load the wheel's metadata helper: {error}") from error
    sys.modules[_VERSION_MODULE] = module


def _with_metadata(model: bytes, spec: _Model) -> bytes:
    """``model`` with TFLite metadata: image input normalisation, one entry per output."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(Path(spec.task_name).stem, spec.description)
    writer.add_image_input([spec.mean], [spec.std])
    for _ in writer_utils.get_output_tensor_types(bytearray(model)):
        writer.add_feature_output()
    with_metadata, _ = writer.populate()
    return bytes(with_metadata)


def assemble_pose_task(wheel: Path, out: Path) -> Path:
    """Write ``out`` (a pose landmarker ``.task``) from the mediapipe 0.10.21 ``wheel``.

    Written atomically: a failed assembly leaves no file at ``out``.
    """
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    if not zipfile.is_zipfile(wheel):
        raise PoseTaskError(f"{wheel} is not a wheel (zip) file")
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(wheel) as archive:
        missing = [m.wheel_path for m in _MODELS if m.wheel_path not in archive.namelist()]
        if missing:
            raise PoseTaskError(f"{wheel.name} lacks {', '.join(missing)}")
        _install_version_helper(archive, Path(scratch))
        models = {m.task_name: _with_metadata(archive.read(m.wheel_path), m) for m in _MODELS}
        bundle = Path(scratch) / "bundle.task"
        model_asset_bundle_utils.create_model_asset_bundle(models, str(bundle))
        atomic_write(out, bundle.read_bytes())
    return out
