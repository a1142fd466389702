"""The application: navigation, sidebar states, palette, save/load round trip, training marks."""
from __future__ import annotations

import subprocess
import sys

import yaml

from screens.pages import PAGES, TITLES
from screens.widgets.banner import TrainingBanner
from screens.widgets.sidebar import Sidebar

from .conftest import ROOT, SIZE, goto, make_app, wait_for

SITE = {
    "version": 1,
    "inventory": {"hosts": {"chat1": {"address": "10.0.0.21", "user": "root", "roles": ["CHAT"]},
                            "acd-dbm": {"address": "10.0.0.10", "roles": ["DATA"]},
                            "acd-lb1": {"address": "10.0.0.2", "roles": ["LB"]}}},
    "portal": {"version": "3.26", "scheme": "https", "load_balancer": "jtel-portal"},
    "java": {"source": "rpm", "rpm_path": "/root/jdk-8u202-linux-x64.rpm"},
    "daemon": {"db_password": "keyring:db/root"},
    "agents": {"max_parallel_chats": 5},
}


def write_site(tmp_path, data=SITE):
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def test_starts_on_hosts_and_walks_every_page_in_order(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.session.store_secret("db/root", "walk-db-password")   # detection would ask for it
        seen = [app.screen.PAGE]
        for _ in PAGES[1:]:
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.screen.PAGE != seen[-1], what="next page")
            seen.append(app.screen.PAGE)
        assert seen == PAGES
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: app.screen.PAGE == "run", what="back")


async def test_sidebar_lists_every_page_and_jumps_there(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        sidebar = app.screen.query_one(Sidebar)
        assert [o.id for o in sidebar.options] == PAGES
        assert "to do" in str(sidebar.get_option("java").prompt)
        sidebar.focus()
        sidebar.highlighted = PAGES.index("agents")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.PAGE == "agents", what="agents page")


async def test_clicking_the_sidebar_changes_page(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click(Sidebar, offset=(5, 1 + PAGES.index("firewall")))
        await wait_for(pilot, lambda: app.screen.PAGE == "firewall", what="firewall page")


async def test_answers_file_prefills_every_screen(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#host-address").value == "10.0.0.21"
        await goto(pilot, "portal")
        assert app.screen.query_one("#version").value == "3.26"
        assert app.screen.query_one("#scheme").value == "https"
        await goto(pilot, "java")
        assert app.screen.query_one("#source").value == "rpm"
        assert app.screen.query_one("#rpm-path").value == "/root/jdk-8u202-linux-x64.rpm"
        await goto(pilot, "agents")
        assert app.screen.query_one("#max-parallel-chats").value == "5"
        await goto(pilot, "daemon")
        pw = app.screen.query_one("#db-password")
        assert pw.value == "" and pw.password and "keyring:db/root" in pw.placeholder


async def test_save_and_load_round_trip(tmp_path):
    site = write_site(tmp_path)
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        field = app.screen.query_one("#max-parallel-chats")
        field.value = "7"
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = yaml.safe_load(site.read_text())
    assert saved["agents"]["max_parallel_chats"] == 7
    assert saved["inventory"]["hosts"]["chat1"]["address"] == "10.0.0.21"
    assert saved["daemon"]["db_password"] == "keyring:db/root"

    again = make_app(answers=site)
    async with again.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        assert again.screen.query_one("#max-parallel-chats").value == "7"
        assert again.data["java"] == SITE["java"]


async def test_save_as_asks_for_a_path_and_load_opens_another_file(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        dialog = app.screen
        assert dialog.query_one("#path").value == "site.yaml"
        dialog.query_one("#path").value = str(tmp_path / "new.yaml")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "new.yaml").exists(), what="saved file")
        assert app.path == tmp_path / "new.yaml"

        other = write_site(tmp_path)
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#path").value = str(other)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.path == other and getattr(app.screen, "PAGE", "") == "hosts",
                       what="loaded file")
        await pilot.pause()
        assert app.screen.query_one("#host-address").value == "10.0.0.21"


async def test_a_missing_answers_file_opens_empty_and_is_created_on_save(tmp_path):
    path = tmp_path / "second-site.yaml"
    app = make_app(answers=path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.data["inventory"]["hosts"] == {}
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert path.exists()


async def test_an_invalid_answers_file_still_prefills_and_says_what_is_wrong(tmp_path):
    bad = dict(SITE, agents={"max_parallel_chats": "many"})
    app = make_app(answers=write_site(tmp_path, bad))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.problems and any("max_parallel_chats" in p for p in app.problems)
        # every problem in a dialog that stays until closed (not a toast that vanishes)
        text = str(app.screen.query_one("#dialog-text").render())
        assert "agents.max_parallel_chats" in text
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#host-address").value == "10.0.0.21"
        # the page with the problem is marked in the sidebar, and the problems list stays
        assert "agents" in app.problem_pages()
        assert "max_parallel_chats" in str(app.screen.query_one("#problems").render())


async def test_training_is_marked_on_every_screen(tmp_path):
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "TRAINING" in app.sub_title
        for page in PAGES:
            if page == "detection":
                continue          # detection is exercised with the simulated host elsewhere
            await goto(pilot, page)
            assert app.screen.query(TrainingBanner), page
            assert "TRAINING" in str(app.screen.query_one(TrainingBanner).render())


async def test_no_banner_outside_training(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query(TrainingBanner)
        assert "TRAINING" not in app.sub_title


async def test_skip_toggle_marks_the_section_and_the_answers(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "firewall")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.data["sections"]["skip"] == ["firewall"]
        assert app.states["firewall"] == "skipped"
        assert "skipped" in str(app.screen.query_one(Sidebar).get_option("firewall").prompt)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.data["sections"]["skip"] == []
        assert app.states["firewall"] == "to do"


async def test_command_palette_offers_save_load_preview_run(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Save answers", "Load answers…", "Preview this section", "Run", "Go to: 1. Java 8"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go to: agents")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", "") == "agents", what="agents via palette")


async def test_host_key_prompt_shows_the_fingerprint_and_waits_for_the_answer(tmp_path):
    import threading

    from wizard.errors import HostKeyError

    fp = "SHA256:" + "A" * 43
    app = make_app(answers=write_site(tmp_path))
    answers = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        err = HostKeyError("unknown host key for chat1", host="chat1", fingerprint=fp, changed=False)
        t = threading.Thread(target=lambda: answers.append(app.ask_host_key(err)))
        t.start()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", what="host key dialog")
        assert str(app.screen.query_one("#fingerprint").render()) == fp
        await pilot.press("y")
        await wait_for(pilot, lambda: answers, what="answer")
        t.join(5)
        assert answers == [True]
        t = threading.Thread(target=lambda: answers.append(app.ask_host_key(err)))
        t.start()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", what="second dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(answers) == 2, what="refusal")
        t.join(5)
        assert answers == [True, False]


def test_startup_imports_no_heavy_module():
    """The first screen needs textual only: paramiko, lxml, the planner load in workers."""
    code = ("import sys, screens.app, screens.hosts; "
            "heavy = [m for m in ('paramiko', 'lxml', 'wizard.planner', 'wizard.runner', 'jinja2', "
            "'phonenumbers', 'keyring') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_core_still_imports_without_textual():
    code = "import sys, wizard.cli, wizard.planner, wizard.runner; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_reset_training_host_from_the_palette_commands(tmp_path):
    from wizard.training import SimHost

    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Reset the training host" in titles
        SimHost.shared().fs.put("/root/marker", __import__("wizard.training.fs", fromlist=["Node"]).Node(
            "f", b"x", 0o644))
        assert SimHost.shared().exists("/root/marker")
        app.action_reset_training()
        await wait_for(pilot, lambda: not SimHost.shared().exists("/root/marker"), what="reset")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", "") == "hosts", what="hosts again")


async def test_no_reset_command_outside_training(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Reset the training host" not in [c.title for c in app.get_system_commands(app.screen)]


async def test_a_secret_the_keyring_lacks_is_asked_in_a_dialog(tmp_path):
    """Prompt mode: nothing stored; the worker that needs the secret asks through a modal."""
    import threading

    from wizard import secrets

    app = make_app(answers=write_site(tmp_path))
    got = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.session.secrets_ready()
        t = threading.Thread(target=lambda: got.append(secrets.get("db/root", keypath="daemon.db_password")))
        t.start()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SecretDialog", what="secret dialog")
        assert str(app.screen.query_one("#secret-prompt").render()) == "Secret db/root (daemon.db_password):"
        app.screen.query_one("#secret").value = "typed-in-dialog"
        await pilot.press("enter")
        await wait_for(pilot, lambda: got, what="secret")
        t.join(5)
        assert got == ["typed-in-dialog"]
        errors = []

        def refused():
            try:
                secrets.get("tyntec/apikey")
            except Exception as e:
                errors.append(e)
        t = threading.Thread(target=refused)
        t.start()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SecretDialog", what="second dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: errors, what="refusal")
        t.join(5)
        assert "not given" in str(errors[0])


async def test_a_keyring_that_refuses_a_secret_is_reported(tmp_path, monkeypatch):
    from wizard import secrets
    from wizard.errors import SecretError

    def broken(key, value):
        raise SecretError("no usable keyring on this machine")
    monkeypatch.setattr(secrets, "set", broken)
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "daemon")
        app.screen.query_one("#db-password").value = "x-secret-1"
        await goto(pilot, "hosts")
        app.session.settle()
        await wait_for(pilot, lambda: any("Not stored" in (n.title or "") for n in app._notifications),
                       what="notification")


async def test_training_without_the_sample_file_uses_a_built_in_inventory(tmp_path, monkeypatch):
    from screens import model

    monkeypatch.setattr(model, "TRAINING_SAMPLE", tmp_path / "absent.yaml")
    app = make_app(training=True)
    assert app.source == "built-in training inventory"
    model.to_answers(app.data, app.source)                   # valid as it is
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "detection")
        await wait_for(pilot, lambda: app.facts is not None, what="detection")
        assert list(app.facts) == ["sim"]


def test_an_unreadable_answers_file_is_an_answers_error(tmp_path):
    import pytest

    from wizard.errors import AnswersError

    bad = tmp_path / "broken.yaml"
    bad.write_text("inventory: [unclosed\n")
    with pytest.raises(AnswersError) as e:
        make_app(answers=bad)
    assert "broken.yaml" in str(e.value)


async def test_closing_the_app_while_a_dialog_waits_frees_the_worker(tmp_path):
    import threading

    from wizard.errors import HostKeyError

    app = make_app(answers=write_site(tmp_path))
    answers = []
    err = HostKeyError("unknown host key", host="chat1", fingerprint="SHA256:" + "B" * 43, changed=False)
    t = threading.Thread(target=lambda: answers.append(app.ask_host_key(err)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        t.start()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", what="dialog")
    t.join(5)
    assert not t.is_alive() and answers == [False]


async def test_cancel_closes_the_path_and_secret_dialogs_and_changes_nothing(tmp_path):
    """Cancel (click or Enter on it) closes the dialog; nothing is saved, the app keeps running."""
    from screens.dialogs import PathDialog, SecretDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="save dialog")
        app.screen.query_one("#path").value = str(tmp_path / "other.yaml")
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: getattr(app.screen, "PAGE", "") == "hosts", what="dialog closed")
        answers = []
        app.push_screen(SecretDialog("Secret db/root:"), answers.append)
        await pilot.pause()
        app.screen.query_one("#cancel").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: answers, what="secret dialog closed")
        assert answers == [None] and app.is_running
    assert not (tmp_path / "other.yaml").exists() and not (tmp_path / "site.yaml").exists()


async def palette_titles(pilot, query: str = "") -> list[str]:
    """Open the palette, type `query`, and read the commands it lists, top first."""
    from textual.command import CommandList, CommandPalette

    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
    if query:
        await pilot.press(*query)
    palette = app.screen
    await wait_for(pilot, lambda: palette.has_class("-ready") and palette.query_one(CommandList).option_count,
                   what="commands listed")
    await pilot.pause(0.4)              # the palette shows its hits in batches
    options = palette.query_one(CommandList).options
    return [str(o.prompt).split("\n")[0] for o in options]


async def test_palette_lists_the_pages_in_the_procedures_order(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = await palette_titles(pilot)
        pages = [t for t in titles if t.startswith("Go to: ")]
        assert pages == [f"Go to: {TITLES[p]}" for p in PAGES]          # 2. before 10.
        assert titles.index("Save answers") < titles.index("Go to: Hosts")


async def test_palette_save_as_then_enter_asks_for_a_file_and_overwrites_nothing(tmp_path):
    from screens.dialogs import PathDialog

    site = write_site(tmp_path)
    before = site.read_text()
    app = make_app(answers=site)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "agents")
        app.screen.query_one("#max-parallel-chats").value = "9"     # unsaved: Save would write it
        titles = await palette_titles(pilot, "save as")
        assert titles[0] == "Save as…"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="save-as dialog")
        assert site.read_text() == before


def test_palette_scores_whole_words_above_word_starts_and_fuzzy_letters():
    from textual.fuzzy import Matcher

    from screens.commands import score as scored

    def score(query, title):
        return scored(query, title, Matcher(query))

    assert score("save as", "Save as…") > score("save as", "Save answers") > 0     # fuzzy: a, s
    assert score("save as", "Save as…") > score("save as", "Save answers as…")
    assert score("go 2", "Go to: 2. ClientMessenger") > score("go 2", "Go to: 10. WhatsApp")
    assert score("run", "Run") > score("run", "Go to: Run") > score("rn", "Run") > 0
    assert score("xyz", "Run") == 0
