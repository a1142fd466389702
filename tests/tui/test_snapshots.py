"""SVG snapshots (pytest-textual-snapshot): every page at PuTTY's 80x24 and at 120x40, in each
language, plus the states worth a picture (validation, previews, a failed run, dialogs).
Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update` (only the pages:
`-k test_page`) and look at the SVGs before committing."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from screens.pages import PAGES
from wizard.i18n import LANGUAGES, set_language

from .conftest import SIZE, goto, make_app, wait_for


# the SVGs depend on how textual and rich draw: they were made (and looked at) with these
MADE_WITH = {"textual": "8.2.8", "rich": "15.0.0"}
DRIFT = {k: version(k) for k, v in MADE_WITH.items() if version(k) != v}
pytestmark = pytest.mark.skipif(bool(DRIFT), reason=f"snapshots were made with {MADE_WITH}, installed: {DRIFT}; "
                                "regenerate with --snapshot-update and look at them")


def training_app():
    return make_app(training=True)


async def steady(pilot):
    """No blinking cursor in a picture."""
    from textual.widgets import Input
    for w in pilot.app.screen.query(Input):
        w.cursor_blink = False
    await pilot.pause()


async def detected(pilot):
    await goto(pilot, "detection")
    await wait_for(pilot, lambda: pilot.app.facts is not None, what="detection")
    table = pilot.app.screen.query_one("#facts-table")
    # its columns take the rows' widths when the table is next idle
    await wait_for(pilot, lambda: table.row_count > 0 and not table._require_update_dimensions,
                   what="facts table sized")
    table.focus()                       # one focus, whenever detection ended
    await pilot.pause(0.3)


def test_hosts_validation(snap_compare):
    async def edit(pilot):
        s = pilot.app.screen
        s.query_one("#host-address").value = "bad host!"
        s.query_one("#host-port").value = "0"
        await steady(pilot)
    assert snap_compare(training_app(), terminal_size=SIZE, run_before=edit)


def shown(page):
    """What a person sees on `page` once it has settled (detection done, the plan built)."""
    async def show(pilot):
        if page == "detection":
            await detected(pilot)
        else:
            await goto(pilot, page)
        if page == "run":
            await wait_for(pilot, lambda: pilot.app.screen.plan is not None, what="plan")
        pilot.app.clear_notifications()
        await steady(pilot)
    return show


SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("size", list(SIZES))
def test_page(snap_compare, size, lang, page):
    """Every page, at both sizes, in every language (the language is chosen before the app
    is built, as `--lang` does)."""
    set_language(lang)
    assert snap_compare(training_app(), terminal_size=SIZES[size], run_before=shown(page))


@pytest.mark.parametrize("section", ["java", "daemon"])
def test_section_preview(snap_compare, section):
    async def preview(pilot):
        await detected(pilot)
        await goto(pilot, section)
        await pilot.press("f5")
        await wait_for(pilot, lambda: pilot.app.states[section] == "previewed", what="preview")
        pilot.app.screen.query_one("#preview").scroll_visible(animate=False)
        await steady(pilot)
    assert snap_compare(training_app(), terminal_size=SIZE, run_before=preview)


def test_run_failure(snap_compare, tmp_path):
    from .test_app import write_site
    from .test_run import failing, with_fake_host

    app = make_app(answers=write_site(tmp_path))

    async def fail(pilot):
        from .test_run import confirm_run
        with_fake_host(app, failing(99)[0])
        await goto(pilot, "run")
        await wait_for(pilot, lambda: app.screen.plan is not None, what="plan")
        await confirm_run(pilot)
        await wait_for(pilot, lambda: not app.screen.running and app.screen.failures, what="failure")
        for view in app.screen.logs.values():
            view.clear()                 # durations in the log are not deterministic
        app.clear_notifications()
        app.sub_title = "site.yaml"
    assert snap_compare(app, terminal_size=SIZE, run_before=fail)


def test_report(snap_compare):
    from wizard.report import RunRecord

    from .test_run import fake_plan

    async def report(pilot):
        record = RunRecord(fake_plan())
        record.mark("java", "chat1", "Install Java 8", "done")
        record.mark("java", "chat1", "Check that Java 8 runs", "done")
        record.mark("clientmessenger", "chat1", "Copy ClientMessenger", "done")
        record.mark("clientmessenger", "chat1", "Write the marker", "done")
        record.backups.append(("chat1", "/etc/chat.conf", "/var/lib/chatwizard/backups/19700101T000000Z/etc/chat.conf"))
        pilot.app.session.record = record
        pilot.app.write_report("success")
        await goto(pilot, "report")
        pilot.app.clear_notifications()
        await pilot.pause()
    assert snap_compare(training_app(), terminal_size=SIZE, run_before=report)


def test_host_key_dialog(snap_compare):
    from screens.dialogs import HostKeyDialog

    async def ask(pilot):
        pilot.app.push_screen(HostKeyDialog("chat1", "SHA256:" + "x" * 43,
                                            "chat1 (10.0.0.21:22) offers an unknown ssh-ed25519 host key"))
        await pilot.pause()
    assert snap_compare(training_app(), terminal_size=SIZE, run_before=ask)


def test_save_dialog(snap_compare):
    async def save(pilot):
        await pilot.press("ctrl+s")
        await steady(pilot)
    assert snap_compare(training_app(), terminal_size=SIZE, run_before=save)


def test_run_confirmation(snap_compare):
    """F9 on the run page: the one question before anything runs."""
    async def confirm(pilot):
        from screens.dialogs import ChoiceDialog
        await goto(pilot, "run")
        await wait_for(pilot, lambda: pilot.app.screen.plan is not None, what="plan")
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog), what="confirmation")
        await steady(pilot)
    assert snap_compare(training_app(), terminal_size=SIZE, run_before=confirm)
