"""All of one machine's samplers in one exchange per phase (controller side).

Each sampler used to cost an Ansible module run per phase (arm, stop, one
fetch per file): about half a second each, most of an experiment's overhead.
Here one shell command over the task's own connection does a phase's work for
every sampler of the machine, driving roles/sampler/files/sampler_runner.py:

  install  the runner and the measurements' scripts, as one tar on stdin
  arm      every queued sampler, their specs as JSON on stdin (no command line
           carries an environment)
  release  the go file
  stop     every sampler of the run still running, signalled together
  collect  the queued files, as one gzipped tar (base64 on stdout, which also
           works under become), unpacked into the run's raw directory; then
           the run's directory on the machine is removed

A connection failure stays the task's `unreachable`, as with any module.
With `record`, a phase's last exchange also records, once it has succeeded,
which measurements the phase ran for on the host (a `phase` event): a task of
its own per host and phase would cost more than the rest of the phase.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import shlex
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.running.events import append_event

SPEC: dict[str, Any] = {
    "action": {"type": "str", "required": True,
               "choices": ["install", "arm", "release", "stop", "collect"]},
    "dir": {"type": "str", "required": True},
    "python": {"type": "str", "default": "python3"},
    "files": {"type": "list", "elements": "raw", "default": []},
    "samplers": {"type": "list", "elements": "dict", "default": []},
    "names": {"type": "list", "elements": "str", "default": []},
    "start_at": {"type": "float"},
    "end_at": {"type": "float"},
    "timeout": {"type": "float", "default": 10.0},
    "dest": {"type": "str"},
    "keep": {"type": "bool", "default": False},
    # {run_dir, phase, measurements}: the phase event to append after success
    "record": {"type": "dict"},
}  # fmt: skip

RUNNER = "sampler_runner.py"
GO_FILE = "go.json"
RUNNER_SOURCE = Path(__file__).resolve().parents[2] / "roles" / "sampler" / "files" / RUNNER


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=SPEC)
        self._dir = args["dir"].rstrip("/")
        self._python = args["python"]
        handler = getattr(self, "_" + args["action"])
        result.update(handler(args))
        if args["record"] and not result.get("failed"):
            self._record_phase(args["record"], (task_vars or {}).get("inventory_hostname", ""))
        return result

    @staticmethod
    def _record_phase(record: dict[str, Any], host: str) -> None:
        missing = {"run_dir", "phase", "measurements"} - set(record)
        if missing:
            raise AnsibleActionFail(f"record needs {', '.join(sorted(missing))}")
        append_event(Path(record["run_dir"]), {
            "kind": "phase", "host": host, "phase": record["phase"],
            "measurements": list(record["measurements"]),
        })  # fmt: skip

    # -- helpers ---------------------------------------------------------

    def _sh(self, command: str, data: bytes | None = None) -> dict[str, Any]:
        return self._low_level_execute_command(command, sudoable=True, in_data=data)

    def _runner(self, *argv: str) -> str:
        return " ".join(shlex.quote(a) for a in (self._python, f"{self._dir}/{RUNNER}", *argv))

    def _failed(self, what: str, out: dict[str, Any]) -> dict[str, Any]:
        detail = (out.get("stderr") or out.get("stdout") or "").strip()
        return {
            "failed": True,
            "rc": out.get("rc"),
            "msg": f"{what}: {detail or 'rc ' + str(out.get('rc'))}",
        }

    def _json(self, what: str, out: dict[str, Any]) -> dict[str, Any]:
        if out.get("rc") != 0:
            return self._failed(what, out)
        try:
            return json.loads(out["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            return self._failed(what, {**out, "stderr": f"unexpected answer {out['stdout']!r}"})

    # -- phases ----------------------------------------------------------

    def _install(self, args: dict[str, Any]) -> dict[str, Any]:
        """One tar on stdin: the runner, then each {src, dest, mode} (relative src: in `base`)."""
        buffer = io.BytesIO()
        runner = {"src": str(RUNNER_SOURCE), "dest": RUNNER, "mode": "0700"}
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for item in [runner, *args["files"]]:
                if not isinstance(item, dict) or not item.get("src") or not item.get("dest"):
                    raise AnsibleActionFail(f"install: each file needs src and dest, not {item!r}")
                dest = str(item["dest"])
                if dest.startswith("/") or ".." in Path(dest).parts:
                    raise AnsibleActionFail(
                        f"install: dest {dest} must be inside the run's directory"
                    )
                # lexically: `..` may climb out of a role's files/ that does not exist
                src = Path(os.path.normpath(Path(str(item.get("base", "")), str(item["src"]))))
                try:
                    data = src.read_bytes()
                except OSError as e:
                    raise AnsibleActionFail(f"install: cannot read {src}: {e.strerror}") from None
                info = tarfile.TarInfo(dest)
                info.size = len(data)
                info.mode = int(str(item.get("mode", "0600")), 8)
                tar.addfile(info, io.BytesIO(data))
        d = shlex.quote(self._dir)
        out = self._sh(f"mkdir -p {d} && chmod 700 {d} && tar -xpf - -C {d}", buffer.getvalue())
        if out.get("rc") != 0:
            return self._failed(f"cannot install the samplers in {self._dir}", out)
        return {"changed": True, "installed": [RUNNER, *(str(i["dest"]) for i in args["files"])]}

    def _arm(self, args: dict[str, Any]) -> dict[str, Any]:
        """Arm them all; a sampler that cannot be armed fails its measurement, not the task."""
        samplers = args["samplers"]
        began = time.time()
        if not samplers:
            return {"changed": False, "samplers": [], "failed_measurements": {}, "took": 0.0}
        specs = [
            {
                "dir": f"{self._dir}/{s['name']}",
                "command": [str(c) for c in s.get("command") or []],
                "environment": s.get("environment") or {},
                "timestamps": bool(s.get("timestamps")),
                "merge_stderr": bool(s.get("merge_stderr")),
                "lead": float(s.get("lead") or 0),
                "arm_timeout": float(s.get("arm_timeout") or 900),
            }
            for s in samplers
        ]
        arm = self._runner("arm", "--go", f"{self._dir}/{GO_FILE}", "--specs", "-")
        answer = self._json(
            "cannot arm the samplers",
            self._sh(arm, json.dumps(specs).encode()),
        )
        if answer.get("failed"):
            return answer
        armed, failed = [], {}
        for sampler, state in zip(samplers, answer.get("samplers", []), strict=False):
            owner = sampler.get("measurement") or sampler["name"]
            armed.append({"name": sampler["name"], "measurement": owner, **state})
            if not state.get("armed"):
                failed.setdefault(owner, f"sampler {sampler['name']}: {state.get('error')}")
        # the go file's exchange takes about as long: the start's lead is sized on it
        took = time.time() - began
        return {"changed": True, "samplers": armed, "failed_measurements": failed, "took": took}

    def _release(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("start_at") is None or args.get("end_at") is None:
            raise AnsibleActionFail("release needs start_at and end_at")
        go = self._runner(
            "go", "--file", f"{self._dir}/{GO_FILE}",
            "--start-at", repr(args["start_at"]), "--end-at", repr(args["end_at"]),
        )  # fmt: skip
        answer = self._json("cannot release the samplers", self._sh(go))
        return answer if answer.get("failed") else {"changed": True, **answer}

    def _stop(self, args: dict[str, Any]) -> dict[str, Any]:
        """Named samplers, or every one of the run; a machine never set up has none."""
        names = args["names"]
        where = [a for n in names for a in ("--dir", f"{self._dir}/{n}")] or ["--under", self._dir]
        d = shlex.quote(self._dir)
        stop = self._runner("stop", "--timeout", str(args["timeout"]), *where)
        answer = self._json(
            "cannot stop the samplers",
            self._sh(f"if [ -f {d}/{RUNNER} ]; then {stop}; else echo '{{}}'; fi"),
        )
        if answer.get("failed"):
            return answer
        if "state" in answer:  # the runner's answer for a single --dir
            answer = {"changed": answer["changed"], "samplers": {f"{self._dir}/{names[0]}": answer}}
        states = {Path(k).name: v.get("state") for k, v in answer.get("samplers", {}).items()}
        return {"changed": bool(answer.get("changed")), "samplers": states}

    def _collect(self, args: dict[str, Any]) -> dict[str, Any]:
        """Fetch first, remove after: files leave the machine only once they are here."""
        if not args.get("dest"):
            raise AnsibleActionFail("collect needs dest (the run's raw directory for this host)")
        files = sorted({str(f) for f in args["files"]})
        fetched: list[str] = []
        if files:
            d = shlex.quote(self._dir)
            pack = self._runner("pack", "--root", self._dir, *files)
            out = self._sh(f"if [ -f {d}/{RUNNER} ]; then {pack}; fi")
            if out.get("rc") != 0:
                return self._failed(f"cannot pack the files of {self._dir}", out)
            encoded = out.get("stdout", "").strip()
            if encoded:
                try:
                    fetched = unpack(base64.b64decode(encoded, validate=True), Path(args["dest"]))
                except (binascii.Error, tarfile.TarError, OSError) as e:
                    return {"failed": True, "msg": f"cannot unpack the files of {self._dir}: {e}"}
        removed = False
        if not args["keep"]:
            # best effort: leftovers in /tmp must not fail a run whose data is safe
            removed = self._sh(f"rm -rf {shlex.quote(self._dir)}").get("rc") == 0
        return {"changed": bool(fetched) or removed, "fetched": fetched, "removed": removed}


def unpack(archive: bytes, dest: Path) -> list[str]:
    """Regular files only, each inside dest (tarfile's data filter refuses the rest)."""
    names = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        dest.mkdir(parents=True, exist_ok=True)
        tar.extractall(dest, members=members, filter="data")
        names = [m.name for m in members]
    return names
