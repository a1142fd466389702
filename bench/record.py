"""Run `chatwizard` with every remote operation recorded: what the run really sends.

    python3 bench/record.py OUT.json plan|apply ANSWERS [options]

The CLI runs unchanged in this process; thin wrappers around the SSH transport note, in
order, each operation it performs on a host and each HTTP request it sends:

- ``exec``: a shell command (the command itself, as the step gave it; stdin bytes if any);
- ``read`` / ``create`` / ``rename`` / ``remove``: an SFTP file operation;
- ``http``: a request to TynTec (method, URL, headers, body).

Each record also holds the client-side wall time of the operation, and the totals count the
SSH channels opened and the SFTP request round trips, so the overhead can be broken down.
bench/replay.py turns the list into the same commands run other ways (one connection, or
`ssh host cmd` each time). This is a measuring aid: the timed runs use the plain CLI.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the wizard under test: this checkout, or BENCH_WIZARD_ROOT (see bench/sample_site.py)
sys.path.insert(0, os.environ.get("BENCH_WIZARD_ROOT") or str(ROOT))

_ops: list[dict] = []
_counts = {"channels": 0, "sftp_requests": 0, "connects": 0}
_lock = threading.Lock()
_local = threading.local()
_T0 = time.perf_counter()


def _note(op: dict) -> dict:
    with _lock:
        op["seq"] = len(_ops)
        _ops.append(op)
    return op


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def install() -> None:
    import paramiko

    from wizard import tyntec
    from wizard.transport import ssh

    T = ssh.SSHTransport

    def outer(fn, make):
        """Record only the outermost wrapped call (read_file may stat, write_file execs)."""
        def wrapper(self, *a, **kw):
            if getattr(_local, "depth", 0):
                return fn(self, *a, **kw)
            op = make(self, *a, **kw)
            t0 = time.perf_counter()
            _local.depth = 1
            try:
                return fn(self, *a, **kw)
            finally:
                _local.depth = 0
                op["t0"], op["wall_s"] = t0 - _T0, time.perf_counter() - t0
                _note(op)
        return wrapper

    def nested(fn, make):
        """Record every call, also inside write_file (its temp file, script and rename)."""
        def wrapper(self, *a, **kw):
            op = make(self, *a, **kw)
            t0 = time.perf_counter()
            saved = getattr(_local, "depth", 0)
            _local.depth = 1
            try:
                return fn(self, *a, **kw)
            finally:
                _local.depth = saved
                op["t0"], op["wall_s"] = t0 - _T0, time.perf_counter() - t0
                _note(op)
        return wrapper

    T._exec = nested(T._exec, lambda self, command, sudo=False, stdin=None, **kw: {
        "host": self.spec.name, "kind": "exec", "command": command, "sudo": bool(sudo),
        "stdin": _b64(stdin)})
    T.read_file = outer(T.read_file, lambda self, path, *a, **kw: {
        "host": self.spec.name, "kind": "read", "path": path})
    T._sftp_create_private = nested(T._sftp_create_private, lambda self, sftp, path, data, *a, **kw: {
        "host": self.spec.name, "kind": "create", "path": path, "stdin": _b64(data)})
    T._remove_quietly = nested(T._remove_quietly, lambda self, path, *a, **kw: {
        "host": self.spec.name, "kind": "remove", "path": path})

    # the rename at the end of write_file: SFTPClient has no idea of the host; the write_file
    # wrapper below names it
    def write_file(fn):
        def wrapper(self, path, data, *a, **kw):
            _local.host = self.spec.name
            try:
                return fn(self, path, data, *a, **kw)
            finally:
                _local.host = None
        return wrapper
    T.write_file = write_file(T.write_file)

    rename = paramiko.SFTPClient.posix_rename

    def posix_rename(self, old, new, *a, **kw):
        op = {"host": getattr(_local, "host", None), "kind": "rename", "path": old, "to": new}
        t0 = time.perf_counter()
        try:
            return rename(self, old, new, *a, **kw)
        finally:
            op["t0"], op["wall_s"] = t0 - _T0, time.perf_counter() - t0
            _note(op)
    paramiko.SFTPClient.posix_rename = posix_rename

    request = paramiko.SFTPClient._request
    async_request = paramiko.SFTPClient._async_request

    def counted_request(self, *a, **kw):
        with _lock:
            _counts["sftp_requests"] += 1
        return request(self, *a, **kw)

    def counted_async(self, *a, **kw):
        with _lock:
            _counts["sftp_requests"] += 1
        return async_request(self, *a, **kw)
    paramiko.SFTPClient._request = counted_request
    paramiko.SFTPClient._async_request = counted_async

    open_session = paramiko.Transport.open_session

    def counted_open(self, *a, **kw):
        with _lock:
            _counts["channels"] += 1
        return open_session(self, *a, **kw)
    paramiko.Transport.open_session = counted_open

    connect = T.connect

    def counted_connect(self):
        with _lock:
            _counts["connects"] += 1
        return connect(self)
    T.connect = counted_connect

    send = tyntec._send

    def http(method, url, headers, data, *a, **kw):
        op = {"host": "(this machine)", "kind": "http", "method": method, "url": url,
              "headers": dict(headers), "stdin": _b64(data)}
        t0 = time.perf_counter()
        try:
            return send(method, url, headers, data, *a, **kw)
        finally:
            op["t0"], op["wall_s"] = t0 - _T0, time.perf_counter() - t0
            _note(op)
    tyntec._send = http


def install_phases() -> None:
    """Wall time of the run's phases (load answers, secrets, connect, detect, plan, run)."""
    from wizard import answers, connect, fingerprint, planner, runner, secrets

    def timed(obj, name, label):
        fn = getattr(obj, name)

        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                _phases.append({"phase": label, "t0": t0 - _T0, "wall_s": time.perf_counter() - t0})
        setattr(obj, name, wrapper)

    timed(answers, "load", "load answers")
    timed(secrets, "resolve_all", "secrets from the keyring")
    timed(connect, "connect_all", "connect")
    timed(planner, "detect", "detect")
    timed(planner, "build", "plan")
    timed(runner.Runner, "run", "run")
    timed(fingerprint, "read", "fingerprint after the run")


_phases: list[dict] = []


def main(argv: list[str]) -> int:
    out, cli_args = Path(argv[0]), argv[1:]
    install()
    install_phases()
    from wizard import cli
    _phases.append({"phase": "start and imports", "t0": 0.0, "wall_s": time.perf_counter() - _T0})
    t0 = time.perf_counter()
    rc = cli.main(cli_args)
    wall = time.perf_counter() - t0
    out.write_text(json.dumps({"rc": rc, "wall_s": wall, "counts": _counts,
                               "phases": _phases, "ops": _ops}, indent=1))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
