"""Schemathesis against a real server, as a user and as a trainer (``coach fuzz-api``).

Every check but valid-data acceptance (see :mod:`bench.fuzz_api`): no server error, every
status and content type documented, every answer valid against its schema, headers and
``Allow`` right, invalid data refused. Over 2,000 generated cases in all.
"""

from __future__ import annotations

import pytest

from bench.fuzz_api import fuzz_api

pytestmark = pytest.mark.slow  # some 2,400 requests to a server process: about a minute


def test_the_schema_holds_for_every_generated_case(tmp_path):
    summary = fuzz_api(tmp_path / "out", tmp_path / "reports", examples=10, seed=1)
    assert summary["cases"] >= 2000, summary
    details = {role: run["failure_examples"] for role, run in summary["runs"].items()}
    assert summary["failures"] == 0, details
    assert summary["server_errors"] == 0 and summary["server_alive_after"], summary
