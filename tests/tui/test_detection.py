"""The detection screen against the simulated host: facts, where the version came from,
and corrections (portal version into the answers, Windows-hosted repositories into the plan)."""
from __future__ import annotations

from .conftest import SIZE, goto, make_app, wait_for


async def detected(pilot):
    await goto(pilot, "detection")
    await wait_for(pilot, lambda: pilot.app.facts is not None, what="detection")


async def test_detection_shows_each_host_and_marks_the_pages(tmp_path):
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await detected(pilot)
        table = app.screen.query_one("#facts-table")
        assert table.row_count == 1
        assert table.get_row("sim") == ["sim", "CHAT,DATA,TEL,WEB,LB", "CentOS 7.9.2009", "no", "3.26.0", "no"]
        detail = str(app.screen.query_one("#facts-detail").render())
        assert "OS: CentOS 7.9.2009 (from /etc/redhat-release)" in detail
        assert "portal version: 3.26.0 (from sim:/home/jtel/shared/JTELCarrierPortal/WebServer/META-INF/MANIFEST.MF)" in detail
        assert app.states["detection"] == "done" and app.states["hosts"] == "done"


async def test_a_wrong_portal_version_is_corrected_into_the_answers(tmp_path):
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await detected(pilot)
        field = app.screen.query_one("#portal-version")
        field.value = "3.2x"
        await pilot.pause()
        error = str(app.screen.query_one("#portal-version-error").render())
        assert "'3.2x' is not a portal release" in error           # the loader's own words
        await goto(pilot, "java")
        assert app.data["portal"].get("version") == "3.2x"         # kept as typed, and flagged
        assert "portal" in app.problem_pages()
        await goto(pilot, "detection")
        app.screen.query_one("#portal-version").value = "3.24"
        await pilot.press("f5")                                   # detect again: the answer wins
        await wait_for(pilot, lambda: "answers" in str(app.screen.query_one("#portal-source").render()),
                       what="portal source")
        assert "in use: 3.24" in str(app.screen.query_one("#portal-source").render())
        assert app.data["portal"]["version"] == "3.24"


async def test_detection_failure_is_explained(tmp_path):
    app = make_app(answers=tmp_path / "empty.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "detection")
        status = app.screen.query_one("#detect-status")
        await wait_for(pilot, lambda: str(status.render()).startswith("✗"), what="failure")
        assert "inventory" in str(status.render()) or "load_balancer" in str(status.render())
        assert app.states["detection"] == "failed"
