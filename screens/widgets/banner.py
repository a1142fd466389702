"""The TRAINING banner shown on every screen in training mode."""
from __future__ import annotations

from textual.widgets import Static

from wizard.i18n import N_, _

TEXT = N_("TRAINING MODE: simulated CentOS 7 host in memory; nothing here touches a real server")


class TrainingBanner(Static):
    """A red bar across the top of every screen in training mode."""

    DEFAULT_CSS = """
    TrainingBanner {
        width: 100%;
        height: 1;
        background: $error;
        color: $text;
        text-style: bold;
        content-align: center middle;
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__(_(TEXT), **kw)

    def on_mount(self) -> None:
        self.update(self.text())

    def text(self) -> str:
        """The banner in the current language; it names the training scenario (and its OS)
        when it is not the standard CentOS 7 lab."""
        name = getattr(getattr(self.app, "session", None), "scenario", None)
        if name:
            from ..scenarios import banner_text
            return banner_text(name)
        return _(TEXT)
