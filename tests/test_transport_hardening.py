"""Issue 9, the transport's findings, reproduced on the test hosts (tests/testhost):

- shell injection: hostile paths ($(…), backticks, quotes, newlines) are written or refused
  cleanly through sudo and as root, never executed (wizard/shell.py quotes them);
- the symlink race: `jtel` swaps the temp file/folder of root's writes into its folder for
  links while they run; no root-owned file is ever re-owned or re-moded, the target never
  becomes a link, a target that is a link is refused;
- Ctrl-C during a long command stops the remote command (no process left);
- the smaller ones: ProxyJump with two unknown host keys in one go, `stat` garbage, a
  read-only file system, a missing folder is not a lost connection.

Unit tests of wizard.shell come first (a real sh reads back what quote() made).
"""
from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from wizard import masking
from wizard.shell import Raw, assign, cmd, join, quote
from wizard.transport.base import HostSpec, TransportError
from wizard.transport.ssh import ConnectionLost, SSHTransport

# argv of every process on a test host; the registry of secrets restored after each test
from test_ssh_transport import _masking_restored, host_cmdlines  # noqa: E402,F401

HOSTILE = ["plain", "with space", "a'b", 'a"b', "$(id -un > /tmp/pwned)", "`id`", "$HOME",
           "x;rm -rf /", "new\nline", "*", "-n", "", "tab\there", "back\\slash", "ü €", "!bang",
           "a'\"'\"'b", "${IFS}", "~root", "#hash"]


# ================================================================= wizard.shell ====

def test_quote_round_trips_through_a_real_shell(tmp_path):
    for shell in ("sh", "bash"):
        line = cmd("printf", "%s\\0", *HOSTILE)
        out = subprocess.run([shell, "-c", line], capture_output=True, cwd=tmp_path, check=True).stdout
        assert out.split(b"\0")[:-1] == [h.encode() for h in HOSTILE], shell
        assert not os.path.exists("/tmp/pwned-never") and list(tmp_path.iterdir()) == []
    # assign + "$var" and Raw operators
    script = "\n".join([assign("v", HOSTILE[4]), 'printf "%s" "$v"'])
    assert subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout == HOSTILE[4]
    line = cmd("printf", "%s", "a b", Raw("&&"), "printf", "%s", "$(c)")
    assert subprocess.run(["sh", "-c", line], capture_output=True, text=True).stdout == "a b$(c)"
    assert join(["ls", "-l", "a b"]) == "ls -l 'a b'" and quote(7) == "7"


def test_quote_refuses_what_cannot_be_an_argument():
    with pytest.raises(ValueError, match="NUL"):
        quote("a\0b")
    with pytest.raises(TypeError):
        quote(Raw("&&"))
    with pytest.raises(TypeError):
        quote(None)                                     # type: ignore[arg-type]
    with pytest.raises(ValueError):
        assign("not a name", "x")


# ================================================================= test-host helpers ====

def make(th, tmp_path, *, user="root", **kw) -> SSHTransport:
    spec = HostSpec(name=f"chat-{th.flavor}", address=th.host, port=th.port, user=user,
                    key_file=th.key_path, become="root" if user == "root" else "sudo",
                    password_ref="test/pw")
    kw.setdefault("ssh_config_path", str(tmp_path / "no-ssh-config"))
    kw.setdefault("known_hosts_paths", [th.known_hosts_path])
    kw.setdefault("tool_known_hosts", str(tmp_path / "tool_known_hosts"))
    kw.setdefault("allow_agent", False)
    kw.setdefault("connect_timeout", 5)
    return SSHTransport(spec, password_provider=lambda ref: th.password, **kw)


def pwned(th) -> list[str]:
    """Files an injected `id -un > pwned` / `touch …pwned` would have made."""
    found = []
    for d in ("/", "/root", "/home/tester", "/tmp", "/usr/local/bin", "/etc"):
        p = th.path(d)
        if os.path.isdir(p):
            found += [f"{d}/{n}" for n in os.listdir(p) if "pwned" in n]
    return found


# ================================================================= injection ====

INJECT_FOLDERS = ['/srv/q"uote', "/srv/sub$(touch /tmp/pwned1)", "/srv/back`touch /tmp/pwned2`tick",
                  "/srv/single'quote", "/srv/new\nline", "/srv/semi;touch pwned3;x",
                  "/srv/dollar$HOME", "/srv/-dash"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("login", ["sudo", "root"])
def test_hostile_paths_are_written_or_refused_never_executed(centos7, tmp_path, login):
    th = centos7
    for d in INJECT_FOLDERS:
        os.makedirs(th.path("/srv") + d[len("/srv"):], exist_ok=True)
    with make(th, tmp_path, user="tester" if login == "sudo" else "root") as t:
        # the payload: its folder does not exist -> a clean refusal naming it
        bad = "/usr/local/bin/new$(id -un > pwned)/updatesc.sh"
        with pytest.raises(TransportError) as ei:
            t.write_file(bad, b"#!/bin/sh\n", mode=0o755)
        assert "does not exist" in str(ei.value) and "new$(id -un > pwned)" in str(ei.value)
        assert not isinstance(ei.value, ConnectionLost)
        for d in INJECT_FOLDERS:
            for name in ('f"ile', "f$(touch pwned4)", "f`touch pwned5`", "f'x", "f\nx"):
                path = f"{d}/{name}"
                t.write_file(path, b"data " + path.encode() + b"\n", mode=0o640, owner="jtel")
                assert th.read(path, binary=True) == b"data " + path.encode() + b"\n", path
                st = th.stat(path)
                assert (st.st_mode & 0o7777, st.st_uid) == (0o640, 1000), path
                assert t.read_file(path, sudo=True) == b"data " + path.encode() + b"\n"
                assert t.stat(path).owner == "jtel"
                w = t.write_file(path, b"again\n", mode=0o600)          # with a backup
                assert th.read(w.backup) == "data " + path + "\n"
        r = t.run(cmd("ls", "-d", "--", *INJECT_FOLDERS), sudo=True)
        assert r.ok, r.stdout
    assert pwned(th) == []


# ================================================================= the symlink race ====

ATTACK = r"""
# jtel's polling attacker: whatever the wizard puts into its folder under a temporary name
# is swapped for a link: a file for a link to a root-only file, a folder for a link to a
# folder of jtel's that holds `data` -> the root-only file
cd /home/jtel/shared || exit 1
mkdir -p /home/jtel/evil && ln -sf /root/victim /home/jtel/evil/data
ln -sf /root/victim /home/jtel/evil/hazelcast.xml
n=0
while [ ! -e /home/jtel/stop ]; do
  for f in .hazelcast.xml.chatwizard-tmp-*; do
    case "$f" in *'*'*|*.gone) continue;; esac
    [ -L "$f" ] && continue
    if mv -f -- "$f" "$f.gone" 2>/dev/null; then
      if [ -d "$f.gone" ]; then ln -s /home/jtel/evil "$f"; else ln -s /root/victim "$f"; fi
      n=$((n+1)); echo "$n" > /home/jtel/swaps
    fi
  done
  [ -L hazelcast.xml ] && echo LINK >> /home/jtel/target-was-link
done
"""


def start_attacker(th):
    """The attack loop as jtel over its own SSH login; returns stop()."""
    client = th.connect("jtel", auth="password")
    chan = client.get_transport().open_session()
    chan.exec_command("sh -c " + quote(ATTACK))

    def stop():
        th.write("/home/jtel/stop", "", owner="jtel")
        chan.recv_exit_status()
        client.close()
    return stop


@pytest.mark.timeout(300)
@pytest.mark.parametrize("login", ["root", "sudo"])
def test_jtel_swapping_temp_files_for_links_never_wins(centos7, tmp_path, login):
    th = centos7
    victim = "/root/victim"
    th.write(victim, "root only\n", mode=0o600)
    target = "/home/jtel/shared/hazelcast.xml"
    th.write(target, "<hazelcast/>\n", mode=0o644, owner="jtel")
    assert th.stat("/home/jtel/shared").st_uid == 1000
    ok = refused = 0
    stop = start_attacker(th)
    try:
        with make(th, tmp_path, user="tester" if login == "sudo" else "root") as t:
            for i in range(60):
                body = f"<hazelcast><!-- write {i} --></hazelcast>\n".encode()
                try:
                    t.write_file(target, body, mode=0o644, owner="jtel", group="jtel")
                    ok += 1
                except TransportError as e:
                    msg = str(e)
                    assert not isinstance(e, ConnectionLost), msg
                    assert ("changed" in msg or "replaced" in msg or "cannot write" in msg), msg
                    refused += 1
                assert not os.path.islink(th.path(target, follow=False)), f"write {i}: target is a link"
                st = os.stat(th.path(victim, follow=False))
                assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o600), f"write {i}"
                assert th.read(victim) == "root only\n"
    finally:
        stop()
    swaps = int(th.read("/home/jtel/swaps").strip()) if th.exists("/home/jtel/swaps") else 0
    assert swaps > 0, "the attacker never got to swap anything: the test proves nothing"
    assert not th.exists("/home/jtel/target-was-link")
    assert ok + refused == 60
    # what the last successful write left: a regular jtel file with its content
    st = os.lstat(th.path(target, follow=False))
    assert (st.st_uid, st.st_mode & 0o7777) == (1000, 0o644)
    print(f"{login}: {ok} written, {refused} refused, {swaps} swaps by the attacker")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("login", ["root", "sudo"])
def test_a_target_that_is_a_link_is_refused(centos7, tmp_path, login):
    th = centos7
    th.write("/root/victim", "root only\n", mode=0o600)
    link = "/home/jtel/shared/hazelcast.xml"
    if os.path.lexists(th.path(link, follow=False)):
        os.unlink(th.path(link, follow=False))
    os.symlink("/root/victim", th.path(link, follow=False))
    with make(th, tmp_path, user="tester" if login == "sudo" else "root") as t:
        with pytest.raises(TransportError) as ei:
            t.write_file(link, b"<hazelcast/>\n", mode=0o644, owner="jtel")
    msg = str(ei.value)
    assert f"{link} is a symbolic link (to /root/victim)" in msg and "refusing" in msg, msg
    assert os.readlink(th.path(link, follow=False)) == "/root/victim"
    st = os.stat(th.path("/root/victim", follow=False))
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o600) and th.read("/root/victim") == "root only\n"
    assert [n for n in os.listdir(th.path("/home/jtel/shared")) if "chatwizard" in n] == []


# ================================================================= huge output (units) ====

def test_line_sink_is_linear_and_bounded():
    from wizard.transport.ssh import _LineSink
    got = []
    s = _LineSink("out", lambda st, l: got.append(len(l)), pty=False, keep=1000)
    line = b"x" * 99 + b"\n"
    for _ in range(500):                     # 50,000 characters in 100-character lines
        s.feed(line * 1)
    s.feed(b"", final=True)
    assert got == [99] * 500
    text = s.text
    assert text.startswith("[… 49000 earlier characters of output not kept …]\n")
    assert len(text) < 1100 and text.endswith("x" * 99 + "\n")
    # one huge line in small chunks: cut for the callback and the result, memory bounded
    got.clear()
    s = _LineSink("out", lambda st, l: got.append(l), pty=False)
    chunk = b"y" * 65536
    for _ in range(200):                     # 13 MB without a newline
        s.feed(chunk)
        assert s._line_len <= _LineSink.LINE_CAP + _LineSink._SLACK
    s.feed(b"\nlast\n", final=True)
    assert len(got) == 2 and got[1] == "last"
    assert got[0].startswith("y" * 100) and got[0].endswith(f" … [{200 * 65536 - _LineSink.LINE_CAP} more characters]")
    assert s.text == got[0] + "\nlast\n"


def test_line_sink_masks_a_secret_at_the_cut():
    from wizard.transport.ssh import _LineSink
    masking.register("S3cretValue")
    got = []
    s = _LineSink("out", lambda st, l: got.append(l), pty=False)
    pad = b"a" * (_LineSink.LINE_CAP - 5)
    s.feed(pad + b"S3cretValue" + b"b" * 100000 + b"\n", final=True)
    assert "S3cr" not in got[0] and "S3cretValue" not in s.text


# ================================================================= Ctrl-C ====

def left_running(th, marker: str) -> list[str]:
    end = time.monotonic() + 3          # the KILL follows the TERM after 0.3 s
    while True:
        left = [c for c in host_cmdlines(th) if marker in c]
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.1)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("login,how", [("root", "ctrl-c"), ("sudo", "ctrl-c"),
                                       ("root", "interrupt"), ("sudo", "interrupt")])
def test_interrupt_stops_the_remote_command_and_its_children(centos7, tmp_path, login, how):
    import _thread

    from wizard.transport.base import CommandInterrupted
    th = centos7
    # a long command with a child in the background and one that ignores SIGINT and SIGHUP
    command = ("sleep 1234.5 & (trap '' INT HUP; exec sleep 1235.5) & "
               "echo started; sleep 1236.5; wait")
    with make(th, tmp_path, user="tester" if login == "sudo" else "root") as t:
        lines = []

        def on_output(stream, line):
            lines.append(line)
            if line == "started":
                threading.Timer(0.5, _thread.interrupt_main if how == "ctrl-c" else t.interrupt).start()
        t0 = time.monotonic()
        with pytest.raises(CommandInterrupted) as ei:
            t.run(command, sudo=login == "sudo", timeout=60, on_output=on_output)
        took = time.monotonic() - t0
        assert isinstance(ei.value, KeyboardInterrupt)
        assert took < 10, took
        e = ei.value
        assert e.host == "chat-centos7" and e.result.exit_code == -1 and "started" in e.result.stdout
        assert "interrupted" in str(e) and "stopped on the host" in str(e)
        assert left_running(th, "sleep 123") == []
        assert t.run("echo still here", sudo=login == "sudo").stdout.strip() == "still here"


# ================================================================= smaller findings ====

def _fingerprint(th) -> str:
    return subprocess.run(["ssh-keygen", "-lf", th.known_hosts_path], capture_output=True,
                          text=True, check=True).stdout.split()[1]


@pytest.mark.timeout(180)
def test_proxyjump_with_two_unknown_host_keys_takes_one_run(host_factory, tmp_path):
    from wizard import connect as session
    from wizard.errors import HostKeyError
    jump, target = host_factory("centos7"), host_factory("centos7")
    rc, out, _ = jump.run(f"timeout 3 bash -c 'exec 3<>/dev/tcp/{target.host}/22 && echo open'")
    if "open" not in out:
        pytest.skip("the jump test host cannot reach the target test host (no mesh route)")

    def block(th, alias):           # no UserKnownHostsFile: both keys are unknown
        return "".join(l + "\n" for l in th.ssh_config_block(alias).splitlines()
                       if "KnownHosts" not in l and "StrictHostKey" not in l)
    cfg = tmp_path / "ssh_config"
    cfg.write_text(block(jump, "jumpbox") + block(target, "chat-via-jump") + "    ProxyJump jumpbox\n")
    kw = dict(ssh_config_path=str(cfg), known_hosts_paths=[str(tmp_path / "empty")],
              tool_known_hosts=str(tmp_path / "tool_kh"), allow_agent=False)
    spec = HostSpec(name="chat1", address="chat-via-jump")
    fps = (_fingerprint(jump), _fingerprint(target))
    # interactive: both asked, hop by hop, in one connection attempt
    asked: list[HostKeyError] = []
    t = session.connect_one(spec, ask=lambda e: asked.append(e) or True, **kw)
    try:
        assert [e.fingerprint for e in asked] == list(fps)
        assert "jump host jumpbox" in str(asked[0]) and f"chat1 ({target.host}:22)" in str(asked[1])
        assert t.run("hostname").ok and t.negotiated["via"] == ["jumpbox"]
    finally:
        t.close()
    # both saved: the next connection asks nothing
    with SSHTransport(spec, trust_host_key=lambda e: pytest.fail(f"asked again: {e}"), **kw) as t:
        assert t.run("true").ok
    # unattended: --accept-host-key given twice, one run
    (tmp_path / "tool_kh").unlink()
    t = session.connect_one(spec, accept=fps, **kw)
    t.close()
    # one of the two not accepted: refused, naming the hop
    (tmp_path / "tool_kh").unlink()
    with pytest.raises(HostKeyError) as ei:
        session.connect_one(spec, accept=fps[:1], **kw)
    assert ei.value.fingerprint == fps[1] and not ei.value.changed


@pytest.mark.timeout(120)
def test_stat_printing_garbage_is_a_clear_error(centos7, tmp_path):
    th = centos7
    with make(th, tmp_path) as t:
        assert t.stat("/etc/hosts").exists
        real = th.read("/usr/bin/stat", binary=True)
        th.write("/usr/bin/stat", "#!/bin/sh\necho garbage\n", mode=0o755)
        try:
            with pytest.raises(TransportError) as ei:
                t.stat("/etc/hosts")
        finally:
            th.write("/usr/bin/stat", real, mode=0o755)
    msg = str(ei.value)
    assert msg.startswith("chat-centos7 (") and "cannot stat /etc/hosts" in msg and "'garbage'" in msg
    assert not isinstance(ei.value, ConnectionLost)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("login", ["root", "sudo"])
def test_read_only_file_system_and_missing_folder(centos7, tmp_path, login):
    th = centos7
    # a read-only mount inside the host's mount namespace, made from the machine side
    os.makedirs(th.path("/srv/ro"), exist_ok=True)
    init = str(th.pids()["init"])
    subprocess.run(["nsenter", "-t", init, "-m", "mount", "-t", "tmpfs", "-o", "ro,size=1m",
                    "tmpfs", "/srv/ro"], check=True)
    try:
        with make(th, tmp_path, user="tester" if login == "sudo" else "root") as t:
            with pytest.raises(TransportError) as ei:
                t.write_file("/srv/ro/app.conf", b"x\n")
            msg = str(ei.value)
            assert "Read-only file system" in msg and "/srv/ro/app.conf" in msg, msg
            assert "Failure" not in msg and not isinstance(ei.value, ConnectionLost)
            # a missing folder: never a lost connection, and the connection stays
            for call in (lambda: t.write_file("/srv/nope/x/app.conf", b"x\n"),):
                with pytest.raises(TransportError) as ei:
                    call()
                assert not isinstance(ei.value, ConnectionLost)
                assert "does not exist" in str(ei.value) and "connection" not in str(ei.value)
            assert t.read_file("/srv/nope/x/app.conf", sudo=True) is None
            assert not t.stat("/srv/nope/x/app.conf").exists
            r = t.run("cat /srv/nope/x/app.conf", sudo=login == "sudo")
            assert r.exit_code != 0 and "No such file or directory" in (r.stdout + r.stderr)
            assert t.paramiko_transport.is_active() and t.run("true").ok
    finally:
        subprocess.run(["nsenter", "-t", init, "-m", "umount", "/srv/ro"], check=True)
