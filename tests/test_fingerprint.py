"""wizard.fingerprint over the fake transport: record, the sidecar, compare. End to end (a
sample recorded on a CentOS 7 chat server, replayed onto a CentOS 6 one): test_e2e_fingerprint."""
from __future__ import annotations

import hashlib
import stat

import pytest

from wizard import fingerprint as fpm
from wizard.answers import Answers
from wizard.facts import HostFacts, Java, OSInfo, PortalVersion
from wizard.transport.base import HostSpec
from wizard.transport.fake import FakeTransport

SRC = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
INIT = "#!/bin/bash\nnohup java \\\n  -Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://h/S?user=root\\&password=S3cret\\&x=1 \\\n  -jar x.jar\n"


def answers(chats=("chat1",)):
    hosts = {c: {"address": f"192.0.2.{i + 10}", "roles": ["CHAT"]} for i, c in enumerate(chats)}
    hosts.update({"dbm": {"address": "192.0.2.2", "roles": ["DATA"]},
                  "lb1": {"address": "192.0.2.3", "roles": ["LB"]}})
    return Answers.from_data({"version": 1, "inventory": {"hosts": hosts},
                              "portal": {"scheme": "http", "load_balancer": "lb"},
                              "daemon": {"db_password": "keyring:db/root"}})


def chat(name, files: dict[str, bytes], init=INIT, master=True):
    data = {f"{SRC}/{p}": b for p, b in files.items()}
    if init is not None:
        data[f"{SRC}/init.d/jtel-clientmessenger"] = init.encode()
    data[f"{SRC}/conf/hazelcast.xml"] = (b'<hazelcast xmlns="http://www.hazelcast.com/schema/config" '
                                         b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                                         b'xsi:schemaLocation="http://www.hazelcast.com/schema/config '
                                         b'hazelcast-config-3.10.xsd"/>')
    if master:
        data["/home/jtel/shared/hazelcast.xml"] = b"<hazelcast/>"
    sums = "".join(f"{hashlib.sha256(b).hexdigest()}  ./{p[len(SRC) + 1:]}\n"
                   for p, b in sorted(data.items()) if p.startswith(SRC + "/"))
    return FakeTransport(HostSpec(name, "192.0.2.10", roles=("CHAT",)), data, {
        r"^cd .* && find \. -type f": (0, sums)})


def facts(name, major, version, portal="3.26", java8=True, windows=()):
    return HostFacts(name, OSInfo("CentOS", major, version, "/etc/redhat-release"),
                     java=Java(java8, "rpm -q: jdk1.8-1.8.0_202-fcs" if java8 else "none"),
                     portal=PortalVersion(portal, "test"), windows_repo=bool(windows),
                     windows_reasons=list(windows))


def test_record_holds_what_was_found_and_no_password():
    t = chat("chat1", {"bin/ClientMessenger.jar": b"jar1", "public/index.html": b"<html>"})
    fp = fpm.record(answers(), {"chat1": facts("chat1", 7, "7.9.2009")}, {"chat1": t})
    h = fp["hosts"]["chat1"]
    assert h["os"] == {"name": "CentOS", "version": "7.9.2009", "major": 7}
    assert h["java"]["java8"] is True and h["portal"] == "3.26"
    assert h["hazelcast"] == {"layout": "shared", "version": "3.10"}
    assert h["repository"]["files"]["bin/ClientMessenger.jar"] == hashlib.sha256(b"jar1").hexdigest()
    assert set(h["repository"]["files"]) == {"bin/ClientMessenger.jar", "public/index.html",
                                             "init.d/jtel-clientmessenger", "conf/hazelcast.xml"}
    assert "S3cret" not in h["init_script"] and "password=********\\&x=1" in h["init_script"]
    assert [c.command for c in t.commands if "sha256sum" in c.command] == [fpm.checksum_command(SRC)]


def test_read_after_an_install_is_one_batch_per_chat_server_and_matches_record():
    """fingerprint.read (what apply records after its run): the chat server's facts and
    files from one batch, the same record as detection + record(); other hosts not asked."""
    t = chat("chat1", {"bin/ClientMessenger.jar": b"jar1"})
    t.files["/etc/redhat-release"] = b"CentOS Linux release 7.9.2009 (Core)\n"
    t.on(r"^rpm -q ", (0, "jdk1.8-1.8.0_202-fcs.x86_64\n")).on(r"^java -version", (0, 'java version "1.8.0_202"\n'))
    t.batch_commands = True
    others = {n: FakeTransport(HostSpec(n, "192.0.2.2", roles=(r,)), strict=True)
              for n, r in (("dbm", "DATA"), ("lb1", "LB"))}
    fp = fpm.read(answers(), {"chat1": t, **others})
    assert len(t.batches) == 1 and [c.command for c in t.commands] == []
    assert all(not getattr(o, "batches", None) and not o.commands for o in others.values())
    h = fp["hosts"]["chat1"]
    assert h["os"]["major"] == 7 and h["java"]["java8"] is True
    assert h["hazelcast"] == {"layout": "shared", "version": "3.10"}
    assert set(h["repository"]["files"]) == {"bin/ClientMessenger.jar", "init.d/jtel-clientmessenger",
                                             "conf/hazelcast.xml"}
    from wizard import facts as F
    t2 = chat("chat1", {"bin/ClientMessenger.jar": b"jar1"})
    t2.files["/etc/redhat-release"] = t.files["/etc/redhat-release"]
    t2.on(r"^rpm -q ", (0, "jdk1.8-1.8.0_202-fcs.x86_64\n")).on(r"^java -version", (0, 'java version "1.8.0_202"\n'))
    ref = fpm.record(answers(), {"chat1": F.gather(t2, roles=("CHAT",))}, {"chat1": t2})
    assert {**fp, "recorded": 0} == {**ref, "recorded": 0}


def test_sidecar_is_written_atomically_beside_the_answers(tmp_path):
    fp = {"fingerprint": 1, "recorded": "x", "hosts": {"chat1": {"portal": "3.26"}}}
    path = fpm.sidecar_path(tmp_path / "site.yaml")
    assert path == tmp_path / "site.fingerprint.yaml"
    fpm.save(path, fp)
    assert fpm.load(path) == fp
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["site.fingerprint.yaml"]    # no temp file left
    assert fpm.load(tmp_path / "none.yaml") is None
    (tmp_path / "bad.yaml").write_text("a: 1\n")
    with pytest.raises(ValueError, match="bad.yaml: not a chatwizard fingerprint"):
        fpm.load(tmp_path / "bad.yaml")


def test_compare_names_every_difference_with_the_init_script_diff():
    ans = answers(("chat1", "chat2"))
    t1 = chat("chat1", {"bin/ClientMessenger.jar": b"jar1", "bin/old.jar": b"o"})
    t2 = chat("chat2", {"bin/ClientMessenger.jar": b"jar2", "bin/new.jar": b"n"},
              init=INIT.replace("-jar x.jar", "-jar y.jar").replace("\n", "\r\n"), master=False)
    one = answers(("chat1",))
    recorded = fpm.record(one, {"chat1": facts("chat1", 7, "7.9.2009")}, {"chat1": t1})
    current = {"hosts": {"chat2": fpm.record(
        answers(("chat2",)), {"chat2": facts("chat2", 6, "6.10", portal="3.24", java8=False,
                                             windows=["init script has CRLF line endings"])},
        {"chat2": t2})["hosts"]["chat2"]}}
    diffs = fpm.compare(recorded, current)
    lines = [d.line for d in diffs]
    assert lines[0] == ("chat2: CentOS 6.10, chat1 was CentOS 7.9.2009: firewall via iptables, services "
                        "via service/chkconfig")
    assert "chat2: no Java 8 (section 1 installs it), chat1 had Java 8 (rpm -q: jdk1.8-1.8.0_202-fcs)" in lines
    assert "chat2: portal 3.24, chat1 was 3.26: the connection URL has no serverTimezone" in lines
    assert any(l.startswith("chat2: repository hosted on Windows (init script has CRLF line endings)")
               for l in lines)
    assert "chat2: Hazelcast layout legacy, chat1 was shared" in lines
    files = next(l for l in lines if "repository differs" in l)
    assert "2 differ (bin/ClientMessenger.jar, init.d/jtel-clientmessenger)" in files
    assert "1 only on chat2 (bin/new.jar)" in files and "1 only on chat1 (bin/old.jar)" in files
    init = next(d for d in diffs if d.what == "init script")
    assert init.line == "chat2: init script differs from chat1's"
    assert "-  -jar x.jar\n+  -jar y.jar\n" in init.diff and "S3cret" not in init.diff
    assert fpm.compare(recorded, recorded) == []
    # the same host name is compared with itself
    assert fpm.compare(recorded, {"hosts": {"chat1": current["hosts"]["chat2"]}})[0].line.startswith(
        "chat1: CentOS 6.10, chat1 was CentOS 7.9.2009")
