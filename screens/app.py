"""The wizard application: owns the answers, the page order and the page states.

`run_app()` is what `chatwizard` (without a subcommand) calls. The app gets its
`wizard.session.Session` injected (training or real): connections, detection, plans,
runs and reports are the core's, the same as the CLI's. Pages are imported when first
shown, and the core's heavy parts only inside workers, so the first screen comes up fast.
"""
from __future__ import annotations

import copy
import importlib
import logging
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from wizard.i18n import N_, _
from wizard.session import Session

from . import model
from .commands import WizardCommands
from .language import LanguageCommands
from .messages import PageLeft
from .pages import DONE, PAGES, PROBLEM_PAGE, SECTIONS, SKIPPED, TODO, title

log = logging.getLogger("screens.app")

# which answers key each page edits (sections edit their own key)
SLICES = {"hosts": "inventory", "portal": "portal", "detection": "portal"}

NEW = N_("new answers")             # the source of answers not yet in a file (shown translated)

# Textual's own palette commands and footer key, so that they follow the language too
N_("Theme"), N_("Change the current theme"), N_("Quit"), N_("Quit the application as soon as possible")
N_("Keys"), N_("Hide the keys and widget help panel")
N_("Show help for the focused widget and a summary of available keys")
N_("Minimize"), N_("Minimize the widget and restore to normal size"), N_("Maximize")
N_("Maximize the focused widget"), N_("Screenshot"), N_("Save an SVG 'screenshot' of the current screen")


def help_commands():
    """The palette's "Help" and "Keys" (imported when the palette first opens)."""
    from .help import HelpCommands
    return HelpCommands


class WizardApp(App[int]):
    """The chat-role wizard."""

    CSS_PATH = "wizard.tcss"
    # the wizard's commands in its order (screens/commands.py); "Help" and "Keys" (screens/help.py)
    # and the languages (screens/language.py)
    COMMANDS = {WizardCommands, help_commands, LanguageCommands}
    TITLE = "chat-role wizard"
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save")),
        Binding("ctrl+o", "open", N_("Open")),
        Binding("f9", "run", N_("Run"), priority=False),
        Binding("ctrl+q", "quit", N_("Quit")),
        Binding("f1", "help", N_("Help")),
    ]

    def __init__(self, *, session: Session | None = None, answers: str | Path | None = None,
                 training: bool = False, keyring_mode: str | None = None, data: dict | None = None,
                 clock: Callable[[], float] = time.time, scenario: str | None = None,
                 pick_scenario: bool = False, language: str | None = None) -> None:
        super().__init__()
        if session is None:
            session = Session(training=training, keyring_mode=keyring_mode, clock=clock, scenario=scenario)
        self.pick_scenario = pick_scenario and session.training     # the picker first
        session.ask_secret = session.ask_secret or self.ask_secret
        session.ask_host_key = session.ask_host_key or self.ask_host_key
        self.session = session
        self.training = session.training
        self.clock = clock
        self.problems: list[str] = []           # what loading the file said (shown once)
        self.issues: list = []                  # wizard.session.Problem: the answers as they are now
        self.path: Path | None = Path(answers) if answers else None
        if data is not None:
            self.data, self.source = copy.deepcopy(data), str(self.path or NEW)
        elif self.path is not None and self.path.exists():
            self.data, self.problems = model.load(self.path)
            self.source = str(self.path)
        elif self.training:
            self.data, self.source = model.training_sample()
        else:                                   # a new file: saved there on ctrl+s
            self.data, self.source = model.blank(), str(self.path or NEW)
        self.sidebar_hidden = False             # F2 on a wide terminal (screens/base.py)
        self.states: dict[str, str] = {p: TODO for p in PAGES}
        for name in self.skipped():
            self.states[name] = SKIPPED
        self.facts: dict | None = None
        self.portal = None
        self.report_text: str | None = None
        self.report_path: Path | None = None
        self.started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
        self.saved = model.clean(copy.deepcopy(self.data))     # what the file on disk says
        if language is not None:        # else the one in use: --lang, the answers' ui.language, the locale
            code = self.session.set_language(language)
            ui = self.data.get("ui") or {}
            if ui.get("language") not in (None, code):      # the answers would switch it back
                self.data["ui"] = {**ui, "language": code}
        self.sub_title = self.subtitle()
        # the whole check (jsonschema, ~0.1 s) runs once the first screen is drawn (on_mount)

    def on_mount(self) -> None:
        self.show_page("hosts")
        self.call_after_refresh(self.revalidate)      # the pages' problem marks follow at once
        if self.problems:
            self.show_load_problems(self.problems)
        if self.pick_scenario:
            self.action_choose_scenario()

    def get_key_display(self, binding: Binding) -> str:
        """Function keys as printed on the keyboard (F9, not f9)."""
        if binding.key_display is None and binding.key[:1] == "f" and binding.key[1:].isdigit():
            return binding.key.upper()
        return super().get_key_display(binding)

    # -- unsaved changes and problems ------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """The answers differ from the file they were loaded from or saved to."""
        return model.clean(copy.deepcopy(self.data)) != self.saved

    def revalidate(self) -> None:
        """Check the whole answers (schema and cross-section checks, the same as the CLI's)
        and mark every page that has a problem."""
        _valid, self.issues = self.session.validate(model.clean(copy.deepcopy(self.data)), "answers")
        from .base import WizardScreen
        if self.is_running and isinstance(self.screen, WizardScreen):
            self.screen.states_changed()

    def problem_pages(self) -> dict[str, list]:
        """{page: [problems]} of the answers as they are now."""
        out: dict[str, list] = {}
        for p in self.issues:
            out.setdefault(PROBLEM_PAGE.get(p.section, p.section if p.section in PAGES else "hosts"), []).append(p)
        return out

    def refuse_with_problems(self, what: str) -> bool:
        """True (and the problems shown until closed) when the answers have problems."""
        self.collect_current()
        if not self.issues:
            return False
        from .dialogs import ChoiceDialog
        lines = [f"{title(page)}: {p}" for page, ps in self.problem_pages().items() for p in ps]
        self.push_screen(ChoiceDialog(_("{what}: fix these first").format(what=what), "\n".join(lines),
                                      [("ok", _("Close"), "primary")]))
        return True

    def subtitle(self) -> str:
        where = Path(self.source).name if self.path or Path(self.source).is_absolute() else _(self.source)
        if self.training and self.session.scenario not in (None, "centos7"):
            return _("TRAINING: {scenario} · {where}").format(scenario=self.session.scenario, where=where)
        return _("TRAINING: simulated CentOS 7 host · {source}").format(source=where) if self.training else where

    # -- pages -----------------------------------------------------------------------------
    def show_load_problems(self, problems: list[str]) -> None:
        """Every problem of a file just loaded, in a dialog that stays until closed."""
        from .dialogs import ChoiceDialog
        self.push_screen(ChoiceDialog(_("The answers file has problems"), "\n".join(problems),
                                      [("ok", _("Close"), "primary")]))

    def page_screen(self, name: str) -> Screen:
        module = importlib.import_module(f"screens.{name}")
        return module.SCREEN(self.slice(name))

    def show_page(self, name: str) -> None:
        self.push_screen(self.page_screen(name), self.page_left)

    def page_left(self, result: PageLeft | None) -> None:
        if result is None:
            return
        if result.data is not None:
            self.store(result.page, result.data)
        if result.goto:
            self.show_page(result.goto)

    def goto(self, name: str) -> None:
        """Leave the current page (keeping its answers) for `name`."""
        from .base import WizardScreen
        if isinstance(self.screen, WizardScreen):
            self.screen.leave(name)

    def slice(self, page: str) -> object:
        if page in ("run", "report"):
            return None
        return copy.deepcopy(self.data.get(SLICES.get(page, page)) or {})

    def store(self, page: str, data: object) -> None:
        """Take a page's slice back into the answers."""
        if page in ("run", "report") or data is None:
            return
        key = SLICES.get(page, page)
        if key == "inventory" and data != self.data.get("inventory"):
            self.facts = None                       # another inventory: detect again
        self.data[key] = copy.deepcopy(data)
        self.revalidate()

    def snapshot(self) -> dict:
        """A copy of the answers for a worker."""
        return copy.deepcopy(self.data)

    def detectable(self, data: dict, source: str):
        """(Answers without the hosts whose own entry has a problem, {host: why}): those
        hosts are left out of detection, the others are still read. A problem elsewhere
        (AnswersError) stops it, with every problem listed."""
        from wizard.errors import AnswersError
        data = model.clean(copy.deepcopy(data))
        _valid, problems = self.session.validate(data, source)
        hosts = (data.get("inventory") or {}).get("hosts") or {}
        skipped: dict[str, str] = {}
        for p in problems:
            for name in hosts:
                if p.key.startswith(f"inventory.hosts.{name}.") or p.key == f"inventory.hosts.{name}":
                    skipped.setdefault(name, _("not detected: {problem}").format(problem=p))
        for name in skipped:
            hosts.pop(name, None)
        if skipped and not hosts:
            raise AnswersError([why for why in skipped.values()])
        return model.to_answers(data, source), skipped

    def answers_for(self, data: dict, source: str):
        """The core's Answers for `data` (validated; AnswersError lists every problem)."""
        return model.to_answers(data, source)

    def roles(self) -> dict[str, list[str]]:
        hosts = (self.data.get("inventory") or {}).get("hosts") or {}
        return {n: list(h.get("roles") or ()) for n, h in hosts.items()}

    def skipped(self) -> list[str]:
        return list((self.data.get("sections") or {}).get("skip") or [])

    def set_state(self, page: str, state: str) -> None:
        if self.states.get(page) == state:
            return
        self.states[page] = state
        from .base import WizardScreen
        if isinstance(self.screen, WizardScreen):
            self.screen.states_changed()

    def toggle_skip(self, section: str) -> None:
        skip = self.skipped()
        if section in skip:
            skip.remove(section)
            self.set_state(section, TODO)
            self.notify(_("{section} will run.").format(section=title(section)))
        else:
            skip.append(section)
            self.set_state(section, SKIPPED)
            self.notify(_("{section} is skipped (ctrl+t takes it back).").format(section=title(section)))
        skip = [s for s in SECTIONS if s in skip]
        self.data.setdefault("sections", {})["skip"] = skip
        self.revalidate()

    def collect_current(self) -> None:
        """Take the current page's inputs into the answers (before save, preview, run)."""
        from .base import WizardScreen
        if isinstance(self.screen, WizardScreen):
            self.store(self.screen.PAGE, self.screen.collect())

    # -- save and load ---------------------------------------------------------------------
    def action_save(self) -> None:
        self.collect_current()
        if self.path is None:
            self.action_save_as()
        else:
            self.save_to(self.path)

    def action_save_as(self) -> None:
        from .dialogs import PathDialog
        self.collect_current()
        default = str(self.path) if self.path else "site.yaml"
        self.push_screen(PathDialog(_("Save the answers as"), default, _("Save")),
                         lambda p: p and self.save_to(Path(p).expanduser()))

    def save_to(self, path: Path) -> None:
        try:
            problems = model.save(self.data, path)
        except OSError as e:
            self.notify(f"{path}: {e.strerror}", title=_("Not saved"), severity="error")
            return
        self.path, self.source = path, str(path)
        self.saved = model.clean(copy.deepcopy(self.data))
        self.sub_title = self.subtitle()
        self.notify(_("Saved to {path}").format(path=shown(path)), title=_("Answers saved"))
        if problems:
            self.notify("\n".join(problems[:8]), title=_("Saved, but the answers are incomplete"),
                        severity="warning", timeout=10)

    def action_open(self) -> None:
        from .dialogs import PathDialog
        self.push_screen(PathDialog(_("Load answers from"), str(self.path or ""), _("Load")),
                         lambda p: p and self.load_from(Path(p).expanduser()))

    def load_from(self, path: Path) -> None:
        from wizard.errors import WizardError
        try:
            data, problems = model.load(path)
        except (OSError, WizardError) as e:
            self.notify(str(e), title=_("Not loaded"), severity="error")
            return
        self.data, self.path, self.source, self.problems = data, path, str(path), problems
        self.saved = model.clean(copy.deepcopy(self.data))
        self.revalidate()
        self.facts, self.portal = None, None
        self.states = {p: TODO for p in PAGES}
        for name in self.skipped():
            self.states[name] = SKIPPED
        self.sub_title = self.subtitle()
        self.notify(_("Loaded {path}").format(path=path), title=_("Answers loaded"))
        if problems:
            self.show_load_problems(problems)
        self.reshow(keep=False)

    def reshow(self, keep: bool) -> None:
        """Show the current page anew (prefilled from the answers); keep=True keeps its inputs."""
        from .base import WizardScreen
        if isinstance(self.screen, WizardScreen):
            page = self.screen.PAGE
            self.screen.dismiss(PageLeft(page, self.screen.collect() if keep else None, page))

    # -- preview, run, report --------------------------------------------------------------
    def action_preview(self) -> None:
        from .base import SectionScreen
        if isinstance(self.screen, SectionScreen):
            self.screen.action_preview()
        else:
            self.notify(_("Preview works on a section page (or Run shows the whole plan)."))

    def action_run(self) -> None:
        from .run import RunScreen
        if isinstance(self.screen, RunScreen):
            self.screen.action_run()
        else:
            self.goto("run")

    def log_path(self, host: str) -> Path:
        """The full log of one host for this session's runs."""
        from wizard.logs import log_dir
        return log_dir() / f"{self.started}-tui-{host.replace('/', '_')}.log"

    def write_report(self, outcome: str) -> None:
        """The run's report, written by the session to a new timestamped file."""
        try:
            self.report_path, self.report_text = self.session.write_report(outcome)
        except OSError as e:
            self.notify(f"{e.filename}: {e.strerror}", title=_("Report not saved"), severity="error")
            return
        self.set_state("report", DONE)
        self.notify(_("Saved as {path}").format(path=shown(self.report_path)), title=_("Install report"))

    # -- manual steps in the portal UI (wizard.acks) -----------------------------------------
    def manual_items(self) -> tuple[list, str | None]:
        """(the manual portal-UI items of the answers as they are now, why there are none:
        the answers' first problem, or None)."""
        from wizard.errors import WizardError
        try:
            return self.session.manual_items(self.answers_for(self.snapshot(), self.source)), None
        except WizardError as e:
            return [], str(e).splitlines()[0]

    def ack(self, item, ticked: bool):
        """Tick (or untick) one item now; where it stands afterwards (None: not recorded)."""
        from wizard.errors import WizardError
        from wizard.i18n import _
        try:
            answers = self.answers_for(self.snapshot(), self.source)
            self.session.ack([item.id], ticked, answers=answers, source=self.source)
            [state] = self.session.ack_states([item], self.source)
        except (OSError, WizardError) as e:
            self.notify(str(e), title=_("Tick not recorded"), severity="error")
            return None
        if self.session.acks(self.source).path is None:
            self.notify(_("Kept with the answers: written beside them when they are saved."),
                        title=_("Tick recorded"))
        return state

    def manual_summary(self) -> str | None:
        """'N manual steps in the portal not confirmed: …' (None: all confirmed, or none)."""
        from wizard import acks
        items, _problem = self.manual_items()
        return acks.summary_line(self.session.ack_states(items, self.source)) if items else None

    def rewrite_report(self) -> None:
        """The last run's report again, as a new file, with the ticks as they are now."""
        record = self.session.record
        if record is not None and self.report_text is not None:
            self.write_report(record.outcome)

    def save_before_run(self, then: Callable[[], None]) -> None:
        """The answers on disk must be what runs (the report names the file): saved first,
        or the run is refused. Training's own sample is saved in the state folder."""
        self.collect_current()
        if not self.dirty and (self.path is not None or self.training):
            then()
            return
        if self.path is not None and not self.session._builtin(self.path):
            self.save_to(self.path)
            if not self.dirty:
                then()
            return
        if self.training:
            from wizard.journal import state_dir
            self.save_to(state_dir() / "training-answers.yaml")
            if not self.dirty:
                then()
            return
        from .dialogs import PathDialog

        def chosen(p: str | None) -> None:
            if not p:
                self.notify(_("Not run: save the answers first, so that the report and the file agree."),
                            severity="warning")
                return
            self.save_to(Path(p).expanduser())
            if not self.dirty:
                then()
        self.push_screen(PathDialog(_("Save the answers before the run, as"), "site.yaml", _("Save")), chosen)

    # -- secrets -----------------------------------------------------------------------------
    def store_secret(self, key: str, value: str) -> str:
        """A typed secret goes to the keyring (on its own thread); the answers get the reference."""
        def failed(text: str) -> None:
            self.call_from_thread(self.notify, text, title=_("Not stored in the keyring"), severity="error",
                                  timeout=15)
        return self.session.store_secret_later(key, value, failed)

    def ask_secret(self, what: str, keypath: str | None = None) -> str:
        """The keyring needs a secret now (prompt mode, a keyring file's master password):
        ask in a modal from the worker thread that needs it."""
        from wizard.errors import SecretError
        from .dialogs import SecretDialog
        if threading.get_ident() == self._thread_id:
            raise SecretError(_("{what}: cannot ask from the event loop").format(what=what))
        if what.endswith(": "):
            prompt = what
        elif keypath:
            prompt = _("Secret {what} ({keypath}):").format(what=what, keypath=keypath)
        else:
            prompt = _("Secret {what}:").format(what=what)
        answer: Future[str | None] = Future()
        self.call_from_thread(self.push_screen, SecretDialog(prompt.rstrip()), answer.set_result)
        value = self.wait_for_answer(answer)
        if not value:
            raise SecretError(_("{what}: not given").format(what=what.rstrip(": ")))
        return value

    # -- host keys (called from worker threads) --------------------------------------------
    def ask_host_key(self, err) -> bool:
        """Show the unknown host key's SHA256 fingerprint and wait for the engineer's answer."""
        from .dialogs import HostKeyDialog
        if threading.get_ident() == self._thread_id:
            return False                            # never block the event loop
        answer: Future[bool] = Future()
        self.call_from_thread(self.push_screen, HostKeyDialog(err.host, err.fingerprint, str(err)),
                              answer.set_result)
        return bool(self.wait_for_answer(answer))

    def wait_for_answer(self, answer: Future):
        """A dialog's answer, in a worker thread; None when the app closes first."""
        from concurrent.futures import TimeoutError as Pending
        while True:
            try:
                return answer.result(timeout=0.2)
            except Pending:
                if not self.is_running:
                    return None

    # -- command palette -------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette's commands, the wizard's first and its pages in the procedure's
        order (screens/commands.py lists and matches them), then Textual's."""
        yield SystemCommand(_("Save answers"), _("Write the answers file (ctrl+s)"), self.action_save)
        yield SystemCommand(_("Save as…"), _("Write the answers to another file"), self.action_save_as)
        yield SystemCommand(_("Load answers…"), _("Open an answers file; every page is prefilled (ctrl+o)"),
                            self.action_open)
        yield SystemCommand(_("Preview this section"), _("Show the commands and diffs this section will run (F5)"),
                            self.action_preview)
        yield SystemCommand(_("Run"), _("Preview the whole plan, then run it (F9)"), self.action_run)
        yield SystemCommand(_("Verify (section 11)"), _("Check, read-only, that chat works end to end "
                            "(daemon, cluster port, WebSocket through the load balancers, WhatsApp)"),
                            self.action_verify)
        if self.training:
            yield SystemCommand(_("Reset the training host"), _("Start the simulated host over, as freshly installed"),
                                self.action_reset_training)
            yield SystemCommand(_("Training scenario…"),
                                _("Train on another simulated site (CentOS 6, a Windows repository, a "
                                  "failing step, an unknown host key…)"), self.action_choose_scenario)
        for page in PAGES:
            yield SystemCommand(_("Go to: {page}").format(page=title(page)),
                                _("Show the {page} page").format(page=title(page)),
                                lambda page=page: self.goto(page))
        # textual's "Keys" (its generic key panel) is replaced by ours: screens/help.py
        theirs = (self.action_show_help_panel, self.action_hide_help_panel)
        for command in super().get_system_commands(screen):      # Textual's own, in our language
            if command.callback not in theirs:
                yield command._replace(title=_(command.title), help=_(command.help))

    def action_command_palette(self) -> None:
        """Textual's palette, with its prompt in the wizard's language."""
        from textual.command import CommandPalette
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(placeholder=_("Search for commands…"), id="--command-palette"))

    # -- language ----------------------------------------------------------------------------
    def switch_language(self, code: str) -> None:
        """Every text in `code` from now on (the palette's language commands): the current
        page is shown again in it, with what was typed, and so are its sidebar and footer."""
        from .language import relabel
        code = self.session.set_language(code)      # wizard.i18n, and the session's answers
        # the answers here keep it too (saving writes it, and Session.use follows it)
        self.data["ui"] = {**(self.data.get("ui") or {}), "language": code}
        self.revalidate()
        self.call_later(relabel, self)

    def action_help(self) -> None:
        """F1: the help of the page that is shown."""
        from .help import show_help
        show_help(self)

    def action_keys(self) -> None:
        from .help import show_keys
        show_keys(self)

    def action_verify(self) -> None:
        if self.refuse_with_problems(_("Verify")):
            return
        self.notify(_("Verifying (read-only)…"), title=_("11. Verify"))
        self.verify(self.snapshot(), self.source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def verify(self, data: dict, source: str) -> None:
        """Section 11 on the session; the result in a dialog that stays, and in the report
        of the last run when there is one."""
        from wizard.verify import render_lines, render_markdown
        from .base import describe_error
        from .dialogs import ChoiceDialog
        try:
            self.session.use(self.answers_for(data, source))
            checks = self.session.verify()
        except Exception as e:          # shown to the engineer
            self.call_from_thread(self.notify, describe_error(e), title=_("Verify failed"), severity="error")
            return
        bad = sum(1 for c in checks if not c.ok)
        heading = _("11. Verify: {passed} of {total} checks passed").format(passed=len(checks) - bad,
                                                                          total=len(checks))
        record = self.session.record
        if record is not None:              # the last run's report again, with the Verify table
            record.extra = [x for x in record.extra if x[0] != "Verify (section 11)"]
            record.extra.append(("Verify (section 11)", render_markdown(checks)))
            outcome = record.outcome.split("; verify:")[0]
            self.call_from_thread(self.write_report, f"{outcome}; verify: {len(checks) - bad} of "
                                                     f"{len(checks)} checks passed")
        self.call_from_thread(self.push_screen, ChoiceDialog(heading, "\n".join(render_lines(checks)),
                                                             [("ok", _("Close"), "primary")]))

    def action_reset_training(self) -> None:
        from .run import RunScreen
        if isinstance(self.screen, RunScreen) and self.screen.running:
            self.notify(_("Stop the run first."), severity="warning")
            return
        self.reset_training()

    def action_choose_scenario(self) -> None:
        """The scenario picker; a new choice switches the session to that scenario's host."""
        from .run import RunScreen
        from .scenarios import ScenarioPicker
        if isinstance(self.screen, RunScreen) and self.screen.running:
            self.notify(_("Stop the run first."), severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name and name != self.session.scenario:
                self.switch_scenario(name)
        self.push_screen(ScenarioPicker(self.session.scenario), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reset")
    def switch_scenario(self, name: str) -> None:
        self.session.set_scenario(name)         # waits for host work in progress (the session lock)
        self.call_from_thread(self.scenario_switched)

    def scenario_switched(self) -> None:
        from .scenarios import scenario
        self.facts, self.portal = None, None
        self.states = {p: SKIPPED if p in self.skipped() else TODO for p in PAGES}
        self.sub_title = self.subtitle()
        self.reshow(keep=True)
        sc = scenario(self.session.scenario)
        self.notify(_(sc.notice), title=_("Training scenario: {title}").format(title=_(sc.title)), timeout=10)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reset")
    def reset_training(self) -> None:
        self.session.reset_training()           # the host and its journals: a fresh plan next
        self.call_from_thread(self.training_reset)

    def training_reset(self) -> None:
        self.facts, self.portal = None, None
        self.states = {p: SKIPPED if p in self.skipped() else TODO for p in PAGES}
        from .run import RunScreen
        if isinstance(self.screen, RunScreen):
            self.screen.action_build()
        else:
            self.reshow(keep=True)
        self.notify(_("The simulated host is as freshly installed again."), title=_("Training host reset"))

    # -- quitting --------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit; with unsaved changes, ask first (save, discard, or stay)."""
        from .run import RunScreen
        if isinstance(self.screen, RunScreen) and self.screen.running:
            self.notify(_("A run is in progress: stop it first (ctrl+x), then quit."), severity="warning")
            return
        self.collect_current()
        if not self.dirty:
            self.exit(0)
            return
        from .dialogs import ChoiceDialog

        def answered(choice: str | None) -> None:
            if choice == "discard":
                self.exit(0)
            elif choice == "save":
                if self.path is None or self.session._builtin(self.path):
                    self.action_save_as()
                    return
                self.save_to(self.path)
                if not self.dirty:
                    self.exit(0)
        where = shown(self.path) if self.path else _("no file yet")
        self.push_screen(ChoiceDialog(_("Unsaved changes"),
                                      _("The answers have changes that are not saved ({where}).").format(where=where),
                                      [("save", _("Save and quit"), "primary"),
                                       ("discard", _("Quit without saving"), "error"),
                                       ("cancel", _("Stay"), "default")], focus="cancel"), answered)

    def on_unmount(self) -> None:
        self.session.close()


def shown(path: Path) -> str:
    """A path as the engineer reads it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_app(answers: str | None = None, training: bool = False, keyring_mode: str | None = None,
            scenario: str | None = None) -> int:
    """Start the TUI; returns the process exit code. Training without a scenario named on
    the command line starts with the scenario picker."""
    from wizard.logs import start_run_log
    training = training or scenario is not None
    start_run_log("tui-training" if training else "tui")     # masked; the core logs there
    session = Session(training=training, keyring_mode=keyring_mode, scenario=scenario)
    app = WizardApp(session=session, answers=answers, pick_scenario=training and scenario is None)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
