"""Training scenarios (wizard.training.scenarios): each simulated host differs from the
standard CentOS 7 lab as promised, a whole install through the Session works on each, every
scenario keeps its own state, and the CLI's --scenario."""
from __future__ import annotations

from pathlib import Path

import pytest

from wizard.transport.base import HostSpec
from wizard.training import SimHost, SimTransport, scenarios

SAMPLE = Path(__file__).resolve().parent.parent / "answers" / "training.yaml"
REPO_SCRIPT = scenarios.REPO_SCRIPT
INSTALLED = "/etc/init.d/jtel-clientmessenger"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    from wizard import secrets
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CHATWIZARD_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setattr(secrets, "_backend", None)
    secrets.configure_backend("training")
    SimHost.forget_shared()
    yield tmp_path
    SimHost.forget_shared()
    scenarios.activate(None)
    monkeypatch.setattr(secrets, "_backend", None)


def sh(host: SimHost, command: str) -> tuple[int, str]:
    r = SimTransport(HostSpec("x", "x"), state=host).run(command, sudo=True)
    return r.exit_code, r.stdout + r.stderr


def session(name: str, **kw):
    from wizard.session import Session
    s = Session(training=True, scenario=name, **kw)
    s.load(SAMPLE)
    return s


def apply(s, plan=None):
    plan = plan or s.plan()
    return plan, s.run(plan, emit=lambda e: None)


def test_every_scenario_has_a_description_and_what_to_notice():
    assert {"centos7", "centos6", "windows-repo", "hazelcast-conflict", "failing-step",
            "unknown-host-key"} <= set(scenarios.names())
    for name in scenarios.names():
        text = scenarios.get(name).describe()
        assert "What to notice:" in text and len(text.splitlines()) == 3, name
    from wizard.problems import UsageError
    with pytest.raises(UsageError, match="centos6"):
        scenarios.get("nope")


def test_centos6_host_is_el6_with_iptables_and_sysv_init():
    host, lab = SimHost(scenario="centos6"), SimHost()
    assert host.read("/etc/redhat-release") == b"CentOS release 6.10 (Final)\n"
    assert sh(host, "uname -r")[1].startswith("2.6.32-")
    assert sh(host, "command -v systemctl")[0] != 0 and sh(lab, "command -v systemctl")[0] == 0
    assert sh(host, "firewall-cmd --state")[0] == 127
    assert sh(host, "service iptables status")[0] == 0
    assert sh(host, "service haproxy status")[0] == 0
    assert "unrecognized service" in sh(host, "service nosuch start")[1]
    assert "REJECT" in sh(host, "iptables -S INPUT")[1]
    t = SimTransport(HostSpec("x", "x"), state=host)
    assert t.negotiated["sha1"] and "ssh-rsa" in t.negotiated["sha1"][0]
    assert "CentOS 6" in t.banner and not SimTransport(HostSpec("x", "x"), state=lab).negotiated["sha1"]


def test_centos6_install_uses_iptables_and_chkconfig_and_the_connection_test_says_legacy():
    s = session("centos6")
    line = s.test_connection(s.answers.hosts[0])
    assert "CentOS 6.10" in line and "legacy SSH algorithms (SHA-1)" in line and "ssh-rsa" in line
    plan, result = apply(s)
    assert result.ok, result.failed
    cmds = [a.command for _, _, a in plan.actions() if hasattr(a, "command")]
    assert any(c.startswith("iptables -I INPUT") and "5701:5801" in c for c in cmds)
    assert "service iptables save" in cmds and "service haproxy reload" in cmds
    assert not any("firewall-cmd" in c or "systemctl" in c for c in cmds)
    host = SimHost.shared()
    assert b"5701:5801" in host.read("/etc/sysconfig/iptables")
    assert "3:on" in sh(host, "chkconfig --list jtel-clientmessenger")[1]
    summary = "\n".join(s.scenario_summary())
    assert "legacy SHA-1" in summary and "iptables INPUT accepts 5701:5801, 3000" in summary


def test_windows_repo_crlf_before_lf_after_and_the_share_is_cifs():
    fresh = SimHost(scenario="windows-repo")
    assert b"\r\n" in fresh.read(REPO_SCRIPT) and b"\r\n" not in SimHost().read(REPO_SCRIPT)
    assert " /home/jtel/shared cifs " in fresh.read("/proc/mounts").decode()
    s = session("windows-repo")
    plan, result = apply(s)
    assert result.ok, result.failed
    notes = " ".join(plan.section("daemon").notes)
    assert "CRLF" in notes and "strips the CRs" in notes and "cifs mount" in notes
    host = SimHost.shared()
    assert b"\r" not in host.read(INSTALLED) and b"\r\n" in host.read(REPO_SCRIPT)
    summary = s.scenario_summary()
    assert any("LF line ends" in line for line in summary)


def test_hazelcast_conflict_every_finding_shown_left_alone_then_fixed():
    master = SimHost(scenario="hazelcast-conflict").read("/home/jtel/shared/hazelcast.xml")
    assert b'<ringbuffer name="CHAT">' in master and b"<capacity>100</capacity>" in master
    s = session("hazelcast-conflict")
    plan, result = apply(s)
    assert result.ok, result.failed
    notes = [n for n in plan.section("hazelcast").notes if "ringbuffer[@name='CHAT']" in n]
    assert len(notes) == 5 and all("left as is" in n for n in notes)
    assert b"<capacity>100</capacity>" in SimHost.shared().read("/home/jtel/shared/hazelcast.xml")
    assert sum("finding:" in line for line in s.scenario_summary()) >= 5
    # the same host with fix_conflicts: every value rewritten
    from wizard import answers
    data = s.answers.data
    data.setdefault("hazelcast", {})["fix_conflicts"] = True
    s.use(answers.Answers.from_data(data, str(SAMPLE)))
    plan, result = apply(s)
    assert result.ok and all("rewritten" in n for n in plan.section("hazelcast").notes if "CHAT" in n)
    assert b"<capacity>500</capacity>" in SimHost.shared().read("/home/jtel/shared/hazelcast.xml")


def test_failing_step_fails_once_then_the_retry_succeeds():
    s = session("failing-step")
    plan, result = apply(s)
    assert not result.ok
    failed = s.record.failures
    assert [(sec, step.split()[1]) for sec, _h, step, _r in failed] == [("hazelcast", "updatepl.sh")]
    # Retry, as the run screen does: plan again from the journal, run with the same record
    result = s.run(s.plan(), emit=lambda e: None, record=s.record)
    assert result.ok, result.failed
    assert s.record.attempts == 2
    s.record.outcome = "success"
    summary = "\n".join(s.scenario_summary())
    assert "runs started: 2" in summary and "updatepl.sh was called 2 times, 1 of them failed" in summary


def test_unknown_host_key_refused_nothing_runs_accepted_remembered_reset_forgets():
    from wizard.errors import HostKeyError
    fp = scenarios.get("unknown-host-key").host_key_fingerprint()
    asked = []
    s = session("unknown-host-key", ask_host_key=lambda e: asked.append(e.fingerprint) or False)
    with pytest.raises(HostKeyError) as err:
        s.plan()
    assert err.value.fingerprint == fp and asked == [fp]
    host = SimHost.shared()
    assert host.history == [] and not host.exists("/home/jtel/ClientMessenger")     # nothing ran
    s.ask_host_key = lambda e: asked.append(e.fingerprint) or True
    plan, result = apply(s)
    assert result.ok and len(asked) == 2
    s.close()
    s.plan()                                    # remembered: not asked again
    assert len(asked) == 2
    summary = "\n".join(s.scenario_summary())
    assert f"{fp} refused" in summary and f"{fp} trusted" in summary
    s.reset_training()
    with pytest.raises(HostKeyError):
        session("unknown-host-key").plan()


def test_each_scenario_keeps_its_own_state_and_reset_only_the_current(tmp_path):
    lab = session("centos7")
    apply(lab)
    assert SimHost.shared().exists("/home/jtel/ClientMessenger")
    six = session("centos6")
    assert not SimHost.shared().exists("/home/jtel/ClientMessenger")
    apply(six)
    six.reset_training()
    assert not SimHost.shared().exists("/home/jtel/ClientMessenger")
    state = tmp_path / "state" / "training"
    assert (state / "centos7" / "host.json").exists() and (state / "centos6" / "host.json").exists()
    SimHost.forget_shared()                     # another process: centos7 kept its install
    again = session("centos7")
    assert SimHost.shared().exists("/home/jtel/ClientMessenger")
    assert again.plan().changing_count == 0


def test_a_state_file_of_another_scenario_is_not_taken(tmp_path):
    path = tmp_path / "host.json"
    SimHost(path, scenario="centos6").save()
    assert SimHost.load(path, scenario="centos7").state["el"] == "7"
    assert SimHost.load(path, scenario="centos6").state["el"] == "6"


# -- the command line ------------------------------------------------------------------------------

def test_cli_unknown_scenario_exits_2_listing_the_names(capsys):
    from wizard import cli
    assert cli.main(["--scenario", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and all(name in err for name in scenarios.names())


def test_cli_apply_in_a_scenario_prints_its_summary_and_reports_it(capsys, tmp_path):
    from wizard import cli
    assert cli.main(["apply", str(SAMPLE), "--scenario", "windows-repo", "--yes", "--no-colour"]) == 0
    out = capsys.readouterr().out
    assert "== Training scenario" in out and "Repository on a Windows server" in out
    report = next((tmp_path / "state" / "reports").glob("training.report-*.md")).read_text()
    assert "## Training scenario" in report and "LF line ends" in report


def test_cli_unknown_host_key_refused_unattended_accepted_with_the_flag(capsys):
    from wizard import cli
    fp = scenarios.get("unknown-host-key").host_key_fingerprint()
    assert cli.main(["plan", str(SAMPLE), "--scenario", "unknown-host-key"]) == 4
    assert fp in capsys.readouterr().err
    SimHost.forget_shared()
    assert cli.main(["plan", str(SAMPLE), "--scenario", "unknown-host-key", "--accept-host-key", fp]) == 0
    assert cli.main(["reset-training", "--scenario", "unknown-host-key"]) == 0
    assert "unknown-host-key" in capsys.readouterr().out
