"""PuTTY's default 80x24: every page usable (issue 11 item 3), and the wide layout at 120x40."""
from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from screens.pages import PAGES, TITLES
from screens.widgets.banner import TrainingBanner
from screens.widgets.sidebar import Sidebar

from .conftest import goto, make_app, wait_for
from .test_app import write_site

SMALL, WIDE = (80, 24), (120, 40)


def footer_keys(screen) -> dict[str, object]:
    """The footer's keys that are wholly visible (not under the palette key, not cut)."""
    from textual.widgets._footer import FooterKey
    footer = screen.query_one("WizardFooter")
    palette = [k for k in footer.query(FooterKey) if k.has_class("-command-palette")]
    right = palette[0].region.x if palette else footer.region.right
    return {k.key: k for k in footer.query(FooterKey)
            if not k.has_class("-command-palette") and k.region.width and k.region.right <= right}


async def test_every_page_works_at_80x24(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        app.session.store_secret("db/root", "small-db-password")    # detection would ask for it
        for page in PAGES:
            await goto(pilot, page)
            screen = app.screen
            # the page has the whole width; the header names it (the sidebar is a drawer)
            assert not screen.query_one(Sidebar).display, page
            assert screen.query_one("#main").region.width >= 78, page
            assert TITLES[page] in str(screen.title), page
            # the keys needed everywhere stay visible at 80 columns
            keys = footer_keys(screen)
            assert {"f9", "ctrl+q", "ctrl+s", "ctrl+o"} <= set(keys), (page, sorted(keys))
            assert keys["f9"].key_display == "F9"
            # every input of the form is wide enough to read what is typed
            for w in screen.query("#form Input, #form Select"):
                if w.display and w.parent.display:
                    assert w.region.width >= 30, (page, w.id, w.region.width)


async def test_hosts_table_columns_and_buttons_fit_or_scroll_at_80x24(tmp_path):
    from textual.widgets import Button

    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#host-table", DataTable)
        shown = table.scrollable_content_region.width
        assert table.virtual_size.width <= shown or table.allow_horizontal_scroll
        table.scroll_to(x=table.max_scroll_x, animate=False)     # the last column can be reached
        await pilot.pause()
        assert table.scroll_x + shown >= table.virtual_size.width
        for b in app.screen.query(".buttons Button").results(Button):
            assert b.region.width and b.region.right <= SMALL[0], b.id
        for key in ("name", "address", "port", "user", "key-file"):
            assert app.screen.query_one(f"#host-{key}", Input).region.width >= 30, key


async def test_sidebar_opens_as_a_drawer_at_80_and_hides_with_f2_when_wide(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        await goto(pilot, "java")
        sidebar = app.screen.query_one(Sidebar)
        await pilot.press("f2")
        await pilot.pause()
        assert sidebar.display and app.focused is sidebar
        assert app.screen.query_one("#main").region.width >= 78          # over the page, not beside it
        await pilot.press("escape")
        await pilot.pause()
        assert not sidebar.display and app.focused.id == "source"        # back where the engineer was
        await pilot.press("f2")
        await pilot.pause()
        sidebar.highlighted = PAGES.index("agents")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.PAGE == "agents", what="agents page")
        assert not app.screen.query_one(Sidebar).display

        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        sidebar = app.screen.query_one(Sidebar)
        assert sidebar.display and app.screen.title is None             # beside the page again
        narrow = app.screen.query_one("#main").region.width
        await pilot.press("f2")
        await pilot.pause()
        assert not sidebar.display and app.screen.query_one("#main").region.width > narrow
        assert TITLES["agents"] in str(app.screen.title)
        await goto(pilot, "whatsapp")                                      # the choice is kept
        assert not app.screen.query_one(Sidebar).display


async def test_narrow_forms_put_labels_above_inputs(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:        # wide enough for the sidebar beside it
        await goto(pilot, "portal")
        main = app.screen.query_one("#main")
        assert main.has_class("-stacked")
        label = app.screen.query_one("#field-load-balancer .field-label")
        field = app.screen.query_one("#load-balancer", Input)
        assert field.region.y > label.region.y and field.region.width >= 30
        await pilot.press("f2")                                   # sidebar hidden: room again
        await pilot.pause()
        assert not main.has_class("-stacked")
        assert field.region.y == label.region.y


async def test_placeholders_are_marked_as_hints(tmp_path):
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await goto(pilot, "portal")
        field = app.screen.query_one("#load-balancer", Input)
        assert field.value == "" and field.placeholder == "required, e.g. jtel-portal"
        style = field.get_component_rich_style("input--placeholder")
        assert style.italic
        await goto(pilot, "java")
        assert app.screen.query_one("#rpm-path", Input).placeholder == "e.g. /root/jdk-8u202-linux-x64.rpm"


async def test_the_training_banner_is_never_cut_at_80_columns():
    from rich.cells import cell_len

    app = make_app(training=True)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        banner = app.screen.query_one(TrainingBanner)
        text = str(banner.render())
        assert "TRAINING" in text and cell_len(text) <= banner.size.width
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert "nothing here touches a real server" in str(app.screen.query_one(TrainingBanner).render())
