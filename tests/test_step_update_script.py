"""Section 5 (updatesc.sh): unit tests on the in-process fake host, then end to end over SSH."""
from __future__ import annotations

import subprocess

import pytest

from wizard import masking
from wizard.facts import HostFacts, OSInfo, PortalVersion
from wizard.initscript import render_updatesc
from wizard.plan import FileChange, NoOp
from wizard.steps import Context, update_script

from test_step_daemon import CM_SOURCE, CM_TARGET, FakeHost, answers_for, runner_apply

PATH = "/usr/local/bin/updatesc.sh"


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


def plan_once(fake, answers=None):
    ans = answers or answers_for()
    facts = {"chat1": HostFacts("chat1", OSInfo("CentOS", 6, "6.10", "/etc/redhat-release"))}
    ctx = Context(ans, {"chat1": fake}, facts, PortalVersion("3.26", "test"))
    return update_script.plan(ctx, ans.host("chat1"))


def test_fresh_host_gets_the_script():
    actions = plan_once(FakeHost())
    assert len(actions) == 1 and isinstance(actions[0], FileChange)
    fc = actions[0]
    assert (fc.path, fc.mode, fc.owner, fc.group, fc.old) == (PATH, 0o755, "root", "root", None)
    body = fc.new.decode()
    assert body == render_updatesc("jtel-clientmessenger", CM_SOURCE, CM_TARGET, "jtel:jtel")
    # the French page's body, not the English page's garbled chown
    assert "chown -R \"$OWNER\" \"$TARGET\"" in body and "OWNER=jtel:jtel" in body
    assert "jtelcp" not in body and " -r\n" not in body
    order = [body.index(s) for s in ('service "$SERVICE" stop', 'cp "$SRC"/bin/*',
                                     'cp -r "$SRC"/public', "chown -R", 'service "$SERVICE" start')]
    assert order == sorted(order)


def test_rendered_script_is_valid_bash():
    fc = plan_once(FakeHost())[0]
    p = subprocess.run(["bash", "-n"], input=fc.new, capture_output=True)
    assert p.returncode == 0, p.stderr


def test_identical_script_is_a_noop_and_apply_is_idempotent():
    fake = FakeHost()
    runner_apply("update_script", {"chat1": fake}, plan_once(fake))
    assert fake.modes[PATH] == 0o755 and fake.owners[PATH] == ("root", "root")
    again = plan_once(fake)
    assert len(again) == 1 and isinstance(again[0], NoOp) and not again[0].changes


def test_wrong_mode_is_repaired():
    fake = FakeHost()
    runner_apply("update_script", {"chat1": fake}, plan_once(fake))
    fake.modes[PATH] = 0o644
    actions = plan_once(fake)
    assert isinstance(actions[0], FileChange) and actions[0].mode == 0o755
    assert actions[0].diff() == ""          # content is the same: only the mode changes


def test_old_hand_made_script_shows_a_diff():
    fake = FakeHost()
    fake.files[PATH] = b"#!/bin/bash\nservice jtel-clientmessenger stop\nchown jtel:jtelcp /home/jtel/ClientMessenger -r\n"
    fake.modes[PATH], fake.owners[PATH] = 0o755, ("root", "root")
    fc = plan_once(fake)[0]
    assert "-chown jtel:jtelcp /home/jtel/ClientMessenger -r" in fc.diff()


def test_answers_drive_service_paths_and_owner():
    ans = answers_for(service="cm-test")
    ans = ans.with_changes(clientmessenger={"source": "/mnt/repo/CM", "target": "/opt/cm",
                                            "owner": "chat", "group": "staff"},
                           update_script={"path": "/usr/local/sbin/updatesc.sh"})
    fc = plan_once(FakeHost(), ans)[0]
    body = fc.new.decode()
    assert fc.path == "/usr/local/sbin/updatesc.sh"
    for line in ("SERVICE=cm-test", "SRC=/mnt/repo/CM", "TARGET=/opt/cm", "OWNER=chat:staff"):
        assert line in body.splitlines()


# ------------------------------------------------------------------ end to end (real SSH)

@pytest.mark.parametrize("flavor", ["centos6", "centos7"])
def test_e2e_updatesc_installed_and_it_works(host_factory, tmp_path, monkeypatch, flavor):
    """Sections 2, 4 and 5 on a fresh host; then updatesc.sh itself, run on the host, stops
    the daemon, brings a new jar from the repository, gives it to jtel and starts again."""
    from test_step_daemon import (HOST_CONFIG, PASSWORD, SVC, e2e_answers, e2e_apply,
                                  e2e_connect, e2e_plan, use_keyring)
    chat = host_factory(flavor, java8=True, config=HOST_CONFIG)
    use_keyring(tmp_path, monkeypatch, {"db/root": PASSWORD})
    answers = e2e_answers(chat)
    transports = e2e_connect(answers, {"chat1": chat}, tmp_path)
    try:
        plan = e2e_plan(answers, transports)
        fc = plan.section("update_script").for_host("chat1").actions[0]
        assert isinstance(fc, FileChange) and fc.path == PATH
        e2e_apply(plan, transports)
        assert chat.read(PATH) == render_updatesc(SVC, CM_SOURCE, CM_TARGET, "jtel:jtel")
        st = chat.stat(PATH)
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o755, 0, 0)
        again = e2e_plan(answers, transports).section("update_script").for_host("chat1").actions
        assert len(again) == 1 and isinstance(again[0], NoOp)

        chat.write(CM_SOURCE + "/bin/extra-1.0.jar", b"PK\x05\x06" + b"\0" * 18, owner="root")
        n = len(chat.calls("service"))
        rc, out, err = chat.run(PATH)
        assert rc == 0, out + err
        assert [c["argv"] for c in chat.calls("service")[n:]] == [[SVC, "stop"], [SVC, "start"]]
        st = chat.stat(CM_TARGET + "/bin/extra-1.0.jar")
        assert (st.st_uid, st.st_gid) == (1000, 1000)          # jtel:jtel
        assert chat.shim_state()["services"][SVC]["running"] is True
    finally:
        for t in transports.values():
            t.close()
