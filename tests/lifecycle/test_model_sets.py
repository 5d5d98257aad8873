"""The re-scoring job's model specs resolved against the registry (dataflow_jobs.model_sets)."""

from __future__ import annotations

import pytest

from dataflow_jobs.model_sets import resolve
from lifecycle.bundled import bundled_card, bundled_folder
from lifecycle.registry import register, set_alias


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
