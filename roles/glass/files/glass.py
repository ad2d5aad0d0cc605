#!/usr/bin/env python3
"""The truth on the glass: marked frames drawn on the guest, read back off the client's screen.

Copied with ``glassmark.py`` (the marker, the contents, the quality metrics)
to the guest by the workload role and to the client by the glass role;
python3 and numpy (Debian's python3-numpy), X11 through libX11 and ctypes, so
nothing else needs installing on a real guest.

  play   draw ``--content`` frame after frame at ``--fps`` in a window at the
         display's top-left corner; print ``FRAME TIME`` as each frame reached
         the X server (after XSync), on this machine's clock
  grab   find the marked frame on the display (remote-viewer's window), read
         its frame marker ``--rate`` times a second from the marker's few
         pixels only, print ``TIME FRAME`` per grab (-1: marker unreadable,
         -2: frame not found); every ``--quality-every``-th frame number, grab
         the whole frame once into ``--samples``
  quality  after the window (the collect phase: it costs nothing to the
         measurement), PSNR and SSIM of each sample against the reference
         frame rebuilt from its number: ``FRAME TIME PSNR_DB SSIM`` per line.
         The frames stay on this machine; only the figures travel.

Besides the frame marker at the frame's top-left, each frame carries an
*info marker* just below it: the content and the frame size, so the client
knows what it looks at without being told.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import io
import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glassmark as gm

ZPIXMAP = 2
ALL_PLANES = ctypes.c_ulong(~0 & (2 ** (8 * ctypes.sizeof(ctypes.c_ulong)) - 1))
# Look for the frame again after this many unreadable grabs in a row (the window moved?).
RELOCATE_AFTER = 30
LOCATE_EVERY = 0.25


class XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
        ("red_mask", ctypes.c_ulong),
        ("green_mask", ctypes.c_ulong),
        ("blue_mask", ctypes.c_ulong),
        ("obdata", ctypes.c_void_p),
        ("funcs", ctypes.c_void_p * 6),
    ]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class Display:
    """An X display through libX11: grab a rectangle, draw into a window."""

    def __init__(self, name: str) -> None:
        lib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        lib.XOpenDisplay.restype = ctypes.c_void_p
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        for fn in ("XDefaultScreen", "XDisplayWidth", "XDisplayHeight", "XDefaultDepth"):
            getattr(lib, fn).restype = ctypes.c_int
        lib.XDefaultScreen.argtypes = [ctypes.c_void_p]
        for fn in ("XDisplayWidth", "XDisplayHeight", "XDefaultDepth"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.XRootWindow.restype = ctypes.c_ulong
        lib.XRootWindow.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.XDefaultVisual.restype = ctypes.c_void_p
        lib.XDefaultVisual.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.XGetImage.restype = ctypes.POINTER(XImage)
        lib.XGetImage.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_ulong, ctypes.c_int,
        ]  # fmt: skip
        lib.XDestroyImage.argtypes = [ctypes.POINTER(XImage)]
        lib.XCreateImage.restype = ctypes.POINTER(XImage)
        lib.XCreateImage.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_int,
            ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_int, ctypes.c_int,
        ]  # fmt: skip
        lib.XCreateSimpleWindow.restype = ctypes.c_ulong
        lib.XCreateSimpleWindow.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_ulong,
        ]  # fmt: skip
        lib.XMapRaised.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        lib.XStoreName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_char_p]
        lib.XCreateGC.restype = ctypes.c_void_p
        lib.XCreateGC.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_void_p]
        lib.XPutImage.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.POINTER(XImage),
            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ]  # fmt: skip
        lib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.XCreatePixmap.restype = ctypes.c_ulong
        lib.XCreatePixmap.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
        ]  # fmt: skip
        lib.XCopyArea.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_int,
            ctypes.c_int, ctypes.c_uint, ctypes.c_uint, ctypes.c_int, ctypes.c_int,
        ]  # fmt: skip
        lib.XSetErrorHandler.restype = ctypes.c_void_p
        lib.XSetErrorHandler.argtypes = [_ERROR_HANDLER]
        self.lib = lib
        self.errors = 0
        # Xlib's default handler exits the process on a protocol error (a
        # grab outside the screen while a window resizes): count it instead.
        self._handler = _ERROR_HANDLER(self._on_error)
        lib.XSetErrorHandler(self._handler)
        self.dpy = lib.XOpenDisplay(name.encode())
        if not self.dpy:
            raise SystemExit(f"cannot open X display {name!r} (is DISPLAY right, is X running?)")
        screen = lib.XDefaultScreen(self.dpy)
        self.root = lib.XRootWindow(self.dpy, screen)
        self.width = lib.XDisplayWidth(self.dpy, screen)
        self.height = lib.XDisplayHeight(self.dpy, screen)
        self.depth = lib.XDefaultDepth(self.dpy, screen)
        self.visual = lib.XDefaultVisual(self.dpy, screen)
        if self.depth not in (24, 32):
            raise SystemExit(f"display {name} has depth {self.depth}: 24 or 32 bits needed")

    def _on_error(self, _display: int, _event: int) -> int:
        self.errors += 1
        return 0

    def grab_gray(self, x: int, y: int, width: int, height: int) -> np.ndarray | None:
        """A rectangle of the screen as luma; None when it is not (wholly) on the screen."""
        width, height = min(width, self.width - x), min(height, self.height - y)
        if width <= 0 or height <= 0:
            return None
        image = self.lib.XGetImage(self.dpy, self.root, x, y, width, height, ALL_PLANES, ZPIXMAP)
        if not image:
            return None
        try:
            im = image.contents
            if im.bits_per_pixel != 32:
                raise SystemExit(f"unsupported X image format: {im.bits_per_pixel} bits per pixel")
            raw = ctypes.string_at(im.data, im.bytes_per_line * height)
            pixels = np.frombuffer(raw, np.uint8).reshape(height, im.bytes_per_line // 4, 4)
            return gm.luma(pixels[:, :width, 2::-1])  # BGRX in memory
        finally:
            self.lib.XDestroyImage(image)

    def window(self, width: int, height: int, title: str) -> Window:
        win = self.lib.XCreateSimpleWindow(self.dpy, self.root, 0, 0, width, height, 0, 0, 0)
        self.lib.XStoreName(self.dpy, win, title.encode())
        self.lib.XMapRaised(self.dpy, win)
        self.lib.XSync(self.dpy, 0)
        return Window(self, win, width, height)


class Window:
    """A window the frames are put into, through one reused XImage over a numpy buffer."""

    def __init__(self, display: Display, win: int, width: int, height: int) -> None:
        self.display, self.win = display, win
        self.pixels = np.zeros((height, width, 4), np.uint8)
        lib = display.lib
        self.gc = lib.XCreateGC(display.dpy, win, 0, None)
        self.image = lib.XCreateImage(
            display.dpy, display.visual, display.depth, ZPIXMAP, 0,
            self.pixels.ctypes.data, width, height, 32, width * 4,
        )  # fmt: skip
        self.width, self.height = width, height
        # Xlib splits a big XPutImage into strips, each of which the SPICE
        # server would see as a frame: put it off screen, copy it in one go.
        self.pixmap = lib.XCreatePixmap(display.dpy, win, width, height, display.depth)

    def show(self, rgb: np.ndarray) -> float:
        """Put the frame on the screen; the time it is there (the server has processed it)."""
        self.pixels[..., 0] = rgb[..., 2]
        self.pixels[..., 1] = rgb[..., 1]
        self.pixels[..., 2] = rgb[..., 0]
        lib, dpy = self.display.lib, self.display.dpy
        lib.XPutImage(dpy, self.pixmap, self.gc, self.image, 0, 0, 0, 0, self.width, self.height)
        lib.XCopyArea(dpy, self.pixmap, self.win, self.gc, 0, 0, self.width, self.height, 0, 0)
        lib.XSync(dpy, 0)
        return time.time()


def info_value(content: str, width: int, height: int) -> int:
    """What the info marker says: content and size (multiples of the cell)."""
    return gm.CONTENTS.index(content) << 16 | (width // gm.CELL) << 8 | (height // gm.CELL)


def read_info(value: int) -> tuple[str, int, int] | None:
    index, width, height = value >> 16, (value >> 8) & 0xFF, value & 0xFF
    if index >= len(gm.CONTENTS) or not width or not height:
        return None
    return gm.CONTENTS[index], width * gm.CELL, height * gm.CELL


def frame_image(content: str, frame: int, width: int, height: int) -> np.ndarray:
    """The frame as drawn: the content with its frame marker, and the info marker below it."""
    rgb = gm.render(content, frame, width, height)
    info = gm.render_marker(info_value(content, width, height))
    rgb[gm.MARKER_HEIGHT : 2 * gm.MARKER_HEIGHT, : gm.MARKER_WIDTH] = info[..., None]
    return rgb


# Rows of the frame that quality is measured on: below both markers.
QUALITY_TOP = 2 * gm.MARKER_HEIGHT
# Identical pictures have an infinite PSNR; written as this, as video tools cap it.
PSNR_CAP = 100.0


class Stop:
    """SIGTERM (the sampler's end of window) and SIGINT end the loop, not the process."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_: object) -> None:
        self.requested = True


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size {text!r}: expected WIDTHxHEIGHT, like 640x480") from None
    if width % gm.CELL or height % gm.CELL or not 2 * gm.MARKER_HEIGHT < height <= 4080:
        raise SystemExit(f"--size {text}: width and height must be multiples of {gm.CELL}")
    if not gm.MARKER_WIDTH <= width <= 4080:
        raise SystemExit(f"--size {text}: width must be {gm.MARKER_WIDTH} to 4080")
    return width, height


def play(args: argparse.Namespace) -> int:
    width, height = parse_size(args.size)
    display = Display(args.display)
    if width > display.width or height > display.height:
        raise SystemExit(
            f"--size {args.size} does not fit display {args.display} "
            f"({display.width}x{display.height})"
        )
    window = display.window(width, height, f"glass {args.content}")
    stop = Stop()
    out = sys.stdout
    out.write(f"# content {args.content} {width}x{height} fps {args.fps:g}\n")
    time.sleep(0.2)  # mapped and exposed before the first frame
    start = time.monotonic()
    frame = 0
    while not stop.requested and (args.frames is None or frame < args.frames):
        shown = window.show(frame_image(args.content, frame, width, height))
        out.write(f"{frame} {shown:.6f}\n")
        out.flush()
        frame += 1
        delay = start + frame / args.fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return 0


class Grabber:
    """Finds the marked frame on the screen and reads its number, cheaply."""

    def __init__(self, display: Display) -> None:
        self.display = display
        self.origin: tuple[int, int] | None = None
        self.info: tuple[str, int, int] | None = None
        self.misses = 0
        self.last_look = 0.0

    def look(self) -> bool:
        """Search the whole screen for the frame (at most every LOCATE_EVERY seconds)."""
        now = time.monotonic()
        if now - self.last_look < LOCATE_EVERY:
            return False
        self.last_look = now
        screen = self.display.grab_gray(0, 0, self.display.width, self.display.height)
        found = None if screen is None else gm.locate(screen)
        if found is None:
            return False
        x, y = found
        value = gm.decode(screen[y + gm.MARKER_HEIGHT :, x:])
        info = None if value is None else read_info(value)
        if info is None:
            return False
        self.origin, self.info, self.misses = (x, y), info, 0
        return True

    def read(self) -> tuple[float, int]:
        """(time, frame number, or -1 unreadable, -2 frame not found)."""
        if self.origin is None and not self.look():
            return time.time(), -2
        x, y = self.origin
        before = time.time()
        gray = self.display.grab_gray(x, y, gm.MARKER_WIDTH, gm.MARKER_HEIGHT)
        at = (before + time.time()) / 2
        value = None if gray is None else gm.decode(gray)
        if value is None:
            self.misses += 1
            if self.misses >= RELOCATE_AFTER:
                self.origin = None
            return at, -1
        self.misses = 0
        return at, value

    def sample(self) -> tuple[int, float, np.ndarray] | None:
        """The whole frame now, with the number its own marker says."""
        if self.origin is None or self.info is None:
            return None
        (x, y), (_, width, height) = self.origin, self.info
        at = time.time()
        gray = self.display.grab_gray(x, y, width, height)
        if gray is None or gray.shape != (height, width):
            return None
        value = gm.decode(gray)
        return None if value is None else (value, at, gray)


def grab(args: argparse.Namespace) -> int:
    if args.rate <= 0:
        raise SystemExit(f"--rate {args.rate}: must be above 0")
    display = Display(args.display)
    grabber = Grabber(display)
    stop = Stop()
    out = sys.stdout
    samples = open(args.samples, "wb") if args.samples else None  # noqa: SIM115
    period = 1.0 / args.rate
    next_at = time.monotonic()
    last = None
    origin = None
    try:
        while not stop.requested:
            at, value = grabber.read()
            if grabber.origin != origin and grabber.origin is not None:
                origin = grabber.origin
                content, width, height = grabber.info
                out.write(f"# frame {content} {width}x{height} at {origin[0]},{origin[1]}\n")
            out.write(f"{at:.6f} {value}\n")
            if samples and value >= 0 and value != last and value % args.quality_every == 0:
                _write_sample(samples, grabber)
            if value >= 0:
                last = value
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()  # behind: do not burst to catch up
    finally:
        out.flush()
        if samples:
            samples.close()
    return 0


def _write_sample(samples: BinaryIO, grabber: Grabber) -> None:
    """``FRAME TIME CONTENT WIDTHxHEIGHT`` then the luma's raw bytes, per sampled frame.

    Raw, not compressed: during the window every millisecond of the grabber's
    is a grab late; the quality step after the window reads them back.
    """
    sampled = grabber.sample()
    if sampled is None:
        return
    value, at, gray = sampled
    content = grabber.info[0]
    samples.write(f"{value} {at:.6f} {content} {gray.shape[1]}x{gray.shape[0]}\n".encode())
    samples.write(gray.tobytes())


def read_samples(samples: BinaryIO) -> Iterator[tuple[int, float, str, np.ndarray]]:
    """The samples of ``--samples`` as (frame, time, content, luma); stops at a cut one."""
    while True:
        head = samples.readline()
        try:
            value, at, content, size = head.decode().split()
            width, height = (int(v) for v in size.split("x"))
        except (UnicodeDecodeError, ValueError):
            return
        pixels = samples.read(width * height)
        if len(pixels) != width * height:
            return  # the grabber was ended mid-write
        yield int(value), float(at), content, np.frombuffer(pixels, np.uint8).reshape(height, width)


def measure(frame: int, content: str, gray: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) and SSIM of a grabbed frame against its reference, below the two markers.

    The grab starts at the marker's top-left, which is the frame's origin, so
    the two line up pixel for pixel (remote-viewer shows the guest unscaled).
    """
    height, width = gray.shape
    return gm.compare(gray, content, frame, width, height, top=QUALITY_TOP)


def quality(args: argparse.Namespace) -> int:
    try:
        samples = open(args.samples, "rb")  # noqa: SIM115
    except FileNotFoundError:
        samples = io.BytesIO()  # no frame was ever found: nothing to measure
    with samples, open(args.output, "w") as out:
        for frame, at, content, gray in read_samples(samples):
            if content not in gm.CONTENTS:
                continue
            psnr, ssim = measure(frame, content, gray)
            out.write(f"{frame} {at:.6f} {min(psnr, PSNR_CAP):.3f} {ssim:.5f}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("play", help="draw marked frames (on the guest)")
    p.add_argument("--content", choices=gm.CONTENTS, default="marked-ball")
    p.add_argument("--size", default="640x480")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--frames", type=int, help="stop after this many frames")
    p.add_argument("--display", default=os.environ.get("DISPLAY", ":0"))
    p.set_defaults(func=play)
    g = sub.add_parser("grab", help="read the frames off the screen (on the client)")
    g.add_argument("--rate", type=float, default=60.0, help="grabs per second")
    g.add_argument("--quality-every", type=int, default=10)
    g.add_argument("--samples", help="file for the sampled whole frames")
    g.add_argument("--display", default=os.environ.get("DISPLAY", ":0"))
    g.set_defaults(func=grab)
    q = sub.add_parser("quality", help="PSNR and SSIM of the sampled frames (after the window)")
    q.add_argument("--samples", required=True)
    q.add_argument("--output", required=True)
    q.set_defaults(func=quality)
    args = parser.parse_args(argv)
    if getattr(args, "fps", 1) <= 0:
        raise SystemExit(f"--fps {args.fps}: must be above 0")
    if getattr(args, "quality_every", 1) <= 0:
        raise SystemExit(f"--quality-every {args.quality_every}: must be at least 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
