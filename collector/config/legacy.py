"""The old script's benchmark.yaml options, read as it read them.

A measurement listed under its old CamelCase name (``StreamingAgent``,
``RemoteViewer``, ``SpiceServer``) takes the old script's option names, with
the old meaning: ``SpiceServer: log`` was the server's recorder file, while
``spice_server: log`` is its debug log. Each old option becomes one or more
of the role's options, and the experiment keeps the parameter name the old
script recorded (``FPS``, ``GOP``, ``num_ref_frames``, ``bitrate``) next to
ours, so old and new results can be found by the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MEBI = 1024 * 1024  # the old script's bits/s to "Mbit/s"


@dataclass(frozen=True)
class LegacyOption:
    """One option of the old script: the role options it sets, and its parameter name."""

    translate: Callable[[Any], dict[str, Any]]
    parameter: str = ""  # the name the old script recorded it under; empty: none
    number: bool = False  # the old script required a number


def _agent_option(key: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {"options": {key: value}}


def _bitrate(bits_per_second: Any) -> dict[str, Any]:
    """The old script's ``bitrate`` (bits/s): average and 1.5 times as much at most, in Mbit/s."""
    average = bits_per_second / MEBI
    return {"options": {"average-bitrate": average, "max-bitrate": 1.5 * average}}


LEGACY_OPTIONS: dict[str, dict[str, LegacyOption]] = {
    "streaming_agent": {
        "FPS": LegacyOption(lambda v: {"framerate": v}, "FPS", number=True),
        "GOP": LegacyOption(_agent_option("gop"), "GOP", number=True),
        "ref-frames": LegacyOption(
            _agent_option("max-num-ref-frames"), "num_ref_frames", number=True
        ),
        "bitrate": LegacyOption(_bitrate, "bitrate", number=True),
        "ratecontrol": LegacyOption(_agent_option("ratecontrol"), "ratecontrol"),
    },
    "remote_viewer": {"URL": LegacyOption(lambda v: {"uri": v})},
    "spice_server": {"log": LegacyOption(lambda v: {"recorder_file": v})},
}


def old_name(role: str) -> str:
    """The old script's CamelCase name of a role (``streaming_agent`` → ``StreamingAgent``)."""
    return "".join(part.capitalize() for part in role.split("_"))


def legacy_option(role: str, name: str, option: str) -> LegacyOption | None:
    """The old meaning of ``option``, when the measurement is listed by its old name."""
    if name == role:
        return None  # the new name takes the new options only
    return LEGACY_OPTIONS.get(role, {}).get(option)


def merge_options(given: dict[str, Any], translated: dict[str, Any]) -> None:
    """Add an old option's role options to ``given``; mappings (``options``) are merged."""
    for key, value in translated.items():
        if isinstance(value, dict) and isinstance(given.get(key), dict):
            given[key] = {**given[key], **value}
        else:
            given[key] = value
