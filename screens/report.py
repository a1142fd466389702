"""The install report page: shows the file the last run wrote (wizard.report builds it,
the same for the CLI and the TUI), and the manual portal steps to tick off: a tick made
after the run is recorded at once, and ctrl+r writes the report again (a new file) with it."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from wizard.i18n import N_, _

from .base import WizardScreen
from .pages import title


class ReportScreen(WizardScreen):
    PAGE = "report"
    BINDINGS = [Binding("ctrl+r", "rewrite", N_("Report again"))]

    def compose_main(self) -> ComposeResult:
        from .widgets.acklist import AckList
        with VerticalScroll(id="form"):
            yield Static(title(self.PAGE), classes="page-title")
            yield Static("", id="report-path", markup=False)
            yield AckList(id="acks")
            yield Static(_("Ticks are recorded at once; the report keeps what was ticked when it was "
                           "written: ctrl+r writes it again (a new file)."), classes="hint", markup=False)
            yield Markdown(id="report")

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        path, text = self.app.report_path, self.app.report_text
        if text is None:
            self.query_one("#report-path", Static).update(
                _("No run yet: the report is written when a run ends (F9)."))
            return
        from .app import shown
        self.query_one("#report-path", Static).update(_("Saved as {path}").format(path=shown(path)))
        self.query_one("#report", Markdown).update(text)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "rewrite":
            return self.app.report_text is not None and self.app.session.record is not None
        return True

    def action_rewrite(self) -> None:
        self.app.rewrite_report()
        self.show()


SCREEN = ReportScreen
