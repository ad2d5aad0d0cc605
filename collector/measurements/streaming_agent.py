"""``streaming_agent``: what spice-streaming-agent captured and sent, from its frame log.

The frame log is written with ``-l FILE``, text mode.

Every line is ``"%" PRIu64 ": "`` + message, the number being microseconds
since the epoch (the wall clock: ``gettimeofday`` in 0.2, ``system_clock``
from 0.3, written by ``FrameLog::log_stat``, ``src/frame-log.cpp``).
``do_capture`` and ``main`` in ``src/spice-streaming-agent.cpp`` log, in this
order (0.3 and later; 0.2's words in brackets)::

    <µs>: Args: <argv[i]>                                one line per argument, argv[0] first
    <µs>: Capturing frame...      [Capturing...]         before FrameCapture::CaptureFrame()
    <µs>: Captured frame          [Captured]             after it returned
    <µs>: Started new stream wXh <W>X<H> codec=<N>       only when the frame starts a stream
                                                         (0.2: two spaces before codec)
    <µs>: Frame of <N> bytes      [Frame of <N> bytes:]  before the frame is written to the port
    <µs>: Sent frame              [Sent]                 after it was written

Checked against the strings of 0.2 (2018) and of 0.3 to the last master
(unchanged since), and against a real 2018 log of a 0.2-era build.

A plugin may add its own lines through ``Agent::LogStat`` (same prefix, any text, often
from inside ``CaptureFrame``); they are skipped, as are the hex dumps of
``--log-categories=frames`` and anything else that does not look like the above.

What the log can tell about one frame:

- ``capture_ms``: Capturing → Captured. ``CaptureFrame`` is the plugin's whole job, so
  this is grab **and encode** together (the built-in MJPEG plugin grabs with XGetImage and
  compresses the JPEG there; the GStreamer plugin pushes the image and blocks until the
  encoder's sample comes out), plus, for the MJPEG plugin, its sleep to hold the frame
  rate. The log has no separate encode time, so none is given.
- ``prepare_ms``: Captured → Frame of N bytes: the agent's own work in between; at the
  first frame of a stream it includes writing the stream's format message to the port.
- ``send_ms``: Frame of N bytes → Sent: writing the frame to the virtio port, which blocks
  while the server does not read (back-pressure from the SPICE server and the network).

A frame is one ``Frame of N bytes`` line. Its ``time`` is its ``Capturing frame...`` line
(the capture start); if that line is missing (the log was cut before it, or an old agent
that only logged ``Frame of N bytes:`` followed by a hex dump) ``time`` is the ``Frame of``
line's and the durations that need the missing line are None; likewise ``send_ms`` is None
when ``Sent frame`` never came (the write failed, or the log was cut).

Lines counted as looked-like-but-unparsed: a timestamped line that starts with
one of the agent's own words (``Capturing``, ``Captured``, ``Frame of``,
``Sent``, ``Started new stream``) but is none of the messages above. ``frame`` counts the
frames of the log from 0; ``stream`` counts the ``Started new stream`` lines from 0 and is
None for frames before the first one. ``codec`` is the ``SpiceVideoCodecType`` number sent
to the server (1 MJPEG, 2 VP8, 3 H264, 4 VP9, 5 H265; ``codec_name`` names it).
"""

from __future__ import annotations

import re
from statistics import fmean

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, log_lines, split_timestamp
from collector.measurements.summarizing import by, known, p95, rate, rounded, timeline

FRAME_FIELDS = (
    "time", "frame", "stream", "size_bytes", "capture_ms", "prepare_ms", "send_ms",
)  # fmt: skip
STREAM_FIELDS = ("time", "stream", "width", "height", "codec", "codec_name")
ARGS_FIELDS = ("time", "position", "args")

CODECS = {1: "mjpeg", 2: "vp8", 3: "h264", 4: "vp9", 5: "h265"}

_STREAM = re.compile(r"Started new stream wXh (\d+)[Xx](\d+) {1,2}codec=(\d+)")
_SIZE = re.compile(r"Frame of (\d+) bytes:?")


def _ms(start: int | None, end: int | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / 1000


class _Frames:
    """The frame being logged, and the rows of those already complete."""

    def __init__(self) -> None:
        self.table = Rows(FRAME_FIELDS)
        self.stream: int | None = None
        self.capturing: int | None = None
        self.captured: int | None = None
        self.size: int | None = None
        self.sized: int | None = None  # time of "Frame of N bytes"

    def start(self, us: int) -> None:
        self.flush(None)
        self.capturing, self.captured = us, None

    def flush(self, sent: int | None) -> None:
        """End the current frame: a row if its size was logged, nothing otherwise."""
        if self.size is not None and self.sized is not None:
            start = self.capturing if self.capturing is not None else self.sized
            self.table.rows.append(
                (
                    start / 1e6,
                    len(self.table.rows),
                    self.stream,
                    self.size,
                    _ms(self.capturing, self.captured),
                    _ms(self.captured, self.sized),
                    _ms(self.sized, sent),
                )
            )
        self.capturing = self.captured = self.size = self.sized = None


# Each message of both formats → what it means for the frame being logged.
_CAPTURING = {"Capturing frame...": True, "Capturing...": True}
_CAPTURED = {"Captured frame": True, "Captured": True}
_SENT = {"Sent frame": True, "Sent": True}
_AGENT_WORDS = ("Capturing", "Captured", "Frame of", "Sent", "Started new stream")


def parse(text: str) -> Parsed:
    frames = _Frames()
    streams = Rows(STREAM_FIELDS)
    args = Rows(ARGS_FIELDS)
    counts = LineCounts()
    lines = log_lines(text)
    counts.lines = len(lines)
    recognised = 0
    for line in lines:
        head, _, message = line.partition(": ")
        if not head.isdigit():
            if "." not in line[:24]:
                continue  # a hex dump line, its "sum = N", a comment, noise
            _, line = split_timestamp(line)  # a sampler runner's "<epoch> " prefix
            head, _, message = line.partition(": ")
            if not head.isdigit():
                continue
        us = int(head)
        if message in _CAPTURING:
            frames.start(us)
        elif message in _CAPTURED:
            frames.captured = us
        elif message in _SENT:
            frames.flush(us)
        elif message.startswith("Frame of "):
            size = _SIZE.fullmatch(message)
            if size is None:
                counts.failed(line)
                continue
            if frames.size is not None:  # two sizes without a capture between: old agent
                frames.flush(None)
            frames.size, frames.sized = int(size.group(1)), us
        elif message.startswith("Args: "):
            args.rows.append((us / 1e6, len(args.rows), message[6:]))
        elif message.startswith("Started new stream"):
            found = _STREAM.fullmatch(message)
            if found is None:
                counts.failed(line)
                continue
            frames.stream = len(streams.rows)
            width, height, codec = (int(g) for g in found.groups())
            streams.rows.append((us / 1e6, frames.stream, width, height, codec,
                                 CODECS.get(codec)))  # fmt: skip
        else:
            if message.startswith(_AGENT_WORDS):
                counts.failed(line)
            continue  # else a plugin's own line (Agent::LogStat)
        recognised += 1
    frames.flush(None)
    counts.recognised = recognised
    tables = {"agent_frames": frames.table, "agent_streams": streams, "agent_args": args}
    return Parsed(tables, counts)


def summarize(records: list[Record]) -> Section:
    """What spice-streaming-agent captured and sent, per guest."""
    out: Section = {}
    for host, rs in by(records, "host").items():
        capture, send = known(rs, "capture_ms"), known(rs, "send_ms")
        sizes = known(rs, "size_bytes")
        out[host] = {
            "frames": len(rs),
            "fps": rounded(rate(timeline(rs))),
            "size_mean_kb": round(fmean(sizes) / 1024, 1) if sizes else None,
            "capture_mean_ms": round(fmean(capture), 2) if capture else None,
            "capture_p95_ms": rounded(p95(capture)),
            "send_mean_ms": round(fmean(send), 2) if send else None,
            "send_p95_ms": rounded(p95(send)),
        }
    return out


MEASUREMENT = Measurement(
    name="streaming_agent",
    # the agent's own frame log, or (mode: follow) the lines of a log written elsewhere
    samplers=(Sampler("streaming_agent", {"frames.log": parse, "output": parse},
                      no_lines="no frame log lines: was the agent started with -l?"),),
    tables={
        "agent_frames": FRAME_FIELDS,
        "agent_streams": STREAM_FIELDS,
        "agent_args": ARGS_FIELDS,
    },
    summaries=(
        Summary("agent_frames", summarize, (
            Figure("frames", headline=True),
            Figure("fps", "frames/s", headline=True),
            Figure("size_mean_kb", "kB", headline=True),
            Figure("capture_mean_ms", "ms", headline=True),
            Figure("capture_p95_ms", "ms"),
            Figure("send_mean_ms", "ms", headline=True),
            Figure("send_p95_ms", "ms"),
        )),
    ),
)  # fmt: skip
