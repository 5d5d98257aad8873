"""``coach-api serve`` as deployed: settings of the server itself, not of the app."""

from __future__ import annotations

import base64
import os
import socket
from pathlib import Path

import pytest

from coach_client.local_server import free_port, start_server
from tests.conftest import tiny_lifter_checkpoint

pytestmark = pytest.mark.slow  # a real server process


def _handshake_headers(port: int) -> dict[str, str]:
    """The live socket's upgrade answer to a client offering per-message compression."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        key = base64.b64encode(os.urandom(16)).decode()
        conn.sendall(
            f"GET /v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n".encode()
        )
        reader = conn.makefile("rb")
        assert b" 101 " in reader.readline()
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers


def test_the_live_socket_declines_per_message_compression(tmp_path):
    """Deflating every small frame batch costs server CPU and two zlib streams per socket;
    the server answers the upgrade without the extension, so messages go uncompressed."""
    checkpoint = tiny_lifter_checkpoint(tmp_path, "serve")
    port = free_port()
    server = start_server(tmp_path / "data", port, lifter_checkpoint=checkpoint)
    try:
        headers = _handshake_headers(port)
    finally:
        server.kill()
        server.wait(timeout=10)
    assert "sec-websocket-extensions" not in headers, headers


@pytest.mark.parametrize(("setting", "loaded"), [("auto", True), ("asyncio", False)])
def test_the_event_loop_is_uvloop_unless_told_otherwise(tmp_path, setting, loaded):
    """uvloop (installed with the API) runs the server by default: ~10% less CPU for live
    streams (docs/benchmarks.md); COACH_EVENT_LOOP=asyncio keeps the standard library's."""
    checkpoint = tiny_lifter_checkpoint(tmp_path, "serve")
    port = free_port()
    server = start_server(tmp_path / "data", port, lifter_checkpoint=checkpoint, event_loop=setting)
    try:
        maps = Path(f"/proc/{server.pid}/maps").read_text()  # the libraries it runs
    finally:
        server.kill()
        server.wait(timeout=10)
    assert ("site-packages/uvloop/" in maps) is loaded
