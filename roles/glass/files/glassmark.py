"""Marked frames for glass-to-glass latency: the marker, the contents, the quality metrics.

Standard library and numpy only: the guest draws with it, the client reads with it, and
the controller rebuilds reference frames with it, so all three agree to the pixel.

Marker: 16 x 4 cells of CELL = 16 px (256 x 64 px) at the frame's top-left, on the 16-px
grid from the frame's origin so that each cell is one codec macroblock (and four JPEG
blocks): a flat block survives even very coarse quantisation.

    column  0  1 | 2 ............ 13 | 14 15
    row 0   W  B | d0  ........  d11 | W  B
    row 1   B  W | d12 ........  d23 | B  W
    row 2   W  B | c0  ........  c11 | W  B
    row 3   B  W | c12 ........  c23 | B  W

W and B are the 16 reference cells, a checkerboard in the outer two columns; d0..d23 is
the frame number mod 2**24 and c0..c23 its CRC-24 (OpenPGP), most significant bit first,
white = 1.

Why a damaged marker reads as None and not as another number: each cell is read by the
mean of its inner half (a margin of cell/4 all round), which blur, ringing and chroma
bleed at the cell's edges leave alone. The reference cells give the black and white
levels; if the darkest white is not 100 levels above the lightest black (a wash, or a
misaligned read: a shift of more than cell/4 mixes a checkerboard cell with its
neighbour), the read fails. A data cell between 30 % and 70 % of the way from black to white is
ambiguous and fails the read. What is left must pass the CRC: CRC-24/OpenPGP has a
Hamming distance of 8 on 24-bit messages, so any 7 or fewer cells read wrong are always
caught, and any other corruption passes with probability 2**-24.

Alignment: `locate` finds the marker's top-left on the client's screen, and that pixel
IS the frame's origin (0, 0): the grabbed rectangle from there, of the frame's width and
height, is compared pixel for pixel with ``luma(render(content, frame, width, height))``
(`compare`), the marker's rows left out so that the marker does not inflate the quality.
"""

from __future__ import annotations

import functools
import math

import numpy as np

CELL = 16
COLS, ROWS = 16, 4
MARKER_WIDTH = COLS * CELL
MARKER_HEIGHT = ROWS * CELL
CONTENTS = ("marked-ball", "marked-text", "marked-motion")
FRAME_BITS = 24
# Levels between the darkest white and the lightest black reference cell.
MIN_CONTRAST = 100
# A data cell this far between black (0) and white (1) is unreadable.
AMBIGUOUS = (0.3, 0.7)
# Marker candidates `locate` tries at most, each a decode (content yields none: the
# checkerboard's contrast is rare outside a marker).
MAX_CANDIDATES = 4096

_R, _C = np.mgrid[0:ROWS, 0:COLS]
_REF = np.isin(_C, (0, 1, COLS - 2, COLS - 1))
_WHITE = _REF & ((_R + _C) % 2 == 0)
_BLACK = _REF & ~_WHITE
_DATA = ~_REF  # row-major: the frame number's bits, then the CRC's
_WHITE_CELLS = np.argwhere(_WHITE).tolist()
_BLACK_CELLS = np.argwhere(_BLACK).tolist()
_WEIGHTS = 1 << np.arange(FRAME_BITS - 1, -1, -1, dtype=np.int64)


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        reg = byte << 16
        for _ in range(8):
            reg <<= 1
            if reg & 0x1000000:
                reg ^= 0x1864CFB
        table.append(reg & 0xFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc24(data: bytes) -> int:
    """CRC-24/OpenPGP (RFC 4880): a published CRC, so its distance is known, not hoped for."""
    reg = 0xB704CE
    for byte in data:
        reg = ((reg << 8) & 0xFFFFFF) ^ _CRC_TABLE[(reg >> 16) ^ byte]
    return reg


def _check(value: int) -> int:
    return crc24(value.to_bytes(3, "big"))


def render_marker(frame: int, cell: int = CELL) -> np.ndarray:
    """The marker alone, gray 0/255, for drawing over any content."""
    value = frame % (1 << FRAME_BITS)
    word = value << FRAME_BITS | _check(value)
    cells = _WHITE.astype(np.uint8)
    cells[_DATA] = (word >> np.arange(2 * FRAME_BITS - 1, -1, -1, dtype=np.int64)) & 1
    return (cells * 255).astype(np.uint8).repeat(cell, 0).repeat(cell, 1)


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {image.shape}")
    return image


def decode(gray: np.ndarray, cell: int = CELL) -> int | None:
    """The frame number (mod 2**24), or None when the marker cannot be read for sure."""
    block = _gray(gray)[: ROWS * cell, : COLS * cell]
    if block.shape != (ROWS * cell, COLS * cell):
        return None
    q = cell // 4
    means = block.reshape(ROWS, cell, COLS, cell)[:, q : cell - q, :, q : cell - q].mean((1, 3))
    white, black = means[_WHITE], means[_BLACK]
    if white.min() - black.max() < MIN_CONTRAST:
        return None
    low = black.mean()
    level = (means[_DATA] - low) / (white.mean() - low)
    if np.any((level > AMBIGUOUS[0]) & (level < AMBIGUOUS[1])):
        return None
    bits = (level >= 0.5).astype(np.int64)
    value = int(bits[:FRAME_BITS] @ _WEIGHTS)
    return value if _check(value) == int(bits[FRAME_BITS:] @ _WEIGHTS) else None


def locate(gray: np.ndarray, cell: int = CELL) -> tuple[int, int] | None:
    """(x, y) of the topmost readable marker on a screenshot, exact to the pixel, or None.

    Every offset is scored at once from box sums (an integral image) of the reference
    cells' inner halves; offsets where the checkerboard stands out are tried in raster
    order by `decode`, so content never passes for a marker unless its CRC matches, and
    the top one of stacked markers wins. A decoded marker reads the same a few pixels
    off, so the exact offset is the one where the pixels best match the marker redrawn.
    """
    gray = _gray(gray)
    height, width = gray.shape
    mh, mw = ROWS * cell, COLS * cell
    if height < mh or width < mw:
        return None
    q = cell // 4
    m = cell - 2 * q
    # int32 may wrap on huge screens; the box sums (differences) stay exact anyway.
    integral = np.zeros((height + 1, width + 1), np.int32)
    integral[1:, 1:] = gray.cumsum(0, dtype=np.int32).cumsum(1, dtype=np.int32)
    box = integral[m:, m:] - integral[:-m, m:] - integral[m:, :-m] + integral[:-m, :-m]
    ny, nx = height - mh + 1, width - mw + 1

    def cells(which: list) -> list[np.ndarray]:
        return [box[r * cell + q : r * cell + q + ny, c * cell + q : c * cell + q + nx]
                for r, c in which]  # fmt: skip

    whites, blacks = cells(_WHITE_CELLS), cells(_BLACK_CELLS)
    score = whites[0].copy()
    for view in whites[1:]:
        np.minimum(score, view, out=score)
    darkest = blacks[0].copy()
    for view in blacks[1:]:
        np.maximum(darkest, view, out=darkest)
    score -= darkest
    for y, x in np.argwhere(score >= MIN_CONTRAST * m * m)[:MAX_CANDIDATES].tolist():
        value = decode(gray[y:, x:], cell)
        if value is not None:
            found = _refine(gray, x, y, value, cell)
            if found is not None:
                return found
    return None


def _refine(gray: np.ndarray, x: int, y: int, value: int, cell: int) -> tuple[int, int] | None:
    """The offset near (x, y) where the screen differs least from the marker redrawn."""
    expected = render_marker(value, cell).astype(np.int16)
    mh, mw = expected.shape
    reach = cell // 2
    best, where = None, None
    for yy in range(max(0, y - reach), min(gray.shape[0] - mh, y + reach) + 1):
        for xx in range(max(0, x - reach), min(gray.shape[1] - mw, x + reach) + 1):
            sad = int(np.abs(gray[yy : yy + mh, xx : xx + mw] - expected).sum())
            if best is None or sad < best:
                best, where = sad, (xx, yy)
    if where is None or decode(gray[where[1] :, where[0] :], cell) != value:
        return None
    return where


# -- contents ---------------------------------------------------------------------------


def render(content: str, frame: int, width: int, height: int) -> np.ndarray:
    """Frame number ``frame`` of ``content``, RGB, marker drawn at (0, 0).

    A pure function of its arguments (no global random state; caches hold only static
    parts), so the controller rebuilds exactly what the guest drew.
    """
    if content not in CONTENTS:
        raise ValueError(f"unknown content {content!r}: one of {', '.join(CONTENTS)}")
    if frame < 0 or width < 1 or height < 1:
        raise ValueError(f"bad frame {frame} or size {width}x{height}")
    rgb = _RENDERERS[content](frame, width, height)
    marker = render_marker(frame)[:height, :width]
    rgb[: marker.shape[0], : marker.shape[1]] = marker[..., None]
    return rgb


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False  # shared through a cache: never drawn on
    return array


@functools.lru_cache(maxsize=4)
def _table(width: int, height: int) -> np.ndarray:
    """The ball's static background: wood-like grain, low contrast so it never looks
    like a marker's checkerboard."""
    yy = np.arange(height, dtype=np.float64)[:, None]
    xx = np.arange(width, dtype=np.float64)[None, :]
    grain = 0.5 + 0.3 * np.sin(xx / 23 + 2.5 * np.sin(yy / 41)) + 0.12 * np.sin((xx + 2 * yy) / 9)
    grain = grain + np.random.default_rng(1).normal(0, 0.05, (height, width))
    t = np.clip(grain, 0, 1)[..., None]
    dark, light = np.array([38.0, 70, 62]), np.array([120.0, 150, 128])
    return _frozen(np.rint(dark + (light - dark) * t).astype(np.uint8))


def _bounce(travel: int, span: int) -> int:
    """Position after ``travel`` pixels back and forth over ``span`` pixels."""
    if span <= 0:
        return 0
    travel %= 2 * span
    return travel if travel <= span else 2 * span - travel


def _ball(frame: int, width: int, height: int) -> np.ndarray:
    rgb = _table(width, height).copy()
    r = max(4, min(width, height) // 10)
    cx = r + _bounce(7 * frame, width - 2 * r)
    cy = r + _bounce(5 * frame + height // 3, height - 2 * r)
    y0, y1, x0, x1 = max(0, cy - r), min(height, cy + r + 1), max(0, cx - r), min(width, cx + r + 1)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    rgb[y0:y1, x0:x1][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = (236, 112, 36)
    return rgb


# Text: a 5x7 bitmap font, drawn twice its size, monospaced, 22-px lines, 2 px per frame.
LINE_HEIGHT, SCROLL, SCALE, MARGIN = 22, 2, 2, 40
PAPER, INK = (250, 249, 243), (28, 30, 38)
# Glyphs a to z: rows top to bottom, two hex digits each, the glyph in the low 5 bits.
_FONT = (
    "00000e010f110f 1010161911111e 00000e1010110e 01010d1311110f 00000e111f100e 0609081c080808 "
    "000f11110f010e 10101619111111 04000c0404040e 0200060202120c 10101214181412 0c04040404040e "
    "00001a15151111 00001619111111 00000e1111110e 00001e111e1010 00000d130f0101 00001619101010 "
    "00000e100e011e 08081c08080906 0000111111130d 00001111110a04 0000111115150a 0000110a040a11 "
    "000011110f010e 00001f0204081f"
)
_SPACE = 26
# Glyph per code (letters, then the space), with a blank column after each.
_ATLAS = np.array(
    [[[int(rows[i : i + 2], 16) >> (4 - j) & 1 if j < 5 else 0 for j in range(6)]
      for i in range(0, 14, 2)] for rows in _FONT.split()]
    + [[[0] * 6] * 7],
    dtype=bool,
)  # fmt: skip
# Letters about as often as in English, as codes into the atlas.
_ENGLISH = "e" * 12 + "t" * 9 + "a" * 8 + "o" * 8 + "i" * 7 + "n" * 7 + "s" * 6 + "h" * 6
_ENGLISH += "r" * 6 + "d" * 4 + "l" * 4 + "c" * 3 + "u" * 3 + "mwfgyp" * 2 + "bvkjxqz"
_LETTERS = np.array([ord(ch) - ord("a") for ch in _ENGLISH])


_PAPER_INK = np.array([PAPER, INK], np.uint8)


@functools.lru_cache(maxsize=4)
def _blank_line(width: int) -> np.ndarray:
    line = np.empty((LINE_HEIGHT, width, 3), np.uint8)
    line[:] = PAPER
    return _frozen(line)


@functools.lru_cache(maxsize=256)
def _text_line(index: int, width: int) -> np.ndarray:
    """Line ``index`` of the endless page: its words depend on the index alone, so a
    line looks the same whichever frame scrolls it into view."""
    rng = np.random.default_rng((0x7E47, index))
    line = _blank_line(width).copy()
    chars = max(0, (width - 2 * MARGIN) // (6 * SCALE))
    gap, short, length = rng.random(3)
    if gap < 0.1 or not chars:  # between paragraphs
        return _frozen(line)
    limit = int(chars * (0.3 + 0.5 * length)) if short < 0.18 else chars  # a paragraph's end
    lengths = rng.integers(1, 10, chars // 2 + 1)
    letters = _LETTERS[rng.integers(0, len(_LETTERS), chars)]
    codes = np.full(chars, _SPACE)
    pos = 0
    for n in lengths.tolist():
        if pos + n > limit:
            break
        codes[pos : pos + n] = letters[pos : pos + n]
        pos += n + 1
    glyphs = _ATLAS[codes[: max(0, pos - 1)]]  # (chars, 7, 6)
    ink = glyphs.transpose(1, 0, 2).reshape(7, -1).repeat(SCALE, 0).repeat(SCALE, 1)
    top = (LINE_HEIGHT - 7 * SCALE) // 2
    line[top : top + ink.shape[0], MARGIN : MARGIN + ink.shape[1]] = np.take(
        _PAPER_INK, ink.view(np.uint8), axis=0
    )
    return _frozen(line)


def _text(frame: int, width: int, height: int) -> np.ndarray:
    rgb = np.empty((height, width, 3), np.uint8)
    scrolled = frame * SCROLL
    index = scrolled // LINE_HEIGHT
    y = index * LINE_HEIGHT - scrolled
    while y < height:
        top, bottom = max(0, y), min(height, y + LINE_HEIGHT)
        rgb[top:bottom] = _text_line(index, width)[top - y : bottom - y]
        y += LINE_HEIGHT
        index += 1
    return rgb


@functools.lru_cache(maxsize=1)
def _palette() -> np.ndarray:
    angle = np.arange(256) * (2 * np.pi / 256)
    waves = np.stack([np.sin(angle), np.sin(angle + 2.1), np.sin(angle + 4.2)], 1)
    return _frozen(np.rint(127.5 + 127.5 * waves).astype(np.uint8))


def _motion(frame: int, width: int, height: int) -> np.ndarray:
    """A plasma: four drifting waves through a cycling palette (every pixel changes).

    sin(a(x) + b(y)) = sin a cos b + cos a sin b, so the sum is a (height x 6) by
    (6 x width) product: no 2-D trigonometry per frame.
    """
    t = frame / 10.0
    x, y = np.arange(width), np.arange(height)
    a3, b3 = 0.013 * x + 0.7 * t, 0.017 * y
    a4, b4 = 0.023 * x - 0.5 * t, -0.011 * y
    rows = [np.ones(height), np.sin(0.027 * y - 0.9 * t), np.cos(b3), np.sin(b3),
            np.cos(b4), np.sin(b4)]  # fmt: skip
    cols = [np.sin(0.021 * x + 1.1 * t) + 4, np.ones(width), np.sin(a3), np.cos(a3),
            np.sin(a4), np.cos(a4)]  # fmt: skip
    # The sum lies in [0, 8]: scaled to palette indexes 0..255. float64 throughout, so
    # that another machine's sin or BLAS cannot move a pixel across a rounding step.
    index = (np.stack(rows, 1) @ (np.stack(cols) * 31.9)).astype(np.uint8)
    palette = np.roll(_palette(), -2 * frame, axis=0)
    return np.take(palette, index, axis=0)


_RENDERERS = {"marked-ball": _ball, "marked-text": _text, "marked-motion": _motion}


# -- quality ----------------------------------------------------------------------------


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in integers, so that every machine rounds alike (half up)."""
    rgb = np.asarray(rgb)
    y = rgb[..., 0].astype(np.uint32) * 299
    y += rgb[..., 1].astype(np.uint32) * 587
    y += rgb[..., 2].astype(np.uint32) * 114
    y += 500
    y //= 1000
    return y.astype(np.uint8)


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _gray(a), _gray(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    return a, b


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB, peak 255; inf for identical images (callers cap it as they see fit)."""
    a, b = _pair(a, b)
    d = (a.astype(np.float64) - b).ravel()
    mse = float(d @ d) / d.size
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


_TILE = 8  # output rows per matrix product in the Gaussian filter (fastest here)


@functools.lru_cache(maxsize=1)
def _band() -> np.ndarray:
    """The 11-tap Gaussian (sigma 1.5) as a banded (TILE, TILE+10) matrix."""
    g = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
    band = np.zeros((_TILE, _TILE + 10), np.float32)
    for i in range(_TILE):
        band[i, i : i + 11] = g / g.sum()
    return _frozen(band)


def _tiles(a: np.ndarray, axis: int, count: int, size: int) -> np.ndarray:
    """``count`` tiles of ``size`` along ``axis`` (1 or 2) of (n, h, w), _TILE apart,
    as a view (n, count, ...): overlapping tiles, no copy."""
    s = a.strides
    if axis == 1:
        return np.lib.stride_tricks.as_strided(
            a, (a.shape[0], count, size, a.shape[2]), (s[0], _TILE * s[1], s[1], s[2])
        )
    return np.lib.stride_tricks.as_strided(
        a, (a.shape[0], count, a.shape[1], size), (s[0], _TILE * s[2], s[1], s[2])
    )


def _gauss_valid(stack: np.ndarray) -> np.ndarray:
    """Separable 'valid' Gaussian filter of (n, h, w) float32 images, as many small
    matrix products (BLAS) of the banded matrix with overlapping tiles: several times
    faster than summing 11 shifted slices per axis."""
    band = _band()
    n, h, w = stack.shape
    rows = np.empty((n, h - 10, w), np.float32)
    k, rest = divmod(h - 10, _TILE)
    np.matmul(band, _tiles(stack, 1, k, _TILE + 10), out=_tiles(rows, 1, k, _TILE))
    if rest:
        np.matmul(band[:rest, : rest + 10], stack[:, k * _TILE :], out=rows[:, k * _TILE :])
    out = np.empty((n, h - 10, w - 10), np.float32)
    k, rest = divmod(w - 10, _TILE)
    np.matmul(_tiles(rows, 2, k, _TILE + 10), band.T, out=_tiles(out, 2, k, _TILE))
    if rest:
        np.matmul(rows[:, :, k * _TILE :], band[:rest, : rest + 10].T, out=out[:, :, k * _TILE :])
    return out


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
    L 255, over the 'valid' region (windows wholly inside the image): the variant of
    scikit-image's ``structural_similarity(gaussian_weights=True, data_range=255,
    use_sample_covariance=False)``.

    Filters s = x+y, d = x-y and their squares (four images, not five), each image's
    mean removed first to keep float32's cancellation small. With S, D the local means
    of s and d: 2 mx my = (S^2 - D^2) / 2, mx^2 + my^2 = (S^2 + D^2) / 2, and likewise
    2 cov = (var_s - var_d) / 2, var_x + var_y = (var_s + var_d) / 2.
    """
    a, b = _pair(a, b)
    if min(a.shape) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels, got {a.shape}")
    ma, mb = float(a.mean()), float(b.mean())
    stack = np.empty((4, *a.shape), np.float32)
    x, y = a.astype(np.float32) - np.float32(ma), b.astype(np.float32) - np.float32(mb)
    np.add(x, y, out=stack[0])
    np.subtract(x, y, out=stack[1])
    np.square(stack[:2], out=stack[2:])
    # In place from here: the filtered images are ours, and the map is large.
    mu_s, mu_d, var_s, var_d = _gauss_valid(stack)
    var_s -= mu_s * mu_s
    var_d -= mu_d * mu_d
    mu_s += np.float32(ma + mb)  # S, D: local means of s and d with their means back
    mu_d += np.float32(ma - mb)
    mu_s *= mu_s
    mu_d *= mu_d
    c1, c2 = np.float32(2 * (0.01 * 255) ** 2), np.float32(2 * (0.03 * 255) ** 2)
    num = mu_s - mu_d
    num += c1
    part = var_s - var_d
    part += c2
    num *= part
    den = mu_s + mu_d
    den += c1
    var_s += var_d
    var_s += c2
    den *= var_s
    num /= den
    return float(np.mean(num, dtype=np.float64))


def compare(
    grabbed_gray: np.ndarray,
    content: str,
    frame: int,
    width: int,
    height: int,
    top: int = MARKER_HEIGHT,
) -> tuple[float, float]:
    """(PSNR, SSIM) of a grabbed frame against its reference, rows from ``top`` down.

    ``grabbed_gray`` is cut from the screen at the marker's top-left, (height, width).
    The rows above ``top`` (the marker's, by default; glass.py's frames carry a second
    marker below it and pass 2 * MARKER_HEIGHT) are left out of both images, so the
    marker, which must read perfectly anyway, neither inflates nor hurts the quality.
    """
    reference = luma(render(content, frame, width, height))
    grabbed = _gray(grabbed_gray)
    if grabbed.shape != reference.shape:
        raise ValueError(f"grabbed {grabbed.shape}, frame is {reference.shape}")
    return psnr(grabbed[top:], reference[top:]), ssim(grabbed[top:], reference[top:])
