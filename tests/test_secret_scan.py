"""The secret scan (tests/secretscan.py) finds what it claims to find.

The standard test secrets hold the characters that break shells, URLs and YAML; every form
the wizard itself knows a secret by is among the forms scanned for; a planted secret is
found in a file, a shell history, the shim call log and a process argv, naming the place
and never printing the value; and a test that leaks one fails (run as an inner pytest).
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

import secretscan
from secretscan import DB_PASSWORD, SECRETS, SUDO_PASSWORD

HERE = Path(__file__).resolve().parent
# a secret of the same kind that the automatic scan does not look for: planting it on a
# test host below must not fail this very test
SELFTEST = {"SELFTEST": "self t&st'\"$\\%#+` 9z"}


# ---------------------------------------------------------------- the secrets and their forms

@pytest.mark.parametrize("name", sorted(SECRETS))
def test_standard_secrets_hold_the_dangerous_characters(name):
    value = SECRETS[name]
    for c in "&'\"$\\%#+ ":
        assert c in value, (name, c)
    assert value == value.strip() and len(value) >= 16


def test_standard_secrets_are_distinct_and_not_substrings_of_each_other():
    values = list(SECRETS.values())
    assert len(set(values)) == len(values)
    for a in values:
        for b in values:
            assert a == b or a not in b


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_scanned_forms_cover_every_form_the_wizard_writes(name):
    """What the wizard registers for masking (initscript/daemon forms, masking's own
    derived forms) must be scanned for in our files: a leak in any of them is found."""
    from wizard import initscript, masking
    from wizard.steps import daemon
    value = SECRETS[name]
    scanned = set(secretscan.forms(value)["files"].values())
    masking.clear()
    try:
        masking.register(value, *daemon.secret_forms(value))
        wizard_forms = {f.encode() for f in masking.known()}
    finally:
        masking.clear()
    wizard_forms.discard(f"password={initscript.percent_encode(value)}".encode())
    assert wizard_forms <= scanned, wizard_forms - scanned
    enc = initscript.percent_encode(value)
    assert enc.encode() in scanned
    assert initscript.shell_word_for_line(enc).encode() in scanned
    assert unquote(enc) == value


def test_argv_forms_leave_out_the_percent_encoded_ones():
    """The daemon's java command line on the target holds the percent-encoded DB
    password by design; argv is scanned for the raw and shell-escaped raw forms only."""
    f = secretscan.forms(DB_PASSWORD)
    from wizard import initscript
    assert initscript.percent_encode(DB_PASSWORD).encode() not in f["argv"].values()
    assert DB_PASSWORD.encode() in f["argv"].values()
    assert shlex.quote(DB_PASSWORD).encode() in f["argv"].values()
    assert set(f["argv"].values()) <= set(f["files"].values())


# ---------------------------------------------------------------- files

def test_scan_files_finds_every_form_and_names_the_file(tmp_path):
    for name, value in SECRETS.items():
        for kind, form in secretscan.forms(value)["files"].items():
            p = tmp_path / "logs" / f"{name}-{kind.replace(' ', '_').replace(',', '')}.log"
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(b"2024-01-01 INFO connect ... " + form + b" ...\n")
            found = secretscan.scan_files([tmp_path / "logs"])
            assert len(found) == 1 and found[0].startswith(f"{name} (") and found[0].endswith(str(p)), found
            assert value not in found[0]
            p.unlink()
    (tmp_path / "clean.log").write_text("password=******** user=root\n")
    assert secretscan.scan_files([tmp_path]) == []


def test_scan_files_since_skips_older_files(tmp_path):
    old = tmp_path / "old.log"
    old.write_text(SUDO_PASSWORD)
    t = time.time() - 3600
    import os
    os.utime(old, (t, t))
    assert secretscan.scan_files([tmp_path], since=time.time() - 60) == []
    assert secretscan.scan_files([tmp_path]) != []


# ---------------------------------------------------------------- the plugin, as an inner run

INNER_CONFTEST = """
import pytest
from testhost import HostFactory

@pytest.fixture
def host_factory():
    yield HostFactory()          # starts nothing: the scan looks at files only
"""

INNER_TESTS = """
from urllib.parse import quote
from secretscan import DB_PASSWORD, TYNTEC_API_KEY, track

def test_leaks_into_a_log(host_factory, tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.log").write_text("jdbc ... password=" + quote(DB_PASSWORD, safe=""))

def test_clean(host_factory, tmp_path):
    (tmp_path / "run.log").write_text("password=********")

def test_tracked_answers_file(host_factory, tmp_path_factory):
    p = tmp_path_factory.mktemp("site") / "site.yaml"
    track(p)
    p.write_text("whatsapp: {api_key: " + TYNTEC_API_KEY + "}")

def test_no_hosts_no_scan(tmp_path):
    (tmp_path / "x.log").write_text(DB_PASSWORD)
"""


def test_a_test_that_leaks_fails_naming_the_file(tmp_path):
    (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    env = {"PYTHONPATH": f"{HERE}:{HERE.parent}", "PATH": "/usr/bin:/bin",
           "CHATWIZARD_STATE_DIR": str(tmp_path / "state"), "CHATWIZARD_LOG_DIR": str(tmp_path / "logs")}
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "secretscan", "-p", "no:cacheprovider",
                        "-q", "-rf", "--rootdir", str(tmp_path), "--basetemp", str(tmp_path / "bt"),
                        str(tmp_path / "test_inner.py")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert "2 failed, 2 passed" in out, out
    assert "FAILED test_inner.py::test_leaks_into_a_log" in out
    assert "FAILED test_inner.py::test_tracked_answers_file" in out
    assert "DB_PASSWORD (percent-encoded) in " in out and "/logs/run.log" in out
    assert "TYNTEC_API_KEY (raw) in " in out and "site.yaml" in out
    for value in SECRETS.values():
        assert value not in out


# ---------------------------------------------------------------- test hosts

@pytest.mark.needs_root
def test_histories_shim_log_and_argv_on_a_host(host_factory):
    """A secret typed into a shell, passed to a recorded command or on a command line is
    found, naming the host and the file or the process."""
    th = host_factory("centos7")
    (value,) = SELFTEST.values()
    assert secretscan.scan_hosts([th], secrets=SELFTEST) == []

    th.write("/home/tester/.bash_history", f"ls\nmysql -p{value}\n", owner="tester")
    th.write("/root/.mysql_history", shlex.quote(value) + "\n")
    found = secretscan.scan_hosts([th], secrets=SELFTEST)
    assert any(f.startswith("SELFTEST (raw) in host ") and f.endswith(": /home/tester/.bash_history")
               for f in found), found
    assert any(f.startswith("SELFTEST (single-quoted) in host ") and f.endswith(": /root/.mysql_history")
               for f in found), found

    rc, out, err = th.run(f"rpm -q {shlex.quote(value)}")           # recorded by the shim
    assert rc != 0
    assert any("shim call log (rpm #" in f for f in secretscan.scan_hosts([th], secrets=SELFTEST))

    # a process whose argv holds the secret, seen by both samplers
    with secretscan.ProcWatcher(lambda: [th], interval=0.02) as watcher:
        with secretscan.argv_sampler(th, interval=0.02) as ps:
            th.run(f"sh -c 'sleep 0.6; true' {shlex.quote(value)}")
    assert any(f == f"SELFTEST (raw) in a process argv on host {th.name}"
               for f in watcher.findings(SELFTEST)), watcher.findings(SELFTEST)
    assert watcher.findings() == []                  # no standard secret there
    assert any(f == f"SELFTEST (raw) in `ps -eo args` on host {th.name}"
               for f in secretscan.scan_samples(ps.samples, SELFTEST))
    assert watcher.rounds > 5

    # clean up the host: the automatic scan of this test looks at the standard secrets only,
    # but leave nothing behind that looks like a leak
    th.write("/home/tester/.bash_history", "ls\n", owner="tester")
    th.write("/root/.mysql_history", "")


@pytest.mark.needs_root
def test_standard_secrets_over_sudo_leave_no_trace(host_factory, tmp_path):
    """The wizard's own transport runs a sudo command with SUDO_PASSWORD while both samplers
    watch: the password is in no argv, no history and no shim log line."""
    from wizard import masking
    from wizard.transport.base import HostSpec
    from wizard.transport.ssh import SSHTransport
    th = host_factory("centos6")
    rc, out, err = th.run("chpasswd", stdin=f"tester:{SUDO_PASSWORD}\n")
    assert rc == 0, err
    spec = HostSpec("chat1", th.host, port=th.port, user="tester", become="sudo",
                    password_ref="ssh/chat1", roles=("CHAT",))
    t = SSHTransport(spec, password_provider=lambda ref: SUDO_PASSWORD,
                     known_hosts_paths=[th.known_hosts_path],
                     tool_known_hosts=str(tmp_path / "known_hosts"),
                     ssh_config_path=str(tmp_path / "no-ssh-config"), allow_agent=False)
    masking.register(SUDO_PASSWORD)
    try:
        with secretscan.ProcWatcher(lambda: [th], interval=0.02) as watcher:
            with secretscan.argv_sampler(th, interval=0.02) as ps:
                t.connect()
                r = t.run("rpm -q jdk1.8; sleep 0.5; id -u", sudo=True, timeout=60)
    finally:
        t.close()
        masking.clear()
    assert r.stdout.strip().splitlines()[-1] == "0"
    assert any(b"sudo" in a for a in watcher.seen), list(watcher.seen)[:20]
    assert ps.samples
    assert watcher.findings() == [] and secretscan.scan_samples(ps.samples) == []
    assert secretscan.scan_hosts([th]) == []
