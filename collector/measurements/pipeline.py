"""Frames across the pipeline: one row per frame, from the guest's capture to the client's decode.

Three sides log something about each video frame, each on its own host:

- **agent** (guest): ``agent_frames`` of spice-streaming-agent's frame log
  (``time`` = capture start, ``size_bytes``, ``capture_ms``, ``send_ms``);
- **server** (host): ``spice_packets`` of spice-server's recorder trace
  (``time`` = the sampler's prefix, ``size``, ``mm_time``, ``recorder``);
- **client**: ``client_decode`` of spice-gtk's ``frames_stats`` recorder trace
  (``time``, ``mm_time``, ``size``, ``decoded_time``, ``queue``).

``client_frames`` (the ``video margin`` lines) carries neither a size nor an
mm_time, so nothing can be joined to it and it is not used.

:func:`join_frames` joins the rows whose keys match into table
``pipeline_frames``, one row per frame, by two rules, named in ``matched``:

- ``mm_time+size`` (server ↔ client): the client's ``frame mm_time M size S``
  is the server's ``multi_media_time`` and data size of the same frame, so a
  server packet and a decoded frame are the same frame when both numbers are
  equal. Equal keys are paired first to first.
- ``size-order`` (agent ↔ server, or agent ↔ client when there is no server
  trace): the agent does not know the mm_time, only the size it wrote, which is
  the size the server read. The agent's frames are walked in order beside the
  server's packets, and equal sizes at the two positions are paired. When they
  differ, the walk skips whichever side needs the shorter skip (looking at most
  ``lookahead`` rows ahead) to reach the next equal size: agent frames skipped
  never reached the server, server packets skipped have no frame in the agent's
  log. When neither side has a match within reach, the row that cannot belong to
  the other one is skipped: the server packet when it was logged before the agent
  frame was captured, else the agent frame.

The server's two recorders log the same frame twice (``stream_device_data``
when it is read from the agent, ``stream_channel_data`` when it is sent to the
client, same size and mm_time): the n-th record of a (host, mm_time, size) by
one recorder and the n-th by the other are one frame, and the
``stream_device_data`` record stands for it (its time is when the server got
the frame). A frame read but never sent has only that record.

Fields of ``pipeline_frames``:

- ``frame``: the row number, from 0, in pipeline order;
- ``agent_time``, ``agent_size``, ``capture_ms``, ``send_ms``: the agent's row;
- ``server_time``, ``server_size``, ``mm_time``: the server's (``mm_time`` is
  the client's when the server did not log the frame);
- ``client_time``, ``client_size``, ``decoded_ms`` (``decoded_time`` / 1000:
  arrival to decoded), ``queue``: the client's;
- ``stage_lost``: ``server`` when the agent's frame never reached the server,
  ``client`` when the frame the server logged (or, without a server trace, the
  agent's frame) never reached the client's decoder, else None. A frame is only
  called lost **between** two frames that both sides logged: before the first
  and after the last, the other side's log may simply not cover it (samplers
  start and end at slightly different moments, frames are in flight at the
  window's end), so those rows are left unmatched with no loss;
- ``matched``: the sides that logged the frame joined by ``+``, then the rules
  that joined them, ``;``-separated: ``agent+server+client;size-order;mm_time+size``,
  ``server+client;mm_time+size``, ``agent+server;size-order``, or a side
  alone (``agent``, ``server``, ``client``);
- ``latency_ms``: ``client_time - agent_time`` when both are known (capture
  start to decoded), else ``client_time - server_time``, else None.

Times are those of the tables as ingest stores them (epoch seconds on the
controller's clock). A recorder trace written straight to a file has no
sampler prefix, so its ``time`` is None, and so is the latency that needs it.

:func:`pipeline_table` adds the table to an Experiment that has rows from at
least two of the three sides; with fewer there is nothing to join and no
table is added.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collector.measurements.parsing import Rows
from collector.store.experiment import Experiment

TABLE = "pipeline_frames"
FIELD_TYPES: dict[str, str] = {
    "frame": "integer",
    "agent_time": "real",
    "agent_size": "integer",
    "capture_ms": "real",
    "send_ms": "real",
    "server_time": "real",
    "server_size": "integer",
    "mm_time": "integer",
    "client_time": "real",
    "client_size": "integer",
    "decoded_ms": "real",
    "queue": "integer",
    "stage_lost": "text",
    "matched": "text",
    "latency_ms": "real",
}
FIELDS: tuple[str, ...] = tuple(FIELD_TYPES)

AGENT, SERVER, CLIENT = "agent", "server", "client"
# side -> the table that logs it with a key
SOURCES: dict[str, str] = {
    AGENT: "agent_frames",
    SERVER: "spice_packets",
    CLIENT: "client_decode",
}
SIZE_ORDER = "size-order"
MM_TIME_SIZE = "mm_time+size"
PREFERRED_RECORDER = "stream_device_data"
# How many rows ahead the size-order walk looks for the next equal size: about
# two seconds of a 30 fps stream.
LOOKAHEAD = 64

Row = dict[str, Any]


@dataclass
class _Frame:
    """One frame as far as the sides logged it."""

    agent: Row | None = None
    server: Row | None = None
    client: Row | None = None
    rules: list[str] = field(default_factory=list)
    stage_lost: str | None = None

    def side(self, name: str) -> Row | None:
        return getattr(self, name)


def sides(tables: dict[str, list[Row]]) -> tuple[str, ...]:
    """The sides with at least one row, in pipeline order."""
    return tuple(side for side, name in SOURCES.items() if tables.get(name))


def join_frames(tables: dict[str, list[Row]], lookahead: int = LOOKAHEAD) -> Rows:
    """``pipeline_frames`` from the sides' tables (rows as dicts, as ingest stores them).

    ``tables`` maps table names (``agent_frames``, ``spice_packets``,
    ``client_decode``; others are ignored) to their rows in the order they were
    logged. With fewer than two sides there is nothing to join: no rows.
    """
    if lookahead < 1:
        raise ValueError(f"lookahead must be at least 1, not {lookahead}")
    result = Rows(FIELDS)
    if len(sides(tables)) < 2:
        return result
    agent = list(tables.get(SOURCES[AGENT]) or [])
    server = _server_frames(tables.get(SOURCES[SERVER]) or [])
    client = list(tables.get(SOURCES[CLIENT]) or [])

    if agent and server:
        frames = _walk(agent, "size_bytes", server, "size", SERVER, lookahead)
        _mark_lost(frames, AGENT, SERVER, SERVER)
    elif agent:
        frames = _walk(agent, "size_bytes", client, "size", CLIENT, lookahead)
        _mark_lost(frames, AGENT, CLIENT, CLIENT)
    else:
        frames = [_Frame(server=row) for row in server]
    if server and client:
        frames = _attach_clients(frames, client)
        _mark_lost(frames, SERVER, CLIENT, CLIENT)

    result.rows = [_row(number, frame) for number, frame in enumerate(frames)]
    return result


def pipeline_table(experiment: Experiment) -> None:
    """Add ``pipeline_frames`` to the experiment when two sides or more have rows.

    Replaces a ``pipeline_frames`` table the experiment already has, so calling
    it again (after adding rows) gives the same table as calling it once.
    """
    tables: dict[str, list[Row]] = {}
    for name in SOURCES.values():
        table = experiment.tables.get(name)
        if table is not None:
            tables[name] = [dict(zip(table.fields, row, strict=True)) for row in table.rows]
    if len(sides(tables)) < 2:
        return
    rows = join_frames(tables)
    experiment.tables.pop(TABLE, None)
    table = experiment.create_table(TABLE, list(FIELD_TYPES.items()))
    table.add_many(rows.rows)


def _server_frames(packets: list[Row]) -> list[Row]:
    """One record per frame the server logged, in the order of their first record."""
    seen: defaultdict[tuple[Any, ...], int] = defaultdict(int)
    frames: dict[tuple[Any, ...], Row] = {}
    for row in packets:
        key = (row.get("host"), row["mm_time"], row["size"])
        recorder = row.get("recorder")
        occurrence = seen[(key, recorder)]
        seen[(key, recorder)] += 1
        frame = (key, occurrence)
        current = frames.get(frame)
        if current is None or (
            recorder == PREFERRED_RECORDER and current.get("recorder") != PREFERRED_RECORDER
        ):
            frames[frame] = row  # a replaced entry keeps its place in the order
    return list(frames.values())


def _positions(rows: list[Row], key: str) -> dict[Any, list[int]]:
    at: dict[Any, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        at[row[key]].append(index)
    return at


def _skip(at: dict[Any, list[int]], value: Any, start: int, lookahead: int) -> float:
    """How many rows from ``start`` to the next one of ``value`` (inf beyond the lookahead)."""
    positions = at.get(value)
    if positions:
        k = bisect_left(positions, start)
        if k < len(positions) and positions[k] < start + lookahead:
            return positions[k] - start
    return math.inf


def _walk(
    agent: list[Row], agent_key: str, down: list[Row], down_key: str, side: str, lookahead: int
) -> list[_Frame]:
    """The size-order rule: the agent's frames aligned to the next side's rows."""
    agent_at = _positions(agent, agent_key)
    down_at = _positions(down, down_key)
    frames: list[_Frame] = []

    def only_down(row: Row) -> _Frame:
        frame = _Frame()
        setattr(frame, side, row)
        return frame

    i = j = 0
    while i < len(agent) and j < len(down):
        size = agent[i][agent_key]
        if size == down[j][down_key]:
            frame = only_down(down[j])
            frame.agent = agent[i]
            frame.rules.append(SIZE_ORDER)
            frames.append(frame)
            i += 1
            j += 1
            continue
        skip_agent = _skip(agent_at, down[j][down_key], i, lookahead)
        skip_down = _skip(down_at, size, j, lookahead)
        if math.isinf(skip_agent) and math.isinf(skip_down):
            # Nothing to align within reach: drop the row that cannot be the other's.
            if _before(down[j], agent[i]):
                frames.append(only_down(down[j]))
                j += 1
            else:
                frames.append(_Frame(agent=agent[i]))
                i += 1
        elif skip_agent <= skip_down:
            for _ in range(int(skip_agent)):
                frames.append(_Frame(agent=agent[i]))
                i += 1
        else:
            for _ in range(int(skip_down)):
                frames.append(only_down(down[j]))
                j += 1
    frames += [_Frame(agent=row) for row in agent[i:]]
    frames += [only_down(row) for row in down[j:]]
    return frames


def _before(down: Row, agent: Row) -> bool:
    """Was the downstream row logged before the agent's frame was captured?"""
    down_time, agent_time = down.get("time"), agent.get("time")
    return down_time is not None and agent_time is not None and down_time < agent_time


def _attach_clients(frames: list[_Frame], client: list[Row]) -> list[_Frame]:
    """The mm_time+size rule.

    A client row with no server packet goes after the row of the client's previous
    match, or just before its first match, or at the end when nothing matched.
    """
    waiting: dict[tuple[Any, Any], deque[int]] = defaultdict(deque)
    for index, frame in enumerate(frames):
        if frame.server is not None:
            waiting[(frame.server["mm_time"], frame.server["size"])].append(index)
    placed: list[tuple[tuple[int, int, int], _Frame]] = [
        ((index, 1, 0), frame) for index, frame in enumerate(frames)
    ]
    last: int | None = None
    leading: list[_Frame] = []  # before the first match: placed once it is known
    for number, row in enumerate(client):
        queue = waiting.get((row["mm_time"], row["size"]))
        if queue:
            last = queue.popleft()
            frames[last].client = row
            frames[last].rules.append(MM_TIME_SIZE)
            if leading:
                placed += [((last, 0, k), frame) for k, frame in enumerate(leading)]
                leading = []
        elif last is None:
            leading.append(_Frame(client=row))
        else:
            placed.append(((last, 2, number), _Frame(client=row)))
    placed += [((len(frames), 0, k), frame) for k, frame in enumerate(leading)]
    placed.sort(key=lambda item: item[0])
    return [frame for _, frame in placed]


def _mark_lost(frames: list[_Frame], up: str, down: str, stage: str) -> None:
    """Rows of ``up`` with no ``down`` between the first and the last row with both."""
    both = [
        index
        for index, frame in enumerate(frames)
        if frame.side(up) is not None and frame.side(down) is not None
    ]
    if not both:
        return
    for frame in frames[both[0] + 1 : both[-1]]:
        if frame.side(up) is not None and frame.side(down) is None and frame.stage_lost is None:
            frame.stage_lost = stage


def _get(row: Row | None, key: str, convert: Callable[[Any], Any] = lambda v: v) -> Any:
    if row is None:
        return None
    value = row.get(key)
    return None if value is None else convert(value)


def _elapsed_ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 3)


def _row(number: int, frame: _Frame) -> tuple[Any, ...]:
    agent, server, client = frame.agent, frame.server, frame.client
    logged = [name for name in (AGENT, SERVER, CLIENT) if frame.side(name) is not None]
    agent_time = _get(agent, "time")
    server_time = _get(server, "time")
    client_time = _get(client, "time")
    if client_time is not None and agent_time is not None:
        latency = _elapsed_ms(agent_time, client_time)
    else:
        latency = _elapsed_ms(server_time, client_time)
    mm_time = _get(server, "mm_time") if server is not None else _get(client, "mm_time")
    return (
        number,
        agent_time,
        _get(agent, "size_bytes"),
        _get(agent, "capture_ms"),
        _get(agent, "send_ms"),
        server_time,
        _get(server, "size"),
        mm_time,
        client_time,
        _get(client, "size"),
        _get(client, "decoded_time", lambda v: v / 1000),
        _get(client, "queue"),
        frame.stage_lost,
        ";".join(["+".join(logged), *frame.rules]),
        latency,
    )
