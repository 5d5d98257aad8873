"""Tiny clip folders (good, corrupt, NaN-filled) and a GCS emulator on 127.0.0.1."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from pose3d.archive import json_bytes, npy_bytes, pack
from synthetic_data.batch import plan_requests
from synthetic_data.clip import write_clip
from synthetic_data.generator import generate_clip

BUCKET = "coach-test"


def write_tiny_clips(folder, count: int = 20, seed: int = 4) -> list[str]:
    """``count`` 2-second clips across all movements; returns their clip ids."""
    ids = []
    for request in plan_requests(count, seed, duration_s=2.0):
        clip = generate_clip(request)
        write_clip(clip, folder / f"{clip.clip_id}.clip.npz")
        ids.append(clip.clip_id)
    return ids


def write_bad_clips(folder) -> None:
    """A truncated file and a file whose motion is NaN."""
    good = generate_clip(plan_requests(1, 99, duration_s=1.0)[0])
    corrupt = folder / "corrupt.clip.npz"
    write_clip(good, corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:300])
    joints = good.joints.copy()
    joints[:] = np.nan
    meta = good.metadata()
    meta["clip_id"] = "nan-clip"
    (folder / "nan.clip.npz").write_bytes(
        pack({"meta.json": json_bytes(meta), "joints.npy": npy_bytes(joints)})
    )


@pytest.fixture(scope="session")
def tiny_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    write_tiny_clips(folder)
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_emulator():
    """A real GCS API emulator in this process, with an empty bucket."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    from apache_beam.options.pipeline_options import PipelineOptions

    from dataflow_jobs import fileio

    fileio.configure(PipelineOptions([]))
    yield f"gs://{BUCKET}"
    mp.undo()
    server.stop()
