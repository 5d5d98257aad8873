"""A throwaway MLflow store per test (SQLite file and artifact folder under tmp_path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lifecycle import store
from tests.conftest import write_tiny_shards


def _point_at(patch: pytest.MonkeyPatch, folder: Path) -> None:
    patch.delenv("COACH_MLFLOW_TRACKING_URI", raising=False)
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    patch.setenv("COACH_MLFLOW_DIR", str(folder))


@pytest.fixture(scope="session")
def _empty_store_database(tmp_path_factory) -> Path:
    """An MLflow SQLite database with its tables made (MLflow's migrations take about a
    second: made once, copied for each test)."""
    folder = tmp_path_factory.mktemp("mlflow-template")
    with pytest.MonkeyPatch.context() as patch:
        _point_at(patch, folder)
        store.client().search_experiments()
    return folder / "mlflow.db"


@pytest.fixture
def unused_mlflow_store(tmp_path, monkeypatch) -> Path:
    """Point lifecycle.store at a folder that does not exist yet; returns it."""
    _point_at(monkeypatch, tmp_path / "mlruns")
    return tmp_path / "mlruns"


@pytest.fixture
def mlflow_store(unused_mlflow_store, _empty_store_database) -> Path:
    """Point lifecycle.store at a fresh local store (an empty database); returns its folder."""
    unused_mlflow_store.mkdir()
    shutil.copy(_empty_store_database, unused_mlflow_store / "mlflow.db")
    return unused_mlflow_store


@pytest.fixture(scope="module")
def tiny_shards(tmp_path_factory):
    """Tiny train/val/test shards filmed from six short simulated clips."""
    return write_tiny_shards(tmp_path_factory.mktemp("shards"), 6, 8, 2, "tiny")
