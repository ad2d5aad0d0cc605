"""The glass measurement's parsers and join, on real lab output (tests/fixtures/glass/)."""

from __future__ import annotations

from itertools import pairwise
from statistics import median

import pytest

from collector.measurements import glass, workload
from collector.store.experiment import Experiment


def drawn(text: str) -> dict[int, float]:
    return {frame: t for t, frame in workload.parse(text)["workload_frames"].rows}


def test_the_guest_s_frame_log_is_read(fixture_text):
    parsed = workload.parse(fixture_text("glass/workload.txt"))
    assert parsed["workload_content"].rows == [("marked-ball", 640, 480, 30.0)]
    frames = parsed["workload_frames"].rows
    assert [f for _, f in frames] == list(range(len(frames)))
    assert all(b[0] > a[0] for a, b in pairwise(frames))
    # a gst-launch workload prints nothing of the kind: no rows, no error
    assert workload.parse("Setting pipeline to PLAYING ...\n")["workload_frames"].rows == []


def test_the_client_s_reads_and_where_the_frame_was_found(fixture_text):
    parsed = glass.parse_grabs(fixture_text("glass/grabs.txt"))
    assert parsed["glass_found"].rows[0][1:] == ("marked-ball", 640, 480, 5, 51)
    grabs = parsed["glass_grabs"].rows
    span = grabs[-1][0] - grabs[0][0]
    assert (len(grabs) - 1) / span == pytest.approx(60, rel=0.05)  # the grab rate asked for
    assert all(frame >= -2 for _, frame in grabs)


def test_join_times_every_frame_between_the_first_and_last_read(fixture_text):
    guest = drawn(fixture_text("glass/workload.txt"))
    grabs = glass.parse_grabs(fixture_text("glass/grabs.txt"))["glass_grabs"].rows
    rows = glass.join(guest, grabs)
    fields = glass.FRAME_FIELDS
    records = [dict(zip(fields, r, strict=True)) for r in rows]
    read = sorted({f for _, f in grabs if f >= 0})
    assert [r["frame"] for r in records] == list(range(read[0], read[-1] + 1))
    for r in records:
        if r["shown"]:
            assert r["latency_ms"] == pytest.approx((r["client_time"] - r["guest_time"]) * 1000)
            assert r["grabs"] >= 1 and r["repeats"] == 0
        else:
            assert r["client_time"] is None and r["latency_ms"] is None and r["grabs"] == 0
    # uncapped: every frame shown, about 400 ms behind (spice-gtk's playback delay)
    assert all(r["shown"] for r in records)
    assert 350 < median(r["latency_ms"] for r in records) < 500
    # a frame is held until the next one appears: about one frame interval at 30 fps
    assert median(r["held_ms"] for r in records[:-1]) == pytest.approx(33.3, abs=5)


def test_a_capped_run_has_frames_never_shown_and_freezes(fixture_text):
    guest = drawn(fixture_text("glass/workload-capped.txt"))
    grabs = glass.parse_grabs(fixture_text("glass/grabs-capped.txt"))["glass_grabs"].rows
    rows = glass.join(guest, grabs, freeze_ms=100)
    records = [dict(zip(glass.FRAME_FIELDS, r, strict=True)) for r in rows]
    figures = glass.summarize([{"host": "c", **r} for r in records], [])["c"]
    assert figures["never_shown"] > figures["shown"] > 0
    assert figures["freezes"] == sum(r["frozen"] or 0 for r in records) > 0
    assert figures["freeze_longest_ms"] > 1000
    assert figures["psnr_mean_db"] is None  # no quality rows given
    # a higher threshold counts fewer freezes
    fewer = glass.join(guest, grabs, freeze_ms=1000)
    assert sum(r[-1] or 0 for r in fewer) < figures["freezes"]


def test_reads_are_first_appearances_repeats_and_unreadables():
    guest = {1: 10.0, 2: 10.033, 3: 10.066, 4: 10.1}
    grabs = [(10.2, 1), (10.21, -1), (10.22, 1), (10.25, 3), (10.26, 2), (10.27, 3), (10.3, -2)]
    rows = {r[0]: r for r in glass.join(guest, grabs)}
    assert set(rows) == {1, 2, 3}  # 4 was drawn after the last read: not judged
    assert rows[1][2] == 10.2 and rows[1][5] == 2  # first read, two grabs (the -1 between)
    assert rows[2][4] == 1 and rows[3][6] == 1  # 3 came back after 2: one repeat
    assert rows[1][3] == pytest.approx(200.0)
    assert glass.join(guest, [(1.0, -1), (1.1, -2)]) == []


def test_quality_rows_and_their_summary(fixture_text):
    quality = glass.parse_quality(fixture_text("glass/quality.txt"))["glass_quality"].rows
    assert quality and all(f % 10 == 0 for _, f, _, _ in quality)
    assert all(25 < psnr <= 100 and 0 < ssim <= 1 for _, _, psnr, ssim in quality)
    records = [dict(zip(glass.QUALITY_FIELDS, q, strict=True), host="c") for q in quality]
    frame = {
        "host": "c",
        **dict(zip(glass.FRAME_FIELDS, (1, 1.0, 1.4, 400.0, 1, 2, 0, 33.0, 0), strict=True)),
    }
    figures = glass.summarize([frame], records)["c"]
    assert figures["psnr_mean_db"] == pytest.approx(
        sum(q[2] for q in quality) / len(quality), abs=0.01
    )


def test_derive_adds_glass_frames_and_drops_the_reads(fixture_text):
    experiment = Experiment("t")
    experiment.create_table("workload_frames", ("host", *workload.FRAME_FIELDS)).add_many(
        ("lab-guest", *r)
        for r in workload.parse(fixture_text("glass/workload.txt"))["workload_frames"].rows
    )
    experiment.create_table("glass_grabs", ("host", *glass.GRAB_FIELDS)).add_many(
        ("lab-client", *r)
        for r in glass.parse_grabs(fixture_text("glass/grabs.txt"))["glass_grabs"].rows
    )
    experiment.set_parameter("glass", "freeze_ms", 20)
    glass.derive(experiment)
    assert "glass_grabs" not in experiment.tables
    frames = experiment.tables["glass_frames"]
    assert frames.fields == ("host", *glass.FRAME_FIELDS)
    assert {r[0] for r in frames.rows} == {"lab-client"}
    # the run's freeze_ms is the threshold: at 20 ms, most 30 fps intervals are freezes,
    # at the default 100 ms, none of this uncapped run's are
    assert sum(r[-1] or 0 for r in frames.rows) > 0.7 * len(frames.rows)
    assert sum(r[-1] or 0 for r in glass.join(*_sides(fixture_text))) == 0


def _sides(fixture_text) -> tuple[dict[int, float], list[tuple[float, int]]]:
    guest = drawn(fixture_text("glass/workload.txt"))
    return guest, glass.parse_grabs(fixture_text("glass/grabs.txt"))["glass_grabs"].rows


def test_a_screen_frozen_to_the_end_counts_its_freeze_and_the_frames_it_hid():
    guest = {n: 10.0 + n / 30 for n in range(300)}  # 10 s of frames at 30 fps
    grabs = [(10.5, 1), (10.55, 2)] + [(10.6 + k / 60, 2) for k in range(540)]  # then frozen
    rows = [dict(zip(glass.FRAME_FIELDS, r, strict=True)) for r in glass.join(guest, grabs)]
    last = grabs[-1][0]
    frozen = next(r for r in rows if r["frame"] == 2)
    assert frozen["held_ms"] == pytest.approx((last - 10.55) * 1000) and frozen["frozen"] == 1
    # judged: up to the largest latency seen (frame 2's, 483 ms) before the last grab
    allowance = max(10.5 - guest[1], 10.55 - guest[2])
    hidden = [r["frame"] for r in rows if not r["shown"]]
    assert hidden == [n for n in range(3, 300) if guest[n] <= last - allowance]
    figures = glass.summarize([{"host": "c", **r} for r in rows], [])["c"]
    assert figures["shown"] == 2 and figures["never_shown"] == len(hidden) > 200
    assert figures["shown_fps"] == pytest.approx(2 / (last - 10.5), abs=0.005)
    assert figures["freezes"] == 1 and figures["freeze_longest_ms"] > 8000
