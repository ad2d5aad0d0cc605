"""glassmark, the marker, contents and quality metrics the glass role copies to the lab.

The marker's one promise is checked hardest: a damaged marker reads as its own number
or as None, never as another number, whatever a codec does to it.
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import numpy as np
import pytest

GLASSMARK = Path(__file__).resolve().parents[3] / "roles/glass/files/glassmark.py"
_spec = importlib.util.spec_from_file_location("glassmark_under_test", GLASSMARK)
gm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gm)

MH, MW = gm.MARKER_HEIGHT, gm.MARKER_WIDTH
W, H = 1024, 768


# -- damage, as codecs and screens do it ------------------------------------------------


def blur(gray: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur, edges repeated."""
    r = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    out = gray.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="edge")
        n = out.shape[axis]
        out = sum(w * np.take(p, np.arange(i, i + n), axis=axis) for i, w in enumerate(k))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


_I = np.arange(8)
DCT = np.sqrt(2 / 8) * np.cos((2 * _I[None, :] + 1) * _I[:, None] * np.pi / 16)
DCT[0] /= np.sqrt(2)


def jpeg_like(gray: np.ndarray, step: float, dx: int = 0, dy: int = 0) -> np.ndarray:
    """8x8 DCT quantised coarser for higher frequencies, the block grid shifted by dx, dy."""
    h, w = gray.shape
    p = np.pad(gray.astype(np.float64), ((dy, (-(h + dy)) % 8), (dx, (-(w + dx)) % 8)), "edge")
    blocks = p.reshape(p.shape[0] // 8, 8, p.shape[1] // 8, 8).transpose(0, 2, 1, 3) - 128
    q = step * (1 + _I[:, None] + _I[None, :])
    coef = np.rint(DCT @ blocks @ DCT.T / q) * q
    back = (DCT.T @ coef @ DCT + 128).transpose(0, 2, 1, 3).reshape(p.shape)
    return np.clip(np.rint(back[dy : dy + h, dx : dx + w]), 0, 255).astype(np.uint8)


def noisy(gray: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.rint(gray + rng.normal(0, sigma, gray.shape)), 0, 255).astype(np.uint8)


def cell_view(gray: np.ndarray, r: int, c: int) -> np.ndarray:
    return gray[r * gm.CELL : (r + 1) * gm.CELL, c * gm.CELL : (c + 1) * gm.CELL]


DATA_CELLS = [(r, c) for r in range(gm.ROWS) for c in range(2, gm.COLS - 2)]
REF_CELLS = [(r, c) for r in range(gm.ROWS) for c in (0, 1, gm.COLS - 2, gm.COLS - 1)]


def flip(gray: np.ndarray, cells: list[tuple[int, int]]) -> np.ndarray:
    out = gray.copy()
    for r, c in cells:
        view = cell_view(out, r, c)
        view[:] = 255 - view
    return out


# -- the marker -------------------------------------------------------------------------


def test_crc_is_the_published_crc24():
    assert gm.crc24(b"123456789") == 0x21CF02  # RFC 4880's check value


def test_marker_fits_and_is_black_and_white():
    assert (MW, MH) == (16 * gm.CELL, 4 * gm.CELL)
    assert MW <= 256 and MH <= 64
    m = gm.render_marker(123)
    assert m.shape == (MH, MW) and m.dtype == np.uint8
    assert set(np.unique(m).tolist()) == {0, 255}
    # the reference checkerboard: white where row + column is even
    for r, c in REF_CELLS:
        assert (cell_view(m, r, c) == (255 if (r + c) % 2 == 0 else 0)).all()
    # cells on the grid: every cell is flat
    cells = m.reshape(gm.ROWS, gm.CELL, gm.COLS, gm.CELL)
    assert (cells.min((1, 3)) == cells.max((1, 3))).all()


def test_round_trip_many_frame_numbers():
    rng = np.random.default_rng(1)
    frames = [0, 1, 2, 255, 256, 2**23, 2**24 - 1, *rng.integers(0, 2**24, 300).tolist()]
    for f in frames:
        assert gm.decode(gm.render_marker(f)) == f
    assert gm.decode(gm.render_marker(2**24 + 5)) == 5  # the frame number mod 2**24


def test_round_trip_inside_a_larger_image_and_other_cell_sizes():
    rng = np.random.default_rng(2)
    for _ in range(50):
        f = int(rng.integers(0, 2**24))
        big = rng.integers(0, 256, (300, 700), dtype=np.uint8)
        x, y = int(rng.integers(0, 700 - MW)), int(rng.integers(0, 300 - MH))
        big[y : y + MH, x : x + MW] = gm.render_marker(f)
        assert gm.decode(big[y:, x:]) == f
    for cell in (4, 8, 24):
        m = gm.render_marker(4242, cell)
        assert m.shape == (4 * cell, 16 * cell)
        assert gm.decode(m, cell) == 4242


def test_decode_refuses_what_is_not_a_whole_marker():
    m = gm.render_marker(99)
    assert gm.decode(m[:, : MW - 1]) is None
    assert gm.decode(m[: MH - 1]) is None
    assert gm.decode(np.full((MH, MW), 128, np.uint8)) is None
    assert gm.decode(np.zeros((MH, MW), np.uint8)) is None
    assert gm.decode(m[1:, 1:]) is None or gm.decode(m[1:, 1:]) == 99  # never another
    assert gm.decode(np.pad(m, ((8, 0), (8, 0)))) is None  # half a cell off
    with pytest.raises(ValueError):
        gm.decode(np.stack([m, m, m], -1))


def test_any_seven_wrong_cells_are_caught():
    """CRC-24/OpenPGP's Hamming distance on 24-bit messages is 8."""
    rng = np.random.default_rng(3)
    for k in range(1, 8):
        for _ in range(60):
            f = int(rng.integers(0, 2**24))
            picks = rng.choice(len(DATA_CELLS), k, replace=False)
            assert gm.decode(flip(gm.render_marker(f), [DATA_CELLS[i] for i in picks])) is None


def test_a_gray_or_flipped_cell_is_caught():
    m = gm.render_marker(777)
    for r, c in DATA_CELLS:
        gray = m.copy()
        cell_view(gray, r, c)[:] = 128
        assert gm.decode(gray) is None
    for r, c in REF_CELLS:  # a reference cell flipped: no contrast left
        assert gm.decode(flip(m, [(r, c)])) is None


def test_mild_damage_still_reads():
    rng = np.random.default_rng(4)
    for _ in range(40):
        f = int(rng.integers(0, 2**24))
        m = gm.render_marker(f)
        assert gm.decode(blur(m, 1.0)) == f
        assert gm.decode(noisy(m, 12, rng)) == f
        assert gm.decode(jpeg_like(m, 12)) == f
        assert gm.decode((m * 0.6 + 60).astype(np.uint8)) == f  # washed out: 60..213


def _damage(m: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kind = int(rng.integers(0, 9))
    if kind == 0:
        k = int(rng.integers(1, 20))
        cells = [(int(rng.integers(0, 4)), int(rng.integers(0, 16))) for _ in range(k)]
        return flip(m, cells)
    if kind == 1:
        return blur(m, float(rng.uniform(0.5, 8)))
    if kind == 2:
        out = m.copy()
        for _ in range(int(rng.integers(1, 6))):
            r, c = int(rng.integers(0, 4)), int(rng.integers(0, 16))
            cell_view(out, r, c)[:] = int(rng.integers(60, 200))
        return out
    if kind == 3:
        return noisy(m, float(rng.uniform(20, 160)), rng)
    if kind == 4:
        step = float(rng.uniform(50, 2500))  # up to nothing but the blocks' means, coarsely
        return jpeg_like(m, step, int(rng.integers(0, 8)), int(rng.integers(0, 8)))
    if kind == 5:  # torn: part of the next frame's marker, part of this one's
        out = m.copy()
        if rng.random() < 0.5:
            cut = int(rng.integers(1, MH))
            out[cut:] = other[cut:]
        else:
            cut = int(rng.integers(1, MW))
            out[:, cut:] = other[:, cut:]
        return out
    if kind == 6:  # two frames blended, as a codec's prediction might
        a = float(rng.uniform(0, 1))
        return np.rint(a * m + (1 - a) * other).astype(np.uint8)
    if kind == 7:  # read a few pixels off
        dy, dx = (int(v) for v in rng.integers(-8, 9, 2))
        return np.roll(m, (dy, dx), (0, 1))
    # all at once
    out = jpeg_like(blur(m, float(rng.uniform(0.5, 4))), float(rng.uniform(50, 1500)))
    return noisy(out, float(rng.uniform(5, 100)), rng)


def test_damaged_markers_are_never_misread():
    rng = np.random.default_rng(5)
    right = unreadable = 0
    for _ in range(2000):
        f = int(rng.integers(0, 2**24))
        g = (f + int(rng.integers(1, 1000))) % 2**24
        value = gm.decode(_damage(gm.render_marker(f), gm.render_marker(g), rng))
        # a marker torn or blended with frame g's may read as g, an honest answer
        assert value in (f, g, None), f"frame {f} misread as {value}"
        right += value == f
        unreadable += value is None
    # the damage is real, and the marker not too fragile
    assert unreadable > 400 and right > 400


# -- locating the frame on the client's screen ------------------------------------------


def screen() -> np.ndarray:
    """A client's screen: dark desktop, light menu bar with dark 'items'."""
    s = np.full((1024, 1280), 45, np.uint8)
    s[:24] = 225
    for x in range(10, 600, 70):
        s[7:17, x : x + 40] = 30
    return s


@pytest.mark.parametrize("content", gm.CONTENTS)
def test_locate_finds_the_exact_origin_of_every_content(content):
    rng = np.random.default_rng(6)
    offsets = [(0, 24), (1280 - W, 1024 - H)]
    offsets += [(int(rng.integers(0, 1280 - W + 1)), int(rng.integers(24, 1024 - H + 1)))]
    for i, (x, y) in enumerate(offsets):
        s = screen()
        s[y : y + H, x : x + W] = gm.luma(gm.render(content, 1000 + i, W, H))
        assert gm.locate(s) == (x, y)
        assert gm.locate(blur(s, 0.8)) == (x, y)  # a soft picture: still to the pixel


def test_locate_takes_the_top_one_of_stacked_markers():
    """glass.py draws a second marker (content and size) right below the frame's."""
    rgb = gm.render("marked-text", 5, W, H)
    rgb[MH : 2 * MH, :MW] = gm.render_marker(0x020408)[..., None]
    s = screen()
    s[100 : 100 + H, 77 : 77 + W] = gm.luma(rgb)
    assert gm.locate(s) == (77, 100)
    assert gm.decode(s[100 + MH :, 77:]) == 0x020408


@pytest.mark.parametrize("content", gm.CONTENTS)
def test_locate_is_not_fooled_by_content_or_desktop(content):
    assert gm.locate(screen()) is None
    frame = gm.luma(gm.render(content, 321, W, H))
    frame[:MH, :MW] = 200  # the marker gone, the content left
    s = screen()
    s[50 : 50 + H, 100 : 100 + W] = frame
    assert gm.locate(s) is None
    assert gm.locate(np.zeros((10, 10), np.uint8)) is None


def test_locate_is_fast_enough_for_a_whole_screen():
    s = screen()
    s[60 : 60 + H, 200 : 200 + W] = gm.luma(gm.render("marked-motion", 9, W, H))
    start = time.perf_counter()
    assert gm.locate(s) == (200, 60)
    assert time.perf_counter() - start < 1.0


# -- contents ---------------------------------------------------------------------------


@pytest.mark.parametrize("content", gm.CONTENTS)
def test_render_is_deterministic_and_carries_its_marker(content):
    a = gm.render(content, 4321, W, H)
    gm.render(content, 17, W, H)  # whatever was drawn in between
    b = gm.render(content, 4321, W, H)
    assert a.shape == (H, W, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert gm.decode(gm.luma(a)) == 4321
    small = gm.render(content, 3, 300, 200)  # other sizes, even smaller than the marker
    assert small.shape == (200, 300, 3)
    assert gm.render(content, 3, 100, 40).shape == (40, 100, 3)


def test_render_refuses_unknown_contents_and_negative_frames():
    with pytest.raises(ValueError):
        gm.render("marked-nothing", 0, W, H)
    with pytest.raises(ValueError):
        gm.render("marked-ball", -1, W, H)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels that differ, below the marker."""
    return (a[MH:] != b[MH:]).any(-1)


def test_the_ball_moves_over_a_still_background():
    a, b = gm.render("marked-ball", 50, W, H), gm.render("marked-ball", 51, W, H)
    changed = _changed(a, b)
    assert 0 < changed.mean() < 0.1  # the ball only
    ball_a = np.argwhere((a == (236, 112, 36)).all(-1)).mean(0)
    ball_b = np.argwhere((b == (236, 112, 36)).all(-1)).mean(0)
    assert np.hypot(*(ball_b - ball_a)) > 3


def test_the_text_scrolls_up_steadily():
    s = gm.SCROLL
    a, b = gm.render("marked-text", 200, W, H), gm.render("marked-text", 201, W, H)
    assert not np.array_equal(a[MH:], b[MH:])
    assert np.array_equal(b[MH : H - s], a[MH + s : H])
    far = gm.render("marked-text", 200 + 10 * gm.LINE_HEIGHT, W, H)  # 20 lines on
    assert np.array_equal(far[MH : H - 20 * gm.LINE_HEIGHT], a[MH + 20 * gm.LINE_HEIGHT :])
    ink = (a[MH:] == gm.INK).all(-1).mean()
    assert 0.03 < ink < 0.4  # dark words on a light page


def test_the_motion_changes_nearly_every_pixel_smoothly():
    a, b = gm.render("marked-motion", 70, W, H), gm.render("marked-motion", 71, W, H)
    assert _changed(a, b).mean() > 0.9
    # smooth like video, not noise: neighbours differ far less than frames do
    y = gm.luma(a).astype(int)
    assert np.abs(np.diff(y[MH:], axis=1)).mean() < 3


def test_render_is_fast():
    for content in gm.CONTENTS:
        gm.render(content, 0, W, H)  # the static parts cached
        start = time.perf_counter()
        for f in range(1, 11):
            gm.render(content, f, W, H)
        assert (time.perf_counter() - start) / 10 < 0.05, content


# -- quality ----------------------------------------------------------------------------


def test_luma_is_bt601_rounded():
    assert gm.luma(np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], np.uint8)).tolist() == [
        [255, 0, 76]
    ]
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    exact = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.abs(gm.luma(rgb) - exact).max() <= 0.5 + 1e-9
    bgrx = np.concatenate([rgb[..., ::-1], np.zeros((50, 60, 1), np.uint8)], -1)
    assert np.array_equal(gm.luma(bgrx[..., 2::-1]), gm.luma(rgb))  # any strides


def test_psnr_known_values():
    rng = np.random.default_rng(8)
    a = rng.integers(20, 200, (64, 80), dtype=np.uint8)
    assert gm.psnr(a, a) == math.inf
    for d in (1, 5, 50):
        assert gm.psnr(a, a + np.uint8(d)) == pytest.approx(20 * math.log10(255 / d))
    with pytest.raises(ValueError):
        gm.psnr(a, a[1:])


def _ssim_by_the_book(a: np.ndarray, b: np.ndarray) -> float:
    """Every 11x11 window with its Gaussian weights, in float64: slow and plain."""
    g = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
    w = np.outer(g, g) / np.outer(g, g).sum()
    win = np.lib.stride_tricks.sliding_window_view
    x, y = win(a.astype(float), (11, 11)), win(b.astype(float), (11, 11))

    def e(v):
        return (v * w).sum((-1, -2))

    mx, my = e(x), e(y)
    vx, vy, cxy = e(x * x) - mx**2, e(y * y) - my**2, e(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def test_ssim_matches_the_definition():
    rng = np.random.default_rng(9)
    a = gm.luma(gm.render("marked-ball", 3, 96, 70))
    b = noisy(a, 25, rng)
    assert gm.ssim(a, b) == pytest.approx(_ssim_by_the_book(a, b), abs=1e-5)
    assert gm.ssim(a, b) == pytest.approx(gm.ssim(b, a), abs=1e-6)


def test_ssim_known_values():
    rng = np.random.default_rng(10)
    a = gm.luma(gm.render("marked-motion", 12, 200, 150))
    assert gm.ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    c1 = (0.01 * 255) ** 2
    for mx, my in ((100, 100), (100, 140), (10, 240)):
        x, y = np.full((40, 50), mx, np.uint8), np.full((40, 50), my, np.uint8)
        expected = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
        assert gm.ssim(x, y) == pytest.approx(expected, rel=1e-5)
    light, heavy = gm.ssim(a, noisy(a, 10, rng)), gm.ssim(a, noisy(a, 40, rng))
    assert 0 < heavy < light < 1
    with pytest.raises(ValueError):
        gm.ssim(a[:10], a[:10])


def test_ssim_is_fast():
    a = gm.luma(gm.render("marked-motion", 1, W, H))
    b = gm.luma(gm.render("marked-motion", 2, W, H))
    gm.ssim(a, b)
    start = time.perf_counter()
    value = gm.ssim(a, b)
    assert time.perf_counter() - start < 0.3
    assert 0.5 < value < 1


def test_compare_against_the_rebuilt_reference():
    rng = np.random.default_rng(11)
    grabbed = gm.luma(gm.render("marked-text", 90, W, H))
    assert gm.compare(grabbed, "marked-text", 90, W, H) == (math.inf, pytest.approx(1.0))
    damaged = grabbed.copy()
    damaged[:MH, :MW] = 128  # the marker's area is left out
    assert gm.compare(damaged, "marked-text", 90, W, H) == (math.inf, pytest.approx(1.0))
    p, s = gm.compare(noisy(grabbed, 10, rng), "marked-text", 90, W, H)
    assert 20 < p < 60 and 0 < s < 0.99
    p_next, _ = gm.compare(grabbed, "marked-text", 91, W, H)  # the wrong frame
    assert p_next < p
    with pytest.raises(ValueError):
        gm.compare(grabbed[:-1], "marked-text", 90, W, H)
