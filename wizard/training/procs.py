"""Who, where and what runs on the training host: id whoami hostname uname date sleep ps pgrep
kill getenforce setenforce getent ss netstat."""
from __future__ import annotations

import re
import time

from . import admin
from .shell import Cmd, command, text


@command("id")
def _id(c: Cmd) -> int:
    args = [a for a in c.args if a.startswith("-")]
    who = next((a for a in c.args if not a.startswith("-")), c.user)
    users, groups = c.host.state["users"], c.host.state["groups"]
    if who not in users:
        c.fail(f"id: {who}: no such user")
    uid, prim = users[who][0], users[who][1]
    names = c.host.groups_of(who)
    flags = "".join(a.lstrip("-") for a in args)
    if "u" in flags:
        c.out(who if "n" in flags else str(uid))
    elif "g" in flags and "G" not in flags:
        c.out(prim if "n" in flags else str(groups[prim][0]))
    elif "G" in flags:
        c.out(" ".join(names if "n" in flags else [str(groups[g][0]) for g in names]))
    else:
        gl = ",".join(f"{groups[g][0]}({g})" for g in names)
        c.out(f"uid={uid}({who}) gid={groups[prim][0]}({prim}) groups={gl}"
              + (" context=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023" if who == c.user else ""))
    return 0


@command("whoami")
def _whoami(c: Cmd) -> int:
    c.out(c.user)
    return 0


@command("hostname")
def _hostname(c: Cmd) -> int:
    from .host import HOSTNAME
    if c.args and c.args[0] in ("-I", "--all-ip-addresses"):
        c.out("10.99.0.10 ")
    elif c.args and c.args[0] in ("-i", "--ip-address"):
        c.out("127.0.1.1")
    elif c.args and not c.args[0].startswith("-"):
        c.fail("hostname: you must be root to change the host name" if not c.root else
               "training host: changing the host name is not simulated")
    else:
        c.out(HOSTNAME)
    return 0


@command("uname")
def _uname(c: Cmd) -> int:
    from .host import HOSTNAME
    vals = {"s": "Linux", "n": HOSTNAME, "r": "3.10.0-1160.el7.x86_64" if c.host.state.get("el", "7") == "7" else "2.6.32-754.35.1.el6.x86_64",
            "v": "#1 SMP Mon Oct 19 16:18:59 UTC 2020", "m": "x86_64", "p": "x86_64", "i": "x86_64",
            "o": "GNU/Linux"}
    flags = "".join(a.lstrip("-") for a in c.args) or "s"
    if "a" in flags or "all" in c.args:
        flags = "snrvmpio"
    c.out(" ".join(vals[f] for f in "snrvmpio" if f in flags))
    return 0


@command("date")
def _date(c: Cmd) -> int:
    fmt = next((a[1:] for a in c.args if a.startswith("+")), None)
    utc = any(a in ("-u", "--utc") for a in c.args)
    t = time.gmtime() if utc else time.localtime()
    if fmt is None:
        c.out(time.strftime("%a %b %e %H:%M:%S %Z %Y", t))
    else:
        c.out(time.strftime(fmt.replace("%N", "000000000"), t))
    return 0


@command("sleep")
def _sleep(c: Cmd) -> int:
    if not c.args:
        c.fail("sleep: missing operand\nTry 'sleep --help' for more information.")
    total = 0.0
    for a in c.args:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", a)
        if not m:
            c.fail(f"sleep: invalid time interval \u2018{a}\u2019\nTry 'sleep --help' for more information.")
        total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    c.host.pause(total)         # barely waits, but lets other connections to the host work
    return 0


def _procs(c: Cmd) -> list[tuple[int, str, str]]:
    """(pid, user, command line) of everything running."""
    st = c.host.state
    out = [(1, "root", "/usr/lib/systemd/systemd --switched-root --system --deserialize 22")]
    cmdlines = {
        "sshd": ("root", "/usr/sbin/sshd -D"), "crond": ("root", "/usr/sbin/crond -n"),
        "firewalld": ("root", "/usr/bin/python2 -Es /usr/sbin/firewalld --nofork --nopid"),
        "haproxy": ("haproxy", "/usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -Ds"),
        "mysqld": ("mysql", "/usr/sbin/mysqld --daemonize --pid-file=/var/run/mysqld/mysqld.pid"),
        "PlatformUDPListener": ("jtel", "java -server -Dhazelcast.config=/home/jtel/shared/hazelcast.xml "
                                        "-jar /home/jtel/PlatformUDPListener/PlatformUDPListener.jar"),
        "jtel-clientmessenger": ("root", "java -server -Xms256m -Xmx1024m "
                                         "-Dhazelcast.config=/home/jtel/ClientMessenger/conf/hazelcast.xml "
                                         "-jar /home/jtel/ClientMessenger/bin/ClientMessenger.jar"),
    }
    for name, s in sorted(st["services"].items()):
        if s.get("running") and name not in ("network", "iptables"):
            user, cmd = cmdlines.get(name, ("root", f"/usr/sbin/{name}"))
            out.append((st["pids"].get(name, 1234), user, cmd))
    return sorted(out)


@command("ps")
def _ps(c: Cmd) -> int:
    args = list(c.args)
    procs = _procs(c)
    if "-C" in args:
        name = args[args.index("-C") + 1] if args.index("-C") + 1 < len(args) else ""
        procs = [p for p in procs if p[2].split()[0].rsplit("/", 1)[-1] == name]
    if "-p" in args:
        want = set(args[args.index("-p") + 1].split(",")) if args.index("-p") + 1 < len(args) else set()
        procs = [p for p in procs if str(p[0]) in want]
    if "-o" in args:
        fmt = args[args.index("-o") + 1] if args.index("-o") + 1 < len(args) else "pid"
        cols = [f.rstrip("=") for f in fmt.split(",")]
        if not fmt.endswith("="):
            c.out(" ".join(x.upper() for x in cols))
        for pid, user, cmd in procs:
            vals = {"pid": str(pid), "user": user, "cmd": cmd, "args": cmd, "comm": cmd.split()[0].rsplit("/", 1)[-1]}
            c.out(" ".join(vals.get(x, "?") for x in cols))
        return 0 if procs else 1
    if any(a in ("aux", "-aux", "axu") for a in args):
        c.out("USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND")
        for pid, user, cmd in procs:
            c.out(f"{user:<8} {pid:>5}  0.0  0.1 125000  4000 ?        Ss   00:00   0:00 {cmd}")
    elif any(a in ("-ef", "-e", "-A") for a in args):
        c.out("UID        PID  PPID  C STIME TTY          TIME CMD")
        for pid, user, cmd in procs:
            c.out(f"{user:<8} {pid:>5}     1  0 00:00 ?        00:00:00 {cmd}")
    else:
        c.out("  PID TTY          TIME CMD\n 4242 pts/0    00:00:00 bash\n 4243 pts/0    00:00:00 ps")
        return 0
    return 0 if procs else 1


@command("pgrep")
def _pgrep(c: Cmd) -> int:
    full = "-f" in c.args
    listing = "-l" in c.args or "-a" in c.args
    pats = [a for a in c.args if not a.startswith("-")]
    if not pats:
        c.fail("pgrep: no matching criteria specified\nTry `pgrep --help' for more information.", 2)
    rx = re.compile(pats[0])
    hits = [p for p in _procs(c) if rx.search(p[2] if full else p[2].split()[0].rsplit("/", 1)[-1])]
    for pid, _, cmd in hits:
        c.out(f"{pid} {cmd if '-a' in c.args else cmd.split()[0].rsplit('/', 1)[-1]}" if listing else str(pid))
    return 0 if hits else 1


@command("kill")
def _kill(c: Cmd) -> int:
    pids = [a for a in c.args if a.isdigit()]
    check = "-0" in c.args
    rc = 0
    for p in pids:
        name = next((n for n, pid in c.host.state["pids"].items() if str(pid) == p), None)
        if name is None:
            c.err(f"bash: kill: ({p}) - No such process")
            rc = 1
            continue
        if check:
            continue
        admin._need_root(c, f"bash: kill: ({p}) - Operation not permitted")
        admin._set_running(c, name, False, dead=True)
    return rc


@command("getenforce", path="/usr/sbin")
def _getenforce(c: Cmd) -> int:
    c.out(c.host.state.get("selinux", "Enforcing"))
    return 0


@command("setenforce", path="/usr/sbin")
def _setenforce(c: Cmd) -> int:
    admin._need_root(c, "setenforce:  setenforce() failed")
    a = (c.args or [""])[0]
    if a not in ("0", "1", "Permissive", "Enforcing", "permissive", "enforcing"):
        c.fail("usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]")
    c.host.state["selinux"] = "Enforcing" if a in ("1", "Enforcing", "enforcing") else "Permissive"
    admin._changed(c)
    return 0


@command("getent")
def _getent(c: Cmd) -> int:
    if not c.args:
        c.fail("Usage: getent [OPTION...] database [key ...]")
    db, keys = c.args[0], c.args[1:]
    if db in ("passwd", "group"):
        lines = text(c.fs.get(f"/etc/{db}").data).splitlines()
        hits = [l for l in lines if not keys or l.split(":")[0] in keys or l.split(":")[2] in keys]
        for l in hits:
            c.out(l)
        return 0 if hits else 2
    if db in ("hosts", "ahosts"):
        rc = 0
        for k in keys:
            if re.fullmatch(r"[\d.]+", k):
                c.out(f"{k:<15} {k}")
            elif admin.resolves(c, k):
                c.out(f"{'127.0.1.1':<15} {k}")
            else:
                rc = 2
        return rc
    c.fail(f"Unknown database: {db}\nTry `getent --help' or `getent --usage' for more information.")


def _listening(c: Cmd) -> list[tuple[int, str]]:
    out = []
    for name, s in c.host.state["services"].items():
        if not s.get("running"):
            continue
        for port in admin.LISTEN.get(name, []):
            out.append((port, name))
        if name == "haproxy":
            cfg = c.fs.get("/etc/haproxy/haproxy.cfg")
            for m in re.finditer(r"^\s*bind\s+\S*?:(\d+)", text(cfg.data) if cfg else "", re.M):
                out.append((int(m.group(1)), "haproxy"))
    return sorted(set(out))


@command("ss", path="/usr/sbin")
def _ss(c: Cmd) -> int:
    c.out(f"{'State':<10} {'Recv-Q':<6} {'Send-Q':<6} {'Local Address:Port':>30}   {'Peer Address:Port':<20}")
    for port, name in _listening(c):
        proc = f'users:(("{name}",pid={c.host.state["pids"].get(name, 1234)},fd=3))' if "p" in "".join(c.args) else ""
        c.out(f"{'LISTEN':<10} {0:<6} {128:<6} {'*:' + str(port):>30}   {'*:*':<20} {proc}".rstrip())
    return 0


@command("netstat")
def _netstat(c: Cmd) -> int:
    c.out("Active Internet connections (only servers)")
    c.out("Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name")
    for port, name in _listening(c):
        c.out(f"tcp        0      0 0.0.0.0:{port:<15} 0.0.0.0:*               LISTEN      "
              f"{c.host.state['pids'].get(name, 1234)}/{name}")
    return 0
