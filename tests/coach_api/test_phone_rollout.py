"""The phone routes serve the champion or a pinned version, for the app asking.

The exported folders are laid out by hand (fake artifact bytes, real sidecars and the
index as ``coach export-phone`` writes them): what is under test is the choice and the
answers, not the export (tests/lifecycle/test_phone_rollout.py runs that).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from coach_cli.phone_rollout import write_index
from mobile_export.export import sidecar
from pose3d.checkpoint import LifterMetadata


def write_version(root, version: str, min_app_version: str, payload: bytes) -> None:
    """A version folder: one fake ONNX artifact and a sidecar describing it."""
    folder = root / version if version != "bundled" else root
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lifter_stream.onnx").write_bytes(payload)
    artifacts = {
        "lifter_stream.onnx": {
            "format": "onnx",
            "opset": 18,
            "quantization": "fp16",
            "sha256": hashlib.sha256(payload).hexdigest(),
            "bytes": len(payload),
        }
    }
    metadata = LifterMetadata(architecture={"causal": True}, fps=30, version=f"label-{version}")
    described = sidecar(metadata, 9, artifacts, version, min_app_version)
    (folder / "lifter.json").write_text(json.dumps(described))


@pytest.fixture
def rollout(shared_client, tmp_path, monkeypatch):
    """Versions 1 (any app from 1.0.0), 2 (from 2.0.0, the champion) and 3 (from 3.0.0, a
    challenger) exported for android; returns the client."""
    monkeypatch.setattr(shared_client.app.state.settings, "artifacts_dir", tmp_path)
    minimums = {"1": "1.0.0", "2": "2.0.0", "3": "3.0.0"}
    for version, minimum in minimums.items():
        write_version(tmp_path, version, minimum, f"model {version}".encode())
    listed = [{"version": v, "min_app_version": m} for v, m in sorted(minimums.items())[::-1]]
    write_index(tmp_path, {"champion": "2", "versions": listed})
    return shared_client


def test_the_champion_is_served_by_default_and_a_pinned_version_on_request(rollout):
    champion = rollout.get("/v1/models/android", headers={"X-App-Version": "2.5.0"})
    assert champion.status_code == 200
    assert champion.json()["version"] == "2" and champion.json()["min_app_version"] == "2.0.0"
    assert champion.json()["model_version"] == "label-2"
    assert champion.headers["X-Model-Version"] == champion.headers["X-Model-Champion"] == "2"

    pinned = rollout.get("/v1/models/android?version=3", headers={"X-App-Version": "3.0.0"})
    assert pinned.json()["version"] == "3" and pinned.headers["X-Model-Champion"] == "2"
    download = rollout.get("/v1/models/android/lifter_stream.onnx?version=3")
    assert download.content == b"model 3" and download.headers["X-Model-Version"] == "3"
    assert rollout.get("/v1/models/android/lifter_stream.onnx").content == b"model 2"


def test_a_pinned_version_the_app_is_too_old_for_is_refused_naming_the_minimum(rollout):
    refused = rollout.get("/v1/models/android?version=3", headers={"X-App-Version": "2.9.9"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "app_too_old" and "3.0.0" in error["message"]
    assert error["field"] == "header.X-App-Version"
    assert refused.headers["X-Min-App-Version"] == "3.0.0"
    download = rollout.get(
        "/v1/models/android/lifter_stream.onnx?version=3", headers={"X-App-Version": "2.9.9"}
    )
    assert download.status_code == 409


def test_an_app_too_old_for_the_champion_gets_the_newest_earlier_version_it_runs(rollout):
    # 1.10.0 is newer than 1.9.0: versions compare as numbers.
    older = rollout.get("/v1/models/android", headers={"X-App-Version": "1.10.0"})
    assert older.status_code == 200 and older.json()["version"] == "1"
    assert older.headers["X-Model-Version"] == "1" and older.headers["X-Model-Champion"] == "2"
    assert "X-App-Version" in older.headers["Vary"]
    download = rollout.get(
        "/v1/models/android/lifter_stream.onnx", headers={"X-App-Version": "1.10.0"}
    )
    assert download.content == b"model 1"

    none = rollout.get("/v1/models/android", headers={"X-App-Version": "0.9.0"})
    assert none.status_code == 409 and "2.0.0" in none.json()["error"]["message"]


def test_unknown_versions_and_malformed_app_versions_are_refused_by_name(rollout):
    unknown = rollout.get("/v1/models/android?version=7")
    assert unknown.status_code == 404 and "'7'" in unknown.json()["error"]["message"]
    assert rollout.get("/v1/models/android?version=bundled").status_code == 404
    for bad in ("2.0", "v2.0.0", "2.0.0-beta", "1" * 30 + ".0.0"):
        answer = rollout.get("/v1/models/android", headers={"X-App-Version": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["error"]["field"] == "header.X-App-Version"
    for bad in ("../2", "latest", "1" * 20):
        answer = rollout.get("/v1/models/android", params={"version": bad})
        assert answer.status_code == 422 and answer.json()["error"]["field"] == "query.version"


def test_each_version_has_its_own_etag(rollout):
    two = rollout.get("/v1/models/android")
    three = rollout.get("/v1/models/android?version=3")
    assert two.headers["ETag"] != three.headers["ETag"]
    same = rollout.get("/v1/models/android", headers={"If-None-Match": two.headers["ETag"]})
    assert same.status_code == 304 and same.headers["X-Model-Version"] == "2"
    other = rollout.get(
        "/v1/models/android?version=3", headers={"If-None-Match": two.headers["ETag"]}
    )
    assert other.status_code == 200 and other.json()["version"] == "3"


def test_a_version_being_swapped_in_asks_the_app_to_retry(rollout, tmp_path):
    (tmp_path / "2").rename(tmp_path / ".2-old")  # between export-phone's two renames
    answer = rollout.get("/v1/models/android")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"


def test_the_single_folder_export_is_the_bundled_champion(shared_client, tmp_path, monkeypatch):
    monkeypatch.setattr(shared_client.app.state.settings, "artifacts_dir", tmp_path)
    missing = shared_client.get("/v1/models/android")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_exported"
    write_version(tmp_path, "bundled", "1.0.0", b"bundled model")
    served = shared_client.get("/v1/models/android", headers={"X-App-Version": "1.0.0"})
    assert served.json()["version"] == "bundled"
    assert served.headers["X-Model-Champion"] == "bundled"
    assert shared_client.get("/v1/models/android?version=bundled").status_code == 200
    too_old = shared_client.get("/v1/models/android", headers={"X-App-Version": "0.1.0"})
    assert too_old.status_code == 409 and too_old.json()["error"]["code"] == "app_too_old"
