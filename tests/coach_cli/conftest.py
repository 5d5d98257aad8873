"""The bundled learned detector is read once per session (see tests/conftest.py)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _bundled_detector(bundled_detector_read_once):
    """Every ``PopulationModel.load()`` here shares one read of the bundled detector."""
