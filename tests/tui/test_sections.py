"""Every section screen: explanation, inputs with defaults, inline validation, answers back."""
from __future__ import annotations

import importlib

import pytest
import yaml

from screens.pages import SECTIONS, TITLES

from .conftest import SIZE, goto, make_app
from .test_app import SITE, write_site

# (page, field id, a bad value, its message, a good value, answers key, stored value)
CASES = [
    ("portal", "load-balancer", "bad_name!", "not a valid host name", "lb.example.com", "load_balancer", "lb.example.com"),
    ("portal", "version", "3.x", "not a portal release like 3.26 or 3.11.2", "3.24", "version", "3.24"),
    ("portal", "shared-dir", "home/jtel", "not an absolute path", "/srv/shared", "shared_dir", "/srv/shared"),
    ("java", "url", "cdn.jtel.de/x.rpm", "not an http(s) URL", "https://mirror.local/jdk.rpm", "url", "https://mirror.local/jdk.rpm"),
    ("java", "rpm-path", "jdk.rpm", "not an absolute path", "/root/jdk.rpm", "rpm_path", "/root/jdk.rpm"),
    ("clientmessenger", "owner", "1jtel", "not a user or group name", "chat", "owner", "chat"),
    ("hazelcast", "member-address", "bad host", "not a valid host name or IP address", "10.1.1.5", "member_address", "10.1.1.5"),
    ("daemon", "db-host", "db host", "not a valid host name or IP address", "acd-dbm2", "db_host", "acd-dbm2"),
    ("daemon", "timezone", "Europe Berlin", "not a time zone like Europe/Berlin", "UTC", "timezone", "UTC"),
    ("update_script", "path", "updatesc.sh", "not an absolute path", "/opt/bin/updatesc.sh", "path", "/opt/bin/updatesc.sh"),
    ("load_balancer", "config", "haproxy.cfg", "not an absolute path", "/etc/haproxy/chat.cfg", "config", "/etc/haproxy/chat.cfg"),
    ("agents", "max-parallel-chats", "0", "not a number from 1 to 100", "4", "max_parallel_chats", 4),
    ("whatsapp", "phone-number", "089 123456", "not E.164: + country code and number, no spaces, e.g. +4989123456789",
     "+4989123456789", "phone_number", "+4989123456789"),
    ("whatsapp", "phone-number", "+4912345", "not a valid number for its country code", "+14155552671",
     "phone_number", "+14155552671"),
    ("whatsapp", "phone-number", "+99912345", "unknown country code", "+4989123456789",
     "phone_number", "+4989123456789"),
    ("whatsapp", "language", "english", "not a language code like en or de", "de", "language", "de"),
    ("whatsapp", "portal-url", "http://jtel-portal:3003", "not an https URL like https://jtel-portal:3003",
     "https://chat.example.com:3003", "portal_url", "https://chat.example.com:3003"),
]


def error(app, field_id):
    w = app.screen.query_one(f"#{field_id}-error")
    return str(w.render()) if w.has_class("-shown") else ""


def core_says(data: dict, page: str, key: str, value) -> str:
    """What the answers loader (the CLI's check) says about this value: the one source."""
    from wizard.answers import Answers
    from wizard.errors import AnswersError
    import copy
    d = copy.deepcopy(data)
    d.setdefault(page, {})[key] = value
    try:
        Answers.from_data(d, "x")
    except AnswersError as e:
        return "; ".join(p.split(f"{page}.{key}: ", 1)[1] for p in e.problems if f"{page}.{key}: " in p)
    return ""


@pytest.mark.parametrize("page,field,bad,message,good,key,stored", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
async def test_inline_validation_and_answers(tmp_path, page, field, bad, message, good, key, stored):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, page)
        w = app.screen.query_one(f"#{field}")
        w.focus()
        w.value = bad
        await pilot.pause()
        shown = error(app, field)
        assert shown and shown == core_says(SITE, page, key, app.data[page][key])
        # the value is kept as typed (never an older, valid one), the page is marked,
        # and the problem stays listed on every page until fixed
        assert str(app.data[page][key]) == bad
        await goto(pilot, "hosts")
        assert page in app.problem_pages()
        assert f"{key}" in str(app.screen.query_one("#problems").render())
        await goto(pilot, page)
        w = app.screen.query_one(f"#{field}")
        w.value = good
        await pilot.pause()
        assert error(app, field) == ""
        await goto(pilot, "hosts")
        assert app.data[page][key] == stored
        assert page not in app.problem_pages()


async def test_a_bad_value_blocks_preview_and_run(tmp_path):
    """agents 0: shown, kept, and the preview refuses (it would show 3 otherwise)."""
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        app.screen.query_one("#max-parallel-chats").value = "0"
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        assert "max_parallel_chats" in str(app.screen.query_one("#dialog-text").render())
        await pilot.press("enter")
        await pilot.pause()
        assert "Building" not in str(app.screen.query_one("#preview").render())
        await goto(pilot, "run")
        await pilot.pause()
        assert "problems" in str(app.screen.query_one("#run-summary").render())
        assert app.screen.plan is None
        await pilot.press("f9")                 # refused, with the list
        await pilot.pause()
        assert "max_parallel_chats" in str(app.screen.query_one("#dialog-text").render())


@pytest.mark.parametrize("page", ["portal", *SECTIONS])
async def test_every_section_has_a_screen_with_explanation_and_title(tmp_path, page):
    module = importlib.import_module(f"screens.{page}")
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, page)
        assert isinstance(app.screen, module.SCREEN)
        assert str(app.screen.query_one(".page-title").render()) == TITLES[page]
        assert len(str(app.screen.query_one(".explanation").render())) > 100
        if page != "portal":
            assert app.screen.query("#preview")


def test_section_titles_match_the_engine():
    for name in SECTIONS:
        try:
            step = importlib.import_module(f"wizard.steps.{name}")
        except ModuleNotFoundError:
            continue
        assert TITLES[name] == step.TITLE, name


async def test_defaults_are_shown_and_not_written_back_as_changes(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "clientmessenger")
        assert app.screen.query_one("#target").value == "/home/jtel/ClientMessenger"
        assert app.screen.query_one("#source").value == ""
        assert "ClientMessenger" in app.screen.query_one("#source").placeholder
        await goto(pilot, "firewall")
        assert app.screen.query_one("#enabled").value is True
        app.screen.query_one("#enabled").value = False
        await goto(pilot, "hosts")
        assert app.data["firewall"]["enabled"] is False
        assert app.data["clientmessenger"]["source"] is None


@pytest.mark.parametrize("page,field,ref", [("daemon", "db-password", "keyring:db/root"),
                                            ("whatsapp", "api-key", "keyring:tyntec/apikey")])
async def test_secrets_are_typed_once_and_kept_in_the_keyring(tmp_path, page, field, ref):
    from wizard import masking, secrets

    site = write_site(tmp_path, dict(SITE, daemon={}))
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, page)
        w = app.screen.query_one(f"#{field}")
        assert w.password and w.value == ""
        w.value = "p&ss w%rd+#1"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert w.value == "" and ref in w.placeholder
        app.session.settle()
        assert secrets.get(ref) == "p&ss w%rd+#1"
        assert masking.mask("x p&ss w%rd+#1 y") == "x ******** y"
    text = site.read_text()
    assert "p&ss" not in text
    section = yaml.safe_load(text)[page]
    assert ref in section.values()


async def test_choices_and_switches(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "hazelcast")
        app.screen.query_one("#layout").value = "legacy"
        app.screen.query_one("#fix-conflicts").value = True
        await goto(pilot, "portal")
        app.screen.query_one("#scheme").value = "http"
        await goto(pilot, "hosts")
        assert app.data["hazelcast"]["layout"] == "legacy"
        assert app.data["hazelcast"]["fix_conflicts"] is True
        assert app.data["portal"]["scheme"] == "http"


async def test_editing_after_a_preview_resets_the_state(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "java")
        app.set_state("java", "previewed")
        app.screen.query_one("#url").value = "https://mirror.local/jdk.rpm"
        await pilot.pause()
        assert app.states["java"] == "to do"
