"""``coach export-phone``: registered lifter versions exported side by side, with an index.

The export itself is faked (a file and a sidecar naming the version) except in the one
slow test that runs it for real.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import mobile_export.export
from coach_cli.main import app
from coach_cli.phone_rollout import INDEX, export_version, read_index
from lifecycle import registry
from tests.conftest import tiny_lifter_checkpoint


def fake_export(out, formats, quantize, checkpoint, model_version, min_app_version):
    """What export_all leaves, without exporting: an artifact and the sidecar."""
    (out / "lifter_stream.onnx").write_bytes(checkpoint.read_bytes()[:64])
    sidecar = {"version": model_version, "min_app_version": min_app_version}
    (out / "lifter.json").write_text(json.dumps(sidecar))
    return out / "lifter.json"


@pytest.fixture
def lifters(mlflow_store, tmp_path, monkeypatch):
    """Versions 1 (card: app 1.0.0 on) and 2 (card: no minimum) of the live lifter, 1 the
    registry's champion; the export faked."""
    monkeypatch.setattr(mobile_export.export, "export_all", fake_export)
    for label, minimum in (("one", "1.0.0"), ("two", "")):
        checkpoint = tiny_lifter_checkpoint(tmp_path / label, label)
        card = registry.ModelCard("lifter-causal", label=label, min_app_version=minimum)
        registry.register("lifter-causal", checkpoint.parent, card)
    registry.set_alias("lifter-causal", "champion", "1")
    return tmp_path / "cache"


def test_versions_are_exported_side_by_side_and_the_index_follows_the_champion(lifters, tmp_path):
    out = tmp_path / "phone"
    two = export_version(out, "2", ["onnx"], "fp16", "2.1.0", cache_dir=lifters)
    # The registry's champion (1) is not exported here yet: the index names none.
    assert (two.version, two.champion) == ("2", None)
    assert json.loads((out / "2" / "lifter.json").read_text()) == {
        "version": "2",
        "min_app_version": "2.1.0",
    }
    runner = CliRunner()
    done = runner.invoke(
        app, ["export-phone", "--version", "champion", "--out", str(out), "--format", "onnx"]
    )
    assert done.exit_code == 0, done.output
    index = read_index(out)
    assert index["champion"] == "1"
    assert [(e["version"], e["min_app_version"], e["label"]) for e in index["versions"]] == [
        ("2", "2.1.0", "two"),
        ("1", "1.0.0", "one"),  # the card's minimum
    ]
    assert sorted(p.name for p in out.iterdir()) == ["1", "2", INDEX]

    promoted = export_version(out, "2", ["onnx"], "fp16", "2.2.0", set_champion=True)
    assert promoted.champion == read_index(out)["champion"] == "2"
    assert read_index(out)["versions"][0]["min_app_version"] == "2.2.0"  # replaced, not added
    assert sorted(p.name for p in out.iterdir()) == ["1", "2", INDEX]


def test_a_failing_export_leaves_no_folder_and_the_old_index(lifters, tmp_path, monkeypatch):
    out = tmp_path / "phone"
    export_version(out, "1", ["onnx"], "fp16", cache_dir=lifters)
    before = (out / INDEX).read_bytes()

    def broken(out, *args):
        (out / "lifter_stream.onnx").write_bytes(b"half")
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(mobile_export.export, "export_all", broken)
    with pytest.raises(RuntimeError, match="converter crashed"):
        export_version(out, "2", ["onnx"], "fp16", "2.0.0", cache_dir=lifters)
    assert sorted(p.name for p in out.iterdir()) == ["1", INDEX]
    assert (out / INDEX).read_bytes() == before


def test_a_minimum_app_version_is_required_and_checked(lifters, tmp_path):
    out = tmp_path / "phone"
    with pytest.raises(ValueError, match="names no min_app_version"):
        export_version(out, "2", ["onnx"], "fp16", cache_dir=lifters)
    with pytest.raises(ValueError, match=r"X\.Y\.Z"):
        export_version(out, "2", ["onnx"], "fp16", "2.0", cache_dir=lifters)
    with pytest.raises(LookupError, match="no version '9'"):
        export_version(out, "9", ["onnx"], "fp16", "2.0.0", cache_dir=lifters)
    assert not (out / INDEX).exists()


@pytest.mark.slow
def test_a_real_export_names_its_version_in_the_sidecar(mlflow_store, tmp_path):
    checkpoint = tiny_lifter_checkpoint(tmp_path, "tiny-phone")
    card = registry.ModelCard("lifter-causal", label="tiny-phone", min_app_version="1.4.0")
    registry.register("lifter-causal", checkpoint.parent, card)
    done = export_version(tmp_path / "phone", "1", ["onnx"], "none", set_champion=True)
    sidecar = json.loads((done.folder / "lifter.json").read_text())
    assert (sidecar["version"], sidecar["model_version"]) == ("1", "tiny-phone")
    assert sidecar["min_app_version"] == "1.4.0"
    assert set(sidecar["artifacts"]) == {"lifter_stream.onnx", "lifter_window.onnx"}
    assert read_index(tmp_path / "phone")["champion"] == "1"
