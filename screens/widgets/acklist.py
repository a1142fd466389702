"""The manual steps in the portal UI as checkboxes: the engineer ticks each one once it is
set in the portal; the session records the tick with its time and user (wizard.acks) and
the install report lists it. Items are named by their stable id, never by their text."""
from __future__ import annotations

import asyncio
import re

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Checkbox, Static

from wizard.i18n import _


def dom_id(item_id: str) -> str:
    return "ack-" + re.sub(r"[^A-Za-z0-9_-]", "-", item_id)


class AckList(Vertical):
    """A checkbox per manual item of `sections` (None: every section), with where it stands."""

    DEFAULT_CSS = """
    AckList { height: auto; margin: 1 0 0 0; }
    AckList .ack-title { text-style: bold underline; }
    AckList .ack-state { color: $text-muted; padding: 0 0 0 4; }
    AckList .ack-state.-open { color: $warning; }
    AckList Checkbox { border: none; padding: 0; height: 1; }
    """

    def __init__(self, sections: tuple[str, ...] | None = None, **kw) -> None:
        super().__init__(**kw)
        self.sections = sections
        self.items: dict[str, object] = {}        # dom id -> wizard.acks.Item
        self._lock = asyncio.Lock()               # one rebuild at a time

    def compose(self) -> ComposeResult:
        yield Static(_("Set in the portal? Tick each step when it is done (recorded with the time):"),
                     classes="ack-title", markup=False)
        yield Vertical(id="ack-items")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        """The items of the answers as they are now, each with where it stands: updated in
        place when the same items are there (a value typed), rebuilt otherwise."""
        items, problem = self.app.manual_items()
        items = [i for i in items if self.sections is None or i.section in self.sections]
        states = self.app.session.ack_states(items, self.app.source) if problem is None else []
        if problem is None and items and [dom_id(i.id) for i in items] == list(self.items):
            self.items = {dom_id(i.id): i for i in items}
            for state in states:
                self.update_item(state)
            return
        self.items = {dom_id(i.id): i for i in items} if problem is None else {}
        self.run_worker(self.rebuild(states, problem), group="acks")

    async def rebuild(self, states: list, problem: str | None) -> None:
        async with self._lock:
            try:
                box = self.query_one("#ack-items", Vertical)
            except NoMatches:           # gone with its screen
                return
            await box.remove_children()
            if problem is not None:
                await box.mount(Static(_("The checklist needs valid answers: {problem}").format(problem=problem),
                                       classes="hint", markup=False))
            elif not states:
                await box.mount(Static(_("Nothing to set by hand in the portal for this section."),
                                       classes="hint", markup=False))
            else:
                widgets = []
                for state in states:
                    i = state.item
                    widgets.append(Checkbox(self.label(i), state.confirmed, id=dom_id(i.id), compact=True))
                    widgets.append(self.state_line(state))
                await box.mount_all(widgets)

    @staticmethod
    def label(item) -> Content:
        return Content(f"{item.setting} = {item.value}")

    def update_item(self, state) -> None:
        """Show `state` on its item's checkbox and line (no Changed message: not a tick)."""
        try:
            box = self.query_one(f"#{dom_id(state.item.id)}", Checkbox)
            line = self.query_one(f"#{dom_id(state.item.id)}-state", Static)
        except NoMatches:               # being rebuilt
            return
        box.label = self.label(state.item)
        if box.value != state.confirmed:
            with box.prevent(Checkbox.Changed):
                box.value = state.confirmed
        line.update(f"{state.item.id}: {state.describe()}")
        line.set_class(not state.confirmed, "-open")

    @staticmethod
    def state_line(state) -> Static:
        line = Static(f"{state.item.id}: {state.describe()}", classes="ack-state", markup=False,
                      id=dom_id(state.item.id) + "-state")
        line.set_class(not state.confirmed, "-open")
        return line

    @on(Checkbox.Changed)
    def ticked(self, event: Checkbox.Changed) -> None:
        event.stop()
        item = self.items.get(event.checkbox.id or "")
        if item is None:
            return
        state = self.app.ack(item, event.value)
        if state is not None:
            self.update_item(state)
        else:                           # not recorded (said in a notification): not shown ticked
            with event.checkbox.prevent(Checkbox.Changed):
                event.checkbox.value = not event.value
