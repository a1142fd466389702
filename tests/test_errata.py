"""One test per place where the vendor page is wrong or silent (procedure.md: the errata in
sections 2-10 and "What the page does not say, but the field does").

Each docstring quotes procedure.md. The tests are direct and fast: the pure functions, the
section planners on in-process fake hosts, real bash/cp/haproxy on this machine; only the SSH
items (SHA-1, sudo's requiretty, TCP_NODELAY) need two test hosts (root), shared by them.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from wizard import hazelcast_xml as hx
from wizard import masking, planner, tyntec
from wizard.answers import Answers
from wizard.errors import PlanError
from wizard.facts import HostFacts, OSInfo, PortalVersion
from wizard.haproxy_cfg import ChatServer, edit as haproxy_edit
from wizard.initscript import (CONNECTION_PROPERTY, configure, datadir_for, jdbc_url,
                               percent_encode, render_updatesc)
from wizard.plan import Command, FileChange, NoOp
from wizard.runner import Runner
from wizard.steps import Context, clientmessenger, daemon, firewall, load_balancer, whatsapp
from wizard.steps.portal_settings import chat_urls
from wizard.transport.fake import FakeTransport

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SHARED = "/home/jtel/shared"
CM_SOURCE = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
CM_TARGET = "/home/jtel/ClientMessenger"
CFG = "/etc/haproxy/haproxy.cfg"
PASSWORD = "p&ss %+#\\'\"$`!;*? x"           # every character the shell or Connector/J cares about


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


# ------------------------------------------------------------------ helpers

def answers(scheme="http", whatsapp=False, **sections) -> Answers:
    hosts = {"chat1": {"address": "10.0.0.21", "roles": ["CHAT"]},
             "acd-dbm": {"address": "10.0.0.10", "roles": ["DATA"]},
             "lb1": {"address": "10.0.0.2", "roles": ["LB"]}}
    data = {"version": 1, "inventory": {"hosts": hosts},
            "portal": {"scheme": scheme, "load_balancer": "jtel-portal"},
            "daemon": {"db_password": "keyring:db/root"}, **sections}
    if whatsapp:
        data["whatsapp"] = {"enabled": True, "api_key": "keyring:tyntec/apikey",
                            "phone_number": "+4989123456789"}
    return Answers.from_data(data)


def context(ans: Answers, transports: dict, *, major=7, version="3.26") -> Context:
    os_ = OSInfo("CentOS", major, "7.9.2009" if major == 7 else "6.10", "/etc/redhat-release")
    facts = {h.name: HostFacts(h.name, os_) for h in ans.hosts}
    return Context(ans, transports, facts, PortalVersion(version, "test"))


def host(ans: Answers, name: str):
    return next(h for h in ans.hosts if h.name == name)


def vendor_script() -> str:
    return (DATA / "initscript" / "jtel-clientmessenger.vendor").read_text()


def connection_word(script: str) -> str:
    """The connection argument as written on the init script's java line."""
    line = next(l for l in script.splitlines() if CONNECTION_PROPERTY in l)
    return line.strip().removesuffix("\\").strip()


def as_the_shell_passes_it(word: str) -> str:
    """What bash hands the program for this unquoted word (one argument expected)."""
    out = subprocess.run(["bash", "-c", f"printf '%s\\0' {word}"], capture_output=True,
                         check=True).stdout.decode()
    args = out.split("\0")[:-1]
    assert len(args) == 1, args
    return args[0]


def connector_j(url: str) -> dict[str, str]:
    """Connector/J's view of the query string: split on &, URL-decode each value."""
    query = url.split("?", 1)[1]
    return {k: unquote_plus(v) for k, _, v in (p.partition("=") for p in query.split("&"))}


# ------------------------------------------------------------------ 2. ClientMessenger

def test_cp_r_does_not_nest_on_a_rerun(tmp_path):
    """Section 2: "`cp -R SRC/ DEST` nests the folder when DEST already exists (a re-run
    creates `/home/jtel/ClientMessenger/ClientMessenger`). A re-run must not do that." """
    src = tmp_path / "Install" / "ClientMessenger"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "ClientMessenger.jar").write_text("jar")
    page, ours = tmp_path / "page", tmp_path / "ours"
    for _ in range(2):                                       # the page's command, run twice
        subprocess.run(f"cp -R {src}/ {page}", shell=True, check=True)
    assert (page / "ClientMessenger" / "bin").is_dir()       # the erratum, on this machine

    ans = answers()
    chat = host(ans, "chat1")
    t = FakeTransport(chat, files={f"{CM_SOURCE}/bin/ClientMessenger.jar": b"jar"})
    actions = clientmessenger.plan(context(ans, {"chat1": t}), chat)
    copy = actions[0].command
    assert copy == f"mkdir -p {CM_TARGET} && cp -R {CM_SOURCE}/. {CM_TARGET}/"
    for _ in range(2):                                       # ours, even if it ran twice
        subprocess.run(copy.replace(CM_SOURCE, str(src)).replace(CM_TARGET, str(ours)),
                       shell=True, check=True)
    assert sorted(p.name for p in ours.iterdir()) == ["bin"]

    # the re-run: the target exists, nothing is copied again
    t.files[f"{CM_TARGET}/bin/ClientMessenger.jar"] = b"jar"
    again = clientmessenger.plan(context(ans, {"chat1": t}), chat)
    assert not [a for a in again if isinstance(a, Command) and "cp " in a.command]
    assert isinstance(again[0], NoOp) and "not copied again" in again[0].description


# ------------------------------------------------------------------ 4. daemon

def test_ampersand_escaped_and_password_percent_encoded():
    """Section 4: "the JDBC URL [...] with each `&` written `\\&` because the line is part of
    a shell command"; and "MySQL Connector/J URL-decodes every value in the JDBC query string
    (5.1 and 8.x): a password holding `&`, `%`, `+`, `#` or spaces must be percent-encoded
    inside the URL, and the whole line then escaped for the shell script it sits in." """
    url = jdbc_url(host="acd-dbm", schema="JTELWeb", user="root", password=PASSWORD,
                   portal_version="3.26")
    word = connection_word(configure(vendor_script(), url=url, datadir=None).text)
    assert "\\&password=" in word and "\\&characterEncoding=utf8" in word
    assert "&" not in word.replace("\\&", "")                # no bare & left for the shell
    passed = as_the_shell_passes_it(word)
    assert passed == CONNECTION_PROPERTY + url
    assert connector_j(url)["password"] == PASSWORD          # exactly, whatever it holds
    # the page's way (the raw password in the URL) would not survive Connector/J
    raw = f"jdbc:mysql://acd-dbm/JTELWeb?user=root&password={PASSWORD}&characterEncoding=utf8"
    assert connector_j(raw).get("password") != PASSWORD


def test_connector_j_8_trims_values_but_not_encoded_blanks():
    """"MySQL Connector/J [...] 8.x trims values." A password with blanks at either end
    must reach Java with them: the blanks are percent-encoded, so the trim finds none."""
    pw = "  spaced out  "
    enc = percent_encode(pw)
    assert enc == enc.strip() and enc.startswith("%20%20") and enc.endswith("%20%20")
    url = jdbc_url(host="acd-dbm", schema="JTELWeb", user="root", password=pw, portal_version="3.26")
    trimmed = {k: unquote_plus(v.strip()) for k, _, v in
               (p.partition("=") for p in url.split("?", 1)[1].split("&"))}
    assert trimmed["password"] == pw


@pytest.mark.parametrize("version,has_tz", [("3.11", False), ("3.24", False), ("3.25", True),
                                            ("3.26", True), ("3.25.0-rc1", True)])
def test_server_timezone_only_from_3_25(version, has_tz):
    """Section 4: "portal >= 3.25 appends `&serverTimezone=Europe/Berlin`." """
    url = jdbc_url(host="acd-dbm", schema="JTELWeb", user="root", password="pw",
                   portal_version=version)
    got = connector_j(url)
    assert ("serverTimezone" in got) is has_tz
    if has_tz:
        assert got["serverTimezone"] == "Europe/Berlin" and url.count("&serverTimezone=") == 1


def test_datadir_case_clients_local_and_clients_mounted():
    """Section 4: "`DATADIR="/srv/jtel/shared/Data/Clients/"` when the data folder is on the
    chat server itself, `DATADIR="/home/jtel/shared/Data/clients/"` when it is mounted (note
    the different case of Clients/clients in the page: check which exists)." """
    assert datadir_for("local") == "/srv/jtel/shared/Data/Clients/"
    assert datadir_for("mounted") == "/home/jtel/shared/Data/clients/"
    ans = answers(scheme="https", whatsapp=True)
    chat = host(ans, "chat1")
    for layout, path in (("local", "/srv/jtel/shared/Data/Clients/"),
                         ("mounted", "/home/jtel/shared/Data/clients/")):
        t = FakeTransport(chat, dirs={path.rstrip("/")})
        got, why = daemon._datadir(context(ans, {"chat1": t}), chat, ans.section("daemon"))
        assert got == path and layout in why
    # the other case of the same name is not the folder
    wrong = FakeTransport(chat, dirs={"/srv/jtel/shared/Data/clients", "/home/jtel/shared/Data/Clients"})
    with pytest.raises(PlanError, match="neither"):
        daemon._datadir(context(ans, {"chat1": wrong}), chat, ans.section("daemon"))
    script = configure(vendor_script(), url="jdbc:mysql://acd-dbm/JTELWeb?user=root",
                       datadir=datadir_for("mounted")).text
    assert 'DATADIR="/home/jtel/shared/Data/clients/"' in script.splitlines()


def test_cr_stripped_for_windows_hosted_repositories():
    """Section 4: "Repositories on a Windows machine (old installs): strip CR from
    `/home/jtel/ClientMessenger/init.d/jtel-clientmessenger` before it is installed." """
    crlf = (DATA / "initscript" / "jtel-clientmessenger.crlf").read_bytes().decode()
    assert "\r\n" in crlf
    url = jdbc_url(host="acd-dbm", schema="JTELWeb", user="root", password=PASSWORD,
                   portal_version="3.24")
    out = configure(crlf, url=url, datadir=None).text
    assert "\r" not in out
    assert out == configure(crlf.replace("\r", ""), url=url, datadir=None).text
    subprocess.run(["bash", "-n"], input=out.encode(), check=True)   # a CR would break `\` lines


# ------------------------------------------------------------------ 5. updatesc.sh

def test_updatesc_body_is_the_french_pages_not_the_garbled_english_chown(tmp_path):
    """Section 5: "The correct body (the French page has it right; the English page's chown
    line is garbled, `jtel:jtelcp … -r`): stop the service; copy `…/ClientMessenger/bin/*` to
    `/home/jtel/ClientMessenger/bin`; `cp -r …/ClientMessenger/public /home/jtel/ClientMessenger/`;
    `chown -R jtel:jtel /home/jtel/ClientMessenger`; start the service." """
    body = render_updatesc()
    assert "jtelcp" not in body and not [l for l in body.splitlines() if l.rstrip().endswith(" -r")]
    steps = [l for l in body.splitlines() if l and not l.startswith("#") and "=" not in l.split()[0]
             and l != "set -e"]
    assert [s.split()[:2] for s in steps] == [["service", '"$SERVICE"'], ["cp", '"$SRC"/bin/*'],
                                              ["cp", "-r"], ["chown", "-R"], ["service", '"$SERVICE"']]
    assert "OWNER=jtel:jtel" in body.splitlines()
    # run it: a fake `service`, a source and target tree; everything lands where it should
    src, dst, bin_ = tmp_path / "src", tmp_path / "dst", tmp_path / "fakebin"
    for d in (src / "bin", src / "public" / "gui", dst / "bin", bin_):
        d.mkdir(parents=True)
    (src / "bin" / "ClientMessenger.jar").write_text("new")
    (src / "public" / "gui" / "chat.js").write_text("js")
    (bin_ / "service").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/service.log\n")
    (bin_ / "service").chmod(0o755)
    me = f"{os.getuid()}:{os.getgid()}"
    script = tmp_path / "updatesc.sh"
    script.write_text(render_updatesc(source=str(src), target=str(dst), owner=me))
    env = dict(os.environ, PATH=f"{bin_}:{os.environ['PATH']}")
    subprocess.run(["bash", str(script)], check=True, env=env)
    assert (dst / "bin" / "ClientMessenger.jar").read_text() == "new"
    assert (dst / "public" / "gui" / "chat.js").read_text() == "js"
    assert not (dst / "public" / "public").exists()
    assert (tmp_path / "service.log").read_text() == "jtel-clientmessenger stop\njtel-clientmessenger start\n"


# ------------------------------------------------------------------ 6. firewall

STOCK_C6 = """-P INPUT ACCEPT
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
"""


def _c6_firewall(rules: str):
    ans = answers()
    chat = host(ans, "chat1")
    t = FakeTransport(chat, handlers={
        r"^iptables -S INPUT$": rules,
        r"^iptables -C": (2, "", "iptables v1.4.7: Bad argument `-C'\n"),   # 1.4.7 has no -C
    })
    return firewall.plan(context(ans, {"chat1": t}, major=6), chat), t


def test_iptables_checks_first_without_dash_c_and_inserts_before_the_reject():
    """Section 6: "`iptables -I INPUT 4 -p tcp -m tcp --dport 5701:5801 -j ACCEPT` [...] `-I`
    inserts a duplicate on every run: check with `iptables -C` first." CentOS 6's iptables
    1.4.7 has no `-C`; the check reads `iptables -S INPUT` instead, and the rules go just
    before the REJECT (position 4 assumes the stock rule set)."""
    actions, t = _c6_firewall(STOCK_C6)
    cmds = [a.command for a in actions if isinstance(a, Command)]
    assert cmds == ["iptables -I INPUT 5 -p tcp -m tcp --dport 5701:5801 -j ACCEPT",
                    "iptables -I INPUT 6 -p tcp -m tcp --dport 3000 -j ACCEPT",
                    "service iptables save", "service iptables restart"]
    assert not t.commands_matching(r"iptables -C")
    # the second run finds both rules (before the REJECT): nothing inserted, nothing saved
    done = STOCK_C6.replace("-A INPUT -j REJECT",
                            "-A INPUT -p tcp -m tcp --dport 5701:5801 -j ACCEPT\n"
                            "-A INPUT -p tcp -m tcp --dport 3000 -j ACCEPT\n-A INPUT -j REJECT")
    again, t = _c6_firewall(done)
    assert all(isinstance(a, NoOp) for a in again) and len(again) == 2
    # a rule AFTER the REJECT is never reached: it does not count
    late = STOCK_C6 + "-A INPUT -p tcp -m tcp --dport 3000 -j ACCEPT\n"
    late_actions, _ = _c6_firewall(late)
    assert "iptables -I INPUT 6 -p tcp -m tcp --dport 3000 -j ACCEPT" in \
        [a.command for a in late_actions if isinstance(a, Command)]


# ------------------------------------------------------------------ 7. haproxy

def _lb(check=0):
    ans = answers(sections={"skip": ["hazelcast", "daemon"]})
    lb = host(ans, "lb1")
    t = FakeTransport(lb, files={CFG: (DATA / "haproxy" / "portal_lb.cfg").read_bytes()}, handlers={
        r"^rpm -q haproxy$": "haproxy-1.5.18-9.el7_9.1.x86_64\n",
        r"^systemctl is-active haproxy$": (0, "active\n"),
        r"^haproxy -c -f \S*chatwizard-candidate": check,        # the candidate's check
        r"^haproxy -c -f ": 0,                                  # the live file as it is
    })
    t.on(r"^rm -f ", lambda call: [t.files.pop(p.strip("'"), None) for p in call.command.split()[2:]]
         and None)
    transports = {h.name: t if h.name == "lb1" else FakeTransport(h) for h in ans.hosts}
    facts = {h.name: HostFacts(h.name, OSInfo("CentOS", 7, "7.9.2009", "test")) for h in ans.hosts}
    plan = planner.build(ans, transports, facts=facts, portal=PortalVersion("3.26", "test"),
                         only={"load_balancer"})
    return plan, transports, t


def test_haproxy_checked_with_dash_c_before_it_is_reloaded():
    """Section 7: "Then `service haproxy reload`. A config that haproxy rejects must never be
    reloaded." The candidate is checked with `haproxy -c -f` before it replaces the live file;
    on a rejection the live file stays and nothing is reloaded."""
    plan, transports, t = _lb()
    fc, reload_ = plan.section("load_balancer").for_host("lb1").actions
    assert isinstance(fc, FileChange) and fc.validate == "haproxy -c -f {path}"
    assert reload_.command == "systemctl reload haproxy"

    before = t.files[CFG]
    alert = "[ALERT] 329/101010 (7) : parsing [/etc/haproxy/.haproxy.cfg.chatwizard-candidate:80]"
    plan, transports, t = _lb(check=(1, alert + "\n"))
    t.files[CFG] = before
    events = []
    res = Runner(plan, transports, emit=events.append).run()
    assert not res.ok and alert in res.failed["lb1"].tail
    assert t.files[CFG] == before and [w.path for w in t.writes] == \
        ["/etc/haproxy/.haproxy.cfg.chatwizard-candidate"]
    assert not t.commands_matching(r"reload")


def test_haproxy_check_fails_on_an_unresolvable_server(tmp_path):
    """"`haproxy -c -f FILE` fails when a `server` address does not resolve (unless
    `init-addr … none`)": a chat server's inventory address that the LB cannot resolve is
    named in the plan's notes before anything runs."""
    cfg = tmp_path / "h.cfg"
    r = haproxy_edit("defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n"
                     "    timeout server 5s\n", scheme="http",
                     servers=[ChatServer("chat1", "chat1.invalid")])
    cfg.write_text(r.text)
    p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert p.returncode != 0 and "chat1.invalid" in p.stdout + p.stderr     # the erratum
    note = load_balancer.address_note("chat1", "chat1", ssh_config=str(tmp_path / "none"))
    assert note and "haproxy -c" in note
    assert load_balancer.address_note("chat1", "10.0.0.21") is None


def test_generated_haproxy_lines_stay_in_haproxy_1_5_syntax():
    """"CentOS ships haproxy 1.5.18, so generated config must stay in syntax 1.5 accepts. For
    websockets, `timeout tunnel` (backend/defaults) governs after the upgrade." """
    portal = (DATA / "haproxy" / "portal_lb.cfg").read_text()
    r = haproxy_edit(portal, scheme="https", whatsapp=True,
                     servers=[ChatServer("chat1", "10.0.0.21"), ChatServer("chat2", "10.0.0.22")])
    added = [l.split() for l in r.text.splitlines()[len(portal.splitlines()):]] + \
        [l.split() for l in r.text.splitlines() if "whatsapp_req" in l]
    in_1_5 = {"frontend", "backend", "bind", "mode", "timeout", "default_backend", "balance",
              "server", "acl", "use_backend"}
    assert {w[0] for w in added if w} <= in_1_5
    assert {w[1] for w in added if w and w[0] == "timeout"} <= {"client", "server", "tunnel"}
    sections = r.text.split("\n\n")
    tunnel = [s for s in sections if "timeout tunnel" in s]
    assert len(tunnel) == 1 and tunnel[0].lstrip().startswith("backend backend_chat_ws")
    assert "balance leastconn" in tunnel[0]


# ------------------------------------------------------------------ 8. portal settings

def test_http_script_library_url_is_http_not_the_pages_https():
    """Section 8: "page says `https://<load-balancer>:3000/gui/`; port 3000 speaks plain
    http, so this is `http://…:3000/gui/`" """
    assert chat_urls("http", "jtel-portal") == {
        "ACD.Chat.Script.Library.URL": "http://jtel-portal:3000/gui/",
        "ACD.Chat.Server.Base.URL": "ws://jtel-portal:3000"}
    assert chat_urls("https", "jtel-portal") == {
        "ACD.Chat.Script.Library.URL": "https://jtel-portal:3003/gui/",
        "ACD.Chat.Server.Base.URL": "wss://jtel-portal:3003"}


# ------------------------------------------------------------------ 3. Hazelcast

SITE_NO_CHAT = (DATA / "hazelcast" / "site-3.8-no-chat.xml").read_text()


def test_hazelcast_ringbuffer_and_map_only_where_missing():
    """Section 3: "`<ringbuffer name="CHAT">` [...] — added if missing; `<map
    name="CHATCOUNTERS">` [...] — added if missing. Installs of release 3.11 made after
    2018-04-01 already have the ringbuffer and map." Existing ones with other values are
    shown, not changed (unless the engineer says so)."""
    fresh = hx.edit(SITE_NO_CHAT, ["10.0.0.21"])
    assert fresh.added == ("member 10.0.0.21", "ringbuffer CHAT", "map CHATCOUNTERS")
    with_chat = (DATA / "hazelcast" / "site-3.11-with-chat.xml").read_text()
    r = hx.edit(with_chat, ["10.0.0.21"])
    assert r.added == ("member 10.0.0.21",)
    assert r.text.count("<ringbuffer name=\"CHAT\"") == 1 and r.text.count("CHATCOUNTERS") == 1
    # only the member line is new
    import difflib
    diff = [l for l in difflib.unified_diff(with_chat.splitlines(), r.text.splitlines(), lineterm="", n=0)
            if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    assert len(diff) == 1 and diff[0].startswith("+") and "<member>10.0.0.21</member>" in diff[0]
    # other values: a conflict, the file keeps them
    conflict = (DATA / "hazelcast" / "site-3.10-conflict.xml").read_text()
    c = hx.edit(conflict, [])
    assert c.conflicts and not c.changed
    assert hx.edit(conflict, [], fix_conflicts=True).changed


def test_hazelcast_versions_ringbuffer_from_3_5_and_own_xsd():
    """"`<ringbuffer>` exists from 3.5; `RANDOM` eviction from 3.9; Hazelcast 3.x validates
    hazelcast.xml against the XSD of its own version at start and refuses to start on a
    violation." """
    with pytest.raises(hx.HazelcastError, match="3.5"):
        hx.edit((DATA / "hazelcast" / "site-3.4-old.xml").read_text(), ["10.0.0.21"])
    r = hx.edit(SITE_NO_CHAT, ["10.0.0.21"])
    assert hx.detect_version(r.text) == "3.8"
    hx.validate(r.text, "3.8")                     # the file's own version's XSD
    assert "RANDOM" not in r.text                  # LRU: valid in every 3.x
    with pytest.raises(hx.HazelcastError, match="RANDOM"):
        hx.validate(r.text.replace("<eviction-policy>LRU</eviction-policy>",
                                   "<eviction-policy>RANDOM</eviction-policy>"), "3.8")


def test_hazelcast_shared_master_copy_and_chat_copy():
    """"Newer installs keep the master copy in `/home/jtel/shared/hazelcast.xml` and the chat
    server's copy in `/home/jtel/ClientMessenger/conf/hazelcast.xml`." Older ones (legacy)
    keep each member's own file."""
    from wizard.steps import hazelcast
    ans = answers(sections={"skip": ["daemon", "load_balancer"]})
    site = SITE_NO_CHAT.encode()

    def fakes(master: bool):
        dbm = FakeTransport(host(ans, "acd-dbm"), handlers={
            r"command -v (\S+)": lambda call: f"/usr/local/bin/{call.match[1]}\n"})
        dbm.files[f"{SHARED}/hazelcast.xml" if master else hazelcast.LEGACY_PATH] = site
        chat = FakeTransport(host(ans, "chat1"), files={f"{CM_TARGET}/conf/hazelcast.xml": site})
        return {"acd-dbm": dbm, "chat1": chat, "lb1": FakeTransport(host(ans, "lb1"))}

    for master, path in ((True, f"{SHARED}/hazelcast.xml"), (False, hazelcast.LEGACY_PATH)):
        sp = hazelcast.plan_section(context(ans, fakes(master)))
        fc = sp.for_host("acd-dbm").actions[0]
        assert isinstance(fc, FileChange) and fc.path == path
        copy = sp.for_host("chat1").actions[0]
        assert copy.path == f"{CM_TARGET}/conf/hazelcast.xml" and copy.new == fc.new
        assert (copy.owner, copy.group) == ("jtel", "jtel")


# ------------------------------------------------------------------ 10. WhatsApp / TynTec

# the French page's body, as printed there (group events lost, a trailing comma)
FRENCH_BODY = """{
"webhooks": [
{
"events": [
"MoMessage"
],
"callbackUrl": "https://jtel-portal/incoming"
},
{
"events": [
"MessageStatus::accepted",
"MessageStatus::delivered",
"MessageStatus::seen",
"MessageStatus::failed

",
"

MessageStatus::

channelFailed",
"

MessageStatus::

deleted",
],
"callbackUrl": "https://jtel-portal/delivery"
}
]
}"""


def test_webhook_body_has_the_group_events_and_is_valid_json():
    """Section 10: "`MoMessage` events to `https://<portal>/incoming`;
    `MessageStatus::accepted|delivered|seen|failed|channelFailed|deleted` and
    `WhatsAppGroupEvent::userJoined|userLeft|subjectChanged|descriptionChanged` to
    `https://<portal>/delivery` (the French page's body drops the group events and is not
    valid JSON)." """
    with pytest.raises(ValueError):
        json.loads(FRENCH_BODY)
    text = tyntec.body_text(tyntec.webhook_body("https://jtel-portal"))
    body = json.loads(text)
    assert body == {"webhooks": [
        {"events": ["MoMessage"], "callbackUrl": "https://jtel-portal/incoming"},
        {"events": [f"MessageStatus::{e}" for e in
                    ("accepted", "delivered", "seen", "failed", "channelFailed", "deleted")] +
                   [f"WhatsAppGroupEvent::{e}" for e in
                    ("userJoined", "userLeft", "subjectChanged", "descriptionChanged")],
         "callbackUrl": "https://jtel-portal/delivery"}]}


def test_tyntec_204_without_body_and_https_only_callbacks():
    """"TynTec. The PATCH answers 204 with no body; it replaces only the event types listed;
    callback URLs must be https with a CA-issued certificate. Errors are
    `application/problem+json` (RFC 7807)." """
    from tyntec_standin import TyntecStandin
    key = "tt-errata-key"
    body = tyntec.webhook_body("https://jtel-portal")
    with TyntecStandin(key) as api:
        status, text = tyntec.patch_webhooks(api.base, key, body)
        assert (status, text) == (204, "")
        req = whatsapp.webhook_request({"api_base": api.base, "api_key": "keyring:tyntec/apikey"}, body)
        assert req.ok_status == (204,)
        send = tyntec.make_http(lambda ref: key)
        assert send(req) == (204, "")
        assert tyntec.webhook_differences(api.application, body) == []
        # the event type not listed keeps its own webhook
        assert any("MessageStatus::unknown" in h["events"] for h in api.application["webhooks"])
        status, text = tyntec.patch_webhooks(api.base, "wrong-key", body)
        assert status == 403 and tyntec.describe_problem(status, text).startswith("HTTP 403 Forbidden")
    with pytest.raises(ValueError, match="https"):
        tyntec.webhook_body("http://jtel-portal")
    ans = answers(scheme="https", whatsapp=True)
    data = ans.data
    data["portal"]["scheme"] = "http"
    with pytest.raises(PlanError, match="https"):
        whatsapp.plan_section(context(Answers(data, "<test>"), {}))


# ------------------------------------------------------------------ SSH (two test hosts)

@pytest.fixture(scope="module")
def c6_c7():
    """One CentOS 6 and one CentOS 7 test host for the SSH errata."""
    if os.geteuid() != 0:
        pytest.skip("test hosts need root (network namespaces, mounts)")
    from testhost import HostFactory
    f = HostFactory()
    try:
        c6, c7 = f.many([{"flavor": "centos6", "jtel": False}, {"flavor": "centos7", "jtel": False}])
        yield {"centos6": c6, "centos7": c7}
    finally:
        f.stop_all()


def ssh(th, tmp_path, *, user="root", become="root"):
    from wizard.transport.base import HostSpec
    from wizard.transport.ssh import SSHTransport
    spec = HostSpec(name=th.flavor, address=th.host, port=th.port, user=user,
                    key_file=th.key_path, become=become, password_ref="ssh/test")
    return SSHTransport(spec, password_provider=lambda ref: th.password,
                        ssh_config_path=str(tmp_path / "none"), known_hosts_paths=[th.known_hosts_path],
                        tool_known_hosts=str(tmp_path / "tool_known_hosts"), allow_agent=False)


def test_sha1_only_for_centos6_and_logged(c6_c7, tmp_path, caplog):
    """"SSH to CentOS 6. Its OpenSSH 5.3p1 offers only `ssh-rsa`/`ssh-dss` host keys with
    SHA-1 signatures and SHA-1 key exchanges. [...] RSA key login there needs
    `disabled_algorithms={"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]}`. Prefer SHA-2 whenever
    the server offers it, and say in the log when a SHA-1 algorithm had to be used." """
    caplog.set_level(logging.INFO, logger="wizard.transport")
    for flavor in ("centos6", "centos7"):
        caplog.clear()
        with ssh(c6_c7[flavor], tmp_path) as t:
            assert t.run("echo ok").stdout == "ok\n"
            n = t.negotiated
        warned = [r.getMessage() for r in caplog.records
                  if r.levelno == logging.WARNING and "SHA-1" in r.getMessage()]
        if flavor == "centos6":
            assert "ssh-rsa" in n["sha1"] and n["pubkey_algorithm"] == "ssh-rsa"
            assert n["kex"].endswith("sha256") and n["mac"] == "hmac-sha2-256"   # SHA-2 where offered
            assert warned and all(m.startswith("host centos6: SHA-1") for m in warned)
        else:
            assert n["sha1"] == [] and not warned


def test_sudo_requiretty_gets_a_pty(c6_c7, tmp_path):
    """"sudo on CentOS 6/7. Their sudoers ship `Defaults requiretty`: sudo over a plain exec
    channel fails with "you must have a tty to run sudo". Request a pty for sudo, and keep
    the password off the command line." """
    th = c6_c7["centos6"]
    rc, out, err = th.run("sudo -S id -un < /dev/null", user="tester")     # a plain channel
    assert rc != 0 and "tty" in out + err                    # the erratum, on the host
    with ssh(th, tmp_path, user="tester", become="sudo") as t:
        assert t.run("id -un").stdout == "tester\n"
        r = t.run("id -un", sudo=True)                        # requiretty satisfied
        assert (r.exit_code, r.stdout) == (0, "root\n")
        assert t.run("ps -eo args", sudo=True).stdout.count(th.password) == 0


def test_tcp_nodelay_is_set(c6_c7, tmp_path):
    """"Latency. paramiko does not set `TCP_NODELAY`; every command on a persistent
    connection then costs ~45 ms more (Nagle + delayed ACK). With it set: ~4–7 ms on
    loopback." """
    with ssh(c6_c7["centos7"], tmp_path) as t:
        t.run("true")
        sock = t.paramiko_transport.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1

        def median_run() -> float:
            times = []
            for _ in range(8):
                t0 = time.perf_counter()
                t.run("true")
                times.append(time.perf_counter() - t0)
            return statistics.median(times)
        with_nodelay = median_run()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)     # paramiko's default
        without = median_run()
        assert with_nodelay < without and without > 0.03, (with_nodelay, without)
