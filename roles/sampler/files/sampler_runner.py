#!/usr/bin/env python3
"""Run one measurement command on a lab machine, on the controller's schedule.

Copied to each machine by the sampler role; standard library only, Python 3.6+.

  arm   daemonise, wait for the run's go file, start the command at the instant
        it names, end the command at the window's end (the watchdog: it needs
        no controller), then write status.json with the command's own CPU time;
        with --specs -, arm every sampler of a JSON list read from stdin at once
  go    write the go file that releases every armed sampler of the machine
  stop  end armed or running samplers now (--dir, repeated, or every one --under
        a directory) and wait for their status.json
  pack  write the named files (or those a pattern names), as a gzipped tar in
        base64, to stdout (the controller fetches a machine's files in one exchange)

The command runs in its own process group and dies with the runner
(PR_SET_PDEATHSIG), so no sampler outlives its experiment.
"""

import argparse
import base64
import contextlib
import glob
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import time

STATUS = "status.json"
RUNNER_PID = "runner.pid"
SAMPLER_PID = "sampler.pid"
POLL = 0.02


def write_json(path, data):
    """Write atomically, so a reader never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (its parent, often init in a container, has not reaped it) is dead.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def die_with_parent():
    """Ask the kernel to kill the command if the runner dies (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Runner:
    def __init__(self, args):
        self.dir = args.dir
        self.go = args.go
        self.command = args.command
        self.environment = dict(os.environ, **getattr(args, "environment", {}))
        self.timestamps = args.timestamps
        self.merge_stderr = args.merge_stderr
        self.lead = args.lead
        self.arm_deadline = time.time() + args.arm_timeout
        self.stop_requested = False
        self.status = {"command": os.path.basename(self.command[0]), "runner_pid": os.getpid()}

    def on_term(self, signum, frame):
        self.stop_requested = True

    def wait_for_go(self):
        while not self.stop_requested:
            go = read_json(self.go)
            if go is not None:
                return go
            if time.time() > self.arm_deadline:
                return None
            time.sleep(POLL)
        return None

    def sleep_until(self, instant):
        while not self.stop_requested:
            left = instant - time.time()
            if left <= 0:
                return True
            time.sleep(min(left, 0.05))
        return False

    def finish(self, end_reason, **extra):
        self.status.update(extra, end_reason=end_reason, ended=time.time())
        write_json(os.path.join(self.dir, STATUS), self.status)

    def run(self):
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGINT, self.on_term)
        go = self.wait_for_go()
        if go is None:
            reason = "stopped_before_start" if self.stop_requested else "never_released"
            return self.finish(reason)
        start_at = go["start_at"] - self.lead
        self.status.update(scheduled_start=start_at, scheduled_end=go["end_at"], lead=self.lead)
        if not self.sleep_until(start_at):
            return self.finish("stopped_before_start")
        self.status["started"] = time.time()
        out_path = os.path.join(self.dir, "output")
        with open(out_path, "wb") as out, open(os.path.join(self.dir, "stderr"), "wb") as err:
            try:
                proc = subprocess.Popen(
                    self.command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if self.timestamps else out,
                    stderr=subprocess.STDOUT if self.merge_stderr else err,
                    start_new_session=True,
                    preexec_fn=die_with_parent,
                    env=self.environment,
                )
            except OSError as e:
                return self.finish("failed_to_start", error=str(e))
            with open(os.path.join(self.dir, SAMPLER_PID), "w") as f:
                f.write(str(proc.pid))
            reason, wait_status, usage = self.supervise(proc, go["end_at"], out)
        self.status.update(
            user_cpu_s=usage.ru_utime,
            sys_cpu_s=usage.ru_stime,
            max_rss_kb=usage.ru_maxrss,
            returncode=os.waitstatus_to_exitcode(wait_status)
            if hasattr(os, "waitstatus_to_exitcode")
            else wait_status,
        )
        return self.finish(reason)

    def supervise(self, proc, end_at, out):
        """Copy output until the window ends, the command exits or stop is asked."""
        pipe = proc.stdout
        pending = b""
        reason = "exited"
        while True:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = wait_status
                break
            if self.stop_requested or time.time() >= end_at:
                reason = "stopped" if self.stop_requested else "window_end"
                break
            timeout = max(0.0, min(0.2, end_at - time.time()))
            if pipe is not None:
                pending = self.copy_lines(pipe, out, pending, timeout)
            else:
                time.sleep(min(timeout, 0.05))
        if not pid:
            pid, wait_status, usage = self.end(proc, pipe, out, pending)
            proc.returncode = wait_status
        elif pipe is not None:
            self.drain(pipe, out, pending)
        return reason, wait_status, usage

    def end(self, proc, pipe, out, pending):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 3
        while True:
            if pipe is not None:
                pending = self.copy_lines(pipe, out, pending, 0.05)
            else:
                time.sleep(0.02)
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                pid, wait_status, usage = os.wait4(proc.pid, 0)
                break
        if pipe is not None:
            self.drain(pipe, out, pending)
        return pid, wait_status, usage

    def copy_lines(self, pipe, out, pending, timeout):
        ready, _, _ = select.select([pipe], [], [], timeout)
        if not ready:
            return pending
        chunk = os.read(pipe.fileno(), 65536)
        if not chunk:
            return pending
        now = b"%.6f " % time.time()
        lines = (pending + chunk).split(b"\n")
        for line in lines[:-1]:
            out.write(now + line + b"\n")
        out.flush()
        return lines[-1]

    def drain(self, pipe, out, pending):
        for _ in range(1000):
            ready, _, _ = select.select([pipe], [], [], 0.05)
            if not ready:
                break
            chunk = os.read(pipe.fileno(), 65536)
            if not chunk:
                break
            pending = self.copy_lines_now(out, pending + chunk)
        if pending:
            out.write(b"%.6f " % time.time() + pending + b"\n")

    def copy_lines_now(self, out, data):
        now = b"%.6f " % time.time()
        lines = data.split(b"\n")
        for line in lines[:-1]:
            out.write(now + line + b"\n")
        return lines[-1]


def daemonize(directory):
    """Detach twice so the runner survives the Ansible task that armed it."""
    ready_r, ready_w = os.pipe()
    if os.fork():
        os.close(ready_w)
        with os.fdopen(ready_r) as r:
            return r.read().strip() == "ok"
    os.close(ready_r)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    log = os.open(os.path.join(directory, "runner.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    with open(os.path.join(directory, RUNNER_PID), "w") as f:
        f.write(str(os.getpid()))
    os.write(ready_w, b"ok\n")
    os.close(ready_w)
    return None


def arm(args):
    """Arm one sampler; returns (ok, message) in the parent, never returns in the daemon."""
    os.makedirs(args.dir, exist_ok=True)
    if not args.command:
        return False, "no command to run"
    exe = args.command[0]
    if shutil.which(exe, path=getattr(args, "environment", {}).get("PATH")) is None:
        return False, "command not found on this machine: %s" % exe
    old = read_pid(os.path.join(args.dir, RUNNER_PID))
    if old and alive(old) and not os.path.exists(os.path.join(args.dir, STATUS)):
        return False, "a sampler is already armed in %s" % args.dir
    for name in (STATUS, SAMPLER_PID, "output", "stderr"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(args.dir, name))
    detached = daemonize(args.dir)
    if detached is None:  # the daemon
        try:
            Runner(args).run()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(args.dir, RUNNER_PID))
        os._exit(0)
    return detached, "" if detached else "the runner did not start"


def cmd_arm(args):
    if args.specs is None:
        ok, message = arm(args)
        if not ok:
            print(message, file=sys.stderr)
            return 127 if message.startswith("command not found") else 1
        print(json.dumps({"armed": True, "dir": args.dir}))
        return 0
    results = []
    for spec in json.load(sys.stdin):
        one = argparse.Namespace(
            dir=spec["dir"],
            go=args.go,
            command=list(spec["command"]),
            environment={str(k): str(v) for k, v in (spec.get("environment") or {}).items()},
            timestamps=bool(spec.get("timestamps")),
            merge_stderr=bool(spec.get("merge_stderr")),
            lead=float(spec.get("lead") or 0),
            arm_timeout=float(spec.get("arm_timeout") or args.arm_timeout),
        )
        try:
            ok, message = arm(one)
        except OSError as e:
            ok, message = False, str(e)
        results.append({"dir": one.dir, "armed": ok, "error": message})
    print(json.dumps({"samplers": results}))
    return 0


def cmd_go(args):
    write_json(args.file, {"start_at": args.start_at, "end_at": args.end_at})
    print(json.dumps({"released": True, "start_at": args.start_at, "now": time.time()}))
    return 0


def sampler_dirs(under):
    """Every sampler directory of a run's directory: those a runner was armed in."""
    try:
        names = sorted(os.listdir(under))
    except FileNotFoundError:
        return []
    return [
        os.path.join(under, n)
        for n in names
        if os.path.exists(os.path.join(under, n, RUNNER_PID))
        or os.path.exists(os.path.join(under, n, STATUS))
    ]


def settle(directory):
    """The state of a sampler that needs no signal, or None when its runner still runs."""
    status_path = os.path.join(directory, STATUS)
    runner = read_pid(os.path.join(directory, RUNNER_PID))
    if not (os.path.exists(status_path) or runner is None or not alive(runner)):
        return None
    state = read_json(status_path)
    if state is None and runner is None:
        return "not_armed"
    if state is None:  # runner died without a status: make sure its command is gone
        kill_group(read_pid(os.path.join(directory, SAMPLER_PID)))
        write_json(status_path, {"end_reason": "runner_lost", "ended": time.time()})
        state = read_json(status_path)
    return state["end_reason"]


def cmd_stop(args):
    """Signal every running sampler first, then wait: they end together, not in turn."""
    dirs = list(args.dir or []) + (sampler_dirs(args.under) if args.under else [])
    states, waiting = {}, {}
    for d in dirs:
        state = settle(d)
        if state is not None:
            states[d] = {"changed": False, "state": state}
            continue
        runner = read_pid(os.path.join(d, RUNNER_PID))
        with contextlib.suppress(ProcessLookupError):
            os.kill(runner, signal.SIGTERM)
        waiting[d] = runner
    deadline = time.time() + args.timeout
    while waiting and time.time() < deadline:
        for d in list(waiting):
            state = read_json(os.path.join(d, STATUS))
            if state is not None:
                states[d] = {"changed": True, "state": state["end_reason"]}
                del waiting[d]
        if waiting:
            time.sleep(POLL)
    for d, runner in waiting.items():
        kill_group(read_pid(os.path.join(d, SAMPLER_PID)))
        with contextlib.suppress(ProcessLookupError):
            os.kill(runner, signal.SIGKILL)
        write_json(os.path.join(d, STATUS), {"end_reason": "killed", "ended": time.time()})
        states[d] = {"changed": True, "state": "killed"}
    if len(dirs) == 1 and not args.under:
        print(json.dumps(states[dirs[0]]))
    else:
        print(
            json.dumps({"changed": any(s["changed"] for s in states.values()), "samplers": states})
        )
    return 0


def packed_names(root, names):
    """Patterns (``dot/*.dot``) are expanded here, so a role need not list a
    directory in a task of its own; nothing outside root is ever named."""
    found = []
    for name in names:
        if any(c in name for c in "*?["):
            matches = sorted(glob.glob(os.path.join(glob.escape(root), name)))
            found += [os.path.relpath(m, root) for m in matches]
        else:
            found.append(name)
    return [n for n in dict.fromkeys(found) if not n.startswith("..") and not os.path.isabs(n)]


def cmd_pack(args):
    """Missing files are left out: a sampler that never started has no output."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for name in packed_names(args.root, args.files):
            path = os.path.join(args.root, name)
            if os.path.isfile(path):
                tar.add(path, arcname=name, recursive=False)
    out = getattr(sys.stdout, "buffer", sys.stdout)
    out.write(base64.b64encode(buffer.getvalue()))
    out.write(b"\n")
    return 0


def kill_group(pgid):
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action")
    arm = sub.add_parser("arm")
    arm.add_argument("--dir")
    arm.add_argument("--specs", choices=["-"], help="arm a JSON list of samplers read from stdin")
    arm.add_argument("--go", required=True)
    arm.add_argument("--timestamps", action="store_true")
    arm.add_argument("--merge-stderr", action="store_true", help="stderr into output too")
    arm.add_argument("--lead", type=float, default=0.0, help="start this many seconds early")
    arm.add_argument("--arm-timeout", type=float, default=600.0)
    arm.add_argument("command", nargs=argparse.REMAINDER)
    go = sub.add_parser("go")
    go.add_argument("--file", required=True)
    go.add_argument("--start-at", type=float, required=True)
    go.add_argument("--end-at", type=float, required=True)
    stop = sub.add_parser("stop")
    stop.add_argument("--dir", action="append")
    stop.add_argument("--under", help="stop every sampler of this run directory")
    stop.add_argument("--timeout", type=float, default=10.0)
    pack = sub.add_parser("pack")
    pack.add_argument("--root", required=True)
    pack.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    if args.action == "arm":
        if args.dir is None and args.specs is None:
            parser.error("arm needs --dir or --specs")
        if args.command and args.command[0] == "--":
            args.command = args.command[1:]
        return cmd_arm(args)
    if args.action == "go":
        return cmd_go(args)
    if args.action == "stop":
        if not args.dir and not args.under:
            parser.error("stop needs --dir or --under")
        return cmd_stop(args)
    if args.action == "pack":
        return cmd_pack(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
