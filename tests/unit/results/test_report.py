"""Reports of experiments with and without the glass tables, built with the Experiment API.

The glass rows are made the way ingest makes them: ``glass_frames`` by the
measurement's own join of a guest's drawn frames and a client's grabs, with
frames the client never showed and two freezes in it.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from collector.measurements import glass
from collector.results import plots
from collector.results.analysis import open_results
from collector.results.compare import compare
from collector.results.report import experiment_report, sweep_report
from collector.store.experiment import Experiment

START, CLIENT, GUEST = 1000.0, "lab-client", "lab-guest"
GLASS_PLOTS = ("glass_latency", "glass_latency_distribution", "glass_freezes", "glass_quality")
HEADLINE = ("latency_p50_ms", "latency_p95_ms", "shown_fps", "never_shown", "freezes",
            "freeze_total_ms", "psnr_mean_db", "ssim_mean")  # fmt: skip
NEVER_SHOWN = {40, 41, 42, *range(61, 71)}  # the frames before 43 and 71 are held: freezes


def glass_experiment(delay: float = 0.08, *, sweep: str | None = None) -> Experiment:
    """90 frames drawn at 30/s from 0.5 s into the window, grabbed at 60/s ``delay`` later."""
    e = Experiment("glass", started_at=START, ended_at=START + 4, sweep_id=sweep)
    e.set_parameter("glass", "freeze_ms", 100)
    if sweep:
        e.set_parameter("sweep", "measurements/glass/delay", delay)
    drawn = {n: START + 0.5 + n / 30 for n in range(90)}
    appear = sorted((t + delay, n) for n, t in drawn.items() if n not in NEVER_SHOWN)
    grabs = []
    for i in range(int(3.1 * 60)):  # until just after the last frame appeared
        at = START + 0.5 + i / 60
        seen = [n for t, n in appear if t <= at]
        grabs.append((at, seen[-1] if seen else -1))
    guest = e.create_table("workload_frames", ("host", "time", "frame"))
    guest.add_many((GUEST, t, n) for n, t in drawn.items())
    frames = e.create_table("glass_frames", ("host", *glass.FRAME_FIELDS))
    frames.add_many((CLIENT, *row) for row in glass.join(drawn, grabs, 100.0))
    quality = e.create_table("glass_quality", ("host", *glass.QUALITY_FIELDS))
    quality.add_many((CLIENT, START + 0.6 + n / 30, n, 36.0 + n % 3, 0.87 + n % 5 / 1000)
                     for n in range(0, 90, 10))  # fmt: skip
    return e


def plain_experiment() -> Experiment:
    e = Experiment("cpu only", started_at=START, ended_at=START + 4)
    e.set_parameter("test", "interval", 1)
    t = e.create_table("test", ["host", "time", "cpu"])
    t.add_many([(GUEST, START + i, 10.0 + i) for i in range(4)])
    return e


def test_the_synthetic_frames_have_what_the_plots_mark():
    table = glass_experiment().tables["glass_frames"]
    rows = [dict(zip(glass.FRAME_FIELDS, r[1:], strict=True)) for r in table.rows]
    assert {r["frame"] for r in rows if not r["shown"]} == NEVER_SHOWN
    assert [r["frame"] for r in rows if r["frozen"]] == [39, 60]


def test_a_glass_experiment_report_has_the_four_glass_plots(tmp_path):
    db = tmp_path / "bench.db"
    e = glass_experiment()
    e.save(db)
    written = experiment_report(open_results(db), e.uuid, tmp_path / "report")
    names = {p.stem for p in written.plots}
    assert set(GLASS_PLOTS) <= names, names
    html = written.html.read_text()
    for name in GLASS_PLOTS:
        png = tmp_path / "report" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"({name}.png)</figcaption>" in html
    assert 'data-value="13" data-metric="glass.lab-client.never_shown"' in html
    assert 'data-value="2" data-metric="glass.lab-client.freezes"' in html


def test_a_report_without_glass_tables_has_no_glass_plot(tmp_path):
    db = tmp_path / "bench.db"
    e = plain_experiment()
    e.save(db)
    written = experiment_report(open_results(db), e.uuid, tmp_path / "report")
    assert written.plots and not {p.stem for p in written.plots} & set(GLASS_PLOTS)
    assert "glass" not in written.html.read_text()
    assert not list((tmp_path / "report").glob("glass*"))


def test_glass_plots_need_their_tables():
    frames = glass_experiment().tables["glass_frames"]
    assert plots.glass_quality({}, START) is None
    assert plots.glass_latency({}, START) is None
    assert plots.glass_latency_distribution({}) is None
    assert plots.glass_freezes({}, START, 100.0) is None
    table = pd.DataFrame(frames.rows, columns=["host", *glass.FRAME_FIELDS])
    drawn = plots.experiment_plots({"glass_frames": table}, START, 4.0, freeze_ms=250.0)
    assert [p.name for p in drawn] == ["glass_latency", "glass_latency_distribution",
                                       "glass_freezes"]  # fmt: skip


@pytest.fixture
def glass_sweep(tmp_path):
    db = tmp_path / "bench.db"
    uuids = []
    for delay in (0.05, 0.05, 0.2, 0.2):
        e = glass_experiment(delay, sweep="sweep-glass")
        e.set_parameter("sweep", "repetition", len(uuids) % 2 + 1)
        e.save(db)
        uuids.append(e.uuid)
    return db, uuids


def test_a_sweep_report_shows_the_glass_headline_figures(glass_sweep, tmp_path):
    db, _ = glass_sweep
    written = sweep_report(open_results(db), "sweep-glass", tmp_path / "sweep")
    html = written.html.read_text()
    shown = set(re.findall(r'data-metric="[^"|]*\|(glass\.[^"]+)"', html))
    assert shown == {f"glass.{CLIENT}.{f}" for f in HEADLINE}
    # the latency moved with the delay: plotted against it
    assert (tmp_path / "sweep" / f"glass_delay--glass.{CLIENT}.latency_p50_ms.png").exists()


def test_compare_shows_the_glass_headline_figures(glass_sweep):
    _, uuids = glass_sweep
    c = compare(open_results(glass_sweep[0]), uuids[0], uuids[2])
    rows = dict(c.rows)
    assert {m for m in rows if m.startswith("glass.")} == {f"glass.{CLIENT}.{f}" for f in HEADLINE}
    latency = rows[f"glass.{CLIENT}.latency_p50_ms"]
    assert latency.n_a == latency.n_b == 2
    assert latency.mean_b - latency.mean_a == pytest.approx(150, abs=20)


def test_the_frame_rate_plot_shows_the_client_s_drops_per_second():
    drops = pd.DataFrame({
        "host": [CLIENT] * 3, "time": [START + 0.2, START + 0.7, START + 2.5],
        "count": [1, 3, 2],
    })  # fmt: skip
    x, counts = plots._per_second(drops["time"] - START, 4.0, drops["count"].astype(float))
    assert list(counts) == [4, 0, 2, 0] and list(x) == [0.5, 1.5, 2.5, 3.5]
    assert plots.frame_rate({}, START, 4.0) is None
    drawn = plots.frame_rate({"client_drops": drops}, START, 4.0)
    assert drawn is not None and drawn.name == "frame_rate"
