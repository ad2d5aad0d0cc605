"""The real lab logs the spice_server and remote_viewer tests read (tests/fixtures/spice-logs)."""

from __future__ import annotations

from pathlib import Path

LOGS = Path(__file__).parents[2] / "fixtures" / "spice-logs"
SAMPLES = ("mjpeg-ball-640", "mjpeg-smpte-scroll-1024", "vp8-smpte-scroll-1024", "tbf-4mbit")
SAMPLES += ("idle",)


def read(name: str) -> str:
    """The file as it is: no newline translation, the driver's "\\r" stay."""
    with open(LOGS / name, encoding="utf-8", newline="") as f:
        return f.read()


def tod(clock: str) -> float:
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
