"""Where a run's time went: phase durations from the collector_phases callback's events."""

from __future__ import annotations

from collector.results.summaries import summarize_phases
from collector.running.events import append_event, phase_durations, read_events
from collector.running.sweep import phase_line


def starts(*pairs: tuple[str, float]) -> list[dict]:
    return [{"kind": "phase_start", "phase": p, "time": t} for p, t in pairs]


def test_each_phase_lasts_until_the_next_one_starts_and_plays_of_one_phase_merge():
    events = starts(("plan", 0.0), ("preflight", 1.5), ("setup", 3.0), ("start", 4.0),
                    ("start", 6.0), ("window", 7.0), ("stop", 20.0), ("collect", 22.0),
                    ("save", 25.0))  # fmt: skip
    events.append({"kind": "host", "host": "h", "time": 2.0})  # other events are ignored
    found = phase_durations(events, now=26.25)
    assert found == [
        ("plan", 0.0, 1.5), ("preflight", 1.5, 1.5), ("setup", 3.0, 1.0), ("start", 4.0, 3.0),
        ("window", 7.0, 13.0), ("stop", 20.0, 2.0), ("collect", 22.0, 3.0), ("save", 25.0, 1.25),
    ]  # fmt: skip


def test_a_save_ends_with_its_playbook_not_at_a_later_recover():
    events = starts(("collect", 0.0), ("save", 2.0), ("collect", 500.0), ("save", 503.0))
    events += [{"kind": "playbook_end", "time": 2.5}]
    found = phase_durations(events, now=504.0)
    assert found == [
        ("collect", 0.0, 2.0), ("save", 2.0, 0.5), ("collect", 500.0, 3.0), ("save", 503.0, 1.0),
    ]  # fmt: skip
    assert phase_durations([], now=1.0) == []


def test_the_summary_adds_phases_up_and_calls_everything_but_the_window_overhead():
    records = [{"phase": p, "started": t, "duration_s": d}
               for p, t, d in phase_durations(starts(("setup", 0.0), ("window", 2.0),
                                                     ("collect", 12.0)), now=15.5)]  # fmt: skip
    figures = summarize_phases(records)
    assert figures == {
        "setup_s": 2.0, "window_s": 10.0, "collect_s": 3.5, "total_s": 15.5, "overhead_s": 5.5,
    }  # fmt: skip


def test_the_sweep_line_reads_the_run_directory(tmp_path):
    assert phase_line(tmp_path) == ""
    for event in starts(("setup", 100.0), ("window", 101.0), ("save", 111.0)):
        append_event(tmp_path, event)
    append_event(tmp_path, {"kind": "playbook_end", "time": 111.5})
    assert len(read_events(tmp_path)) == 4
    assert phase_line(tmp_path) == ("time: setup 1.0 s, window 10.0 s, save 0.5 s; overhead 1.5 s")
