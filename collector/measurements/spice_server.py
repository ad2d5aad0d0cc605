"""``spice_server``: the server's view of the stream, from libspice-server's logs.

libspice-server's stderr: its debug log and its recorder traces.

The debug log is what ``G_MESSAGES_DEBUG=Spice`` (or ``all``) makes GLib print
for ``spice_debug()`` (spice-common ``common/log.c``: ``"%s:%s: "`` of
``__FILE__:__LINE__`` and ``__FUNCTION__``, then the message)::

    (process:PID): Spice-DEBUG: HH:MM:SS.mmm: ../server/FILE:LINE:FUNCTION: message

spice-server 0.12 (and 0.13.0) had spice-common's own logger, enabled by
``SPICE_DEBUG_LEVEL=4``: ``(PROG:PID): SpiceWorker-Debug **: FILE:LINE:FUNCTION:
message``. A line is found by its ``FILE.c:LINE:FUNCTION: `` alone, whatever
is in front (GLib without its prefix, ``qemu: info: Spice: ``, a journal);
docs/parsers.md lists the formats of every release from 0.12 to 0.15.

The program name is ``process`` unless the host program sets one (Xorg
does: ``(Xorg:2377)``); warnings read ``Spice-WARNING **:``. The spiceqxl
driver writes its own unprefixed lines to the same stream (``interface_get_command:
native``, ring lines, a counter ended by a carriage return glued to the next
line): anything that is not one of the messages below is skipped.

A spice-server built with the recorder (spice-common's copy of
github.com/c3d/recorder) prints the traces named in ``RECORDER_TRACES``, to
stderr or to ``@output=FILE``. In spice 0.15 two recorders carry the same
message, ``Stream data packet size %u mm_time %u``:
``stream_device_data`` when the streaming agent's frame is read
(server/red-stream-device.cpp) and ``stream_channel_data`` when it is sent to
the client (server/stream-channel.cpp). The recorder's default line is
``[ORDER RELTIME] LABEL MESSAGE`` (1.0.8, spice 0.14.3 on); 0.14.2's wrote
``LABEL: MESSAGE``, the ``recorder_location`` tweak puts ``file:line:``
before the bracket, ``recorder_abstime`` a UTC time of day in it, and
recorder 1.1 an indent ``(n)`` after it; all of them are read.

Tables:

- ``spice_streams``: one row per stream event: creation (``stream ID WxH
  (l, t) (r, b) FPS fps``; no fps before 0.13), the measured input frame rate
  (``input-fps=N``, every 5 s of a stream), stop and detach (``stream ID``).
  ``event`` is the function that printed the line, as the release named it
  (``red_create_stream``, ``display_channel_create_stream``, ...).
- ``spice_client_reports``: one row per client stream report, as the MJPEG
  encoder (``#frames``, ``#drops``, ``duration``, ``video-delay``,
  ``audio-delay``) or the GStreamer encoder (``drops/frames in Nms margins
  video V/MAXV audio A/MAXA bw PERIOD/EFFECTIVEMbps [obsolete]``) prints it.
  An audio delay of 4294967295 (UINT32_MAX: no audio playback) is None.
- ``spice_encoder``: one row per bit rate / quality / frame rate decision of
  the encoders; ``event`` is the function, ``kind`` which of its lines.
- ``spice_server_drops``: the encoders' count of frames the server dropped
  because the previous one was still queued.
- ``spice_packets``: the recorder's ``Stream data packet`` traces.

``time`` is the sampler runner's ``<epoch> `` prefix when the line has one,
else a journal entry's time, else None; ``time_of_day`` is the log's own
local ``HH:MM:SS.mmm`` in seconds since midnight. Recorder lines carry the
recorder's clock instead (``trace_time``, always seconds since the process's
first record; ``seq``, the recorder's global order); a recorder patched to
count from the epoch gives ``time`` instead of ``trace_time``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from re import Match
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
from collector.measurements.summarizing import by, known, mean

STREAM_FIELDS = ("time", "time_of_day", "event", "stream_id", "width", "height", "input_fps")
REPORT_FIELDS = (
    "time", "time_of_day", "encoder", "frames", "drops", "duration_ms", "video_delay_ms",
    "audio_delay", "max_video_delay_ms", "max_audio_delay", "bit_rate_mbps", "effective_mbps",
    "obsolete",
)  # fmt: skip
ENCODER_FIELDS = (
    "time", "time_of_day", "encoder", "event", "kind", "bit_rate_mbps", "measured_mbps", "fps",
    "quality", "score",
)  # fmt: skip
DROP_FIELDS = (
    "time", "time_of_day", "encoder", "drops", "total", "fps", "src_fps", "interval_ms",
    "since_change_ms",
)  # fmt: skip
PACKET_FIELDS = ("time", "trace_time", "seq", "recorder", "size", "mm_time")

NO_AUDIO = 4294967295  # UINT32_MAX: the client has no audio playback

# spice-common's logger writes "FILE:LINE:FUNCTION: message" (SPICE_STRLOC and
# __FUNCTION__); in front of it comes whatever printed it: GLib's
# "(prgname:pid): Spice-DEBUG: [HH:MM:SS.mmm: ]" (0.13.1 on), the old logger's
# "(prog:pid): SpiceWorker-Debug **: " (0.12), GLib without its "(prog:pid): ",
# a re-routed "qemu: info: Spice: ", a journal's "MESSAGE=", the driver's
# "  28\r" ... so the head is searched for by the file and function alone.
_HEAD = re.compile(r"([^\s:=()]+\.c(?:pp)?):\d+:(\w+): (.*)")
# [ORDER TIME] (recorder), an indent "(n)" (recorder 1.1+), the label with
# (0.14.2) or without (0.14.3 on) its colon.
_PACKET = re.compile(
    r"(?:\[([^\]]*)\] (?:\(\d+\) +)?)?(\w+):? Stream data packet size (\d+) mm_time (\d+)\s*"
)

_NUM = r"(\d+(?:\.\d+)?)"
# video-stream.cpp
_INPUT_FPS = re.compile(r"input-fps=(\d+)")
# " N fps" since 0.13.0
_STREAM_CREATE = re.compile(
    r"stream (\d+) (\d+)x(\d+) \((-?\d+), (-?\d+)\) \((-?\d+), (-?\d+)\)(?: (\d+) fps)?"
)
_STREAM_ID = re.compile(r"stream (\d+)")
# mjpeg-encoder.c
_MJPEG_REPORT = re.compile(
    r"client report: #frames (\d+), #drops (-?\d+), duration (\d+) "
    r"video-delay (-?\d+) audio-delay (\d+)"
)
_MJPEG_PARAMS = re.compile(
    r"cur-fps=(\d+) new-fps=(\d+) \(new/old=\S+\) \|bit-rate=" + _NUM
    + r" \(Mbps\) latency=(\d+) \(ms\) quality=(\d+) \|.*"
)  # fmt: skip
_MJPEG_SAMPLE = re.compile(r"mjpeg \S+: jpeg (\d+): " + _NUM + r" \(KB\) fps (\d+) src-fps (\d+)")
_MJPEG_SAMPLE_END = re.compile(r"MJpeg quality sample end \S+: quality (\d+) fps (\d+)")
# older spice releases spelled it "esitimation"
_MJPEG_ESTIMATE_UP = re.compile(
    r"bit rate esi?timation " + _NUM + r" \(Mbps\) defined " + _NUM
    + r" fps (\d+) avg-frame-size=" + _NUM + r" \(KB\)"
)  # fmt: skip
_MJPEG_ESTIMATE_DOWN = re.compile(r"bit rate esi?timation " + _NUM + r" \(Mbps\) fps (\d+)")
_MJPEG_NOT_ESTIMATED = re.compile(r"bit rate not re-estimated " + _NUM + r" \(Mbps\) fps (\d+)")
_MJPEG_CHANGE = re.compile(r"(increase|decrease) bit rate " + _NUM + r" \(Mbps\)")
_MJPEG_ADJUSTED_FPS = re.compile(r"new-adjusted-fps=" + _NUM)
_MJPEG_DROPS = re.compile(r"#drops (\d+) total (\d+) fps (\d+) src-fps (\d+)")
# gstreamer-encoder.c
_GST_REPORT = re.compile(
    r"client report: (\d+)/(\d+) drops in (\d+)ms margins video +(-?\d+)/ *(-?\d+) "
    r"audio +(\d+)/ *(\d+) bw " + _NUM + "/" + _NUM + r"Mbps( obsolete)?"
)  # fmt: skip
_GST_SET = re.compile(
    r"\d+ set_bit_rate\(" + _NUM + r"Mbps\) eff " + _NUM + " " + _NUM + "-" + _NUM + r" -?\d+"
)
_GST_INCREASE = re.compile(r"increase bit rate to " + _NUM + r"Mbps \S+Mbps -?\d+")
_GST_SCORE = re.compile(r"score (\d+), (cut|reduce|decrement) the bit rate")
_GST_SERVER_CUT = re.compile(r"(cut|reduce) the bit rate")
_GST_DEGRADED = re.compile(r"degraded margin, decrement bit rate " + _NUM + " <= " + _NUM + "Mbps")
_GST_GSTENC = re.compile(r"setting the GStreamer ([\w-]+) to (\d+)")
_GST_DROPS = re.compile(r"server report: got (\d+) drops in (\d+)ms after (\d+)ms")

# Cheap substring tests that let through every line a table wants and almost
# nothing else, so the header regex runs on few lines of a long log.
# The stream functions of every release: red_create_stream, red_stream_input_fps_timer_cb,
# red_attach_stream, red_stop_stream, red_detach_streams_behind (0.12), then
# display_channel_create_stream, attach_stream, [video_]stream_stop,
# [video_]stream_detach_behind.
_MARKERS = (
    "encoder.c", "attach_stream:", "_create_stream:", "stream_stop:", "stop_stream:",
    "detach_behind:", "detach_streams_behind:", "input_fps_timer_cb:",
)  # fmt: skip
# Messages of the stream functions and encoders that the tables read: one of these
# that does not parse is a format this parser does not know.
_OWN_MESSAGES = ("client report:", "server report:", "stream ", "input-fps=", "#drops ")


def _encoder(path: str) -> str | None:
    name = path.rpartition("/")[2]
    if name.startswith("mjpeg"):
        return "mjpeg"
    if name.startswith("gstreamer"):
        return "gstreamer"
    return None


def _audio(value: str) -> int | None:
    number = int(value)
    return None if number == NO_AUDIO else number


def parse(text: str) -> Parsed:
    streams = Rows(STREAM_FIELDS)
    reports = Rows(REPORT_FIELDS)
    encoder_rows = Rows(ENCODER_FIELDS)
    drops = Rows(DROP_FIELDS)
    packets = Rows(PACKET_FIELDS)
    tables = (streams, reports, encoder_rows, drops)
    time_of_day = TimeOfDay()
    counts = LineCounts()
    lines = log_lines(text)
    counts.lines = len(lines)
    journal_time: float | None = None  # a journal export's entry time (__REALTIME_TIMESTAMP)
    recognised = 0

    for raw in lines:
        if raw[:2] == "__" or not raw:
            journal_time = journal_entry_time(raw, journal_time)
            continue
        if "Stream data packet size" in raw:
            if _packet(raw, packets, journal_time):
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
        head = _HEAD.search(line)
        if head is None:
            continue  # a marker in someone else's line
        path, function, message = head.groups()
        t = journal_time if t is None else t
        tod = time_of_day(*clock_before(line, head.start()))
        before = sum(len(table.rows) for table in tables)
        encoder = _encoder(path)
        if encoder is None:
            _stream_event(t, tod, function, message, streams)
        elif encoder == "mjpeg":
            _mjpeg(t, tod, function, message, reports, encoder_rows, drops)
        else:
            _gstreamer(t, tod, function, message, reports, encoder_rows, drops)
        if sum(len(table.rows) for table in tables) > before:
            recognised += 1
        elif message.startswith(_OWN_MESSAGES) and not _LATER.match(message):
            counts.failed(raw)

    counts.recognised = recognised
    return Parsed(
        {
            "spice_streams": streams,
            "spice_client_reports": reports,
            "spice_encoder": encoder_rows,
            "spice_server_drops": drops,
            "spice_packets": packets,
        },
        counts,
    )


# Stream messages of no table's interest: "stream N: vis region empty", "stream N:
# upgrade by ...", "stream N: #frames ..." (0.12 fps changes), "stream=N dim=..." stats.
_LATER = re.compile(r"stream=?\d+[:( ]|stream \d+ \(")


def _packet(raw: str, packets: Rows, journal_time: float | None) -> bool:
    t, line = split_timestamp(raw) if raw[:1].isdigit() else (None, raw)
    found = _PACKET.search(line)
    if found is None or found.end() != len(line):
        return False
    head, label, size, mm_time = found.groups()
    parsed = recorder_head(head)
    if parsed is None:
        return False
    seq, trace_time, epoch = parsed
    if t is None:
        t = epoch if epoch is not None else journal_time
    packets.rows.append((t, trace_time, seq, label, int(size), int(mm_time)))
    return True


def _stream_event(
    t: float | None, tod: float | None, function: str, message: str, streams: Rows
) -> None:
    found = _INPUT_FPS.fullmatch(message)
    if found:
        streams.rows.append((t, tod, function, None, None, None, int(found[1])))
        return
    found = _STREAM_CREATE.fullmatch(message)
    if found:
        stream_id, width, height = int(found[1]), int(found[2]), int(found[3])
        fps = None if found[8] is None else int(found[8])  # 0.12 printed none
        streams.rows.append((t, tod, function, stream_id, width, height, fps))
        return
    found = _STREAM_ID.fullmatch(message)
    if found:
        streams.rows.append((t, tod, function, int(found[1]), None, None, None))


def _mjpeg(
    t: float | None,
    tod: float | None,
    function: str,
    message: str,
    reports: Rows,
    encoder_rows: Rows,
    drops: Rows,
) -> None:
    found = _MJPEG_REPORT.fullmatch(message)
    if found:
        frames, dropped, duration, delay, audio = found.groups()
        reports.rows.append(
            (
                t, tod, "mjpeg", int(frames), int(dropped), int(duration), int(delay),
                _audio(audio), None, None, None, None, None,
            )
        )  # fmt: skip
        return
    found = _MJPEG_DROPS.fullmatch(message)
    if found:
        dropped, total, fps, src_fps = (int(v) for v in found.groups())
        drops.rows.append((t, tod, "mjpeg", dropped, total, fps, src_fps, None, None))
        return

    for pattern, values in _MJPEG_EVENTS:
        found = pattern.fullmatch(message)
        if found:
            kind, bit_rate, measured, fps, quality = values(found)
            encoder_rows.rows.append(
                (t, tod, "mjpeg", function, kind, bit_rate, measured, fps, quality, None)
            )
            return


# message → (kind, bit_rate_mbps, measured_mbps, fps, quality); fps always a float
_Values = tuple[str, float | None, float | None, float | None, int | None]
_MJPEG_EVENTS: tuple[tuple[re.Pattern[str], Callable[[Match[str]], _Values]], ...] = (
    (_MJPEG_PARAMS, lambda m: ("params", float(m[3]), None, float(m[1]), int(m[5]))),
    (_MJPEG_SAMPLE, lambda m: ("sample", None, None, float(m[3]), int(m[1]))),
    (_MJPEG_SAMPLE_END, lambda m: ("sample_end", None, None, float(m[2]), int(m[1]))),
    (_MJPEG_ESTIMATE_UP, lambda m: ("estimate", float(m[2]), float(m[1]), float(m[3]), None)),
    (_MJPEG_ESTIMATE_DOWN, lambda m: ("estimate", None, float(m[1]), float(m[2]), None)),
    (_MJPEG_NOT_ESTIMATED, lambda m: ("estimate", float(m[1]), None, float(m[2]), None)),
    (_MJPEG_CHANGE, lambda m: (m[1], float(m[2]), None, None, None)),
    (_MJPEG_ADJUSTED_FPS, lambda m: ("adjusted_fps", None, None, float(m[1]), None)),
)


def _gstreamer(
    t: float | None,
    tod: float | None,
    function: str,
    message: str,
    reports: Rows,
    encoder_rows: Rows,
    drops: Rows,
) -> None:
    found = _GST_REPORT.fullmatch(message)
    if found:
        dropped, frames, duration, margin, max_margin = (int(v) for v in found.groups()[:5])
        audio, max_audio = found[6], found[7]
        reports.rows.append(
            (
                t, tod, "gstreamer", frames, dropped, duration, margin, _audio(audio),
                max_margin, _audio(max_audio), float(found[8]), float(found[9]),
                1 if found[10] else 0,
            )
        )  # fmt: skip
        return
    found = _GST_DROPS.fullmatch(message)
    if found:
        dropped, interval, since = (int(v) for v in found.groups())
        drops.rows.append((t, tod, "gstreamer", dropped, None, None, None, interval, since))
        return

    def add(kind: str, bit_rate=None, measured=None, score=None) -> None:
        encoder_rows.rows.append(
            (t, tod, "gstreamer", function, kind, bit_rate, measured, None, None, score)
        )

    found = _GST_SET.fullmatch(message)
    if found:
        add("set", bit_rate=float(found[1]), measured=float(found[2]))
        return
    found = _GST_INCREASE.fullmatch(message)
    if found:
        add("increase", bit_rate=float(found[1]))
        return
    found = _GST_SCORE.fullmatch(message)
    if found:
        add(found[2], score=int(found[1]))
        return
    found = _GST_SERVER_CUT.fullmatch(message)
    if found:
        add(found[1])
        return
    found = _GST_DEGRADED.fullmatch(message)
    if found:
        add("decrement", bit_rate=float(found[2]), measured=float(found[1]))
        return
    found = _GST_GSTENC.fullmatch(message)
    if found:
        # vp8enc/vp9enc's target-bitrate is in bits/s; other encoders' "bitrate"
        # may be in kbit/s (spice divides by 1024 when the property says so), so
        # only the former is converted; Mbps as spice's get_mbps(): /1024/1024.
        value = int(found[2])
        rate = value / 1024 / 1024 if found[1] == "target-bitrate" else None
        add("gstenc_" + found[1].replace("-", "_"), bit_rate=rate)


def summarize_reports(records: list[Record]) -> Section:
    """The server's view of the stream: what the client reported to it."""
    out: Section = {}
    for host, rs in by(records, "host").items():
        frames = sum(known(rs, "frames"))
        drops = sum(known(rs, "drops"))
        seconds = sum(known(rs, "duration_ms")) / 1000
        # a report's duration runs from its first frame's mm-time to its last one's
        # (spice-gtk), so it spans one interval fewer than it has frames
        intervals = sum(max(f - 1, 0) for f in known(rs, "frames"))
        out[host] = {
            "reports": len(rs),
            "frames": frames,
            "drops": drops,
            # a report's drops are among its frames (spice-gtk counts both per frame received)
            "drop_pct": round(100 * drops / frames, 2) if frames else None,
            "video_delay_mean_ms": mean(rs, "video_delay_ms"),
            "fps": round(intervals / seconds, 2) if seconds > 0 else None,
        }
    return out


def summarize_streams(records: list[Record]) -> Section:
    out: Section = {}
    for host, rs in by(records, "host").items():
        created = [r for r in rs if r.get("width") is not None]
        # the rest carry the input frame rate the server measured (attach_stream)
        measured = [
            r["input_fps"] for r in rs if r.get("width") is None and r.get("input_fps") is not None
        ]
        out[host] = {
            "streams_created": len(created),
            "sizes": [f"{r['width']}x{r['height']}" for r in created],
            "input_fps": measured,
            "input_fps_mean": round(fmean(measured), 2) if measured else None,
        }
    return out


MEASUREMENT = Measurement(
    name="spice_server",
    samplers=(
        Sampler("spice_server", {"output": parse}, no_lines=(
            "no spice-server debug lines: was QEMU started with G_MESSAGES_DEBUG=Spice (or all;"
            " SPICE_DEBUG_LEVEL=4 for spice 0.12)?"
        )),
        Sampler("spice_server_recorder", {"output": parse}),
    ),
    tables={
        "spice_streams": STREAM_FIELDS,
        "spice_client_reports": REPORT_FIELDS,
        "spice_encoder": ENCODER_FIELDS,
        "spice_server_drops": DROP_FIELDS,
        "spice_packets": PACKET_FIELDS,
    },
    summaries=(
        Summary("spice_client_reports", summarize_reports, (
            Figure("reports"),
            Figure("frames", headline=True),
            Figure("drops", headline=True),
            Figure("drop_pct", "%", headline=True),
            Figure("video_delay_mean_ms", "ms", headline=True),
            Figure("fps", "frames/s", headline=True),
        )),
        Summary("spice_streams", summarize_streams, (
            Figure("streams_created"),
            Figure("sizes"),
            Figure("input_fps", "frames/s"),
            Figure("input_fps_mean", headline=True),
        )),
    ),
)  # fmt: skip
