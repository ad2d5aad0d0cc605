"""Ctrl-C, SIGTERM and SIGHUP end a run the same clean way.

The first signal asks ansible-runner to cancel the playbook (it polls
``cancel``); the run then stops every sampler, collects and saves the
experiment as interrupted. A second one abandons that cleanup: the samplers'
own watchdogs end them at the window's end, and ``collector recover`` saves
what they measured.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any, TextIO

# What `timeout`, CI systems and service managers send, and what a closed terminal sends.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupt:
    """A cancel request that ansible-runner polls for, set by the first signal."""

    def __init__(self, out: TextIO) -> None:
        self.requested = False
        self.out = out
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupt:
        for number in SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
            print(
                f"\ninterrupted: stopping the samplers and saving what was measured "
                f"({how} again to abandon)",
                file=self.out,
                flush=True,
            )

    def cancel(self) -> bool:
        return self.requested
