"""A throwaway MLflow store per test (SQLite file and artifact folder under tmp_path)."""

from __future__ import annotations

import pytest

from tests.conftest import write_tiny_shards


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
    return write_tiny_shards(tmp_path_factory.mktemp("shards"), 6, 8, 2, "tiny")
