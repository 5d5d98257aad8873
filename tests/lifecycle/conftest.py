"""A throwaway MLflow store per test (SQLite file and artifact folder under tmp_path)."""

from __future__ import annotations

import pytest


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Point lifecycle.store at a fresh local store; returns its folder."""
    monkeypatch.delenv("COACH_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("COACH_MLFLOW_DIR", str(tmp_path / "mlruns"))
    return tmp_path / "mlruns"


@pytest.fixture(scope="module")
def tiny_shards(tmp_path_factory):
    """Tiny train/val/test shards filmed from six short simulated clips."""
    import json

    from dataflow_jobs.records import ERROR_KIND_NAMES, film_clip
    from pose3d.shards import shard_bytes
    from synthetic_data.batch import plan_requests
    from synthetic_data.generator import generate_clip

    folder = tmp_path_factory.mktemp("shards")
    records = []
    for request in plan_requests(6, seed=5, duration_s=2.0):
        records += film_clip(generate_clip(request), cameras=2, seed=0)
    for split, part in (("train", records[:8]), ("val", records[8:10]), ("test", records[10:])):
        for record in part:
            record.split = split
        (folder / f"{split}-00000-of-00001.npz").write_bytes(shard_bytes(part, ERROR_KIND_NAMES))
    (folder / "summary.json").write_text(json.dumps({"fingerprint": "tiny"}))
    return folder
