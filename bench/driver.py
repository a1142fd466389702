"""Runs inside a test host: each operation once, timed by the host's own clock.

    python3 driver.py OPS.json OUT.json

OPS.json is a list of {"shell": "...", "stdin": base64 or null}. Each runs as `ssh host cmd`
would run it there: through the user's login shell (`$SHELL -c CMD`), its output read and
thrown away. OUT.json gets {"own_s": [seconds per operation], "rc": [exit codes], "shell"}.
Standard library only (the host's python3).
"""
import base64
import json
import os
import pwd
import subprocess
import sys
import time


def main(ops_path, out_path):
    with open(ops_path) as f:
        ops = json.load(f)
    shell = pwd.getpwuid(os.getuid()).pw_shell or "/bin/sh"
    own, rcs = [], []
    for op in ops:
        data = base64.b64decode(op["stdin"]) if op.get("stdin") else None
        t0 = time.perf_counter()
        p = subprocess.run([shell, "-c", op["shell"]], input=data,
                           stdin=None if data is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        own.append(time.perf_counter() - t0)
        rcs.append(p.returncode)
    with open(out_path, "w") as f:
        json.dump({"own_s": own, "rc": rcs, "shell": shell}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
