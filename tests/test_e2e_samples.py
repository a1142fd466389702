"""The sample answers files in answers/, applied end to end as an engineer applies them.

Each sample goes to fresh test hosts of its flavor (chat, LB, DATA, TEL, WEB; tests/e2e_site.py)
with `chatwizard apply --yes` in a subprocess, then is applied again: the replay must say there
is nothing to do, run no changing command and change no byte. second-chat-server.yaml is
applied on top of the first site (centos7-https-whatsapp.yaml) and must add chat2 everywhere
once; a third apply changes nothing.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from e2e_site import (BACKUP_ROOT, CM_SOURCE, CM_TARGET, DB_PASSWORD, HAPROXY_CFG, LEGACY_HZ,
                      PORTAL_CFG, SHARED, SSH_PASSWORD, TEL_SERVICE, TYNTEC_KEY, Site)
from wizard import hazelcast_xml as hx
from wizard import tyntec

pytestmark = pytest.mark.needs_root

MASTER_HZ = f"{SHARED}/hazelcast.xml"
CHAT_HZ = f"{CM_TARGET}/conf/hazelcast.xml"
INIT = "/etc/init.d/jtel-clientmessenger"
UPDATESC = "/usr/local/bin/updatesc.sh"
CONNECTION = "-Dde.jtel.platform.clientmessenger.connection="
MEMBERS = ("acd-dbm", "acd-tel1", "acd-web1")
JTEL = (1000, 1000)
WA_LINES = ("    acl whatsapp_req path /incoming\n    acl whatsapp_req path /delivery\n"
            "    use_backend backend_chat_ws if whatsapp_req\n")


@pytest.fixture
def site_for(host_factory, tmp_path):
    sites = []

    def make(samples, flavor):
        s = Site.start(host_factory, tmp_path, samples, flavor)
        sites.append(s)
        return s
    yield make
    for s in sites:
        s.stop()


# ------------------------------------------------------------------ helpers

def applied(site, answers: Path):
    run = site.apply(answers)
    assert run.rc == 0, str(run)
    assert "Done:" in run.out, str(run)
    assert_no_secret(site, run)
    return run


def assert_no_secret(site, run) -> None:
    """No secret in the output, the run logs or the journals."""
    files = [p for d in (site.cli.logs, site.cli.state) if d.exists() for p in d.rglob("*")
             if p.is_file()]
    for text in [run.out, run.err] + [p.read_text("utf-8", "replace") for p in files]:
        for secret in (DB_PASSWORD, SSH_PASSWORD, TYNTEC_KEY):
            assert secret not in text


def replay_changes_nothing(site, answers: Path, runs, trees) -> None:
    """Apply again: "Nothing to do.", only read-only commands, no byte changed anywhere: not
    in the files the earlier runs wrote, not in `trees`, not among the backups."""
    written = sorted({w for r in runs for w in r.written})
    trees = {n: list(dict(trees).get(n, [])) + [BACKUP_ROOT] for n in site.hosts}
    before = site.snapshot(written, trees)
    assert any(before["trees"][(n, BACKUP_ROOT)] for n in site.hosts)
    run = site.apply(answers)
    assert run.rc == 0, str(run)
    assert "Nothing to change: every step is already done." in run.out, str(run)
    assert "Nothing to do." in run.out and "Done:" not in run.out, str(run)
    assert run.written == [] and run.backups == []
    assert site.changes_since(before) == []


def hz_file(site, name: str) -> str:
    th = site.hosts[name]
    return th.read(MASTER_HZ if th.exists(MASTER_HZ) else LEGACY_HZ)


def assert_hazelcast(text: str, chats: list[str]) -> None:
    """Every chat server listed once, the CHAT ringbuffer and the CHATCOUNTERS map, and the
    file valid against the XSD of its own version (3.10)."""
    from lxml import etree
    got = hx.members(text)
    for c in chats:
        assert got.count(c) == 1, (c, got)
    assert got[:3] == list(MEMBERS), got                  # the existing members kept, in order
    hx.validate(text, "3.10")
    xsd = etree.XMLSchema(etree.parse(str(Path(hx.__file__).parent / "data" / "xsd" /
                                          "hazelcast-config-3.10.xsd")))
    doc = etree.fromstring(text.encode())
    assert xsd.validate(doc.getroottree()), xsd.error_log
    ns = {"h": hx.NS}
    rb = doc.xpath("h:ringbuffer[@name='CHAT']", namespaces=ns)
    mp = doc.xpath("h:map[@name='CHATCOUNTERS']", namespaces=ns)
    assert len(rb) == 1 and len(mp) == 1
    val = lambda el, tag: el.find(f"{{{hx.NS}}}{tag}").text
    assert [val(rb[0], t) for t in ("in-memory-format", "backup-count", "async-backup-count",
                                    "time-to-live-seconds", "capacity")] == \
        ["BINARY", "1", "0", "60", "500"]
    assert [val(mp[0], t) for t in ("backup-count", "async-backup-count", "time-to-live-seconds",
                                    "eviction-policy", "max-size")] == ["0", "1", "600", "LRU", "5000"]
    assert mp[0].find(f"{{{hx.NS}}}max-size").get("policy") == "PER_NODE"


def follow_ups(site) -> tuple[int, int, int]:
    """(updatepl.sh runs on DATA, listener restarts on TEL, updatejb.sh runs on WEB)."""
    tel = site.hosts["acd-tel1"]
    restarts = [c for c in tel.calls() if c["cmd"] in ("service", "systemctl")
                and TEL_SERVICE in c["argv"] and "restart" in c["argv"]]
    runs = []
    for name, log in (("acd-dbm", "/var/log/updatepl.log"), ("acd-web1", "/var/log/updatejb.log")):
        th = site.hosts[name]
        runs.append(th.read(log).count("ran") if th.exists(log) else 0)
    return runs[0], len(restarts), runs[1]


def jvm_connection(th) -> dict[str, str]:
    """The connection URL the (fake) JVM got from the real init script, decoded as Connector/J
    does: split on &, URL-decode each value."""
    rec = [r for r in th.calls("java") if any(a.startswith(CONNECTION) for a in r["argv"])][-1]
    url = next(a for a in rec["argv"] if a.startswith(CONNECTION))[len(CONNECTION):]
    assert url.startswith("jdbc:mysql://acd-dbm/JTELWeb?"), url
    query = url.split("?", 1)[1]
    return {k: unquote(v.replace("+", " ")) for k, _, v in (p.partition("=") for p in query.split("&"))}


def assert_chat_server(site, name: str, *, java_from: str, timezone: bool, datadir: str | None):
    th = site.hosts[name]
    # 1. Java 8, installed once from where the answers say
    assert th.shim_state()["packages"].get("jdk1.8") == "1.8.0_202-fcs"
    assert [c["argv"] for c in th.calls("yum")] == [["-y", "install", java_from]]
    # 2. the tree is a copy of the repository, jtel-owned, not nested
    tree = site.tree_state(name, CM_TARGET)
    assert f"{CM_TARGET}/bin/ClientMessenger.jar" in tree and f"{CM_TARGET}/public/gui/chat.js" in tree
    assert not th.exists(f"{CM_TARGET}/ClientMessenger")
    assert {v[2:] for v in tree.values()} == {JTEL}, {p: v for p, v in tree.items() if v[2:] != JTEL}
    # 4. the daemon: installed script, connection URL as the JVM receives it, on at boot, running
    script = th.read(INIT)
    st = th.stat(INIT)
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o700, 0, 0)    # holds the DB password
    assert "\r" not in script
    line = next(l for l in script.splitlines() if CONNECTION in l)
    assert "?user=root\\&password=" in line and "\\&characterEncoding=utf8" in line
    assert ("\\&serverTimezone=" in line) is timezone         # Europe%2FBerlin: decoded below
    want = {"user": "root", "password": DB_PASSWORD, "characterEncoding": "utf8"}
    if timezone:
        want["serverTimezone"] = "Europe/Berlin"
    assert jvm_connection(th) == want
    datadir_lines = [l for l in script.splitlines() if l.strip().startswith("DATADIR=")]
    assert datadir_lines == [f'DATADIR="{datadir or "/home/jtel/ClientMessenger/data/"}"']
    svc = th.shim_state()["services"]["jtel-clientmessenger"]
    assert svc["enabled"] and svc["running"]
    assert [c["argv"] for c in th.calls("chkconfig") if "--list" not in c["argv"]] == \
        [["jtel-clientmessenger", "on"]]
    # 5. updatesc.sh, the French page's body
    st = th.stat(UPDATESC)
    assert (st.st_mode & 0o7777, st.st_uid) == (0o755, 0)
    body = th.read(UPDATESC)
    assert "OWNER=jtel:jtel" in body.splitlines() and 'chown -R "$OWNER" "$TARGET"' in body
    assert f"SRC={CM_SOURCE}" in body.splitlines()
    # 3. the chat server's copy of the cluster's hazelcast.xml, jtel-owned
    assert th.read(CHAT_HZ) == hz_file(site, "acd-dbm")
    assert (th.stat(CHAT_HZ).st_uid, th.stat(CHAT_HZ).st_gid) == JTEL


def assert_firewall(site, name: str, ports: list[str]) -> None:
    th = site.hosts[name]
    state = th.shim_state()
    if site.flavor == "centos7":
        for layer in ("permanent", "runtime"):
            got = state["firewall"][layer]["public"]["ports"]
            assert sorted(got) == sorted(f"{p}/tcp" for p in ports), (name, layer, got)
        return
    rules = [" ".join(r) for r in state["iptables"]["filter"]["rules"]["INPUT"]]
    reject = next(i for i, r in enumerate(rules) if "REJECT" in r)
    for p in ports:
        rule = f"-p tcp -m tcp --dport {p.replace('-', ':')} -j ACCEPT"
        assert rules.count(rule) == 1 and rules.index(rule) < reject, (name, rules)
        saved = th.read("/etc/sysconfig/iptables")
        assert f"-A INPUT {rule}" in saved, saved
        assert saved.index(f"-A INPUT {rule}") < saved.index("-A INPUT -j REJECT")


def lb_config(site) -> str:
    lb = site.hosts["acd-lb1"]
    live = lb.read(HAPROXY_CFG)
    rc, out, err = lb.run(f"haproxy -c -f {HAPROXY_CFG}")
    assert rc == 0, out + err
    st = lb.stat(HAPROXY_CFG)
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 0, lb._id("/etc/group", "haproxy"))
    assert not lb.exists("/etc/haproxy/.haproxy.cfg.chatwizard-candidate")
    return live


def cfg_section(cfg: str, header: str) -> str:
    """The lines of one haproxy section, up to the next unindented line."""
    assert cfg.count(f"\n{header}\n") == 1, header
    body = cfg.split(f"\n{header}\n", 1)[1]
    return "".join(re.split(r"(?m)^(?=\S)", body, maxsplit=1)[0])


def backend_servers(cfg: str) -> list[str]:
    block = cfg_section(cfg, "backend backend_chat_ws")
    assert "    balance leastconn\n" in block and "    mode http\n" in block
    return [l.strip() for l in block.splitlines() if l.strip().startswith("server ")]


def reloads(site) -> list:
    lb = site.hosts["acd-lb1"]
    if site.flavor == "centos7":
        return [c for c in lb.calls("systemctl") if c["argv"][:2] == ["reload", "haproxy"]]
    return [c for c in lb.calls("service") if c["argv"][:2] == ["haproxy", "reload"]]


def assert_backups(site, run, expected: dict[tuple[str, str], int]) -> None:
    """Each replaced file was copied under /var/lib/chatwizard/backups first; the first copy
    holds the content from before the run."""
    got: dict[tuple[str, str], list[str]] = {}
    for host, path, backup in run.backups:
        got.setdefault((host, path), []).append(backup)
    assert {k: len(v) for k, v in got.items()} == expected
    for (host, path), backups in got.items():
        th = site.hosts[host]
        for b in backups:
            assert b.startswith(BACKUP_ROOT + "/") and b.endswith(path), b
            assert th.exists(b), (host, b)
        original = site.originals.get((host, path))
        if original is not None:
            assert th.read(backups[0], binary=True) == original, (host, path)


def checklists(out: str, scheme: str) -> None:
    if scheme == "https":
        assert "ACD.Chat.Script.Library.URL  https://jtel-portal:3003/gui/" in out
        assert "ACD.Chat.Server.Base.URL     wss://jtel-portal:3003" in out
    else:
        assert "ACD.Chat.Script.Library.URL  http://jtel-portal:3000/gui/" in out
        assert "ACD.Chat.Server.Base.URL     ws://jtel-portal:3000" in out


def _remember_replaced(site, chats) -> None:
    members = {n: [MASTER_HZ, LEGACY_HZ] for n in MEMBERS}
    site.remember({**members, "acd-lb1": [HAPROXY_CFG]})
    for c in chats:   # the chat copy is replaced after section 2 copied the repository's
        site.originals[(c, CHAT_HZ)] = site.hosts[c].read(f"{CM_SOURCE}/conf/hazelcast.xml",
                                                          binary=True)


# ------------------------------------------------------------------ the samples

def test_centos7_https_whatsapp(site_for):
    site = site_for(["centos7-https-whatsapp.yaml"], "centos7")
    answers = site.answers("centos7-https-whatsapp.yaml")
    chat = site.hosts["chat1"]
    _remember_replaced(site, ["chat1"])

    run = applied(site, answers)
    checklists(run.out, "https")
    assert "ACD.Whatsapp.Server.Base.URL  https://jtel-portal:3003" in run.out
    assert "Phone number (E.164)                    +4989123456789" in run.out

    assert_chat_server(site, "chat1", timezone=True, datadir="/srv/jtel/shared/Data/Clients/",
                       java_from="https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm")
    for n in MEMBERS:
        assert_hazelcast(site.hosts[n].read(MASTER_HZ), [chat.host])
    assert follow_ups(site) == (1, 1, 1)
    assert_firewall(site, "chat1", ["5701-5801", "3000"])
    assert_firewall(site, "acd-lb1", ["3003"])

    cfg = lb_config(site)
    assert cfg.startswith(PORTAL_CFG.decode().split("frontend acdportal_https")[0])
    assert "frontend acdportal_chat_wss\n    bind :3003 ssl crt /etc/haproxy/haproxy.pem\n" in cfg
    assert backend_servers(cfg) == [f"server chatserver1 {chat.host}:3000 weight 1 check inter 1m"]
    assert WA_LINES in cfg_section(cfg, "frontend acdportal_https")
    assert [c["rc"] for c in reloads(site)] == [0, 0]        # after section 7, after section 10

    (patch,) = site.api.patches()
    assert patch.headers["apikey"] == TYNTEC_KEY
    assert patch.headers["content-type"] == "application/json"
    assert patch.headers["accept"] == "application/problem+json"
    assert patch.path == "/chat-api/v2/applications/default"
    assert json.loads(patch.body) == tyntec.webhook_body("https://jtel-portal")

    assert_backups(site, run, {**{(n, MASTER_HZ): 1 for n in MEMBERS}, ("chat1", CHAT_HZ): 1,
                               ("acd-lb1", HAPROXY_CFG): 2})
    assert sorted(p for h, p in run.written if h == "chat1") == sorted([CHAT_HZ, INIT, UPDATESC])

    replay_changes_nothing(site, answers, [run], {"chat1": [CM_TARGET, "/etc/init.d/"],
                                                  "acd-lb1": ["/etc/haproxy"]})
    assert len(site.api.patches()) == 1 and len(reloads(site)) == 2


def test_centos6_http(site_for):
    site = site_for(["centos6-http.yaml"], "centos6")
    answers = site.answers("centos6-http.yaml")
    chat = site.hosts["chat1"]
    _remember_replaced(site, ["chat1"])

    run = applied(site, answers)
    checklists(run.out, "http")
    assert "WhatsApp" not in run.out

    assert_chat_server(site, "chat1", timezone=False, datadir=None,
                       java_from="/root/jdk-8u202-linux-x64.rpm")
    assert all(c["user"] == "root" for c in chat.calls() if c["cmd"] in ("yum", "chkconfig"))
    for n in MEMBERS:                                         # legacy layout: each its own copy
        assert not site.hosts[n].exists(MASTER_HZ)
        assert_hazelcast(site.hosts[n].read(LEGACY_HZ), [chat.host])
    tel = [c["argv"] for c in site.hosts["acd-tel1"].calls("service") if TEL_SERVICE in c["argv"]]
    assert tel == [[TEL_SERVICE, "restart"]]
    assert follow_ups(site) == (1, 1, 1)
    assert_firewall(site, "chat1", ["5701-5801", "3000"])
    assert_firewall(site, "acd-lb1", ["3000"])

    cfg = lb_config(site)
    assert cfg.startswith(PORTAL_CFG.decode())
    assert "frontend acdportal_chat_ws\n    bind :3000\n" in cfg and ":3003" not in cfg
    assert backend_servers(cfg) == [f"server chatserver1 {chat.host}:3000 weight 1 check inter 1m"]
    assert "whatsapp_req" not in cfg
    assert [c["rc"] for c in reloads(site)] == [0]

    assert_backups(site, run, {**{(n, LEGACY_HZ): 1 for n in MEMBERS}, ("chat1", CHAT_HZ): 1,
                               ("acd-lb1", HAPROXY_CFG): 1})
    replay_changes_nothing(site, answers, [run],
                           {"chat1": [CM_TARGET, "/etc/init.d/", "/etc/sysconfig"],
                            "acd-lb1": ["/etc/haproxy", "/etc/sysconfig"]})
    assert len(reloads(site)) == 1


def test_second_chat_server(site_for):
    site = site_for(["centos7-https-whatsapp.yaml", "second-chat-server.yaml"], "centos7")
    first = site.answers("centos7-https-whatsapp.yaml")
    second = site.answers("second-chat-server.yaml")
    chat1, chat2 = site.hosts["chat1"], site.hosts["chat2"]

    first_run = applied(site, first)
    assert chat2.calls() == []                                # not in the first site's answers
    _remember_replaced(site, ["chat2"])
    site.remember({"chat1": [CHAT_HZ]})                       # as the first site left them
    run = applied(site, second)
    assert_backups(site, run, {**{(n, MASTER_HZ): 1 for n in MEMBERS}, ("chat1", CHAT_HZ): 1,
                               ("chat2", CHAT_HZ): 1, ("acd-lb1", HAPROXY_CFG): 1})

    assert_chat_server(site, "chat2", timezone=True, datadir="/home/jtel/shared/Data/clients/",
                       java_from="https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm")
    for n in MEMBERS:
        assert_hazelcast(site.hosts[n].read(MASTER_HZ), [chat1.host, chat2.host])
    master = site.hosts["acd-dbm"].read(MASTER_HZ)
    assert chat1.read(CHAT_HZ) == master == chat2.read(CHAT_HZ)
    assert follow_ups(site) == (2, 2, 2)

    cfg = lb_config(site)
    assert backend_servers(cfg) == [f"server chatserver1 {chat1.host}:3000 weight 1 check inter 1m",
                                    f"server chatserver2 {chat2.host}:3000 weight 1 check inter 1m"]
    assert cfg.count("frontend acdportal_chat_wss") == 1 and cfg.count(WA_LINES) == 1
    assert len(site.api.patches()) == 1                       # TynTec already calls the portal
    # chat1 was a replay: nothing installed again there
    assert len(chat1.calls("yum")) == 1
    assert not [p for h, p in run.written if h == "chat1" and p != CHAT_HZ]

    replay_changes_nothing(site, second, [first_run, run],
                           {"chat1": [CM_TARGET], "chat2": [CM_TARGET, "/etc/init.d/"],
                            "acd-lb1": ["/etc/haproxy"]})
