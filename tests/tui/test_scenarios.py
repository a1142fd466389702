"""Training scenarios through the TUI: pick one (the first screen of `chatwizard --training`,
the palette, the hosts page), see what to notice, go through, confirm with F9, run, and
read the scenario's summary on the run screen and in the report."""
from __future__ import annotations

import pytest

from screens.dialogs import ChoiceDialog, HostKeyDialog
from screens.scenarios import ScenarioPicker

from .conftest import SIZE, goto, make_app, wait_for
from .test_flow import confirm_f9, text_of
from .test_session_flow import full_run, plan_shown


def rendered(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def pick(pilot, name: str):
    """The picker (from the palette's action), moved to `name`, chosen with Enter."""
    from wizard.training import scenarios
    app = pilot.app
    if not isinstance(app.screen, ScenarioPicker):
        app.action_choose_scenario()
        await wait_for(pilot, lambda: isinstance(app.screen, ScenarioPicker), what="picker")
    app.screen.query_one("#scenario-list").highlighted = scenarios.names().index(name)
    await pilot.pause()
    shown = rendered(app, "#scenario-text")
    assert "What to notice:" in shown and scenarios.get(name).notice.split()[0] in shown
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.session.scenario == name and getattr(app.screen, "PAGE", "") == "hosts"
                   and app.screen.query("#scenario-info-text"), what=f"scenario {name}")
    info = rendered(app, "#scenario-info-text")
    assert scenarios.get(name).title in info and "What to notice:" in info


def summary_of(app) -> str:
    assert app.screen.query_one("#scenario-summary").display
    return rendered(app, "#scenario-summary-text")


def report_of(app) -> str:
    assert app.report_text is not None
    assert "## Training scenario" in app.report_text
    return app.report_text


async def test_the_picker_is_the_first_screen_and_escape_keeps_the_lab():
    app = make_app(training=True, pick_scenario=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ScenarioPicker), what="picker first")
        assert "CentOS 7" in rendered(app, "#scenario-text")
        await pilot.press("escape")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", "") == "hosts", what="hosts")
        assert app.session.scenario == "centos7"
        assert "CentOS 7 (the standard lab)" in rendered(app, "#scenario-info-text")


async def test_the_palette_offers_the_scenario_picker():
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Training scenario…" in titles
        await pilot.click("#scenario-choose")             # the button on the hosts page too
        await wait_for(pilot, lambda: isinstance(app.screen, ScenarioPicker), what="picker")


@pytest.mark.parametrize("name", ["centos7", "centos6", "windows-repo", "hazelcast-conflict"])
async def test_scenario_end_to_end(name):
    app = make_app(training=True, pick_scenario=True)
    async with app.run_test(size=SIZE) as pilot:
        await pick(pilot, name)
        if name != "centos7":
            assert name in app.sub_title
        if name == "centos6":           # the connection page names the legacy algorithms
            app.screen.query_one("#host-table").focus()
            await pilot.press("t")
            await wait_for(pilot, lambda: rendered(app, "#test-result")[:1] in "✓✗"
                           and rendered(app, "#test-result"), what="test")
            result = rendered(app, "#test-result")
            assert "CentOS 6.10" in result and "legacy SSH algorithms (SHA-1)" in result
        await plan_shown(pilot)
        plan = " ".join(text_of(app.screen.query_one("#plan-view #plan-body").content).split())
        if name == "centos6":
            assert "service iptables save" in plan and "firewall-cmd" not in plan
        if name == "windows-repo":      # the CRLF repair and the CIFS share in the preview
            assert "CRLF" in plan and "CR line endings stripped" in plan and "cifs mount" in plan
        if name == "hazelcast-conflict":
            assert plan.count("left as is") >= 5
        await confirm_f9(pilot)
        await wait_for(pilot, lambda: app.states["run"] == "done" and not app.screen.running,
                       timeout=180, what="run")
        summary = summary_of(app)
        assert "Training summary:" in summary and f"({name})" in summary and "outcome: success" in summary
        if name == "centos6":
            assert "legacy SHA-1" in summary and "iptables INPUT accepts" in summary
        if name == "windows-repo":
            assert "LF line ends" in summary
        if name == "hazelcast-conflict":
            assert summary.count("finding:") >= 5
        assert f"({name})" in report_of(app)


async def failed_once(pilot):
    app = pilot.app
    await pick(pilot, "failing-step")
    await plan_shown(pilot)
    await confirm_f9(pilot)
    await wait_for(pilot, lambda: not app.screen.running and app.states["run"] == "failed",
                   timeout=180, what="the failure")
    failure = rendered(app, "#failure-text")
    assert "updatepl.sh" in failure and "another update is running" in failure


async def after(pilot, key: str, state: str = "done"):
    app = pilot.app
    await pilot.press(key)
    if key != "a":
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), timeout=120, what="confirm")
        await pilot.press("f9")
    await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog) and not app.screen.running
                   and app.screen.query_one("#scenario-summary").display, timeout=180, what=f"after {key}")
    assert app.states["run"] == state, rendered(app, "#run-summary")
    return summary_of(app)


async def test_failing_step_retry_succeeds():
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await failed_once(pilot)
        summary = await after(pilot, "r")
        assert "failed: sim: Run updatepl.sh" in summary and "runs started: 2" in summary
        assert "updatepl.sh was called 2 times, 1 of them failed" in summary
        assert "outcome: success" in summary and "runs started: 2" in report_of(app)


async def test_failing_step_skip_is_recorded():
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await failed_once(pilot)
        summary = await after(pilot, "s")
        assert "skipped by you: Run updatepl.sh" in summary
        assert "updatepl.sh was called 1 time, 1 of them failed" in summary


async def test_failing_step_abort_is_recorded():
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await failed_once(pilot)
        summary = await after(pilot, "a", state="failed")
        assert "outcome: aborted after a failure" in summary and "runs started: 1" in summary


async def test_unknown_host_key_refused_then_accepted():
    from wizard.training import SimHost, scenarios
    fp = scenarios.get("unknown-host-key").host_key_fingerprint()
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await pick(pilot, "unknown-host-key")
        app.goto("run")                                     # the plan connects: the key is asked
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog), timeout=60, what="host key")
        assert rendered(app, "#fingerprint") == fp
        await pilot.press("n")                              # refuse: nothing connects or runs
        await wait_for(pilot, lambda: "could not be built" in rendered(app, "#run-summary"), what="refused")
        assert "unknown host key" in rendered(app, "#run-summary")
        assert SimHost.shared().history == [] and app.screen.plan is None
        await pilot.press("f5")                             # plan again: asked again
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog), timeout=60, what="asked again")
        await pilot.press("y")
        await wait_for(pilot, lambda: getattr(app.screen, "plan", None) is not None, timeout=120, what="plan")
        await confirm_f9(pilot)
        await wait_for(pilot, lambda: app.states["run"] == "done" and not app.screen.running,
                       timeout=180, what="run")
        summary = summary_of(app)
        assert f"{fp} refused" in summary and f"{fp} trusted" in summary


async def test_switching_scenarios_does_not_mix_their_hosts():
    from wizard.training import SimHost
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await full_run(pilot)
        assert SimHost.shared().exists("/home/jtel/ClientMessenger")
        await goto(pilot, "hosts")
        await pick(pilot, "centos6")
        assert not SimHost.shared().exists("/home/jtel/ClientMessenger")
        assert "scenario centos6" in str(app.screen.query_one("TrainingBanner").render())
        await plan_shown(pilot)
        assert app.screen.plan.changing_count > 0 and not app.screen.resume
