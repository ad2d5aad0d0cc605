"""Measure a host's clock offset against the controller, and describe the host (controller side).

One exec over the task's own connection first: it is what reports an
unreachable host or a refused host key, as preflight expects. With
``describe``, that exec is playbooks/phases/files/host_info.py on the host's
Python (on stdin): the host's description and the commands its measurements
need that are missing come back with its clock reading, so preflight spends
one exchange per host on both (each exchange is most of half a second). Then many quick
request/reply rounds over one channel kept open to the host (the ssh command
Ansible itself would run, reusing its ControlPersist master; a local process
for ``local``): each round's uncertainty is half its round trip, a fraction
of a millisecond where an SSH exec costs tens. Where no such channel can be
had (another connection type, a password, the channel failing) a few exec
rounds give the old, larger uncertainty, and ``fallback_reason`` says why.
The NTP-style arithmetic is collector/running/clock.py.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.running.clock import RESPONDER, ClockEstimate, Round, estimate, measure

EXEC_ROUNDS = 5
COMMAND = "date +%s.%N 2>/dev/null || python3 -c 'import time; print(time.time())'"
HOST_INFO = Path(__file__).resolve().parents[2] / "playbooks" / "phases" / "files" / "host_info.py"
ARGUMENTS = {
    "describe": {"type": "bool", "default": False},
    # the host's Python (for the responder, and the description)
    "python": {"type": "str", "default": "python3"},
    # with describe: the commands to look for
    "commands": {"type": "list", "elements": "str", "default": []},
}

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        # Not caught: a connection failure here is the task's `unreachable`.
        if args["describe"]:
            described = self._describe(args["python"], args["commands"])
            if isinstance(described, str):
                result.update(failed=True, msg=described)
                return result
            first, info = described
            result.update(missing=info.pop("missing", []), info=info)
        else:
            first = self._exec_round()
            if isinstance(first, str):
                result.update(failed=True, msg=first)
                return result
        argv = self._channel(args["python"])
        found = measure(argv) if isinstance(argv, list) else argv
        method = "exchange"
        if isinstance(found, str):
            display.vvv(f"collector_clock: exec rounds instead ({found})", host=self._host())
            result["fallback_reason"] = found
            method = "exec"
            found = self._exec_estimate(first)
        if isinstance(found, str):
            result.update(failed=True, msg=found)
            return result
        result.update(changed=False, method=method, **found.as_result())
        return result

    def _option(self, name: str):
        try:
            return self._connection.get_option(name)
        except KeyError:  # not an option of this connection, or of this ansible-core
            return None

    def _host(self) -> str:
        return self._option("host") or self._play_context.remote_addr

    def _exec_round(self) -> Round | str:
        before = time.time()
        out = self._low_level_execute_command(COMMAND, sudoable=False)
        after = time.time()
        if out.get("rc") != 0:
            return f"cannot read the clock: {out.get('stderr', '')}"
        try:
            remote = float(out["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            return f"unexpected clock reading {out['stdout']!r}"
        return Round(before, remote, remote, after)

    def _describe(self, python: str, commands: list[str]) -> tuple[Round, dict] | str:
        command = " ".join(shlex.quote(a) for a in (python, "-", *commands))
        before = time.time()
        out = self._low_level_execute_command(
            command, sudoable=False, in_data=HOST_INFO.read_bytes()
        )
        after = time.time()
        if out.get("rc") != 0:
            detail = (out.get("stderr") or out.get("stdout") or "").strip() or f"rc {out.get('rc')}"
            return f"cannot describe the host with {python}: {detail}"
        try:
            info = json.loads(out["stdout"].strip().splitlines()[-1])
            remote = float(info.pop("time"))
        except (ValueError, IndexError, KeyError, TypeError):
            return f"unexpected host description {out['stdout'][:200]!r}"
        return Round(before, remote, remote, after), info

    def _exec_estimate(self, first: Round) -> ClockEstimate | str:
        rounds = [first]
        for _ in range(EXEC_ROUNDS - 1):
            got = self._exec_round()
            if isinstance(got, str):
                return got
            rounds.append(got)
        return estimate(rounds)

    def _channel(self, python: str) -> list[str | bytes] | str:
        """The command that runs the responder on the host; else why there is none."""
        conn = self._connection
        if conn.transport == "local":
            return [sys.executable, "-u", "-c", RESPONDER]
        if conn.transport != "ssh":
            return f"the {conn.transport} connection cannot keep a channel open"
        if self._option("password") or self._play_context.password:
            # sshpass or SSH_ASKPASS would have to be fed the password; exec does that.
            return "the connection logs in with a password"
        if self._option("pkcs11_provider"):
            return "the connection uses a PKCS#11 provider"
        remote = f"{shlex.quote(python)} -u -c {shlex.quote(RESPONDER)}"
        try:
            # The very command the ssh plugin runs for this host (user, port, key,
            # ssh_args, ControlPath), so the master the exec above opened is reused.
            argv = conn._build_command(
                self._option("ssh_executable") or "ssh", "ssh", "-T", self._host(), remote
            )
        except Exception as e:  # whatever the plugin refuses, exec still works
            return f"cannot build the ssh command: {e}"
        if argv and argv[0] == b"sshpass":
            return "the connection logs in with a password"
        return list(argv)
