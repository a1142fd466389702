"""F1 help and the key list: two modal screens, and the palette's "Help" and "Keys".

The help text of each page is the core's (wizard/help/<lang>/<page>.md, wizard.help);
the key list is read from the wizard's own bindings (the app's, every page's, and the
current page's widgets defined in screens/), so it never drifts from what the keys do.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static

from wizard import help as pagehelp
from wizard.i18n import N_, _

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from .base import WizardScreen

# what each of the wizard's actions does, as the key list says it ("page:action" first)
DESCRIPTIONS: dict[str, str] = {
    "save": N_("Save the answers (asks for a file name the first time)"),
    "open": N_("Load another answers file"),
    "run": N_("Go to Run; there it saves, then asks before anything runs"),
    "quit": N_("Quit (asks first when the answers are not saved)"),
    "help": N_("Help for this page: what it does, why, where the vendor page is wrong"),
    "keys": N_("This list of keys"),
    "command_palette": N_("Command palette: save, load, run, verify, go to any page, help, keys"),
    "go(1)": N_("Next page"),
    "go(-1)": N_("Previous page"),
    "preview": N_("Preview this section: its commands and file diffs"),
    "toggle_skip": N_("Skip this section (again: take it back)"),
    "detect": N_("Detect the hosts again"),
    "run:run": N_("Run: asks \"Apply N changes on M hosts?\"; F9 again runs exactly that plan"),
    "run:build": N_("Build the plan again"),
    "stop": N_("Stop after the current step"),
    "retry": N_("After a failure: plan again from the journal, ask, run"),
    "skip_step": N_("After a failure: skip the failed step"),
    "abort": N_("After a failure: abort the run (the report is written)"),
    "rewrite": N_("Write the report again, with the manual steps ticked since"),
    "screen.add_host": N_("Add a host (hosts table)"),
    "screen.remove_host": N_("Remove the selected host (hosts table)"),
    "screen.test_host": N_("Test the selected host's connection (hosts table)"),
}

KEY_NAMES = {"delete": "del", "escape": "Esc", "enter": "Enter", "space": "Space"}


def key_text(keys: str) -> str:
    """'ctrl+s' → 'ctrl+s', 'f9' → 'F9', 'delete,x' → 'del / x'."""
    out = []
    for key in keys.split(","):
        key = key.strip()
        if re.fullmatch(r"f\d+", key):
            out.append(key.upper())
        else:
            out.append("+".join(KEY_NAMES.get(p, p) for p in key.split("+")))
    return " / ".join(out)


def own_bindings(node: object) -> list[Binding]:
    """The bindings the wizard itself declares on `node`'s classes (not textual's)."""
    out: list[Binding] = []
    for cls in reversed(type(node).__mro__):
        if cls.__module__.startswith("screens.") and "BINDINGS" in cls.__dict__:
            out.extend(b if isinstance(b, Binding) else Binding(*b) for b in cls.__dict__["BINDINGS"])
    return out


def describe(binding: Binding, page: str = "") -> str:
    text = DESCRIPTIONS.get(f"{page}:{binding.action}") or DESCRIPTIONS.get(binding.action)
    return _(text) if text else _(binding.description)


def page_screen(app: App) -> WizardScreen | None:
    """The wizard page under any dialogs (None before the first page is shown)."""
    from .base import WizardScreen
    return next((s for s in reversed(app.screen_stack) if isinstance(s, WizardScreen)), None)


def key_rows(app: App, screen: Screen | None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """([(key, what)] everywhere, [(key, what)] on this page)."""
    from .base import WizardScreen
    everywhere = [*own_bindings(app), *WizardScreen.BINDINGS]
    rows = [(key_text(b.key), describe(b)) for b in everywhere]
    rows.append((key_text(app.COMMAND_PALETTE_BINDING), _(DESCRIPTIONS["command_palette"])))
    here: list[tuple[str, str]] = []
    if screen is not None:
        page = getattr(screen, "PAGE", "")
        base = {id(b) for b in WizardScreen.BINDINGS}
        found = [b for b in own_bindings(screen) if id(b) not in base]
        for widget in screen.query("*"):
            found.extend(own_bindings(widget))
        seen: set[tuple[str, str]] = set()
        for b in found:
            if (b.key, b.action) not in seen:
                seen.add((b.key, b.action))
                here.append((key_text(b.key), describe(b, page)))
    return rows, here


def key_groups(app: App, screen: Screen | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(heading, [(key, what)])]: everywhere, then on the page under the list (if it binds any)."""
    from .pages import TITLES
    everywhere, here = key_rows(app, screen)
    groups = [(_("Everywhere"), everywhere)]
    if here:
        page = getattr(screen, "PAGE", "")
        groups.append((_("On this page: {page}").format(page=_(TITLES.get(page, page))), here))
    return groups


def keys_text(groups: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """The key list as plain text (what the keys screen shows)."""
    return "\n".join(f"{title}\n" + "".join(f"  {k:<10} {d}\n" for k, d in rows) for title, rows in groups)


def key_table(rows: list[tuple[str, str]]):
    from rich.table import Table
    table = Table(box=None, show_header=False, pad_edge=False, expand=True, padding=(0, 2, 0, 0))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for key, what in rows:
        table.add_row(key, what)
    return table


# the dialog both screens share (each class gets it with its own name: DEFAULT_CSS is scoped)
DIALOG_CSS = """
SCREEN { align: center middle; }
SCREEN .help-dialog {
    width: 100%; max-width: 96; height: 100%; max-height: 40;
    border: thick $primary; background: $surface; padding: 0 1;
}
SCREEN .help-body { height: 1fr; }
SCREEN .help-body Markdown { margin: 0; padding: 0; }
SCREEN .help-body MarkdownH1 { content-align: left top; margin: 0 0 1 0; }
SCREEN .help-body MarkdownH2 { margin: 1 0 0 0; }
SCREEN .help-body MarkdownParagraph, SCREEN .help-body MarkdownBulletList { margin: 0 0 1 0; }
SCREEN .keys-heading { text-style: bold; color: $accent; }
SCREEN .keys-table { margin: 0 0 1 0; }
SCREEN .help-hint { color: $text-muted; height: 1; }
"""


class HelpDialog(ModalScreen[None]):
    """What the help and the key list share: a scrolling body with the focus, closed by a key."""

    def on_mount(self) -> None:
        self.query_one(".help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        show_help(self.app)             # closes this one first

    def action_keys(self) -> None:
        show_keys(self.app)


class HelpScreen(HelpDialog):
    """One page's help (wizard/help/<lang>/<page>.md) in a scrollable Markdown view."""

    BINDINGS = [
        Binding("escape,f1,q", "close", N_("Close")),
        Binding("k", "keys", N_("Keys")),
    ]
    DEFAULT_CSS = DIALOG_CSS.replace("SCREEN", "HelpScreen")

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.text = pagehelp.markdown(page)

    def compose(self) -> ComposeResult:
        with Vertical(classes="help-dialog", id="help"):
            with VerticalScroll(classes="help-body", id="help-body"):
                yield Markdown(self.text, id="help-text")
            yield Label(_("↑↓ PgUp PgDn scroll · k keys · Esc, F1 or q closes"), classes="help-hint")


class KeysScreen(HelpDialog):
    """The wizard's own keys: everywhere, and on the page under it."""

    BINDINGS = [
        Binding("escape,q", "close", N_("Close")),
        Binding("f1", "help", N_("Help")),
    ]
    DEFAULT_CSS = DIALOG_CSS.replace("SCREEN", "KeysScreen")

    def __init__(self, screen: Screen | None) -> None:
        super().__init__()
        self.under = screen
        self.text = ""

    def compose(self) -> ComposeResult:
        groups = key_groups(self.app, self.under)
        self.text = keys_text(groups)
        with Vertical(classes="help-dialog", id="keys"):
            yield Static(_("Keys"), classes="page-title")
            with VerticalScroll(classes="help-body", id="keys-body"):
                for title, rows in groups:
                    yield Static(title, classes="keys-heading", markup=False)
                    yield Static(key_table(rows), classes="keys-table")
            yield Label(_("F1 help for this page · Esc or q closes"), classes="help-hint")


def show_help(app: App) -> None:
    """F1: the help of the page that is shown (under any dialog)."""
    if isinstance(app.screen, HelpDialog):
        app.screen.dismiss(None)
    page = page_screen(app)
    app.push_screen(HelpScreen(page.PAGE if page is not None else "hosts"))


def show_keys(app: App) -> None:
    """The key list of the page that is shown (under any dialog)."""
    if isinstance(app.screen, HelpDialog):
        app.screen.dismiss(None)
    app.push_screen(KeysScreen(page_screen(app)))


class HelpCommands(Provider):
    """The palette's "Help" and "Keys", found by their name in English, German or French
    whatever language the wizard speaks (an engineer types the word they think in)."""

    def commands(self) -> list[tuple[str, str, tuple[str, ...], object]]:
        app = self.app
        return [
            (_("Help"), _("What this page does, why, and where the vendor page is wrong (F1)"),
             ("help", "hilfe", "aide"), lambda: show_help(app)),
            (_("Keys"), _("The wizard's keys, everywhere and on this page"),
             ("keys", "tasten", "touches"), lambda: show_keys(app)),
        ]

    async def discover(self) -> Hits:
        for title, text, _words, command in self.commands():
            yield DiscoveryHit(title, command, help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, text, words, command in self.commands():
            on_title = matcher.match(title)
            score = max(on_title, *(matcher.match(w) for w in words))
            if score > 0:
                yield Hit(score, matcher.highlight(title) if on_title else title, command, text=title,
                          help=text)

