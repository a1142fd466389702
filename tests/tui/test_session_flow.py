"""What a new user does in training (issue 8): stop a run early and press F9, reset the
training host, quit with unsaved edits, run with edits (they are saved first), the
report per run. The app drives the same wizard.session.Session as the CLI."""
from __future__ import annotations

from screens.dialogs import ChoiceDialog

from .conftest import SIZE, goto, make_app, wait_for
from .test_flow import confirm_f9


async def plan_shown(pilot):
    app = pilot.app
    await goto(pilot, "run")
    await wait_for(pilot, lambda: app.screen.plan is not None or "could not" in str(
        app.screen.query_one("#run-summary").render()), timeout=120, what="plan")
    assert app.screen.plan is not None, str(app.screen.query_one("#run-summary").render())


async def full_run(pilot):
    """Plan, F9, F9: the whole training install, to its end."""
    app = pilot.app
    await plan_shown(pilot)
    await confirm_f9(pilot)
    await wait_for(pilot, lambda: app.states["run"] == "done" and not app.screen.running,
                   timeout=180, what="run")


def commands(app) -> list[str]:
    from wizard.training import SimHost
    return [" ".join(c) for c in SimHost.shared().calls()]


async def test_the_app_drives_the_core_session():
    from wizard.session import Session
    app = make_app(training=True)
    assert isinstance(app.session, Session) and app.session.training
    injected = Session(training=True)
    assert make_app(session=injected).session is injected


async def test_stop_early_then_f9_resumes_from_the_journal(tmp_path):
    """ctrl+x after the first step; F9 plans again from the journal: the finished steps are
    not run again (no second yum, no second cp -R), and the plan says it resumes."""
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await plan_shown(pilot)
        screen = app.screen
        stop_after_first = {"n": 0}

        def cancelled_after_one():         # the engineer's ctrl+x, right after the first step
            return screen.counts and sum(screen.counts.values()) >= 1
        original = screen.stop_requested.is_set
        screen.stop_requested.is_set = lambda: original() or bool(cancelled_after_one())
        await confirm_f9(pilot)
        await wait_for(pilot, lambda: not screen.running and app.states["run"] == "stopped",
                       timeout=120, what="stopped")
        assert "Stopped, as asked" in str(screen.query_one("#run-summary").render())
        before = commands(app)
        assert sum(c.startswith("yum ") for c in before) == 1
        screen.stop_requested.is_set = original
        stop_after_first["n"] = 1
        # F9: plans again from the journal, says so, asks, runs the rest
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), timeout=120, what="confirm")
        assert "resuming the apply interrupted" in str(app.screen.query_one("#dialog-text").render())
        await pilot.press("f9")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog) and not screen.running
                       and app.states["run"] == "done", timeout=180, what="resumed run")
        after = commands(app)[len(before):]
        assert not any(c.startswith("yum ") for c in after), after
        assert sum(c.startswith("cp ") for c in commands(app)) <= 1
        assert not screen.failures


async def test_reset_training_then_a_fresh_plan(tmp_path):
    """After a run, Reset the training host: the journal of the old host is gone, so Java
    is planned again (not skipped) and the run does not fail on a missing java."""
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await full_run(pilot)
        app.action_reset_training()
        await wait_for(pilot, lambda: app.screen.plan is not None and app.screen.plan.changing_count > 0,
                       timeout=120, what="fresh plan")
        plan = app.screen.plan
        java = plan.section("java")
        assert java is not None and any(a.changes for hp in java.hosts for a in hp.actions)
        assert not app.screen.resume
        await confirm_f9(pilot)
        await wait_for(pilot, lambda: app.states["run"] in ("done", "failed") and not app.screen.running,
                       timeout=180, what="second run")
        assert app.states["run"] == "done", str(app.screen.query_one("#failure-text").render())


async def test_quit_with_unsaved_changes_asks(tmp_path):
    from .test_app import write_site
    site = write_site(tmp_path)
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        app.screen.query_one("#max-parallel-chats").value = "5"
        await pilot.pause()
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="question")
        assert "not saved" in str(app.screen.query_one("#dialog-text").render())
        await pilot.click("#choice-cancel")
        await pilot.pause()
        assert app.is_running and app.screen.PAGE == "agents"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="question again")
        await pilot.click("#choice-save")
        await pilot.pause()
    import yaml
    assert yaml.safe_load(site.read_text())["agents"]["max_parallel_chats"] == 5


async def test_quit_without_changes_does_not_ask(tmp_path):
    from .test_app import write_site
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceDialog)


async def test_a_run_saves_the_answers_first_and_each_run_has_its_own_report(tmp_path):
    """Edits are saved before anything runs, so the report and the file agree; a second
    run writes a second report instead of overwriting the first."""
    import shutil
    import yaml
    from screens.model import TRAINING_SAMPLE
    site = tmp_path / "training-site.yaml"
    shutil.copy(TRAINING_SAMPLE, site)
    clock = iter(range(0, 10_000, 100))
    app = make_app(training=True, answers=site, clock=lambda: float(next(clock)))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        app.screen.query_one("#max-parallel-chats").value = "7"
        await pilot.pause()
        await plan_shown(pilot)
        await confirm_f9(pilot)
        assert yaml.safe_load(site.read_text())["agents"]["max_parallel_chats"] == 7   # saved first
        await wait_for(pilot, lambda: app.states["run"] == "done" and not app.screen.running,
                       timeout=180, what="run")
        await confirm_f9(pilot)                       # a replay: nothing to change
        await wait_for(pilot, lambda: len(list(tmp_path.glob("training-site.report-*.md"))) == 2,
                       timeout=120, what="second report")
    reports = sorted(tmp_path.glob("training-site.report-*.md"))
    assert len(reports) == 2 and reports[0].read_text() != reports[1].read_text()


async def test_verify_from_the_palette_after_a_run(tmp_path):
    """Section 11 from the TUI: the checks in a dialog that stays, and a report with the
    Verify table. On the training host nothing answers WebSockets: those checks fail and
    say why, the daemon checks run through the simulated shell."""
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await full_run(pilot)
        reports_before = set((tmp_path / "state").rglob("*.report-*.md"))
        app.action_verify()
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), timeout=120, what="verify")
        text = str(app.screen.query_one("#dialog-text").render())
        title = str(app.screen.query_one("#dialog-title").render())
        assert "11. Verify:" in title and "checks passed" in title
        assert "daemon" in text
        await pilot.press("enter")
        await pilot.pause()
    new = set((tmp_path / "state").rglob("*.report-*.md")) - reports_before
    assert len(new) == 1
    report = new.pop().read_text()
    assert "## Verify (section 11)" in report and "verify:" in report
