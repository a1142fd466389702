"""The hosts screen: inventory table, add/remove, validation, password to the keyring."""
from __future__ import annotations

import yaml

from screens.dialogs import ChoiceDialog

from .conftest import SIZE, goto, make_app, wait_for
from .test_app import write_site


def error(app, field_id):
    w = app.screen.query_one(f"#{field_id}-error")
    return str(w.render()) if w.has_class("-shown") else ""


async def test_add_edit_and_remove_hosts(tmp_path):
    app = make_app(answers=tmp_path / "new.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#host-table")
        assert table.row_count == 0
        assert not app.screen.query_one("#host-form").display
        table.focus()
        await pilot.press("a")
        await pilot.pause()
        assert table.row_count == 1 and app.screen.query_one("#host-form").display
        assert app.focused.id == "host-address"
        await pilot.press(*"10.0.0.21")
        app.screen.query_one("#host-port").value = "2222"
        app.screen.query_one("#host-user").value = "jtel"
        app.screen.query_one("#host-become").value = "sudo"
        await pilot.pause()
        roles = app.screen.query_one("#host-roles")
        roles.deselect("CHAT")
        roles.select("LB")
        await pilot.pause()
        assert table.get_row_at(0)[:6] == ["host1", "10.0.0.21", "2222", "jtel", "sudo", "LB"]

        table.focus()
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#host-name").value = "chat2"
        app.screen.query_one("#host-address").value = "chat2.example.com"
        await pilot.pause()
        assert table.row_count == 2
        table.focus()
        await pilot.press("delete")         # asks first, naming the host; Cancel is the default
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="remove question")
        assert "chat2" in str(app.screen.query_one("#dialog-title").render())
        assert "chat2.example.com" in str(app.screen.query_one("#dialog-text").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="cancelled")
        assert table.row_count == 2 and app.screen.hosts[1]["name"] == "chat2"
        table.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="remove question")
        await pilot.click("#choice-remove")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="removed")
        assert table.row_count == 1

        await goto(pilot, "portal")
        assert app.data["inventory"]["hosts"] == {
            "host1": {"address": "10.0.0.21", "roles": ["LB"], "port": 2222, "user": "jtel", "become": "sudo"}}


async def test_buttons_work_with_the_mouse(tmp_path):
    app = make_app(answers=tmp_path / "new.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#add")
        await pilot.click("#add")
        await pilot.pause()
        assert app.screen.query_one("#host-table").row_count == 2
        await pilot.click("#remove")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="remove question")
        await pilot.click("#choice-remove")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="removed")
        assert app.screen.query_one("#host-table").row_count == 1


async def test_inline_validation_messages(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = app.screen
        s.query_one("#host-address").value = "not a host!"
        s.query_one("#host-port").value = "70000"
        s.query_one("#host-user").value = "9bad user"
        s.query_one("#host-name").value = "acd-lb1"
        await pilot.pause()
        # the messages are the answers loader's (the CLI says the same), naming the value
        assert error(app, "host-address") == "'not a host!' is not a valid host name or IP address"
        assert "70000" in error(app, "host-port") and "65535" in error(app, "host-port")
        assert "9bad user" in error(app, "host-user")
        assert error(app, "host-name") == "acd-lb1 is already in the inventory"
        s.query_one("#host-roles").deselect_all()
        await pilot.pause()
        assert error(app, "host-roles") == "give the host at least one role"
        # invalid values are kept as typed (never the older valid one) and block the run
        assert s.collect()["hosts"]["chat1"]["address"] == "not a host!"
        assert s.collect()["hosts"]["chat1"]["port"] == 70000
        assert "hosts" in app.problem_pages()
        s.query_one("#host-address").value = "fe80::1%eth0"
        s.query_one("#host-port").value = "22"
        await pilot.pause()
        assert error(app, "host-address") == "" and error(app, "host-port") == ""


async def test_password_goes_to_the_keyring_never_to_the_answers_file(tmp_path):
    from wizard import secrets

    site = write_site(tmp_path)
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        pw = app.screen.query_one("#host-password")
        assert pw.password
        pw.value = "Tr0ub&dor 3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pw.value == "" and "keyring:ssh/chat1" in pw.placeholder
        app.session.settle()
        assert secrets.get("ssh/chat1") == "Tr0ub&dor 3"
    text = site.read_text()
    assert "Tr0ub&dor" not in text
    assert yaml.safe_load(text)["inventory"]["hosts"]["chat1"]["password"] == "keyring:ssh/chat1"


async def test_test_connection_reports_the_error_on_screen(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#host-address").value = "127.0.0.1"
        app.screen.query_one("#host-port").value = "1"          # nothing listens there
        await pilot.pause()
        app.screen.query_one("#host-table").focus()
        await pilot.press("t")
        result = app.screen.query_one("#test-result")
        await wait_for(pilot, lambda: str(result.render()).startswith("✗"), timeout=30, what="test result")
        assert "chat1" in str(result.render()) or "127.0.0.1" in str(result.render())
