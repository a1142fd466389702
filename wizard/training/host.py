"""A simulated CentOS 7 (or, in a scenario, CentOS 6) host, in memory, for training mode.

`SimTransport(spec)` implements the Transport interface against a `SimHost`: a file
system (fs), the rpm database, services, firewalld and iptables state, and a
small shell (shell) whose commands (coreutils, text, admin) answer
the way CentOS 7.9 does. Nothing touches the machine the wizard runs on, no
subprocess is started, nothing needs root.

All SimTransports of one process share one SimHost per state file (default: the active
scenario's, `<state dir>/training/<scenario>/host.json`, wizard.training.scenarios), which is
saved after every change, so a second `chatwizard apply --training` in a new process finds
what the first one did. `SimHost.reset()` starts that scenario over.

What the simulation does not do: run Java, talk to other hosts, or parse haproxy
configuration the way haproxy does (`haproxy -c` is a light structural check and
says so). Commands it does not know exit 127 with "training host: `X` is not simulated".
"""
from __future__ import annotations

import base64
import json
import os
import posixpath
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Callable

from .. import masking
from ..errors import HostKeyError
from ..i18n import N_, _
from ..transport.base import (BACKUP_ROOT, CommandResult, FileStat, HostSpec, OutputCallback, TransportError,
                   WriteResult)
from .fs import FileSystem, FsError, Node

BANNER = N_("TRAINING: simulated CentOS 7 host (in memory)")
BANNER_EL6 = N_("TRAINING: simulated CentOS 6 host (in memory)")      # the centos6 scenario's
HOSTNAME = "training-sim"
STATE_VERSION = 1
HISTORY_KEPT = 2000
SLEEP_CAP = 0.02                                    # seconds a simulated `sleep` really waits
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/root/bin"
SUDO_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"          # sudoers secure_path on CentOS 7


def default_state_file(scenario: str | None = None) -> Path:
    """`<state dir>/training/<scenario>/host.json` (default: the active scenario): the tool's
    state folder (CHATWIZARD_STATE_DIR overrides), the one wizard.journal uses; not imported
    from there, so that the journal (which the session clears on reset) may depend on
    training and not the other way."""
    from . import scenarios
    name = scenarios.get(scenario).name if scenario else scenarios.active().name
    env = os.environ.get("CHATWIZARD_STATE_DIR")
    if env:
        base = Path(env)
    else:
        from platformdirs import user_state_dir
        base = Path(user_state_dir("chatwizard"))
    return base / "training" / name / "host.json"


def _manifest() -> dict:
    import yaml
    text = resources.files("wizard.training.data").joinpath("files.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _data_file(name: str) -> bytes:
    return resources.files("wizard.training.data").joinpath(name).read_bytes()


def data_text(name: str) -> str:
    """A file of the starting content (wizard/training/data), as text."""
    return _data_file(name).decode("utf-8")


class SimHost:
    """The simulated machine: files, packages, services, firewall, and what was run on it."""

    def __init__(self, path: str | os.PathLike | None = None, *, scenario: str | None = None):
        from . import scenarios
        self.path = Path(path) if path is not None else None
        self.scenario = scenarios.get(scenario)          # default: the standard CentOS 7 lab
        self.lock = threading.RLock()
        self.known_names: set[str] = set()     # inventory addresses: they resolve to this host
        self._build()

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        self.fs = FileSystem(groups_of=self.groups_of)
        self.history: list[dict] = []
        self.state: dict = {}
        self._seed()
        self._saved_at = self._mark()

    def _seed(self) -> None:
        from .admin import initial_state
        from .shell import COMMANDS
        m = _manifest()
        if self.scenario.prepare is not None:
            self.scenario.prepare(m)
        self.state = initial_state(m)
        self.state["scenario"] = self.scenario.name
        owners = sorted(((p, o.split(":")) for p, o in m.get("owners", {}).items()),
                        key=lambda x: -len(x[0]))

        def owner_for(path: str) -> tuple[str, str]:
            for prefix, (u, g) in owners:
                if path == prefix or path.startswith(prefix + "/"):
                    return u, g
            return "root", "root"

        def ensure_parents(path: str) -> None:
            cur = "/"
            for part in [p for p in posixpath.dirname(path).split("/") if p]:
                cur = posixpath.join(cur, part)
                if cur not in self.fs.nodes:
                    u, g = owner_for(cur)
                    self.fs.put(cur, Node("d", mode=0o755, owner=u, group=g))

        for path, e in m["files"].items():
            ensure_parents(path)
            u, g = owner_for(path)
            u, g = e.get("owner", u), e.get("group", e.get("owner", g))
            mode = int(str(e["mode"]), 8) if "mode" in e else None
            if "link" in e:
                node = Node("l", mode=0o777, owner=u, group=g, target=e["link"])
            elif e.get("dir"):
                old = self.fs.nodes.get(path)
                node = Node("d", mode=mode or 0o755, owner=u, group=g)
                if old is not None:
                    old.mode, old.owner, old.group = node.mode, u, g
                    continue
            elif e.get("dev"):
                node = Node("c", mode=mode or 0o666, owner=u, group=g)
            else:
                data = (e["text"].encode() if "text" in e else base64.b64decode(e["b64"]) if "b64" in e
                        else _data_file(e["from"]))
                node = Node("f", data, mode or 0o644, u, g)
            self.fs.put(path, node)
        # /etc/passwd and /etc/group from the user table
        users, groups = self.state["users"], self.state["groups"]
        passwd = "".join(f"{n}:x:{v[0]}:{groups[v[1]][0]}::{v[2]}:{v[3]}\n" for n, v in users.items())
        group = "".join(f"{n}:x:{v[0]}:{','.join(v[1])}\n" for n, v in groups.items())
        self.fs.write("/etc/passwd", passwd.encode())
        self.fs.write("/etc/group", group.encode())
        self.fs.write("/etc/shadow", b"".join(f"{n}:!!:19000:0:99999:7:::\n".encode() for n in users),
                      mode=0o000)
        # an executable for every simulated command that is part of the base system
        for name, spec in COMMANDS.items():
            if spec.path and not spec.package:
                ensure_parents(spec.path)
                if spec.path not in self.fs.nodes:
                    self.fs.put(spec.path, Node("f", f"# training host: {name}\n".encode(), 0o755))
        for pkg in list(self.state["packages"]):
            self.install_files(pkg)
        if self.state["el"] == "6":             # no systemd on CentOS 6
            for path in ("/usr/bin/systemctl", "/usr/bin/journalctl"):
                self.fs.remove(path)

    def install_files(self, pkg: str) -> None:
        """Files a package brings: the executables of simulated commands it provides."""
        from .shell import COMMANDS
        for name, spec in COMMANDS.items():
            if spec.package and pkg in spec.package and spec.path:
                self.fs.makedirs(posixpath.dirname(spec.path))
                if spec.path not in self.fs.nodes:
                    self.fs.put(spec.path, Node("f", f"# training host: {name} ({pkg})\n".encode(), 0o755))

    def reset(self) -> None:
        """Back to the starting content (and save it, when this host has a state file)."""
        with self.lock:
            self._build()
            self.changed()
            self.save_if_changed()

    # -- users ----------------------------------------------------------------------------
    def groups_of(self, user: str) -> tuple[str, ...]:
        users, groups = self.state.get("users", {}), self.state.get("groups", {})
        if user not in users:
            return ()
        return (users[user][1],) + tuple(g for g, v in groups.items() if user in v[1])

    def ensure_user(self, user: str) -> None:
        """A login user the inventory names exists on the training host (member of wheel)."""
        users, groups = self.state["users"], self.state["groups"]
        if user in users:
            return
        uid = max([v[0] for v in users.values() if v[0] < 60000] + [1000]) + 1
        groups.setdefault(user, [uid, []])
        if user not in groups["wheel"][1]:
            groups["wheel"][1].append(user)
        users[user] = [uid, user, f"/home/{user}", "/bin/bash"]
        passwd = self.fs.nodes["/etc/passwd"]
        passwd.data += f"{user}:x:{uid}:{groups[user][0]}::/home/{user}:/bin/bash\n".encode()
        grp = "".join(f"{n}:x:{v[0]}:{','.join(v[1])}\n" for n, v in groups.items())
        self.fs.nodes["/etc/group"].data = grp.encode()
        if f"/home/{user}" not in self.fs.nodes:
            self.fs.mkdir(f"/home/{user}", mode=0o700, owner=user, group=user)
        self.changed()

    def home(self, user: str) -> str:
        return self.state["users"].get(user, [0, "", "/", ""])[2]

    # -- persistence ----------------------------------------------------------------------
    def changed(self) -> None:
        self.state["generation"] = self.state.get("generation", 0) + 1

    def _mark(self) -> tuple[int, int]:
        return self.fs.changes, self.state.get("generation", 0)

    def to_json(self) -> dict:
        return {"version": STATE_VERSION, "state": self.state, "files": self.fs.to_json(),
                "history": self.history[-HISTORY_KEPT:]}

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the whole host as JSON (atomically: temp file + rename)."""
        with self.lock:
            target = Path(path) if path is not None else self.path
            if target is None:
                raise ValueError("this SimHost has no state file; pass a path")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # it holds file contents
            with open(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_json(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            if path is None or target == self.path:
                self._saved_at = self._mark()
            return target

    def save_if_changed(self) -> None:
        if self.path is not None and self._mark() != self._saved_at:
            self.save()

    @classmethod
    def load(cls, path: str | os.PathLike, *, keep_path: bool = True, scenario: str | None = None) -> "SimHost":
        """A host from a file written by save(); a missing, unreadable or older file, or one
        of another scenario, gives a fresh host (the file is then rewritten on the first change)."""
        host = cls(path if keep_path else None, scenario=scenario)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION or \
                    data["state"].get("scenario", "centos7") != host.scenario.name:
                return host
            fs = FileSystem(groups_of=host.groups_of)
            fs.load_json(data["files"])
            host.fs, host.state, host.history = fs, data["state"], data.get("history", [])
            host._saved_at = host._mark()
        except (OSError, ValueError, KeyError, FsError):
            pass
        return host

    _shared: dict[str, "SimHost"] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls, path: str | os.PathLike | None = None) -> "SimHost":
        """The one SimHost of this process for a state file (default: the active scenario's
        in the tool's state dir)."""
        from . import scenarios
        name = scenarios.active().name
        p = Path(path) if path is not None else default_state_file(name)
        key = str(p.absolute())
        with cls._shared_lock:
            host = cls._shared.get(key)
            if host is None:
                host = cls.load(p, scenario=name) if p.exists() else cls(p, scenario=name)
                cls._shared[key] = host
            return host

    @classmethod
    def forget_shared(cls) -> None:
        """Drop the per-process hosts (tests); the files stay."""
        with cls._shared_lock:
            cls._shared.clear()

    # -- running --------------------------------------------------------------------------
    def execute(self, command: str, *, user: str = "root", stdin: bytes | None = None,
                on_output: OutputCallback | None = None, path_var: str | None = None,
                who: str = "", merge: bool = False) -> tuple[int, str, str]:
        """Run a command line on this host: (exit code, stdout, stderr)."""
        from .shell import run_command
        with self.lock:
            calls: list = []
            rc, out, err = run_command(self, command, user=user, stdin=stdin, on_output=on_output,
                                       path_var=path_var, calls=calls, merge=merge)
            self.history.append({"t": round(time.time(), 3), "host": who, "user": user,
                                 "command": masking.mask(command), "rc": rc,
                                 "calls": [{"argv": [masking.mask(a) for a in argv], "rc": c}
                                           for argv, c in calls]})
            if len(self.history) > 2 * HISTORY_KEPT:
                del self.history[:-HISTORY_KEPT]
            if self._mark() != self._saved_at:
                self.save_if_changed()
            return rc, out, err

    def pause(self, seconds: float) -> None:
        """`sleep` on the training host: no real wait beyond SLEEP_CAP, but the host is let go
        meanwhile, so another connection (a parallel host of the run) can change files."""
        depth = 0
        while True:
            try:
                self.lock.release()
            except RuntimeError:
                break
            depth += 1
        try:
            time.sleep(min(seconds, SLEEP_CAP))
        finally:
            for _level in range(depth):
                self.lock.acquire()

    def calls(self, name: str | None = None) -> list[list[str]]:
        """Every simple command run so far (argv lists), optionally only those named `name`."""
        out = []
        for h in self.history:
            for c in h["calls"]:
                if name is None or posixpath.basename(c["argv"][0]) == name:
                    out.append(c["argv"])
        return out

    # -- conveniences for tests and the UI --------------------------------------------------
    def read(self, path: str) -> bytes | None:
        node = self.fs.get(path)
        return node.data if node is not None and node.kind == "f" else None

    def exists(self, path: str) -> bool:
        return self.fs.get(path) is not None


def connect(spec: HostSpec, *, accept: tuple[str, ...] = (),
            ask: Callable[[HostKeyError], bool] | None = None) -> "SimTransport":
    """A connection to the active scenario's host. Where the scenario's host key is not
    trusted yet (unknown-host-key), its fingerprint must be in `accept` or `ask` must say
    yes, as over SSH; the answer is kept with the host (reset forgets it)."""
    host = SimHost.shared()
    scenario = host.scenario
    if scenario.ask_host_key:
        fp = scenario.host_key_fingerprint()
        with host.lock:
            known = fp in host.state.setdefault("trusted_host_keys", [])
        if not known:
            err = HostKeyError(_("{host}: unknown host key ssh-ed25519 {fingerprint}. Compare it with the "
                                 "server's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on its console) "
                                 "and accept it only if they match.").format(host=spec.name, fingerprint=fp),
                               host=spec.address or spec.name, fingerprint=fp, changed=False)
            trusted = fp in accept or (ask is not None and bool(ask(err)))
            with host.lock:
                host.state.setdefault("host_key_log", []).append(
                    {"host": spec.name, "fingerprint": fp, "trusted": trusted})
                if trusted:
                    host.state["trusted_host_keys"].append(fp)
                host.changed()
                host.save_if_changed()
            if not trusted:
                raise err
    return SimTransport(spec, state=host)


class SimTransport:
    """The Transport interface over a SimHost."""

    training = True

    @property
    def banner(self) -> str:
        return BANNER_EL6 if self.host.state.get("el", "7") == "6" else BANNER

    @property
    def negotiated(self) -> dict:
        """What an SSH connection to this host would negotiate, as far as the engineer is
        told: the legacy SHA-1 algorithms an old OpenSSH leaves (CentOS 6), the host key."""
        sc = self.host.scenario
        return {"sha1": list(sc.legacy_ssh), "host_key_fingerprint": sc.host_key_fingerprint(),
                "server_version": "SSH-2.0-OpenSSH_5.3" if self.host.state.get("el") == "6"
                else "SSH-2.0-OpenSSH_7.4"}

    def __init__(self, spec: HostSpec, *, state: SimHost | None = None, delay: float = 0.0):
        self.spec = spec
        self.host = state if state is not None else SimHost.shared()
        self.delay = delay
        self._closed = False
        self.user = "root" if spec.become == "root" or not spec.user else spec.user
        with self.host.lock:
            self.host.known_names.update(n for n in (spec.address, spec.name) if n)
            if self.user != "root":
                self.host.ensure_user(self.user)
                self.host.save_if_changed()

    def _check(self) -> None:
        if self._closed:
            raise TransportError(_("{host}: the training host connection is closed").format(
                host=self.spec.name))

    def run(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputCallback | None = None,
            display: str | None = None) -> CommandResult:
        self._check()
        shown = display if display is not None else masking.mask(command)
        user = "root" if sudo or self.user == "root" else self.user
        via_sudo = sudo and self.user != "root"
        path_var = SUDO_PATH if via_sudo else None      # sudoers' secure_path: no /usr/local/bin
        if via_sudo and not self._sudoer():
            line = f"{self.user} is not in the sudoers file.  This incident will be reported."
            if on_output is not None:
                on_output("out", line)
            return CommandResult(shown, 1, line + "\n", "", 0.0)
        cb = None
        if on_output is not None:
            cb = lambda stream, line: on_output(stream, masking.mask(line))
        t0 = time.monotonic()
        rc, out, err = self.host.execute(command, user=user, stdin=stdin, on_output=cb,
                                         path_var=path_var, who=self.spec.name, merge=via_sudo)
        if self.delay:
            time.sleep(self.delay)
        return CommandResult(shown, rc, out, err, time.monotonic() - t0)

    def _sudoer(self) -> bool:
        return self.user in self.host.state["groups"].get("wheel", [0, []])[1]

    def read_file(self, path: str, *, sudo: bool = False) -> bytes | None:
        self._check()
        user = "root" if sudo and (self.user == "root" or self._sudoer()) else self.user
        with self.host.lock:
            try:
                real, node = self.host.fs.lookup(path, user=user)
            except FsError as e:
                if e.code in ("ENOENT", "ENOTDIR"):
                    return None
                raise TransportError(_("{host}: cannot read {path}: {reason}").format(
                    host=self.spec.name, path=path, reason=e.strerror)) from e
            if node is None:
                return None
            if node.kind == "d":
                raise TransportError(_("{host}: cannot read {path}: {reason}").format(
                    host=self.spec.name, path=path, reason="Is a directory"))
            if not self.host.fs.allowed(node, user, "r"):
                raise TransportError(_("{host}: cannot read {path}: {reason}").format(
                    host=self.spec.name, path=path, reason="Permission denied"))
            return node.data

    def stat(self, path: str) -> FileStat:
        self._check()
        with self.host.lock:
            node = self.host.fs.get(path)
            if node is None:
                return FileStat(path, False)
            return FileStat(path, True, node.kind == "d", node.mode & 0o7777, node.owner, node.group)

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, owner: str | None = None,
                   group: str | None = None, backup: bool = True) -> WriteResult:
        self._check()
        fs = self.host.fs
        with self.host.lock:
            try:
                parent = fs.resolve(posixpath.dirname(path) or "/")
                pnode = fs.nodes.get(parent)
                if pnode is None or pnode.kind != "d":
                    raise FsError("ENOENT" if pnode is None else "ENOTDIR", posixpath.dirname(path))
                real = posixpath.join(parent, posixpath.basename(path))
                old = fs.nodes.get(real)
                if old is not None and old.kind == "d":
                    raise FsError("EISDIR", path)
                users = self.host.state["users"]
                if owner is not None and owner not in users:
                    raise TransportError(_("{host}: cannot write {path}: {reason}").format(
                        host=self.spec.name, path=path, reason=_("no user {name}").format(name=repr(owner))))
                if group is not None and group not in self.host.state["groups"]:
                    raise TransportError(_("{host}: cannot write {path}: {reason}").format(
                        host=self.spec.name, path=path, reason=_("no group {name}").format(name=repr(group))))
                saved = None
                if backup and old is not None:
                    saved = self._backup(real, path, old)
                if owner is None:
                    owner = old.owner if old is not None and old.kind == "f" else "root"
                if group is None:
                    group = (old.group if old is not None and old.kind == "f" and owner == old.owner
                             else users[owner][1])
                fs.put(real, Node("f", bytes(data), mode & 0o7777, owner, group))
            except FsError as e:
                raise TransportError(_("{host}: cannot write {path}: {reason}").format(
                    host=self.spec.name, path=path, reason=e.strerror)) from e
            self.host.history.append({"t": round(time.time(), 3), "host": self.spec.name,
                                      "user": "root", "command": f"write {path}", "rc": 0,
                                      "calls": []})
            self.host.save_if_changed()
            return WriteResult(path, saved)

    def _backup(self, real: str, shown: str, old: Node) -> str:
        fs = self.host.fs
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        dest = posixpath.join(BACKUP_ROOT, stamp, shown.lstrip("/"))
        n = 1
        while dest in fs.nodes:             # two writes of one file within a second
            dest = posixpath.join(BACKUP_ROOT, f"{stamp}.{n}", shown.lstrip("/"))
            n += 1
        fs.makedirs(posixpath.dirname(dest), mode=0o700)
        copy = old.copy()
        if copy.kind == "l":                # the old "file" was a symlink: keep its target's bytes
            target = fs.get(real)
            copy = Node("f", target.data if target else b"", 0o644, old.owner, old.group)
        fs.put(dest, copy)
        return dest

    def close(self) -> None:
        self._closed = True
