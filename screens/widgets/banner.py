"""The TRAINING banner shown on every screen in training mode."""
from __future__ import annotations

from textual.widgets import Static

TEXT = "TRAINING MODE: simulated CentOS 7 host in memory; nothing here touches a real server"


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
        super().__init__(TEXT, **kw)

    def on_mount(self) -> None:
        """Name the training scenario (and its OS) when it is not the standard CentOS 7 lab."""
        name = getattr(getattr(self.app, "session", None), "scenario", None)
        if name:
            from ..scenarios import banner_text
            self.update(banner_text(name))
