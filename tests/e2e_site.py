"""A whole test site for a sample answers file: chat, LB, DATA, TEL and WEB test hosts, the
sample's inventory mapped onto them, and `chatwizard` run as an engineer runs it.

    site = Site.start(host_factory, tmp_path, ["centos7-https-whatsapp.yaml"], "centos7")
    answers = site.answers("centos7-https-whatsapp.yaml")   # addresses -> 10.200.N.2
    run = site.apply(answers)                                # chatwizard apply --yes
    run.written, run.backups                                 # from its output
    snap = site.snapshot(run.written)                        # shim calls, file hashes, state
    ...
    site.changes_since(snap)                                 # what a replay changed

Every host of every named sample is started at once (host_factory.many), then made into
what the procedure assumes is already there: haproxy running on the LB with the portal's
configuration and a certificate, the follow-up scripts on DATA/WEB, the listener service on
TEL, the members' own hazelcast.xml for the legacy layout, the sample's login user (with its
sudo password) on the chat servers, the RPM a `java.source: rpm` site copies there. The
sample is rewritten only where it must be: each inventory address becomes its test host's
IP (reached through `Host <ip>` blocks in a private ~/.ssh/config) and, with WhatsApp,
`whatsapp.api_base` points at the local TynTec stand-in (TLS, trusted via SSL_CERT_FILE).
"""
from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat as stat_mod
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SAMPLES = REPO / "answers"
PORTAL_CFG = (HERE / "data" / "haproxy" / "portal_lb.cfg").read_bytes()

HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
HAPROXY_PEM = "/etc/haproxy/haproxy.pem"
SHARED = "/home/jtel/shared"
CM_SOURCE = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
CM_TARGET = "/home/jtel/ClientMessenger"
LEGACY_HZ = "/home/jtel/PlatformUDPlistener/conf/hazelcast.xml"
TEL_SERVICE = "PlatformUDPListener"
BACKUP_ROOT = "/var/lib/chatwizard/backups"

# secrets with every character the shell, Connector/J's URL decoding or YAML care about
DB_PASSWORD = "db r00t&%+# 'x\"$\\;`!"
SSH_PASSWORD = "Adm1n p&ss'\"$\\%#+"
TYNTEC_KEY = "tt-Key-samples-5e0c41d9"
MASTER_PASSWORD = "master-pw-for-tests"

# the chat servers run the real init script (the fake JDK records the JVM's argv)
CHAT_CONFIG = {"exec_init_scripts": True, "java_listen_port": 0}


# ------------------------------------------------------------------ the commands a replay may run

def read_only(call: dict) -> bool:
    """Whether a shim-recorded command only looks (rpm -q, java -version, firewall-cmd
    --state/--query-*, iptables -S, chkconfig --list, service X status, systemctl is-active)."""
    cmd, argv = call["cmd"], call["argv"]
    if cmd == "rpm":
        return bool(argv) and argv[0].startswith("-q")
    if cmd == "java":
        return argv == ["-version"]
    if cmd == "firewall-cmd":
        return bool(argv) and all(a in ("--state", "--permanent") or a.startswith(
            ("--query-", "--zone=", "--list-", "--get-")) for a in argv)
    if cmd == "iptables":
        return bool(argv) and argv[0] in ("-S", "-L", "-C", "--list", "--list-rules")
    if cmd == "iptables-save":
        return True
    if cmd == "chkconfig":
        return argv[:1] == ["--list"]
    if cmd == "service":
        return argv[1:2] == ["status"] or argv[:1] == ["--status-all"]
    if cmd == "systemctl":
        return argv[:1] in (["is-active"], ["is-enabled"], ["status"], ["show"])
    if cmd in ("getenforce", "getsebool"):
        return True
    return False


# ------------------------------------------------------------------ a chatwizard run

_WROTE = re.compile(r"^\[(?P<host>[^\]]+)\]\s+wrote (?P<path>\S+)(?: \(backup (?P<backup>\S+)\))?$")
_BACKUP = re.compile(r"^  (?P<host>\S+): (?P<path>\S+) -> (?P<backup>\S+)$")


@dataclass
class Run:
    """One `chatwizard` process: exit code, output, and what its output says it wrote."""

    args: tuple
    rc: int
    out: str
    err: str
    seconds: float
    written: list[tuple[str, str]] = field(default_factory=list)          # (host, path)
    backups: list[tuple[str, str, str]] = field(default_factory=list)     # (host, path, backup)

    def __post_init__(self):
        in_backups = False
        for line in self.out.splitlines():
            m = _WROTE.match(line)
            if m:
                self.written.append((m["host"], m["path"]))
                continue
            if line == "backups:":
                in_backups = True
                continue
            m = _BACKUP.match(line) if in_backups else None
            if m:
                self.backups.append((m["host"], m["path"], m["backup"]))
            else:
                in_backups = False

    def __str__(self) -> str:
        return f"chatwizard {' '.join(map(str, self.args))}: exit {self.rc}\n{self.out}\n{self.err}"


class CLI:
    """A private HOME (ssh config, an RSA key as ~/.ssh/id_rsa), keyring file, state and
    log folders: one engineer's machine."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.home = tmp / "home"
        (self.home / ".ssh").mkdir(parents=True, mode=0o700)
        self.state, self.logs = tmp / "state", tmp / "logs"
        self.vars = dict(os.environ, HOME=str(self.home), CHATWIZARD_STATE_DIR=str(self.state),
                         CHATWIZARD_LOG_DIR=str(self.logs), CHATWIZARD_KEYRING="file",
                         CHATWIZARD_KEYRING_FILE=str(tmp / "keyring.json"),
                         CHATWIZARD_KEYRING_PASSWORD=MASTER_PASSWORD,
                         XDG_DATA_HOME=str(tmp / "data"), PYTHONPATH=str(REPO))
        self.vars.pop("SSH_AUTH_SOCK", None)
        self.key = self.home / ".ssh" / "id_rsa"
        self.public_key = ""

    def make_key(self) -> None:
        """The engineer's own ~/.ssh/id_rsa (the samples' key_file)."""
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C",
                        "engineer@laptop", "-f", str(self.key)], check=True)
        self.public_key = (self.home / ".ssh" / "id_rsa.pub").read_text()

    def run(self, *args, stdin: str = "", timeout: float = 300) -> Run:
        import time
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "wizard.cli", *map(str, args)], input=stdin,
                           text=True, capture_output=True, env=self.vars, cwd=self.home,
                           timeout=timeout)
        return Run(args, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)

    def secret(self, key: str, value: str) -> None:
        r = self.run("secret", "set", key, stdin=value + "\n")
        assert r.rc == 0, str(r)


# ------------------------------------------------------------------ the site

def load_sample(name: str) -> dict:
    return yaml.safe_load((SAMPLES / name).read_text("utf-8"))


def _roles(samples: list[dict]) -> dict[str, list[str]]:
    """Inventory name -> roles, over every sample (in first-seen order)."""
    out: dict[str, list[str]] = {}
    for s in samples:
        for name, h in s["inventory"]["hosts"].items():
            out.setdefault(name, list(h["roles"]))
    return out


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


class Site:
    """Test hosts named like a sample's inventory, prepared as a live portal would be."""

    def __init__(self, host_factory, tmp_path: Path, samples: list[str], flavor: str):
        self.tmp = tmp_path
        self.flavor = flavor
        self.samples = {n: load_sample(n) for n in samples}
        self.roles = _roles(list(self.samples.values()))
        self.cli = CLI(tmp_path)
        self.hosts: dict = {}
        self.api = None
        self.originals: dict[tuple[str, str], bytes | None] = {}
        self._host_factory = host_factory

    # -- start ----------------------------------------------------------------------------
    @classmethod
    def start(cls, host_factory, tmp_path: Path, samples: list[str], flavor: str) -> "Site":
        site = cls(host_factory, tmp_path, samples, flavor)
        first = next(iter(site.samples.values()))
        portal = first.get("portal") or {}
        version = str(portal.get("version") or "3.26")
        layout = "legacy" if (first.get("hazelcast") or {}).get("layout") == "legacy" else "shared"
        whatsapp = any((s.get("whatsapp") or {}).get("enabled") for s in site.samples.values())
        specs, datadirs = [], iter(["local", "mounted"] * 4)
        for name, roles in site.roles.items():
            spec = dict(flavor=flavor, hostname=name)
            if roles == ["LB"]:
                spec["jtel"] = False
            else:
                spec.update(portal_version=version, hazelcast_layout=layout)
            if "CHAT" in roles:
                spec["config"] = dict(CHAT_CONFIG)
                if whatsapp:
                    spec["datadir"] = next(datadirs)       # one local, one mounted data folder
            specs.append(spec)
        # the engineer's key and keyring (scrypt per write) are made while the hosts start
        with ThreadPoolExecutor(max_workers=1) as bg:
            engineer = bg.submit(site._store_secrets)
            started = host_factory.many(specs)
            engineer.result()
        site.hosts = dict(zip(site.roles, started))
        if whatsapp:
            site._start_tyntec()
        with ThreadPoolExecutor(max_workers=len(site.hosts)) as pool:
            list(pool.map(site._prepare, site.hosts))
        (site.cli.home / ".ssh" / "config").write_text(
            "".join(th.ssh_config_block(th.host) for th in site.hosts.values()))
        return site

    def _store_secrets(self) -> None:
        self.cli.make_key()
        refs = set()
        for s in self.samples.values():
            refs |= set(re.findall(r"keyring:([A-Za-z0-9_./@:-]+)", yaml.safe_dump(s)))
        for key in sorted(refs):
            value = (DB_PASSWORD if key.startswith("db/") else TYNTEC_KEY if key.startswith("tyntec/")
                     else SSH_PASSWORD)
            self.cli.secret(key, value)

    def _start_tyntec(self) -> None:
        from tyntec_standin import TyntecStandin, self_signed
        folder = self.tmp / "tyntec-tls"
        folder.mkdir()
        cert, key, _ = self_signed(folder)
        self.cli.vars["SSL_CERT_FILE"] = cert
        self.api = TyntecStandin(TYNTEC_KEY, certfile=cert, keyfile=key).start()

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()

    def _host_cfg(self, name: str) -> dict:
        for s in self.samples.values():
            if name in s["inventory"]["hosts"]:
                return s["inventory"]["hosts"][name]
        raise KeyError(name)

    def _prepare(self, name: str) -> None:
        """Files from the machine side; what needs the host's own tools in one SSH session."""
        th, roles, h = self.hosts[name], self.roles[name], self._host_cfg(name)
        script: list[str] = []
        q = shlex.quote
        if "LB" in roles:
            from tyntec_standin import self_signed
            # the portal's own config is there before the package (rpm keeps a %config file)
            th.write(HAPROXY_CFG, PORTAL_CFG, mode=0o640)
            folder = self.tmp / f"lb-{name}"
            folder.mkdir()
            th.write(HAPROXY_PEM, Path(self_signed(folder, names=("jtel-portal",))[2]).read_bytes(),
                     mode=0o600)
            script += ["yum -y install haproxy", f"chgrp haproxy {HAPROXY_CFG}",
                       "systemctl start haproxy" if self.flavor == "centos7" else "service haproxy start"]
        if "DATA" in roles:
            th.write("/usr/local/bin/updatepl.sh",
                     "#!/bin/sh\necho ran >> /var/log/updatepl.log\n", 0o755)
        if "WEB" in roles:
            th.write("/usr/local/bin/updatejb.sh",
                     "#!/bin/sh\necho ran >> /var/log/updatejb.log\n", 0o755)
        if "TEL" in roles:
            th.write(f"/etc/rc.d/init.d/{TEL_SERVICE}",
                     "#!/bin/sh\n# testhost-stub\n# chkconfig: - 85 15\n"
                     f"exec /usr/sbin/service {TEL_SERVICE} \"$@\"\n", 0o755)
        if set(roles) & {"DATA", "TEL", "WEB"} and not th.exists(f"{SHARED}/hazelcast.xml"):
            # legacy layout: each member keeps its own copy (the install tree's, cp -a'd)
            th.write(LEGACY_HZ, th.read(f"{CM_SOURCE}/conf/hazelcast.xml"), 0o644, "jtel")
        if "CHAT" in roles:
            user = h.get("user") or "root"
            home = "/root" if user == "root" else f"/home/{user}"
            if user not in ("root", "tester", "jtel"):      # the sample's admin login, in wheel
                script += [f"useradd -m -s /bin/bash -G wheel {q(user)}",
                           f"install -d -m 700 -o {q(user)} -g {q(user)} {home}/.ssh",
                           f"install -m 600 -o {q(user)} -g {q(user)} "
                           f"/home/tester/.ssh/authorized_keys {home}/.ssh/authorized_keys"]
            if h.get("password"):
                script.append(f"printf '%s\\n' {q(f'{user}:{SSH_PASSWORD}')} | chpasswd")
            if h.get("key_file"):                          # the engineer's ~/.ssh/id_rsa
                script.append(f"printf '%s' {q(self.cli.public_key)} >> {home}/.ssh/authorized_keys")
            java = next(iter(self.samples.values())).get("java") or {}
            if java.get("source") == "rpm":               # copied to the server beforehand
                th.write(java["rpm_path"], b"\xed\xab\xee\xdb fake jdk-8u202 rpm\n", 0o644)
        if script:
            rc, out, err = th.run("set -e\n" + "\n".join(script))
            assert rc == 0, f"{name}: {script}: {out}{err}"

    # -- answers ----------------------------------------------------------------------------
    def answers(self, sample: str, out_name: str | None = None) -> Path:
        """The sample with each inventory address replaced by its test host's IP and, with
        WhatsApp, api_base pointing at the stand-in; everything else as written."""
        text = (SAMPLES / sample).read_text("utf-8")
        for name, h in self.samples[sample]["inventory"]["hosts"].items():
            text, n = re.subn(rf"(address:\s*){re.escape(str(h['address']))}(?=\s*[,}}\n])",
                              rf"\g<1>{self.hosts[name].host}", text)
            assert n == 1, (sample, name, n)
        if (self.samples[sample].get("whatsapp") or {}).get("enabled"):
            text, n = re.subn(r"(?m)^whatsapp:\n", f"whatsapp:\n  api_base: {self.api.base}\n", text)
            assert n == 1
        path = self.tmp / (out_name or sample)
        path.write_text(text, "utf-8")
        return path

    # -- running ----------------------------------------------------------------------------
    def apply(self, answers: Path, *extra) -> Run:
        return self.cli.run("apply", answers, "--yes", *extra)

    def remember(self, paths: dict[str, list[str]]) -> None:
        """Keep the content of files before the first run (to compare backups with)."""
        for name, ps in paths.items():
            th = self.hosts[name]
            for p in ps:
                self.originals[(name, p)] = th.read(p, binary=True) if th.exists(p) else None

    # -- looking --------------------------------------------------------------------------
    def file_state(self, name: str, path: str):
        """(sha256, mode, uid, gid) of a file, or None when absent."""
        th = self.hosts[name]
        if not th.exists(path):
            return None
        st = th.stat(path)
        return _sha(th.read(path, binary=True)), stat_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid

    def tree_state(self, name: str, root: str) -> dict:
        """Path -> (sha256 or 'dir', mode, uid, gid) of everything under root."""
        th = self.hosts[name]
        base = th.path(root)
        out = {}
        for d, dirs, files in os.walk(base):
            for n in dirs + files:
                full = os.path.join(d, n)
                st = os.lstat(full)
                rel = root + full[len(base):]
                kind = "dir" if stat_mod.S_ISDIR(st.st_mode) else (
                    _sha(open(full, "rb").read()) if stat_mod.S_ISREG(st.st_mode) else os.readlink(full))
                out[rel] = (kind, stat_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        return out

    def snapshot(self, written: list[tuple[str, str]], trees: dict[str, list[str]] = ()) -> dict:
        state = {"calls": {n: len(th.calls()) for n, th in self.hosts.items()},
                 "files": {(n, p): self.file_state(n, p) for n, p in written},
                 "trees": {(n, r): self.tree_state(n, r) for n, rs in dict(trees).items() for r in rs},
                 "shim": {n: self._shim(th) for n, th in self.hosts.items()},
                 "tyntec": len(self.api.patches()) if self.api else 0}
        return state

    @staticmethod
    def _shim(th) -> dict:
        s = th.shim_state() or {}
        return {k: s.get(k) for k in ("packages", "firewall", "iptables")} | {
            "services": {n: {k: v for k, v in st.items() if k in ("enabled", "running")}
                         for n, st in (s.get("services") or {}).items()}}

    def changes_since(self, before: dict) -> list[str]:
        """Everything that differs from `before`: changing commands, files, trees, the shim's
        packages/services/firewall, TynTec PATCHes."""
        after = self.snapshot(list(before["files"]), {})
        out = []
        for n, th in self.hosts.items():
            for c in th.calls()[before["calls"][n]:]:
                if not read_only(c):
                    out.append(f"{n}: ran {c['cmd']} {' '.join(c['argv'])}")
        for key, was in before["files"].items():
            if after["files"][key] != was:
                out.append(f"{key[0]}: {key[1]} changed: {was} -> {after['files'][key]}")
        for (n, root), was in before["trees"].items():
            now = self.tree_state(n, root)
            for p in sorted(set(was) | set(now)):
                if was.get(p) != now.get(p):
                    out.append(f"{n}: {p} changed: {was.get(p)} -> {now.get(p)}")
        for n, was in before["shim"].items():
            for part, old in was.items():
                new = after["shim"][n][part]
                if new != old:
                    keys = sorted(k for k in set(old or {}) | set(new or {})
                                  if (old or {}).get(k) != (new or {}).get(k))
                    out.append(f"{n}: {part} changed: " + "; ".join(
                        f"{k}: {(old or {}).get(k)} -> {(new or {}).get(k)}" for k in keys))
        if after["tyntec"] != before["tyntec"]:
            out.append(f"TynTec got {after['tyntec'] - before['tyntec']} more PATCH(es)")
        return out
