"""The TRAINING banner shown on every screen in training mode."""
from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import Static

from wizard.i18n import N_, _

TEXT = N_("TRAINING MODE: simulated CentOS 7 host in memory; nothing here touches a real server")
SHORT = N_("TRAINING: simulated host, no real server is touched")     # fits 80 columns


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

    def short(self) -> str:
        """The sentence that fits 80 columns (naming the scenario unless it is the standard lab)."""
        name = getattr(getattr(self.app, "session", None), "scenario", None)
        if name:
            from ..scenarios import scenario
            if scenario(name).name != "centos7":
                return _("TRAINING {name}: simulated, no real server is touched").format(name=name)
        return _(SHORT)

    def render(self):
        """The whole sentence where it fits, else the short one (never cut mid-sentence)."""
        whole = super().render()
        return whole if cell_len(str(whole)) <= self.size.width else self.short()
