"""The run screen against an in-process fake host: live log, progress per section, and
Retry / Skip / Abort after a failure; the install report at the end."""
from __future__ import annotations

import threading

from textual.widgets import ProgressBar

from wizard.plan import Checklist, Command, FileChange, HostPlan, NoOp, Plan, SectionPlan
from wizard.transport.base import HostSpec
from wizard.transport.fake import FakeTransport

from screens.widgets.logview import LogView

from .conftest import SIZE, goto, make_app, wait_for
from .test_app import write_site


def fake_plan() -> Plan:
    return Plan([
        SectionPlan("java", "1. Java 8", [HostPlan("chat1", [
            Command("Install Java 8", "yum -y install jdk-8u202-linux-x64.rpm"),
            Command("Check that Java 8 runs", "java -version", changes=False, sudo=False)])]),
        SectionPlan("clientmessenger", "2. ClientMessenger", [HostPlan("chat1", [
            Command("Copy ClientMessenger", "cp -R /src/. /home/jtel/ClientMessenger/"),
            FileChange("Write the marker", "/etc/chat.conf", b"new\n", b"old\n")])]),
        SectionPlan("portal_settings", "8. Chat parameters (portal UI)", [HostPlan("portal (web UI)", [
            Checklist("Set these parameters as sysadmin", (("ACD.Chat.Server.Base.URL", "wss://jtel-portal:3003"),))])]),
        SectionPlan("agents", "9. Agents (portal UI)", [HostPlan("chat1", [NoOp("nothing to do here")])]),
    ])


def with_fake_host(app, yum):
    fake = FakeTransport(HostSpec("chat1", "10.0.0.21", roles=("CHAT",)),
                         files={"/etc/chat.conf": b"old\n", "/src/x": b"x"},
                         handlers={r"^yum ": yum, r"^java -version": (0, "", 'java version "1.8.0_202"\n')})
    app.session.transports = {"chat1": fake}
    app.session.connect = lambda hosts=None: app.session.transports
    app.session.close = lambda: None
    app.session.plan = lambda only=None, portal=None: fake_plan()
    app.session.fingerprint_differences = lambda: []
    return fake


def failing(times: int):
    calls = []

    def yum(call):
        calls.append(call.command)
        if len(calls) <= times:
            return 1, "Loaded plugins: fastestmirror\n", "Error: Cannot retrieve repository metadata\n"
        return 0, "Installed:\n  jdk1.8.x86_64 2000:1.8.0_202-fcs\nComplete!\n"
    return yum, calls


async def start_run(pilot):
    app = pilot.app
    await goto(pilot, "run")
    await wait_for(pilot, lambda: app.screen.plan is not None, what="plan")
    assert "3 changing actions in 4 sections on 1 host." in str(app.screen.query_one("#run-summary").render())
    await confirm_run(pilot)
    await wait_for(pilot, lambda: not app.screen.running, what="run end")


async def press_f9_in_dialog(pilot):
    from screens.dialogs import ChoiceDialog
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="confirmation")
    await pilot.press("f9")
    await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="dialog closed")


async def confirm_run(pilot):
    """F9 asks once (changes x hosts, like the CLI); F9 again runs."""
    from screens.dialogs import ChoiceDialog
    app = pilot.app
    await pilot.press("f9")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="confirmation")
    assert "Apply 3 changes on 1 host (chat1)?" in str(app.screen.query_one("#dialog-text").render())
    await pilot.press("f9")
    await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="run start")


async def test_a_successful_run_logs_per_host_fills_the_bars_and_writes_the_report(tmp_path):
    yum, calls = failing(0)
    site = write_site(tmp_path)
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        with_fake_host(app, yum)
        await start_run(pilot)
        screen = app.screen
        assert app.states["java"] == app.states["clientmessenger"] == "done"
        assert app.states["run"] == "done" and app.states["report"] == "done"
        bars = {b.id: (b.progress, b.total) for b in screen.query(ProgressBar)}
        assert bars == {"bar-java": (2, 2), "bar-clientmessenger": (2, 2)}
        log = screen.query_one("#log-chat1", LogView)
        text = "\n".join(log.lines)
        assert "$ yum -y install jdk-8u202-linux-x64.rpm" in text and "  | Complete!" in text
        assert "wrote /etc/chat.conf (backup " in text
        assert log.path.read_text().count("Complete!") == 1           # the full log on disk
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.PAGE == "report", what="report page")
    report = next(tmp_path.glob("site.report-*.md")).read_text()
    assert "outcome: **success**" in report
    assert "| chat1 | Install Java 8 | done |" in report
    assert "- [ ] `ACD.Chat.Server.Base.URL` = `wss://jtel-portal:3003`" in report
    assert "chat1: `/etc/chat.conf` → `/var/lib/chatwizard/backups/" in report
    assert "finished: 1970-01-01 00:00:00 UTC" in report


async def test_a_failure_shows_command_exit_code_and_output_then_retry(tmp_path):
    yum, calls = failing(1)
    app = make_app(answers=write_site(tmp_path))
    seen = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        with_fake_host(app, yum)
        await start_run(pilot)
        screen = app.screen
        assert screen.query_one("#failure").display
        text = str(screen.query_one("#failure-text").render())
        assert "command:   yum -y install jdk-8u202-linux-x64.rpm" in text
        assert "exit code: 1" in text
        assert "Error: Cannot retrieve repository metadata" in text
        assert app.states["java"] == "failed" and app.states["clientmessenger"] != "done"
        assert len({id(m) for m in seen if type(m).__name__ == "StepFailed"}) == 1   # it bubbles: one message
        await pilot.press("r")                  # plans again from the journal, asks again
        await press_f9_in_dialog(pilot)
        await wait_for(pilot, lambda: not screen.running and app.states["run"] == "done", what="retry")
        assert len(calls) == 2
        assert app.states["java"] == "done" and app.states["clientmessenger"] == "done"
        assert not screen.query_one("#failure").display
    names = {type(m).__name__ for m in seen}
    assert {"SectionStarted", "StepStarted", "StepFinished", "FileWritten", "RunFinished"} <= names


async def test_skip_the_failed_step_and_go_on(tmp_path):
    yum, calls = failing(99)
    site = write_site(tmp_path)
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        fake = with_fake_host(app, yum)
        await start_run(pilot)
        await pilot.press("s")
        await press_f9_in_dialog(pilot)
        await wait_for(pilot, lambda: not app.screen.running and app.states["run"] == "done", what="skip")
        assert len(calls) == 1
        assert fake.files["/etc/chat.conf"] == b"new\n"
    report = next(tmp_path.glob("site.report-*.md")).read_text()
    assert "| chat1 | skipped by the engineer after it failed: Install Java 8 | skipped by the engineer |" in report


async def test_abort_after_a_failure_writes_the_report(tmp_path):
    yum, calls = failing(99)
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        fake = with_fake_host(app, yum)
        await start_run(pilot)
        await pilot.click("#abort")
        await pilot.pause()
        assert fake.files["/etc/chat.conf"] == b"old\n"
        assert app.states["java"] == "failed"
    report = next(tmp_path.glob("site.report-*.md")).read_text()
    assert "outcome: **aborted after a failure**" in report
    assert "| chat1 | Install Java 8 | FAILED: exit code 1 (exit code 1) |" in report
    assert "| chat1 | Copy ClientMessenger | not run |" in report


async def test_stop_ends_the_run_between_steps(tmp_path):
    gate = threading.Event()

    def yum(call):
        gate.wait(10)
        return 0, "Complete!\n"
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        fake = with_fake_host(app, yum)
        await goto(pilot, "run")
        await wait_for(pilot, lambda: app.screen.plan is not None, what="plan")
        await confirm_run(pilot)
        await wait_for(pilot, lambda: app.screen.running, what="running")
        await pilot.press("ctrl+x")
        gate.set()
        await wait_for(pilot, lambda: not app.screen.running, what="stopped")
        assert "Stopped" in str(app.screen.query_one("#run-summary").render())
        assert not fake.commands_matching(r"^cp ")
        assert app.states["java"] == "previewed" and app.states["clientmessenger"] == "previewed"


async def test_a_plan_that_cannot_be_built_is_explained(tmp_path):
    from wizard.errors import PlanError

    app = make_app(answers=write_site(tmp_path))

    def broken(only=None, portal=None):
        raise PlanError("host chat1: clientmessenger.source /x is not a folder there")
    app.session.plan = broken
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "run")
        summary = app.screen.query_one("#run-summary")
        await wait_for(pilot, lambda: "could not be built" in str(summary.render()), what="error")
        assert "clientmessenger.source /x is not a folder" in str(summary.render())
        await pilot.press("f9")                  # nothing to run: no crash, nothing happens
        await pilot.pause()
        assert not app.screen.running


async def test_the_run_page_stays_while_a_run_is_in_progress(tmp_path):
    gate = threading.Event()

    def yum(call):
        gate.wait(10)
        return 0, "Complete!\n"
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        with_fake_host(app, yum)
        await goto(pilot, "run")
        await wait_for(pilot, lambda: app.screen.plan is not None, what="plan")
        await confirm_run(pilot)
        await wait_for(pilot, lambda: app.screen.running, what="running")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.PAGE == "run"
        gate.set()
        await wait_for(pilot, lambda: app.states["run"] == "done", what="done")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.PAGE == "report", what="report")
