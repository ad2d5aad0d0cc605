"""One experiment end to end on this machine, through both ways of running.

Real ansible-playbook and real ansible-runner against the default local
inventory; the database is read back afterwards.
"""

from __future__ import annotations

import pytest

from tests.integration.helpers import (
    collector,
    database,
    events,
    only_experiment,
    playbook,
    processes_of,
    rows,
    run_dir,
    write_config,
)

pytestmark = pytest.mark.integration

MEASUREMENTS = [{"test": {"interval": 1, "machine": "guest"}}, "system"]


@pytest.fixture(scope="module")
def playbook_run(tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp("playbook"), MEASUREMENTS)
    result = playbook("-e", f"config={config}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return config, only_experiment(config), result


@pytest.fixture(scope="module")
def runner_run(tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp("runner"), MEASUREMENTS)
    result = collector("run", "-c", str(config), "-d", "through runner")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return config, only_experiment(config), result


@pytest.mark.parametrize("way", ["playbook_run", "runner_run"])
def test_run_records_an_ok_experiment_with_rows_and_metadata(way, request):
    config, experiment, _ = request.getfixturevalue(way)
    uuid = experiment["uuid"]
    assert experiment["status"] == "ok", experiment["status_detail"]
    assert experiment["duration"] == pytest.approx(3, abs=0.01)
    assert experiment["tables"]["test"] >= 2
    assert experiment["tables"]["system"] >= 2
    test_rows = rows(config, "test", uuid)
    assert {r["host"] for r in test_rows} == {"localhost"}
    assert all(0 <= r["cpu"] <= 100 for r in test_rows)
    window = (experiment["started_at"], experiment["ended_at"])
    assert all(window[0] <= r["time"] <= window[1] + 0.5 for r in test_rows)
    hosts = rows(config, "hosts", uuid)
    assert len(hosts) == 1
    assert hosts[0]["kernel"] and hosts[0]["distribution"] and hosts[0]["cpus"] >= 1
    assert abs(hosts[0]["clock_offset_s"]) < 0.5
    attachments = {(a["name"], a["host"]) for a in experiment["attachments"]}
    assert ("metadata.json", "localhost") in attachments
    assert ("raw/test/output", "localhost") in attachments
    assert {("config.json", None), ("plan.json", None), ("controller.json", None)} <= attachments
    samplers = rows(config, "samplers", uuid)
    assert {s["measurement"] for s in samplers} == {"test", "system"}
    assert all(s["end_reason"] == "window_end" for s in samplers)
    assert all(s["user_cpu_s"] is not None for s in samplers)
    # started together: the same scheduled instant on every sampler
    assert len({round(s["scheduled_start"], 6) for s in samplers}) == 1
    assert max(abs(s["start_skew_s"]) for s in samplers) < 0.5
    params = {(p["measurement"], p["name"]): p["value"] for p in experiment["parameters"]}
    assert params[("test", "interval")] == 1
    assert params[("test", "machine")] == ["guest"]
    assert params[("run", "duration")] == 3
    assert processes_of(uuid) == []
    assert (run_dir(config, uuid) / "raw" / "localhost" / "system" / "output").exists()


def test_both_ways_record_the_same_content(playbook_run, runner_run):
    a_config, a, _ = playbook_run
    b_config, b, _ = runner_run

    def shape(config, e):
        return {
            "tables": sorted(e["tables"]),
            "parameters": sorted(
                (p["measurement"], p["name"], str(p["value"])) for p in e["parameters"]
            ),
            "attachments": sorted((x["name"], x["host"] or "") for x in e["attachments"]),
            "hosts": [
                {k: v for k, v in h.items() if k not in ("clock_offset_s", "clock_uncertainty_s")}
                for h in rows(config, "hosts", e["uuid"])
            ],
            "status": e["status"],
        }

    assert shape(a_config, a) == shape(b_config, b)
    assert b["description"] == "through runner"


def test_cli_list_and_show(runner_run):
    config, experiment, result = runner_run
    assert f"run {experiment['uuid']}" in result.stdout
    assert "== Preflight" in result.stdout
    listed = collector("list", "-c", str(config))
    assert experiment["uuid"] in listed.stdout and "through runner" in listed.stdout
    shown = collector("show", experiment["uuid"][:8], "--db", str(database(config)))
    assert shown.returncode == 0
    assert "status       ok" in shown.stdout
    assert "figures: samplers" in shown.stdout
    as_json = collector("show", experiment["uuid"], "--db", str(database(config)), "--json")
    import json

    data = json.loads(as_json.stdout)
    assert data["uuid"] == experiment["uuid"]
    assert data["figures"]["test"]["localhost"]["samples"] == experiment["tables"]["test"]


def test_a_measurement_failing_in_start(tmp_path):
    config = write_config(tmp_path, [{"test": {"fail_phase": "start"}}, "system"])
    result = collector("run", "-c", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    experiment = only_experiment(config)
    uuid = experiment["uuid"]
    assert experiment["status"] == "partial"
    assert "test on localhost failed in start" in experiment["status_detail"]
    failures = rows(config, "failures", uuid)
    assert [(f["host"], f["measurement"], f["phase"]) for f in failures] == [
        ("localhost", "test", "start")
    ]
    # stop ran for both, the failed one included
    ran = {(e["phase"], m) for e in events(config, uuid) if e["kind"] == "phase"
           for m in e["measurements"]}  # fmt: skip
    assert {m for phase, m in ran if phase == "stop"} == {"test", "system"}
    assert {m for phase, m in ran if phase == "start"} == {"system"}
    assert experiment["tables"]["system"] >= 2
    assert "test" not in experiment["tables"]
    assert processes_of(uuid) == []


def test_a_missing_tool_fails_preflight_naming_host_and_tool(tmp_path):
    config = write_config(tmp_path, [{"test": {"required_commands": ["no-such-tool-xyz"]}}])
    result = collector("run", "-c", str(config))
    assert result.returncode == 1
    experiment = only_experiment(config)
    assert experiment["status"] == "failed"
    assert "missing on localhost: no-such-tool-xyz (needed by test)" in experiment["status_detail"]
    assert "missing on localhost: no-such-tool-xyz" in result.stdout
    # nothing started
    assert not any(e["kind"] == "window" for e in events(config, experiment["uuid"]))
    assert "test" not in experiment["tables"]


def test_an_unreachable_host_fails_preflight_naming_it(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  children:\n    guest:\n      hosts:\n        lab-guest:\n"
        "          ansible_host: 127.0.0.1\n          ansible_port: 1\n"
        "          ansible_connection: ssh\n"
    )
    config = write_config(tmp_path, [{"test": {"machine": "guest"}}])
    result = collector("run", "-c", str(config), "-i", str(inventory))
    assert result.returncode == 1, result.stdout + result.stderr
    experiment = only_experiment(config)
    assert experiment["status"] == "failed"
    assert "lab-guest is unreachable" in experiment["status_detail"]
    assert "without a password prompt" in experiment["status_detail"]
