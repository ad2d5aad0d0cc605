"""The plan (who runs what where) and the masking of secrets."""

from __future__ import annotations

import json

import pytest

from collector.config import load_config
from collector.config.plan import make_plan, read_plan, run_dir_for, write_plan
from collector.config.secrets import MASK, mask_values, scrub, scrub_bytes
from collector.errors import ConfigError, StoreError

GROUPS = {"all": ["h1", "g1", "c1"], "host": ["h1"], "guest": ["g1"], "client": ["c1"]}
RUN_ID = "0b0e7a4e-2f53-4bd7-9a4c-6f3c0e2d9a11"


def config(tmp_path, text: str, secure: str | None = None):
    path = tmp_path / "bench.yaml"
    path.write_text(text + "databases:\n  local: db/bench.db\n")
    if secure is not None:
        (tmp_path / "secure.yaml").write_text(secure)
    return load_config(path)


def test_each_measurement_goes_to_the_hosts_of_its_groups(tmp_path):
    c = config(tmp_path, "measurements:\n  - test: {machine: guest}\n  - system\n")
    plan = make_plan(c, GROUPS, RUN_ID)
    assert plan["run_dir"] == str(run_dir_for(tmp_path / "db" / "bench.db", RUN_ID))
    assert {m["name"]: m["hosts"] for m in plan["measurements"]} == {
        "test": ["g1"],
        "system": ["h1", "g1", "c1"],
    }
    assert [m["name"] for m in plan["hosts"]["g1"]["measurements"]] == ["test", "system"]
    assert plan["hosts"]["g1"]["required_commands"] == {"vmstat": ["test"], "python3": ["system"]}
    assert plan["hosts"]["h1"]["groups"] == ["all", "host"]


def test_a_group_missing_from_the_inventory_is_a_config_error(tmp_path):
    c = config(tmp_path, "measurements:\n  - test: {machine: [guest, client]}\n")
    with pytest.raises(ConfigError, match=r"measurements\[0\]\.test: runs on group 'client', "
                       r"which has no hosts in lab\.yml"):  # fmt: skip
        make_plan(c, {"guest": ["g1"]}, RUN_ID, inventory_name="lab.yml")


def test_secret_options_are_masked_unless_asked_for(tmp_path):
    c = config(
        tmp_path,
        "measurements:\n  - system\n",
        secure="measurements:\n  - system: {python: /opt/secret-python}\n",
    )
    masked = make_plan(c, GROUPS, RUN_ID)
    full = make_plan(c, GROUPS, RUN_ID, with_secrets=True)
    assert masked["hosts"]["h1"]["measurements"][0]["variables"]["system_python"] == MASK
    assert full["hosts"]["h1"]["measurements"][0]["variables"]["system_python"] == (
        "/opt/secret-python"
    )
    write_plan(masked, c, resume=False)
    run_dir = run_dir_for(c.local_database, RUN_ID)
    assert read_plan(run_dir) == json.loads(json.dumps(masked))
    assert "secret-python" not in (run_dir / "plan.json").read_text()
    assert "secret-python" not in (run_dir / "config.json").read_text()
    with pytest.raises(StoreError, match="in use already"):
        write_plan(masked, c, resume=False)
    write_plan(masked, c, resume=True)


def test_a_hosts_preflight_key_follows_its_measurements_and_options_only(tmp_path):
    def keys(text, secure=None, where=tmp_path):
        where.mkdir(exist_ok=True)
        c = config(where, text, secure)
        masked = make_plan(c, GROUPS, RUN_ID)
        full = make_plan(c, GROUPS, RUN_ID, with_secrets=True)
        assert masked["hosts"]["g1"]["preflight_key"] == full["hosts"]["g1"]["preflight_key"]
        return {h: e["preflight_key"] for h, e in full["hosts"].items()}

    base = keys("measurements:\n  - test: {machine: guest}\n  - system\n")
    assert base == keys(
        "measurements:\n  - test: {machine: guest}\n  - system\n", where=tmp_path / "b"
    )
    other = keys(
        "measurements:\n  - test: {machine: guest, interval: 2}\n  - system\n", where=tmp_path / "c"
    )
    assert other["g1"] != base["g1"]  # the guest's options changed
    assert other["h1"] == base["h1"]  # the host's did not
    # a secret is masked before it is digested: changing it changes nothing written
    one = keys(
        "measurements:\n  - system\n",
        "measurements:\n  - system: {python: /opt/a}\n",
        tmp_path / "d",
    )
    two = keys(
        "measurements:\n  - system\n",
        "measurements:\n  - system: {python: /opt/b}\n",
        tmp_path / "e",
    )
    assert one == two


def test_read_plan_of_a_directory_that_is_no_run(tmp_path):
    with pytest.raises(StoreError, match="is not a run directory"):
        read_plan(tmp_path)


def test_masking_and_scrubbing():
    data = {"a": "s3cret-value", "b": ["x", "s3cret-value"], "c": 5, "d": "says s3cret-value"}
    assert mask_values(data, {"s3cret-value"}) == {
        "a": MASK, "b": ["x", MASK], "c": 5, "d": f"says {MASK}",
    }  # fmt: skip
    assert scrub("login pw=hunter22!", {"hunter22!"}) == f"login pw={MASK}"
    # too short to scrub from free text without mangling data
    assert scrub("port 1 of 10", {"1"}) == "port 1 of 10"
    assert scrub_bytes(b"a hunter22! b", {"hunter22!"}) == b"a " + MASK.encode() + b" b"
