#!/usr/bin/env python3
"""The imperative half of the SPICE lab: namespaces, links, daemons.

Every subcommand is idempotent and prints one JSON object, so the lab role's
tasks can call it twice and report changed/unchanged honestly.

  plan        choose (once) the private subnets and X displays, keep them in state.json
  net-up      bridge + one namespace per machine (host, guest, client) + host-client link
  spawn       start a daemon inside a namespace, detached, with a pid file
  wait        wait for a TCP port or a path to appear
  down        close ssh control masters, kill everything in the namespaces, remove all
  status      what exists and what runs
"""

import argparse
import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

MACHINES = ("host", "guest", "client")
# Last octet of each machine on the management subnet; the bridge is .1.
OCTET = {"host": 11, "guest": 12, "client": 13}


def sh(*argv, check=True, ns=None):
    if ns:
        argv = ("ip", "netns", "exec", ns, *argv)
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and out.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv), out.stderr.strip()))
    return out


def emit(**data):
    print(json.dumps(data, sort_keys=True))


def load_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def used_networks():
    nets = []
    for family in ("-4",):
        for line in sh(
            "ip", family, "route", "show", "table", "all", check=False
        ).stdout.splitlines():
            word = line.split()[0] if line.split() else ""
            if word in ("default", "broadcast", "local", "unreachable"):
                continue
            with contextlib.suppress(ValueError):
                nets.append(ipaddress.ip_network(word, strict=False))
        for line in sh("ip", family, "-o", "addr", "show", check=False).stdout.splitlines():
            parts = line.split()
            if "inet" in parts:
                nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    return nets


def display_free(n):
    return not (os.path.exists("/tmp/.X%d-lock" % n) or os.path.exists("/tmp/.X11-unix/X%d" % n))


def cmd_plan(args):
    state = load_state(args.state)
    if state is not None:
        if state["prefix"] != args.prefix:
            raise SystemExit(
                "this lab is up with the prefix %s, not %s: take it down first"
                % (state["prefix"], args.prefix)
            )
        return emit(changed=False, **state)
    # Without our state, namespaces of these names belong to another lab.
    existing = sh("ip", "netns", "list").stdout.split()
    taken = ["%s-%s" % (args.prefix, m) for m in MACHINES if "%s-%s" % (args.prefix, m) in existing]
    if taken or link_exists("%s-br0" % args.prefix):
        raise SystemExit(
            "%s already exist(s) but this lab directory has no state: another lab (or one "
            "whose files were removed) uses the prefix %s; take it down there, delete them "
            "(ip netns del NAME, ip link del %s-br0), or set lab_prefix"
            % (", ".join(taken or ["%s-br0" % args.prefix]), args.prefix, args.prefix)
        )
    used = used_networks()
    free = []
    for candidate in args.candidates.split(","):
        net = ipaddress.ip_network(candidate)
        if not any(net.overlaps(u) for u in used):
            free.append(net)
    if len(free) < 2:
        raise SystemExit(
            "no free private subnet among %s: every one overlaps a route or "
            "address of this machine; pass others in lab_subnets" % args.candidates
        )
    displays = [n for n in range(args.first_display, args.first_display + 60) if display_free(n)]
    if len(displays) < 2:
        raise SystemExit("no free X display numbers from :%d" % args.first_display)
    mgmt, link = free[0], free[1]
    hosts = list(mgmt.hosts())
    link_hosts = list(link.hosts())
    state = {
        "prefix": args.prefix,
        "management": str(mgmt),
        "bridge": "%s-br0" % args.prefix,
        "bridge_address": str(hosts[0]),
        "addresses": {m: str(hosts[OCTET[m] - 1]) for m in MACHINES},
        "namespaces": {m: "%s-%s" % (args.prefix, m) for m in MACHINES},
        "link": str(link),
        "link_addresses": {"host": str(link_hosts[0]), "client": str(link_hosts[1])},
        "spice_display": displays[0],
        "client_display": displays[1],
    }
    save_state(args.state, state)
    emit(changed=True, **state)


def link_exists(name, ns=None):
    return sh("ip", "link", "show", name, check=False, ns=ns).returncode == 0


def ensure_veth_into_ns(root_name, ns, inner_name, temp_name):
    """A veth pair: root_name stays here, the peer becomes inner_name inside ns."""
    if link_exists(inner_name, ns=ns):
        return False
    for stale in (root_name, temp_name):
        if link_exists(stale):
            sh("ip", "link", "del", stale)
    sh("ip", "link", "add", root_name, "type", "veth", "peer", "name", temp_name)
    sh("ip", "link", "set", temp_name, "netns", ns)
    sh("ip", "link", "set", temp_name, "name", inner_name, ns=ns)
    return True


def cmd_net_up(args):
    s = load_state(args.state)
    changed = False
    prefix_len = ipaddress.ip_network(s["management"]).prefixlen
    link_len = ipaddress.ip_network(s["link"]).prefixlen
    if not link_exists(s["bridge"]):
        sh("ip", "link", "add", s["bridge"], "type", "bridge")
        changed = True
    if s["bridge_address"] not in sh("ip", "-4", "-o", "addr", "show", s["bridge"]).stdout:
        sh("ip", "addr", "add", "%s/%d" % (s["bridge_address"], prefix_len), "dev", s["bridge"])
        changed = True
    sh("ip", "link", "set", s["bridge"], "up")
    existing = sh("ip", "netns", "list").stdout.split()
    for m in MACHINES:
        ns = s["namespaces"][m]
        if ns not in existing:
            sh("ip", "netns", "add", ns)
            changed = True
        sh("ip", "link", "set", "lo", "up", ns=ns)
        root = "%s-%s" % (s["prefix"], m[0])
        if ensure_veth_into_ns(root, ns, "lab0", "%s-%st" % (s["prefix"], m[0])):
            changed = True
        sh("ip", "link", "set", root, "master", s["bridge"])
        sh("ip", "link", "set", root, "up")
        if s["addresses"][m] not in sh("ip", "-4", "-o", "addr", "show", "lab0", ns=ns).stdout:
            sh("ip", "addr", "add", "%s/%d" % (s["addresses"][m], prefix_len), "dev", "lab0", ns=ns)
        sh("ip", "link", "set", "lab0", "up", ns=ns)
    # The host-client link that carries SPICE, and where bandwidth is capped.
    host_ns, client_ns = s["namespaces"]["host"], s["namespaces"]["client"]
    if not link_exists("spice0", ns=host_ns):
        for stale in ("%s-sph" % s["prefix"], "%s-spc" % s["prefix"]):
            if link_exists(stale):
                sh("ip", "link", "del", stale)
        if link_exists("spice0", ns=client_ns):
            sh("ip", "link", "del", "spice0", ns=client_ns)
        sh(
            "ip",
            "link",
            "add",
            "%s-sph" % s["prefix"],
            "type",
            "veth",
            "peer",
            "name",
            "%s-spc" % s["prefix"],
        )
        sh("ip", "link", "set", "%s-sph" % s["prefix"], "netns", host_ns)
        sh("ip", "link", "set", "%s-spc" % s["prefix"], "netns", client_ns)
        sh("ip", "link", "set", "%s-sph" % s["prefix"], "name", "spice0", ns=host_ns)
        sh("ip", "link", "set", "%s-spc" % s["prefix"], "name", "spice0", ns=client_ns)
        changed = True
    for m, ns in (("host", host_ns), ("client", client_ns)):
        address = s["link_addresses"][m]
        if address not in sh("ip", "-4", "-o", "addr", "show", "spice0", ns=ns).stdout:
            sh("ip", "addr", "add", "%s/%d" % (address, link_len), "dev", "spice0", ns=ns)
        sh("ip", "link", "set", "spice0", "up", ns=ns)
    emit(changed=changed)


def remove(path):
    """Unlink, if still there: a dying ssh master or X server may beat us to it."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def running(pid):
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def clear_stale_display(display):
    """An X server that died leaves its lock and socket, and the next one refuses to start."""
    lock = "/tmp/.X%d-lock" % display
    if os.path.exists(lock) and not running(read_pid(lock)):
        for path in (lock, "/tmp/.X11-unix/X%d" % display):
            remove(path)


def cmd_spawn(args):
    """Start a daemon in a namespace unless its pid file names a live process."""
    if running(read_pid(args.pidfile)):
        return emit(changed=False, pid=read_pid(args.pidfile))
    if args.display is not None:
        clear_stale_display(args.display)
    env = dict(os.environ)
    for pair in args.env or []:
        key, _, value = pair.partition("=")
        env[key] = value
    argv = ["ip", "netns", "exec", args.ns, *args.command]
    with open(args.log, "ab") as log, open(os.devnull, "rb") as null:
        proc = subprocess.Popen(
            argv, stdin=null, stdout=log, stderr=log, env=env, start_new_session=True
        )
    if not args.self_pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(proc.pid))
    time.sleep(0.3)
    if proc.poll() is not None and not args.self_pidfile:
        raise SystemExit(
            "%s exited at once with %s; see %s" % (args.command[0], proc.returncode, args.log)
        )
    emit(changed=True, pid=proc.pid)


def cmd_wait(args):
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        if args.path and os.path.exists(args.path):
            return emit(changed=False, ready=True)
        # A daemon slower to fail than spawn's first look: say so now, not at the timeout.
        if args.pidfile and not running(read_pid(args.pidfile)):
            raise SystemExit(
                "%s exited before it was ready; see %s" % (args.name or args.pidfile, args.log)
            )
        if args.port:
            probe = [
                "python3",
                "-c",
                "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)",
                args.host,
                str(args.port),
            ]
            if sh(*probe, check=False, ns=args.ns).returncode == 0:
                return emit(changed=False, ready=True)
        time.sleep(0.1)
    what = args.path or "%s:%s" % (args.host, args.port)
    raise SystemExit(
        "%s not ready after %ss%s" % (what, args.timeout, "; see " + args.log if args.log else "")
    )


def close_masters(control_dir):
    closed = 0
    if not os.path.isdir(control_dir):
        return closed
    for name in os.listdir(control_dir):
        path = os.path.join(control_dir, name)
        sh("ssh", "-o", "ControlPath=" + path, "-O", "exit", "lab", check=False)
        remove(path)
        closed += 1
    # Masters whose socket is already gone still hold a session in a namespace.
    for pid in pids_matching(control_dir):
        kill(pid)
    return closed


def pids_matching(text):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry))
    return found


def kill(pid, sig=signal.SIGTERM):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def ns_pids(ns):
    return [int(p) for p in sh("ip", "netns", "pids", ns, check=False).stdout.split()]


def cmd_down(args):
    s = load_state(args.state)
    closed = close_masters(args.control_dir)
    killed = 0
    for pidfile in args.pidfile or []:
        pid = read_pid(pidfile)
        if running(pid):
            kill(pid)
            killed += 1
    if s:
        namespaces = list(s["namespaces"].values())
        existing = sh("ip", "netns", "list").stdout.split()
        for ns in namespaces:
            if ns in existing:
                for pid in ns_pids(ns):
                    kill(pid)
                    killed += 1
        deadline = time.time() + 10
        while time.time() < deadline and any(
            running(p) for ns in namespaces if ns in existing for p in ns_pids(ns)
        ):
            time.sleep(0.1)
        for ns in namespaces:
            if ns in existing:
                for pid in ns_pids(ns):
                    kill(pid, signal.SIGKILL)
                sh("ip", "netns", "del", ns, check=False)
        leftovers = (
            [s["bridge"]]
            + ["%s-%s" % (s["prefix"], m[0]) for m in MACHINES]
            + ["%s-%st" % (s["prefix"], m[0]) for m in MACHINES]
            + ["%s-sph" % s["prefix"], "%s-spc" % s["prefix"]]
        )
        for name in leftovers:
            if link_exists(name):
                sh("ip", "link", "del", name, check=False)
        for display in (s["spice_display"], s["client_display"]):
            for path in ("/tmp/.X%d-lock" % display, "/tmp/.X11-unix/X%d" % display):
                remove(path)
        remove(args.state)
    for pidfile in args.pidfile or []:
        remove(pidfile)
    emit(changed=bool(s or closed or killed), masters_closed=closed, killed=killed)


def cmd_status(args):
    s = load_state(args.state)
    if s is None:
        return emit(up=False, namespaces={}, processes={})
    existing = sh("ip", "netns", "list").stdout.split()
    namespaces = {m: ns in existing for m, ns in s["namespaces"].items()}
    processes = {}
    for pidfile in args.pidfile or []:
        name = os.path.basename(pidfile).rsplit(".", 1)[0]
        processes[name] = running(read_pid(pidfile))
    up = all(namespaces.values()) and all(processes.values())
    emit(up=up, namespaces=namespaces, processes=processes, state=s)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd")
    plan = sub.add_parser("plan")
    plan.add_argument("--state", required=True)
    plan.add_argument("--prefix", default="sbl")
    plan.add_argument("--candidates", required=True)
    plan.add_argument("--first-display", type=int, default=70)
    net = sub.add_parser("net-up")
    net.add_argument("--state", required=True)
    spawn = sub.add_parser("spawn")
    spawn.add_argument("--ns", required=True)
    spawn.add_argument("--pidfile", required=True)
    spawn.add_argument(
        "--self-pidfile", action="store_true", help="the daemon writes the pid file itself"
    )
    spawn.add_argument("--log", required=True)
    spawn.add_argument("--display", type=int, help="X display this daemon serves")
    spawn.add_argument("--env", action="append")
    spawn.add_argument("command", nargs=argparse.REMAINDER)
    wait = sub.add_parser("wait")
    wait.add_argument("--ns")
    wait.add_argument("--host", default="127.0.0.1")
    wait.add_argument("--port", type=int)
    wait.add_argument("--path")
    wait.add_argument("--log")
    wait.add_argument("--timeout", type=float, default=20)
    wait.add_argument("--pidfile", help="the daemon's pid file: fail at once if it is gone")
    wait.add_argument("--name", help="the daemon's name, for messages")
    down = sub.add_parser("down")
    down.add_argument("--state", required=True)
    down.add_argument("--control-dir", required=True)
    down.add_argument("--pidfile", action="append")
    status = sub.add_parser("status")
    status.add_argument("--state", required=True)
    status.add_argument("--pidfile", action="append")
    args = p.parse_args()
    if getattr(args, "command", None) and args.command[0] == "--":
        args.command = args.command[1:]
    handlers = {
        "plan": cmd_plan,
        "net-up": cmd_net_up,
        "spawn": cmd_spawn,
        "wait": cmd_wait,
        "down": cmd_down,
        "status": cmd_status,
    }
    if args.cmd not in handlers:
        p.print_help()
        return 2
    handlers[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
