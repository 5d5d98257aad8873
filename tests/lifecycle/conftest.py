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
