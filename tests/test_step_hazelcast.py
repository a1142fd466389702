"""Section 3 (Hazelcast cluster): unit tests on in-process fake hosts (several at once, some
sharing one network share), then end to end over real SSH on CentOS 6 and 7 test hosts."""
from __future__ import annotations

import hashlib
import importlib.util
import re
import shlex
import threading
import time
from pathlib import Path

import pytest

from wizard import hazelcast_xml as hx
from wizard import planner
from wizard.errors import AnswersError, PlanError
from wizard.facts import HostFacts, OSInfo, PortalVersion
from wizard.plan import Command, FileChange, NoOp
from wizard.runner import Runner
from wizard.steps import hazelcast
from wizard.transport.base import CommandResult, FileStat, HostSpec, TransportError, WriteResult

DATA = Path(__file__).parent / "data" / "hazelcast"
SHARED = "/home/jtel/shared"
MASTER = f"{SHARED}/hazelcast.xml"
CM_SOURCE = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
CM_TARGET = "/home/jtel/ClientMessenger"
CHAT_COPY = f"{CM_TARGET}/conf/hazelcast.xml"
LEGACY = hazelcast.LEGACY_PATH
ADDR = {"acd-dbm": "10.0.0.10", "acd-tel1": "10.0.0.11", "acd-web1": "10.0.0.12",
        "chat1": "10.0.0.21", "chat2": "10.0.0.22"}
ROLES = {"acd-dbm": "DATA", "acd-tel1": "TEL", "acd-web1": "WEB", "chat1": "CHAT", "chat2": "CHAT"}


def _seed():
    spec = importlib.util.spec_from_file_location(
        "_th_seed_hz", Path(__file__).parent / "testhost" / "seed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SEED = _seed()
SITE = SEED.hazelcast_xml(["acd-dbm", "acd-tel1", "acd-web1"])     # what the test hosts carry


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


# ------------------------------------------------------------------ the fake hosts

class Share:
    """Files of one network share, seen by every host that mounts it."""

    def __init__(self, source: str = "//fs01/jtel"):
        self.source = source
        self.files: dict[str, list] = {}      # path under the mount -> [bytes, mode, owner, group]
        self.lock = threading.Lock()


class FakeHost:
    """An in-process CentOS host: files (its own, or on a Share mounted at /home/jtel/shared),
    /proc/mounts, the follow-up scripts and services, and the commands sections 2-3 run."""

    training = False

    def __init__(self, name: str, *, major: int = 7, share: Share | None = None,
                 scripts=("updatepl.sh", "updatejb.sh"), service=True, mount_source=None):
        self.spec = HostSpec(name, ADDR[name], roles=(ROLES[name],))
        self.major = major
        self.share = share
        self.files: dict[str, list] = {}
        self.dirs = {"/", "/home", "/home/jtel", SHARED, "/usr/local/bin"}
        self.scripts = set(scripts)
        self.calls: list[str] = []
        self.followups: list[str] = []
        if service:
            self.put(f"/etc/rc.d/init.d/{hazelcast.TEL_SERVICE}", b"#!/bin/sh\n", 0o755, "root")
        src = mount_source or (share.source if share else None)
        mounts = "/dev/mapper/vg-root / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n"
        if src:
            mounts += f"{src} {SHARED} cifs rw,relatime,vers=3.0,username=jtel 0 0\n"
        self.put("/proc/mounts", mounts.encode(), 0o444, "root")

    # -- set-up helpers
    def _store(self, path):
        if self.share is not None and path.startswith(SHARED + "/"):
            return self.share.files, path[len(SHARED):]
        return self.files, path

    def put(self, path, data, mode=0o644, owner="jtel", group=None):
        store, key = self._store(path)
        store[key] = [data if isinstance(data, bytes) else data.encode(), mode, owner, group or owner]
        d = path.rsplit("/", 1)[0]
        while d and d not in self.dirs:
            self.dirs.add(d)
            d = d.rsplit("/", 1)[0]

    def get(self, path):
        store, key = self._store(path)
        e = store.get(key)
        return None if e is None else e[0]

    def meta(self, path):
        store, key = self._store(path)
        return tuple(store[key][1:])

    # -- Transport
    def run(self, command, *, sudo=False, stdin=None, timeout=None, on_output=None, display=None):
        self.calls.append(command)
        out, rc = "", 0
        m = re.fullmatch(r"PATH=\S+; export PATH; command -v (\S+)", command)
        if m:
            rc, out = (0, f"/usr/local/bin/{m[1]}\n") if m[1] in self.scripts else (1, "")
        elif command in (f"/usr/local/bin/{s}" for s in self.scripts):
            self.followups.append(command.rsplit("/", 1)[1])
        elif command in (f"service {hazelcast.TEL_SERVICE} restart",
                         f"systemctl restart {hazelcast.TEL_SERVICE}"):
            assert (self.major >= 7) == command.startswith("systemctl"), command
            self.followups.append("restart " + hazelcast.TEL_SERVICE)
        elif command.startswith("i=0; until"):                       # wait for the shared file
            path = shlex.split(re.search(r"sha256sum < (\S+)", command)[1])[0]
            want = re.search(r" = ([0-9a-f]{64}) \]", command)[1]
            rc = 1
            for _ in range(200):
                data = self.get(path)
                if data is not None and hashlib.sha256(data).hexdigest() == want:
                    rc = 0
                    break
                time.sleep(0.01)
            self.followups.append("waited")
        elif m := re.fullmatch(r"mkdir -p (\S+) && cp -R (\S+)/\. (\S+)/", command):
            dest, src = m[1], m[2]
            for store in (self.files, *([self.share.files] if self.share else [])):
                for p, e in list(store.items()):
                    full = p if store is self.files else SHARED + p
                    if full.startswith(src + "/"):
                        self.put(dest + full[len(src):], e[0], e[1], "root")
        elif command.startswith("chown -R "):
            owner, path = shlex.split(command)[2:]
            for p, e in self.files.items():
                if p.startswith(path + "/"):
                    e[2], e[3] = owner.split(":")
        elif command.startswith("find "):
            out = ""
        else:
            raise AssertionError(f"unexpected command on {self.spec.name}: {command}")
        return CommandResult(command, rc, out, "")

    def read_file(self, path, *, sudo=False):
        return self.get(path)

    def stat(self, path):
        path = path.rstrip("/") or "/"
        store, key = self._store(path)
        if key in store:
            _, mode, owner, group = store[key]
            return FileStat(path, True, False, mode, owner, group)
        if path in self.dirs or any((p if s is self.files else SHARED + p).startswith(path + "/")
                                    for s in (self.files, *([self.share.files] if self.share else []))
                                    for p in s):
            return FileStat(path, True, True, 0o755, "root", "root")
        return FileStat(path, False)

    def write_file(self, path, data, *, mode=0o644, owner=None, group=None, backup=True):
        store, key = self._store(path)
        if self.share is not None and store is self.share.files:
            with self.share.lock:
                self.share.writes = getattr(self.share, "writes", 0) + 1
        self.put(path, data, mode, owner or "root", group or owner or "root")
        return WriteResult(path, None)

    def close(self):
        pass


def cluster(*, layout="shared", share=None, text=SITE, chats=("chat1",), majors=None,
            master_meta=(0o664, "jtel", "jtel")):
    """acd-dbm (DATA), acd-tel1 (TEL), acd-web1 (WEB) and the chat hosts, each holding `text`
    as its hazelcast.xml (the master copy, or LEGACY for layout="legacy"); the chat hosts
    already have their ClientMessenger copy (with the repository's conf/hazelcast.xml)."""
    majors = majors or {"acd-dbm": 7, "acd-tel1": 6, "acd-web1": 7, "chat1": 6, "chat2": 7}
    hosts = {}
    for name in ("acd-dbm", "acd-tel1", "acd-web1", *chats):
        h = FakeHost(name, major=majors[name], share=share)
        data = text if isinstance(text, bytes) else text.encode()
        if name.startswith("chat"):
            h.put(f"{CM_SOURCE}/conf/hazelcast.xml", SITE, 0o644, "jtel")
            h.put(CHAT_COPY, SITE, 0o644, "jtel")
        elif layout == "shared":
            if share is None or share.files.get(MASTER[len(SHARED):]) is None:
                h.put(MASTER, data, master_meta[0], master_meta[1], master_meta[2])
        else:
            h.put(LEGACY, data, 0o640, "root", "jtel")
        hosts[name] = h
    return hosts


def answers(hosts, **hz):
    """Validated answers for these hosts; hazelcast keys the schema does not know yet
    (legacy_paths) are put in after validation."""
    from wizard.answers import Answers
    inv = {n: {"address": h.spec.address, "roles": list(h.spec.roles)} for n, h in hosts.items()}
    base = {"version": 1, "inventory": {"hosts": inv},
            "portal": {"scheme": "http", "load_balancer": "jtel-portal", "version": "3.26"},
            "sections": {"skip": ["daemon", "load_balancer"]}}
    try:
        return Answers.from_data({**base, "hazelcast": hz})
    except AnswersError as e:
        extra = {k: hz.pop(k) for k in list(hz) if k not in ("layout", "fix_conflicts", "member_address")}
        if not extra or not all(k in str(e) for k in extra):
            raise
        a = Answers.from_data({**base, "hazelcast": hz})
        a.data["hazelcast"].update(extra)
        return a


def facts_for(hosts):
    return {n: HostFacts(n, OSInfo("CentOS", h.major, f"{h.major}.9", "/etc/redhat-release"))
            for n, h in hosts.items()}


def build(hosts, *, only=("hazelcast",), **hz):
    return planner.build(answers(hosts, **hz), hosts, facts=facts_for(hosts),
                         portal=PortalVersion("3.26", "test"), only=set(only))


def section(plan):
    return plan.section("hazelcast")


def by_host(plan):
    sp = section(plan)
    return {hp.host: hp.actions for hp in sp.hosts} if sp else {}


def kinds(actions):
    return [type(a).__name__ for a in actions]


def apply(plan, hosts):
    events = []
    res = Runner(plan, hosts, emit=events.append).run()
    assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
    return events


def changing(plan):
    return [(s.name, hp.host, a.description) for s, hp, a in plan.actions() if a.changes]


def members_of(data: bytes) -> list[str]:
    return hx.members(hazelcast.decode(data, "x")[0])


def assert_valid(data: bytes, version: str = "3.10"):
    hx.validate(hazelcast.decode(data, "x")[0], version)


def added_lines(old: bytes, new: bytes) -> list[str]:
    import difflib
    a, b = old.decode("latin-1").splitlines(), new.decode("latin-1").splitlines()
    diff = list(difflib.unified_diff(a, b, n=0, lineterm=""))[2:]
    assert not [d for d in diff if d.startswith("-")], "only additions"
    return [d[1:].strip() for d in diff if d.startswith("+")]


# ------------------------------------------------------------------ pure helpers

def test_mount_of_and_share_key():
    mounts = ("/dev/sda1 / ext4 rw 0 0\n"
              "//FS01/Jtel/ /home/jtel/shared cifs rw 0 0\n"
              "nas:/export/jtel/ /mnt/nfs nfs4 rw 0 0\n"
              "/dev/sdb1 /home/jtel/shared/local\\040dir xfs rw 0 0\n")
    assert hazelcast.mount_of(mounts, MASTER) == ("//FS01/Jtel/", SHARED, "cifs")
    assert hazelcast.share_key(mounts, MASTER) == "//fs01/jtel/hazelcast.xml"
    assert hazelcast.share_key(mounts.replace("//FS01/Jtel/", "\\\\fs01\\jtel"), MASTER) == \
        "//fs01/jtel/hazelcast.xml"
    assert hazelcast.share_key(mounts, "/mnt/nfs/a/hazelcast.xml") == "nas:/export/jtel/a/hazelcast.xml"
    assert hazelcast.mount_of(mounts, "/home/jtel/shared/local dir/x")[1] == "/home/jtel/shared/local dir"
    assert hazelcast.share_key(mounts, "/home/jtel/shared/local dir/x") is None      # xfs: local
    assert hazelcast.share_key(mounts, "/etc/hazelcast.xml") is None
    # a cifs sub-folder mount names the same file as the share mounted one level up
    sub = "//fs01/jtel/portal /home/jtel/shared cifs rw 0 0\n"
    top = "//fs01/jtel /srv cifs rw 0 0\n"
    assert hazelcast.share_key(sub, MASTER) == hazelcast.share_key(top, "/srv/portal/hazelcast.xml")


def test_decode_keeps_declared_encoding():
    raw = fixture("site-3.9-windows.xml")
    text, codec = hazelcast.decode(raw, "x")
    assert codec == "iso8859-1" and text.encode(codec) == raw
    assert hazelcast.decode(b"<hazelcast/>", "x")[1] == "utf-8"
    with pytest.raises(PlanError, match=r"host h: /f:2: not valid utf-8 \(byte 25\)"):
        hazelcast.decode(b"<?xml version='1.0'?>\n<a>\xff</a>", "host h: /f")
    with pytest.raises(PlanError, match="does not know"):
        hazelcast.decode(b'<?xml version="1.0" encoding="klingon"?><a/>', "f")


def test_legacy_path_lookup():
    web = HostSpec("acd-web1", "10.0.0.12", roles=("WEB",))
    assert hazelcast.legacy_path({}, web) == LEGACY
    assert hazelcast.legacy_path({"legacy_paths": {"WEB": "/w.xml"}}, web) == "/w.xml"
    assert hazelcast.legacy_path({"legacy_paths": {"WEB": "/w.xml", "acd-web1": "/h.xml"}}, web) == "/h.xml"


# ------------------------------------------------------------------ shared layout, local folders

def test_shared_local_folders_each_host_edited_with_follow_ups():
    hosts = cluster()
    plan = build(hosts)
    acts = by_host(plan)
    assert list(acts) == ["acd-dbm", "acd-tel1", "acd-web1", "chat1"]
    assert kinds(acts["acd-dbm"]) == ["FileChange", "Command"]
    assert kinds(acts["acd-tel1"]) == ["FileChange", "Command"]
    assert kinds(acts["acd-web1"]) == ["FileChange", "Command"]
    assert kinds(acts["chat1"]) == ["FileChange"]
    fc = acts["acd-dbm"][0]
    assert fc.path == MASTER and (fc.mode, fc.owner, fc.group) == (0o664, "jtel", "jtel")
    assert added_lines(fc.old, fc.new)[0] == "<member>10.0.0.21</member>"
    assert {"<ringbuffer name=\"CHAT\">", "<map name=\"CHATCOUNTERS\">"} <= set(added_lines(fc.old, fc.new))
    assert members_of(fc.new) == ["acd-dbm", "acd-tel1", "acd-web1", "10.0.0.21"]
    assert_valid(fc.new)
    assert acts["acd-dbm"][1].command == "/usr/local/bin/updatepl.sh"
    assert acts["acd-tel1"][1].command == "service PlatformUDPListener restart"       # CentOS 6
    assert acts["acd-web1"][1].command == "/usr/local/bin/updatejb.sh"
    copy = acts["chat1"][0]
    assert copy.path == CHAT_COPY and copy.new == fc.new
    assert (copy.owner, copy.group, copy.mode) == ("jtel", "jtel", 0o644)
    assert "from acd-dbm:/home/jtel/shared/hazelcast.xml" in copy.description
    assert section(plan).notes == []

    apply(plan, hosts)
    for n in ("acd-dbm", "acd-tel1", "acd-web1"):
        assert hosts[n].get(MASTER) == fc.new
        assert hosts[n].meta(MASTER) == (0o664, "jtel", "jtel")
    assert hosts["acd-dbm"].followups == ["updatepl.sh"]
    assert hosts["acd-tel1"].followups == ["restart PlatformUDPListener"]
    assert hosts["acd-web1"].followups == ["updatejb.sh"]
    assert hosts["chat1"].get(CHAT_COPY) == fc.new and hosts["chat1"].meta(CHAT_COPY)[1:] == ("jtel", "jtel")

    again = build(hosts)
    assert changing(again) == []
    assert all(isinstance(a, NoOp) for _, _, a in again.actions())


def test_centos7_tel_uses_systemctl():
    hosts = cluster(majors={"acd-dbm": 6, "acd-tel1": 7, "acd-web1": 6, "chat1": 7})
    acts = by_host(build(hosts))
    assert acts["acd-tel1"][1].command == "systemctl restart PlatformUDPListener"


def test_follow_ups_only_where_the_config_changed():
    hosts = cluster()
    done = hazelcast.hx.edit(SITE, ["10.0.0.21"]).text
    hosts["acd-web1"].put(MASTER, done)             # WEB already has everything
    acts = by_host(build(hosts))
    assert kinds(acts["acd-web1"]) == ["NoOp"]
    assert kinds(acts["acd-dbm"]) == ["FileChange", "Command"]
    assert not [c for c in hosts["acd-web1"].calls if "command -v" in c]    # not even looked up


def test_missing_script_or_service_is_a_plan_error():
    hosts = cluster()
    hosts["acd-dbm"].scripts.discard("updatepl.sh")
    with pytest.raises(PlanError, match=r"host acd-dbm: updatepl.sh not found"):
        build(hosts)
    hosts = cluster()
    hosts["acd-tel1"].files.pop(f"/etc/rc.d/init.d/{hazelcast.TEL_SERVICE}")
    with pytest.raises(PlanError, match="host acd-tel1: the PlatformUDPListener service is not installed"):
        build(hosts)


# ------------------------------------------------------------------ shared layout, one network share

def test_one_network_share_is_edited_once_and_the_others_wait():
    share = Share("//fs01/jtel")
    hosts = cluster(share=share)
    # the same share, written differently in each host's /proc/mounts
    hosts["acd-tel1"].put("/proc/mounts", f"\\\\FS01\\jtel\\ {SHARED} cifs rw 0 0\n", 0o444, "root")
    plan = build(hosts)
    acts = by_host(plan)
    assert kinds(acts["acd-dbm"]) == ["FileChange", "Command"]
    assert kinds(acts["acd-tel1"]) == ["Command", "Command"]
    assert kinds(acts["acd-web1"]) == ["Command", "Command"]
    wait = acts["acd-tel1"][0]
    assert not wait.changes and "acd-dbm" in wait.description
    assert hashlib.sha256(acts["acd-dbm"][0].new).hexdigest() in wait.command
    assert any("acd-dbm, acd-tel1, acd-web1 mount the same share (//fs01/jtel/hazelcast.xml)" in n
               and "edited once, on acd-dbm" in n for n in section(plan).notes)

    apply(plan, hosts)                      # hosts run in parallel: the waits hold the follow-ups
    assert share.writes == 1
    assert hosts["acd-tel1"].followups == ["waited", "restart PlatformUDPListener"]
    assert hosts["acd-web1"].followups == ["waited", "updatejb.sh"]
    assert hosts["acd-dbm"].followups == ["updatepl.sh"]
    assert hosts["chat1"].get(CHAT_COPY) == share.files["/hazelcast.xml"][0]
    assert changing(build(hosts)) == []


@pytest.mark.parametrize("parallel", [1, 2])
def test_the_writer_runs_first_whatever_the_inventory_order(parallel):
    share = Share()
    hosts = cluster(share=share)
    hosts = {n: hosts[n] for n in ("acd-tel1", "acd-web1", "chat1", "acd-dbm")}
    plan = build(hosts)
    assert [hp.host for hp in section(plan).hosts] == ["acd-dbm", "acd-tel1", "acd-web1", "chat1"]
    events = []
    res = Runner(plan, hosts, emit=events.append, max_parallel=parallel).run()
    assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
    assert hosts["acd-tel1"].followups == ["waited", "restart PlatformUDPListener"]


def test_share_without_a_data_host_is_edited_by_the_first_member():
    share = Share()
    hosts = cluster(share=share)
    hosts["acd-dbm"] = FakeHost("acd-dbm")                      # DATA keeps a local folder
    hosts["acd-dbm"].put(MASTER, SITE, 0o664, "jtel")
    acts = by_host(build(hosts))
    assert kinds(acts["acd-dbm"]) == ["FileChange", "Command"]
    assert kinds(acts["acd-tel1"]) == ["FileChange", "Command"]
    assert kinds(acts["acd-web1"]) == ["Command", "Command"]
    assert "acd-tel1" in acts["acd-web1"][0].description


def test_different_shares_are_each_edited():
    hosts = {}
    for n in ("acd-dbm", "acd-tel1", "acd-web1", "chat1"):
        hosts.update({n: FakeHost(n, share=Share(f"//fs-{n}/jtel"))})
        hosts[n].put(MASTER if not n.startswith("chat") else CHAT_COPY, SITE)
    acts = by_host(build(hosts))
    assert [kinds(acts[n])[0] for n in ("acd-dbm", "acd-tel1", "acd-web1")] == ["FileChange"] * 3


def test_failed_editor_makes_the_waits_fail_not_hang(monkeypatch):
    share = Share()
    hosts = cluster(share=share)
    plan = build(hosts)

    def broken(*a, **kw):
        raise TransportError("connection reset")
    monkeypatch.setattr(hosts["acd-dbm"], "write_file", broken)
    events = []
    res = Runner(plan, hosts, emit=events.append).run()
    assert not res.ok and set(res.failed) == {"acd-dbm", "acd-tel1", "acd-web1"}
    assert "acd-dbm" in res.failed["acd-tel1"].reason or res.failed["acd-tel1"].exit_code == 1
    assert hosts["acd-tel1"].followups == ["waited"] and hosts["acd-web1"].followups == ["waited"]
    assert share.files["/hazelcast.xml"][0] == SITE.encode()


# ------------------------------------------------------------------ legacy layout

def test_legacy_layout_edits_each_members_own_file():
    hosts = cluster(layout="legacy")
    for layout in ("legacy", "auto"):
        acts = by_host(build(hosts, layout=layout))
        fc = acts["acd-tel1"][0]
        assert fc.path == LEGACY and (fc.mode, fc.owner, fc.group) == (0o640, "root", "jtel")
        assert kinds(acts["acd-tel1"]) == ["FileChange", "Command"]
        assert acts["chat1"][0].new == acts["acd-dbm"][0].new
        assert "from acd-dbm:" + LEGACY in acts["chat1"][0].description
    with pytest.raises(PlanError, match=r"host acd-dbm: no hazelcast.xml: /home/jtel/shared/"
                                        r"hazelcast.xml does not exist \(hazelcast.layout: shared\); "
                                        r"is /home/jtel/shared mounted there\?"):
        build(hosts, layout="shared")


def test_legacy_paths_per_role_and_host():
    hosts = cluster(layout="legacy")
    hosts["acd-web1"].files[f"/opt/jboss/hazelcast.xml"] = hosts["acd-web1"].files.pop(LEGACY)
    with pytest.raises(PlanError, match=r"host acd-web1: no hazelcast.xml: neither "
                                        r"/home/jtel/shared/hazelcast.xml nor " + re.escape(LEGACY)
                                        + r".*hazelcast.legacy_paths.acd-web1"):
        build(hosts)
    for paths in ({"WEB": "/opt/jboss/hazelcast.xml"}, {"acd-web1": "/opt/jboss/hazelcast.xml"}):
        acts = by_host(build(hosts, legacy_paths=paths))
        assert acts["acd-web1"][0].path == "/opt/jboss/hazelcast.xml"
        assert acts["acd-tel1"][0].path == LEGACY


def test_legacy_path_must_be_absolute():
    hosts = cluster(layout="legacy")
    with pytest.raises(PlanError, match="hazelcast.legacy_paths.TEL: 'conf/hazelcast.xml' is not an absolute"):
        build(hosts, legacy_paths={"TEL": "conf/hazelcast.xml"})


def test_host_with_two_roles_gets_both_follow_ups():
    hosts = cluster()
    del hosts["acd-web1"]
    hosts["acd-dbm"].spec = HostSpec("acd-dbm", ADDR["acd-dbm"], roles=("DATA", "WEB"))
    acts = by_host(build(hosts))
    assert [a.command for a in acts["acd-dbm"][1:]] == ["/usr/local/bin/updatepl.sh",
                                                        "/usr/local/bin/updatejb.sh"]


def test_auto_detects_per_host():
    hosts = cluster(layout="legacy")
    hosts["acd-dbm"].files.pop(LEGACY)
    hosts["acd-dbm"].put(MASTER, SITE)
    acts = by_host(build(hosts))
    assert acts["acd-dbm"][0].path == MASTER and acts["acd-tel1"][0].path == LEGACY


# ------------------------------------------------------------------ file variants

@pytest.mark.parametrize("name,version", [("site-3.8-no-chat.xml", "3.8"),
                                          ("site-3.9-windows.xml", "3.9"),
                                          ("hazelcast-default-3.10.4.xml", "3.10"),
                                          ("site-3.11-with-chat.xml", "3.11"),
                                          ("site-3.12-prefixed.xml", "3.12")])
def test_site_files_of_each_version(name, version):
    raw = fixture(name).replace(b'<tcp-ip enabled="false">', b'<tcp-ip enabled="true">')
    hosts = cluster(text=raw)
    plan = build(hosts)
    fc = by_host(plan)["acd-dbm"][0]
    assert isinstance(fc, FileChange)
    assert_valid(fc.new, version)
    added = added_lines(raw, fc.new)
    assert any("10.0.0.21</" in line for line in added)
    if "with-chat" in name:
        assert len(added) == 1          # ringbuffer and map are there already
    assert not [n for n in section(plan).notes if "not validated" in n]
    if name == "site-3.9-windows.xml":   # ISO-8859-1 and CRLF stay
        assert fc.new.count(b"\r\n") == fc.new.count(b"\n")
        assert b"\xdcbersicht" in fc.new
    apply(plan, hosts)
    assert changing(build(hosts)) == []


def test_file_without_version_is_edited_with_a_note():
    raw = re.sub(rb"\s+xsi:schemaLocation=\"[^\"]*\"", b"", SITE.encode(), flags=re.S)
    assert hx.detect_version(raw.decode()) is None
    plan = build(cluster(text=raw))
    assert isinstance(by_host(plan)["acd-dbm"][0], FileChange)
    assert any("acd-dbm:/home/jtel/shared/hazelcast.xml was not validated against a schema" in n
               for n in section(plan).notes)


def test_conflicts_are_notes_and_fixed_only_when_asked():
    raw = fixture("site-3.10-conflict.xml")
    hosts = cluster(text=raw)
    plan = build(hosts)
    fc = by_host(plan)["acd-dbm"][0]
    notes = [n for n in section(plan).notes if "the procedure wants" in n]
    assert notes and all("left as is; set hazelcast.fix_conflicts: true" in n for n in notes)
    assert re.match(r"acd-dbm:/home/jtel/shared/hazelcast.xml:\d+: ", notes[0])
    assert added_lines(raw, fc.new)         # only additions: the conflicting values stay
    assert fc.description == "hazelcast.xml: add member 10.0.0.21"
    fixed = by_host(build(hosts, fix_conflicts=True))["acd-dbm"][0]
    n = len([x for x in notes if x.startswith("acd-dbm:")])
    assert fixed.description == f"hazelcast.xml: add member 10.0.0.21; fix {n} CHAT setting{'s' if n != 1 else ''}"
    assert hx.edit(fixed.new.decode(), ["10.0.0.21"]).conflicts == ()
    assert_valid(fixed.new, "3.10")


def test_malformed_file_names_host_file_and_line():
    bad = SITE.replace("</group>", "</grup>")
    hosts = cluster()
    hosts["acd-tel1"].put(MASTER, bad)
    line = bad[:bad.index("</grup>")].count("\n") + 1
    with pytest.raises(PlanError, match=rf"host acd-tel1: /home/jtel/shared/hazelcast.xml:{line}: "
                                        "not well-formed"):
        build(hosts)


def test_file_invalid_before_the_edit_is_refused_with_its_line():
    bad = SITE.replace("<partition-group", "<no-such-thing/>\n    <partition-group")
    hosts = cluster()
    hosts["acd-web1"].put(MASTER, bad)
    line = bad[:bad.index("<no-such-thing")].count("\n") + 1
    with pytest.raises(PlanError, match=rf"host acd-web1: /home/jtel/shared/hazelcast.xml:{line}: "
                                        r"not valid for Hazelcast 3.10.*not valid as it is"):
        build(hosts)


def test_member_address_and_its_limits():
    hosts = cluster()
    fc = by_host(build(hosts, member_address="chat.example.net"))["acd-dbm"][0]
    assert members_of(fc.new)[-1] == "chat.example.net"
    plan = build(hosts, member_address="chat.example.net")
    assert any("'chat.example.net'" in n and "resolve" in n for n in section(plan).notes)
    apply(plan, hosts)
    again = build(hosts, member_address="chat.example.net")
    assert changing(again) == [] and section(again).notes == []      # said once, when it matters
    hosts = cluster(chats=("chat1", "chat2"))
    # refused with the answers (before anything connects); the step keeps its own guard
    with pytest.raises(AnswersError, match=r"hazelcast.member_address: names one chat server, but "
                                           r"the inventory has 2 CHAT hosts \(chat1, chat2\)"):
        build(hosts, member_address="10.9.9.9")


# ------------------------------------------------------------------ a second chat server

@pytest.mark.parametrize("share", [None, "network"])
def test_second_chat_server_is_a_replay(share):
    sh = Share() if share else None
    hosts = cluster(share=sh, chats=("chat1", "chat2"))
    first = {n: h for n, h in hosts.items() if n != "chat2"}
    apply(build(first), first)
    assert changing(build(first)) == []

    plan = build(hosts)                      # the same answers with chat2 added
    acts = by_host(plan)
    master = acts["acd-dbm"][0]
    assert added_lines(master.old, master.new) == ["<member>10.0.0.22</member>"]
    assert kinds(acts["chat1"]) == ["FileChange"]         # chat1's copy follows the cluster
    apply(plan, hosts)
    for n in ("acd-dbm", "acd-tel1", "acd-web1", "chat1", "chat2"):
        path = CHAT_COPY if n.startswith("chat") else MASTER
        got = members_of(hosts[n].get(path))
        assert got == ["acd-dbm", "acd-tel1", "acd-web1", "10.0.0.21", "10.0.0.22"], n
    assert hosts["acd-dbm"].followups == ["updatepl.sh", "updatepl.sh"]
    assert changing(build(hosts)) == []


# ------------------------------------------------------------------ the chat copy

def test_chat_copy_planned_over_the_clientmessenger_copy():
    """Section 2 copies ClientMessenger in the same plan: the copy's FileChange is against
    the repository's conf/hazelcast.xml and applies after the cp."""
    hosts = cluster()
    chat = hosts["chat1"]
    chat.files = {p: e for p, e in chat.files.items() if not p.startswith(CM_TARGET)}
    chat.dirs = {d for d in chat.dirs if not d.startswith(CM_TARGET)}
    plan = build(hosts, only=("clientmessenger", "hazelcast"))
    copy = by_host(plan)["chat1"][0]
    assert copy.base_unknown and copy.old == SITE.encode() and copy.owner == "jtel"
    apply(plan, hosts)
    assert chat.get(CHAT_COPY) == hosts["acd-dbm"].get(MASTER)
    assert chat.get(f"{CM_SOURCE}/conf/hazelcast.xml") == SITE.encode()     # the repository stays
    assert changing(build(hosts, only=("clientmessenger", "hazelcast"))) == []


def test_chat_copy_previewed_as_a_copy_plus_the_diff_against_the_file_there():
    """Not a whole-file diff: "copy of <master> (N lines)" and the lines that differ from the
    chat server's current copy; only the summary line when there is none yet."""
    hosts = cluster()
    plan = build(hosts)
    fc, copy = by_host(plan)["acd-dbm"][0], by_host(plan)["chat1"][0]
    n = len(fc.new.decode().splitlines())
    head, _, rest = copy.render().partition("\n")
    assert head == f"write {CHAT_COPY} (mode 0644 owner jtel:jtel)"
    first, _, diff = rest.partition("\n")
    assert first == f"copy of acd-dbm:{MASTER} ({n} lines); changes against the file there:"
    assert diff == copy.diff() and diff.startswith(f"--- a{CHAT_COPY}")
    changed = [l for l in diff.splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]
    assert changed and all(l[:1] == "+" for l in changed)   # only what the master gained
    assert len(diff.splitlines()) < n                       # not the whole file

    hosts = cluster()
    del hosts["chat1"].files[CHAT_COPY]
    copy = by_host(build(hosts))["chat1"][0]
    assert copy.old is None
    assert copy.render().splitlines()[1:] == [f"copy of acd-dbm:{MASTER} ({n} lines)"]


def test_chat_copy_gets_owner_fixed_and_keeps_mode():
    hosts = cluster()
    apply(build(hosts), hosts)
    chat = hosts["chat1"]
    chat.files[CHAT_COPY][1:] = [0o600, "root", "root"]
    acts = by_host(build(hosts))
    fc = acts["chat1"][0]
    assert isinstance(fc, FileChange) and (fc.mode, fc.owner, fc.group) == (0o600, "jtel", "jtel")


def test_chat_copy_needs_clientmessenger():
    hosts = cluster()
    chat = hosts["chat1"]
    chat.files = {p: e for p, e in chat.files.items() if not p.startswith(CM_TARGET)}
    chat.dirs = {d for d in chat.dirs if not d.startswith(CM_TARGET)}
    with pytest.raises(PlanError, match=r"host chat1: /home/jtel/ClientMessenger/conf does not exist"
                                        r".*section 2"):
        build(hosts)                       # section 2 not in the plan: nothing creates it


def test_no_member_host_edits_the_chat_copy_itself():
    """The answers validator wants a DATA host; without one in the inventory anyway, the
    chat server's own copy is edited."""
    from wizard.steps import Context
    chat = FakeHost("chat1")
    chat.put(CHAT_COPY, SITE, 0o644, "root")
    a = answers({"chat1": chat, "acd-dbm": FakeHost("acd-dbm")})
    a.data["inventory"]["hosts"].pop("acd-dbm")
    ctx = Context(a, {"chat1": chat}, facts_for({"chat1": chat}), PortalVersion("3.26", "t"))
    fc = hazelcast.plan_section(ctx).hosts[0].actions[0]
    assert fc.path == CHAT_COPY and (fc.owner, fc.group) == ("jtel", "jtel")
    assert members_of(fc.new)[-1] == "10.0.0.21"


# ------------------------------------------------------------------ end to end over real SSH

def _ssh(th, name, roles):
    from wizard.transport.ssh import SSHTransport
    spec = HostSpec(name, th.host, port=th.port, user="root", key_file=th.key_path, roles=roles)
    return SSHTransport(spec, known_hosts_paths=[th.known_hosts_path],
                        tool_known_hosts=th.known_hosts_path + ".tool")


def _e2e_prerequisites():
    try:
        import wizard.transport.ssh  # noqa: F401
        from wizard.answers import Answers  # noqa: F401
    except ImportError as e:
        pytest.fail(f"end-to-end prerequisite missing: {e}")


def _stubs(th, roles):
    """What a real member has and the test hosts do not: the follow-up scripts (they log
    their runs) and the PlatformUDPListener service."""
    if "DATA" in roles:
        th.write("/usr/local/bin/updatepl.sh", "#!/bin/sh\necho ran >> /var/log/updatepl.log\n", 0o755)
    if "WEB" in roles:
        th.write("/usr/local/bin/updatejb.sh", "#!/bin/sh\necho ran >> /var/log/updatejb.log\n", 0o755)
    if "TEL" in roles:
        th.write(f"/etc/rc.d/init.d/{hazelcast.TEL_SERVICE}",
                 "#!/bin/sh\n# testhost-stub\n# chkconfig: - 85 15\n"
                 f"exec /usr/sbin/service {hazelcast.TEL_SERVICE} \"$@\"\n", 0o755)


def _answers_e2e(ths, legacy_paths=None, **hz):
    from wizard.answers import Answers
    inv = {n: {"address": th.host, "port": th.port, "user": "root", "key_file": th.key_path,
               "roles": [ROLES[n]]} for n, th in ths.items()}
    data = {"version": 1, "inventory": {"hosts": inv},
            "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
            "hazelcast": hz, "sections": {"skip": ["daemon", "load_balancer"]}}
    a = Answers.from_data(data)
    if legacy_paths:
        a.data["hazelcast"]["legacy_paths"] = legacy_paths      # until the schema has the key
    return a


def _e2e(host_factory, *, layout, flavors, legacy_paths=None):
    _e2e_prerequisites()
    names = ["acd-dbm", "acd-tel1", "acd-web1", "chat1"]
    ths = dict(zip(names, [host_factory(flavors[n], hostname=n, hazelcast_layout=layout)
                            for n in names]))
    for n, th in ths.items():
        _stubs(th, (ROLES[n],))
    transports = {n: _ssh(th, n, (ROLES[n],)) for n, th in ths.items()}
    try:
        ans = _answers_e2e(ths, legacy_paths=legacy_paths)
        plan = planner.build(ans, transports, only={"clientmessenger", "hazelcast"})
        events = []
        res = Runner(plan, transports, emit=events.append).run()
        assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
        again = planner.build(ans, transports, only={"clientmessenger", "hazelcast"})
        assert changing(again) == []
        return ths, plan, ans, transports
    except BaseException:
        for t in transports.values():
            t.close()
        raise


def _check_member_file(text: str, chat_addr: str):
    assert chat_addr in hx.members(text)
    from lxml import etree
    xsd = etree.XMLSchema(etree.parse(str(Path(hx.__file__).parent / "data" / "xsd" /
                                          "hazelcast-config-3.10.xsd")))
    doc = etree.fromstring(text.encode())
    assert xsd.validate(doc.getroottree()), xsd.error_log
    ns = {"h": hx.NS}
    assert doc.xpath("h:ringbuffer[@name='CHAT']/h:capacity/text()", namespaces=ns) == ["500"]
    assert doc.xpath("h:map[@name='CHATCOUNTERS']/h:max-size/text()", namespaces=ns) == ["5000"]


def _follow_up_calls(ths):
    """(updatepl.sh runs on DATA, PlatformUDPListener restarts on TEL, updatejb.sh runs on WEB)."""
    restarts = [c for c in ths["acd-tel1"].calls() if c["cmd"] in ("service", "systemctl")
                and hazelcast.TEL_SERVICE in c["argv"] and "restart" in c["argv"]]
    runs = [ths[n].read(log).count("ran") if ths[n].exists(log) else 0
            for n, log in (("acd-dbm", "/var/log/updatepl.log"), ("acd-web1", "/var/log/updatejb.log"))]
    return runs[0], len(restarts), runs[1]


@pytest.mark.needs_root
def test_e2e_shared_layout_centos6_and_7(host_factory):
    flavors = {"acd-dbm": "centos7", "acd-tel1": "centos6", "acd-web1": "centos7", "chat1": "centos6"}
    ths, plan, ans, transports = _e2e(host_factory, layout="shared", flavors=flavors)
    try:
        chat_addr = ths["chat1"].host
        master = ths["acd-dbm"].read(MASTER)
        for n in ("acd-dbm", "acd-tel1", "acd-web1"):
            text = ths[n].read(MASTER)
            _check_member_file(text, chat_addr)
            assert text == master
        assert ths["chat1"].read(CHAT_COPY) == master
        st = ths["chat1"].stat(CHAT_COPY)
        assert (st.st_uid, st.st_gid) == (1000, 1000)          # jtel:jtel
        pl, restarts, jb = _follow_up_calls(ths)
        assert (pl, restarts, jb) == (1, 1, 1)
        tel_call = [c for c in ths["acd-tel1"].calls() if c["cmd"] == "service"
                    and c["argv"][:1] == [hazelcast.TEL_SERVICE]]
        assert tel_call and tel_call[-1]["argv"] == [hazelcast.TEL_SERVICE, "restart"]  # CentOS 6

        # replay with a second chat server (centos7): its member is added everywhere, once
        chat2 = host_factory("centos7", hostname="chat2")
        ths2 = {**ths, "chat2": chat2}
        transports["chat2"] = _ssh(chat2, "chat2", ("CHAT",))
        ans2 = _answers_e2e(ths2)
        plan2 = planner.build(ans2, transports, only={"clientmessenger", "hazelcast"})
        events = []
        res = Runner(plan2, transports, emit=events.append).run()
        assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
        for n in ("acd-dbm", "acd-tel1", "acd-web1"):
            got = hx.members(ths2[n].read(MASTER))
            assert got.count(chat_addr) == 1 and got.count(chat2.host) == 1, (n, got)
        master = ths["acd-dbm"].read(MASTER)
        assert ths["chat1"].read(CHAT_COPY) == master == chat2.read(CHAT_COPY)
        pl, restarts, jb = _follow_up_calls(ths)
        assert (pl, restarts, jb) == (2, 2, 2)
        assert changing(planner.build(ans2, transports, only={"clientmessenger", "hazelcast"})) == []
    finally:
        for t in transports.values():
            t.close()


@pytest.mark.needs_root
def test_e2e_legacy_layout(host_factory):
    """A legacy site: no master copy; each member keeps its own file (the default path on
    DATA and TEL, a per-host path on WEB), copied here from the install tree."""
    _e2e_prerequisites()
    flavors = {"acd-dbm": "centos6", "acd-tel1": "centos7", "acd-web1": "centos6", "chat1": "centos7"}
    names = list(flavors)
    ths = dict(zip(names, [host_factory(flavors[n], hostname=n, hazelcast_layout="legacy")
                            for n in names]))
    web_path = "/opt/jboss/standalone/configuration/hazelcast.xml"
    for n, th in ths.items():
        _stubs(th, (ROLES[n],))
        assert not th.exists(MASTER)
        if n != "chat1":
            th.write(web_path if n == "acd-web1" else LEGACY,
                     th.read(f"{CM_SOURCE}/conf/hazelcast.xml"), 0o640, "jtel")
    transports = {n: _ssh(th, n, (ROLES[n],)) for n, th in ths.items()}
    try:
        ans = _answers_e2e(ths, legacy_paths={"acd-web1": web_path})
        plan = planner.build(ans, transports, only={"clientmessenger", "hazelcast"})
        events = []
        res = Runner(plan, transports, emit=events.append).run()
        assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
        chat_addr = ths["chat1"].host
        for n, path in (("acd-dbm", LEGACY), ("acd-tel1", LEGACY), ("acd-web1", web_path)):
            _check_member_file(ths[n].read(path), chat_addr)
            assert oct(ths[n].stat(path).st_mode & 0o777) == oct(0o640)
        assert ths["chat1"].read(CHAT_COPY) == ths["acd-dbm"].read(LEGACY)
        pl, restarts, jb = _follow_up_calls(ths)
        assert (pl, restarts, jb) == (1, 1, 1)
        tel_call = [c for c in ths["acd-tel1"].calls() if c["cmd"] == "systemctl"
                    and hazelcast.TEL_SERVICE in c["argv"]]
        assert tel_call and tel_call[-1]["argv"] == ["restart", hazelcast.TEL_SERVICE]  # CentOS 7
        assert changing(planner.build(ans, transports, only={"clientmessenger", "hazelcast"})) == []
    finally:
        for t in transports.values():
            t.close()


# ------------------------------------------------------------------ every finding at once

def test_refusal_names_every_finding_in_the_file():
    """A disabled tcp-ip join refuses the file, and the same message lists the CHAT ringbuffer
    with another capacity and the element its XSD rejects (the refusal hid them before)."""
    from pathlib import Path
    text = (Path(__file__).parent / "data" / "bad" / "hazelcast" / "invalid_for_xsd.xml").read_text()
    text = (text.replace('<tcp-ip enabled="true">', '<tcp-ip enabled="false">')
                .replace("    <serialization>", '    <ringbuffer name="CHAT">\n        <capacity>100</capacity>\n'
                         "    </ringbuffer>\n    <serialization>"))
    with pytest.raises(PlanError) as e:
        build(cluster(text=text))
    msg = str(e.value)
    assert msg.startswith(f'host acd-dbm: {MASTER}:29: <tcp-ip enabled="false"> is not enabled'), msg
    also = msg.split("; also in this file: ", 1)[1]
    assert f"{MASTER}:63: not valid for Hazelcast 3.10: Element 'time-to-live-second'" in also
    assert (f"{MASTER}:68: /hazelcast/ringbuffer[@name='CHAT']/capacity is 100, the procedure wants 500 "
            "(a CHAT entry with other values)") in also
    assert "tcp-ip" not in also                                  # the first finding is not repeated


def test_invalid_file_refusal_lists_the_conflicts_too():
    """The file is not valid as it is (XSD): the message also names its CHAT conflict."""
    from pathlib import Path
    text = (Path(__file__).parent / "data" / "bad" / "hazelcast" / "invalid_for_xsd.xml").read_text()
    text = text.replace("    <serialization>", '    <ringbuffer name="CHAT">\n        <capacity>100</capacity>\n'
                        "    </ringbuffer>\n    <serialization>")
    with pytest.raises(PlanError) as e:
        build(cluster(text=text))
    msg = str(e.value)
    assert msg.startswith(f"host acd-dbm: {MASTER}:63: not valid for Hazelcast 3.10"), msg
    assert "; the file is not valid as it is: repair it first" in msg
    also = msg.split("; also in this file: ", 1)[1]
    assert f"{MASTER}:68: /hazelcast/ringbuffer[@name='CHAT']/capacity is 100" in also
    assert f"{MASTER}:63:" not in also                           # the first finding is not repeated
