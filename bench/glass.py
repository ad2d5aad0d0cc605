#!/usr/bin/env python3
"""The glass grabber's cost: grabs per second and CPU per grab, against the cheapest grab.

Starts its own Xvfb (1280x1024) and `glass.py play` (a 1024x768 window of marked-ball
frames at 30 fps, at the screen's top-left), then runs, each in its own process for
`--seconds`, ended with SIGTERM as the sampler ends it:

  grabber   `glass.py grab --quality-every 10 --samples FILE`: locate the frame, read the
            marker's 256x64 px, luma, decode, write a line, sample a whole frame now and
            then: what a run pays;
  ... no samples  the same without `--samples`: what reading the marker alone costs;
  baseline  the same `Display` (glass.py imported), the same pacing loop, and per grab
            only XGetImage + XDestroyImage of the same 256x64 region: the least any grab
            of the marker can cost from Python through ctypes, so that the ratio is what
            the grabber adds (copy, luma, decode, output, locating, samples).

CPU is each child's own (os.wait4's rusage), less the start-up measured apart (interpreter,
numpy, glass.py imported, the display opened: the median of 3 such processes); grabs/s
from the grabs' own timestamps. The issue's budget: under 15 % of one core at 60 grabs/s.

    python bench/glass.py [--seconds 10] [--rates 60,120]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLASS_DIR = ROOT / "roles" / "glass" / "files"
GLASS = GLASS_DIR / "glass.py"
BUDGET = 15.0  # % of one core at 60 grabs/s


def count_samples(path: Path) -> int:
    """Whole frames the grabber kept (a header line, then the raw luma, each)."""
    if not path.exists():
        return 0
    sys.path.insert(0, str(GLASS_DIR))
    import glass  # the role's script, found only now

    with path.open("rb") as f:
        return sum(1 for _ in glass.read_samples(f))


# argv: glass dir, display, x, y, rate. Prints the grabs' times when SIGTERM ends it.
BASELINE = """
import sys, time
sys.path.insert(0, sys.argv[1])
import glass
display = glass.Display(sys.argv[2])
x, y, period = int(sys.argv[3]), int(sys.argv[4]), 1.0 / float(sys.argv[5])
lib, dpy, root, planes, zpixmap = display.lib, display.dpy, display.root, glass.ALL_PLANES, 2
w, h = glass.gm.MARKER_WIDTH, glass.gm.MARKER_HEIGHT
stop, times, next_at = glass.Stop(), [], time.monotonic()
while not stop.requested:
    lib.XDestroyImage(lib.XGetImage(dpy, root, x, y, w, h, planes, zpixmap))
    times.append(time.time())
    next_at += period
    delay = next_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    else:
        next_at = time.monotonic()
print(" ".join(f"{t:.6f}" for t in times))
"""
STARTUP = "import sys; sys.path.insert(0, sys.argv[1]); import glass; glass.Display(sys.argv[2])"


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_xvfb() -> tuple[subprocess.Popen, str]:
    for n in range(90, 200):
        if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
            continue
        argv = ["/usr/bin/Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            time.sleep(0.05)
        stop(proc)  # taken meanwhile, or too slow: the next number
    sys.exit("no free X display from :90 to :199")


def run(argv: list[str], out: Path, seconds: float | None) -> tuple[float, float, float]:
    """(CPU seconds, start, SIGTERM time) of a child run for `seconds` (None: to its end)."""
    started = time.time()
    with out.open("w") as stdout, out.with_suffix(".err").open("w") as stderr:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, cwd=ROOT)
    try:
        ended = time.time()
        if seconds is not None:
            time.sleep(seconds)
            ended = time.time()
            os.kill(proc.pid, signal.SIGTERM)  # not send_signal: its poll() would reap it
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        stop(proc)
    if proc.returncode != 0:
        sys.exit(f"{argv[:3]} exited {proc.returncode}:\n{out.with_suffix('.err').read_text()}")
    return usage.ru_utime + usage.ru_stime, started, ended


def figures(times: list[float], cpu: float, ended: float) -> tuple[int, float, float, float]:
    """(grabs, grabs/s, CPU % of one core, CPU ms per grab) from the grabs' times on."""
    wall = ended - times[0] if times else 0.0
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return len(times), rate, 100 * cpu / max(wall, 1e-9), 1000 * cpu / max(len(times), 1)


def row(label: str, fig: tuple[int, float, float, float], per_b: float, note: str) -> None:
    n, got, core, per = fig
    print(f"{label:23} {n:6} {got:8.1f} {core:11.1f} {per:12.3f} {per / per_b:11.1f}   {note}")


def compare(rate: float, display: str, work: Path, seconds: float, startup: float) -> float:
    """Print the baseline's and the grabber's figures at `rate`; the grabber's CPU % of a core."""
    base = work / "base.out"
    cpu, _, ended = run([sys.executable, "-c", BASELINE, str(GLASS_DIR), display, "0", "0",
                         f"{rate:g}"], base, seconds)  # fmt: skip
    fig_b = figures([float(t) for t in base.read_text().split()], cpu - startup, ended)
    row(f"baseline @{rate:g}", fig_b, fig_b[3], "XGetImage + XDestroyImage of 256x64 at 0,0")
    core = whole = 0.0
    for sampled in (True, False):
        out, samples = work / f"grab{rate:g}{sampled}.out", work / f"samples{rate:g}"
        extra = ["--quality-every", "10", "--samples", str(samples)] if sampled else []
        argv = [sys.executable, str(GLASS), "grab", "--rate", f"{rate:g}", "--display", display,
                *extra]  # fmt: skip
        cpu, started, ended = run(argv, out, seconds)
        lines = out.read_text().splitlines()
        origin = next((ln.split()[-1] for ln in lines if ln.startswith("# frame")), "none")
        grabs = [ln.split() for ln in lines if not ln.startswith("#")]
        values = [int(v) for _, v in grabs]
        fig = figures([float(t) for t, _ in grabs], cpu - startup, ended)
        note = f"{sum(v >= 0 for v in values)} / {values.count(-1)} / {values.count(-2)}"
        seen = set(values) - {-1, -2}
        skipped = max(seen) - min(seen) + 1 - len(seen) if seen else 0
        note += f", {len(seen)} frames ({skipped} skipped), found at {origin}"
        if sampled:
            note += f", {count_samples(samples)} samples"
            core = fig[2]
            whole = 100 * cpu / (ended - started)
        row(f"grabber @{rate:g}" + ("" if sampled else " no samples"), fig, fig_b[3], note)
    print(f"{'':23} grabber with samples, start-up in (as its sampler records it): "
          f"{whole:.1f} % of one core")  # fmt: skip
    return core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="60,120", help="grab rates, comma-separated")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    xvfb = play = None
    with tempfile.TemporaryDirectory(prefix="bench-glass-") as tmp:
        work = Path(tmp)
        try:
            xvfb, display = start_xvfb()
            played = work / "play.out"
            with played.open("w") as stdout:
                play = subprocess.Popen(
                    [sys.executable, str(GLASS), "play", "--content", "marked-ball",
                     "--size", "1024x768", "--fps", "30", "--display", display],
                    stdout=stdout, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            deadline = time.monotonic() + 20
            while len(played.read_text().splitlines()) < 2:  # its header and a first frame
                if play.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"glass.py play did not start (exit {play.poll()})")
                time.sleep(0.05)
            startup = statistics.median(
                run([sys.executable, "-c", STARTUP, str(GLASS_DIR), display], work / "s.out",
                    None)[0]
                for _ in range(3)
            )  # fmt: skip
            print(f"Xvfb {display} 1280x1024, play 1024x768 marked-ball at 30 fps, "
                  f"{args.seconds:g} s per run, {os.cpu_count()} cores")  # fmt: skip
            print(f"start-up subtracted (interpreter, numpy, glass.py, display): "
                  f"{1000 * startup:.0f} ms CPU (median of 3)\n")  # fmt: skip
            print(f"{'':23} {'grabs':>6} {'grabs/s':>8} {'CPU % core':>11} {'CPU ms/grab':>12}"
                  f" {'x baseline':>11}   read / -1 / -2, ...")  # fmt: skip
            cores = {rate: compare(rate, display, work, args.seconds, startup) for rate in rates}
            if 60 in cores:
                ok = "holds" if cores[60] < BUDGET else "does NOT hold"
                print(f"\nbudget: {cores[60]:.1f} % of one core at 60 grabs/s "
                      f"(< {BUDGET:g} %): {ok}")  # fmt: skip
        finally:
            stop(play)
            stop(xvfb)


if __name__ == "__main__":
    main()
