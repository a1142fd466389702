"""The sample site on disposable test hosts, and an engineer's private environment.

    with Site.start(factory, tmp) as site:       # 5 CentOS 7 test hosts + TynTec stand-in
        site.cli("apply", site.answers, "--yes")  # `chatwizard apply` as a subprocess

The answers file is answers/centos7-https-whatsapp.yaml as shipped, with one line added
(whatsapp.api_base: the local TynTec stand-in). The inventory addresses stay as in the
sample (10.0.0.x); a private ~/.ssh/config maps each of them to its test host
(`Host 10.0.0.21` → HostName 10.200.N.2), with one engineer key (~/.ssh/id_rsa, the
sample's key_file) authorized for root on every host, and each host's own known_hosts.
The same config serves OpenSSH (`ssh -F`), so the plain-shell comparison and the wizard
reach the hosts the same way.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
for p in (str(ROOT), str(TESTS), str(TESTS / "testhost")):
    if p not in sys.path:
        sys.path.insert(0, p)

SAMPLE = ROOT / "answers" / "centos7-https-whatsapp.yaml"
# the wizard the CLI runs are timed with: this checkout, or another one (BENCH_WIZARD_ROOT, e.g.
# an older commit exported with `git archive`) to compare two versions with the same bench
WIZARD_ROOT = Path(os.environ.get("BENCH_WIZARD_ROOT") or ROOT).resolve()
HAPROXY_CFG = TESTS / "data" / "haproxy" / "portal_lb.cfg"
DB_PASSWORD = "db r00t&%+# 'x\"$\\"
TYNTEC_KEY = "tt-Key-bench-7f3a9c2e51d04b88"
TEL_SERVICE = "PlatformUDPListener"


def sample_hosts() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Inventory of the sample: name -> (address, roles)."""
    import yaml
    data = yaml.safe_load(SAMPLE.read_text())
    return {n: (h["address"], tuple(h["roles"])) for n, h in data["inventory"]["hosts"].items()}


def host_options(name: str, roles: tuple[str, ...]) -> dict:
    """TestHost options for one inventory host of the sample."""
    if "LB" in roles:
        return dict(flavor="centos7", jtel=False, hostname=name)
    if "CHAT" in roles:
        return dict(flavor="centos7", hostname=name, datadir="local")   # WhatsApp's data folder
    return dict(flavor="centos7", hostname=name)


def prepare_host(th, roles: tuple[str, ...], folder: Path) -> None:
    """What a real member of the site has and a fresh test host lacks (as the section tests
    set it up): the role follow-up scripts on DATA/TEL/WEB, haproxy with the portal's config
    and a certificate, running, on the LB."""
    if "DATA" in roles:
        th.write("/usr/local/bin/updatepl.sh", "#!/bin/sh\necho ran >> /var/log/updatepl.log\n", 0o755)
    if "WEB" in roles:
        th.write("/usr/local/bin/updatejb.sh", "#!/bin/sh\necho ran >> /var/log/updatejb.log\n", 0o755)
    if "TEL" in roles:
        th.write(f"/etc/rc.d/init.d/{TEL_SERVICE}",
                 "#!/bin/sh\n# testhost-stub\n# chkconfig: - 85 15\n"
                 f"exec /usr/sbin/service {TEL_SERVICE} \"$@\"\n", 0o755)
    if "LB" in roles:
        from tyntec_standin import self_signed
        rc, out, err = th.run("yum -y install haproxy")
        assert rc == 0, out + err
        th.write("/etc/haproxy/haproxy.cfg", HAPROXY_CFG.read_bytes(), mode=0o640, owner="root",
                 group="haproxy")
        d = folder / f"lb-cert-{th.name}"
        d.mkdir(parents=True, exist_ok=True)
        th.write("/etc/haproxy/haproxy.pem", Path(self_signed(d, names=("jtel-portal",))[2]).read_bytes(),
                 mode=0o600)
        rc, out, err = th.run("service haproxy start" if th.flavor == "centos6" else "systemctl start haproxy")
        assert rc == 0, out + err


class Engineer:
    """A private HOME (ssh config, key, keyring file), state and log folders: the machine an
    engineer runs `chatwizard` on."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.home = folder / "home"
        self.ssh = self.home / ".ssh"
        self.ssh.mkdir(parents=True, exist_ok=True)
        os.chmod(self.ssh, 0o700)
        self.key = self.ssh / "id_rsa"
        if not self.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "engineer",
                            "-f", str(self.key)], check=True)
        self.pubkey = (self.ssh / "id_rsa.pub").read_text()
        self.config = self.ssh / "config"
        self.state, self.logs = folder / "state", folder / "logs"
        self.vars = dict(os.environ, HOME=str(self.home), CHATWIZARD_STATE_DIR=str(self.state),
                         CHATWIZARD_LOG_DIR=str(self.logs), CHATWIZARD_KEYRING="file",
                         CHATWIZARD_KEYRING_FILE=str(folder / "keyring.json"),
                         CHATWIZARD_KEYRING_PASSWORD="bench-master-password",
                         XDG_DATA_HOME=str(folder / "data"), PYTHONPATH=str(WIZARD_ROOT))
        self.vars.pop("SSH_AUTH_SOCK", None)

    def authorize(self, th) -> None:
        """The engineer's key may log in as root on this test host."""
        path = "/root/.ssh/authorized_keys"
        th.write(path, th.read(path) + self.pubkey, mode=0o600)

    def ssh_config(self, hosts: dict) -> None:
        """`Host <inventory address>` blocks pointing at the test hosts ({address: TestHost})."""
        blocks = []
        for address, th in hosts.items():
            block = th.ssh_config_block(address, user="root")
            block = re.sub(r"IdentityFile .*", f"IdentityFile {self.key}", block)
            blocks.append(block + "    LogLevel ERROR\n")
        self.config.write_text("\n".join(blocks))

    def cli(self, *args, stdin: str = "", timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "wizard.cli", *map(str, args)], input=stdin,
                              text=True, capture_output=True, env=self.vars, cwd=self.home,
                              timeout=timeout)

    def cli_argv(self, *args) -> list[str]:
        return [sys.executable, "-m", "wizard.cli", *map(str, args)]

    def secret(self, key: str, value: str) -> None:
        p = self.cli("secret", "set", key, stdin=value + "\n")
        if p.returncode != 0:
            raise RuntimeError(f"secret set {key}: {p.stderr}")


class Standin:
    """The TynTec stand-in on https with a certificate the CLI trusts (SSL_CERT_FILE)."""

    def __init__(self, folder: Path):
        from tyntec_standin import TyntecStandin, self_signed
        folder.mkdir(parents=True, exist_ok=True)
        self.cert, key, _ = self_signed(folder)
        self.api = TyntecStandin(TYNTEC_KEY, certfile=self.cert, keyfile=key).start()

    @property
    def base(self) -> str:
        return self.api.base

    def reset(self) -> None:
        """Back to TynTec's starting state (webhooks not yet pointing at the portal)."""
        import copy

        from tyntec_standin import reference
        with self.api._lock:
            self.api.application = copy.deepcopy(reference("applications-get-default-response.json"))
            self.api.requests.clear()

    def stop(self) -> None:
        self.api.stop()


def sample_answers(path: Path, api_base: str) -> Path:
    """The sample with whatsapp.api_base pointing at the stand-in (the only change)."""
    text = SAMPLE.read_text()
    text = text.rstrip("\n") + f"\n  api_base: {api_base}\n"
    path.write_text(text)
    return path


class Site:
    """One copy of the sample site: its test hosts, by inventory name."""

    def __init__(self, hosts: dict, addresses: dict):
        self.hosts = hosts              # inventory name -> TestHost
        self.addresses = addresses      # inventory name -> sample address

    @classmethod
    def start(cls, factory, engineer: Engineer, folder: Path) -> "Site":
        inv = sample_hosts()
        names = list(inv)
        ths = factory.many([host_options(n, inv[n][1]) for n in names])
        hosts = dict(zip(names, ths))
        for n, th in hosts.items():
            engineer.authorize(th)
            prepare_host(th, inv[n][1], folder)
        return cls(hosts, {n: inv[n][0] for n in names})

    def by_address(self) -> dict:
        return {self.addresses[n]: th for n, th in self.hosts.items()}

    def stop(self) -> None:
        for th in self.hosts.values():
            th.stop()


def check_prerequisites() -> str | None:
    """Why test hosts cannot start here, or None."""
    if os.geteuid() != 0:
        return "test hosts need root (network namespaces, mounts)"
    missing = [p for p in ("/usr/sbin/sshd",) if not os.path.exists(p)]
    missing += [t for t in ("ip", "unshare", "setpriv", "ssh-keygen", "ssh") if not shutil.which(t)]
    if missing:
        return "missing: " + ", ".join(missing) + " (run scripts/setup-system.sh)"
    return None
