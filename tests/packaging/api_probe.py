"""The API's import closure, seen from inside: serve the app and use it as the phone does,
then say which distributions its modules came from.

Run as a script in a fresh interpreter (``python api_probe.py PAYLOADS OUT [ALLOWED]``)
by ``test_api_imports.py``; stdlib only until the app is imported, so that everything
recorded is the API's. ``ALLOWED`` (a JSON list of distribution names) makes every
module of any other installed distribution unimportable, as if it were not installed:
an ``api``-only install, simulated in the development environment. Optional imports
("use it if it is there") then fall back as they would there, and a module the API
really needs fails the run.

``PAYLOADS`` holds a trainer's and a user's keypoint sequences; ``OUT`` receives the
answers' statuses, the distributions imported, the modules refused and the first-party
packages loaded.
"""

from __future__ import annotations

import base64
import importlib.abc
import importlib.machinery
import importlib.metadata
import json
import os
import re
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

FIRST_PARTY = {
    "pose3d", "pose2d", "scoring", "synthetic_data", "dataflow_jobs", "coach_api",
    "coach_client", "mobile_export", "lab", "coach_cli", "bench", "tests",
}  # fmt: skip
# What the API may import of this project (README: coach_api -> scoring, pose2d -> pose3d).
API_FIRST_PARTY = {"coach_api", "scoring", "pose2d", "pose3d"}


def canonical(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def file_owners() -> dict[str, str]:
    """Every installed file's real path -> the distribution it belongs to."""
    owners = {}
    for dist in importlib.metadata.distributions():
        # Read as text: the metadata's email parser and a path object per file would
        # take seconds for an environment of 200 distributions.
        name = re.search(r"^Name: *(\S+)", dist.read_text("METADATA") or "", re.MULTILINE)
        base = str(dist.locate_file("")) + os.sep
        for line in (dist.read_text("RECORD") or "").splitlines():
            file = line.rsplit(",", 2)[0]
            path = base + file
            owners[os.path.normpath(path) if ".." in file else path] = canonical(name[1])
    return owners


class Uninstalled(importlib.abc.MetaPathFinder):
    """Refuses modules of distributions outside ``allowed`` (and of this project outside
    the API's packages) with ModuleNotFoundError, the way a missing package fails."""

    def __init__(self, owners: dict[str, str], allowed: set[str]) -> None:
        self.owners, self.allowed = owners, allowed
        self.refused: list[list[str]] = []  # [module, distribution, importer]

    def find_spec(self, name, path, target=None):
        top = name.partition(".")[0]
        if top in FIRST_PARTY:
            owner = None if top in API_FIRST_PARTY else "fitness-coach"
        else:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            origin = spec.origin if spec is not None else None
            owner = self.owners.get(os.path.normpath(origin)) if origin else None
            if owner in self.allowed:
                owner = None
        if owner is None:
            return None  # the usual finders import it
        importer = sys._getframe(1)
        while importer and importer.f_globals.get("__name__", "").startswith("importlib"):
            importer = importer.f_back
        caller = importer.f_globals.get("__name__", "?") if importer else "?"
        self.refused.append([name, owner, caller])
        raise ModuleNotFoundError(f"No module named {name!r} (not in the api install)", name=name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Phone:
    """The app's calls, over real HTTP with the standard library."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body=None, token: str = "", form=None):
        """(status, body bytes) of one request; ``body`` JSON, or ``form`` urlencoded."""
        headers, data = {}, None
        if body is not None:
            headers["Content-Type"], data = "application/json", json.dumps(body).encode()
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(form).encode()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def account(self, email: str) -> str:
        """Register ``email`` and log in: its token."""
        self.call("POST", "/v1/auth/register", {"email": email, "password": "correct horse"})
        _, token = self.call(
            "POST", "/v1/auth/login", form={"username": email, "password": "correct horse"}
        )
        return json.loads(token)["access_token"]


def use_the_api(base: str, database_url: str, payloads: dict) -> dict[str, object]:
    """What a deploy's smoke test does: health, docs, a trainer's routine, a user's
    scored session and its report page, a live socket: each answer's status."""
    from coach_api.accounts import grant_role_in

    phone, seen = Phone(base), {}
    for path in ("/v1/healthz", "/v1/readyz", "/v1/openapi.json", "/v1/docs", "/v1/metrics"):
        seen[path] = phone.call("GET", path)[0]
    seen["/v1/models"] = phone.call("GET", "/v1/models")[0]
    phone.account("coach@example.com")
    grant_role_in(database_url, "coach@example.com", "trainer")
    trainer = phone.account("coach@example.com")
    routine = {"name": "Squats", "movement": "squat", "published": True}
    status, created = phone.call(
        "POST", "/v1/routines", {**routine, "keypoints": payloads["trainer"]}, trainer
    )
    seen["POST /v1/routines"] = status
    routine_id = json.loads(created)["id"]
    user = phone.account("ana@example.com")
    body = {"routine_id": routine_id, "keypoints": payloads["user"]}
    status, session = phone.call("POST", "/v1/sessions", body, user)
    seen["POST /v1/sessions"] = status
    session_id = json.loads(session)["id"]
    seen["report.html"] = phone.call("GET", f"/v1/sessions/{session_id}/report.html", token=user)[0]
    header = {k: payloads["user"][k] for k in ("layout", "fps", "image_width", "image_height")}
    start = {"type": "start", "token": user, "routine_id": routine_id, **header}
    seen["live"] = live_answer(base, start)["type"]
    return seen


def live_answer(base: str, message: dict) -> dict:
    """The live socket's first answer to ``message``: a WebSocket client in a few lines of
    the standard library, so that only the server's WebSocket support is under test."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        key = base64.b64encode(os.urandom(16)).decode()
        conn.sendall(
            f"GET /v1/live HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        reader = conn.makefile("rb")
        status = reader.readline()
        assert b" 101 " in status, f"no WebSocket upgrade: {status!r}"
        while reader.readline() not in (b"\r\n", b""):
            pass  # the rest of the handshake's headers
        payload, mask = json.dumps(message).encode(), os.urandom(4)
        assert len(payload) < 65536
        conn.sendall(  # one masked text frame, as clients must send
            bytes([0x81, 0x80 | 126])
            + struct.pack("!H", len(payload))
            + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        )
        first, second = reader.read(2)
        length = second & 0x7F
        if length >= 126:
            size = 2 if length == 126 else 8
            length = int.from_bytes(reader.read(size), "big")
        assert first & 0x0F == 0x1, "the answer is not a text frame"
        return json.loads(reader.read(length))


def main(payloads_path: str, out_path: str, allowed_path: str | None = None) -> None:
    finder = None
    if allowed_path:
        allowed = {canonical(name) for name in json.loads(Path(allowed_path).read_text())}
        finder = Uninstalled(file_owners(), allowed)
        sys.meta_path.insert(0, finder)
    import uvicorn

    from coach_api.main import create_app
    from coach_api.settings import Settings

    with tempfile.TemporaryDirectory(prefix="coach-api-probe-") as folder:
        settings = Settings(data_dir=Path(folder))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.05)
        payloads = json.loads(Path(payloads_path).read_text())
        try:
            seen = use_the_api(f"http://127.0.0.1:{port}", settings.resolved_database_url, payloads)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    owners = file_owners()
    modules = {
        name: os.path.normpath(module.__file__)
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
    }
    report = {
        "answers": seen,
        "distributions": sorted({owners[f] for f in modules.values() if f in owners}),
        "first_party": sorted({n.partition(".")[0] for n in modules} & FIRST_PARTY),
        "modules": sorted(modules),
        "refused": finder.refused if finder else [],
    }
    Path(out_path).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
