"""Faults: the connection is cut before, during and after each kind of action; the run says so
("connection to HOST lost", exit code 5 from the CLI); `apply` again resumes from the journal;
the end state equals an uninterrupted install; no file is ever half-written and nothing the
wizard writes on the side (temp, candidate, upload files) is left once it has run again.

Also: follow-ups (restart, reload, script) of a file written by an interrupted run are planned
again although the file is already right; the journal is trusted only while the host holds
what it recorded; haproxy rejecting a candidate, or a cut while it checks one, leaves the live
file and haproxy alone; a host key that changed between `plan` and `apply` is refused before
anything runs; hosts of a section run in parallel and a lost host stops only itself.

Cuts (tests/faults.py): "kill" kills the host's sshd with every session (the connection closes
at once), "link" takes its network link down (nothing closes: the runner's dead-peer check
must notice). The moment is chosen with a Runner emit hook (StepStarted, OutputLine,
StepDone, FileWritten) or a transport hook (before a command it runs, before the rename of a
written file). Unit tests on fake hosts come first, then real SSH to test hosts (root only).
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from faults import (CliEnv, CutTransport, DroppingStandin, Trigger, cut, cut_when, file_state,
                    finished, inventory_entry, last_call, leftovers, mtime, new_host_key, output,
                    restore, shim_summary, slow, started, tree_state, unslow, wait_for, written)
from wizard import events as ev
from wizard import masking, planner
from wizard.answers import Answers
from wizard.facts import HostFacts, OSInfo, PortalVersion
from wizard.journal import Journal, open_all
from wizard.plan import Command, FileChange, HostPlan, Plan, SectionPlan
from wizard.runner import Runner
from wizard.steps import Context, clientmessenger, firewall
from wizard.transport.base import HostSpec, TransportError
from wizard.transport.fake import FakeTransport

# Connection cuts race the kernel and sshd on a shared 2-core machine: one rerun, shown as
# "rerun" in pytest's summary, so a rare timing loss does not hide the suite's result.
pytestmark = pytest.mark.flaky(reruns=1)

REPO = Path(__file__).resolve().parent.parent
INIT = "/etc/init.d/jtel-clientmessenger"
UPDATESC = "/usr/local/bin/updatesc.sh"
CM_SOURCE = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
CM_TARGET = "/home/jtel/ClientMessenger"
MASTER = "/home/jtel/shared/hazelcast.xml"
CHAT_COPY = f"{CM_TARGET}/conf/hazelcast.xml"
SVC = "jtel-clientmessenger"
CFG = "/etc/haproxy/haproxy.cfg"
CHAT_SECTIONS = {"java", "clientmessenger", "daemon", "update_script"}
DB_PASSWORD = "f4ult db&pw 'x\"$\\%+"
DEAD_PEER = 1.5          # seconds until a pulled cable fails the step (runner's dead-peer check)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Journals in tmp_path; secrets masked per test only."""
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "state"))
    masking.clear()
    yield
    masking.clear()


def use_keyring(monkeypatch, folder: Path, values: dict) -> None:
    """chatwizard's encrypted file keyring in `folder`, holding `values`."""
    from wizard import secrets
    monkeypatch.setenv("CHATWIZARD_KEYRING_FILE", str(folder / "keyring.json"))
    monkeypatch.setenv("CHATWIZARD_KEYRING_PASSWORD", "fault-suite-master")
    monkeypatch.setattr(secrets, "_backend", None)
    secrets.configure_backend("file")
    for k, v in values.items():
        secrets.set(k, v)


# ================================================================== unit: journal and runner

def _journal(tmp_path, host="chat1") -> Journal:
    return Journal.open(str(tmp_path / "site.yaml"), host)


def test_journal_pending_writes_unfinished_sections_and_leftovers(tmp_path):
    j = _journal(tmp_path)
    j.start(["java", "daemon", "update_script"])
    j.begin("a1", "java")
    j.record("a1", "java", "Install Java 8", {})
    j.section_done("java")
    j.begin("f1", "daemon", INIT)
    j.record("f1", "daemon", "Install the init script", {INIT: "d1"})
    j.begin("c1", "daemon")                      # the restart: cut before it finished
    t = FakeTransport(HostSpec("chat1", "h"), files={INIT: b"x"})
    again = _journal(tmp_path)
    assert again.interrupted and again.check(t) is not None        # INIT is not "d1" on the host
    assert again.pending_writes() == set() and again.done_ids() == set()
    assert again.leftovers() == {INIT}                               # tidied all the same
    assert "cannot be resumed" in again.describe("chat1") and INIT in again.describe("chat1")

    import hashlib
    t.files[INIT] = b"new"
    j.entries[-1]["files"][INIT] = hashlib.sha256(b"new").hexdigest()
    j.path.write_text("".join(json.dumps(r) + "\n" for r in j.records))
    ok = _journal(tmp_path)
    assert ok.check(t) is None and ok.trusted
    assert ok.pending_writes() == {INIT} == ok.pending_writes("daemon")
    assert ok.pending_writes("java") == set()
    assert ok.unfinished_sections() == {"daemon", "update_script"}
    assert ok.interrupted_actions() == {"c1"} and ok.done_ids() == {"a1", "f1"}
    assert "resuming" in ok.describe("chat1") and INIT in ok.describe("chat1")

    # the resumed run finishes the section: nothing pending any more; complete: all clear
    ok.start(["daemon"])
    ok.section_done("daemon")
    assert _journal(tmp_path).pending_writes() == set()
    ok.finish()
    done = _journal(tmp_path)
    assert not done.interrupted and done.done_ids() == set() and done.leftovers() == set()


def test_lost_connection_is_named_and_the_journal_keeps_the_write_intent(tmp_path):
    t = FakeTransport(HostSpec("chat1", "h"), files={"/etc/a": b"old\n"})

    def drop(*a, **kw):
        raise TransportError("chat1 (h:22): connection failed while running: install /etc/a: EOF")
    t.write_file = drop
    plan = Plan([SectionPlan("s", "S", [HostPlan("chat1", [
        FileChange("a", "/etc/a", b"new\n", b"old\n"), Command("restart", "service a restart")])])])
    j = _journal(tmp_path)
    events = []
    res = Runner(plan, {"chat1": t}, emit=events.append, journals={"chat1": j}).run()
    failed = res.failed["chat1"]
    assert failed.reason.startswith("connection to chat1 lost: ") and res.hosts["chat1"].lost
    assert res.hosts["chat1"].status == "failed" and not t.commands_matching("restart")
    j2 = _journal(tmp_path)
    assert j2.leftovers() == {"/etc/a"} and j2.pending_writes("s") == {"/etc/a"}


def test_a_failing_command_on_a_live_connection_is_not_called_lost(tmp_path):
    t = FakeTransport(HostSpec("chat1", "h"), handlers={r"^false": 1})
    res = Runner(Plan([SectionPlan("s", "S", [HostPlan("chat1", [Command("f", "false")])])]),
                 {"chat1": t}, emit=lambda e: None).run()
    assert res.failed["chat1"].reason == "exit code 1" and not res.hosts["chat1"].lost


def test_resume_removes_what_an_interrupted_write_left(tmp_path):
    t = FakeTransport(HostSpec("chat1", "h"))
    j = _journal(tmp_path)
    j.start(["s"])
    j.begin("f1", "s", "/etc/haproxy/haproxy.cfg")
    plan = Plan([SectionPlan("s", "S", [HostPlan("chat1", [Command("one", "true")])])])
    res = Runner(plan, {"chat1": t}, emit=lambda e: None, journals={"chat1": _journal(tmp_path)}).run()
    assert res.ok
    rm = [c.command for c in t.commands if c.command.startswith("rm -")]
    assert rm[0] == ("rm -rf -- /etc/haproxy/.haproxy.cfg.chatwizard-tmp-* "
                     "/etc/haproxy/.haproxy.cfg.chatwizard-candidate "
                     "/etc/haproxy/..haproxy.cfg.chatwizard-candidate.chatwizard-tmp-*")
    assert rm[1] == 'rm -f -- "$HOME"/.chatwizard-upload-*' and not t.commands[1].sudo
    assert _journal(tmp_path).complete


# ================================================================== unit: follow-ups re-planned

def _ctx(answers, transports, majors, **journal):
    facts = {n: HostFacts(n, OSInfo("CentOS", m, f"{m}.9", "/etc/redhat-release"))
             for n, m in majors.items()}
    ctx = Context(answers, transports, facts, PortalVersion("3.26", "test"))
    for key, value in journal.items():
        setattr(ctx, key, value)
    return ctx


def test_hazelcast_follow_ups_of_an_interrupted_write_are_planned_again():
    """Each member wrote its file and was cut before its script/restart: the files are right,
    the follow-ups come back; on a shared network share the members that waited for the
    editor's file get theirs back only where their section did not finish."""
    from test_step_hazelcast import Share, answers, by_host, cluster, facts_for, kinds
    from wizard.steps import hazelcast

    def plan(hosts, **journal):
        ctx = _ctx(answers(hosts), hosts, {n: h.major for n, h in hosts.items()}, **journal)
        ctx.facts = facts_for(hosts)
        return by_host(Plan([hazelcast.plan_section(ctx)]))

    hosts = cluster()
    for n, h in hosts.items():            # as an apply left them: edited, follow-ups not run
        if n != "chat1":
            h.put(MASTER, _edited(hosts, n), *h.meta(MASTER))
    acts = plan(hosts)
    assert kinds(acts["acd-dbm"]) == ["NoOp"]                       # without the journal: dropped
    pending = {n: {"hazelcast": {MASTER}} for n in ("acd-dbm", "acd-tel1")}
    acts = plan(hosts, pending=pending)
    assert kinds(acts["acd-dbm"]) == ["NoOp", "Command"] and "updatepl.sh" in acts["acd-dbm"][1].command
    assert kinds(acts["acd-tel1"]) == ["NoOp", "Command"] and "restart" in acts["acd-tel1"][1].command
    assert kinds(acts["acd-web1"]) == ["NoOp"]                        # it finished its section

    share = Share()
    hosts = cluster(share=share)
    hosts["acd-dbm"].put(MASTER, _edited(hosts, "acd-dbm"), *hosts["acd-dbm"].meta(MASTER))
    acts = plan(hosts, unfinished={"acd-web1": {"hazelcast"}})
    assert kinds(acts["acd-dbm"]) == ["NoOp"]                        # the editor had finished
    assert kinds(acts["acd-web1"]) == ["NoOp", "Command"] and "updatejb.sh" in acts["acd-web1"][1].command
    assert kinds(acts["acd-tel1"]) == ["NoOp"]


def _edited(hosts, name) -> bytes:
    """What section 3 writes into host `name`'s hazelcast.xml (from a plan on the hosts)."""
    from test_step_hazelcast import build
    plan = build(hosts)
    return next(a.new for s, hp, a in plan.actions() if hp.host == name and isinstance(a, FileChange))


def test_iptables_save_is_planned_again_after_an_unfinished_section():
    from test_step_load_balancer import answers_for
    rules = "-P INPUT ACCEPT\n" + "".join(
        f"-A INPUT -p tcp -m tcp --dport {p} -j ACCEPT\n" for p in ("5701:5801", "3000"))
    t = FakeTransport(HostSpec("chat1", "10.0.0.21", roles=("CHAT",)),
                      handlers={r"^iptables -S INPUT": (0, rules)})
    ans = answers_for(skip=("load_balancer",))
    host = ans.host("chat1")
    assert kinds_of(firewall.plan(_ctx(ans, {"chat1": t}, {"chat1": 6}), host)) == ["NoOp", "NoOp"]
    acts = firewall.plan(_ctx(ans, {"chat1": t}, {"chat1": 6}, unfinished={"chat1": {"firewall"}}), host)
    assert [a.command for a in acts if isinstance(a, Command)] == ["service iptables save",
                                                                   "service iptables restart"]


def test_copy_cut_in_the_middle_is_made_again_not_nested():
    from test_step_load_balancer import answers_for
    t = FakeTransport(HostSpec("chat1", "10.0.0.21", roles=("CHAT",)),
                      files={f"{CM_SOURCE}/bin/a.jar": b"a", f"{CM_TARGET}/bin/a.jar": b"a"})
    t.on(r"^find ", (0, ""))
    ans = answers_for(skip=("load_balancer",))
    host = ans.host("chat1")
    assert kinds_of(clientmessenger.plan(_ctx(ans, {"chat1": t}, {"chat1": 7}), host)) == ["NoOp", "NoOp"]
    copy = Command("x", f"mkdir -p {CM_TARGET} && cp -R {CM_SOURCE}/. {CM_TARGET}/")
    acts = clientmessenger.plan(_ctx(ans, {"chat1": t}, {"chat1": 7}, interrupted={"chat1": {copy.id}}), host)
    assert [a.command for a in acts] == [copy.command, f"chown -R jtel:jtel {CM_TARGET}"]
    assert "again" in acts[0].description


def kinds_of(actions) -> list[str]:
    return [type(a).__name__ for a in actions]


# ================================================================== end to end: one chat server

def chat_answers(th, *, user="root", **extra) -> Answers:
    data = {"version": 1,
            "inventory": {"hosts": {"chat1": inventory_entry(th, ["CHAT"], user=user,
                                                             password_ref="keyring:ssh/chat1")}},
            "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
            "daemon": {"db_password": "keyring:db/root"},
            "sections": {"skip": ["hazelcast", "load_balancer", "firewall"]}}
    data.update(extra)
    return Answers.from_data(data)


def connect(th, tmp_path, answers) -> dict:
    return {s.name: CutTransport.to(th if not isinstance(th, dict) else th[s.name], s.name, s.roles,
                                    tmp_path, user=s.user, password_ref=s.password_ref)
            for s in answers.hosts}


def close(transports):
    for t in transports.values():
        t.close()


def apply(answers, transports, source, *, only, hook=None, http=None):
    """One `apply` as the CLI runs it: journals checked, the plan built with them, run."""
    journals = open_all(source, transports)
    plan = planner.build(answers, transports, only=only, journals=journals)
    events = []

    def emit(e):
        events.append(e)
        if hook is not None:
            hook(e)
    res = Runner(plan, transports, emit=emit, journals=journals, dead_peer_after=DEAD_PEER,
                 http=http).run()
    return plan, res, events, journals


def chat_state(th) -> dict:
    """Everything sections 1, 2, 4 and 5 leave on a chat server, host-independent."""
    source = tree_state(th, CM_SOURCE)            # (the seeded jars differ between hosts)
    copy = {rel: ("= source", *st[1:]) if st and rel in source and source[rel] and
            st[0] == source[rel][0] else st for rel, st in tree_state(th, CM_TARGET).items()}
    return {"init": file_state(th, INIT), "updatesc": file_state(th, UPDATESC),
            "clientmessenger": copy, **shim_summary(th)}


def assert_daemon_runs_the_installed_script(th):
    call = [c for c in th.calls("service") if c["argv"][:1] == [SVC] and c["argv"][1] in ("start", "restart")]
    assert call and call[-1]["rc"] == 0 and call[-1]["t"] >= mtime(th, INIT), \
        "the daemon was not (re)started after its init script was written"


@pytest.fixture(scope="module")
def chat_references(tmp_path_factory):
    """What an uninterrupted apply of sections 1, 2, 4 and 5 leaves on a chat server, per
    flavor (CentOS 7 as root, CentOS 6 as a sudo user)."""
    if os.geteuid() != 0:
        pytest.skip("test hosts need root")
    from testhost import HostFactory
    tmp = tmp_path_factory.mktemp("reference")
    factory = HostFactory()
    mp = pytest.MonkeyPatch()
    refs = {}
    try:
        mp.setenv("CHATWIZARD_STATE_DIR", str(tmp / "state"))
        hosts = dict(zip(("centos7", "centos6"), factory.many([{"flavor": "centos7"}, {"flavor": "centos6"}])))
        use_keyring(mp, tmp, {"db/root": DB_PASSWORD, "ssh/chat1": hosts["centos6"].password})
        for flavor, th in hosts.items():
            ans = chat_answers(th, user="root" if flavor == "centos7" else "tester")
            transports = connect(th, tmp, ans)
            try:
                plan, res, events, _ = apply(ans, transports, str(tmp / f"{flavor}.yaml"), only=CHAT_SECTIONS)
                assert res.ok, [e for e in events if isinstance(e, ev.StepFailed)]
            finally:
                close(transports)
            assert_daemon_runs_the_installed_script(th)
            refs[flavor] = {"state": chat_state(th), "init": th.read(INIT, binary=True),
                            "updatesc": th.read(UPDATESC, binary=True)}
        return refs
    finally:
        factory.stop_all()
        mp.undo()
        masking.clear()


def _partial_copy(th):
    """What a `cp -R` killed half-way leaves: the folder with part of the tree."""
    th.write(f"{CM_TARGET}/bin/ClientMessenger.jar", th.read(f"{CM_SOURCE}/bin/ClientMessenger.jar", binary=True))


def exec_of(prefix: str):
    """Transport moment: just before the host is sent a command starting with `prefix`
    ("install PATH": the script that puts a written file in place)."""
    return lambda phase, detail: phase == "exec" and detail.startswith(prefix)


def rename_of(path: str):
    """Transport moment: the written file is complete beside `path`, not yet renamed over it."""
    return lambda phase, detail: phase == "rename" and detail == path


# Each apply is cut at the next moment, in plan order, and the next apply resumes where it
# stopped: (what the moment is, the cut, "emit" or "transport" hook, when it fires).
CHAINS = {
    "centos7": [      # as root: temp file beside the target, SFTP rename
        ("before a command", "kill", "emit", started("Install Java 8")),
        ("during a command (it finishes on the host)", "link", "emit", output("slow mirror")),
        ("during a copy (half of it done)", "kill", "transport", exec_of(f"mkdir -p {CM_TARGET}")),
        ("after a command", "kill", "emit", finished(f"Give {CM_TARGET}")),
        ("while the candidate is validated", "kill", "transport", exec_of(f"bash -n /etc/init.d/.{SVC}")),
        ("temp file written, not installed", "link", "transport", exec_of(f"install {INIT}")),
        ("installed beside the target, not renamed", "kill", "transport", rename_of(INIT)),
        ("after the write, before its follow-ups", "kill", "emit", written(INIT)),
        ("after a follow-up", "kill", "emit", finished(f"Start {SVC} at boot")),
        ("before the last write", "kill", "emit", started(f"Write {UPDATESC}")),
    ],
    "centos6": [      # as a sudo user: upload in the home folder, install script under sudo
        ("during a command (it dies on the host)", "kill", "emit", output("slow mirror")),
        ("upload done, not installed", "kill", "transport", exec_of(f"install {INIT}")),
        ("while the candidate is validated", "link", "transport", exec_of(f"bash -n /etc/init.d/.{SVC}")),
        ("after the write, before its follow-ups", "kill", "emit", written(INIT)),
    ],
}


@pytest.mark.parametrize("flavor", list(CHAINS))
def test_cut_again_and_again_then_resume_ends_as_an_uninterrupted_install(
        host_factory, tmp_path, monkeypatch, chat_references, flavor):
    """One chat server, sections 1, 2, 4, 5: every apply is cut at the next moment (before,
    during, after a command; a copy half done; a file write at each of its phases; after a
    write, before its follow-ups), each is reported as a lost connection, leaves every target
    as it was or complete, and the last apply ends exactly where an uninterrupted one does."""
    ref = chat_references[flavor]
    th = host_factory(flavor)
    use_keyring(monkeypatch, tmp_path, {"db/root": DB_PASSWORD, "ssh/chat1": th.password})
    slow(th, "yum", 1)
    ans = chat_answers(th, user="root" if flavor == "centos7" else "tester")
    source = str(tmp_path / "site.yaml")
    for n, (moment, how, where, when) in enumerate(CHAINS[flavor]):
        transports = connect(th, tmp_path, ans)
        if n:
            j = open_all(source, transports)["chat1"]
            assert j.trusted and "resuming" in j.describe("chat1"), (moment, j.stale)

        def do_cut(moment=moment, how=how):
            if moment.startswith("during a copy"):        # what a cp killed half-way leaves
                th.write(f"{CM_TARGET}/bin/ClientMessenger.jar",
                         th.read(f"{CM_SOURCE}/bin/ClientMessenger.jar", binary=True))
            cut(th, how)
        trigger = Trigger(when, do_cut)
        if where == "transport":
            transports["chat1"].hook = trigger
        t0 = time.monotonic()
        plan, res, events, _ = apply(ans, transports, source, only=CHAT_SECTIONS,
                                     hook=trigger if where == "emit" else None)
        close(transports)
        assert trigger.fired, f"{moment}: the cut never came (the run did not get there)"
        failed = [e for e in events if isinstance(e, ev.StepFailed)]
        assert not res.ok and res.hosts["chat1"].lost, (moment, failed)
        assert res.failed["chat1"].reason.startswith("connection to chat1 lost"), (moment, failed)
        assert time.monotonic() - t0 < 15, f"{moment}: the lost connection was noticed late"
        for path in (INIT, UPDATESC):                     # never half-written
            if th.exists(path):
                assert th.read(path, binary=True) == ref["init" if path == INIT else "updatesc"], \
                    (moment, path)
        # a command cut off runs on (or dies) on the host: let it end before the next apply
        wait_for(lambda: not _running(th, "/usr/lib/testhost/slow/yum") and not _running(th, "sleep 1"),
                 what="the cut-off command to end")
        restore(th, how)

    transports = connect(th, tmp_path, ans)
    try:
        plan, res, events, _ = apply(ans, transports, source, only=CHAT_SECTIONS)
        assert res.ok, [e for e in events if isinstance(e, ev.StepFailed)]
        assert chat_state(th) == ref["state"]
        assert_daemon_runs_the_installed_script(th)
        assert leftovers(th) == []
        assert Journal.open(source, "chat1").complete
        assert planner.build(ans, transports, only=CHAT_SECTIONS).changing_count == 0
    finally:
        close(transports)


def _running(th, text: str) -> bool:
    for pid in th.pids()["all"]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text in f.read().replace(b"\0", b" ").decode("utf-8", "replace"):
                    return True
        except OSError:
            continue
    return False


# ================================================================== follow-ups of an interrupted write

def test_daemon_restart_after_a_cut_between_its_script_and_the_restart(host_factory, tmp_path, monkeypatch):
    """The daemon runs; a changed answer rewrites its init script; the connection goes right
    after the write. The next plan sees the script already right and still restarts the
    daemon: the interrupted apply wrote it and never restarted it."""
    th = host_factory("centos7", java8=True)
    use_keyring(monkeypatch, tmp_path, {"db/root": DB_PASSWORD})
    ans = chat_answers(th)
    source = str(tmp_path / "site.yaml")
    only = {"clientmessenger", "daemon"}
    transports = connect(th, tmp_path, ans)
    try:
        plan, res, events, _ = apply(ans, transports, source, only=only)
        assert res.ok and th.shim_state()["services"][SVC]["running"]
    finally:
        close(transports)
    older = ans.with_changes(portal={"scheme": "http", "load_balancer": "jtel-portal", "version": "3.24"})
    transports = connect(th, tmp_path, older)
    try:
        plan, res, events, _ = apply(older, transports, source, only=only,
                                     hook=Trigger(written(INIT), lambda: cut(th, "kill")))
        assert [a.command for _, _, a in plan.actions() if isinstance(a, Command)] == [f"service {SVC} restart"]
        assert res.hosts["chat1"].lost and last_call(th, "service", SVC, "restart") is None
    finally:
        close(transports)
    new_script = th.read(INIT, binary=True)
    restore(th, "kill")
    transports = connect(th, tmp_path, older)
    try:
        assert planner.build(older, transports, only=only).changing_count == 0    # no journal: dropped
        plan, res, events, _ = apply(older, transports, source, only=only)
        acts = plan.section("daemon").for_host("chat1").actions
        assert kinds_of(acts) == ["NoOp", "NoOp", "Command"], [a.description for a in acts]
        assert acts[2].command == f"service {SVC} restart" and "did not restart" in acts[2].description
        assert res.ok and th.read(INIT, binary=True) == new_script
        assert last_call(th, "service", SVC, "restart")["t"] >= mtime(th, INIT)
        assert planner.build(older, transports, only=only,
                             journals=open_all(source, transports)).changing_count == 0
    finally:
        close(transports)


def _cluster_stubs(th, role):
    """The member's follow-up: updatepl.sh on DATA, the listener service on TEL."""
    if role == "DATA":
        th.write("/usr/local/bin/updatepl.sh", "#!/bin/sh\necho ran >> /var/log/updatepl.log\n", 0o755)
    if role == "TEL":
        th.write("/etc/rc.d/init.d/PlatformUDPListener",
                 "#!/bin/sh\n# testhost-stub\n# chkconfig: - 85 15\n"
                 "exec /usr/sbin/service PlatformUDPListener \"$@\"\n", 0o755)


def test_hazelcast_write_cut_before_rename_then_before_its_script(host_factory, tmp_path):
    """Section 3 on DATA, TEL and a chat server (hazelcast.xml written without validation): the
    DATA host's write is cut before the rename (link down), then, resumed, right after the
    write (before updatepl.sh). The TEL host and the chat server finish their own work in the
    meantime; the last apply runs updatepl.sh although the file is already right: one run of
    each follow-up in all, as without the cuts."""
    roles = {"acd-dbm": "DATA", "acd-tel1": "TEL", "chat1": "CHAT"}
    ths = dict(zip(roles, host_factory.many(3, "centos7")))
    for n, th in ths.items():
        _cluster_stubs(th, roles[n])
    ans = Answers.from_data({
        "version": 1, "inventory": {"hosts": {n: inventory_entry(th, [roles[n]]) for n, th in ths.items()}},
        "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
        "sections": {"skip": ["daemon", "load_balancer", "firewall"]}})
    only = {"clientmessenger", "hazelcast"}
    source = str(tmp_path / "site.yaml")
    data = ths["acd-dbm"]
    before = data.read(MASTER, binary=True)
    # the rename cut by the link may still land once the link is back (seen here, now and
    # then): then the second cut comes as updatepl.sh is about to start, which is the same
    # moment for the journal (file written, follow-up not run)
    after_write = lambda e: written(MASTER)(e) or (
        isinstance(e, ev.StepStarted) and e.host == "acd-dbm" and "updatepl.sh" in e.display)
    moments = [("link", "transport", rename_of(MASTER)), ("kill", "emit", after_write)]
    for how, where, when in moments:
        transports = connect(ths, tmp_path, ans)
        trigger = Trigger(when, lambda how=how: cut(data, how))
        if where == "transport":
            transports["acd-dbm"].hook = trigger
        plan, res, events, _ = apply(ans, transports, source, only=only,
                                     hook=trigger if where == "emit" else None)
        close(transports)
        assert trigger.fired and set(res.failed) == {"acd-dbm"} and res.hosts["acd-dbm"].lost, (
            how, res.failed, [(type(e).__name__, e.host, getattr(e, "display", "")) for e in events
                              if isinstance(e, (ev.StepStarted, ev.StepFailed, ev.FileWritten))])
        tel = res.hosts["acd-tel1"]                            # not stopped by DATA's cut
        assert tel.status == "ok" and tel.finished == tel.planned, tel
        assert data.read(MASTER, binary=True) in (before, ths["chat1"].read(CHAT_COPY, binary=True))
        restore(data, how)
    assert not data.exists("/var/log/updatepl.log")
    transports = connect(ths, tmp_path, ans)
    try:
        plan, res, events, _ = apply(ans, transports, source, only=only)
        assert res.ok, [e for e in events if isinstance(e, ev.StepFailed)]
        assert kinds_of(plan.section("hazelcast").for_host("acd-dbm").actions) == ["NoOp", "Command"]
        assert data.read("/var/log/updatepl.log") == "ran\n"
        restarts = [c for c in ths["acd-tel1"].calls("systemctl") if c["argv"] == ["restart", "PlatformUDPListener"]]
        assert len(restarts) == 1
        master = data.read(MASTER)
        assert ths["chat1"].host in master and master == ths["chat1"].read(CHAT_COPY)
        assert all(leftovers(th) == [] for th in ths.values())
        assert planner.build(ans, transports, only=only).changing_count == 0
    finally:
        close(transports)


# ================================================================== haproxy on the load balancer

def test_haproxy_rejects_then_cut_while_checking_then_cut_before_reload(host_factory, tmp_path):
    """The candidate is rejected (its certificate is missing): live file and haproxy untouched, nothing left
    beside the file. With the certificate in place: cut while `haproxy -c` checks the
    candidate (live file untouched, no reload; the candidate left behind is removed by the next
    apply), then cut right after the write: the last apply reloads haproxy although the file
    is already right. One reload in all."""
    from test_step_load_balancer import e2e_answers, reload_calls, start_lb
    lb = start_lb(host_factory, "centos7", tmp_path)
    chat = host_factory("centos7")
    ans = e2e_answers({"chat1": chat}, lb, load_balancer={"cert": "/etc/haproxy/chat.pem"})
    only = {"load_balancer"}
    source = str(tmp_path / "site.yaml")
    live = lb.read(CFG, binary=True)
    candidate = "/etc/haproxy/.haproxy.cfg.chatwizard-candidate"

    transports = connect({"chat1": chat, "lb1": lb}, tmp_path, ans)
    plan, res, events, _ = apply(ans, transports, source, only=only)
    close(transports)
    assert not res.ok and not res.hosts["lb1"].lost
    assert res.failed["lb1"].display.startswith(f"haproxy -c -f {candidate}")
    assert lb.read(CFG, binary=True) == live and reload_calls(lb, "centos7") == []
    assert leftovers(lb) == []

    lb.write("/etc/haproxy/chat.pem", lb.read("/etc/haproxy/haproxy.pem", binary=True), mode=0o600)
    moments = [("kill", "transport", exec_of(f"haproxy -c -f {candidate}")), ("kill", "emit", written(CFG))]
    for how, where, when in moments:
        transports = connect({"chat1": chat, "lb1": lb}, tmp_path, ans)
        trigger = Trigger(when, lambda how=how: cut(lb, how))
        if where == "transport":
            transports["lb1"].hook = trigger
        plan, res, events, _ = apply(ans, transports, source, only=only,
                                     hook=trigger if where == "emit" else None)
        close(transports)
        assert trigger.fired and res.hosts["lb1"].lost, [e for e in events if isinstance(e, ev.StepFailed)]
        assert reload_calls(lb, "centos7") == []
        if where == "transport":
            assert lb.read(CFG, binary=True) == live and lb.exists(candidate)
        restore(lb, how)
    written_cfg = lb.read(CFG, binary=True)
    assert written_cfg != live
    transports = connect({"chat1": chat, "lb1": lb}, tmp_path, ans)
    try:
        plan, res, events, _ = apply(ans, transports, source, only=only)
        assert res.ok, [e for e in events if isinstance(e, ev.StepFailed)]
        assert kinds_of(plan.section("load_balancer").for_host("lb1").actions) == ["NoOp", "Command"]
        assert lb.read(CFG, binary=True) == written_cfg
        assert [c["rc"] for c in reload_calls(lb, "centos7")] == [0]
        assert leftovers(lb) == []
    finally:
        close(transports)


# ================================================================== an HTTP request from here

def test_webhook_request_lost_before_and_its_answer_lost_after(host_factory, tmp_path, monkeypatch):
    """TynTec's PATCH: the connection drops before the request arrives (nothing changed), then
    (with the webhooks set back) after TynTec applied it, with the answer lost. Both are
    reported as a lost connection; the next apply sends the PATCH once more in the first case
    and sees nothing left to do in the second."""
    from test_step_load_balancer import e2e_answers, start_lb
    from tyntec_standin import reference, self_signed
    from wizard import tyntec
    cert, key, _ = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    use_keyring(monkeypatch, tmp_path, {"tyntec/apikey": "fault-key-1"})
    lb = start_lb(host_factory, "centos7", tmp_path)
    chat = host_factory("centos7")
    only = {"load_balancer", "whatsapp"}
    source = str(tmp_path / "site.yaml")
    with DroppingStandin("fault-key-1", certfile=cert, keyfile=key) as api:
        ans = e2e_answers({"chat1": chat}, lb, whatsapp={"api_base": api.base})
        for drop in ("before", "after"):
            api.application = reference("applications-get-default-response.json")
            api.drop = drop
            transports = connect({"chat1": chat, "lb1": lb}, tmp_path, ans)
            plan, res, events, _ = apply(ans, transports, source, only=only, http=tyntec.runner_http)
            close(transports)
            host = next(h for h in res.failed)
            assert host == "TynTec (from this machine)" and res.hosts[host].lost, res.failed
            # no session of ours to lose: the request "failed", and the host counts as lost
            assert res.failed[host].reason.startswith(f"connection to {host} failed: cannot reach")
            assert len(api.patches()) == (0 if drop == "before" else 1)
            transports = connect({"chat1": chat, "lb1": lb}, tmp_path, ans)
            try:
                plan, res, events, _ = apply(ans, transports, source, only=only, http=tyntec.runner_http)
                assert res.ok, [e for e in events if isinstance(e, ev.StepFailed)]
                assert len(api.patches()) == 1, drop
                assert json.loads(api.patches()[0].body) == tyntec.webhook_body("https://jtel-portal")
            finally:
                close(transports)
            api.requests.clear()


# ================================================================== chatwizard as the engineer runs it

def cli_answers(names, *, skip=("hazelcast", "load_balancer", "firewall")) -> dict:
    """Chat servers reached by ~/.ssh/config alias (the env's Host blocks)."""
    return {"version": 1,
            "inventory": {"hosts": {n: {"address": n, "roles": ["CHAT"]} for n in names}},
            "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
            "daemon": {"db_password": "keyring:db/root"},
            "sections": {"skip": list(skip)}}


def quiet(th, *texts, timeout=30):
    """Wait until no process on th runs a command line containing any of texts."""
    wait_for(lambda: not any(_running(th, t) for t in texts), timeout, f"{texts} to end on {th}")


def test_cli_lost_connection_exit_5_and_resume_only_while_the_host_matches(
        host_factory, tmp_path, chat_references):
    """`apply` cut during yum: exit code 5, "connection to chat1 lost". `plan` offers to resume;
    the resumed apply is cut right after the init script is written (during chkconfig);
    `plan` again offers to resume and plans the script's follow-ups. Then the script is edited
    by hand: the journal no longer matches the host, `plan` says so and shows a fresh preview
    (the hand edit in its diff); `apply` ends as an uninterrupted install."""
    th = host_factory("centos7")
    env = CliEnv(tmp_path)
    env.ssh_config({"chat1": th})
    env.secret("db/root", DB_PASSWORD)
    env.write_answers(cli_answers(["chat1"]))
    answers = str(env.answers)

    marker = slow(th, "yum", 1)
    cut_when(th, marker, "kill")
    rc, out, err = env.run("apply", answers, "--yes")
    assert rc == 5, out + err
    assert "reason: connection to chat1 lost" in err and "apply again" in err
    assert re.search(r"chat1 +FAILED at 'Install Java 8 .*connection to chat1 lost", out), out
    quiet(th, "/usr/lib/testhost/slow/yum", "sleep 1")
    restore(th, "kill")
    unslow(th, "yum")

    rc, out, err = env.run("plan", answers)
    assert rc == 0 and "== Interrupted apply (journal)" in out
    assert re.search(r"-- chat1: resuming the apply interrupted at \S+ \S+ UTC", out), out

    # detection's one read-only batch may ask chkconfig too: count those calls with a plan
    # (it detects exactly as apply does), then cut at the apply's first changing chkconfig
    marker = slow(th, "chkconfig", 1)
    rc, out, err = env.run("plan", answers)
    assert rc == 0, out + err
    reads = len(th.read(marker).splitlines()) if th.exists(marker) else 0
    cut_when(th, marker, "kill", count=2 * reads + 1)
    rc, out, err = env.run("apply", answers, "--yes")
    assert rc == 5 and "connection to chat1 lost" in err, out + err
    assert f"wrote {INIT}" in out
    quiet(th, "/usr/lib/testhost/slow/chkconfig", "sleep 1")
    restore(th, "kill")
    unslow(th, "chkconfig")
    rc, out, err = env.run("plan", answers)
    assert rc == 0 and f"follow-ups of files written then are planned again: {INIT}" in out, out

    th.write(INIT, th.read(INIT) + "# edited by hand\n", mode=0o755)
    rc, out, err = env.run("plan", answers)
    assert rc == 0, err
    assert ("chat1: the apply interrupted at" in out and f"cannot be resumed: {INIT} changed since "
            "the interrupted run; its record is set aside and this is a fresh plan" in out), out
    assert "-# edited by hand" in out                  # the fresh preview's diff
    rc, out, err = env.run("apply", answers, "--yes")
    assert rc == 0, out + err
    assert chat_state(th) == chat_references["centos7"]["state"]
    assert_daemon_runs_the_installed_script(th)
    assert leftovers(th) == []
    rc, out, err = env.run("plan", answers)
    assert "Interrupted apply" not in out and "Nothing to change" in out


def test_cli_host_key_changed_between_plan_and_apply_is_refused(host_factory, tmp_path):
    th = host_factory("centos7")
    env = CliEnv(tmp_path)
    env.ssh_config({"chat1": th})
    env.secret("db/root", DB_PASSWORD)
    env.write_answers(cli_answers(["chat1"]))
    rc, out, err = env.run("plan", str(env.answers))
    assert rc == 0, err
    calls = len(th.calls())
    new_host_key(th)
    rc, out, err = env.run("apply", str(env.answers), "--yes")
    assert rc == 4, out + err
    assert "host key of chat1" in err and "changed" in err and "man-in-the-middle" in err
    assert len(th.calls()) == calls and not th.exists(CM_TARGET) and not th.exists(INIT)
    assert not (env.state / "journal").exists() or not list((env.state / "journal").iterdir())


def test_cli_cluster_runs_hosts_in_parallel_and_a_lost_host_stops_only_itself(host_factory, tmp_path):
    """Three chat servers, sections 1-2, three hosts at once: chat2's connection is lost while
    its yum runs; chat1 and chat3 finish their yum (their current step) and stop before
    section 2 (later sections build on earlier ones). Exit code 5, a result line and a log
    file per host; `apply` again finishes all three."""
    names = ["chat1", "chat2", "chat3"]
    ths = dict(zip(names, host_factory.many(3, "centos7")))
    env = CliEnv(tmp_path)
    env.ssh_config(ths)
    env.write_answers(cli_answers(names, skip=("hazelcast", "load_balancer", "firewall", "daemon",
                                               "update_script")))
    markers = {n: slow(th, "yum", 1.5) for n, th in ths.items()}
    cut_when(ths["chat2"], markers["chat2"], "kill")
    rc, out, err = env.run("apply", str(env.answers), "--yes", "--parallel", "3")
    assert rc == 5, out + err
    assert "[chat2] FAILED: Install Java 8" in err and "reason: connection to chat2 lost" in err
    for n in ("chat1", "chat3"):                       # their current step was not stopped
        assert [c["rc"] for c in ths[n].calls("yum")] == [0], n
        assert not ths[n].exists(CM_TARGET)            # section 2 did not start anywhere
    begun = sorted(float(ths[n].read(markers[n]).split()[0]) for n in names)
    assert begun[-1] - begun[0] < 1.5, "the hosts did not run at the same time"
    results = dict(re.findall(r"^  (chat\d) +(.*)$", out.split("result per host:")[1], re.M))
    assert results["chat2"].startswith("FAILED at 'Install Java 8") and "connection to chat2 lost" in results["chat2"]
    for n in ("chat1", "chat3"):
        assert results[n].startswith("stopped: chat2 failed, so section(s) clientmessenger did not run"), results
    run_log = Path(re.search(r"^log: (.*)$", err, re.M)[1])
    logs = {n: (run_log.with_suffix("") / f"{n}.log").read_text() for n in names}
    assert "connection to chat2 lost" in logs["chat2"] and "chat1" not in logs["chat2"]
    assert "result: stopped" in logs["chat1"] and "chat2" not in logs["chat1"].split("result:")[0]
    assert all("Install Java 8" in logs[n] for n in names)

    quiet(ths["chat2"], "/usr/lib/testhost/slow/yum", "sleep 1.5")
    restore(ths["chat2"], "kill")
    for th in ths.values():
        unslow(th, "yum")
    rc, out, err = env.run("apply", str(env.answers), "--yes", "--parallel", "3")
    assert rc == 0, out + err
    assert re.search(r"^  chat2 +ok ", out, re.M), out
    for n, th in ths.items():
        assert "jdk1.8" in th.shim_state()["packages"] and th.exists(f"{CM_TARGET}/bin/ClientMessenger.jar"), n
