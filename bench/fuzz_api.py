"""Schemathesis against a running API, as a user and as a trainer (``coach fuzz-api``,
or ``python -m bench.fuzz_api``).

Starts the API on loopback (a fresh data folder, rate limits lifted so the fuzzer is not
just answered 429), makes a user and a trainer (with a published routine, so generated
ids can hit real rows), then runs schemathesis' CLI from the OpenAPI schema once per
token with every check but one (server errors, status codes, content types, response
schemas, headers, methods, invalid data refused; see ``--exclude-checks`` below, and
``bench/schemathesis.toml`` for the multipart exception and the phases run). Writes
``fuzz-summary.json`` (cases, statuses, failures) into ``--out`` and schemathesis' own
reports (large) into ``--reports``.
The server is a child process (``coach_client.local_server``), the service untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import httpx

from coach_client.local_server import free_port, grant_role, server_env, start_server
from synthetic_data.detector import phone_json
from synthetic_data.generator import trainer_clip

PASSWORD = "fuzzing password"
CONFIG = Path(__file__).with_name("schemathesis.toml")  # per-operation exceptions, explained


def _token(client: httpx.Client, email: str) -> str:
    client.post("/auth/register", json={"email": email, "password": PASSWORD})
    form = {"username": email, "password": PASSWORD}
    return client.post("/auth/login", data=form).json()["access_token"]


def _run_schemathesis(url: str, token: str, examples: int, seed: int, out: Path) -> dict:
    """One schemathesis run with ``token``; returns its counts from the NDJSON events."""
    events = out / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--url",
        url.removesuffix("/v1"),
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        # Valid per the schema yet refused: rules JSON Schema cannot state (the frame count
        # limits are the operator's settings, every frame has the layout's joints, beat
        # times increase) make most generated keypoint bodies invalid. Every other check.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",  # two workers met a race in Hypothesis' lambda descriptions (a runtime error)
        "--report",
        "ndjson,junit",
        "--report-ndjson-path",
        str(events),
        "--report-junit-path",
        str(out / "junit.xml"),
        "--suppress-health-check",
        "all",
        # Erasing its own account would leave the rest of the run answering 401.
        "--exclude-operation-id",
        "deleteMe",
    ]
    hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "bench.fuzz_hooks"}
    # Run in the reports folder: schemathesis keeps the failures it found in ./.schemathesis
    # and replays them in later runs, which would make a run depend on earlier ones (and
    # leave its cache in the repository).
    finished = subprocess.run(command, capture_output=True, text=True, env=hooks, cwd=out)
    (out / "output.txt").write_text(finished.stdout + finished.stderr)
    report = ElementTree.parse(out / "junit.xml").getroot()
    # Failed checks, and cases the tool could not run (counted too: nothing passes unseen).
    failed = [*report.iter("failure"), *report.iter("error")]
    failures = [f.text or f.get("message", "") for f in failed]
    statuses, cases = Counter(), 0
    for line in events.read_text().splitlines():
        event = json.loads(line)
        for kind, body in event.items():
            if kind != "ScenarioFinished":
                continue
            for case in (body.get("recorder") or {}).get("interactions", {}).values():
                response = case.get("response") or {}
                if response.get("status_code") is not None:
                    cases += 1
                    statuses[str(response["status_code"])[0] + "xx"] += 1
    return {
        "exit_code": finished.returncode,
        "cases": cases,
        "statuses": dict(statuses),
        "failures": len(failures),
        "failure_examples": [str(f)[:300] for f in failures[:10]],
    }


def fuzz_api(out: Path, reports: Path, examples: int = 100, seed: int = 1) -> dict:
    """Fuzz a fresh server as a user and as a trainer; returns and writes the summary."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        url = f"http://127.0.0.1:{port}/v1"
        unlimited = {
            "rate_per_minute": 1e9,
            "rate_burst": 10**9,
            "signup_per_minute": 1e9,
            "login_per_minute": 1e9,
            "login_failures_per_account": 10**9,
        }
        server = start_server(Path(data), port, **unlimited)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                trainer = _token(client, "trainer@example.com")
                grant_role("trainer@example.com", "trainer", server_env(Path(data), **unlimited))
                body = {
                    "name": "Squats",
                    "movement": "squat",
                    "keypoints": phone_json(trainer_clip("squat")),
                    "published": True,
                }
                headers = {"Authorization": f"Bearer {trainer}"}
                client.post("/routines", headers=headers, json=body).raise_for_status()
                user = _token(client, "user@example.com")
            runs = {}
            for role, token in (("user", user), ("trainer", trainer)):
                folder = reports / role
                folder.mkdir(parents=True, exist_ok=True)
                runs[role] = _run_schemathesis(url, token, examples, seed, folder)
            alive = server.poll() is None
        finally:
            server.kill()
            server.wait(timeout=10)
    summary = {
        "examples_per_operation": examples,
        "seed": seed,
        "cases": sum(r["cases"] for r in runs.values()),
        "server_errors": sum(r["statuses"].get("5xx", 0) for r in runs.values()),
        "failures": sum(r["failures"] for r in runs.values()),
        "server_alive_after": alive,
        "runs": runs,
    }
    (out / "fuzz-summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/security"))
    parser.add_argument("--reports", type=Path, default=Path("runs/fuzz"))
    parser.add_argument("--examples", type=int, default=100, help="cases per operation")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    summary = fuzz_api(args.out, args.reports, args.examples, args.seed)
    print(
        f"{summary['cases']} cases, {summary['failures']} failed checks, "
        f"{summary['server_errors']} server errors, "
        f"server alive: {summary['server_alive_after']} -> {args.out / 'fuzz-summary.json'}"
    )
    if summary["failures"] or summary["server_errors"] or not summary["server_alive_after"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
