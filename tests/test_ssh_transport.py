"""wizard.transport.ssh (paramiko) end to end against the test hosts (tests/testhost/),
plus unit tests of hostkeys.py, the sudo prompt gate and the FakeTransport.

The test hosts: centos6 = legacy crypto (~OpenSSH 5.3: ssh-rsa host key, RSA client key
that must sign with ssh-rsa, sudo with requiretty), centos7 = modern (ed25519).
"""
from __future__ import annotations

import logging
import os
import re
import socket
import statistics
import subprocess
import threading
import time

import paramiko
import pytest

from wizard import masking
from wizard.errors import ConnectError, HostKeyError
from wizard.transport import hostkeys
from wizard.transport.base import BACKUP_ROOT, CommandResult, HostSpec, TransportError
from wizard.transport.fake import FakeTransport
from paramiko.sftp_file import SFTPFile

from wizard.transport.ssh import (DEAD_PEER_SECONDS, CommandTimeout, ConnectionLost, SSHTransport,
                                  SudoPasswordError, _LineSink, _Refused, _SudoGate,
                                  dead_peer_seconds)

# Connection cuts race the kernel and sshd on a shared 2-core machine: one rerun, shown as
# "rerun" in pytest's summary, so a rare timing loss does not hide the suite's result.
pytestmark = pytest.mark.flaky(reruns=1)

STAMP_RE = r"\d{8}T\d{6}Z(\.\d+)?"


@pytest.fixture(autouse=True)
def _masking_restored():
    """The transport registers the sudo/login password; keep the registry as it was."""
    before = masking.known()
    yield
    masking.clear()
    for s in before:
        masking.register(s)


def make(th, tmp_path, *, user="root", become="root", password=None, name=None, key=True,
         cls=SSHTransport, **kw) -> SSHTransport:
    """An SSHTransport to test host `th`, isolated from ~/.ssh and the real tool dirs."""
    spec = HostSpec(name=name or f"chat-{th.flavor}", address=th.host, port=th.port, user=user,
                    key_file=th.key_path if key else None, become=become, password_ref="test/pw")
    kw.setdefault("ssh_config_path", str(tmp_path / "no-ssh-config"))
    kw.setdefault("known_hosts_paths", [th.known_hosts_path])
    kw.setdefault("tool_known_hosts", str(tmp_path / "tool_known_hosts"))
    kw.setdefault("allow_agent", False)
    kw.setdefault("connect_timeout", 5)
    pw = th.password if password is None else password
    return cls(spec, password_provider=lambda ref: pw, **kw)


def host_cmdlines(th) -> list[str]:
    """argv of every process inside the test host, read from the machine side."""
    out = []
    for pid in th.pids()["all"]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out.append(f.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            pass
    return out


def temp_leftovers(th, folder):
    return [n for n in os.listdir(th.path(folder)) if "chatwizard" in n]


# ================================================================= unit tests ====

def test_fingerprint_matches_ssh_keygen(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
                   check=True)
    key = paramiko.PKey.from_path(str(tmp_path / "k"))
    (tmp_path / "kh").write_text(f"host1 {key.get_name()} {key.get_base64()}\n")
    out = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "kh")], capture_output=True,
                         text=True, check=True).stdout
    fp = hostkeys.fingerprint(key)
    assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", fp)
    assert out.split()[1] == fp


def test_known_hosts_lookup(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "a")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "b")], check=True)
    ka, kb = (paramiko.PKey.from_path(str(tmp_path / n)) for n in "ab")
    line = lambda names, k: f"{names} {k.get_name()} {k.get_base64()}\n"
    kh = tmp_path / "known_hosts"
    kh.write_text("# comment\n\n" + line("other,[10.0.0.1]:2222", ka) + line("10.0.0.1", kb)
                  + line("*.example.com,!bad.example.com", ka))
    known = hostkeys.KnownHosts([str(kh)], str(tmp_path / "tool"))
    assert known.check(["[10.0.0.1]:2222"], ka).status == "known"
    v = known.check(["10.0.0.1"], ka)          # port 22 entry holds key b
    assert (v.status, v.entry.lineno, v.entry.path) == ("changed", 4, str(kh))
    assert known.check(["web.example.com"], ka).status == "known"
    assert known.check(["bad.example.com"], ka).status == "unknown"
    assert known.check(["10.0.0.9"], ka).status == "unknown"
    # hashed names, as `ssh-keygen -H` writes them
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(kh)], check=True, capture_output=True)
    assert "10.0.0.1" not in kh.read_text()
    assert known.check(["10.0.0.1"], kb).status == "known"
    assert known.check(["[10.0.0.1]:2222"], ka).status == "known"
    # accepted keys go to the tool's own file, 0600 in a 0700 folder
    tool = hostkeys.KnownHosts([], str(tmp_path / "d" / "known_hosts"))
    tool.add("[h]:2200", kb)
    assert tool.check(["[h]:2200"], kb).status == "known"
    assert oct(os.stat(tmp_path / "d" / "known_hosts").st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "d").st_mode & 0o777) == "0o700"
    # @revoked wins
    (tmp_path / "rev").write_text("@revoked * " + line("", kb).split(" ", 1)[1])
    assert hostkeys.KnownHosts([str(tmp_path / "rev"), str(kh)], str(tmp_path / "t")).check(
        ["10.0.0.1"], kb).status == "revoked"


def test_host_key_algorithms_prefer_known_types_and_sha2():
    avail = paramiko.Transport._preferred_keys
    order = hostkeys.preferred_host_key_algorithms(["ssh-rsa"], avail)
    assert order[:3] == ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    assert set(order) == set(avail)
    # paramiko's own preference: every SHA-2 algorithm before any SHA-1 one
    for prefs, is_sha1 in ((paramiko.Transport._preferred_kex, lambda a: a.endswith("-sha1")),
                           (paramiko.Transport._preferred_keys, lambda a: a in ("ssh-rsa", "ssh-dss")),
                           (paramiko.Transport._preferred_macs, lambda a: "sha1" in a or "md5" in a)):
        flags = [is_sha1(a) for a in prefs]
        assert flags == sorted(flags), prefs


def test_sudo_gate_answers_once_and_strips_chatter():
    sent = []
    g = _SudoGate("[pw-x] ", "__begin_x__", lambda: sent.append(1))
    assert g.feed(b"We trust you have received the usual lecture\r\n[pw-") == b""
    assert g.feed(b"x] ") == b"" and sent == [1]
    assert g.feed(b"\r\n__begin_x") == b""
    assert g.feed(b"__\r\nroot\r\n") == b"root\r\n"
    assert g.begun and g.feed(b"[pw-x] more") == b"[pw-x] more"   # after the start: data
    g2 = _SudoGate("[pw-y] ", "__begin_y__", lambda: None)
    g2.feed(b"[pw-y] \r\nSorry, try again.\r\n")
    with pytest.raises(_Refused):
        g2.feed(b"[pw-y] ")


def test_line_sink_pty_and_utf8_split():
    got = []
    s = _LineSink("out", lambda st, l: got.append((st, l)), pty=True)
    data = "a\r\nä\r\nlast".encode()
    for i in range(len(data)):
        s.feed(data[i:i + 1])
    s.feed(b"", final=True)
    assert got == [("out", "a"), ("out", "ä"), ("out", "last")]
    assert s.text == "a\nä\nlast"


def test_fake_transport_records_and_answers():
    spec = HostSpec("chat1", "10.0.0.5")
    t = FakeTransport(spec, files={"/etc/redhat-release": b"CentOS release 6.10 (Final)\n"},
                      handlers={r"^rpm -q (\S+)": lambda c: (1, f"package {c.match[1]} is not installed\n"),
                                r"^yum ": 0, r"^uname": "x86_64\n"})
    lines = []
    r = t.run("rpm -q haproxy", on_output=lambda s, l: lines.append((s, l)))
    assert (r.exit_code, lines) == (1, [("out", "package haproxy is not installed")])
    assert t.run("uname -m").stdout == "x86_64\n" and t.run("yum -y install x").ok
    assert t.run("true", sudo=True).ok and t.commands[-1].sudo
    assert [c.command for c in t.commands_matching(r"^rpm")] == ["rpm -q haproxy"]
    assert t.read_file("/etc/redhat-release").startswith(b"CentOS") and t.read_file("/x") is None
    w1 = t.write_file("/etc/haproxy/haproxy.cfg", b"one", mode=0o640, owner="haproxy")
    w2 = t.write_file("/etc/haproxy/haproxy.cfg", b"two")
    assert w1.backup is None and re.fullmatch(BACKUP_ROOT + "/" + STAMP_RE + "/etc/haproxy/haproxy.cfg", w2.backup)
    assert t.files[w2.backup] == b"one" and t.files["/etc/haproxy/haproxy.cfg"] == b"two"
    st = t.stat("/etc/haproxy/haproxy.cfg")
    assert (st.exists, st.mode, st.owner) == (True, 0o644, "haproxy")   # owner kept, like ssh
    assert t.stat("/etc/haproxy").is_dir and not t.stat("/nope").exists
    assert [w.data for w in t.writes] == [b"one", b"two"]
    masking.register("s3cret-value")
    t.on(r"^echo (.*)", lambda c: c.match[1] + "\n")
    r = t.run("echo s3cret-value")
    assert r.command == "echo ********" and r.stdout == "********\n"
    strict = FakeTransport(spec, strict=True)
    with pytest.raises(AssertionError):
        strict.run("unknown")
    t.close()
    with pytest.raises(TransportError):
        t.run("true")


# ========================================================= against test hosts ====

@pytest.mark.timeout(120)
def test_run_streams_lines_exit_code_nodelay_and_latency(any_host, tmp_path):
    th = any_host
    with make(th, tmp_path) as t:
        sock = t.paramiko_transport.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        seen = []
        masking.register("hunter2-secret")
        r = t.run("echo one; echo two >&2; echo hunter2-secret; printf 'tail'; exit 3",
                  on_output=lambda s, l: seen.append((s, l)))
        assert isinstance(r, CommandResult) and r.exit_code == 3 and not r.ok
        assert r.stdout == "one\n********\ntail" and r.stderr == "two\n"
        assert ("err", "two") in seen and ("out", "********") in seen and ("out", "tail") in seen
        assert [l for s, l in seen if s == "out"] == ["one", "********", "tail"]
        assert r.command == "echo one; echo two >&2; echo ********; printf 'tail'; exit 3"
        # sh syntax and stdin (non-pty: written, then EOF)
        assert t.run("read a; echo \"got $a\"; cat | wc -c", stdin=b"x\n" + b"y" * 200000).stdout \
            == "got x\n200000\n"
        # persistent connection: per-command latency (NODELAY: ~4 ms here, without: ~48 ms)
        t.run("true")
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            t.run("true")
            times.append(time.perf_counter() - t0)
        assert statistics.median(times) < 0.025, times
        assert t.negotiated["auth"] == "publickey"
        # root needs no sudo: a plain channel, stderr stays separate
        r = t.run("id -un; echo e >&2", sudo=True)
        assert (r.stdout, r.stderr) == ("root\n", "e\n")


@pytest.mark.timeout(120)
def test_timeout_kills_command_keeps_output(any_host, tmp_path):
    th = any_host
    with make(th, tmp_path) as t:
        t0 = time.monotonic()
        with pytest.raises(CommandTimeout) as ei:
            t.run("echo started; sleep 37; echo never", timeout=1)
        assert time.monotonic() - t0 < 5
        assert isinstance(ei.value, TransportError)
        assert ei.value.result.stdout == "started\n" and ei.value.result.exit_code == -1
        assert "timed out after 1 s" in str(ei.value)
        time.sleep(0.3)
        assert not [c for c in host_cmdlines(th) if "sleep 37" in c]
        assert t.run("echo still here").stdout == "still here\n"


@pytest.mark.timeout(120)
def test_sudo_with_requiretty_password_never_in_argv(any_host, tmp_path):
    th = any_host
    # the host really wants a tty for sudo (CentOS sudoers: Defaults requiretty)
    rc, out, err = th.run("sudo -S true < /dev/null", user="tester")    # sudo exits at once: no stdin race
    assert rc != 0 and "tty" in (out + err)
    asked = []

    def provider(ref):
        asked.append(ref)
        return th.password

    spec = HostSpec(name="chat1", address=th.host, port=th.port, user="tester",
                    key_file=th.key_path, become="sudo", password_ref="chat1/login")
    with SSHTransport(spec, password_provider=provider, ssh_config_path=str(tmp_path / "none"),
                      known_hosts_paths=[th.known_hosts_path],
                      tool_known_hosts=str(tmp_path / "tk"), allow_agent=False) as t:
        assert t.run("id -un").stdout == "tester\n"                 # no sudo: the user
        seen, result = [], {}

        def work():
            result["r"] = t.run("sleep 2; id -un; echo to-stderr >&2; exit 7", sudo=True,
                                on_output=lambda s, l: seen.append((s, l)))

        worker = threading.Thread(target=work)
        worker.start()
        cmdlines = []
        sudo_seen = False
        while worker.is_alive():
            now = host_cmdlines(th)
            cmdlines += now
            sudo_seen = sudo_seen or any(c.startswith("sudo -S -p") for c in now)
            time.sleep(0.05)
        worker.join()
        r = result["r"]
        assert sudo_seen, "never saw the sudo process"
        assert not [c for c in cmdlines if th.password in c]
        assert asked == ["chat1/login"]
        assert r.exit_code == 7
        # pty: stderr merged into stdout; sudo's prompt and lecture stripped
        assert r.stdout == "root\nto-stderr\n" and r.stderr == ""
        assert seen == [("out", "root"), ("out", "to-stderr")]
        assert "chatwizard-sudo" not in r.stdout
        # stdin for a sudo command goes via a private file, not through the pty
        assert t.run("cat; id -un", sudo=True, stdin=b"line1\nline2\n").stdout == "line1\nline2\nroot\n"
        assert not temp_leftovers(th, "/home/tester")
        # a sudo command that times out dies with its pty
        with pytest.raises(CommandTimeout):
            t.run("sleep 41", sudo=True, timeout=1.5)
        time.sleep(0.5)
        assert not [c for c in host_cmdlines(th) if c.startswith("sleep 41")]
        # password was registered for masking
        assert th.password in masking.known()


@pytest.mark.timeout(60)
def test_wrong_sudo_password_is_refused_once(centos7, tmp_path):
    th = centos7
    calls = []

    def provider(ref):
        calls.append(ref)
        return "not-the-password"

    spec = HostSpec(name="chat2", address=th.host, port=th.port, user="tester",
                    key_file=th.key_path, become="sudo", password_ref="r")
    with SSHTransport(spec, password_provider=provider, ssh_config_path=str(tmp_path / "none"),
                      known_hosts_paths=[th.known_hosts_path], tool_known_hosts=str(tmp_path / "t"),
                      allow_agent=False) as t:
        with pytest.raises(SudoPasswordError) as ei:
            t.run("id -un", sudo=True)
        assert "sudo: password refused on host chat2" in str(ei.value)
        assert isinstance(ei.value, ConnectError) and isinstance(ei.value, TransportError)
        assert "not-the-password" not in str(ei.value)
        assert calls == ["r"]
        assert t.run("echo ok").stdout == "ok\n"          # the connection survives
    with SSHTransport(spec, password_provider=lambda ref: None, ssh_config_path=str(tmp_path / "none"),
                      known_hosts_paths=[th.known_hosts_path], tool_known_hosts=str(tmp_path / "t"),
                      allow_agent=False) as t:
        with pytest.raises(SudoPasswordError, match="none"):
            t.run("id -un", sudo=True)


@pytest.mark.timeout(120)
def test_write_file_as_root_atomic_backup_owner_mode(any_host, tmp_path):
    th = any_host
    th.write("/etc/chatwiz/app.conf", "old content\n", mode=0o600, owner="jtel")
    with make(th, tmp_path) as t:
        w = t.write_file("/etc/chatwiz/app.conf", b"new content\n", mode=0o640, owner="root",
                         group="jtel")
        assert th.read("/etc/chatwiz/app.conf") == "new content\n"
        st = th.stat("/etc/chatwiz/app.conf")
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 0, th._id("/etc/group", "jtel"))
        assert re.fullmatch(BACKUP_ROOT + "/" + STAMP_RE + "/etc/chatwiz/app.conf", w.backup)
        assert th.read(w.backup) == "old content\n"
        bst = th.stat(w.backup)               # cp -p: the old owner and mode kept
        assert (bst.st_mode & 0o7777, bst.st_uid) == (0o600, 1000)
        # same second again: a second backup folder, the first one untouched
        w2 = t.write_file("/etc/chatwiz/app.conf", b"third\n")
        assert w2.backup != w.backup and th.read(w2.backup) == "new content\n"
        assert th.read(w.backup) == "old content\n"
        st = th.stat("/etc/chatwiz/app.conf")   # owner None: the existing owner/group kept
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o644, 0, th._id("/etc/group", "jtel"))
        # a new file: no backup; binary data intact
        blob = bytes(range(256)) * 50
        w3 = t.write_file("/etc/chatwiz/new.bin", blob, mode=0o600, backup=True)
        assert w3.backup is None and th.read("/etc/chatwiz/new.bin", binary=True) == blob
        assert t.stat("/etc/chatwiz/new.bin").mode == 0o600
        # failures leave the original untouched and no temp file behind
        with pytest.raises(TransportError, match="nosuchuser"):
            t.write_file("/etc/chatwiz/app.conf", b"bad\n", owner="nosuchuser")
        with pytest.raises(TransportError, match="does not exist"):
            t.write_file("/etc/no-such-folder/x.conf", b"bad\n")
        with pytest.raises(TransportError, match="folder"):
            t.write_file("/etc/chatwiz", b"bad\n")
        assert th.read("/etc/chatwiz/app.conf") == "third\n"
        assert not temp_leftovers(th, "/etc/chatwiz") and not temp_leftovers(th, "/etc")
        assert oct(th.stat(BACKUP_ROOT).st_mode & 0o777) == "0o700"


@pytest.mark.timeout(120)
def test_write_file_via_sudo(any_host, tmp_path):
    th = any_host
    th.write("/etc/init.d/jtel-clientmessenger", "#!/bin/sh\nold\n", mode=0o755)
    with make(th, tmp_path, user="tester", become="sudo") as t:
        w = t.write_file("/etc/init.d/jtel-clientmessenger", b"#!/bin/sh\nnew\n", mode=0o755)
        assert th.read("/etc/init.d/jtel-clientmessenger") == "#!/bin/sh\nnew\n"
        st = th.stat("/etc/init.d/jtel-clientmessenger")
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o755, 0, 0)
        # the backup is not beside the file (it would be an init script itself)
        assert w.backup.startswith(BACKUP_ROOT + "/") and th.read(w.backup) == "#!/bin/sh\nold\n"
        assert not temp_leftovers(th, "/etc/rc.d/init.d")
        w = t.write_file("/home/jtel/chat.properties", b"a=1\n", mode=0o600, owner="jtel")
        st = th.stat("/home/jtel/chat.properties")
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o600, 1000, 1000)
        assert t.stat("/home/jtel/chat.properties").owner == "jtel"
        with pytest.raises(TransportError):
            t.write_file("/etc/init.d/jtel-clientmessenger", b"bad\n", owner="nosuchuser")
        with pytest.raises(TransportError, match="does not exist"):
            t.write_file("/etc/nope/x", b"bad\n")
        assert th.read("/etc/init.d/jtel-clientmessenger") == "#!/bin/sh\nnew\n"
        assert not temp_leftovers(th, "/etc/rc.d/init.d") and not temp_leftovers(th, "/home/tester")
        assert not temp_leftovers(th, "/etc")


@pytest.mark.timeout(120)
def test_read_file_and_stat_via_sudo(any_host, tmp_path):
    th = any_host
    blob = bytes(range(256)) + b"\r\n\x00\x04\x1a" + "ü".encode()
    th.write("/root/secret.bin", blob, mode=0o600)
    with make(th, tmp_path, user="tester", become="sudo") as t:
        assert t.read_file("/etc/centos-release").startswith(b"CentOS")
        assert t.read_file("/etc/no-such-file") is None
        with pytest.raises(TransportError, match="permission denied"):
            t.read_file("/root/secret.bin")
        assert t.read_file("/root/secret.bin", sudo=True) == blob
        assert t.read_file("/root/missing", sudo=True) is None
        st = t.stat("/root/secret.bin")              # /root is 0700 for tester: via sudo
        assert (st.exists, st.is_dir, st.mode, st.owner, st.group) == (True, False, 0o600, "root", "root")
        assert not t.stat("/root/missing").exists
        d = t.stat("/etc/init.d")                    # symlink to a folder: followed
        assert d.exists and d.is_dir and d.mode == 0o755
    with make(th, tmp_path) as t:                   # as root: straight SFTP
        assert t.read_file("/root/secret.bin") == blob


@pytest.mark.timeout(120)
def test_unknown_host_key_then_accept(any_host, tmp_path):
    th = any_host
    tool = tmp_path / "data" / "known_hosts"
    kw = dict(known_hosts_paths=[str(tmp_path / "empty")], tool_known_hosts=str(tool))
    expected = subprocess.run(["ssh-keygen", "-lf", th.known_hosts_path], capture_output=True,
                              text=True, check=True).stdout.split()[1]
    with pytest.raises(HostKeyError) as ei:
        make(th, tmp_path, **kw)
    e = ei.value
    assert (e.changed, e.fingerprint, e.host) == (False, expected, th.host)
    assert e.key_type == ("ssh-rsa" if th.crypto == "legacy" else "ssh-ed25519")
    assert expected in str(e) and e.key_type in str(e) and f"{th.host}:{th.port}" in str(e)
    assert not tool.exists()
    with pytest.raises(HostKeyError):                # a near miss is not accepted
        make(th, tmp_path, accept_fingerprint=expected[:-1] + ("A" if expected[-1] != "A" else "B"), **kw)
    with make(th, tmp_path, accept_fingerprint=expected, **kw) as t:
        assert t.run("echo in").stdout == "in\n"
        assert t.negotiated["host_key_fingerprint"] == expected
    assert th.host in tool.read_text()
    with make(th, tmp_path, **kw) as t:              # saved: known from now on
        assert t.run("true").ok


@pytest.mark.timeout(120)
def test_changed_host_key_is_refused(any_host, tmp_path):
    th = any_host
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa" if th.crypto == "legacy" else "ed25519",
                    "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = paramiko.PKey.from_path(str(tmp_path / "other"))
    kh = tmp_path / "known_hosts"
    kh.write_text(f"# first line\n{th.host} {other.get_name()} {other.get_base64()}\n")
    real = subprocess.run(["ssh-keygen", "-lf", th.known_hosts_path], capture_output=True,
                          text=True, check=True).stdout.split()[1]
    for accept in (None, real):
        with pytest.raises(HostKeyError) as ei:
            make(th, tmp_path, known_hosts_paths=[str(kh)], accept_fingerprint=accept,
                 password="must-not-be-sent")
        e = ei.value
        assert e.changed and e.fingerprint == real
        msg = str(e)
        assert "changed" in msg and "man-in-the-middle" in msg and f"{kh} line 2" in msg
    assert not (tmp_path / "tool_known_hosts").exists()


@pytest.mark.timeout(120)
def test_ssh_config_alias_and_proxyjump(host_factory, tmp_path):
    jump = host_factory("centos7")
    target = host_factory("centos6")
    # the hosts route to each other through the machine ("mesh"); check the jump host's
    # sshd can reach the target before relying on it
    rc, out, _ = jump.run(f"timeout 3 bash -c 'exec 3<>/dev/tcp/{target.host}/22 && echo open'")
    if "open" not in out:
        pytest.skip("the jump test host cannot reach the target test host (no mesh route)")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(jump.ssh_config_block("jumpbox")
                   + target.ssh_config_block("chat-direct", user="tester")
                   + target.ssh_config_block("chat-via-jump", user="tester")
                   + "    ProxyJump jumpbox\n")
    kw = dict(ssh_config_path=str(cfg), known_hosts_paths=[str(tmp_path / "empty")],
              tool_known_hosts=str(tmp_path / "tk"), allow_agent=False)
    # HostName, Port, User, IdentityFile, UserKnownHostsFile all from the config
    with SSHTransport(HostSpec(name="chat1", address="chat-direct"), **kw) as t:
        assert t.run("id -un").stdout == "tester\n"
        assert t.negotiated["via"] == []
        assert t.label == f"chat1 ({target.host}:22)"
    with SSHTransport(HostSpec(name="chat1", address="chat-via-jump"), **kw) as t:
        r = t.run("id -un; echo $SSH_CONNECTION")
        user, conn = r.stdout.splitlines()
        assert user == "tester"
        assert conn.split()[0] == jump.host          # the target saw the jump host connect
        assert t.negotiated["via"] == ["jumpbox"]
    # HostSpec fields win over the config
    with SSHTransport(HostSpec(name="chat1", address="chat-direct", user="jtel"), **kw) as t:
        assert t.run("id -un").stdout == "jtel\n"


@pytest.mark.timeout(120)
def test_sha1_logged_only_where_used(any_host, tmp_path, caplog):
    th = any_host
    caplog.set_level(logging.INFO, logger="wizard.transport")
    with make(th, tmp_path) as t:
        n = t.negotiated
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "wizard.transport" and r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.name == "wizard.transport"]
    assert any(n["kex"] in m and n["cipher"] in m and n["mac"] in m for m in infos)
    if th.crypto == "legacy":
        # CentOS 6: ssh-rsa host key and user key signatures are SHA-1; SHA-2 preferred elsewhere
        assert n["host_key_type"] == "ssh-rsa" and n["pubkey_algorithm"] == "ssh-rsa"
        assert n["kex"] == "diffie-hellman-group-exchange-sha256" and n["mac"] == "hmac-sha2-256"
        assert any(m.startswith("host chat-centos6: SHA-1 host key signature ssh-rsa used: "
                                "the server offers nothing newer") for m in warnings)
        assert any("SHA-1 user key signature ssh-rsa" in m for m in warnings)
        assert "ssh-rsa" in n["sha1"]
    else:
        assert n["host_key_type"] == "ssh-ed25519" and n["sha1"] == []
        assert not [m for m in warnings if "SHA-1" in m]


@pytest.mark.timeout(60)
def test_rsa_key_on_legacy_server_and_password_login(centos6, tmp_path):
    th = centos6
    with make(th, tmp_path) as t:
        assert t.negotiated["auth"] == "publickey" and t.negotiated["pubkey_algorithm"] == "ssh-rsa"
    with make(th, tmp_path, user="tester", key=False) as t:     # no key: the password
        assert t.negotiated["auth"] == "password"
        assert t.run("id -un").stdout == "tester\n"


@pytest.mark.timeout(120)
def test_connect_errors_name_host_and_address(centos7, tmp_path):
    th = centos7
    where = f"chat9 ({th.host}:22)"
    with pytest.raises(ConnectError) as ei:               # wrong password, no key
        make(th, tmp_path, name="chat9", key=False, password="WrongPass-xyz")
    assert where in str(ei.value) and "login as root failed" in str(ei.value)
    assert "WrongPass-xyz" not in str(ei.value)
    with pytest.raises(ConnectError) as ei:
        SSHTransport(HostSpec(name="chat9", address="no-such-host.invalid"),
                     ssh_config_path=str(tmp_path / "x"), known_hosts_paths=[],
                     tool_known_hosts=str(tmp_path / "t"), allow_agent=False)
    assert "chat9 (no-such-host.invalid:22)" in str(ei.value) and "resolve" in str(ei.value)
    th.kill_sshd()
    try:
        with pytest.raises(ConnectError) as ei:
            make(th, tmp_path, name="chat9")
        assert where in str(ei.value) and "refused" in str(ei.value)
    finally:
        th.start_sshd()
    th.link_down()       # the veth goes away: the kernel answers "no route to host" at once
    try:
        t0 = time.monotonic()
        with pytest.raises(ConnectError) as ei:
            make(th, tmp_path, name="chat9", connect_timeout=1)
        assert time.monotonic() - t0 < 5
        assert where in str(ei.value)
        assert "No route to host" in str(ei.value) or "no answer within 1 s" in str(ei.value)
    finally:
        th.link_up()
    # a port that accepts but never speaks SSH: the handshake times out
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(ConnectError) as ei:
            SSHTransport(HostSpec(name="chat9", address="127.0.0.1", port=port, user="root"),
                         ssh_config_path=str(tmp_path / "x"), known_hosts_paths=[],
                         tool_known_hosts=str(tmp_path / "t"), allow_agent=False,
                         connect_timeout=1)
        assert time.monotonic() - t0 < 8
        assert f"chat9 (127.0.0.1:{port})" in str(ei.value) and "within 1 s" in str(ei.value)
    finally:
        silent.close()
    with make(th, tmp_path) as t:                        # and back to normal
        assert t.run("true").ok


def restart_sshd(th):
    """th.start_sshd() once the host's init has seen the killed sshd go (it drops a start
    request that comes before that)."""
    pidfile = th.path("/run/testhost-sshd.pid")
    end = time.monotonic() + 5
    while os.path.exists(pidfile) and time.monotonic() < end:
        time.sleep(0.02)
    th.start_sshd()


@pytest.mark.timeout(120)
def test_reconnects_after_the_connection_dropped(centos7, tmp_path):
    th = centos7
    with make(th, tmp_path) as t:
        assert t.run("echo 1").stdout == "1\n"
        th.kill_sshd(sessions=True)
        restart_sshd(th)
        time.sleep(0.3)
        assert t.run("echo 2").stdout == "2\n"


# ================================================= lost connections, dead-peer check ====
# A connection cut in the middle of an operation: TransportError (ConnectionLost) at once,
# naming the host; no reconnect and no cleanup on the dead link (the next apply's resume
# removes what is left); the target file untouched. DEAD is the dead-peer check's time in
# these tests, CONNECT_TIMEOUT what one reconnect attempt to a pulled cable would wait.

DEAD = 2.0
CONNECT_TIMEOUT = 10
QUICK = 8.0             # well under one connect timeout: nothing waited for a reconnect


class Watched(SSHTransport):
    """SSHTransport that counts its connection attempts (connect() and TCP connects) and
    temp file removals, and calls hook(phase, detail) before each command ("exec", what it
    displays)."""

    def __init__(self, *a, **kw):
        self.connects = self.tcp_connects = 0
        self.removals: list[str] = []
        self.hook = None
        super().__init__(*a, **kw)

    def _remove_quietly(self, path):
        self.removals.append(path)
        super()._remove_quietly(path)

    def connect(self):
        self.connects += 1
        super().connect()

    def _open_sock(self, hop, via):
        self.tcp_connects += 1
        return super()._open_sock(hop, via)

    def _exec(self, command, **kw):
        if self.hook is not None:
            self.hook("exec", kw.get("display") or command)
        return super()._exec(command, **kw)


class Cut:
    """Cuts test host th ("link": pulled cable, "kill": sshd and its sessions killed) once,
    the first time it is called, and remembers when."""

    def __init__(self, th, how="link"):
        self.th, self.how, self.at = th, how, None

    def __call__(self, *args):
        if self.at is not None:
            return
        if self.how == "link":
            self.th.link_down()
        else:
            self.th.kill_sshd(sessions=True)
        self.at = time.monotonic()

    def when(self, phase, prefix):
        """A Watched.hook that cuts before the command whose display starts with prefix."""
        return lambda ph, detail: self() if ph == phase and detail.startswith(prefix) else None


def watched(th, tmp_path, **kw) -> Watched:
    kw.setdefault("connect_timeout", CONNECT_TIMEOUT)
    kw.setdefault("dead_peer_after", DEAD)
    return make(th, tmp_path, cls=Watched, **kw)


def after_sftp_chunks(monkeypatch, n, action):
    """Call action() after the n-th SFTP write request of a file (mid-transfer)."""
    real = SFTPFile._write
    count = [0]

    def _write(self, data):
        written = real(self, data)
        count[0] += 1
        if count[0] == n:
            action()
        return written
    monkeypatch.setattr(SFTPFile, "_write", _write)


def assert_lost_at_once(excinfo, t, cut, *, how="link", connects=1):
    """The failure: ConnectionLost naming the host and cause, soon after the cut, with no
    connection attempt after it; the dead connection is closed."""
    took = time.monotonic() - cut.at
    e = excinfo.value
    assert isinstance(e, TransportError) and isinstance(e, ConnectionLost), repr(e)
    msg = str(e)
    assert msg.startswith(f"{t.label}: connection lost while "), msg
    if how == "link":
        assert f"no answer from the host for {DEAD:g} s (dead-peer check)" in msg, msg
    else:
        assert "the host closed the connection" in msg, msg
    assert took < QUICK, f"reported {took:.1f} s after the cut: {msg}"
    assert (t.connects, t.tcp_connects) == (connects, connects), "reconnected after the failure"
    assert not t.paramiko_transport.is_active()
    return msg


WRITE_CASES = [      # (flavor, login, the moment of the cut)
    ("centos7", "root", "upload"),     # half of the temp file's data sent over SFTP
    ("centos7", "root", "install"),    # temp file complete, its install script not yet run
    ("centos7", "root", "rename"),     # prepared beside the target, not yet renamed over it
    ("centos6", "sudo", "upload"),     # half of the upload to the home folder sent
    ("centos6", "sudo", "install"),    # upload complete, `sudo sh` not yet run
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("flavor,login,moment", WRITE_CASES)
def test_link_cut_during_write_file_fails_at_once_without_reconnect(
        host_factory, tmp_path, monkeypatch, flavor, login, moment):
    th = host_factory(flavor)
    target = "/etc/chatwiz/app.conf" if login == "root" else "/etc/init.d/jtel-clientmessenger"
    th.write(target, "old content\n", mode=0o640, owner="jtel")
    before = (th.read(target, binary=True), th.stat(target).st_mode, th.stat(target).st_uid)
    home = "/root" if login == "root" else "/home/tester"
    kw = {} if login == "root" else dict(user="tester", become="sudo")
    cut = Cut(th)
    data = os.urandom(3 * 1024 * 1024)
    t = watched(th, tmp_path, **kw)
    try:
        assert t.run("true").ok                         # the connection is used, then cut
        if moment == "upload":
            after_sftp_chunks(monkeypatch, 4, cut)
        elif moment == "install":
            t.hook = cut.when("exec", f"install {target}")
        else:
            t.hook = cut.when("exec", f"rename {target}")
        commands = []
        hook = t.hook
        t.hook = lambda ph, detail: (commands.append(detail), hook and hook(ph, detail))
        with pytest.raises(TransportError) as ei:
            t.write_file(target, data, mode=0o644)
        assert cut.at is not None, "the cut never came"
        msg = assert_lost_at_once(ei, t, cut)
        assert f"while writing {target}" in msg
        # nothing was tried after the failure: no cleanup command, no removal over SFTP
        assert not [c for c in commands if c.startswith("rm ")] and not t.removals, commands
    finally:
        th.link_up()
    assert (th.read(target, binary=True), th.stat(target).st_mode, th.stat(target).st_uid) == before
    # the temp/upload file stays for the next apply's resume (wizard/journal.py)
    left = [n for d in (os.path.dirname(th.path(target)), th.path(home)) for n in os.listdir(d)
            if "chatwizard" in n]
    if moment in ("upload", "install"):
        assert left, "expected the interrupted write's temp file"
    # the next operation connects again and works
    wait_reachable(th)
    t.write_file(target, b"new\n", mode=0o644)
    assert th.read(target) == "new\n" and t.connects == 2
    t.close()


@pytest.mark.timeout(120)
def test_sshd_killed_during_write_file_fails_at_once_without_reconnect(any_host, tmp_path,
                                                                        monkeypatch):
    """The host closes the connection (sshd and its sessions killed): the failure is reported
    at once and no reconnect is tried (it would be refused, or log in again to clean up)."""
    th = any_host
    target = "/etc/chatwiz/app.conf"
    th.write(target, "old content\n", mode=0o640)
    cut = Cut(th, "kill")
    kw = dict(user="tester", become="sudo") if th.flavor == "centos6" else {}
    before = th.read(target, binary=True), th.stat(target).st_mode
    with watched(th, tmp_path, **kw) as t:
        after_sftp_chunks(monkeypatch, 4, cut)
        with pytest.raises(TransportError) as ei:
            t.write_file(target, os.urandom(3 * 1024 * 1024))
        assert_lost_at_once(ei, t, cut, how="kill")
        assert not t.removals
        assert (th.read(target, binary=True), th.stat(target).st_mode) == before
        monkeypatch.undo()
        with pytest.raises(ConnectError, match="refused"):   # the next operation reconnects
            t.stat(target)
        assert t.connects == 2


@pytest.mark.timeout(120)
def test_link_cut_during_read_file_and_stat(any_host, tmp_path, monkeypatch):
    th = any_host
    th.write("/root/secret.bin", os.urandom(1024 * 1024), mode=0o600)
    th.write("/etc/chatwiz/big.bin", os.urandom(2 * 1024 * 1024), mode=0o644)
    originals = {p: th.read(p, binary=True) for p in ("/root/secret.bin", "/etc/chatwiz/big.bin")}

    # read over SFTP: the cut comes once the file is open, before its data
    cut = Cut(th)
    real = SFTPFile.prefetch
    monkeypatch.setattr(SFTPFile, "prefetch", lambda f, *a, **kw: (cut(), real(f, *a, **kw))[1])
    t = watched(th, tmp_path)
    try:
        with pytest.raises(TransportError) as ei:
            t.read_file("/etc/chatwiz/big.bin")
        assert "while reading /etc/chatwiz/big.bin" in assert_lost_at_once(ei, t, cut)
    finally:
        th.link_up()
        monkeypatch.undo()
    wait_reachable(th)
    assert t.read_file("/etc/chatwiz/big.bin") == originals["/etc/chatwiz/big.bin"]
    assert t.connects == 2
    t.close()

    # stat: the cut comes before its command
    cut = Cut(th)
    t = watched(th, tmp_path)
    t.hook = cut.when("exec", "stat ")
    try:
        with pytest.raises(TransportError) as ei:
            t.stat("/etc/chatwiz/big.bin")
        assert "while looking at /etc/chatwiz/big.bin" in assert_lost_at_once(ei, t, cut)
    finally:
        th.link_up()
    t.close()

    # read as root through sudo (a sudo user): the cut comes before `sudo base64`
    wait_reachable(th)
    cut = Cut(th)
    t = watched(th, tmp_path, user="tester", become="sudo")
    t.hook = cut.when("exec", "sudo base64")
    try:
        with pytest.raises(TransportError) as ei:
            t.read_file("/root/secret.bin", sudo=True)
        assert "while reading /root/secret.bin" in assert_lost_at_once(ei, t, cut)
    finally:
        th.link_up()
    t.close()
    assert all(th.read(p, binary=True) == data for p, data in originals.items())


@pytest.mark.timeout(120)
def test_dead_peer_check_quiet_command_lives_pulled_cable_fails(any_host, tmp_path):
    """A command that is quiet for longer than the dead-peer time runs on (the host answers
    the keepalives, OpenSSH 5.3 too); a pulled cable fails a long quiet command within the
    dead-peer time, as a lost connection (not as its 120 s timeout)."""
    th = any_host
    with watched(th, tmp_path) as t:
        r = t.run(f"sleep {2.5 * DEAD:g}; echo done", timeout=60)
        assert r.stdout == "done\n" and t.paramiko_transport.is_active()
        with make(th, tmp_path, user="tester", become="sudo", dead_peer_after=DEAD) as s:
            assert s.run(f"sleep {1.5 * DEAD:g}; id -un", sudo=True, timeout=60).stdout == "root\n"
        cut = Cut(th)
        threading.Timer(1.0, cut).start()
        try:
            with pytest.raises(TransportError) as ei:
                t.run("sleep 100", timeout=120)
            took = time.monotonic() - cut.at
        finally:
            th.link_up()
        assert not isinstance(ei.value, CommandTimeout)
        assert isinstance(ei.value, ConnectionLost) and "while running: sleep 100" in str(ei.value)
        assert f"no answer from the host for {DEAD:g} s (dead-peer check)" in str(ei.value)
        assert took < DEAD + 3, took
        assert t.connects == 1


@pytest.mark.timeout(120)
def test_dead_peer_check_is_set_by_connect(centos7, tmp_path, monkeypatch):
    th = centos7
    monkeypatch.delenv("CHATWIZARD_DEAD_PEER_SECONDS", raising=False)
    assert dead_peer_seconds() == DEAD_PEER_SECONDS == 30
    for value, expected in (("7.5", 7.5), ("0", 0.0), ("soon", 30.0), ("-3", 30.0)):
        monkeypatch.setenv("CHATWIZARD_DEAD_PEER_SECONDS", value)
        assert dead_peer_seconds() == expected, value

    def user_timeout(t):
        sock = t.paramiko_transport.sock
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)

    monkeypatch.setenv("CHATWIZARD_DEAD_PEER_SECONDS", "12")
    with make(th, tmp_path) as t:                    # the environment's value
        assert t.dead_peer_after == 12 and t.paramiko_transport.dead_after == 12
        assert user_timeout(t) == 12000
        t.set_dead_peer_after(4)                     # changed on the live connection
        assert t.paramiko_transport.dead_after == 4 and user_timeout(t) == 4000
        th.kill_sshd(sessions=True)
        restart_sshd(th)
        time.sleep(0.3)
        assert t.run("true").ok                      # a new connection: armed by connect()
        assert t.paramiko_transport.dead_after == 4 and user_timeout(t) == 4000
    monkeypatch.delenv("CHATWIZARD_DEAD_PEER_SECONDS")
    with make(th, tmp_path) as t:                    # the default
        assert t.paramiko_transport.dead_after == 30 and user_timeout(t) == 30000
    with make(th, tmp_path, dead_peer_after=0) as t:  # off
        assert t.paramiko_transport.dead_after == 0 and user_timeout(t) == 0
        assert t.run("true").ok

    # the runner's dead_peer_after reaches the SSH connections; None leaves theirs
    from wizard.plan import Plan
    from wizard.runner import Runner
    with make(th, tmp_path, dead_peer_after=9) as t:
        Runner(Plan([]), {"chat1": t}, emit=lambda e: None)
        assert t.paramiko_transport.dead_after == 9
        Runner(Plan([]), {"chat1": t}, emit=lambda e: None, dead_peer_after=1.5)
        assert t.paramiko_transport.dead_after == 1.5 and user_timeout(t) == 1500


@pytest.mark.timeout(120)
def test_dead_peer_check_through_a_jump_host(host_factory, tmp_path):
    """Behind a jump host the target's cable is pulled: the connection to the jump host stays
    up (TCP sees nothing wrong), the read deadline still fails the command in time."""
    jump = host_factory("centos7")
    target = host_factory("centos7")
    rc, out, _ = jump.run(f"timeout 3 bash -c 'exec 3<>/dev/tcp/{target.host}/22 && echo open'")
    if "open" not in out:
        pytest.skip("the jump test host cannot reach the target test host (no mesh route)")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(jump.ssh_config_block("jumpbox") + target.ssh_config_block("chat-via-jump")
                   + "    ProxyJump jumpbox\n")
    t = Watched(HostSpec(name="chat1", address="chat-via-jump"), ssh_config_path=str(cfg),
                known_hosts_paths=[str(tmp_path / "empty")], tool_known_hosts=str(tmp_path / "tk"),
                allow_agent=False, connect_timeout=CONNECT_TIMEOUT, dead_peer_after=DEAD)
    try:
        assert t.negotiated["via"] == ["jumpbox"]
        assert not isinstance(t.paramiko_transport.sock, socket.socket)   # a channel
        cut = Cut(target)
        threading.Timer(0.5, cut).start()
        with pytest.raises(ConnectionLost, match=r"dead-peer check"):
            t.run("sleep 100", timeout=120)
        assert time.monotonic() - cut.at < DEAD + 3
        # no reconnect was tried. (Whether the jump host's own connection is still up here
        # varies from run to run on this machine: about one run in three finds it closed, with
        # or without the target's reset; left open, noted for the transport's owner.)
        assert t.connects == 1
    finally:
        target.link_up()
        t.close()


def wait_reachable(th, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((th.host, th.port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{th}: sshd not reachable again")
