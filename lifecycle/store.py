"""Where MLflow keeps runs, metrics, artifacts and registered models.

By default a SQLite file and an artifact folder under ``./mlruns`` (the working
directory's; ``COACH_MLFLOW_DIR`` moves it), so tracking and the registry work offline on
one machine; ``COACH_MLFLOW_TRACKING_URI`` (or MLflow's own ``MLFLOW_TRACKING_URI``) names
a tracking server (``http://mlflow.internal:5000``) or a database instead. MLflow is
imported when first used: the API imports this module whether or not it serves from the
registry.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

DEFAULT_DIR = Path("mlruns")


def store_dir() -> Path:
    """The local folder of the default store: ``COACH_MLFLOW_DIR`` or ``./mlruns``."""
    return Path(os.environ.get("COACH_MLFLOW_DIR") or DEFAULT_DIR).resolve()


def tracking_uri() -> str:
    """The tracking (and registry) URI in force."""
    configured = os.environ.get("COACH_MLFLOW_TRACKING_URI") or os.environ.get(
        "MLFLOW_TRACKING_URI"
    )
    if configured:
        return configured
    return f"sqlite:///{store_dir() / 'mlflow.db'}"


def artifact_root() -> str | None:
    """Where new experiments keep their artifacts: beside the SQLite file for the default
    store; the server's own default (``None``) for a configured one."""
    if os.environ.get("COACH_MLFLOW_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    return (store_dir() / "artifacts").as_uri()


@cache
def _client(uri: str):
    from mlflow import MlflowClient

    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def client():
    """An ``MlflowClient`` on :func:`tracking_uri` (one per URI, created on first use)."""
    return _client(tracking_uri())


def experiment_id(name: str) -> str:
    """The id of experiment ``name``, created (artifacts under :func:`artifact_root`) if
    it does not exist yet."""
    found = client().get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client().create_experiment(name, artifact_location=artifact_root())
