"""Does the client's display answer, and does the SPICE port accept a connection?

Both in one exchange with the client (each exchange costs most of half a
second of a run). Arguments: DISPLAY, host, port. Prints one JSON object.
Standard library only, Python 3.6+.
"""

import json
import os
import socket
import subprocess
import sys
import time

display, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
found = {"display_rc": 0, "display_error": "", "port_error": ""}
if display:
    try:
        xset = subprocess.run(
            ["xset", "q"], env=dict(os.environ, DISPLAY=display),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10,
        )  # fmt: skip
        found["display_rc"] = xset.returncode
        found["display_error"] = xset.stderr.decode(errors="replace").strip()
    except FileNotFoundError:  # no xset: nothing to ask the display with
        found["display_rc"] = 127
    except subprocess.TimeoutExpired:
        found.update(display_rc=-1, display_error="xset q got no answer in 10 s")
# a server that is still starting gets 5 s, as a connection would
deadline = time.monotonic() + 5
while True:
    try:
        socket.create_connection(
            (host, port), timeout=max(deadline - time.monotonic(), 0.1)
        ).close()
        break
    except OSError as e:
        if time.monotonic() >= deadline:
            found["port_error"] = str(e)
            break
        time.sleep(0.2)
print(json.dumps(found))
