"""Modal dialogs: the host key prompt and the file path prompt."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from wizard.i18n import N_, _


class HostKeyDialog(ModalScreen[bool]):
    """An unknown host key: trust its SHA256 fingerprint, or refuse."""

    BINDINGS = [Binding("y", "answer(True)", N_("Trust")), Binding("n,escape", "answer(False)", N_("Refuse"))]

    def __init__(self, host: str, fingerprint: str, message: str) -> None:
        super().__init__()
        self.host, self.fingerprint, self.message = host, fingerprint, message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(_("Unknown host key for {host}").format(host=f"[b]{self.host}[/b]"), id="dialog-title")
            yield Static(self.message, id="hostkey-message", markup=False)
            yield Label(_("SHA256 fingerprint:"))
            yield Static(self.fingerprint, id="fingerprint", markup=False)
            yield Static(_("Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the server "
                           "(or ask its administrator) before you trust it."), classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Trust (y)"), id="trust", variant="warning", compact=True)
                yield Button(_("Refuse (n)"), id="refuse", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()

    def action_answer(self, trust: bool) -> None:
        self.dismiss(trust)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust")


class PathDialog(ModalScreen[str | None]):
    """Ask for a file path (save as / load)."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, title: str, value: str = "", action: str | None = None) -> None:
        super().__init__()
        self.title_text, self.value, self.action_label = title, value, action or _("OK")

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Input(self.value, placeholder=_("e.g. {example}").format(example="path/to/site.yaml"), id="path", compact=True)
            with Horizontal(classes="buttons"):
                yield Button(self.action_label, id="ok", variant="primary", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        if value:
            self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class SecretDialog(ModalScreen[str | None]):
    """Ask for a secret the keyring needs now (prompt mode, or the keyring file's master password).
    What is typed is never shown."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(_("The keyring needs a secret"), id="dialog-title")
            yield Static(self.prompt, id="secret-prompt", markup=False)
            yield Input(password=True, id="secret", compact=True)
            with Horizontal(classes="buttons"):
                yield Button(_("OK"), id="ok", variant="primary", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        value = self.query_one("#secret", Input).value
        if value:
            self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """A question with a few answers (buttons); Escape answers None. The text scrolls, so
    a long list (the problems of a broken answers file) is never cut off, and it stays until
    the engineer closes it."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, title: str, text: str, choices: list[tuple[str, str, str]],
                 focus: str | None = None, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.title_text, self.text, self.choices = title, text, choices
        self.focus_id = focus or choices[-1][0]
        self.keys = dict(keys or {})            # key -> choice (F9 again confirms a run)

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(self.text, id="dialog-text", markup=False)
            with Horizontal(classes="buttons"):
                for cid, label, variant in self.choices:
                    yield Button(label, id=f"choice-{cid}", variant=variant, compact=True)

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.focus_id}", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))

    def on_key(self, event) -> None:
        if event.key in self.keys:
            event.stop()
            self.dismiss(self.keys[event.key])

    def action_cancel(self) -> None:
        self.dismiss(None)
