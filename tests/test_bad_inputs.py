"""Bad input is refused with a message naming the file, line, key and host, and changes
nothing on any host.

The corpus (tests/data/bad/) holds broken site files — hazelcast.xml, haproxy.cfg, the
ClientMessenger init script — and answers files beyond tests/data/answers_bad/ (which
tests/test_answers.py checks message by message, and which is not repeated here). Every
corpus file is first checked against the code that reads it (no hosts needed).

Then most of them, and broken site state that only a host shows (an unsupported OS, a share
not mounted, a missing script, service, folder or package, iptables without its filter
table, ...), go END TO END: one module-wide site of three test hosts — chat1 (CentOS 6,
logging in as a sudo user with the standard SUDO_PASSWORD), acd-dbm (CentOS 7, DATA) and lb1
(CentOS 7, running haproxy with the portal's configuration) — the bad file put in place on
its host, `chatwizard apply --yes` (or `plan`) run as an engineer runs it, and then:

- the exit code is the documented one (README "Exit codes": 3 answers, 8 plan error);
- the message names the host, the file and the line (for answers: the file, line and key);
- NOTHING changed on ANY host: every new shim call is a read-only one (rpm -q, service X
  status, iptables -S, ...), the trees the wizard writes to (/etc, /home, /root, /usr/local,
  /usr/java, /usr/lib/jvm, /srv, /opt, /tmp, /var/tmp) are the same entry for entry (type,
  mode, owner, size, mtime, inode — a written, replaced or created-and-removed file shows),
  the site files hash the same, the shim's package/service/firewall state is unchanged, and
  /var/lib/chatwizard (where backups go) does not exist.

Each case undoes what it put on the host, so one site serves every case; a case that changed
a host after all gets the next case a fresh site. The secret scan (tests/secretscan.py)
runs after every case (the site has `scan_hosts`, its folder is tracked).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import secretscan
from secretscan import DB_PASSWORD, KEYRING_PASSWORD, SUDO_PASSWORD, TYNTEC_API_KEY
from wizard import hazelcast_xml as hx
from wizard.answers import load as load_answers
from wizard.errors import EXIT_ANSWERS, EXIT_PLAN, AnswersError, PlanError
from wizard.haproxy_cfg import ChatServer, HaproxyConfigError
from wizard.haproxy_cfg import edit as haproxy_edit
from wizard.initscript import InitScriptError, configure, jdbc_url
from wizard.steps import hazelcast as hz_step

HERE = Path(__file__).resolve().parent
BAD = HERE / "data" / "bad"
PORTAL_CFG = (HERE / "data" / "haproxy" / "portal_lb.cfg").read_bytes()

SHARED = "/home/jtel/shared"
HZ = f"{SHARED}/hazelcast.xml"
LB_CFG = "/etc/haproxy/haproxy.cfg"
CM_SOURCE = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
INIT_SRC = f"{CM_SOURCE}/init.d/jtel-clientmessenger"
MANIFEST = f"{SHARED}/JTELCarrierPortal/WebServer/META-INF/MANIFEST.MF"
LOCAL_DATA = "/srv/jtel/shared/Data/Clients"
MOUNTED_DATA = "/home/jtel/shared/Data/clients"
UPDATEPL = "/usr/local/bin/updatepl.sh"
BACKUPS = "/var/lib/chatwizard"

# ====================================================================== the corpus
# Each table: corpus file -> (..., the message without its "host NAME: " prefix). The
# prefix is the host that holds the file; end to end the whole line is checked.

# hazelcast.xml of the DATA host (the shared master copy), as section 3 reads it
HAZELCAST = {
    "malformed.xml": f"{HZ}:12: not well-formed XML: Opening and ending tag mismatch: name line 12 and nam",
    "wrong_namespace.xml": f"{HZ}:6: the root element is <hazelcast> in namespace "
                           "http://www.hazelcast.com/schema/client-config; expected "
                           '<hazelcast xmlns="http://www.hazelcast.com/schema/config">',
    "no_namespace.xml": f"{HZ}:6: the root element is <hazelcast> without a namespace",
    "wrong_root.xml": f"{HZ}:6: the root element is <hazelcast-client> in namespace",
    "hazelcast-3.4.xml": f"{HZ}:6: the file is for Hazelcast 3.4; <ringbuffer>, which the chat server "
                         "needs, exists only from 3.5: upgrade the cluster first",
    "hazelcast-4.0.xml": f"{HZ}:6: the file is for Hazelcast 4.0; only the 3.x format is supported",
    "tcpip_disabled.xml": f'{HZ}:29: <tcp-ip enabled="false"> is not enabled: the cluster joins by '
                          "multicast or discovery",
    "tcpip_no_enabled.xml": f"{HZ}:29: <tcp-ip without enabled= (default false)> is not enabled",
    "multicast_only.xml": f"{HZ}:24: no <network><join><tcp-ip> here: the cluster finds its members "
                          "by multicast or discovery",
    "duplicate_root.xml": f"{HZ}:71: not well-formed XML: Extra content at the end of the document",
    "dtd_entity.xml": f"{HZ}:33: the file uses entities declared in a DTD; edit it by hand",
    "external_entity.xml": f"{HZ}:34: the file uses entities declared in a DTD; edit it by hand",
    "invalid_for_xsd.xml": f"{HZ}:63: not valid for Hazelcast 3.10: Element 'time-to-live-second': "
                           "This element is not expected.",
    "unknown_encoding.xml": f"{HZ}: declares encoding 'x-mac-turkish-euro', which Python does not know",
    "latin1_bytes.xml": f"{HZ}:3: not valid UTF-8 (byte 98)",
    "empty.xml": f"{HZ}:1: not well-formed XML: Document is empty",
}

# haproxy.cfg of the LB: (WhatsApp on?, message)
HAPROXY = {
    "no_acdportal_https.cfg": (True, f"{LB_CFG}: frontend acdportal_https is missing: WhatsApp "
                                     "routing goes into the portal's https frontend"),
    "crlf_no_https.cfg": (True, f"{LB_CFG}: frontend acdportal_https is missing"),
    "duplicate_https_frontend.cfg": (True, f"{LB_CFG}:74: frontend 'acdportal_https' is defined "
                                           "twice (lines 45 and 74)"),
    "duplicate_chat_backend.cfg": (False, f"{LB_CFG}:80: backend 'backend_chat_ws' is defined twice "
                                          "(lines 73 and 80)"),
    "chat_frontend_twice.cfg": (False, f"{LB_CFG}:77: listen 'acdportal_chat_wss' is defined twice "
                                       "(lines 73 and 77)"),
    # only haproxy itself sees these two: `haproxy -c` on the live file while planning
    "bad_server_address.cfg": (False, f"{LB_CFG}:78: haproxy -c rejects the file as it is now: "),
    "unknown_keyword.cfg": (False, f"{LB_CFG}:58: haproxy -c rejects the file as it is now: "),
    "not_utf8.cfg": (False, f"{LB_CFG} is not UTF-8 text (line 2, byte 54)"),
}
HAPROXY_SAYS = {"bad_server_address.cfg": "10.0.0.300", "unknown_keyword.cfg": "bakend_timeout"}

# the ClientMessenger init script in the repository (section 2 copies it, section 4 configures
# it): (WhatsApp on, so that DATADIR is set?, message)
INITSCRIPT = {
    "no_connection_line": (False, f"{INIT_SRC}: no -Dde.jtel.platform.clientmessenger.connection= "
                                  "line: this is not the ClientMessenger init script"),
    "commented_out_connection": (False, f"{INIT_SRC}, line 44: the only "
                                        "-Dde.jtel.platform.clientmessenger.connection= line(s) are "
                                        "commented out"),
    "connection_in_variable": (False, f"{INIT_SRC}, line 28: the connection argument is inside "
                                      "double-quoted text assigned to a variable"),
    "open_quote": (False, f"{INIT_SRC}, line 52: the connection value opens a quote that does not "
                          "close on the line"),
    "not_in_a_command": (False, f"{INIT_SRC}, line 55: the connection argument is not part of a command"),
    "glued_argument": (False, f"{INIT_SRC}, line 51: the connection argument does not start a shell "
                              "word (preceded by 'R')"),
    "datadir_open_quote": (True, f"{INIT_SRC}, line 27: the DATADIR value opens a quote that does "
                                 "not close on the line"),
    "not_utf8": (False, f"{INIT_SRC} is not UTF-8 text (line 7, byte 215)"),
}

# answers files: "FILE:LINE: key.path: problem" after the file's path
ANSWERS = {
    "api_base_http.yaml": ":23: whatsapp.api_base: 'http://api.tyntec.com/chat-api/v2' is not a "
                          "plain URL: must start with https://",
    "max_chats_zero.yaml": ":20: agents.max_parallel_chats: 0 is below the minimum 1",
    "legacy_path_relative.yaml": ":22: hazelcast.legacy_paths.acd-dbm: 'PlatformUDPlistener/conf/"
                                 "hazelcast.xml' is not a safe path: not an absolute path",
    "legacy_path_unknown_host.yaml": ":22: hazelcast.legacy_paths.acd-dbn: no inventory host and no "
                                     "member role (DATA, TEL, WEB) is called 'acd-dbn' (did you mean "
                                     "'acd-dbm'?)",
    "member_address_two_chats.yaml": ":21: hazelcast.member_address: names one chat server, but the "
                                     "inventory has 2 CHAT hosts (chat1, chat2)",
    "shared_dir_relative.yaml": ":15: portal.shared_dir: 'home/jtel/shared' is not a safe path: not an absolute path",
    "duplicate_role.yaml": ":8: inventory.hosts.chat1.roles: lists CHAT more than once",
    "empty_roles.yaml": ":8: inventory.hosts.chat1.roles: must list at least one entry",
    "db_host_bad.yaml": ":17: daemon.db_host: 'acd dbm' is not a valid host name or IP address",
    "whatsapp_enabled_string.yaml": ":20: whatsapp.enabled: 'yes' is not true or false",
    "lb_url.yaml": ":14: portal.load_balancer: 'https://jtel-portal' is not a valid host name",
    "host_not_mapping.yaml": ":11: inventory.hosts.acd-web1: the value is not a mapping",
}


def test_the_corpus_is_complete():
    """Every corpus file is in its table, and with the site-state cases there are well over
    30 bad inputs beyond tests/data/answers_bad."""
    for folder, table in (("hazelcast", HAZELCAST), ("haproxy", HAPROXY),
                          ("initscript", INITSCRIPT), ("answers", ANSWERS)):
        assert {p.name for p in (BAD / folder).iterdir()} == set(table), folder
    total = len(HAZELCAST) + len(HAPROXY) + len(INITSCRIPT) + len(ANSWERS) + len(SITE_STATE)
    assert total >= 30
    assert len(E2E) >= 30


@pytest.mark.parametrize("name", sorted(HAZELCAST))
def test_hazelcast_xml(name):
    """As section 3 reads a member's file: decoded by its declared encoding, the chat member
    added, validated against the XSD of its own Hazelcast version."""
    data = (BAD / "hazelcast" / name).read_bytes()
    with pytest.raises((hx.HazelcastError, PlanError)) as e:
        text, _ = hz_step.decode(data, f"host acd-dbm: {HZ}")
        hx.edit(text, ["10.0.0.21"], source=HZ)
        hx.validate(text, hx.detect_version(text) or "3.10", source=HZ)
    msg = str(e.value).removeprefix("host acd-dbm: ")
    assert msg.startswith(HAZELCAST[name]), msg


@pytest.mark.parametrize("name", sorted(HAPROXY))
def test_haproxy_cfg(name, tmp_path):
    """As sections 7 and 10 edit the LB's file; the two only haproxy sees go to the real
    `haproxy -c` (as while planning on the LB)."""
    whatsapp, expected = HAPROXY[name]
    data = (BAD / "haproxy" / name).read_bytes()
    if name == "not_utf8.cfg":
        with pytest.raises(UnicodeDecodeError) as e:
            data.decode("utf-8")
        line = data[:e.value.start].count(b"\n") + 1
        assert f"(line {line}, byte {e.value.start})" in expected
        return
    servers = [ChatServer("chat1", "10.0.0.21")]
    if name in HAPROXY_SAYS:
        haproxy_edit(data.decode(), scheme="https", servers=servers, whatsapp=whatsapp, source=LB_CFG)
        if shutil.which("haproxy") is None:
            pytest.skip("haproxy not installed (scripts/setup-system.sh)")
        from tyntec_standin import self_signed
        pem = self_signed(tmp_path, names=("jtel-portal",))[2]
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_bytes(data.replace(b"/etc/haproxy/haproxy.pem", pem.encode()))
        p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
        line = re.search(r":(\d+): ", expected)[1]
        assert p.returncode != 0 and re.search(rf"\[{re.escape(str(cfg))}:{line}\].*{HAPROXY_SAYS[name]}",
                                               p.stdout + p.stderr), p.stdout + p.stderr
        return
    with pytest.raises(HaproxyConfigError) as e:
        haproxy_edit(data.decode(), scheme="https", servers=servers, whatsapp=whatsapp, source=LB_CFG)
    assert str(e.value).startswith(expected), str(e.value)


@pytest.mark.parametrize("name", sorted(INITSCRIPT))
def test_init_script(name):
    whatsapp, expected = INITSCRIPT[name]
    data = (BAD / "initscript" / name).read_bytes()
    if name == "not_utf8":
        with pytest.raises(UnicodeDecodeError) as e:
            data.decode("utf-8")
        line = data[:e.value.start].count(b"\n") + 1
        assert f"(line {line}, byte {e.value.start})" in expected
        return
    url = jdbc_url(host="acd-dbm", schema="JTELWeb", user="root", password=DB_PASSWORD,
                   portal_version="3.26")
    with pytest.raises(InitScriptError) as e:
        configure(data.decode(), url=url, datadir=LOCAL_DATA + "/" if whatsapp else None,
                  source=f"host chat1: {INIT_SRC}")
    assert str(e.value).startswith(f"host chat1: {expected}"), str(e.value)


def test_init_script_broken_elsewhere_fails_bash_n():
    """The script configures (DATADIR is not touched without WhatsApp) but is no shell script:
    what `bash -n` says while planning (test_end_to_end runs it on the chat server)."""
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    url = jdbc_url(host="acd-dbm", schema="JTELWeb", user="root", password=DB_PASSWORD,
                   portal_version="3.26")
    text = configure((BAD / "initscript" / "datadir_open_quote").read_text(), url=url, datadir=None).text
    p = subprocess.run(["bash", "-n", "/dev/stdin"], input=text, capture_output=True, text=True)
    assert p.returncode == 2 and "/dev/stdin: line 35: syntax error near unexpected token `('" in p.stderr


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answers_file(name):
    path = BAD / "answers" / name
    with pytest.raises(AnswersError) as e:
        load_answers(path)
    assert e.value.exit_code == EXIT_ANSWERS
    text = "\n".join(e.value.problems)
    assert f"{path}{ANSWERS[name]}" in text, text
    assert all(p.startswith(f"{path}:") for p in e.value.problems)


# ====================================================================== the site

def read_only(call: dict) -> bool:
    """A shim-recorded command that only looks (rpm -q, java -version, chkconfig --list,
    service X status, systemctl is-active, firewall-cmd --state/--query-*/--list-*, iptables -S)."""
    cmd, argv = call["cmd"], call["argv"]
    if cmd == "rpm":
        return bool(argv) and argv[0].startswith("-q")
    if cmd == "java":
        return argv == ["-version"]
    if cmd == "chkconfig":
        return argv[:1] == ["--list"]
    if cmd == "service":
        return argv[1:2] == ["status"]
    if cmd == "systemctl":
        return argv[:1] in (["is-active"], ["is-enabled"], ["status"])
    if cmd == "firewall-cmd":
        return bool(argv) and all(a in ("--state", "--permanent") or a.startswith(("--query-", "--zone=", "--list-"))
                                  for a in argv)
    if cmd == "iptables":
        return argv[:1] in (["-S"], ["-L"])
    return False


TREES = ("/etc", "/home", "/root", "/usr/local", "/usr/java", "/usr/lib/jvm", "/srv", "/opt",
         "/tmp", "/var/tmp")
SITE_FILES = (HZ, LB_CFG, INIT_SRC, MANIFEST, "/etc/init.d/jtel-clientmessenger",
              "/usr/local/bin/updatesc.sh", "/etc/sysconfig/iptables", "/etc/redhat-release",
              "/etc/haproxy/haproxy.pem")


def _tree(th, top: str) -> dict:
    out = {}
    root = th.path(top)
    for dirpath, dirs, files in os.walk(root):
        for p in ([root] if dirpath == root else []) + [os.path.join(dirpath, n) for n in dirs + files]:
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[p[len(th.root):]] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns,
                                     st.st_ino)
    return out


def host_state(th) -> dict:
    """Tree entries, hashes of the site files, the shim's state, the number of shim calls,
    and whether a backup folder exists."""
    trees = {}
    for top in TREES:
        trees.update(_tree(th, top))
    files = {}
    for p in SITE_FILES:
        try:
            files[p] = hashlib.sha256(th.read(p, binary=True)).hexdigest()
        except OSError:
            files[p] = None
    try:
        # the state's content, not its bytes: a read-only shim call may save the same state
        # in its own layout (indent, key order), which changes nothing on the host
        state = json.loads((Path(th.info["TH_STATE"]) / "state.json").read_bytes())
        shim = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    except OSError:
        shim = None
    return {"trees": trees, "files": files, "shim": shim, "calls": len(th.calls()),
            "backups": th.exists(BACKUPS)}


class Site:
    """Three test hosts and a private engineer's environment (HOME with an ssh config, the
    encrypted file keyring, state and log folders) that runs `chatwizard` against them."""

    def __init__(self, factory, tmp: Path):
        from cli_env import Env
        self.factory, self.tmp, self.n, self.dirty = factory, tmp, 0, False
        self.chat, self.dbm, self.lb = factory.many([
            dict(flavor="centos6", hostname="chat1", datadir="local"),
            dict(flavor="centos7", hostname="acd-dbm"),
            dict(flavor="centos7", jtel=False, hostname="lb1")])
        self.hosts = {"chat1": self.chat, "acd-dbm": self.dbm, "lb1": self.lb}
        self.env = Env(tmp)
        secretscan.track(tmp)
        with ThreadPoolExecutor(3) as ex:
            for f in [ex.submit(self._prepare_chat), ex.submit(self._prepare_dbm),
                      ex.submit(self._prepare_lb)]:
                f.result()
        (self.env.home / ".ssh" / "config").write_text("".join(
            th.ssh_config_block(th.host, user="tester" if th is self.chat else "root")
            for th in self.hosts.values()))
        self._keyring()

    def _keyring(self) -> None:
        """The engineer's encrypted keyring file with the standard secrets. Made here with a
        cheap scrypt cost (the file records it), so that each of the many runs below does not
        spend ~0.4 s deriving the key: the KDF is not what these tests are about."""
        from wizard import masking
        from wizard.secrets import SERVICE, EncryptedFileKeyring
        kr = EncryptedFileKeyring(self.env.vars["CHATWIZARD_KEYRING_FILE"], password=KEYRING_PASSWORD)
        kr.KDF = {"n": 2 ** 10, "r": 8, "p": 1}
        for key, value in (("ssh/chat1", SUDO_PASSWORD), ("db/root", DB_PASSWORD),
                           ("tyntec/apikey", TYNTEC_API_KEY)):
            kr.set_password(SERVICE, key, value)
        masking.clear()

    def _prepare_chat(self):
        rc, out, err = self.chat.run("chpasswd", stdin=f"tester:{SUDO_PASSWORD}\n")
        assert rc == 0, err

    def _prepare_dbm(self):
        self.dbm.write(UPDATEPL, "#!/bin/sh\necho ran >> /var/log/updatepl.log\n", 0o755)

    def _prepare_lb(self):
        from tyntec_standin import self_signed
        lb = self.lb
        rc, out, err = lb.run("yum -y install haproxy")
        assert rc == 0, out + err
        lb.write(LB_CFG, PORTAL_CFG, mode=0o640, owner="root", group="haproxy")
        folder = self.tmp / "lb-cert"
        folder.mkdir()
        pem = Path(self_signed(folder, names=("jtel-portal",))[2]).read_bytes()
        lb.write("/etc/haproxy/haproxy.pem", pem, mode=0o600)
        rc, out, err = lb.run("systemctl start haproxy")
        assert rc == 0, out + err

    def scan_hosts(self):
        """The hosts the secret scan looks at after each test."""
        return list(self.hosts.values())

    def answers(self, *, whatsapp=False, chat_roles=("CHAT",), dbm_roles=("DATA",),
                text_changes=(), **sections) -> Path:
        """The site's answers file (every section; WhatsApp optional), written anew."""
        h = self.hosts
        text = (
            "version: 1\ninventory:\n  hosts:\n"
            f'    chat1: {{address: {h["chat1"].host}, user: tester, password: "keyring:ssh/chat1", '
            f'become: sudo, roles: [{", ".join(chat_roles)}]}}\n'
            f'    acd-dbm: {{address: {h["acd-dbm"].host}, user: root, roles: [{", ".join(dbm_roles)}]}}\n'
            f'    lb1: {{address: {h["lb1"].host}, user: root, roles: [LB]}}\n'
            "portal: {scheme: https, load_balancer: jtel-portal}\n"
            'daemon: {db_host: acd-dbm, db_password: "keyring:db/root"}\n')
        if whatsapp:
            text += ('whatsapp: {enabled: true, api_key: "keyring:tyntec/apikey", '
                     'phone_number: "+4989123456789", api_base: "https://127.0.0.1:9/chat-api/v2"}\n')
        text += "".join(f"{name}: {body}\n" for name, body in sections.items())
        for old, new in text_changes:
            assert old in text, old
            text = text.replace(old, new)
        self.n += 1
        path = self.tmp / f"site-{self.n}.yaml"
        path.write_text(text)
        return path

    def state(self) -> dict:
        with ThreadPoolExecutor(len(self.hosts)) as ex:
            return dict(zip(self.hosts, ex.map(host_state, self.hosts.values())))

    def changes(self, before: dict, after: dict) -> list[str]:
        """Everything that differs, host by host, and every new shim call that changes."""
        out = []
        for name, th in self.hosts.items():
            b, a = before[name], after[name]
            for key in ("files", "shim", "backups"):
                if b[key] != a[key]:
                    out.append(f"{name}: {key}: {b[key]} -> {a[key]}")
            for p in sorted(set(b["trees"]) | set(a["trees"])):
                if b["trees"].get(p) != a["trees"].get(p):
                    out.append(f"{name}: {p}: {b['trees'].get(p)} -> {a['trees'].get(p)}")
            out += [f"{name}: changing command: {c['cmd']} {' '.join(c['argv'])}"
                    for c in th.calls()[b["calls"]:] if not read_only(c)]
        return out


@pytest.fixture(scope="module")
def _sites(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("test hosts need root (network namespaces, mounts)")
    from testhost import HostFactory
    box: dict = {}

    def fresh() -> Site:
        if "factory" in box:
            box["factory"].stop_all()
        box["factory"] = HostFactory()
        box["site"] = Site(box["factory"], tmp_path_factory.mktemp("bad-site"))
        return box["site"]
    box["fresh"] = fresh
    try:
        yield box
    finally:
        if "factory" in box:
            box["factory"].stop_all()


@pytest.fixture
def site(_sites) -> Site:
    """The module's site, or a fresh one when the previous case changed a host after all
    (that case failed; the next must not inherit its changes)."""
    s = _sites.get("site")
    return s if s is not None and not s.dirty else _sites["fresh"]()


# ---------------------------------------------------------------- making a host bad, and undoing it

Put = Callable[[Site], Callable[[], None]]


def put_file(host: str, path: str, data: bytes | None) -> Put:
    """Replace (with None: remove) a file on a host; the undo puts the original back."""
    def put(site: Site):
        real = site.hosts[host].path(path)
        old = Path(real).read_bytes() if os.path.exists(real) else None
        st = os.stat(real) if old is not None else None
        if data is None:
            os.unlink(real)
        else:
            site.hosts[host].write(path, data)

        def undo():
            if old is None:
                if os.path.exists(real):
                    os.unlink(real)
                return
            Path(real).write_bytes(old)
            os.chmod(real, st.st_mode & 0o7777)
            os.chown(real, st.st_uid, st.st_gid)
        return undo
    return put


def corpus(folder: str, name: str, host: str, path: str) -> Put:
    return put_file(host, path, (BAD / folder / name).read_bytes())


def move_away(host: str, path: str) -> Put:
    def put(site: Site):
        real = site.hosts[host].path(path)
        aside = real + ".moved-by-test"
        os.rename(real, aside)
        return lambda: os.rename(aside, real)
    return put


def make_dir(host: str, path: str) -> Put:
    def put(site: Site):
        real = site.hosts[host].path(path)
        made, p = [], real
        while not os.path.exists(p):
            made.append(p)
            p = os.path.dirname(p)
        os.makedirs(real)

        def undo():
            for d in made:
                os.rmdir(d)
        return undo
    return put


def no_iptables_filter_table(host: str) -> Put:
    """iptables without its filter table (a container, a kernel without the module)."""
    def put(site: Site):
        th = site.hosts[host]
        p = Path(th.info["TH_STATE"]) / "state.json"
        if not p.exists():          # the shim writes its state once something changed it
            rc, out, err = th.run("chkconfig crond on")
            assert rc == 0, out + err
        old = p.read_bytes()
        state = json.loads(old)
        del state["iptables"]["filter"]
        p.write_text(json.dumps(state))
        return lambda: p.write_bytes(old)
    return put


def nothing(site: Site):
    return lambda: None


@dataclass
class Case:
    """One bad input end to end: `put` makes a host bad (and returns the undo), the CLI runs
    `command` on the site's answers (changed by `answers`), the message matches `expect`."""
    put: Put
    expect: str                       # a regex for the "error: ..." line
    answers: dict = field(default_factory=dict)
    command: str = "apply"
    code: int = EXIT_PLAN


def on(host: str, message: str) -> str:
    return re.escape(f"host {host}: {message}")


WA = {"whatsapp": True}
E2E: dict[str, Case] = {}
for _name in ("malformed.xml", "wrong_namespace.xml", "hazelcast-3.4.xml", "hazelcast-4.0.xml",
              "tcpip_disabled.xml", "multicast_only.xml", "duplicate_root.xml", "dtd_entity.xml",
              "external_entity.xml", "invalid_for_xsd.xml", "latin1_bytes.xml"):
    E2E[f"hazelcast/{_name}"] = Case(corpus("hazelcast", _name, "acd-dbm", HZ),
                                     on("acd-dbm", HAZELCAST[_name]))
E2E["hazelcast/invalid_for_xsd.xml"].expect += re.escape("; the file is not valid as it is: repair it first")
for _name, (_wa, _msg) in HAPROXY.items():
    if _name != "crlf_no_https.cfg":
        E2E[f"haproxy/{_name}"] = Case(corpus("haproxy", _name, "lb1", LB_CFG),
                                       on("lb1", _msg) + (f".*{HAPROXY_SAYS[_name]}.*repair it first"
                                                          if _name in HAPROXY_SAYS else ""),
                                       answers=WA if _wa else {})
# with WhatsApp on, section 7 plans first: its haproxy -c of the live file names the duplicate
# before section 10's edit would
E2E["haproxy/duplicate_https_frontend.cfg"].expect = (
    on("lb1", f"{LB_CFG}:74: haproxy -c rejects the file as it is now: ")
    + ".*frontend 'acdportal_https'.*repair it first")
for _name, (_wa, _msg) in INITSCRIPT.items():
    E2E[f"initscript/{_name}"] = Case(corpus("initscript", _name, "chat1", INIT_SRC), on("chat1", _msg),
                                      answers=WA if _wa else {})
# without WhatsApp DATADIR is left as it is: the script is still broken, and `bash -n` on the
# script as it would be installed (fed on stdin while planning) says so
E2E["initscript/datadir_open_quote, no WhatsApp"] = Case(
    corpus("initscript", "datadir_open_quote", "chat1", INIT_SRC),
    on("chat1", f"{INIT_SRC}: bash -n rejects the script as it would be installed: line 35: "
                "syntax error near unexpected token `('"))

SITE_STATE: dict[str, Case] = {
    "unsupported_os": Case(
        put_file("chat1", "/etc/redhat-release", b"CentOS Stream release 9\n"),
        on("chat1", "CentOS Stream 9 (from /etc/redhat-release) is not supported; the procedure is "
                    "written for CentOS 6 and 7"), command="plan"),
    "shared_folder_not_mounted": Case(
        move_away("chat1", CM_SOURCE),
        on("chat1", f"clientmessenger.source {CM_SOURCE} is not a folder there; is /home/jtel/shared "
                    "mounted?")),
    "init_script_missing": Case(
        put_file("chat1", INIT_SRC, None),
        on("chat1", "/home/jtel/ClientMessenger/init.d/jtel-clientmessenger does not exist (nor in the "
                    f"ClientMessenger repository {CM_SOURCE}); section 2 copies it there")),
    "portal_version_unknown": Case(
        put_file("chat1", MANIFEST, None),
        re.escape(f"the portal version is unknown (not found on chat1 in {MANIFEST}, ") + ".*"
        + re.escape("); the connection URL depends on it")),
    "follow_up_script_missing": Case(
        put_file("acd-dbm", UPDATEPL, None), on("acd-dbm", "updatepl.sh not found")),
    "tel_service_missing": Case(
        nothing, on("acd-dbm", "the PlatformUDPListener service is not installed"),
        answers={"dbm_roles": ("DATA", "TEL")}),
    "legacy_hazelcast_missing": Case(
        nothing, on("acd-dbm", "no hazelcast.xml: /home/jtel/PlatformUDPlistener/conf/hazelcast.xml "
                               "does not exist (hazelcast.layout: legacy)"),
        answers={"hazelcast": "{layout: legacy}"}, command="plan"),
    "datadir_missing": Case(
        move_away("chat1", LOCAL_DATA),
        on("chat1", f"WhatsApp needs the chat data folder, but neither {LOCAL_DATA}/ (local) nor "
                    f"{MOUNTED_DATA}/ (mounted) exists there"), answers=WA),
    "datadir_ambiguous": Case(
        make_dir("chat1", MOUNTED_DATA),
        on("chat1", f"both {LOCAL_DATA}/ (local) and {MOUNTED_DATA}/ (mounted) exist; set "
                    "daemon.datadir to local or mounted"), answers=WA),
    "iptables_without_filter_table": Case(
        no_iptables_filter_table("chat1"),
        on("chat1", "iptables -S INPUT failed: ") + r".*can't initialize iptables table `filter'"),
    "haproxy_not_installed": Case(
        nothing, on("acd-dbm", "haproxy is not installed (package haproxy is not installed)"),
        answers={"dbm_roles": ("DATA", "LB")}),
    "haproxy_config_elsewhere": Case(
        nothing, on("lb1", "/etc/haproxy/portal.cfg does not exist; set load_balancer.config"),
        answers={"load_balancer": "{config: /etc/haproxy/portal.cfg}"}, command="plan"),
    "java_rpm_not_copied": Case(
        nothing, on("chat1", "java.rpm_path /root/jdk-8u202-linux-x64.rpm does not exist there"),
        answers={"java": "{source: rpm, rpm_path: /root/jdk-8u202-linux-x64.rpm}"}),
}
E2E.update({f"site/{k}": v for k, v in SITE_STATE.items()})

# answers problems through the CLI: exit 3, and no host is even asked
E2E.update({
    "answers/unknown_key": Case(
        nothing, r".*/site-\d+\.yaml:4: inventory\.hosts\.chat1\.pasword: unknown key 'pasword' "
                 r"\(did you mean 'password'\?\)",
        answers={"text_changes": [('tester, password: "keyring', 'tester, pasword: "keyring')]},
        code=EXIT_ANSWERS),
    "answers/bad_e164": Case(
        nothing, r".*/site-\d+\.yaml:9: whatsapp\.phone_number: '\+441234' is not a valid phone number "
                 r"in E\.164",
        answers={"whatsapp": True, "text_changes": [("+4989123456789", "+441234")]}, code=EXIT_ANSWERS),
    "answers/missing_lb_host": Case(
        nothing, r".*/site-\d+\.yaml:3: inventory\.hosts: no host has role LB, but the load_balancer "
                 r"section runs", answers={"text_changes": [("roles: [LB]", "roles: [WEB]")]},
        code=EXIT_ANSWERS, command="plan"),
    "answers/member_address_two_chats": Case(
        nothing, r".*/site-\d+\.yaml:9: hazelcast\.member_address: names one chat server, but the "
                 r"inventory has 2 CHAT hosts \(chat1, acd-dbm\)",
        answers={"hazelcast": "{member_address: 10.0.0.21}", "dbm_roles": ("DATA", "CHAT")},
        code=EXIT_ANSWERS),
    "answers/legacy_path_unknown_host": Case(
        nothing, r".*/site-\d+\.yaml:9: hazelcast\.legacy_paths\.acd-dbn: no inventory host and no "
                 r"member role \(DATA, TEL, WEB\) is called 'acd-dbn' \(did you mean 'acd-dbm'\?\)",
        answers={"hazelcast": "{layout: legacy, legacy_paths: {acd-dbn: /opt/hz.xml}}"},
        code=EXIT_ANSWERS),
})


def run_case(site: Site, case: Case) -> tuple[str, str]:
    answers = site.answers(**case.answers)
    undo = case.put(site)
    try:
        before = site.state()
        args = [case.command, str(answers)] + (["--yes"] if case.command == "apply" else [])
        rc, out, err = site.env.run(*args)
        after = site.state()
    finally:
        undo()
    changes = site.changes(before, after)
    site.dirty = bool(changes)
    assert rc == case.code, f"exit code {rc}, expected {case.code}\n{out}\n{err}"
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and re.match("error: " + case.expect, errors[0]), err
    assert changes == [], "\n".join(changes[:20])
    assert out.strip() == "", out                # no preview, nothing run
    if case.code == EXIT_ANSWERS:                # refused before connecting
        assert after == before
    return out, err


@pytest.mark.needs_root
def test_the_site_itself_is_fine(site):
    """The baseline: with nothing broken, plan succeeds (with and without WhatsApp) and
    changes nothing; each case differs from it by its bad input alone."""
    for answers in (site.answers(), site.answers(whatsapp=True)):
        before = site.state()
        rc, out, err = site.env.run("plan", str(answers))
        assert rc == 0, out + err
        assert re.search(r"\n\d+ changing actions\.", out), out[-500:]
        assert site.changes(before, site.state()) == []


@pytest.mark.needs_root
def test_the_snapshot_sees_every_kind_of_change(site):
    """The "nothing changed" proof is not blind: a written file, a file created and removed
    again, a file replaced by rename, a changing command and a backup folder all show."""
    chat, lb = site.chat, site.lb
    cases = {
        "written": (lambda: chat.write("/home/jtel/shared/hazelcast.xml",
                                       chat.read("/home/jtel/shared/hazelcast.xml", binary=True)),
                    "chat1: /home/jtel/shared/hazelcast.xml: "),
        "created and removed": (lambda: chat.run("touch /tmp/x && rm /tmp/x"), "chat1: /tmp: "),
        "replaced by rename": (lambda: lb.run(f"cp -p {LB_CFG} {LB_CFG}.new && mv {LB_CFG}.new {LB_CFG}"),
                               f"lb1: {LB_CFG}: "),
        "changing command": (lambda: chat.run("chkconfig crond on"), "chat1: changing command: chkconfig crond on"),
        "backup folder": (lambda: lb.run(f"mkdir -p {BACKUPS}/backups"), "lb1: backups: False -> True"),
    }
    for what, (do, shows) in cases.items():
        state_json = Path(chat.info["TH_STATE"]) / "state.json"
        shim = state_json.read_bytes() if state_json.exists() else None
        before = site.state()
        do()
        changes = site.changes(before, site.state())
        if shim is not None:
            state_json.write_bytes(shim)
        if what == "backup folder":
            lb.run(f"rm -r {BACKUPS}")
        assert any(c.startswith(shows) for c in changes), (what, changes)


@pytest.mark.needs_root
@pytest.mark.parametrize("name", list(E2E))
def test_end_to_end(site, name):
    run_case(site, E2E[name])
