"""The manual portal steps in the TUI (issue 11 item 5): a checkbox per item on pages 8, 9
and 10 and on the report page; each tick is recorded at once (the acks file beside the
answers), the run's end names what is not confirmed, the report lists every item."""
from __future__ import annotations

import shutil

import yaml

from wizard.report import TRAINING_SAMPLE

from .conftest import SIZE, goto, make_app, wait_for
from .test_session_flow import full_run

URL = "#ack-portal_settings-ACD-Chat-Server-Base-URL"
STATUS = "#ack-agents-chat_status"
MAX = "#ack-agents-max_parallel_chats"


def state_text(app, box_id: str) -> str:
    return str(app.screen.query_one(f"{box_id}-state").render())


async def tick(pilot, box_id: str):
    app = pilot.app
    box = app.screen.query_one(box_id)
    box.scroll_visible(animate=False)
    await pilot.pause()
    await pilot.click(box_id)
    await pilot.pause()


async def test_ticks_on_the_pages_go_into_the_report_and_the_run_names_the_rest(tmp_path):
    site = tmp_path / "site.yaml"
    shutil.copy(TRAINING_SAMPLE, site)
    app = make_app(training=True, answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "portal_settings")
        assert not app.screen.query_one(URL).value
        assert "not confirmed" in state_text(app, URL)
        await tick(pilot, URL)
        assert app.screen.query_one(URL).value
        assert state_text(app, URL).startswith("portal_settings/ACD.Chat.Server.Base.URL: confirmed 1970-01-01 00:00 UTC")
        await goto(pilot, "agents")
        await tick(pilot, STATUS)
        await tick(pilot, STATUS)                   # unticked again: recorded too
        assert "unticked 1970-01-01 00:00 UTC" in state_text(app, STATUS)
        events = yaml.safe_load((tmp_path / "site.training.acks.yaml").read_text())["events"]
        assert [(e["item"], e["ticked"]) for e in events] == [
            ("portal_settings/ACD.Chat.Server.Base.URL", True), ("agents/chat_status", True),
            ("agents/chat_status", False)]

        await full_run(pilot)
        summary = str(app.screen.query_one("#run-summary").render())
        assert "3 manual steps in the portal not confirmed: portal_settings/ACD.Chat.Script.Library.URL, " \
               "agents/chat_status (Agent status), agents/max_parallel_chats" in summary, summary
        report = app.report_text
        assert "**1 of 4 confirmed**" in report
        assert "- [x] `ACD.Chat.Server.Base.URL` = `ws://jtel-portal:3000` — confirmed 1970-01-01 00:00 UTC" in report
        assert "- [ ] `Agent status` = " in report and "not confirmed (unticked 1970-01-01 00:00 UTC" in report

        # after the run, in the portal: the rest ticked on the report page, the report written again
        await goto(pilot, "report")
        first = app.report_path
        for box in ("#ack-portal_settings-ACD-Chat-Script-Library-URL", STATUS, MAX):
            await tick(pilot, box)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.report_path != first, what="report again")
        assert "**4 of 4 confirmed**" in app.report_text and "Not confirmed:" not in app.report_text
        assert first.exists() and "**1 of 4 confirmed**" in first.read_text()     # never overwritten

    app2 = make_app(training=True, answers=site)                # a restart keeps the ticks
    async with app2.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        assert app2.screen.query_one(STATUS).value and app2.screen.query_one(MAX).value


async def test_another_value_after_the_tick_shows_it_unticked(tmp_path):
    site = tmp_path / "site.yaml"
    shutil.copy(TRAINING_SAMPLE, site)
    app = make_app(training=True, answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        await tick(pilot, MAX)
        assert app.screen.query_one(MAX).value
        app.screen.query_one("#max-parallel-chats").value = "5"
        await pilot.pause()
        await wait_for(pilot, lambda: not app.screen.query_one(MAX).value, what="stale tick")
        assert "ticked 1970-01-01 00:00 UTC for 3, the answers now give 5" in state_text(app, MAX)
        await pilot.pause(0.2)
        events = yaml.safe_load((tmp_path / "site.training.acks.yaml").read_text())["events"]
        assert [(e["item"], e["ticked"], e["value"]) for e in events] == [("agents/max_parallel_chats", True, "3")]
        await tick(pilot, MAX)                      # ticked again, for the new value
        assert "confirmed 1970-01-01 00:00 UTC" in state_text(app, MAX)
        assert yaml.safe_load((tmp_path / "site.training.acks.yaml").read_text())["events"][-1]["value"] == "5"


async def test_a_run_with_every_step_ticked_says_nothing_about_them(tmp_path):
    site = tmp_path / "site.yaml"
    shutil.copy(TRAINING_SAMPLE, site)
    app = make_app(training=True, answers=site)
    async with app.run_test(size=SIZE) as pilot:
        app.session.ack(["ACD.Chat.Script.Library.URL", "ACD.Chat.Server.Base.URL", "chat_status",
                         "max_parallel_chats"], answers=app.answers_for(app.snapshot(), app.source),
                        source=app.source)
        await full_run(pilot)
        summary = str(app.screen.query_one("#run-summary").render())
        assert summary.startswith("✓ Done") and "not confirmed" not in summary
        assert "**4 of 4 confirmed**" in app.report_text
