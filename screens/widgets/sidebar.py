"""The list of pages in the procedure's order, each with its state."""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from wizard.i18n import N_, _

from ..pages import MARKS, PAGES, PROBLEM, TODO, state_text

# short titles: the sidebar is narrow; the screens show the full titles
SHORT = {"hosts": N_("Hosts"), "portal": N_("Portal"), "detection": N_("Detection"), "java": N_("1 Java 8"),
         "clientmessenger": N_("2 ClientMessenger"), "hazelcast": N_("3 Hazelcast"), "daemon": N_("4 Daemon"),
         "update_script": N_("5 Update script"), "firewall": N_("6 Firewall"),
         "load_balancer": N_("7 Load balancer"), "portal_settings": N_("8 Chat parameters"),
         "agents": N_("9 Agents"), "whatsapp": N_("10 WhatsApp"), "run": N_("Run"), "report": N_("Report")}
WIDTH = 33          # columns, border included (the layout in screens/base.py counts with it)
STYLE = {"to do": "dim", "previewed": "yellow", "running": "cyan", "done": "green",
         "skipped": "dim italic", "failed": "bold red", "stopped": "yellow", PROBLEM: "bold red reverse"}


def prompt(page: str, state: str, width: int = 29) -> Text:
    """'● 1 Java 8          done' with the mark and state coloured (in the current language)."""
    title = _(SHORT[page]) if page in SHORT else page
    shown = state_text(state)
    text = Text.assemble((MARKS.get(state, " "), STYLE.get(state, "")), " ", title)
    pad = max(1, width - len(text) - len(shown))
    text.append(" " * pad)
    text.append(shown, STYLE.get(state, ""))
    return text


class Sidebar(OptionList):
    """Pages with their state; choosing one (enter or click) asks the screen to go there."""

    DEFAULT_CSS = """
    Sidebar {
        width: %d;
        height: 1fr;
        border: round $primary-darken-2;
        border-title-color: $text-muted;
    }
    Sidebar:focus { border: round $primary; }
    Sidebar.-drawer { layer: drawer; background: $panel; }
    """ % WIDTH
    BINDINGS = [Binding("escape", "screen.close_sidebar", show=False)]

    class PageChosen(Message):
        """The engineer chose a page in the sidebar."""

        def __init__(self, page: str) -> None:
            super().__init__()
            self.page = page

    def __init__(self, current: str, states: dict[str, str], problems: set[str] = frozenset(), **kw) -> None:
        super().__init__(*(Option(prompt(p, PROBLEM if p in problems else states.get(p, TODO)), id=p)
                           for p in PAGES), **kw)
        self.current = current
        self.border_title = _("Sections")

    def on_mount(self) -> None:
        self.highlighted = PAGES.index(self.current)

    def show(self, states: dict[str, str], problems: set[str] = frozenset()) -> None:
        """Redraw every page's state; a page with a problem in its answers says so (also
        after a change of language)."""
        self.border_title = _("Sections")
        for p in PAGES:
            self.replace_option_prompt(p, prompt(p, PROBLEM if p in problems else states.get(p, TODO)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.PageChosen(event.option.id))
