"""`chatwizard plan` / `apply` as an engineer runs them, over real SSH to CentOS 6 and 7 test hosts.

Sections 1-2 (Java 8, ClientMessenger) end to end: plan changes nothing, apply installs, a
second apply shows and runs no changing action. Host keys: unknown needs an explicit
fingerprint, changed is refused. Secrets: in no log, journal or answers file, and not in the
target's process list while sudo runs.
"""
import re
import subprocess
from pathlib import Path

import pytest

from secretscan import DB_PASSWORD, SUDO_PASSWORD, argv_sampler

pytestmark = pytest.mark.needs_root

from cli_env import Env

ANSWERS = """\
version: 1
inventory:
  hosts:
    chat1:
      address: chat1
      {auth}
      roles: [CHAT]
portal: {{scheme: http, load_balancer: jtel-portal}}
daemon: {{db_password: "keyring:db/root"}}
sections: {{skip: [hazelcast, daemon, update_script, firewall, load_balancer]}}
"""


def tool_files(env: Env) -> list[Path]:
    return [p for d in (env.state, env.logs, env.home, env.answers.parent / "data") if d.exists()
            for p in d.rglob("*") if p.is_file() and p.name != "keyring.json"]


def assert_no_secret(env: Env, *secrets):
    for p in tool_files(env) + [env.answers]:
        data = p.read_bytes()
        for s in secrets:
            assert s.encode() not in data, f"secret found in {p}"


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def set_tester_password(th, password):
    """Give the sudo user a password full of shell metacharacters (chpasswd reads stdin)."""
    rc, out, err = th.run("chpasswd", stdin=f"tester:{password}\n")
    assert rc == 0, err


@pytest.mark.parametrize("flavor,user", [("centos6", "tester"), ("centos7", "root")])
def test_plan_apply_replay_sections_1_2(host_factory, env, flavor, user):
    th = host_factory(flavor)
    env.ssh_config(th, user=user)
    auth = "password: keyring:ssh/chat1\n      become: sudo" if user == "tester" else ""
    env.answers.write_text(ANSWERS.format(auth=auth))
    if user == "tester":
        set_tester_password(th, SUDO_PASSWORD)
        env.secret("ssh/chat1", SUDO_PASSWORD)
    env.secret("db/root", DB_PASSWORD)

    rc, out, err = env.run("plan", str(env.answers))
    assert rc == 0, err
    assert "yum -y install https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm" in out
    assert "cp -R /home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger/. /home/jtel/ClientMessenger/" in out
    assert ("OS: CentOS 6.10 " if flavor == "centos6" else "OS: CentOS 7.9.2009 ") in out
    assert not th.calls("yum") and not th.exists("/home/jtel/ClientMessenger"), "plan changed the host"

    # apply without a terminal and without --yes: refuses, changes nothing
    rc, out, err = env.run("apply", str(env.answers))
    assert rc == 6 and not th.calls("yum")

    # the sudo password must never be in a process's argv on the target while sudo runs
    with argv_sampler(th) as watcher:
        rc, out, err = env.run("apply", str(env.answers), "--yes")
    seen_args = [ps for _, ps in watcher.samples]
    assert rc == 0, out + err
    assert [c["argv"][:2] for c in th.calls("yum")] == [["-y", "install"]]
    assert th.exists("/home/jtel/ClientMessenger/bin")
    assert not th.exists("/home/jtel/ClientMessenger/ClientMessenger")
    st = th.stat("/home/jtel/ClientMessenger/bin")
    assert (st.st_uid, st.st_gid) == (th.stat("/home/jtel").st_uid, th.stat("/home/jtel").st_gid)
    assert seen_args and all(SUDO_PASSWORD not in s for s in seen_args)

    # replay: the second apply shows and runs no changing action
    before = len(th.calls())
    rc, out, err = env.run("apply", str(env.answers), "--yes")
    assert rc == 0, err
    assert "Nothing to change" in out and "Nothing to do." in out
    assert "Java 8 already installed" in out
    assert not th.calls("yum")[1:] and not th.exists("/home/jtel/ClientMessenger/ClientMessenger")
    assert all(c["cmd"] in ("rpm", "java") for c in th.calls()[before:]), th.calls()[before:]

    assert_no_secret(env, SUDO_PASSWORD, DB_PASSWORD)
    logs = list(env.logs.glob("*.log"))
    assert len(logs) == 4 and any("yum -y install" in p.read_text() for p in logs)
    if user == "tester":
        history = th.read("/home/tester/.bash_history") if th.exists("/home/tester/.bash_history") else ""
        assert SUDO_PASSWORD not in history


def test_unknown_host_key_needs_explicit_fingerprint(host_factory, env):
    th = host_factory("centos7")
    env.ssh_config(th, known_hosts=False)
    env.answers.write_text(ANSWERS.format(auth=""))
    env.secret("db/root", DB_PASSWORD)
    rc, out, err = env.run("plan", str(env.answers))
    assert rc == 4
    fp = re.search(r"SHA256:[A-Za-z0-9+/]{43}", err)[0]
    expected = subprocess.run(["ssh-keygen", "-lf", th.known_hosts_path], capture_output=True,
                              text=True).stdout.split()[1]
    assert fp == expected

    rc, out, err = env.run("plan", str(env.answers), "--accept-host-key", "SHA256:" + "A" * 43)
    assert rc == 4, "a wrong fingerprint must not be accepted"
    rc, out, err = env.run("plan", str(env.answers), "--accept-host-key", fp)
    assert rc == 0, err
    rc, out, err = env.run("plan", str(env.answers))          # remembered in the tool's known_hosts
    assert rc == 0, err


def test_changed_host_key_is_refused(host_factory, env):
    th, other = host_factory.many(2, "centos7")
    env.ssh_config(th, known_hosts=False)
    # record the OTHER host's key under this host's address: the key "changed"
    line = Path(other.known_hosts_path).read_text().split(None, 1)[1]
    (env.home / ".ssh" / "known_hosts").write_text(f"{th.host} {line}")
    env.answers.write_text(ANSWERS.format(auth=""))
    env.secret("db/root", DB_PASSWORD)
    rc, out, err = env.run("plan", str(env.answers))
    assert rc == 4 and "changed" in err.lower()
    fp = re.search(r"SHA256:[A-Za-z0-9+/]{43}", err)[0]
    rc, out, err = env.run("apply", str(env.answers), "--yes", "--accept-host-key", fp)
    assert rc == 4 and not th.calls("yum")


def test_invalid_answers_name_line_and_key_and_touch_nothing(host_factory, env):
    th = host_factory("centos7")
    env.ssh_config(th)
    env.answers.write_text(ANSWERS.format(auth="port: twenty-two\n      colour: blue"))
    rc, out, err = env.run("apply", str(env.answers), "--yes")
    assert rc == 3
    assert re.search(r"site\.yaml:6: inventory\.hosts\.chat1\.port", err), err
    assert re.search(r"site\.yaml:7: .*colour", err), err
    assert th.calls() == []


def test_missing_secret_reported_before_anything_changes(host_factory, env):
    """The keyring is read while the hosts are connected and detected (read-only, issue 12):
    a missing secret is the error, before any plan, and nothing but looking reached the host."""
    from e2e_site import read_only
    th = host_factory("centos7")
    env.ssh_config(th)
    env.answers.write_text(ANSWERS.format(auth="password: keyring:ssh/chat1"))
    rc, out, err = env.run("plan", str(env.answers))
    assert rc == 7 and "ssh/chat1" in err and "chatwizard secret set" in err
    assert "== " not in out                                     # no plan, no preview
    assert [c for c in th.calls() if not read_only(c)] == []
