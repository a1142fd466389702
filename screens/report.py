"""The install report page: shows the file the last run wrote (wizard.report builds it,
the same for the CLI and the TUI)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from wizard.i18n import _

from .base import WizardScreen
from .pages import title


class ReportScreen(WizardScreen):
    PAGE = "report"

    def compose_main(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(title(self.PAGE), classes="page-title")
            yield Static("", id="report-path", markup=False)
            yield Markdown(id="report")

    def on_mount(self) -> None:
        path, text = self.app.report_path, self.app.report_text
        if text is None:
            self.query_one("#report-path", Static).update(
                _("No run yet: the report is written when a run ends (F9)."))
            return
        from .app import shown
        self.query_one("#report-path", Static).update(_("Saved as {path}").format(path=shown(path)))
        self.query_one("#report", Markdown).update(text)


SCREEN = ReportScreen
