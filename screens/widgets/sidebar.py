"""The list of pages in the procedure's order, each with its state."""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..pages import MARKS, PAGES, PROBLEM, TODO

# short titles: the sidebar is narrow; the screens show the full titles
SHORT = {"hosts": "Hosts", "portal": "Portal", "detection": "Detection", "java": "1 Java 8",
         "clientmessenger": "2 ClientMessenger", "hazelcast": "3 Hazelcast", "daemon": "4 Daemon",
         "update_script": "5 Update script", "firewall": "6 Firewall", "load_balancer": "7 Load balancer",
         "portal_settings": "8 Chat parameters", "agents": "9 Agents", "whatsapp": "10 WhatsApp",
         "run": "Run", "report": "Report"}
WIDTH = 33          # columns, border included (the layout in screens/base.py counts with it)
STYLE = {"to do": "dim", "previewed": "yellow", "running": "cyan", "done": "green",
         "skipped": "dim italic", "failed": "bold red", "stopped": "yellow", PROBLEM: "bold red reverse"}


def prompt(page: str, state: str, width: int = 29) -> Text:
    """'● 1 Java 8          done' with the mark and state coloured."""
    title = SHORT.get(page, page)
    text = Text.assemble((MARKS.get(state, " "), STYLE.get(state, "")), " ", title)
    pad = max(1, width - len(text) - len(state))
    text.append(" " * pad)
    text.append(state, STYLE.get(state, ""))
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
        self.border_title = "Sections"

    def on_mount(self) -> None:
        self.highlighted = PAGES.index(self.current)

    def show(self, states: dict[str, str], problems: set[str] = frozenset()) -> None:
        """Redraw every page's state; a page with a problem in its answers says so."""
        for p in PAGES:
            self.replace_option_prompt(p, prompt(p, PROBLEM if p in problems else states.get(p, TODO)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.PageChosen(event.option.id))
