"""``remote_viewer``: what the client showed, from remote-viewer's own log.

remote-viewer's stderr with ``SPICE_DEBUG=1``: spice-gtk's debug log and recorder traces.

spice-gtk's ``SPICE_DEBUG()`` is ``g_debug(G_STRLOC " " fmt)`` and a channel's
``CHANNEL_DEBUG()`` adds the channel name (``"%s-%d:%d"``, e.g.
``display-2:0``), so GLib prints::

    (remote-viewer:PID): GSpice-DEBUG: HH:MM:SS.mmm: ../src/FILE:LINE CHANNEL: message

Tables (formats of spice-gtk 0.42, src/channel-display.c):

- ``client_frames``: one row per ``video margin: N`` line, printed for every
  stream frame that arrived in time (margin = frame mm_time - client mm_time,
  ms). Older spice-gtk printed the same value as ``video latency: N``; that is
  read too. ``video margin: N, set to 0 since there is no playback`` is a
  second line about the same frame and is not counted.
- ``client_late_frames``: one row per ``stream data too late by N ms (ts: T,
  mmtime: M)`` line (older spice-gtk appends ``, dropping``); ``dropped`` is 1
  when the decoder's ``dropping a late ... frame`` follows before the next
  frame's line (the MJPEG decoders drop late frames, the GStreamer one does
  not).
- ``client_stream_summary``: the statistics printed when a stream is
  destroyed (``display_stream_stats_debug``, ``destroy_stream`` before 0.40):
  ``id``, ``#in-frames``, ``out/in``, ``#drops-on-receive``,
  ``avg-late-time(ms)``, ``#drops-on-playback``, and from the lines that
  follow it ``#drops-sequences`` and ``drops-total-duration``.
- ``client_decode``: the ``frames_stats`` recorder trace of the GStreamer
  decoder (src/channel-display-gst.c), one row per decoded frame:
  ``frame mm_time M size S creation time T decoded time D queue Q before B``.
  ``creation_time`` is the frame's arrival, g_get_monotonic_time() in µs;
  ``decoded_time`` the µs from arrival to decoded; ``queue`` the decoding
  queue length then, ``queue_before`` (``before``, an SQL keyword) its length
  when the frame was queued. ``trace_time`` and ``seq`` are the recorder's
  ``[ORDER RELTIME]`` (seconds since the first record, global order).

``time`` is the sampler runner's ``<epoch> `` prefix when the line has one,
else None; ``time_of_day`` is the log's own local ``HH:MM:SS.mmm`` in seconds
since midnight.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise
from statistics import fmean

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import (
    Rows,
    TimeOfDay,
    log_lines,
    recorder_head,
    split_timestamp,
)
from collector.measurements.summarizing import by, known, mean, p95, rate, rounded, timeline

FRAME_FIELDS = ("time", "time_of_day", "channel", "margin_ms")
LATE_FIELDS = ("time", "time_of_day", "channel", "late_ms", "ts", "mm_time", "dropped")
SUMMARY_FIELDS = (
    "time", "time_of_day", "channel", "stream_id", "in_frames", "out_in", "drops_on_receive",
    "avg_late_time_ms", "drops_on_playback", "drops_sequences", "drops_total_duration_ms",
)  # fmt: skip
DECODE_FIELDS = (
    "time", "trace_time", "seq", "mm_time", "size", "creation_time", "decoded_time", "queue",
    "queue_before",
)  # fmt: skip

# "(prgname:pid): GSpice-LEVEL[ **]: [HH:MM:SS.mmm: ]path:line message"; search()
# so that anything glued in front of the line does not hide it.
_HEAD_PATTERN = (
    r"\([^()]*:\d+\): GSpice-[A-Z]+(?: \*\*)?: "
    r"(?:(\d\d:\d\d:\d\d)\.(\d{3}): )?"
    r"\S+:\d+ "
)
_HEAD = re.compile(_HEAD_PATTERN + "(.*)")
_CHANNEL = r"([\w-]+-\d+:\d+): "
# The bulk of a client log: header and message in one regex.
_MARGIN = re.compile(_HEAD_PATTERN + _CHANNEL + r"video (?:margin|latency): (-?\d+)\r?$")
_LATE = re.compile(
    _CHANNEL + r"stream data too late by (\d+) ms \(ts: (\d+), mmtime: (\d+)\)(?:, dropping)?"
)
_DROPPING = re.compile(r"dropping a late \w+ frame")
_SUMMARY = re.compile(
    _CHANNEL + r"\w+: id=(\d+) #in-frames=(\d+) out/in=(\S+) #drops-on-receive=(\d+) "
    r"avg-late-time\(ms\)=(\S+) #drops-on-playback=(\d+)"
)
_SEQUENCES = re.compile(_CHANNEL + r"\w+: #drops-sequences=(\d+) ==>")
_TOTAL = re.compile(_CHANNEL + r"\w+: drops-total-duration=(\d+) ==>")
_DECODE = re.compile(
    r"(?:\[([^\]]*)\] )?frames_stats:? frame mm_time (\d+) size (\d+) creation time (-?\d+) "
    r"decoded time (-?\d+) queue (\d+) before (\d+)\s*"
)

_MARKERS = (
    "stream data too late", "dropping a late", "#in-frames=", "#drops-sequences=",
    "drops-total-duration=",
)  # fmt: skip

_SEQUENCES_AT = SUMMARY_FIELDS.index("drops_sequences")
_TOTAL_AT = SUMMARY_FIELDS.index("drops_total_duration_ms")


def _number(value: str) -> float | None:
    """A %.2f of spice-gtk; None for nan/inf (a stream of 0 frames in old versions)."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse(text: str) -> dict[str, Rows]:
    frames = Rows(FRAME_FIELDS)
    late = Rows(LATE_FIELDS)
    summary = Rows(SUMMARY_FIELDS)
    decode = Rows(DECODE_FIELDS)
    pending_late: int | None = None  # the late frame a "dropping" line would be about
    last_summary: dict[str, int] = {}  # channel → its latest summary row
    time_of_day = TimeOfDay()

    for raw in log_lines(text):
        if "video margin: " in raw or "video latency: " in raw:
            t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
            found = _MARGIN.search(line)
            if found:
                hms, msec, channel, margin = found.groups()
                frames.rows.append((t, time_of_day(hms, msec), channel, int(margin)))
                pending_late = None
            continue
        if "frame mm_time " in raw:
            _decode(raw, decode)
            continue
        for marker in _MARKERS:
            if marker in raw:
                break
        else:
            continue
        t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
        head = _HEAD.search(line)
        if head is None:
            continue
        hms, msec, message = head.groups()
        tod = time_of_day(hms, msec)
        message = message.rstrip("\r")

        found = _LATE.fullmatch(message)
        if found:
            pending_late = len(late.rows)
            late.rows.append((t, tod, found[1], int(found[2]), int(found[3]), int(found[4]), 0))
            continue
        if _DROPPING.fullmatch(message):
            if pending_late is not None:
                late.rows[pending_late] = (*late.rows[pending_late][:-1], 1)
                pending_late = None
            continue
        found = _SUMMARY.fullmatch(message)
        if found:
            channel = found[1]
            last_summary[channel] = len(summary.rows)
            summary.rows.append(
                (
                    t, tod, channel, int(found[2]), int(found[3]), _number(found[4]),
                    int(found[5]), _number(found[6]), int(found[7]), 0, 0,
                )
            )  # fmt: skip
            continue
        for pattern, column in ((_SEQUENCES, _SEQUENCES_AT), (_TOTAL, _TOTAL_AT)):
            found = pattern.fullmatch(message)
            if found:
                at = last_summary.get(found[1])
                if at is not None:  # else its summary line is before the window
                    row = list(summary.rows[at])
                    row[column] = int(found[2])
                    summary.rows[at] = tuple(row)
                break

    return {
        "client_frames": frames,
        "client_late_frames": late,
        "client_stream_summary": summary,
        "client_decode": decode,
    }


def _decode(raw: str, decode: Rows) -> None:
    t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
    found = _DECODE.search(line)
    if found is None or found.end() != len(line):
        return
    parsed = recorder_head(found[1])
    if parsed is None:
        return
    seq, trace_time = parsed
    decode.rows.append((t, trace_time, seq, *(int(v) for v in found.groups()[1:])))


def summarize_frames(records: list[Record]) -> Section:
    """Frames the client showed, per display channel."""
    out: Section = {}
    for (host, channel), rs in by(records, "host", "channel").items():
        times = timeline(rs)
        intervals = [(b - a) * 1000 for a, b in pairwise(times)]
        out[f"{host}/{channel}"] = {
            "frames": len(rs),
            "fps": rounded(rate(times)),
            "interval_mean_ms": round(fmean(intervals), 2) if intervals else None,
            "interval_p95_ms": rounded(p95(intervals)),
            "margin_mean_ms": mean(rs, "margin_ms"),
        }
    return out


def summarize_late(records: list[Record]) -> Section:
    return {
        f"{host}/{channel}": {
            "late_frames": len(rs),
            "dropped": sum(known(rs, "dropped")),
            "late_mean_ms": mean(rs, "late_ms"),
        }
        for (host, channel), rs in by(records, "host", "channel").items()
    }


MEASUREMENT = Measurement(
    name="remote_viewer",
    samplers=(Sampler("remote_viewer", {"output": parse}),),
    tables={
        "client_frames": FRAME_FIELDS,
        "client_late_frames": LATE_FIELDS,
        "client_stream_summary": SUMMARY_FIELDS,
        "client_decode": DECODE_FIELDS,
    },
    summaries=(
        Summary("client_frames", summarize_frames, (
            Figure("frames", headline=True),
            Figure("fps", "frames/s", headline=True),
            Figure("interval_mean_ms", "ms", headline=True),
            Figure("interval_p95_ms", "ms", headline=True),
            Figure("margin_mean_ms", "ms", headline=True),
        )),
        Summary("client_late_frames", summarize_late, (
            Figure("late_frames", headline=True),
            Figure("dropped"),
            Figure("late_mean_ms", "ms", headline=True),
        )),
    ),
)  # fmt: skip
