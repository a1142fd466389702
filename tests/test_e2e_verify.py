"""Section 11, Verify, end to end: a sample site applied with `chatwizard apply --yes`, then
wizard.verify run as the engineer runs it (tests/verify_run.py, in the CLI's environment).
The chat servers' fake JVM serves the WebSocket echo on 3000 (it plays ClientMessenger); a
plain TCP listener on 5701 plays its Hazelcast member."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import e2e_site
from e2e_site import HAPROXY_CFG, Site

pytestmark = pytest.mark.needs_root

HERE = Path(__file__).resolve().parent
SVC = "jtel-clientmessenger"
LISTEN_5701 = ("nohup python3 -c 'import socket,time\ns=socket.socket();"
               "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind((\"0.0.0.0\",5701));"
               "s.listen(50)\nwhile True: c,_=s.accept()' >/dev/null 2>&1 &")


@pytest.fixture
def site_for(host_factory, tmp_path, monkeypatch):
    monkeypatch.setitem(e2e_site.CHAT_CONFIG, "java_listen_port", 3000)   # the echo plays ClientMessenger
    sites = []

    def make(samples, flavor):
        s = Site.start(host_factory, tmp_path, samples, flavor)
        sites.append(s)
        return s
    yield make
    for s in sites:
        s.stop()


def verify(site, answers: Path) -> tuple[int, list[dict], str]:
    p = subprocess.run([sys.executable, str(HERE / "verify_run.py"), str(answers)], text=True,
                       capture_output=True, env=site.cli.vars, cwd=site.cli.home, timeout=300)
    assert p.stdout.strip(), p.stderr
    return p.returncode, json.loads(p.stdout), p.stderr


def failed(checks) -> list[dict]:
    return [c for c in checks if not c["ok"]]


def haproxy(lbh) -> None:
    """The test LB's haproxy is the shim's state only: run the real one on the applied config
    inside the LB's namespace (gone with the host), replacing a running one (a reload)."""
    rc, out, err = lbh.run("p=/var/run/haproxy-real.pid; old=$(cat $p 2>/dev/null); "
                           "haproxy -D -f /etc/haproxy/haproxy.cfg -p $p ${old:+-sf $old}")
    assert rc == 0, out + err


def applied_site(site_for, sample, flavor):
    site = site_for([sample], flavor)
    answers = site.answers(sample)
    run = site.apply(answers)
    assert run.rc == 0, str(run)
    for name in site.roles:
        if "CHAT" in site.roles[name]:
            rc, out, err = site.hosts[name].run(LISTEN_5701)
            assert rc == 0, err
        if site.roles[name] == ["LB"]:
            haproxy(site.hosts[name])
    return site, answers


def test_verify_centos7_https_whatsapp(site_for):
    site, answers = applied_site(site_for, "centos7-https-whatsapp.yaml", "centos7")
    n_calls = {n: len(th.calls()) for n, th in site.hosts.items()}
    rc, checks, text = verify(site, answers)
    assert rc == 0 and failed(checks) == [], text
    names = {(c["host"], c["name"]) for c in checks}
    chats = [n for n, r in site.roles.items() if "CHAT" in r]
    for chat in chats:
        assert {(chat, "daemon running"), (chat, "starts at boot"), (chat, "listening on 3000"),
                (chat, "firewall")} <= names
    assert ("TynTec", "webhooks point at the portal") in names
    ws = [c for c in checks if c["name"].startswith("WebSocket (wss)")]
    assert ws and all("got HTTP 101" in c["proved"] for c in ws)
    assert any(c["name"] == "https://jtel-portal/incoming to the chat backend" for c in checks)
    assert any(c["name"].startswith("cluster port of ") for c in checks)
    # read-only: nothing but looking commands on any host
    for n, th in site.hosts.items():
        assert [c for c in th.calls()[n_calls[n]:] if not e2e_site.read_only(c)] == [], n

    # a webhook that points elsewhere
    hook = next(h for h in site.api.application["webhooks"] if "MoMessage" in h.get("events", []))
    hook["callbackUrl"] = "https://elsewhere.example/incoming"
    rc, checks, text = verify(site, answers)
    bad = failed(checks)
    assert rc == 1 and [(c["host"], c["name"]) for c in bad] == [("TynTec", "webhooks point at the portal")], text
    assert "MoMessage: https://elsewhere.example/incoming (wanted https://jtel-portal/incoming)" in bad[0]["problem"]
    assert "section 10" in bad[0]["fix"]


def test_verify_centos6_http_failures(site_for):
    site, answers = applied_site(site_for, "centos6-http.yaml", "centos6")
    rc, checks, text = verify(site, answers)
    assert rc == 0 and failed(checks) == [], text
    chat = next(n for n, r in site.roles.items() if "CHAT" in r)
    lb = next(n for n, r in site.roles.items() if r == ["LB"])
    th, lbh = site.hosts[chat], site.hosts[lb]

    # a closed firewall port: 3000/tcp no longer accepted on the chat server
    rules = th.run("iptables -S INPUT")[1]
    rule = next(l for l in rules.splitlines() if "--dport 3000" in l)
    assert th.run("iptables -D " + rule[3:])[0] == 0
    rc, checks, text = verify(site, answers)
    bad = failed(checks)
    assert rc == 1 and [(c["host"], c["name"]) for c in bad] == [(chat, "firewall")], text
    assert "does not let in 3000/tcp" in bad[0]["problem"] and "section 6" in bad[0]["fix"]
    assert th.run("iptables -I INPUT 1 " + rule[3:])[0] == 0

    # a missing LB backend line: chat1's server line removed (haproxy reloaded)
    cfg = lbh.read(HAPROXY_CFG)
    lbh.write(HAPROXY_CFG, "".join(l for l in cfg.splitlines(True) if not l.lstrip().startswith("server chatserver")
                                   ) + "    server other 127.0.0.1:9 check\n")
    haproxy(lbh)
    rc, checks, text = verify(site, answers)
    bad = failed(checks)
    assert rc == 1 and [c["name"] for c in bad] == ["WebSocket (ws) through " + lb], text
    assert f"backend backend_chat_ws in {HAPROXY_CFG} has no server line for {chat} ({th.host}:3000)" \
        in bad[0]["problem"], bad[0]
    assert "a `server` line per chat server" in bad[0]["fix"]
    lbh.write(HAPROXY_CFG, cfg)
    haproxy(lbh)

    # a stopped daemon
    assert th.run(f"service {SVC} stop")[0] == 0
    rc, checks, text = verify(site, answers)
    bad = {(c["host"], c["name"]): c for c in failed(checks)}
    assert rc == 1 and (chat, "daemon running") in bad, text
    assert bad[(chat, "daemon running")]["problem"].startswith(f"{SVC} is not running")
    assert bad[(chat, "daemon running")]["fix"].startswith(f"service {SVC} start")
    assert (chat, "listening on 3000") in bad


def test_verify_second_chat_server_is_balanced(site_for):
    """Two chat servers behind the LB: the held WebSocket upgrades reach both; without chat2's
    server line only chat1 holds them and the check names chat2."""
    site = site_for(["centos7-https-whatsapp.yaml", "second-chat-server.yaml"], "centos7")
    assert site.apply(site.answers("centos7-https-whatsapp.yaml")).rc == 0
    answers = site.answers("second-chat-server.yaml")
    assert site.apply(answers).rc == 0
    for name in ("chat1", "chat2"):
        assert site.hosts[name].run(LISTEN_5701)[0] == 0
    lbh = site.hosts["acd-lb1"]
    haproxy(lbh)
    rc, checks, text = verify(site, answers)
    assert rc == 0 and failed(checks) == [], text
    ws = next(c for c in checks if c["name"] == "WebSocket (wss) through acd-lb1")
    held = dict(part.rsplit(" ", 1) for part in ws["proved"].split("per chat server: ")[1].split(", "))
    assert set(held) == {"chat1", "chat2"} and all(int(v) >= 1 for v in held.values()), ws
    assert {c["host"] for c in checks if c["name"] == "cluster port of chat2"} == {"acd-dbm", "acd-tel1", "acd-web1"}

    cfg = lbh.read(HAPROXY_CFG)
    lbh.write(HAPROXY_CFG, "".join(l for l in cfg.splitlines(True) if "server chatserver2 " not in l))
    haproxy(lbh)
    rc, checks, text = verify(site, answers)
    bad = failed(checks)
    assert rc == 1 and [c["name"] for c in bad] == ["WebSocket (wss) through acd-lb1"], text
    assert "chat2 got none" in bad[0]["problem"]
    assert f"has no server line for chat2 ({site.hosts['chat2'].host}:3000)" in bad[0]["problem"]
