#!/usr/bin/env python3
"""Describe this machine for the experiment's metadata, as one JSON object.

Standard library only, Python 3.6+; every probe is optional, so a missing tool
leaves a field out instead of failing the run. The arguments are commands the
measurements need: those not found are listed under "missing" (preflight fails
on them), in the same exchange, which also gives the clock offset's first
reading ("time").
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import time

# Packages whose versions matter when comparing streaming results.
PACKAGES = [
    "qemu-system-x86",
    "qemu-system-x86_64",
    "qemu-kvm",
    "qemu-system-common",
    "libspice-server1",
    "spice-server",
    "libspice-client-gtk-3.0-5",
    "spice-gtk",
    "spice-gtk3",
    "virt-viewer",
    "spice-vdagent",
    "spice-streaming-agent",
    "xserver-xspice",
    "xserver-xorg-video-qxl",
    "libvirt-daemon",
    "libvirt-daemon-system",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-libav",
    "gstreamer1-plugins-base",
    "gstreamer1-plugins-good",
    "mesa-va-drivers",
    "intel-media-va-driver",
]


def run(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode("utf-8", "replace")


def os_release():
    info = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    key, _, value = line.strip().partition("=")
                    if key:
                        info[key] = value.strip('"')
            break
    return info


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def memory_kb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def packages():
    found = {}
    out = run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Status}\n", *PACKAGES])
    if out is not None:
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2] == "installed":
                found[parts[0]] = parts[1]
        return found
    out = run(["rpm", "-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", *PACKAGES])
    for line in (out or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[0]] = parts[1]
    return found


def main():
    uname = platform.uname()
    release = os_release()
    print(
        json.dumps(
            {
                "hostname": uname.node,
                "kernel": uname.release,
                "kernel_version": uname.version,
                "architecture": uname.machine,
                "distribution": release.get("PRETTY_NAME", ""),
                "os_release": release,
                "cpu_model": cpu_model(),
                "cpus": os.cpu_count(),
                "memory_kb": memory_kb(),
                "python": platform.python_version(),
                # Local times in logs (HH:MM:SS) are turned into epoch seconds with this.
                "utc_offset": time.localtime().tm_gmtoff,
                "packages": packages(),
                "missing": [c for c in sys.argv[1:] if shutil.which(c) is None],
                # last: the controller reads the clock offset's first round from it
                "time": time.time(),
            }
        )
    )


if __name__ == "__main__":
    main()
