"""``remote_viewer``: what the client showed, from remote-viewer's own log.

remote-viewer's stderr with ``SPICE_DEBUG=1``: spice-gtk's debug log and recorder traces.

spice-gtk's ``SPICE_DEBUG()`` is ``g_debug(G_STRLOC " " fmt)`` and a channel's
``CHANNEL_DEBUG()`` adds the channel name (``"%s-%d:%d"``, e.g.
``display-2:0``), so GLib prints::

    (remote-viewer:PID): GSpice-DEBUG: HH:MM:SS.mmm: ../src/FILE:LINE CHANNEL: message

A line is found by its ``channel-display*.c:LINE `` alone, whatever is in
front (GLib without its prefix, a re-routed log, a journal). Formats of every
spice-gtk from 0.20 to 0.42; docs/parsers.md says which version printed what.

Tables:

- ``client_frames``: one row per ``video margin: N`` line (``video latency: N``
  before 0.38), printed for every stream frame that arrived in time (margin =
  frame mm_time - client mm_time, ms). ``..., set to 0 since there is no
  playback`` is a second line about the same frame and is not counted.
- ``client_late_frames``: one row per ``stream data too late by N ms (ts: T,
  mmtime: M)`` line (``, dropin`` in 0.20-0.27, ``, dropping`` in 0.28-0.35);
  ``dropped`` is 1 for ``, dropin`` (dropped on arrival) or when a decoder's
  ``dropping a late MJPEG frame`` follows before the next frame's line.
- ``client_drops``: frames the decoders and the playback dropped, as they
  happen: ``rendering too late`` (``reason`` rendering_too_late, with
  ``late_ms``), ``the GStreamer pipeline dropped N frames`` (pipeline_dropped,
  ``count`` N), ``dropping a late MJPEG frame`` (late_frame), ``unable to push
  frame`` (push_failed) and the Appsrc warning (appsrc_not_ready). Those lines
  name no stream: ``stream_id`` and ``channel`` are the newest stream created
  (``display_handle_stream_create``) and not destroyed; ``decoder`` is from
  the file that printed the line.
- ``client_stream_summary``: the statistics printed when a stream is
  destroyed: ``id``, ``#in-frames``, ``out/in``, ``#drops-on-receive``
  (``#drops-on-arrive`` before 0.28), ``avg-late-time(ms)``,
  ``#drops-on-playback``, and from the lines that follow it
  ``#drops-sequences`` and ``drops-total-duration``.
- ``client_decode``: the ``frames_stats`` recorder trace of the GStreamer
  decoder (src/channel-display-gst.c, 0.37 on), one row per decoded frame:
  ``frame mm_time M size S creation time T decoded time D queue Q before B``.
  ``creation_time`` is the frame's arrival, g_get_monotonic_time() in µs;
  ``decoded_time`` the µs from arrival to decoded; ``queue`` the decoding
  queue length then, ``queue_before`` (``before``, an SQL keyword; 0.38 on)
  its length when the frame was queued; ``keyframe`` the flag patched builds
  append. ``trace_time`` and ``seq`` are the recorder's ``[ORDER TIME]``
  (seconds since its first record, global order).

``time`` is the sampler runner's ``<epoch> `` prefix when the line has one,
else a journal entry's time, else None; ``time_of_day`` is the log's own
local ``HH:MM:SS.mmm`` in seconds since midnight. Lines with the parser's
markers that do not parse are counted (``Parsed.lines``), not dropped in silence.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise
from statistics import fmean

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import (
    LineCounts,
    Parsed,
    Rows,
    TimeOfDay,
    clock_before,
    journal_entry_time,
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
    "queue_before", "keyframe",
)  # fmt: skip
DROP_FIELDS = (
    "time", "time_of_day", "channel", "stream_id", "reason", "count", "late_ms", "decoder",
)  # fmt: skip

# Why the client dropped frames in the window (client_drops.reason).
RENDERING_TOO_LATE = "rendering_too_late"  # playback: the frame's time had passed when decoded
PIPELINE_DROPPED = "pipeline_dropped"  # GStreamer dropped frames inside its pipeline
LATE_FRAME = "late_frame"  # the decoder dropped a frame that arrived too late
PUSH_FAILED = "push_failed"  # GStreamer refused the frame (counted as a playback drop)
APPSRC_NOT_READY = "appsrc_not_ready"  # idem, before the pipeline was up

# Every spice-gtk line the tables want comes from channel-display*.c, printed
# by SPICE_DEBUG as "FILE:LINE message" (G_STRLOC, then a space); GLib or
# whatever re-routes it puts anything in front: "(prog:pid): GSpice-DEBUG: ",
# "GSpice-DEBUG: ", "qemu: info: GSpice: ", a journal's "MESSAGE=" ... Only the
# time of day GLib (2.56 and later) prints just before the file is read
# (clock_before). The file says which decoder a line without a channel is about.
_HEAD = re.compile(r"channel-display([\w-]*)\.c:\d+ (.*)")
_CHANNEL = r"([\w-]+-\d+:\d+): "
# The bulk of a client log: header and message in one regex.
_MARGIN = re.compile(r"channel-display\.c:\d+ " + _CHANNEL + r"video (?:margin|latency): (-?\d+)$")
# ", dropin" (sic) in 0.20-0.27, ", dropping" in 0.28-0.35, nothing since
_LATE = re.compile(
    _CHANNEL
    + r"stream data too late by (\d+) ms \(ts: (\d+), mmtime: (\d+)\)(, dropin|, dropping)?"
)
_RENDERING = re.compile(
    r"(\w+): rendering too late by (\d+) ms \(ts: (\d+), mmtime: (\d+)\), dropping ?"
)
_PIPELINE = re.compile(r"the GStreamer pipeline dropped (?:a frame|(\d+) frames)")
_PUSH = re.compile(r"GStreamer error: unable to push frame(?: of size \d+)?")
_DROPPING = re.compile(r"dropping a late \w+ frame")
_STREAM = re.compile(_CHANNEL + r"display_handle_stream_(create|destroy): id (\d+)")
_SUMMARY = re.compile(
    _CHANNEL + r"\w+: id=(\d+) #in-frames=(\d+) out/in=(\S+) #drops-on-(?:receive|arrive)=(\d+) "
    r"avg-late-time\(ms\)=(\S+) #drops-on-playback=(\d+)"
)
_SEQUENCES = re.compile(_CHANNEL + r"\w+: #drops-sequences=(\d+) ==>")
_SEQUENCE = re.compile(_CHANNEL + r"\w+: \t? ?len=\d+ start-ms=\d+ duration-ms=\d+")
_TOTAL = re.compile(_CHANNEL + r"\w+: drops-total-duration=(\d+) ==>")
# [ORDER RELTIME] (recorder), an indent "(n)" (recorder 1.1+), the label with or
# without its colon; " before B" since 0.38; " keyframe K" in patched builds.
_DECODE = re.compile(
    r"(?:\[([^\]]*)\] (?:\(\d+\) +)?)?frames_stats:? frame mm_time (\d+) size (\d+) "
    r"creation time (-?\d+) decoded time (-?\d+) queue (\d+)(?: before (\d+))?"
    r"(?: keyframe (\d+))?\s*"
)
_APPSRC = "Playbin has not yet initialized the Appsrc element"

# Substrings of every line the parser reads, and of lines that should be its own.
_MARKERS = (
    "too late by", "dropping a late", "#in-frames=", "#drops-sequences=", "duration-ms=",
    "drops-total-duration=", "pipeline dropped", "unable to push frame", "display_handle_stream_",
    _APPSRC,
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


def _decoder(file: str) -> str:
    """The decoder a line came from, by its file: channel-display-gst.c, -mjpeg.c or
    (0.31 and older, whose only decoder was MJPEG) channel-display.c."""
    return "gstreamer" if file == "-gst" else "mjpeg"


class _Client:
    """The tables, and what a line needs of the lines before it."""

    def __init__(self) -> None:
        self.frames = Rows(FRAME_FIELDS)
        self.late = Rows(LATE_FIELDS)
        self.summary = Rows(SUMMARY_FIELDS)
        self.decode = Rows(DECODE_FIELDS)
        self.drops = Rows(DROP_FIELDS)
        self.pending_late: int | None = None  # the late frame a "dropping" line would be about
        self.last_summary: dict[str, int] = {}  # channel → its latest summary row
        self.streams: dict[int, str] = {}  # live stream id → its channel, in creation order

    def stream(self) -> tuple[str | None, int | None]:
        """The channel and id of the newest live stream: what a line without them is about."""
        if not self.streams:
            return None, None
        stream_id = next(reversed(self.streams))
        return self.streams[stream_id], stream_id

    def drop(self, t, tod, reason: str, count: int, late_ms=None, decoder=None) -> None:
        channel, stream_id = self.stream()
        self.drops.rows.append((t, tod, channel, stream_id, reason, count, late_ms, decoder))

    def read(self, t: float | None, tod: float | None, file: str, message: str) -> bool:
        """Whether the message (after the file:line head) was one of the parser's."""
        found = _LATE.fullmatch(message)
        if found:
            self.pending_late = len(self.late.rows)
            dropped = 1 if found[5] == ", dropin" else 0  # 0.20-0.27 dropped it on arrival
            self.late.rows.append(
                (t, tod, found[1], int(found[2]), int(found[3]), int(found[4]), dropped)
            )
            return True
        found = _RENDERING.fullmatch(message)
        if found:
            self.drop(t, tod, RENDERING_TOO_LATE, 1, int(found[2]), _decoder(file))
            return True
        found = _PIPELINE.fullmatch(message)
        if found:
            self.drop(t, tod, PIPELINE_DROPPED, int(found[1] or 1), decoder="gstreamer")
            return True
        if _PUSH.fullmatch(message):
            self.drop(t, tod, PUSH_FAILED, 1, decoder="gstreamer")
            return True
        found = _DROPPING.fullmatch(message)
        if found:
            self.drop(t, tod, LATE_FRAME, 1, decoder=_decoder(file))
            if self.pending_late is not None:
                self.late.rows[self.pending_late] = (*self.late.rows[self.pending_late][:-1], 1)
                self.pending_late = None
            return True
        found = _STREAM.fullmatch(message)
        if found:
            stream_id = int(found[3])
            self.streams.pop(stream_id, None)
            if found[2] == "create":
                self.streams[stream_id] = found[1]
            return True
        found = _SUMMARY.fullmatch(message)
        if found:
            channel = found[1]
            self.last_summary[channel] = len(self.summary.rows)
            self.summary.rows.append(
                (
                    t, tod, channel, int(found[2]), int(found[3]), _number(found[4]),
                    int(found[5]), _number(found[6]), int(found[7]), 0, 0,
                )
            )  # fmt: skip
            return True
        for pattern, column in ((_SEQUENCES, _SEQUENCES_AT), (_TOTAL, _TOTAL_AT)):
            found = pattern.fullmatch(message)
            if found:
                at = self.last_summary.get(found[1])
                if at is not None:  # else its summary line is before the window
                    row = list(self.summary.rows[at])
                    row[column] = int(found[2])
                    self.summary.rows[at] = tuple(row)
                return True
        return _SEQUENCE.fullmatch(message) is not None


def parse(text: str) -> Parsed:
    client = _Client()
    counts = LineCounts()
    time_of_day = TimeOfDay()
    lines = log_lines(text)
    counts.lines = len(lines)
    journal_time: float | None = None  # a journal export's entry time (__REALTIME_TIMESTAMP)
    recognised = 0

    for raw in lines:
        if raw[:2] == "__" or not raw:
            journal_time = journal_entry_time(raw, journal_time)
            continue
        if "video margin: " in raw or "video latency: " in raw:
            t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
            found = _MARGIN.search(line)
            if found:
                channel, margin = found.groups()
                t = journal_time if t is None else t
                tod = time_of_day(*clock_before(line, found.start()))
                client.frames.rows.append((t, tod, channel, int(margin)))
                client.pending_late = None
                recognised += 1
            elif "since there is no playback" in line:
                recognised += 1  # the same frame's margin, zeroed: its own line follows
            else:
                counts.failed(raw)
            continue
        if "frame mm_time " in raw:
            if _decode(raw, client.decode, journal_time):
                recognised += 1
            else:
                counts.failed(raw)
            continue
        for marker in _MARKERS:
            if marker in raw:
                break
        else:
            continue
        t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
        if _APPSRC in line:  # spice_warning: domain Spice, "FILE:LINE:FUNCTION: " head
            tod = time_of_day(*clock_before(line, max(line.find("channel-display"), 0)))
            client.drop(journal_time if t is None else t, tod, APPSRC_NOT_READY, 1, None,
                        "gstreamer")  # fmt: skip
            recognised += 1
            continue
        head = _HEAD.search(line)
        if head is None:
            counts.failed(raw)
            continue
        file, message = head.groups()
        tod = time_of_day(*clock_before(line, head.start()))
        if client.read(journal_time if t is None else t, tod, file, message):
            recognised += 1
        else:
            counts.failed(raw)

    counts.recognised = recognised
    tables = {
        "client_frames": client.frames,
        "client_late_frames": client.late,
        "client_stream_summary": client.summary,
        "client_decode": client.decode,
        "client_drops": client.drops,
    }
    return Parsed(tables, counts)


def _decode(raw: str, decode: Rows, journal_time: float | None) -> bool:
    t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
    found = _DECODE.search(line)
    if found is None or found.end() != len(line):
        return False
    parsed = recorder_head(found[1])
    if parsed is None:
        return False
    seq, trace_time, epoch = parsed
    if t is None:
        t = epoch if epoch is not None else journal_time
    values = [None if v is None else int(v) for v in found.groups()[1:]]
    decode.rows.append((t, trace_time, seq, *values))
    return True


PLAYBACK_DROPS = frozenset({RENDERING_TOO_LATE, PUSH_FAILED, APPSRC_NOT_READY})


def summarize_frames(records: list[Record], drops: list[Record]) -> Section:
    """Frames the client showed, and those it dropped in the window, per display channel.

    A drop line without a channel (SPICE_DEBUG prints none; no stream was
    created in the window) counts for the host's channel when it has one.
    """
    channels: dict[str, set[str]] = {}
    for r in records:
        channels.setdefault(r["host"], set()).add(r.get("channel"))
    dropped: dict[tuple[str, str | None], list[Record]] = {}
    for d in drops:
        channel = d.get("channel")
        if channel is None and len(channels.get(d["host"], ())) == 1:
            channel = next(iter(channels[d["host"]]))
        dropped.setdefault((d["host"], channel), []).append(d)
    out: Section = {}
    for (host, channel), rs in by(records, "host", "channel").items():
        times = timeline(rs)
        intervals = [(b - a) * 1000 for a, b in pairwise(times)]
        lost = dropped.get((host, channel), [])
        playback = sum(d.get("count") or 0 for d in lost if d.get("reason") in PLAYBACK_DROPS)
        out[f"{host}/{channel}"] = {
            "frames": len(rs),
            "fps": rounded(rate(times)),
            "interval_mean_ms": round(fmean(intervals), 2) if intervals else None,
            "interval_p95_ms": rounded(p95(intervals)),
            "margin_mean_ms": mean(rs, "margin_ms"),
            # frames dropped by the client in the window: in playback and in the decoder
            "dropped_frames": sum(d.get("count") or 0 for d in lost),
            "dropped_playback": playback,
            "dropped_decoder": sum(d.get("count") or 0 for d in lost) - playback,
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
    samplers=(Sampler("remote_viewer", {"output": parse}, no_lines=(
        "no spice-gtk debug lines: was remote-viewer started with SPICE_DEBUG=1 (or --spice-debug)?"
    )),),
    tables={
        "client_frames": FRAME_FIELDS,
        "client_late_frames": LATE_FIELDS,
        "client_stream_summary": SUMMARY_FIELDS,
        "client_decode": DECODE_FIELDS,
        "client_drops": DROP_FIELDS,
    },
    summaries=(
        Summary("client_frames", summarize_frames, (
            Figure("frames", headline=True),
            Figure("fps", "frames/s", headline=True),
            Figure("interval_mean_ms", "ms", headline=True),
            Figure("interval_p95_ms", "ms", headline=True),
            Figure("margin_mean_ms", "ms", headline=True),
            Figure("dropped_frames", "frames", headline=True),
            Figure("dropped_playback", "frames"),
            Figure("dropped_decoder", "frames"),
        ), also_reads="client_drops"),
        Summary("client_late_frames", summarize_late, (
            Figure("late_frames", headline=True),
            Figure("dropped"),
            Figure("late_mean_ms", "ms", headline=True),
        )),
    ),
)  # fmt: skip
