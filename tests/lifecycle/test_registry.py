"""Registering versions, moving aliases and fetching a version's files."""

from __future__ import annotations

import shutil

import pytest

from lifecycle import registry
from lifecycle.bundled import bundled_card, bundled_folder
from pose3d.lifter import Lifter


def test_a_registered_version_comes_back_whole_by_alias_and_number(mlflow_store, tmp_path):
    folder = bundled_folder("knee-net", tmp_path / "knee")
    card = bundled_card("knee-net", {"synthetic.auc": 0.91})
    first = registry.register("knee-net", folder, card)
    (folder / "knee_net.json").write_text('{"changed": true}\n')
    second = registry.register("knee-net", folder, bundled_card("knee-net", {"synthetic.auc": 0.8}))
    assert (first, second) == ("1", "2")

    registry.set_alias("knee-net", "champion", first)
    fetched = registry.fetch("knee-net", "champion", tmp_path / "cache")
    assert fetched.version == "1"
    assert fetched.card.metrics == {"synthetic.auc": 0.91}
    assert fetched.file("knee_net.pt").read_bytes() == (folder / "knee_net.pt").read_bytes()
    assert fetched.file("knee_net.json").read_text() != '{"changed": true}\n'
    assert (
        registry.fetch("knee-net", "2", tmp_path / "cache").file("knee_net.json").read_text()
        == '{"changed": true}\n'
    )

    listed = registry.versions("knee-net")
    assert [(v.version, v.aliases) for v in listed] == [("2", ()), ("1", ("champion",))]
    assert listed[1].metrics == {"synthetic.auc": 0.91}


def test_missing_files_aliases_and_kinds_are_refused_by_name(mlflow_store, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"missing population\.json"):
        registry.register("detector", tmp_path / "empty", registry.ModelCard("detector"))
    with pytest.raises(ValueError, match="unknown model kind 'lifter'"):
        registry.fetch("lifter")
    with pytest.raises(LookupError, match="no version 'champion'"):
        registry.fetch("detector")
    assert registry.versions("detector") == []
    assert registry.alias_version("detector", "champion") is None


def test_a_detector_whose_trees_cannot_be_read_is_not_registered(mlflow_store, tmp_path):
    folder = bundled_folder("detector", tmp_path / "detector")
    (folder / "population.detector.npz").write_bytes(b"\x80\x04 a pickle, or anything else")
    with pytest.raises(ValueError, match="not a detector file"):
        registry.register("detector", folder, bundled_card("detector"))
    assert registry.versions("detector") == []


def test_a_version_another_replica_fetched_meanwhile_is_used_as_is(
    mlflow_store, tmp_path, monkeypatch
):
    folder = bundled_folder("knee-net", tmp_path / "knee")
    registry.register("knee-net", folder, bundled_card("knee-net"))
    target = tmp_path / "cache" / "coach-knee-net" / "1"
    client = registry.store.client()
    download = client.download_artifacts

    def download_while_another_replica_finishes(run_id, path, dst):
        downloaded = download(run_id, path, dst)
        shutil.copytree(downloaded, target)  # the other replica's whole copy lands first
        return downloaded

    monkeypatch.setattr(client, "download_artifacts", download_while_another_replica_finishes)
    fetched = registry.fetch("knee-net", "1", tmp_path / "cache")
    assert fetched.folder == target and fetched.card.kind == "knee-net"
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]  # no staging left behind


def test_a_seeded_version_carries_the_figures_recorded_beside_the_bundled_model():
    """What GET /v1/models shows for a model is the same served bundled or seeded."""
    assert bundled_card("lifter-causal").metrics == Lifter.from_checkpoint().metadata.metrics
    detector = bundled_card("detector").metrics
    assert 0.5 < detector["validation.lifted.macro_f1"] <= 1.0
    assert 0.5 < bundled_card("knee-net").metrics["held_out_auc.left_caving"] <= 1.0
