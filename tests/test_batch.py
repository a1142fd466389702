"""wizard.batch: the read-only script, run by real shells (dash, bash) on a scratch folder and
by the training host's shell, and its parser on hostile content; the fake transport's
round trips while planning a whole site."""
from __future__ import annotations

import base64
import os
import shutil
import subprocess

import pytest

from wizard import batch
from wizard.batch import BatchError, CmdItem, FileItem
from wizard.transport.base import HostSpec
from wizard.transport.batched import BatchedTransport

TOKEN = "0123456789abcdef"


def run_script(shell: str, items, token=TOKEN) -> str:
    p = subprocess.run([shell, "-c", batch.script(items, token)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode("ascii")


@pytest.fixture
def tree(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    (d / "plain.txt").write_bytes(b"hello\n")
    # a file that holds what a naive delimiter would be, and the header of a record
    (d / "hostile").write_bytes(f"#{TOKEN} Z\n#{TOKEN} C 0 0\n__END__\n".encode() * 3)
    (d / "binary").write_bytes(bytes(range(256)) * 4 + b"\r\n\x00")
    (d / "empty").write_bytes(b"")
    (d / "no-newline").write_bytes(b"last line")
    (d / "sub").mkdir()
    os.symlink(d / "plain.txt", d / "link")
    os.symlink(d / "nowhere", d / "dangling")
    weird = d / "we'ird $(touch pwned) name\nnl"
    weird.write_bytes(b"weird\n")
    return d


SHELLS = [s for s in ("dash", "bash") if shutil.which(s)]


@pytest.mark.parametrize("shell", SHELLS)
def test_script_round_trip_hostile_files(shell, tree):
    names = ["plain.txt", "hostile", "binary", "empty", "no-newline", "sub", "link", "dangling",
             "missing", "we'ird $(touch pwned) name\nnl"]
    items = [FileItem(str(tree / n)) for n in names]
    b = batch.parse(run_script(shell, items), TOKEN, items)
    f = {n: b.files[str(tree / n)] for n in names}
    for n in ("plain.txt", "hostile", "binary", "empty", "no-newline"):
        assert f[n].state == "ok" and f[n].content == (tree / n).read_bytes(), n
        assert f[n].stat.exists and not f[n].stat.is_dir
    assert f["link"].content == b"hello\n"                 # followed, like stat -L and SFTP
    assert f["dangling"].state == "missing" and not f["dangling"].stat.exists
    assert f["missing"].state == "missing"
    assert f["sub"].state == "dir" and f["sub"].stat.is_dir
    assert f["we'ird $(touch pwned) name\nnl"].content == b"weird\n"
    assert not (tree / "pwned").exists() and not os.path.exists("pwned")
    assert f["plain.txt"].stat.mode == (tree / "plain.txt").stat().st_mode & 0o7777


@pytest.mark.parametrize("shell", SHELLS)
def test_script_commands_exit_codes_and_output(shell, tree):
    items = [CmdItem("echo out; echo err >&2; exit 3", sudo=True),
             CmdItem(f"printf '#{TOKEN} Z\\n'; printf 'x'"),
             CmdItem("true"),
             CmdItem("cat /dev/null; exit 127")]
    b = batch.parse(run_script(shell, items), TOKEN, items)
    r = b.commands[("echo out; echo err >&2; exit 3", True)]
    assert (r.exit_code, r.stdout) == (3, "out\nerr\n")     # stderr merged, as sudo's pty does
    assert b.commands[(items[1].command, False)].stdout == f"#{TOKEN} Z\nx\n"
    assert b.commands[("true", False)].stdout == "" and b.commands[("true", False)].exit_code == 0
    assert b.commands[(items[3].command, False)].exit_code == 127


def test_huge_file_is_bounded(tree, monkeypatch):
    monkeypatch.setattr(batch, "FILE_LIMIT", 1000)
    (tree / "huge").write_bytes(b"x" * 5000)
    items = [FileItem(str(tree / "huge")), FileItem(str(tree / "plain.txt"))]
    out = run_script("sh", items)
    assert len(out) < 3000                                   # head -c: never the whole file
    b = batch.parse(out, TOKEN, items)
    assert b.files[str(tree / "huge")].state == "large"
    assert b.files[str(tree / "huge")].content is None
    assert b.files[str(tree / "plain.txt")].content == b"hello\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file(tree):
    (tree / "secret").write_bytes(b"s")
    (tree / "secret").chmod(0)
    items = [FileItem(str(tree / "secret"))]
    b = batch.parse(run_script("sh", items), TOKEN, items)
    assert b.files[str(tree / "secret")].state == "unreadable"


def test_unreadable_file_and_closed_folder_as_nobody():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv")
    import tempfile
    top = tempfile.mkdtemp(prefix="batch-")
    try:
        os.chmod(top, 0o755)
        for name, mode in (("secret", 0o600), ("plain", 0o644)):
            with open(f"{top}/{name}", "wb") as f:
                f.write(b"s")
            os.chmod(f"{top}/{name}", mode)
        os.mkdir(f"{top}/closed", 0o700)
        with open(f"{top}/closed/inside", "wb") as f:
            f.write(b"i")
        items = [FileItem(f"{top}/secret"), FileItem(f"{top}/plain"), FileItem(f"{top}/closed/inside")]
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                            batch.script(items, TOKEN)], capture_output=True, timeout=60)
        b = batch.parse(p.stdout.decode(), TOKEN, items)
    finally:
        shutil.rmtree(top)
    assert b.files[f"{top}/secret"].state == "unreadable"
    assert b.files[f"{top}/plain"].content == b"s"
    # behind a folder it may not enter: not "missing", left to the ordinary (sudo) stat
    assert f"{top}/closed/inside" not in b.files


def _enc(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("output,why", [
    ("", "ended early"),                                                  # nothing at all
    (f"#{TOKEN} C 0 0\n{_enc(b'x')}\n", "ended early"),                   # cut before the end
    (f"#{TOKEN} C 0 0\nnot base64 at all!\n#{TOKEN} Z\n", "unexpected text"),
    (f"#{TOKEN} C 7 0\n#{TOKEN} Z\n", "bad record header"),              # no such item
    (f"#{TOKEN} Q 0\n#{TOKEN} Z\n", "bad record"),
    (f"#{TOKEN} C 0 0\nQQ=\n#{TOKEN} Z\n", "bad base64"),
])
def test_parser_refuses_malformed_output(output, why):
    with pytest.raises(BatchError, match=why):
        batch.parse(output, TOKEN, [CmdItem("true")])


def test_parser_ignores_text_before_the_first_record_and_crlf():
    items = [CmdItem("true"), FileItem("/x")]
    out = ("Last login: banner #not-ours\r\n"
           f"#{TOKEN} C 0 0\r\n{_enc(b'ok')}\r\n#{TOKEN} S 1 1\r\n"
           f"{_enc(b'stat: cannot stat /x: No such file or directory')}\r\n#{TOKEN} Z\r\n")
    b = batch.parse(out, TOKEN, items)
    assert b.commands[("true", False)].stdout == "ok\n"
    assert b.files["/x"].state == "missing"


def test_oversized_command_output_is_left_to_the_host(monkeypatch):
    monkeypatch.setattr(batch, "OUTPUT_LIMIT", 10)
    items = [CmdItem("yes | head -c 100")]
    b = batch.parse(run_script("sh", items), TOKEN, items)
    assert ("yes | head -c 100", False) not in b.commands


def test_training_shell_runs_the_same_script(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path))
    from wizard.training import SimHost, SimTransport
    t = SimTransport(HostSpec("sim", "10.0.0.1"), state=SimHost())
    items = [FileItem("/etc/redhat-release"), FileItem("/nope"), FileItem("/etc"),
             CmdItem("rpm -q haproxy"), CmdItem("echo a; exit 4", sudo=True)]
    b = batch.fetch(t, items)
    assert b.files["/etc/redhat-release"].content == t.read_file("/etc/redhat-release")
    assert b.files["/nope"].state == "missing" and b.files["/etc"].state == "dir"
    real = t.run("rpm -q haproxy")
    assert b.commands[("rpm -q haproxy", False)].exit_code == real.exit_code
    assert b.commands[("rpm -q haproxy", False)].stdout == real.stdout
    assert b.commands[("echo a; exit 4", True)].exit_code == 4


def test_batched_transport_falls_back_and_counts():
    from wizard.transport.fake import FakeTransport
    fake = FakeTransport(HostSpec("h", "10.0.0.9"), files={"/a": b"A", "/b": b"B"},
                         handlers={r"^id$": "root\n"})
    b = batch.fetch(fake, [FileItem("/a")])
    t = BatchedTransport(fake, b)
    assert t.read_file("/a") == b"A" and t.misses == []
    assert t.read_file("/b") == b"B"                       # not in the batch: still read
    assert t.run("id").stdout == "root\n"
    assert t.misses == ["read /b", "run id"]
    assert [c.command for c in fake.commands] == ["id"]


# -- the fake transport: one round trip per host for a whole plan ----------------------------

C7 = b"CentOS Linux release 7.9.2009 (Core)\n"
CM = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
ANSWERS = """\
version: 1
inventory:
  hosts:
    chat1: {address: 10.0.0.5, roles: [CHAT]}
portal: {scheme: http, load_balancer: jtel-portal, version: "3.26"}
daemon: {db_password: "keyring:db/root"}
sections: {skip: [hazelcast, load_balancer, daemon]}
"""


def _chat(cm_exists: bool):
    from wizard.transport.fake import FakeTransport
    files = {"/etc/redhat-release": C7, f"{CM}/bin/ClientMessenger.jar": b"jar",
             f"{CM}/init.d/jtel-clientmessenger": b"#!/bin/sh\n"}
    if cm_exists:
        files["/home/jtel/ClientMessenger/bin/ClientMessenger.jar"] = b"jar"
    t = FakeTransport(HostSpec("chat1", "10.0.0.5", roles=("CHAT",)), files=files, strict=True,
                      handlers={r"^rpm -q": (1, "package jdk1.8 is not installed\n"),
                                r"^java -version": (127, "", "java: command not found"),
                                r"^find ": (0, "/home/jtel/ClientMessenger/x\n"),
                                r"^firewall-cmd --state": (0, "running\n"),
                                r"^firewall-cmd .*--list-ports": (0, "5701-5801/tcp\n"),
                                r"^firewall-cmd": 0, r"^iptables": (0, "-P INPUT ACCEPT\n"),
                                r"^bash -n": 0, r"^chkconfig": 1})
    t.batch_commands = True
    return t


@pytest.mark.parametrize("cm_exists", [False, True])
def test_fake_site_one_round_trip_same_plan(cm_exists, tmp_path, monkeypatch):
    from wizard import planner, preview
    from wizard.answers import loads
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path))
    ans = loads(ANSWERS, "site.yaml")
    monkeypatch.setenv("CHATWIZARD_DETECT", "per-read")
    old_t = _chat(cm_exists)
    old = preview.render(planner.build(ans, {"chat1": old_t}))
    monkeypatch.setenv("CHATWIZARD_DETECT", "batch")
    t = _chat(cm_exists)
    plan = planner.build(ans, {"chat1": t})
    assert preview.render(plan) == old
    # detection: two round trips (the second asks firewalld, the host being CentOS 7)
    assert len(t.batches) == 2 and any("firewall-cmd --state" in str(i) for i in t.batches[1])
    reader = plan.facts["chat1"].reader
    assert reader.misses == []                                 # planning: no read of its own
    assert [c.command for c in t.commands if c.stdin is None] == []   # no read-only command
    assert len(old_t.commands) >= 5                            # what the batch saved
    assert "Open 3000/tcp permanently" in old and "5701-5801/tcp already open" in old
