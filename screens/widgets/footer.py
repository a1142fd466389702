"""The footer: Textual's, with the key descriptions in the current language.

Binding descriptions are class attributes (English, marked with N_()); Textual's footer
shows `binding.description` as is. This one translates each description when it composes,
so a change of language shows after `screen.refresh_bindings()` (the footer recomposes).
"""
from __future__ import annotations

from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

from wizard.i18n import N_, _

# Textual's own binding shown in the footer (App.COMMAND_PALETTE_BINDING)
N_("palette")


class WizardFooter(TextualFooter):
    """Footer whose key descriptions follow the wizard's language."""

    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if widget.tooltip:
                    widget.tooltip = _(str(widget.tooltip))
            yield widget
