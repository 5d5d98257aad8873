"""The re-scoring job's model specs resolved against the registry (dataflow_jobs.model_sets)."""

from __future__ import annotations

import pytest

from dataflow_jobs.model_sets import load_set, resolve
from lifecycle.bundled import bundled_card, bundled_folder
from lifecycle.registry import register, set_alias
from scoring.knee_net import KneeNet, bundled


@pytest.mark.slow  # an MLflow store created and written (~9 s)
def test_registry_specs_fetch_the_aliased_version(mlflow_store, tmp_path):
    folder = bundled_folder("knee-net", tmp_path / "knee")
    version = register("knee-net", folder, bundled_card("knee-net"))
    set_alias("knee-net", "champion", version)
    for spec in ("registry:champion", f"registry:{version}"):
        resolved = resolve("knee-net", spec, tmp_path / "scratch")
        assert resolved.version == version and resolved.label == "bundled-knee-net"
        assert resolved.files["knee_net.pt"].read_bytes() == (folder / "knee_net.pt").read_bytes()
    with pytest.raises(LookupError, match="challenger"):
        resolve("knee-net", "registry:challenger", tmp_path / "scratch")
    with pytest.raises(ValueError, match=r"missing knee_net\.json"):
        (tmp_path / "half").mkdir()
        (tmp_path / "half" / "knee_net.pt").write_bytes(b"x")
        resolve("knee-net", str(tmp_path / "half"), tmp_path / "scratch")


def test_a_staged_set_scores_with_its_own_knee_network(tmp_path):
    """The detector of a set reads the set's knee network, not the bundled one."""
    staged = tmp_path / "out" / "models" / "candidate"
    bundled_folder("lifter-recordings", staged)
    bundled_folder("detector", staged)
    shipped = bundled()
    KneeNet(shipped.model, shipped.info | {"trained_for": "the candidate"}).save(
        staged / "knee_net.pt"
    )
    _, population = load_set(str(tmp_path / "out"), "candidate")
    assert population.knee_network().info["trained_for"] == "the candidate"
