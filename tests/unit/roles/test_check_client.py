"""remote_viewer's preflight check of the client, run as the real script."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "roles/remote_viewer/files/check_client.py"


def check(display: str, port: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.read_text(), display, "127.0.0.1", str(port)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_a_listening_port_passes_and_a_dead_display_is_named():
    with socket.create_server(("127.0.0.1", 0)) as server:
        found = check(":199", server.getsockname()[1])
    assert found["port_error"] == ""
    # xset missing (127) passes, as the role allows; xset present cannot open :199
    assert found["display_rc"] == 127 or "199" in found["display_error"]


def test_a_closed_port_is_reported_after_its_grace():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    found = check("", port)
    assert "refused" in found["port_error"].lower()
    assert found["display_rc"] == 0  # no display asked
