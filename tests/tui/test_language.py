"""The language switches at any time from the palette; every visible text follows, what was
typed and the current page stay."""
from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.widgets import Button, Input, Label, Static
from textual.widgets._footer import FooterKey

from screens.dialogs import ChoiceDialog
from screens.widgets.sidebar import Sidebar
from wizard import i18n

from .conftest import SIZE, goto, make_app, wait_for
from .test_app import write_site


def texts(screen, kind=Static) -> list[str]:
    return [str(w.render()) for w in screen.query(kind)]


def plain(renderable) -> str:
    from rich.console import Console
    console = Console(width=100, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def page_title(screen) -> str:
    return str(screen.query_one(".page-title", Static).render())


def footer(screen) -> list[str]:
    return [k.description for k in screen.query(FooterKey)]


async def choose_language(pilot, typed: str, name: str) -> None:
    """ctrl+p, type `typed`, pick the command of the language called `name`."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
    await pilot.press(*typed)

    def hits() -> list[str]:
        return [str(o.prompt) for o in app.screen.query_one(CommandList).options]
    await wait_for(pilot, lambda: any(name in h for h in hits()), what=f"{name} among the hits")
    found = [h for h in hits() if "Language" in h or "Sprache" in h or "Langue" in h]
    commands = app.screen.query_one(CommandList)
    commands.highlighted = next(i for i, h in enumerate(hits()) if name in h)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="palette closed")
    return found


async def test_palette_switches_to_german_then_french_keeping_page_and_typed_values(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        address = app.screen.query_one("#host-address", Input)
        address.focus()
        await pilot.press("end", "9")                   # typed, not saved
        assert app.data["inventory"]["hosts"]["chat1"]["address"] == "10.0.0.219"
        screen = app.screen
        assert "Add host (a)" == str(screen.query_one("#add", Button).label)

        found = await choose_language(pilot, "sprache", "Deutsch")
        assert len(found) == 3                          # "sprache" finds every language
        await wait_for(pilot, lambda: str(app.screen.query_one("#add", Button).label) == "Host hinzufügen (a)",
                       what="German button")
        assert i18n.current_language() == "de"
        screen = app.screen
        assert screen.PAGE == "hosts"
        assert "Name im Inventar" in texts(screen, Label)
        assert page_title(screen) == "Hosts"                  # the page title (the same in German)
        assert any(t.startswith("Jeder Server, den die Installation berührt") for t in texts(screen))
        await wait_for(pilot, lambda: "Speichern" in footer(app.screen), what="German footer")
        assert {"Weiter", "Zurück", "Speichern", "Ausführen", "Palette"} <= set(footer(app.screen))
        sidebar = screen.query_one(Sidebar)
        assert sidebar.border_title == "Abschnitte"
        assert "offen" in str(sidebar.get_option("java").prompt)
        assert screen.query_one("#host-address", Input).value == "10.0.0.219"
        assert screen.focused is screen.query_one("#host-address", Input)
        assert app.data["inventory"]["hosts"]["chat1"]["address"] == "10.0.0.219"
        assert app.data["ui"] == {"language": "de"}         # the answers keep it (saving writes it)

        await choose_language(pilot, "französisch", "Français")
        await wait_for(pilot, lambda: str(app.screen.query_one("#add", Button).label) == "Ajouter un hôte (a)",
                       what="French button")
        screen = app.screen
        assert page_title(screen) == "Hôtes"
        assert "Nom dans l'inventaire" in texts(screen, Label)
        await wait_for(pilot, lambda: "Enregistrer" in footer(app.screen), what="French footer")
        assert {"Suivant", "Retour", "Exécuter"} <= set(footer(app.screen))
        assert "à faire" in str(screen.query_one(Sidebar).get_option("java").prompt)
        assert screen.query_one("#host-address", Input).value == "10.0.0.219"


async def test_a_section_page_switches_with_its_inputs_and_preview(tmp_path):
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "daemon")
        host = app.screen.query_one("#db-host", Input)
        host.focus()
        host.value = ""
        await pilot.press(*"acd-dbm2")
        await choose_language(pilot, "lang", "Français")
        await wait_for(pilot, lambda: page_title(app.screen) == "4. ClientMessenger comme démon", what="French title")
        screen = app.screen
        assert screen.PAGE == "daemon"
        assert "Hôte de la base de données" in texts(screen, Label)
        assert screen.query_one("#db-host", Input).value == "acd-dbm2"
        assert app.data["daemon"]["db_host"] == "acd-dbm2"
        assert "F5 affiche l'aperçu." in [str(w.render()) for w in screen.query("#plan-body")]
        await wait_for(pilot, lambda: "Aperçu" in footer(app.screen), what="French footer")
        assert "Ignorer la section" in footer(app.screen)

        await choose_language(pilot, "english", "English")
        await wait_for(pilot, lambda: page_title(app.screen) == "4. ClientMessenger as a daemon", what="English")
        assert app.screen.query_one("#db-host", Input).value == "acd-dbm2"
        assert "Database host" in texts(app.screen, Label)


async def test_the_app_starts_in_the_language_it_is_given(tmp_path):
    app = make_app(answers=write_site(tmp_path), language="fr")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert page_title(screen) == "Hôtes"
        assert str(screen.query_one("#test", Button).label) == "Tester la connexion (t)"
        assert screen.query_one(Sidebar).border_title == "Sections"
        assert "Enregistrer" in footer(screen)
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Enregistrer les réponses" in titles and "Aller à : 1. Java 8" in titles
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        assert app.screen.query_one(Input).placeholder == "Rechercher une commande…"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="palette closed")
        await goto(pilot, "java")
        assert page_title(app.screen) == "1. Java 8"
        assert "Installer depuis" in texts(app.screen, Label)


async def test_unsaved_changes_dialog_in_german(tmp_path):
    app = make_app(answers=write_site(tmp_path), language="de")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#host-address", Input).focus()
        await pilot.press("end", "9")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="unsaved dialog")
        dialog = app.screen
        assert str(dialog.query_one("#dialog-title", Label).render()) == "Ungespeicherte Änderungen"
        assert str(dialog.query_one("#dialog-text", Static).render()).startswith(
            "Die Antworten haben ungespeicherte Änderungen (site.yaml)")
        assert [str(b.label) for b in dialog.query(Button)] == [
            "Speichern und beenden", "Ohne Speichern beenden", "Bleiben"]
        await pilot.press("enter")                      # "Bleiben" has the focus
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceDialog), what="stayed")
        assert app.is_running and app.screen.PAGE == "hosts"


async def test_the_run_screen_switches_in_place_after_a_failure(tmp_path):
    """Plan, progress, logs and the failure stay (nothing is planned again); its texts follow."""
    from screens.widgets.logview import LogView

    from .test_run import failing, start_run, with_fake_host
    yum, calls = failing(1)
    app = make_app(answers=write_site(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        with_fake_host(app, yum)
        plans = []
        plan = app.session.plan
        app.session.plan = lambda only=None, portal=None: plans.append(1) or plan(only, portal)
        await start_run(pilot)
        screen = app.screen
        log = screen.query_one("#log-chat1", LogView)
        lines = len(log.lines)
        plans.clear()
        await choose_language(pilot, "deutsch", "Deutsch")
        await wait_for(pilot, lambda: str(screen.query_one("#retry", Button).label) == "Wiederholen (r)",
                       what="German buttons")
        assert app.screen is screen and plans == []
        assert page_title(screen) == "Ausführen"
        assert str(screen.query_one("#run-summary").render()).startswith("✗ Ein Schritt ist fehlgeschlagen")
        failure = str(screen.query_one("#failure-text").render())
        assert "Befehl:    yum -y install jdk-8u202-linux-x64.rpm" in failure
        assert "Exit-Code: 1" in failure
        assert screen.query_one("#log-chat1", LogView) is log and len(log.lines) == lines
        await wait_for(pilot, lambda: "Wiederholen" in footer(app.screen), what="German footer")
        assert "Fehler" in str(screen.query_one(Sidebar).get_option("java").prompt)
        await pilot.press("r")                          # still works: plans again, asks in German
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="confirmation")
        assert str(app.screen.query_one("#dialog-title", Label).render()) == "Plan ausführen?"
        assert "3 Änderungen auf 1 Host (chat1) anwenden?" in str(app.screen.query_one("#dialog-text").render())


async def test_the_detection_page_switches_without_detecting_again(tmp_path):
    from textual.widgets import DataTable
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "detection")
        await wait_for(pilot, lambda: app.facts is not None, what="detection")
        app.screen.query_one("#portal-version", Input).value = "3.24"
        detections = []
        app.session.detect = lambda *a, **k: detections.append(1)
        await choose_language(pilot, "langue", "Français")
        await wait_for(pilot, lambda: page_title(app.screen) == "Détection", what="French detection page")
        screen = app.screen
        table = screen.query_one("#facts-table", DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "hôte", "rôles", "OS", "Java 8", "portail", "dépôts Windows"]
        assert table.get_row("sim")[3] == "non"
        assert str(screen.query_one("#detect-status").render()) == "✓ 1 hôte détecté."
        assert screen.query_one("#portal-version", Input).value == "3.24"
        assert detections == []


async def test_a_preview_stays_shown_and_previewed_after_a_switch(tmp_path):
    app = make_app(training=True)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, "java")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.states["java"] == "previewed", what="preview")
        shown = plain(app.screen.query_one("#plan-body", Static).content)
        assert "yum" in shown or "Java 8" in shown
        await choose_language(pilot, "sprache", "Deutsch")
        await wait_for(pilot, lambda: page_title(app.screen) == "1. Java 8" and
                       "Installieren aus" in texts(app.screen, Label), what="German java page")
        await pilot.pause(0.2)
        assert app.states["java"] == "previewed"
        now = plain(app.screen.query_one("#plan-body", Static).content)
        assert "(nur lesende Prüfung)" in now                   # the preview's own words follow,
        assert now.replace("(nur lesende Prüfung)", "(read-only check)") == shown  # the plan stays as built
        assert "Vorschau" in str(app.screen.query_one(Sidebar).get_option("java").prompt)


async def test_the_chosen_language_is_kept_in_the_answers_and_outlives_a_preview(tmp_path):
    """Session.use follows the answers' ui.language: the switch writes it there, so a preview
    (which hands the answers to the session) does not switch back; saving writes it."""
    import yaml
    from screens.model import TRAINING_SAMPLE
    site = dict(yaml.safe_load(TRAINING_SAMPLE.read_text()), ui={"language": "fr"})
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    app = make_app(answers=path, training=True)           # the simulated host: no network
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert i18n.current_language() == "fr"               # the file's ui.language
        assert page_title(app.screen) == "Hôtes"
        await goto(pilot, "java")
        await choose_language(pilot, "sprache", "Deutsch")
        await wait_for(pilot, lambda: page_title(app.screen) == "1. Java 8" and
                       "Installieren aus" in texts(app.screen, Label), what="German")
        assert app.dirty and app.session.language == "de"
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.states["java"] == "previewed", what="preview")
        assert i18n.current_language() == "de"
        assert app.session.answers is not None and app.session.answers.data["ui"]["language"] == "de"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.dirty, what="saved")
    assert yaml.safe_load(path.read_text())["ui"] == {"language": "de"}
