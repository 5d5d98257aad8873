"""Tracked runs: parameters, data fingerprints, metrics per step, artifacts, failures."""

from __future__ import annotations

import pytest

from lifecycle import store
from lifecycle.tracking import fingerprint, fingerprints, tracked_run


def test_a_run_keeps_params_metrics_per_epoch_and_artifacts(mlflow_store, tmp_path):
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "loss.png").write_bytes(b"png")
    (tmp_path / "metrics.json").write_text("{}")
    params = {"epochs": 2, "widths": [3, 3], "nested": {"lr": 0.001}, "out": tmp_path}
    with tracked_run("coach-train", "t", params, {"shards": "abc"}) as tracker:
        for epoch in (1, 2):
            tracker.log_metrics({"val mpjpe (mm)": 50.0 / epoch, "skip": "text"}, step=epoch)
        tracker.log_metrics({"final": float("nan"), "best": 25.0})
        tracker.log_artifact(plots)
        tracker.log_artifact(tmp_path / "metrics.json")
    run = store.client().get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["epochs"] == "2" and run.data.params["widths"] == "[3, 3]"
    assert run.data.params["nested.lr"] == "0.001" and run.data.params["data.shards"] == "abc"
    assert run.data.tags["data.shards"] == "abc" and "command" in run.data.tags
    history = store.client().get_metric_history(tracker.run_id, "val mpjpe _mm_")
    assert [(m.step, m.value) for m in history] == [(1, 50.0), (2, 25.0)]
    assert set(run.data.metrics) == {"val mpjpe _mm_", "best"}
    listed = {a.path for a in store.client().list_artifacts(tracker.run_id)}
    assert listed == {"plots", "metrics.json"}


def test_a_run_whose_body_raises_is_marked_failed(mlflow_store):
    with pytest.raises(RuntimeError), tracked_run("coach-train", "t", {}) as tracker:
        raise RuntimeError("out of memory")
    assert store.client().get_run(tracker.run_id).info.status == "FAILED"


def test_a_disabled_tracker_writes_nothing(unused_mlflow_store, tmp_path):
    with tracked_run("coach-train", "t", {"a": 1}, enabled=False) as tracker:
        tracker.log_metrics({"x": 1.0}, step=1)
        tracker.log_artifact(tmp_path / "missing")  # not even looked at
    assert tracker.run_id == "" and not unused_mlflow_store.exists()


def test_a_fingerprint_changes_with_one_byte_or_name_and_only_then(tmp_path):
    data = tmp_path / "shards"
    (data / "sub").mkdir(parents=True)
    (data / "a.npz").write_bytes(b"\x00" * 3000)
    (data / "sub" / "b.npz").write_bytes(b"abc")
    first = fingerprint(data)
    assert fingerprint(data) == first and len(first) == 64
    (data / "a.npz").touch()  # a new time stamp is not new data
    assert fingerprint(data) == first
    (data / "a.npz").write_bytes(b"\x00" * 2999 + b"\x01")
    changed = fingerprint(data)
    assert changed != first
    (data / "sub" / "b.npz").rename(data / "sub" / "c.npz")
    assert fingerprint(data) not in (first, changed)
    assert fingerprint(data / "sub" / "c.npz") != fingerprint(data)
    assert fingerprints({"x": None, "y": [], "z": [data]}).keys() == {"z"}
    with pytest.raises(FileNotFoundError):
        fingerprint(tmp_path / "nowhere")
