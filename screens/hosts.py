"""The inventory: every host the install touches, its roles and how to log in."""
from __future__ import annotations

import copy

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, Select, SelectionList, Static

from wizard.i18n import N_, _

from .base import WizardScreen, describe_error
from .fields import subschema, typed
from .messages import ConnectionTested
from .model import REF, ROLES, host_spec
from .pages import TODO, title
from .widgets.toggles import CheckList

EXPLANATION = N_(
    "Every server the install touches, with its roles: CHAT is the server being installed "
    "(a second one is a replay of the same answers); DATA (database master), TEL and WEB get "
    "the chat server in their hazelcast.xml; LB runs haproxy. Log in as root, or as a user "
    "with sudo. A password is entered once and kept in the keyring: the answers file holds "
    "only its reference. Test a connection before you go on (its host key fingerprint is "
    "shown the first time).")

COLUMNS = ("name", "address", "port", "user", "become", "roles", "password")
HEADINGS = {"name": N_("name"), "address": N_("address"), "port": N_("port"), "user": N_("user"),
            "become": N_("become"), "roles": N_("roles"), "password": N_("password")}


class HostTable(DataTable):
    """The inventory as a table; its keys add, remove and test hosts."""

    BINDINGS = [
        Binding("a", "screen.add_host", N_("Add")),           # short: the footer has 80 columns
        Binding("delete,x", "screen.remove_host", N_("Remove")),
        Binding("t", "screen.test_host", N_("Test")),
    ]


class HostsScreen(WizardScreen):
    PAGE = "hosts"

    def __init__(self, data: dict | None = None) -> None:
        super().__init__()
        hosts = (data or {}).get("hosts") or {}
        self.hosts: list[dict] = [dict(copy.deepcopy(h), name=n) for n, h in hosts.items()]
        self.current: int | None = 0 if self.hosts else None
        self.results: dict[str, str] = {}
        self.result = None              # () -> the test result line, in the current language
        self.result_failed = False

    def compose_main(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(title(self.PAGE), classes="page-title")
            if self.app.training:           # which training scenario, and what to notice in it
                from .scenarios import ScenarioInfo
                yield ScenarioInfo(id="scenario-info")
            yield Static(_(EXPLANATION), classes="explanation", markup=False)
            yield HostTable(id="host-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="buttons"):
                yield Button(_("Add host (a)"), id="add", compact=True)
                yield Button(_("Remove (del)"), id="remove", compact=True)
                yield Button(_("Test connection (t)"), id="test", variant="primary", compact=True)
            yield Static("", id="test-result", markup=False)
            with Vertical(id="host-form"):
                yield Label(_("Selected host"), classes="preview-title")
                for key, label, placeholder in (
                        ("name", _("Inventory name"), _("required, e.g. chat1")),
                        ("address", _("Address (IP, DNS name or ssh config alias)"), _("required, e.g. 10.0.0.21")),
                        ("port", _("SSH port"), _("ssh config, else 22")),
                        ("user", _("Login user"), _("ssh config, else the local user")),
                        ("key_file", _("Private key file"), _("ssh config / agent"))):
                    with Horizontal(classes="field-row"):
                        yield Label(label, classes="field-label")
                        yield Input(id=f"host-{key.replace('_', '-')}", compact=True, placeholder=placeholder)
                    yield Static("", classes="field-error", id=f"host-{key.replace('_', '-')}-error")
                with Horizontal(classes="field-row"):
                    yield Label(_("Become root by"), classes="field-label")
                    yield Select([(_("default (root if the user is root, else sudo)"), "default"),
                                  (_("root: the user is root"), "root"), ("sudo", "sudo")],
                                 value="default", allow_blank=False, id="host-become", compact=True)
                with Horizontal(classes="field-row"):
                    yield Label(_("Password (login and sudo)"), classes="field-label")
                    yield Input(password=True, id="host-password", compact=True)
                with Horizontal(classes="field-row"):
                    yield Label(_("Roles"), classes="field-label")
                    yield CheckList(*((r, r) for r in ROLES), id="host-roles", compact=True)
                yield Static("", classes="field-error", id="host-roles-error")

    def on_mount(self) -> None:
        table = self.query_one(HostTable)
        for c in COLUMNS:
            table.add_column(_(HEADINGS[c]), key=c)
        self.refresh_table()
        self.load_form()
        table.focus()
        if self.result is not None:
            self.show_result(self.result)

    # -- table and form --------------------------------------------------------------------
    def row(self, h: dict) -> tuple:
        return (h["name"], h.get("address") or "", "" if h.get("port") is None else str(h["port"]), h.get("user") or "",
                h.get("become") or "", ",".join(h.get("roles") or ()), h.get("password") or "")

    def refresh_table(self) -> None:
        table = self.query_one(HostTable)
        table.clear()
        for i, h in enumerate(self.hosts):
            table.add_row(*self.row(h), key=str(i))
        if self.current is not None:
            table.move_cursor(row=self.current)

    def load_form(self) -> None:
        """Show the current host in the form (without treating that as an edit)."""
        form = self.query_one("#host-form")
        form.display = self.current is not None
        if self.current is None:
            return
        h = self.hosts[self.current]
        with self.prevent(Input.Changed, Select.Changed, SelectionList.SelectedChanged):
            for key in ("name", "address", "port", "user", "key_file"):
                w = self.query_one(f"#host-{key.replace('_', '-')}", Input)
                w.value = "" if h.get(key) is None else str(h[key])
            self.query_one("#host-become", Select).value = h.get("become") or "default"
            pw = self.query_one("#host-password", Input)
            pw.value = ""
            pw.placeholder = (_("{ref} (type to replace)").format(ref=h["password"]) if h.get("password")
                              else _("optional; kept as keyring:{key}").format(key=f"ssh/{h['name']}"))
            roles = self.query_one("#host-roles", SelectionList)
            roles.deselect_all()
            for r in h.get("roles") or ():
                roles.select(r)
        self.check_roles()
        self.states_changed()

    def name_problem(self, value: str) -> str:
        """A typed inventory name that cannot be taken (the answers are keyed by it)."""
        if not value:
            return _("a host needs a name")
        if any(h["name"] == value for i, h in enumerate(self.hosts) if i != self.current):
            return _("{name} is already in the inventory").format(name=value)
        return ""

    def states_changed(self) -> None:
        """The answers were checked again: each field of the selected host shows its problem."""
        super().states_changed()
        if self.current is None or self.current >= len(self.hosts):
            return
        name = self.hosts[self.current]["name"]
        mine = {p.key: p.text for p in self.app.issues}
        for key in ("name", "address", "port", "user", "key_file"):
            try:
                err = self.query_one(f"#host-{key.replace('_', '-')}-error", Static)
            except Exception:           # not composed yet
                return
            text = mine.get(f"inventory.hosts.{name}" if key == "name" else f"inventory.hosts.{name}.{key}", "")
            if key == "name":
                text = self.name_problem(self.query_one("#host-name", Input).value.strip()) or text
            err.update(text)
            err.set_class(bool(text), "-shown")

    def check_roles(self) -> None:
        roles = self.query_one("#host-roles", SelectionList).selected
        err = self.query_one("#host-roles-error", Static)
        err.update("" if roles else _("give the host at least one role"))
        err.set_class(not roles, "-shown")

    @on(DataTable.RowHighlighted, "#host-table")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != self.current and 0 <= event.cursor_row < len(self.hosts):
            self.store_password()
            self.current = event.cursor_row
            self.load_form()

    @on(Input.Changed, "#host-form Input")
    def field_changed(self, event: Input.Changed) -> None:
        if self.current is None or event.input.id == "host-password":
            return
        key = event.input.id.removeprefix("host-").replace("-", "_")
        value = event.value.strip()
        if key == "name" and self.name_problem(value):
            self.states_changed()
            return
        h = self.hosts[self.current]
        if not value:
            h.pop(key, None)
        else:               # kept as typed: the answers' checks say what is wrong with it
            h[key] = value if key == "name" else typed(value, subschema("inventory", "hosts", "*", key))
        self.edited()

    @on(Select.Changed, "#host-become")
    def become_changed(self, event: Select.Changed) -> None:
        if self.current is not None:
            h = self.hosts[self.current]
            if event.value == "default":
                h.pop("become", None)
            else:
                h["become"] = event.value
            self.edited()

    @on(SelectionList.SelectedChanged, "#host-roles")
    def roles_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self.current is not None:
            self.hosts[self.current]["roles"] = [r for r in ROLES if r in event.selection_list.selected]
            self.check_roles()
            self.edited()

    def edited(self) -> None:
        """The inventory changed: refresh its row, check it; detection must run again."""
        self.app.store(self.PAGE, self.collect(store=False))
        table = self.query_one(HostTable)
        for c, v in zip(COLUMNS, self.row(self.hosts[self.current])):
            table.update_cell(str(self.current), c, v)
        if self.app.states.get("detection") != TODO:
            self.app.set_state("detection", TODO)

    def store_password(self) -> None:
        """A typed password goes to the keyring at once; the host keeps its reference."""
        if self.current is None:
            return
        pw = self.query_one("#host-password", Input)
        if pw.value:
            h = self.hosts[self.current]
            m = REF.match(h.get("password") or "")
            h["password"] = self.app.store_secret(m["key"] if m else f"ssh/{h['name']}", pw.value)
            pw.value = ""
            self.query_one(HostTable).update_cell(str(self.current), "password", h["password"])

    # -- actions ---------------------------------------------------------------------------
    def action_add_host(self) -> None:
        self.store_password()
        names = {h["name"] for h in self.hosts}
        n = len(self.hosts) + 1
        while f"host{n}" in names:
            n += 1
        self.hosts.append({"name": f"host{n}", "address": "", "roles": ["CHAT"]})
        self.current = len(self.hosts) - 1
        self.refresh_table()
        self.load_form()
        self.query_one("#host-address", Input).focus()

    def action_remove_host(self) -> None:
        """Ask first, naming the host (Cancel is the default): del is easily hit."""
        if self.current is None:
            return
        from .dialogs import ChoiceDialog
        index, h = self.current, self.hosts[self.current]
        what = f"{h['name']} ({h['address']})" if h.get("address") else h["name"]

        def answered(choice: str | None) -> None:
            if choice == "remove" and index < len(self.hosts) and self.hosts[index] is h:
                self.remove_host(index)
        self.app.push_screen(ChoiceDialog(
            _("Remove {host} from the inventory?").format(host=h["name"]),
            _("{host} and its settings (roles, login) leave the answers. Nothing changes on "
              "the server.").format(host=what),
            [("remove", _("Remove"), "error"), ("cancel", _("Cancel"), "primary")], focus="cancel"), answered)

    def remove_host(self, index: int) -> None:
        self.current = index
        del self.hosts[self.current]
        self.current = min(self.current, len(self.hosts) - 1) if self.hosts else None
        self.refresh_table()
        self.load_form()
        self.app.store(self.PAGE, self.collect(store=False))

    def action_test_host(self) -> None:
        if self.current is None:
            self.notify(_("Add a host first."), severity="warning")
            return
        self.store_password()
        h = self.hosts[self.current]
        if not h.get("address"):
            self.notify(_("The host needs an address."), severity="error")
            return
        name = h["name"]
        self.show_result(lambda: _("testing {host}…").format(host=name), failed=False)
        self.test_connection(h["name"], {k: v for k, v in h.items() if k != "name"})

    @on(Button.Pressed, "#add")
    def add_pressed(self) -> None:
        self.action_add_host()

    @on(Button.Pressed, "#remove")
    def remove_pressed(self) -> None:
        self.action_remove_host()

    @on(Button.Pressed, "#test")
    def test_pressed(self) -> None:
        self.action_test_host()

    @work(thread=True, exclusive=True, exit_on_error=False, group="test")
    def test_connection(self, name: str, host: dict) -> None:
        try:
            text, ok = self.app.session.test_connection(host_spec(name, host)), True
        except Exception as e:          # reported on screen: the engineer fixes the inventory
            text, ok = describe_error(e), False
        self.post_message(ConnectionTested(name, ok, text))

    @on(ConnectionTested)
    def connection_tested(self, event: ConnectionTested) -> None:
        self.results[event.host] = event.text
        self.show_result(lambda: ("✓ " if event.ok else "✗ ") + event.text, failed=not event.ok)
        self.notify(event.text, title=_("Connection test"), severity="information" if event.ok else "error")

    def show_result(self, text, failed: bool | None = None) -> None:
        """The connection test's line: text() now, and again after a change of language."""
        self.result = text
        result = self.query_one("#test-result", Static)
        result.update(text())
        result.add_class("-shown")          # no blank line on the page until a test ran
        if failed is not None:
            self.result_failed = failed
        result.set_class(self.result_failed, "-failed")

    # -- answers ---------------------------------------------------------------------------
    def collect(self, store: bool = True) -> dict:
        if store:
            self.store_password()
        return {"hosts": {h["name"]: {k: v for k, v in h.items() if k != "name"} for h in self.hosts}}


SCREEN = HostsScreen
