"""Training scenarios in the TUI: the picker (first screen of `chatwizard --training`, the
palette's "Training scenario…", the button on the hosts page) and the box on the hosts page
that says which scenario runs and what to notice. The scenarios are the core's
(wizard.training.scenarios); choosing one switches the session to its own simulated host."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from wizard.i18n import _


def scenario(name: str | None):
    from wizard.training import scenarios
    return scenarios.get(name)


class ScenarioPicker(ModalScreen[str | None]):
    """Choose a training scenario: its description and what to notice are shown as you move."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str | None = None) -> None:
        super().__init__()
        self.current = scenario(current).name

    def compose(self) -> ComposeResult:
        from wizard.training import scenarios
        with Vertical(id="dialog", classes="dialog"):
            yield Label(_("Training scenario"), id="dialog-title")
            yield OptionList(*(Option(f"{name}: {_(sc.title)}", id=name)
                               for name, sc in scenarios.SCENARIOS.items()), id="scenario-list")
            yield Static("", id="scenario-text", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Train on this scenario"), id="choose", variant="primary", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)

    def on_mount(self) -> None:
        from wizard.training import scenarios
        options = self.query_one("#scenario-list", OptionList)
        options.highlighted = list(scenarios.SCENARIOS).index(self.current)
        options.focus()
        self.show(self.current)

    def show(self, name: str) -> None:
        self.query_one("#scenario-text", Static).update(scenario(name).describe())

    def highlighted(self) -> str:
        options = self.query_one("#scenario-list", OptionList)
        index = options.highlighted if options.highlighted is not None else 0
        return options.get_option_at_index(index).id

    @on(OptionList.OptionHighlighted)
    def moved(self, event: OptionList.OptionHighlighted) -> None:
        self.show(event.option.id)

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#choose")
    def choose(self) -> None:
        self.dismiss(self.highlighted())

    @on(Button.Pressed, "#cancel")
    def cancelled(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ScenarioInfo(Vertical):
    """At the top of the hosts page in training: the scenario, its description, what to notice."""

    DEFAULT_CSS = """
    ScenarioInfo { height: auto; border: round $warning; padding: 0 1; margin-bottom: 1; }
    ScenarioInfo #scenario-info-text { height: auto; }
    ScenarioInfo Button { margin-top: 0; }
    """

    def compose(self) -> ComposeResult:
        yield Static(scenario(self.app.session.scenario).describe(), id="scenario-info-text", markup=False)
        yield Button(_("Training scenario…"), id="scenario-choose", compact=True)

    @on(Button.Pressed, "#scenario-choose")
    def choose(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.action_choose_scenario()


def banner_text(name: str | None) -> str:
    """The TRAINING banner: which simulated host (and scenario) this is."""
    sc = scenario(name)
    if sc.name == "centos7":
        return _("TRAINING MODE: simulated CentOS 7 host in memory; nothing here touches a real server")
    return _("TRAINING scenario {name} ({os}), simulated: no real server is touched").format(
        name=sc.name, os=sc.os_label)
