"""What the hosts are: OS, Java, portal version and where it came from, Windows-hosted
repositories. A wrong guess is corrected here (the portal version goes into the answers)."""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from wizard.i18n import N_, _, ngettext

from .base import WizardScreen, describe_error
from .fields import subschema, typed
from .messages import HostsDetected, WorkFailed
from .pages import DONE, FAILED, title

EXPLANATION = N_(
    "The wizard reads each host without changing anything: the CentOS release, whether a Java 8 "
    "is installed, the portal version (and the file it was read from) and whether the "
    "repositories live on a Windows machine (CRLF files, a CIFS mount). When the portal version "
    "is wrong (or not found), correct it here: the answers keep it for the replay.")

# the facts table: column key -> heading
COLUMNS = (("host", N_("host")), ("roles", N_("roles")), ("OS", N_("OS")), ("Java 8", N_("Java 8")),
           ("portal", N_("portal")), ("Windows repos", N_("Windows repos")))


class DetectionScreen(WizardScreen):
    PAGE = "detection"
    BINDINGS = [Binding("f5", "detect", N_("Detect again"))]

    def __init__(self, data: dict | None = None) -> None:
        super().__init__()
        self.portal = dict(data or {})
        self.facts: dict = {}
        self.status = lambda: ""        # () -> the status line, in the current language

    def compose_main(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(title(self.PAGE), classes="page-title")
            yield Static(_(EXPLANATION), classes="explanation", markup=False)
            yield Static("", id="detect-status", markup=False)
            yield DataTable(id="facts-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="facts-detail")
            with Vertical(id="corrections"):
                yield Label(_("Corrections"), classes="preview-title")
                with Horizontal(classes="field-row"):
                    yield Label(_("Portal version (empty: the detected one)"), classes="field-label")
                    yield Input(self.portal.get("version") or "", id="portal-version",
                                placeholder=_("detected"), compact=True)
                yield Static("", classes="field-error", id="portal-version-error")
                yield Static("", id="portal-source", markup=False)
                yield Static(_("Windows-hosted repositories need no correction: the daemon section strips CR "
                               "characters wherever the init script has them."), classes="hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#facts-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(_(label), key=key)
        if self.app.facts is not None:
            self.show_facts(self.app.facts, self.app.portal)
        else:
            self.action_detect()

    def action_detect(self) -> None:
        self.app.store(self.PAGE, self.collect())
        self.say(lambda: _("Connecting and detecting…"))
        self.detect(self.app.snapshot(), self.app.source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detect")
    def detect(self, data: dict, source: str) -> None:
        """Every host whose inventory entry is usable is detected; one that is not (no
        address, a refused login) is named with why, and does not stop the others."""
        try:
            session = self.app.session
            answers, skipped = self.app.detectable(data, source)
            session.use(answers)
            found = session.detect()
        except Exception as e:          # shown on screen
            self.post_message(WorkFailed("detection", describe_error(e)))
            return
        self.post_message(HostsDetected(found.facts, found.portal, {**skipped, **found.errors}))

    @on(HostsDetected)
    def hosts_detected(self, event: HostsDetected) -> None:
        self.app.facts = event.facts if not event.errors else None
        self.app.portal = event.portal
        self.show_facts(event.facts, event.portal)
        if event.errors:
            lines = [f"✗ {host}: {why}" for host, why in event.errors.items()]
            n = len(event.facts)
            self.say(lambda: ngettext("{n} host detected; not detected:", "{n} hosts detected; not detected:",
                                      n).format(n=n) + "\n" + "\n".join(lines))
            self.app.set_state(self.PAGE, FAILED)
            return
        self.app.set_state(self.PAGE, DONE)
        self.app.set_state("hosts", DONE)

    @on(WorkFailed)
    def work_failed(self, event: WorkFailed) -> None:
        self.say(lambda: f"✗ {event.text}")
        self.app.set_state(self.PAGE, FAILED)
        self.notify(event.text, title=_("Detection failed"), severity="error", timeout=10)

    def show_facts(self, facts: dict, portal) -> None:
        self.facts = facts
        roles = {h: ",".join(r) for h, r in self.app.roles().items()}
        table = self.query_one("#facts-table", DataTable)
        table.clear()
        for host, f in facts.items():
            java = "—" if f.java is None else (_("yes") if f.java.java8 else _("no"))
            pv = "—" if f.portal is None else (f.portal.version or _("unknown"))
            win = "—" if "CHAT" not in roles.get(host, "") else (_("yes") if f.windows_repo else _("no"))
            table.add_row(host, roles.get(host, ""), f"{f.os.name} {f.os.version}", java, pv, win, key=host)
        detail = Text()
        for host, f in facts.items():
            detail.append(f"{host}\n", style="bold cyan")
            for line in f.summary():
                detail.append(f"  {line}\n")
        self.query_one("#facts-detail", Static).update(detail)
        n = len(facts)
        self.say(lambda: "✓ " + ngettext("{n} host detected.", "{n} hosts detected.", n).format(n=n))
        self.query_one("#portal-source", Static).update(
            _("in use: {version} (from {source})").format(version=portal.version or _("unknown"),
                                                          source=portal.source) if portal else "")

    def say(self, status) -> None:
        """The status line: status() now, and again after a change of language."""
        self.status = status
        self.query_one("#detect-status", Static).update(status())

    def recomposed(self) -> None:
        """After a change of language: the table and texts again, without detecting again."""
        table = self.query_one("#facts-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(_(label), key=key)
        status = self.status
        if self.facts:
            self.show_facts(self.facts, self.app.portal)
        self.say(status)
        self.states_changed()

    @on(Input.Changed, "#portal-version")
    def version_changed(self, event: Input.Changed) -> None:
        self.app.store(self.PAGE, self.collect())          # revalidates: the error comes back

    def states_changed(self) -> None:
        super().states_changed()
        try:
            err = self.query_one("#portal-version-error", Static)
        except Exception:               # not composed yet
            return
        text = next((p.text for p in self.app.issues if p.key == "portal.version"), "")
        err.update(text)
        err.set_class(bool(text), "-shown")

    def collect(self) -> dict:
        value = self.query_one("#portal-version", Input).value.strip()
        portal = dict(self.portal)
        portal["version"] = typed(value, subschema("portal", "version")) if value else None
        self.portal = portal
        return portal


SCREEN = DetectionScreen
