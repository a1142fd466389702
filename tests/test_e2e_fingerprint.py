"""Fingerprint on replay, end to end over SSH: an install recorded on a CentOS 7 chat server,
replayed onto a CentOS 6 one whose repository differs (Windows-hosted: CRLF, portal 3.24, an
edited init script, one more jar); the differences are listed before any plan."""
from __future__ import annotations

import pytest

from wizard import fingerprint as fpm
from wizard.answers import Answers

pytestmark = pytest.mark.needs_root

SRC = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"


def site(name, th):
    return Answers.from_data({
        "version": 1,
        "inventory": {"hosts": {name: {"address": th.host, "port": th.port, "user": "root",
                                       "key_file": th.key_path, "roles": ["CHAT"]},
                                "acd-dbm": {"address": "192.0.2.2", "roles": ["DATA"]},
                                "lb1": {"address": "192.0.2.3", "roles": ["LB"]}}},
        "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
        "daemon": {"db_password": "keyring:db/root"}})


def connect(answers, th, tmp_path):
    from wizard import connect as session
    spec = answers.host(next(h.name for h in answers.hosts_with_role("CHAT")))
    return {spec.name: session.connect_one(
        spec, known_hosts_paths=[th.known_hosts_path], tool_known_hosts=str(tmp_path / "kh"),
        ssh_config_path=str(tmp_path / "no-ssh-config"), allow_agent=False)}


def fingerprint(answers, th, tmp_path):
    transports = connect(answers, th, tmp_path)
    try:
        chats = answers.hosts_with_role("CHAT")
        facts = {c.name: _gather(transports[c.name]) for c in chats}   # what planner.detect reads
        return fpm.record(answers, facts, transports)
    finally:
        for t in transports.values():
            t.close()


def _gather(t):
    from wizard import facts
    return facts.gather(t, roles=("CHAT",))


def test_e2e_replay_centos7_onto_centos6(host_factory, tmp_path):
    c7, c6 = host_factory.many([dict(flavor="centos7", java8=True),
                                dict(flavor="centos6", crlf=True, portal_version="3.24")])
    init = c6.read(SRC + "/init.d/jtel-clientmessenger")
    c6.write(SRC + "/init.d/jtel-clientmessenger", init.replace("-Xmx1024m", "-Xmx2048m"),
             mode=0o644, owner="jtel")
    c6.write(SRC + "/bin/extra-3.1.jar", b"jar", mode=0o644, owner="jtel")

    first = site("chat1", c7)
    recorded = fingerprint(first, c7, tmp_path)
    sidecar = fpm.save(fpm.sidecar_path(tmp_path / "site.yaml"), recorded)
    assert sidecar.name == "site.fingerprint.yaml"
    again = fpm.load(sidecar)
    assert again == recorded
    assert recorded["hosts"]["chat1"]["os"]["major"] == 7
    assert len(recorded["hosts"]["chat1"]["repository"]["files"]) >= 8
    assert "CHANGEME" not in recorded["hosts"]["chat1"]["init_script"]

    current = fingerprint(site("chat2", c6), c6, tmp_path)
    diffs = fpm.compare(again, current)
    lines = [d.line for d in diffs]
    assert lines[0] == ("chat2: CentOS 6.10, chat1 was CentOS 7.9.2009: firewall via iptables, "
                        "services via service/chkconfig"), lines
    assert "chat2: no Java 8 (section 1 installs it), chat1 had Java 8" in " | ".join(lines)
    assert "chat2: portal 3.24.0, chat1 was 3.26.0: the connection URL has no serverTimezone" in lines
    assert any(l.startswith("chat2: repository hosted on Windows (") for l in lines), lines
    files = next(l for l in lines if "ClientMessenger repository differs from chat1's" in l)
    assert "1 only on chat2 (bin/extra-3.1.jar)" in files and "init.d/jtel-clientmessenger" in files
    init = next(d for d in diffs if d.what == "init script")
    assert init.line == "chat2: init script differs from chat1's"
    changed = [l for l in init.diff.splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]
    assert changed == ["-    -server -Xms256m -Xmx1024m \\", "+    -server -Xms256m -Xmx2048m \\"]
    # nothing was changed on either host: only looking commands
    for th in (c7, c6):
        assert [c["cmd"] for c in th.calls() if c["cmd"] in ("yum", "chkconfig", "service")
                and c["argv"][:1] not in (["--list"],)] == []


def test_e2e_read_after_install_is_one_round_trip_per_chat_server(host_factory, tmp_path):
    """What `apply` records after the run (fingerprint.read): the same record as detection
    plus record() would make, from one batch per chat server; the other hosts are not asked."""
    th = host_factory.many([dict(flavor="centos7", java8=True)])[0]
    answers = site("chat1", th)
    reference = fingerprint(answers, th, tmp_path)
    transports = connect(answers, th, tmp_path)
    try:
        t = transports["chat1"]
        before = t.round_trips
        got = fpm.read(answers, transports)
        sent = t.round_trips - before
    finally:
        t.close()
    assert sent == 1, f"{sent} round trips to chat1 for its fingerprint"
    got.pop("recorded"), reference.pop("recorded")
    assert got == reference
    assert len(got["hosts"]["chat1"]["repository"]["files"]) >= 8
