"""F1 help, the key list, the palette's Help/Keys and the footer's pinned keys."""
from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Label, Markdown
from textual.widgets._footer import FooterKey

from screens.help import HelpScreen, KeysScreen
from screens.widgets.footer import WizardFooter
from wizard import i18n

from .conftest import goto, make_app, wait_for

# text only that page's help has (docs/procedure.md's point for that section)
SPECIFIC = {
    "hosts": "requiretty",
    "detection": "/etc/redhat-release",
    "java": "jdk-8u202",
    "firewall": "iptables -S INPUT",
    "daemon": "Connector/J",
    "portal_settings": "http://<load-balancer>:3000/gui/",
    "run": "Apply N changes on M hosts?",
    "report": "Verify (section 11)",
}


async def open_help(pilot) -> HelpScreen:
    await pilot.press("f1")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help screen")
    return pilot.app.screen


def shown(screen) -> str:
    return screen.query_one(Markdown).source


@pytest.mark.parametrize("page", list(SPECIFIC))
async def test_f1_opens_the_help_of_the_page_shown_and_escape_closes_it(page):
    app = make_app(training=True)
    async with app.run_test(size=(110, 36)) as pilot:
        await goto(pilot, page)
        help_screen = await open_help(pilot)
        assert help_screen.page == page
        text = shown(help_screen)
        assert SPECIFIC[page] in text
        assert "## Where the vendor page is wrong or silent" in text
        assert not [SPECIFIC[p] for p in SPECIFIC if p != page and SPECIFIC[p] in text]
        await pilot.press("escape")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", None) == page, what="back on the page")


@pytest.mark.parametrize("key", ["f1", "q"])
async def test_f1_and_q_close_the_help_too(key):
    app = make_app(training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, "java")
        await open_help(pilot)
        await pilot.press(key)
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", None) == "java", what="back on java")
        assert app.is_running                 # q closed the help, it did not quit


async def test_help_is_in_german_after_the_language_is_switched():
    i18n.set_language("de")
    app = make_app(training=True)
    async with app.run_test(size=(110, 36)) as pilot:
        await goto(pilot, "firewall")
        screen = await open_help(pilot)
        text = shown(screen)
        assert "## Wo die Herstellerseite irrt oder schweigt" in text
        assert "Port-Freigaben" in text and "What it does" not in text
        assert "schließt" in str(screen.query_one(".help-hint", Label).render())


async def test_help_is_readable_at_80x24_and_scrolls():
    app = make_app(training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, "daemon")
        screen = await open_help(pilot)
        await pilot.pause()
        box = screen.query_one("#help").region
        assert box.width <= 80 and box.height <= 24 and box.x >= 0 and box.y >= 0
        body = screen.query_one("#help-body")
        assert body.max_scroll_y > 0          # the daemon's help is longer than the screen
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: body.scroll_y > 0, what="scrolled")


async def test_the_key_list_has_the_wizards_own_keys_and_escape_closes_it():
    app = make_app(training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, "run")
        app.action_keys()
        await wait_for(pilot, lambda: isinstance(app.screen, KeysScreen), what="keys screen")
        text = app.screen.text
        everywhere, here = text.split("On this page: Run")
        for key in ("F9", "ctrl+q", "ctrl+s", "ctrl+o", "F1", "ctrl+p", "ctrl+n"):
            assert f"  {key} " in everywhere, key
        for key in ("F9", "ctrl+x", "F5", "r", "s", "a"):
            assert f"  {key} " in here, key
        assert "Stop after the current step" in here
        await pilot.press("escape")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", None) == "run", what="back on run")


async def test_the_key_list_of_the_hosts_page_has_the_host_table_keys_in_french():
    i18n.set_language("fr")
    app = make_app(training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, "hosts")
        await open_help(pilot)
        await pilot.press("k")                 # from the help to the keys
        await wait_for(pilot, lambda: isinstance(app.screen, KeysScreen), what="keys screen")
        text = app.screen.text
        assert "Partout" in text and "Sur cette page : " in text
        assert "  del / x " in text and "Tester la connexion" in text
        assert "  ctrl+q " in text and "Quitter" in text


async def palette_hits(pilot, query: str) -> list[str]:
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), what="palette")
    await pilot.press(*query)
    await pilot.pause(0.5)
    found = pilot.app.screen.query_one(CommandList)
    return [str(found.get_option_at_index(i).prompt).split("\n")[0] for i in range(found.option_count)]


@pytest.mark.parametrize("query,title,screen", [("hilfe", "Help", HelpScreen), ("aide", "Help", HelpScreen),
                                                ("keys", "Keys", KeysScreen), ("tasten", "Keys", KeysScreen),
                                                ("touches", "Keys", KeysScreen)])
async def test_the_palette_finds_help_and_keys_by_their_name_in_any_language(query, title, screen):
    app = make_app(training=True)
    async with app.run_test(size=(110, 36)) as pilot:
        await goto(pilot, "firewall")
        hits = await palette_hits(pilot, query)
        assert hits.count(title) == 1, hits        # textual's own "Keys" panel is gone
        assert hits[0] == title
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, screen), what=screen.__name__)
        if screen is HelpScreen:
            assert app.screen.page == "firewall"
        await pilot.press("escape")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", None) == "firewall", what="closed")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("page", ["hosts", "daemon", "run"])
async def test_the_footer_shows_quit_help_and_run_at_every_size(size, page):
    app = make_app(training=True)
    async with app.run_test(size=size) as pilot:
        await goto(pilot, page)
        if page == "run":                      # F9 is offered there once the plan is shown
            await wait_for(pilot, lambda: app.screen.plan is not None, what="the plan")
        await pilot.pause()
        footer = app.screen.query_one(WizardFooter)
        for key, display in (("ctrl+q", "^q"), ("f1", "f1"), ("f9", "f9"), ("ctrl+p", "^p")):
            widget = next(w for w in footer.query(FooterKey) if w.key == key)
            assert widget.key_display == display
            r = widget.region
            assert r.width > 0 and 0 <= r.x and r.right <= size[0] and r.y == size[1] - 1, (key, r)
            # really on screen: nothing drawn over it
            assert app.screen.get_widget_at(r.x + 1, r.y)[0] is widget, key
