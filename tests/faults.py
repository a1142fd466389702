"""Fault injection for tests/test_faults.py: cut a test host's connection at a chosen moment,
then compare what is left on the host with a host that ran without a cut.

    t = CutTransport.to(th, "chat1", ("CHAT",), tmp_path)    # an SSHTransport with hooks
    t.hook = Trigger(lambda phase, detail: phase == "rename", lambda: cut(th, "kill"))
    runner = Runner(plan, {"chat1": t}, emit=Trigger(started("Install"), lambda: cut(th, "link")))

Cuts (`cut` / `restore`): "kill" kills the host's sshd and every session (the peer closes
the connection at once), "link" takes its network link down (packets vanish: only the
dead-peer check notices). Moments: a Runner `emit` hook (StepStarted = before an action,
StepDone / FileWritten = after it, OutputLine = during a command), or the transport's own
phases (`CutTransport.hook`): "exec" before every command it runs ("install PATH" is the
script that prepares a written file, or puts it in place via sudo, "bash -n …" a
validation), "rename" before the root login's command that renames a written file in.
"""
from __future__ import annotations

import hashlib
import os
import stat as stat_mod
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Callable

from tyntec_standin import TyntecStandin
from wizard import events as ev
from wizard.transport.base import HostSpec
from wizard.transport.ssh import SSHTransport

# what the wizard's writes may leave behind (the transport's temp and upload files, the
# runner's validation candidate); none may survive a finished apply
LEFTOVER_NAMES = ("*.chatwizard-tmp-*", "*.chatwizard-candidate", ".chatwizard-upload-*")
LEFTOVER_DIRS = ("/etc", "/usr/local", "/home", "/root", "/srv", "/var/lib/chatwizard")


# ------------------------------------------------------------------ cutting the connection

def cut(th, how: str) -> None:
    """Cut host th's connection: "kill" (sshd and its sessions killed: the connection is
    closed at once, new ones refused) or "link" (the network link goes down: packets are
    dropped, nothing is closed)."""
    if how == "kill":
        th.kill_sshd(sessions=True)
    elif how == "link":
        th.link_down()
    else:
        raise ValueError(how)


def restore(th, how: str, timeout: float = 15) -> None:
    """Undo cut(th, how); returns once sshd accepts connections from here again (after a
    link comes back the machine may need a moment to find the host again)."""
    if how == "kill":
        th.start_sshd()
    else:
        th.link_up()
    wait_for(lambda: _accepts(th), timeout, f"{th}: sshd reachable again")


def _accepts(th) -> bool:
    import socket
    try:
        socket.create_connection((th.host, th.port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Trigger:
    """Calls `action()` once, the first time `when(*args)` is true; usable as a Runner emit
    hook (args: the event) or as CutTransport.hook (args: phase, detail). `events` keeps
    what an emit hook saw."""

    def __init__(self, when: Callable[..., bool], action: Callable[[], None]):
        self.when, self.action = when, action
        self.fired = False
        self.events: list = []
        self._lock = threading.Lock()

    def __call__(self, *args) -> None:
        if len(args) == 1 and isinstance(args[0], ev.Event):
            self.events.append(args[0])
        with self._lock:
            if self.fired or not self.when(*args):
                return
            self.fired = True
        self.action()


def started(text: str) -> Callable[[ev.Event], bool]:
    """Before the action whose description contains `text` (its StepStarted)."""
    return lambda e: isinstance(e, ev.StepStarted) and text in e.description


def finished(text: str) -> Callable[[ev.Event], bool]:
    """Right after the action whose description contains `text` (its StepDone)."""
    return lambda e: isinstance(e, ev.StepDone) and text in e.description


def written(path: str) -> Callable[[ev.Event], bool]:
    """Right after the runner put `path` in place (FileWritten), before it is journalled."""
    return lambda e: isinstance(e, ev.FileWritten) and e.path == path


def output(text: str) -> Callable[[ev.Event], bool]:
    """While a command runs: the first output line containing `text`."""
    return lambda e: isinstance(e, ev.OutputLine) and text in e.line


class CutTransport(SSHTransport):
    """SSHTransport that calls `hook(phase, detail)` before its low-level steps: "exec"
    before every command (detail: what it displays, e.g. "install /etc/x" for the script
    that installs a written file), "rename" before the command that renames a prepared file
    in (root login; detail: the target path)."""

    hook: Callable[[str, str], None] | None = None

    @classmethod
    def to(cls, th, name: str, roles: tuple[str, ...], tmp: Path, *, user: str = "root",
           password_ref: str | None = None, connect_timeout: float = 1.5) -> "CutTransport":
        return cls(spec_for(th, name, roles, user=user, password_ref=password_ref),
                   known_hosts_paths=[th.known_hosts_path], tool_known_hosts=str(tmp / "known_hosts"),
                   ssh_config_path=str(tmp / "no-ssh-config"), allow_agent=False,
                   connect_timeout=connect_timeout, password_provider=_keyring_password)

    def _exec(self, command, **kw):
        if self.hook is not None:
            self.hook("exec", kw.get("display") or command)
        return super()._exec(command, **kw)

    def _rename_into_place(self, path, *a, **kw):
        if self.hook is not None:
            self.hook("rename", path)
        return super()._rename_into_place(path, *a, **kw)


def _keyring_password(ref: str) -> str | None:
    """What wizard.session hands the transport: the password from the keyring."""
    from wizard import secrets
    return secrets.get(ref)


def spec_for(th, name: str, roles, *, user: str = "root", password_ref: str | None = None) -> HostSpec:
    sudo = user != "root"
    return HostSpec(name, th.host, port=th.port, user=user, key_file=th.key_path,
                    password_ref=password_ref, become="sudo" if sudo else "root", roles=tuple(roles))


def inventory_entry(th, roles, *, user: str = "root", password_ref: str | None = None) -> dict:
    h = {"address": th.host, "port": th.port, "user": user, "key_file": th.key_path,
         "roles": list(roles)}
    if user != "root":
        h.update(become="sudo", password=password_ref)
    return h


# ------------------------------------------------------------------ slow commands

def slow(th, command: str, seconds: float, *, say: str = "slow mirror, please wait") -> str:
    """Make `command` (a shim on the host's PATH, e.g. yum) print `say`, note its start in
    /tmp/slow-<command>.started (one line per call: the time) and sleep `seconds` before
    it does its work. Returns the marker file's path on the host."""
    path = {"yum": "/usr/bin/yum", "rpm": "/usr/bin/rpm"}.get(command, f"/usr/sbin/{command}")
    real = f"/usr/lib/testhost/slow/{command}"         # same name: the shim dispatches on it
    marker = f"/tmp/slow-{command}.started"
    if not th.exists(real):
        th.write(real, th.read(path, binary=True), mode=0o755)
    th.write(path, f"#!/bin/sh\ndate +%s.%N >> {marker}\necho '{say}'\nsleep {seconds}\n"
                   f'exec {real} "$@"\n', mode=0o755)
    return marker


def wait_for(cond: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise TimeoutError(what)


# ------------------------------------------------------------------ what is on a host

def leftovers(th) -> list[str]:
    """Temp, candidate and upload files of the wizard anywhere it writes on host th."""
    names = []
    for n in LEFTOVER_NAMES:
        names += ["-o", "-name", n] if names else ["-name", n]
    found = []
    for d in LEFTOVER_DIRS:
        root = th.path(d)
        if not os.path.isdir(root):
            continue
        out = subprocess.run(["find", root, "-xdev", "(", *names, ")", "-print"],
                             capture_output=True, text=True).stdout
        found += [p[len(th.root):] for p in out.splitlines()]
    return sorted(found)


def file_state(th, path: str) -> tuple | None:
    """(sha256, mode, uid, gid) of a file on the host, None when absent."""
    if not th.exists(path):
        return None
    st = th.stat(path)
    return (hashlib.sha256(th.read(path, binary=True)).hexdigest(), stat_mod.S_IMODE(st.st_mode),
            st.st_uid, st.st_gid)


def tree_state(th, folder: str) -> dict:
    """file_state of every file under a folder (relative paths), and each folder's owner."""
    root = th.path(folder)
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        st = os.stat(d)
        out[rel + "/"] = (stat_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        for f in files:
            out[os.path.join(rel, f)] = file_state(th, f"{folder}/{os.path.relpath(os.path.join(d, f), root)}")
    return out


def shim_summary(th) -> dict:
    """Packages and services as the host's recording stand-ins keep them."""
    s = th.shim_state() or {}
    return {"packages": s.get("packages", {}), "services": s.get("services", {}),
            "firewall": s.get("firewall"), "iptables": s.get("iptables")}


def last_call(th, cmd: str, *argv_any: str) -> dict | None:
    """The latest shim call of `cmd` whose argv contains all of argv_any."""
    calls = [c for c in th.calls(cmd) if all(a in c["argv"] for a in argv_any)]
    return calls[-1] if calls else None


def mtime(th, path: str) -> float:
    return os.stat(th.path(path)).st_mtime


# ------------------------------------------------------------------ host keys

def new_host_key(th) -> None:
    """Give host th's sshd new host keys (the same types) and restart it: what a
    reinstalled server, or a man in the middle, shows. th.known_hosts_path keeps the old."""
    keys = [n for n in os.listdir(th.path("/etc/ssh")) if n.startswith("ssh_host_") and n.endswith("_key")]
    assert keys, "no host keys on the test host"
    with tempfile.TemporaryDirectory() as d:
        for name in keys:
            kind = name[len("ssh_host_"):-len("_key")]
            args = ["-t", kind] + (["-b", "2048"] if kind == "rsa" else [])
            subprocess.run(["ssh-keygen", "-q", "-N", "", "-f", f"{d}/{name}", *args], check=True)
            th.write(f"/etc/ssh/{name}", Path(f"{d}/{name}").read_bytes(), mode=0o600)
            th.write(f"/etc/ssh/{name}.pub", Path(f"{d}/{name}.pub").read_bytes(), mode=0o644)
    th.kill_sshd(sessions=True)
    th.start_sshd()


# ------------------------------------------------------------------ TynTec that drops requests

class DroppingStandin(TyntecStandin):
    """The TynTec stand-in, able to drop the connection of the next PATCH: "before" (the
    request never reaches the API: nothing changes) or "after" (the API applies it, the
    answer is lost on the way back)."""

    drop: str | None = None

    def answer(self, method, path, headers, body):
        mode = self.drop if method == "PATCH" else None
        if mode == "before":
            self.drop = None
            raise ConnectionAbortedError("stand-in: connection dropped before the request")
        result = super().answer(method, path, headers, body)
        if mode == "after":
            self.drop = None
            raise ConnectionAbortedError("stand-in: connection dropped after the request")
        return result

    def start(self) -> "DroppingStandin":
        super().start()
        self._server.handle_error = lambda request, address: None     # quiet, just close
        return self


# ------------------------------------------------------------------ chatwizard as a subprocess

class CliEnv:
    """An engineer's private environment for `python -m wizard.cli`: HOME with an ssh config
    naming the test hosts by inventory alias, an encrypted file keyring, state and log
    folders (journals under state/)."""

    def __init__(self, tmp: Path):
        self.home = tmp / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.state, self.logs = tmp / "state", tmp / "logs"
        self.answers = tmp / "site.yaml"
        repo = Path(__file__).resolve().parent.parent
        self.vars = dict(os.environ, HOME=str(self.home), CHATWIZARD_STATE_DIR=str(self.state),
                         CHATWIZARD_LOG_DIR=str(self.logs), CHATWIZARD_KEYRING="file",
                         CHATWIZARD_KEYRING_FILE=str(tmp / "keyring.json"),
                         CHATWIZARD_KEYRING_PASSWORD="fault-suite-master",
                         XDG_DATA_HOME=str(tmp / "data"), PYTHONPATH=str(repo))
        self.vars.pop("SSH_AUTH_SOCK", None)

    def command(self, *args) -> list[str]:
        import sys
        return [sys.executable, "-m", "wizard.cli", *args]

    def run(self, *args, stdin: str = "") -> tuple[int, str, str]:
        p = subprocess.run(self.command(*args), input=stdin, text=True, capture_output=True,
                           env=self.vars, cwd=self.home, timeout=300)
        return p.returncode, p.stdout, p.stderr

    def start(self, *args) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.vars, cwd=self.home)

    def secret(self, key: str, value: str) -> None:
        rc, out, err = self.run("secret", "set", key, stdin=value + "\n")
        assert rc == 0, err

    def ssh_config(self, hosts: dict) -> None:
        """`Host ALIAS` blocks for {alias: test host}, logging in as root."""
        (self.home / ".ssh" / "config").write_text(
            "".join(th.ssh_config_block(alias, user="root") for alias, th in hosts.items()))

    def write_answers(self, data: dict) -> None:
        import yaml
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))


def cut_when(th, marker: str, how: str = "kill", *, count: int = 1, timeout: float = 60) -> threading.Thread:
    """In the background: once the host's marker file (from slow()) has `count` lines, cut th."""
    def watch():
        def seen():
            p = th.path(marker)
            try:
                with open(p) as f:
                    return len(f.read().splitlines()) >= count
            except OSError:
                return False
        try:
            wait_for(seen, timeout, f"{marker} on {th}")
        except TimeoutError:
            return
        cut(th, how)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def unslow(th, command: str) -> None:
    """Undo slow(th, command)."""
    path = {"yum": "/usr/bin/yum", "rpm": "/usr/bin/rpm"}.get(command, f"/usr/sbin/{command}")
    th.write(path, th.read(f"/usr/lib/testhost/slow/{command}", binary=True), mode=0o755)
