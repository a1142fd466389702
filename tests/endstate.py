"""The end state of a CHAT role site on its test hosts, to compare two ways of installing it
(`chatwizard apply` against a pyinfra deploy) on two identical sets of fresh hosts.

    a = site_state({"chat1": (th, ("CHAT",)), ...})
    b = site_state({...the other set...})
    assert compare(a, b) == []

Per host: every file the role's sections write (content hash, mode, uid, gid), the whole
ClientMessenger tree, the follow-up scripts' logs (updatepl.sh / updatejb.sh ran how often),
the backups made (path under the stamp, content hash), and the shims' packages, services
(enabled, running), firewalld and iptables state. Optionally the changing commands the
shims recorded (sorted), for deploys that must run the same commands.
"""
from __future__ import annotations

import hashlib
import os
import stat as stat_mod

SHARED = "/home/jtel/shared"
CM_TARGET = "/home/jtel/ClientMessenger"
CM_SOURCE = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
BACKUP_ROOT = "/var/lib/chatwizard/backups"
FILES = {
    "CHAT": ("/etc/init.d/jtel-clientmessenger", "/usr/local/bin/updatesc.sh",
             f"{CM_TARGET}/conf/hazelcast.xml"),
    "DATA": (f"{SHARED}/hazelcast.xml", "/var/log/updatepl.log"),
    "TEL": (f"{SHARED}/hazelcast.xml", "/home/jtel/PlatformUDPlistener/conf/hazelcast.xml"),
    "WEB": (f"{SHARED}/hazelcast.xml", "/var/log/updatejb.log"),
    "LB": ("/etc/haproxy/haproxy.cfg",),
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_state(th, path: str):
    """(sha256, mode, uid, gid) or None when absent."""
    if not th.exists(path):
        return None
    st = th.stat(path)
    return _sha(th.read(path, binary=True)), stat_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def tree_state(th, root: str, source: str | None = None) -> dict:
    """Path -> (content, mode, uid, gid) under root; content is "dir", "-> target", "=source"
    (the same bytes as the file at the same place under `source`: test hosts seed their
    repositories with per-host bytes) or the sha256."""
    base = th.path(root)
    src = th.path(source) if source else None
    out = {}
    for d, dirs, files in os.walk(base):
        for n in dirs + files:
            full = os.path.join(d, n)
            st = os.lstat(full)
            if stat_mod.S_ISDIR(st.st_mode):
                kind = "dir"
            elif stat_mod.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    kind = _sha(f.read())
                twin = os.path.join(src, os.path.relpath(full, base)) if src else None
                if twin and os.path.isfile(twin):
                    with open(twin, "rb") as f:
                        kind = "=source" if _sha(f.read()) == kind else kind
            else:
                kind = "-> " + os.readlink(full)
            out[root + full[len(base):]] = (kind, stat_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return out


def backups(th) -> list:
    """(path the backup is of, sha256) of every backup, without the time stamps."""
    out = []
    base = th.path(BACKUP_ROOT)
    for d, _, files in os.walk(base):
        for n in files:
            full = os.path.join(d, n)
            rel = full[len(base):].lstrip("/")
            with open(full, "rb") as f:
                out.append(("/" + rel.split("/", 1)[1], _sha(f.read())))
    return sorted(out)


def changing_calls(th) -> list[str]:
    from e2e_site import read_only
    return sorted(f"{c['cmd']} {' '.join(c['argv'])}" for c in th.calls() if not read_only(c))


def host_state(th, roles, *, calls: bool = False) -> dict:
    paths = sorted({p for r in roles for p in FILES.get(r, ())})
    s = th.shim_state() or {}
    out = {
        "files": {p: file_state(th, p) for p in paths},
        "tree": tree_state(th, CM_TARGET, CM_SOURCE) if "CHAT" in roles else {},
        "backups": backups(th),
        "packages": s.get("packages"),
        "services": {n: {k: v for k, v in st.items() if k in ("enabled", "running")}
                     for n, st in (s.get("services") or {}).items()},
        "firewall": s.get("firewall"),
        "iptables": s.get("iptables"),
    }
    if calls:
        out["calls"] = changing_calls(th)
    return out


def site_state(hosts: dict, *, calls: bool = False) -> dict:
    """{name: host_state} for {name: (TestHost, roles)}."""
    return {n: host_state(th, roles, calls=calls) for n, (th, roles) in hosts.items()}


def compare(a: dict, b: dict) -> list[str]:
    """Every difference between two site states, one line each ('' lists nothing)."""
    out = []
    for host in sorted(set(a) | set(b)):
        ha, hb = a.get(host) or {}, b.get(host) or {}
        for part in sorted(set(ha) | set(hb)):
            pa, pb = ha.get(part), hb.get(part)
            if pa == pb:
                continue
            if isinstance(pa, dict) and isinstance(pb, dict):
                for k in sorted(set(pa) | set(pb), key=str):
                    if pa.get(k) != pb.get(k):
                        out.append(f"{host}: {part}: {k}: {pa.get(k)} != {pb.get(k)}")
            else:
                out.append(f"{host}: {part}: {pa} != {pb}")
    return out
