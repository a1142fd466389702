"""The footer of every page: the page's keys on the left, and pinned on the right the keys
that always work (F9 run, F1 help, ctrl+q quit, ctrl+p palette), so that they stay visible on an
80-column terminal however many keys the page has. Descriptions are translated when shown."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from wizard.i18n import N_, _

TEXTUAL_TEXTS = (N_("palette"),)   # textual's own description of ctrl+p, translated here too
PINNED = ("run", "help", "quit")   # actions, in this order, before the palette key


class WizardFooter(Footer):
    DEFAULT_CSS = """
    WizardFooter #footer-pinned {
        dock: right;
        width: auto;
        height: 1;
        background: $footer-background;
        border-left: vkey $foreground 20%;
        padding-left: 1;
    }
    """

    def __init__(self, **kw) -> None:
        kw.setdefault("show_command_palette", False)        # drawn among the pinned keys
        super().__init__(**kw)

    def compose(self) -> ComposeResult:
        pinned: dict[str, FooterKey] = {}
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if widget.action in PINNED:
                    pinned.setdefault(widget.action, widget)
                    continue
            yield widget
        if not self._bindings_ready:
            return
        keys = [pinned[a] for a in PINNED if a in pinned]
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            b = palette.binding
            keys.append(FooterKey(b.key, self.app.get_key_display(b), _(b.description), b.action,
                                  disabled=not palette.enabled,
                                  tooltip=b.tooltip or b.description).data_bind(compact=Footer.compact))
        if keys:
            with HorizontalGroup(id="footer-pinned"):
                yield from keys
