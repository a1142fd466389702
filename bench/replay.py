"""The recorded run's operations, replayed two other ways on a fresh copy of the site.

* ``shell_equivalent(op)``: the shell command an operation amounts to. A command is itself;
  an SFTP read is `cat -- PATH`, a temp-file upload `umask 077; cat > PATH` (the bytes on
  stdin), a rename `mv -f -- OLD NEW`, a remove `rm -f -- PATH`.
* **(a) the physical limit**: ``own_times(site, ops)`` runs every operation inside its host
  (bench/driver.py, one after another, each through the login shell as sshd would) and
  returns each one's own duration measured by the host's clock; ``limit()`` adds one
  measured SSH round trip per operation. HTTP requests are timed from here on one kept-open
  connection (that time already holds their round trip).
* **(b) a plain shell script**: ``write_script(...)`` writes a bash script that runs each
  operation as `ssh -F CONFIG HOST 'CMD'` (a new connection every time) and each HTTP request
  with `curl`, in the order the run started them.
"""
from __future__ import annotations

import base64
import http.client
import json
import shlex
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent


def shell_equivalent(op: dict) -> str:
    kind, q = op["kind"], shlex.quote
    if kind == "exec":
        return op["command"]
    if kind == "read":
        return f"cat -- {q(op['path'])}"
    if kind == "create":
        return f"umask 077; cat > {q(op['path'])}"
    if kind == "rename":
        return f"mv -f -- {q(op['path'])} {q(op['to'])}"
    if kind == "remove":
        return f"rm -f -- {q(op['path'])}"
    raise ValueError(f"no shell form for {kind}")


def ordered(ops: list[dict]) -> list[dict]:
    """In the order the run started them."""
    return sorted(ops, key=lambda o: (o["t0"], o["seq"]))


def remote(ops: list[dict]) -> list[dict]:
    return [o for o in ordered(ops) if o["kind"] != "http"]


def http_ops(ops: list[dict]) -> list[dict]:
    return [o for o in ordered(ops) if o["kind"] == "http"]


# ------------------------------------------------------------------ (a) physical limit

def own_times(site, ops: list[dict], folder: Path) -> dict:
    """Every remote operation run inside its host, timed there: {"own_s": [...] in `ops`
    order (remote ones), "rc": [...]}. Hosts run one after another."""
    by_host: dict[str, list[int]] = {}
    rem = remote(ops)
    for i, op in enumerate(rem):
        by_host.setdefault(op["host"], []).append(i)
    own = [0.0] * len(rem)
    rcs = [0] * len(rem)
    driver = (HERE / "driver.py").read_bytes()
    for host, idx in by_host.items():
        th = site.hosts[host]
        th.write("/root/.bench-driver.py", driver, mode=0o644)
        th.write("/root/.bench-ops.json",
                 json.dumps([{"shell": shell_equivalent(rem[i]), "stdin": rem[i].get("stdin")}
                             for i in idx]), mode=0o600)
        rc, out, err = th.run("python3 /root/.bench-driver.py /root/.bench-ops.json /root/.bench-own.json",
                              timeout=600)
        if rc != 0:
            raise RuntimeError(f"driver on {host}: {out}{err}")
        res = json.loads(th.read("/root/.bench-own.json"))
        for j, i in enumerate(idx):
            own[i], rcs[i] = res["own_s"][j], res["rc"][j]
    return {"own_s": own, "rc": rcs}


def http_times(ops: list[dict], cafile: str) -> list[float]:
    """Each recorded HTTP request sent again on one kept-open connection, timed here."""
    out = []
    conns: dict[str, http.client.HTTPSConnection] = {}
    ctx = ssl.create_default_context(cafile=cafile)
    for op in http_ops(ops):
        u = urlsplit(op["url"])
        c = conns.get(u.netloc)
        if c is None:
            c = conns[u.netloc] = http.client.HTTPSConnection(u.netloc, context=ctx, timeout=30)
            c.connect()
        body = base64.b64decode(op["stdin"]) if op.get("stdin") else None
        t0 = time.perf_counter()
        c.request(op["method"], u.path + (f"?{u.query}" if u.query else ""), body=body,
                  headers=op["headers"])
        c.getresponse().read()
        out.append(time.perf_counter() - t0)
    for c in conns.values():
        c.close()
    return out


def ssh_round_trip(th, n: int = 200) -> float:
    """Median of n SSH request/reply round trips on one open connection (a global request
    the server answers at once, no command run): the 'one round trip' of the limit."""
    c = th.connect("root")
    try:
        t = c.get_transport()
        for _ in range(10):
            t.global_request("bench-ping@chatwizard", wait=True)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            t.global_request("bench-ping@chatwizard", wait=True)
            samples.append(time.perf_counter() - t0)
    finally:
        c.close()
    samples.sort()
    return samples[len(samples) // 2]


def limit(own: dict, https: list[float], rtt: float) -> dict:
    n = len(own["own_s"])
    return {"ops": n, "http": len(https), "own_s": sum(own["own_s"]), "rtt_s": rtt,
            "http_s": sum(https), "total_s": sum(own["own_s"]) + n * rtt + sum(https)}


# ------------------------------------------------------------------ (b) plain shell script

def write_script(ops: list[dict], folder: Path, *, ssh_config: Path, cafile: str,
                 addresses: dict[str, str]) -> Path:
    """bench-plain.sh: every operation as `ssh HOST CMD` (new connection each), HTTP with curl.
    `addresses`: inventory name -> the address the ssh config knows it by."""
    data = folder / "plain-data"
    data.mkdir(parents=True, exist_ok=True)
    q = shlex.quote
    lines = ["#!/bin/bash",
             "# the recorded run's operations, one `ssh host cmd` (a new connection) each",
             "# extra ssh options (e.g. -o KexAlgorithms=...) from $BENCH_SSH_OPTS",
             f"S=(ssh -F {q(str(ssh_config))} -o BatchMode=yes -T ${{BENCH_SSH_OPTS:-}})",
             f"LOG={q(str(folder / 'plain.log'))}",
             ': > "$LOG"']
    for i, op in enumerate(ordered(ops)):
        stdin = "/dev/null"
        if op.get("stdin"):
            p = data / f"{i:04d}.bin"
            p.write_bytes(base64.b64decode(op["stdin"]))
            stdin = str(p)
        if op["kind"] == "http":
            hdrs = " ".join(f"-H {q(f'{k}: {v}')}" for k, v in op["headers"].items())
            body = f"--data-binary @{q(stdin)}" if op.get("stdin") else ""
            lines.append(f"curl -sS --cacert {q(cafile)} -X {op['method']} {hdrs} {body} "
                         f"{q(op['url'])} >>\"$LOG\" 2>&1")
            continue
        lines.append(f"\"${{S[@]}}\" {q(addresses[op['host']])} {q(shell_equivalent(op))} "
                     f"<{q(stdin)} >>\"$LOG\" 2>&1")
    path = folder / "bench-plain.sh"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path
