"""roles/glass/files/glass.py without a display: the info marker, the samples file, quality."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FILES = Path(__file__).resolve().parents[3] / "roles/glass/files"


@pytest.fixture(scope="module")
def glass():
    sys.path.insert(0, str(FILES))
    try:
        spec = importlib.util.spec_from_file_location("glass_script", FILES / "glass.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(FILES))


@pytest.mark.parametrize("content", ["marked-ball", "marked-text", "marked-motion"])
def test_the_info_marker_says_what_and_how_big(glass, content):
    image = glass.frame_image(content, 1234, 640, 480)
    gm = glass.gm
    gray = gm.luma(image)
    assert gm.decode(gray) == 1234
    assert glass.read_info(gm.decode(gray[gm.MARKER_HEIGHT :])) == (content, 640, 480)
    # on a screen, the frame is found at its origin, not at the info marker below it
    screen = np.full((768, 1024), 40, np.uint8)
    screen[100 : 100 + 480, 37 : 37 + 640] = gray
    assert gm.locate(screen) == (37, 100)


def test_a_frame_measured_against_itself_is_perfect_and_noise_costs(glass):
    gray = glass.gm.luma(glass.frame_image("marked-text", 77, 640, 480))
    assert glass.measure(77, "marked-text", gray) == (float("inf"), pytest.approx(1.0))
    noisy = np.clip(gray + np.random.default_rng(1).normal(0, 8, gray.shape), 0, 255)
    psnr, ssim = glass.measure(77, "marked-text", noisy.astype(np.uint8))
    assert 25 < psnr < 40 and ssim < 0.99
    # measured against the next frame's reference (the text has scrolled), it is far worse
    wrong = glass.measure(78, "marked-text", gray)
    assert wrong[0] < 15 and wrong[1] < 0.7, wrong


def test_samples_round_trip_and_a_cut_last_one_is_dropped(glass):
    class Grabber:
        info = ("marked-ball", 64, 32)

        def __init__(self, frames):
            self.frames = iter(frames)

        def sample(self):
            return next(self.frames)

    pictures = [np.full((32, 64), v, np.uint8) for v in (10, 200)]
    buffer = io.BytesIO()
    grabber = Grabber([(10, 5.5, pictures[0]), (20, 6.5, pictures[1])])
    glass._write_sample(buffer, grabber)
    glass._write_sample(buffer, grabber)
    whole = buffer.getvalue()
    read = list(glass.read_samples(io.BytesIO(whole)))
    assert [(f, t, c) for f, t, c, _ in read] == [
        (10, 5.5, "marked-ball"),
        (20, 6.5, "marked-ball"),
    ]
    assert all((a == b).all() for (*_, a), b in zip(read, pictures, strict=True))
    assert len(list(glass.read_samples(io.BytesIO(whole[:-5])))) == 1


def test_quality_writes_one_line_per_sample_and_takes_a_missing_file(glass, tmp_path):
    gray = glass.gm.luma(glass.frame_image("marked-ball", 30, 320, 240))
    samples = tmp_path / "samples"
    samples.write_bytes(b"30 100.5 marked-ball 320x240\n" + gray.tobytes())
    out = tmp_path / "quality"
    script = [sys.executable, str(FILES / "glass.py"), "quality", "--output", str(out)]
    subprocess.run([*script, "--samples", str(samples)], check=True, timeout=60)
    assert out.read_text() == "30 100.500000 100.000 1.00000\n"
    subprocess.run([*script, "--samples", str(tmp_path / "none")], check=True, timeout=60)
    assert out.read_text() == ""


def test_bad_options_are_refused_with_the_option_named():
    def refused(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(FILES / "glass.py"), *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode != 0
        return result.stderr

    assert "--size 641x480" in refused("play", "--size", "641x480", "--display", ":999")
    assert "--fps 0" in refused("play", "--fps", "0")
    assert "--quality-every 0" in refused("grab", "--quality-every", "0")
    assert "cannot open X display ':999'" in refused("grab", "--display", ":999")
