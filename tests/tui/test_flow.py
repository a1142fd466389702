"""Whole installs through the TUI, as an engineer clicks through them:
training mode (the simulated CentOS 7 host) and real SSH test hosts (CentOS 6 with sudo,
CentOS 7 as root): hosts → detection → preview → run → report, then save, reopen
prefilled and replay."""
from __future__ import annotations

import pytest
import yaml

from screens.widgets.logview import LogView

from .conftest import SIZE, goto, make_app, wait_for


def text_of(renderable) -> str:
    from rich.console import Console
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def confirm_f9(pilot, timeout=120.0):
    """F9 saves the answers, plans again when needed and asks once; F9 again runs."""
    from screens.dialogs import ChoiceDialog
    app = pilot.app
    await pilot.press("f9")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog) or app.screen.running
                   or app.states["run"] in ("done",), timeout=timeout, what="confirmation")
    if isinstance(app.screen, ChoiceDialog):
        await pilot.press("f9")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="dialog closed")


async def run_to_the_end(pilot, timeout=120.0):
    app = pilot.app
    await goto(pilot, "run")
    await wait_for(pilot, lambda: app.screen.plan is not None or "could not" in str(
        app.screen.query_one("#run-summary").render()), timeout=timeout, what="plan")
    assert app.screen.plan is not None, str(app.screen.query_one("#run-summary").render())
    await confirm_f9(pilot, timeout)
    await wait_for(pilot, lambda: app.states["run"] in ("done", "failed") and not app.screen.running,
                   timeout=timeout, what="run end")
    failure = str(app.screen.query_one("#failure-text").render()) if app.screen.failures else ""
    return failure


async def test_training_flow_hosts_detect_preview_run_report_replay(tmp_path):
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # hosts: the simulated host answers the connection test
        app.screen.query_one("#host-table").focus()
        await pilot.press("t")
        result = app.screen.query_one("#test-result")
        await wait_for(pilot, lambda: str(result.render())[:1] in "✓✗" and str(result.render()), what="test")
        assert str(result.render()).startswith("✓ sim: connected as root"), str(result.render())
        assert "CentOS 7.9.2009" in str(result.render())

        # detection: OS, portal version and where it came from; correct the version
        await goto(pilot, "detection")
        await wait_for(pilot, lambda: app.facts is not None, what="detection")
        row = app.screen.query_one("#facts-table").get_row("sim")
        assert row[2] == "CentOS 7.9.2009" and row[4] == "3.26.0"
        assert "MANIFEST.MF" in str(app.screen.query_one("#portal-source").render())
        app.screen.query_one("#portal-version").value = "3.24"
        await goto(pilot, "java")
        assert app.data["portal"]["version"] == "3.24"

        # preview of a section
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.states["java"] == "previewed", what="java preview")
        preview = text_of(app.screen.query_one("#plan-body").content)
        assert "$ yum -y install https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm" in preview
        await goto(pilot, "daemon")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.states["daemon"] == "previewed", what="daemon preview")
        preview = text_of(app.screen.query_one("#plan-body").content)
        assert "+++ b/etc/init.d/jtel-clientmessenger" in preview
        line = next(l for l in preview.splitlines() if "clientmessenger.connection=" in l)
        assert "password=********" in line
        assert "serverTimezone" not in line          # the corrected version (3.24) is used
        from wizard.secrets import TRAINING_SECRET
        assert TRAINING_SECRET not in preview

        # run everything, then the report
        failure = await run_to_the_end(pilot)
        assert failure == "", failure
        assert app.states["run"] == "done"
        assert all(app.states[s.name] == "done" for s in app.screen.plan.sections)
        log = app.screen.query_one("#log-sim", LogView)
        assert any("yum -y install" in line for line in log.lines)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.PAGE == "report", what="report")

        # save the answers (secrets stay references), for the replay
        app.action_save_as()
        await pilot.pause()
        app.screen.query_one("#path").value = str(tmp_path / "training-site.yaml")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "training-site.yaml").exists(), what="saved")

    report = next((tmp_path / "state").rglob("*.report-*.md")).read_text()
    assert "**TRAINING**" in report and "outcome: **success**" in report
    assert "## Portal settings checklist" in report and "ACD.Chat.Server.Base.URL" in report
    saved = yaml.safe_load((tmp_path / "training-site.yaml").read_text())
    assert saved["portal"]["version"] == "3.24"
    assert saved["daemon"]["db_password"].startswith("keyring:")

    # replay: reopen prefilled; the simulated host keeps its state, so nothing changes
    again = make_app(training=True, answers=tmp_path / "training-site.yaml")
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.screen.query_one("#host-address").value == "training.invalid"
        await goto(pilot, "run")
        await wait_for(pilot, lambda: again.screen.plan is not None, what="replay plan")
        assert again.screen.plan.changing_count == 0
        assert "Nothing to change" in str(again.screen.query_one("#run-summary").render())
    assert not list(tmp_path.glob("training-site.report-*.md"))      # nothing ran yet


# -- real SSH ---------------------------------------------------------------------------------

SKIP = ["hazelcast", "daemon", "update_script", "firewall", "load_balancer"]


def site_for(th, user: str) -> dict:
    host = {"address": th.host, "port": th.port, "user": user, "key_file": th.key_path, "roles": ["CHAT"]}
    if user != "root":
        host["become"] = "sudo"
    return {"version": 1, "inventory": {"hosts": {"chat1": host}},
            "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
            "sections": {"skip": SKIP}}


async def trust_host_key(pilot, fingerprints: list):
    """Answer the host key prompt: it shows the SHA256 fingerprint."""
    app = pilot.app
    await wait_for(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", timeout=30, what="host key")
    fp = str(app.screen.query_one("#fingerprint").render())
    assert fp.startswith("SHA256:") and len(fp) == 50
    fingerprints.append(fp)
    await pilot.press("y")


@pytest.mark.needs_root
@pytest.mark.parametrize("flavor,user", [("centos7", "root"), ("centos6", "tester")])
async def test_real_ssh_install_sections_1_2_then_reopen_and_replay(host_factory, tmp_path, flavor, user):
    from wizard import masking

    th = host_factory(flavor)
    password = "Sud0 p&ss'\"$\\%#+"
    if user != "root":
        rc, out, err = th.run("chpasswd", stdin=f"tester:{password}\n")
        assert rc == 0, err
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(site_for(th, user)))
    fingerprints: list[str] = []

    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        if user != "root":                       # typed once, into the keyring
            app.screen.query_one("#host-password").value = password
            await pilot.pause()
        app.screen.query_one("#host-table").focus()
        await pilot.press("t")
        await trust_host_key(pilot, fingerprints)
        result = app.screen.query_one("#test-result")
        await wait_for(pilot, lambda: str(result.render())[:1] in "✓✗", timeout=30, what="connection test")
        how = "as root;" if user == "root" else f"as {user}, root through sudo;"
        assert str(result.render()).startswith(f"✓ chat1: connected {how}"), str(result.render())

        await goto(pilot, "detection")
        await wait_for(pilot, lambda: app.facts is not None or app.states["detection"] == "failed",
                       timeout=60, what="detection")
        assert app.facts is not None, str(app.screen.query_one("#detect-status").render())
        assert app.facts["chat1"].os.major == (6 if flavor == "centos6" else 7)

        await goto(pilot, "clientmessenger")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.states["clientmessenger"] == "previewed", timeout=60, what="preview")

        failure = await run_to_the_end(pilot)
        assert failure == "", failure
        assert app.states["java"] == app.states["clientmessenger"] == "done"
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert th.calls("yum"), "java was not installed"
    assert th.exists("/home/jtel/ClientMessenger")
    assert not th.exists("/home/jtel/ClientMessenger/ClientMessenger")
    report = next(tmp_path.glob("site.report-*.md")).read_text()
    assert "outcome: **success**" in report
    assert "| chat1 | Install Java 8 from https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm | done |" in report
    text = site.read_text()
    assert password not in text
    if user != "root":
        assert yaml.safe_load(text)["inventory"]["hosts"]["chat1"]["password"] == "keyring:ssh/chat1"
    for f in (tmp_path / "log").rglob("*"):
        if f.is_file():
            assert password.encode() not in f.read_bytes(), f

    # reopen prefilled and replay: nothing left to change
    yum_calls = len(th.calls("yum"))
    again = make_app(answers=site)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.screen.query_one("#host-address").value == th.host
        if user != "root":
            masking.register(password)
            again.session.store_secret("ssh/chat1", password)     # the keyring of this test is in memory
        await goto(pilot, "run")
        await wait_for(pilot, lambda: again.screen.plan is not None or "could not" in str(
            again.screen.query_one("#run-summary").render()), timeout=60, what="replay plan")
        assert again.screen.plan is not None, str(again.screen.query_one("#run-summary").render())
        assert again.screen.plan.changing_count == 0
    assert len(th.calls("yum")) == yum_calls
