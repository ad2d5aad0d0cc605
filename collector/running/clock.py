"""A host's clock offset against the controller, NTP-style, and when to correct by it.

A round is four wall-clock readings: the controller sends (t0), the host
receives (t1) and replies (t2), the controller receives (t3). Whatever the
asymmetry of the two paths, the true offset lies within half the round trip
of ``((t1 - t0) + (t2 - t3)) / 2``, so the quickest rounds bound it best.
Round trips over one open channel are a fraction of a millisecond on a LAN,
where an SSH exec per reading costs tens of milliseconds.

Pure: the action plugin (plugins/action/collector_clock.py) builds the
command that reaches the host, and ingest decides with ``correction`` which
offset a host's times are moved by. No Ansible import here.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

# The host's side, run as ``python3 -u -c RESPONDER``: python3 3.6 and newer,
# stdlib only, no single quote (it is quoted for the remote shell). Each
# request line is answered with its first word, then the receive and send
# times; the controller ignores lines that do not start with its token (a
# noisy shell startup). EOF ends it.
RESPONDER = """import sys, time
read, out = sys.stdin.buffer.readline, sys.stdout.buffer
while True:
    line = read()
    received = time.time()
    if not line:
        break
    head = (line.split() or [b"-"])[0] + b" " + repr(received).encode() + b" "
    replied = time.time()
    out.write(head + repr(replied).encode() + b"\\n")
    out.flush()
"""

ROUNDS = 64  # at most; a LAN's rounds take well under a millisecond each
MIN_ROUNDS = 8  # even on a slow link, before the budget stops the exchange
BUDGET = 0.5  # seconds of rounds, after the first reply
FASTEST = 5  # rounds whose bounds are intersected
STARTUP_TIMEOUT = 15.0  # the first reply: login, python3 start-up
ROUND_TIMEOUT = 5.0
# time.time() as a double near 1.7e9 s is good to 0.24 us; an offset takes four readings.
RESOLUTION = 1e-6


@dataclass(frozen=True)
class Round:
    """One request and reply, in seconds since the epoch on either clock."""

    sent: float  # t0, controller
    received: float  # t1, host
    replied: float  # t2, host
    back: float  # t3, controller

    @property
    def offset(self) -> float:
        return ((self.received - self.sent) + (self.replied - self.back)) / 2

    @property
    def rtt(self) -> float:
        return (self.back - self.sent) - (self.replied - self.received)


@dataclass(frozen=True)
class ClockEstimate:
    """A host's clock minus the controller's, good to within ``uncertainty`` (seconds)."""

    offset: float
    uncertainty: float
    rounds: int
    rtt_min: float

    @property
    def corrected(self) -> bool:
        return is_measured(self.offset, self.uncertainty)

    def as_result(self) -> dict[str, float | int | bool]:
        return {
            "offset": self.offset,
            "uncertainty": self.uncertainty,
            "rounds": self.rounds,
            "rtt_min": self.rtt_min,
            "corrected": self.corrected,
        }


def is_measured(offset: float, uncertainty: float) -> bool:
    """An offset no larger than its uncertainty is noise, not a measured offset."""
    return abs(offset) > uncertainty


def correction(offset: float | None, uncertainty: float | None) -> float:
    """What a host's times are moved by: its offset where measured, else nothing.

    Correcting by an offset within its uncertainty would only pretend to a
    precision the measurement does not have. An event without an uncertainty
    (none was recorded) keeps its offset, as before uncertainties were used.
    """
    value = float(offset or 0.0)
    return value if is_measured(value, float(uncertainty or 0.0)) else 0.0


def estimate(rounds: Sequence[Round], fastest: int = FASTEST) -> ClockEstimate | str:
    """The offset from the quickest rounds; a message when no round is usable.

    Each round bounds the offset to [offset - rtt/2, offset + rtt/2]; the
    middle of the fastest rounds' common interval is never further from the
    truth than half the shortest round trip, and usually much closer. The
    uncertainty stays that half round trip: a clock slewed by NTP during the
    exchange moves the bounds a little, so their intersection is not relied on.
    """
    usable = sorted((r for r in rounds if _sane(r)), key=lambda r: r.rtt)
    if not usable:
        return f"no usable round out of {len(rounds)} (a clock stepped during the exchange?)"
    best = usable[:fastest]
    low = max(r.offset - r.rtt / 2 for r in best)
    high = min(r.offset + r.rtt / 2 for r in best)
    offset = (low + high) / 2 if low <= high else best[0].offset
    rtt_min = best[0].rtt
    return ClockEstimate(offset, rtt_min / 2 + RESOLUTION, len(usable), rtt_min)


def _sane(r: Round) -> bool:
    """Time runs forward on both sides and the host answers within the round trip."""
    return r.back >= r.sent and r.replied >= r.received and r.rtt >= 0


class _Lines:
    """Lines from a pipe, each with the time its last byte arrived."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.at = 0.0

    def next(self, timeout: float) -> tuple[bytes, float] | str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return f"no reply within {timeout:g} s"
            try:
                chunk = os.read(self.fd, 65536)
            except OSError as e:
                return f"cannot read from the responder: {e.strerror}"
            self.at = time.time()
            if not chunk:
                return "the responder ended"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line, self.at


def exchange(
    write_fd: int, read_fd: int, rounds: int = ROUNDS, budget: float = BUDGET
) -> list[Round] | str:
    """Request/reply rounds with a running responder, back to back."""
    lines = _Lines(read_fd)
    done: list[Round] = []
    started = None
    for n in range(rounds):
        if started is not None and n >= MIN_ROUNDS and time.monotonic() - started > budget:
            break
        token = b"r%d" % n
        sent = time.time()
        try:
            os.write(write_fd, token + b"\n")
        except OSError as e:
            return f"cannot write to the responder: {e.strerror}"
        while True:
            got = lines.next(STARTUP_TIMEOUT if started is None else ROUND_TIMEOUT)
            if isinstance(got, str):
                return got
            line, back = got
            words = line.split()
            if len(words) == 3 and words[0] == token:
                break  # anything else is a shell's chatter
        try:
            done.append(Round(sent, float(words[1]), float(words[2]), back))
        except ValueError:
            return f"unexpected reply {line[:80]!r}"
        if started is None:
            started = time.monotonic()
    return done


def measure(argv: Sequence[str | bytes], rounds: int = ROUNDS) -> ClockEstimate | str:
    """Start the responder with ``argv``, exchange rounds, and estimate; a message on failure."""
    with tempfile.TemporaryFile() as errors:  # a file: a chatty ssh -v never blocks on it
        try:
            proc = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
            )
        except OSError as e:
            return f"cannot start {os.fsdecode(argv[0])}: {e.strerror}"
        assert proc.stdin is not None and proc.stdout is not None
        try:
            got = exchange(proc.stdin.fileno(), proc.stdout.fileno(), rounds)
        finally:
            _end(proc)
        if isinstance(got, str):
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip().splitlines()
            detail = f" (exit code {proc.returncode})" if proc.returncode else ""
            return got + detail + (f": {said[-1][:300]}" if said else "")
    return estimate(got)


def _end(proc: subprocess.Popen) -> None:
    """EOF ends the responder, and with it ssh; a stuck one is killed."""
    with contextlib.suppress(OSError):
        proc.stdin.close()  # type: ignore[union-attr]
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()  # type: ignore[union-attr]
