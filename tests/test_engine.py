"""The engine on an in-process fake host: plan, preview, runner, journal, sections 1-2.

The same behaviours are proven over real SSH in tests/test_e2e_cli.py.
"""
import subprocess
import sys

import pytest

from wizard import events as ev
from wizard import masking, planner, preview
from wizard.answers import loads
from wizard.journal import Journal
from wizard.plan import Command, FileChange, HostPlan, NoOp, Plan, SectionPlan
from wizard.runner import Runner
from wizard.transport.base import HostSpec, TransportError
from wizard.transport.fake import FakeTransport

C7 = b"CentOS Linux release 7.9.2009 (Core)\n"
CM = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"

ANSWERS = """\
version: 1
inventory:
  hosts:
    chat1: {address: 10.0.0.5, roles: [CHAT]}
portal: {scheme: http, load_balancer: jtel-portal, version: "3.26"}
daemon: {db_password: "keyring:db/root"}
sections: {skip: [hazelcast, load_balancer]}
"""


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "state"))
    yield
    masking.clear()


def chat_host(java8=False, cm_exists=False):
    files = {"/etc/redhat-release": C7, f"{CM}/bin/ClientMessenger.jar": b"jar",
             f"{CM}/init.d/jtel-clientmessenger": b"#!/bin/sh\n"}
    if cm_exists:
        files["/home/jtel/ClientMessenger/bin/ClientMessenger.jar"] = b"jar"
    t = FakeTransport(HostSpec("chat1", "10.0.0.5", roles=("CHAT",)), files=files)
    t.on(r"^rpm -q", (0, "jdk1.8-1.8.0_202-fcs.x86_64\n") if java8 else (1, "package jdk1.8 is not installed\n"))
    t.on(r"^java -version", (0, 'java version "1.8.0_202"\n') if java8 else (127, "", "java: command not found"))
    t.on(r"^find ", (0, ""))
    t.on(r"^rm -f (\S+)$", lambda call: call.transport.files.pop(call.match[1], None) and 0)
    return t


def build(t, only=("java", "clientmessenger")):
    ans = loads(ANSWERS, "site.yaml")
    return planner.build(ans, {"chat1": t}, only=set(only))


def test_core_imports_without_textual():
    code = ("import sys, pkgutil, importlib, wizard, wizard.steps, wizard.transport\n"
            "for pkg in (wizard, wizard.steps, wizard.transport):\n"
            "    for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "assert 'textual' not in sys.modules, [m for m in sys.modules if m.startswith('textual')]\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_java_missing_plans_yum_install_from_url():
    plan = build(chat_host())
    java = plan.section("java").hosts[0].actions
    assert isinstance(java[0], Command) and java[0].command.startswith("yum -y install https://")
    assert java[0].changes and not java[1].changes


def test_java_present_is_a_visible_noop():
    plan = build(chat_host(java8=True))
    [action] = plan.section("java").hosts[0].actions
    assert isinstance(action, NoOp) and "already installed" in action.description
    assert "= Java 8 already installed" in preview.render(plan)


def test_clientmessenger_copy_never_nests():
    plan = build(chat_host())
    cmds = [a.command for a in plan.section("clientmessenger").hosts[0].actions]
    assert cmds[0] == f"mkdir -p /home/jtel/ClientMessenger && cp -R {CM}/. /home/jtel/ClientMessenger/"
    assert cmds[1] == "chown -R jtel:jtel /home/jtel/ClientMessenger"


def test_clientmessenger_present_is_not_copied_again():
    plan = build(chat_host(java8=True, cm_exists=True))
    actions = plan.section("clientmessenger").hosts[0].actions
    assert all(not a.changes for a in actions)
    assert plan.changing_count == 0
    assert "Nothing to change" in preview.render(plan)


def _runner(plan, t, journal=None, events=None):
    return Runner(plan, {"chat1": t}, emit=(events.append if events is not None else lambda e: None),
                  journals={"chat1": journal} if journal else None)


def _plan(*actions):
    return Plan(sections=[SectionPlan("s", "S", [HostPlan("chat1", list(actions))])])


def test_runner_stops_at_first_failure_and_reports_it():
    t = chat_host()
    t.on(r"^step2", (3, "line a\nline b\n", "boom\n"))
    seen = []
    res = _runner(_plan(Command("one", "step1"), Command("two", "step2"), Command("three", "step3")), t,
                  events=seen).run()
    assert not res.ok and [c.command for c in t.commands] == ["step1", "step2"]
    failed = [e for e in seen if isinstance(e, ev.StepFailed)][0]
    assert failed.exit_code == 3 and failed.display == "step2" and "boom" in failed.tail
    assert isinstance(seen[-1], ev.RunFinished) and seen[-1].failed_hosts == ("chat1",)


def test_file_change_refused_when_file_changed_since_preview():
    t = chat_host()
    t.files["/etc/x.conf"] = b"changed behind our back\n"
    res = _runner(_plan(FileChange("x", "/etc/x.conf", b"new\n", b"old\n")), t).run()
    assert not res.ok and "changed since the preview" in res.failed["chat1"].reason
    assert t.files["/etc/x.conf"] == b"changed behind our back\n"


def test_validation_failure_keeps_live_file():
    t = chat_host()
    t.files["/etc/haproxy/haproxy.cfg"] = b"old\n"
    t.on(r"^haproxy -c", (1, "[ALERT] parsing error\n"))
    fc = FileChange("cfg", "/etc/haproxy/haproxy.cfg", b"bad\n", b"old\n", validate="haproxy -c -f {path}")
    res = _runner(_plan(fc, Command("reload", "service haproxy reload")), t).run()
    assert not res.ok and "parsing error" in res.failed["chat1"].tail
    assert t.files["/etc/haproxy/haproxy.cfg"] == b"old\n"
    assert not t.commands_matching("reload")
    assert not [p for p in t.files if "candidate" in p]


def test_file_write_backs_up_and_reports():
    t = chat_host()
    t.files["/etc/x.conf"] = b"old\n"
    res = _runner(_plan(FileChange("x", "/etc/x.conf", b"new\n", b"old\n", mode=0o640)), t).run()
    assert res.ok and t.files["/etc/x.conf"] == b"new\n"
    [(host, path, backup)] = res.backups
    assert t.files[backup] == b"old\n"


def test_interrupted_run_resumes_from_journal():
    t = chat_host()
    calls = {"n": 0}

    def flaky(call):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransportError("connection reset")
        return 0

    t.on(r"^step2", flaky)
    plan = _plan(Command("one", "step1"), Command("two", "step2"), Command("three", "step3"))
    j = Journal.open("site.yaml", "chat1")
    assert not _runner(plan, t, j).run().ok
    j2 = Journal.open("site.yaml", "chat1")
    assert len(j2.done_ids()) == 1
    res = _runner(plan, t, j2).run()
    assert res.ok and res.skipped_journal == 1
    assert [c.command for c in t.commands] == ["step1", "step2", "step2", "step3"]
    assert Journal.open("site.yaml", "chat1").done_ids() == set()     # complete: next run is fresh


def test_journal_not_trusted_when_written_file_changed():
    t = chat_host()
    t.files["/etc/a"] = b"old\n"
    t.on(r"^fail", 1)
    plan = _plan(FileChange("a", "/etc/a", b"new\n", b"old\n"), Command("f", "fail"))
    j = Journal.open("site.yaml", "chat1")
    assert not _runner(plan, t, j).run().ok
    t.files["/etc/a"] = b"edited by hand\n"
    j2 = Journal.open("site.yaml", "chat1")
    ok, why = j2.still_valid(t)
    assert not ok and "/etc/a" in why


def test_secrets_masked_in_preview_and_events():
    masking.register("s3cr&t pass")
    t = chat_host()
    t.files["/etc/app.conf"] = b"password=old\n"
    # secret-bearing content is built with its shown form (wizard.secret_text): the preview
    # never searches for the secret
    from wizard.secret_text import render
    body = render(lambda v: f"password={v['pw']}\n", pw="s3cr&t pass")
    fc = FileChange("conf", "/etc/app.conf", body.revealed.encode(), b"password=old\n",
                    new_shown=body.shown)
    plan = _plan(fc)
    text = preview.render(plan)
    assert "s3cr&t pass" not in text and "password=********" in text
    seen = []
    _runner(plan, t, events=seen).run()
    assert all("s3cr&t" not in repr(e) for e in seen)
