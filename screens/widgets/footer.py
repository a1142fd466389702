"""The footer, with the keys that matter everywhere first.

Textual lists the focused widget's keys first and the app's last, so at 80 columns the
keys an engineer needs on every page (help, save, open, run, quit) fell off the right
edge. Here they come first, the page's own keys next, and paging (ctrl+n / ctrl+b, F2)
last: what does not fit is what the sidebar and the palette also offer.
"""
from __future__ import annotations

from textual.widgets import Footer

FIRST = ("help", "save", "open", "run", "quit")     # actions, in this order
LAST = ("go(1)", "go(-1)", "toggle_sidebar")


def rank(action: str) -> tuple[int, int]:
    name = action.rpartition(".")[2]            # "app.save", "screen.add_host" -> the action
    if "help" in name:                          # F1, whatever its action is called
        return 0, 0
    if name in FIRST:
        return 0, FIRST.index(name)
    if name in LAST:
        return 2, LAST.index(name)
    return 1, 0


class WizardFooter(Footer):
    """A Footer whose keys are ordered by `rank` (the palette key stays at the right)."""

    def compose(self):
        widgets = list(super().compose())
        if not all(isinstance(getattr(w, "action", None), str) for w in widgets):
            yield from widgets          # grouped keys (labels between them): Textual's order
            return
        keys = [w for w in widgets if not w.has_class("-command-palette")]
        yield from sorted(keys, key=lambda w: rank(w.action))
        yield from (w for w in widgets if w.has_class("-command-palette"))
