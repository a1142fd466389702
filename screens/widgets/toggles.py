"""Check marks that say on or off by their shape, not only by their colour.

Textual draws every toggle with the same inner character (`ToggleButton.BUTTON_INNER`,
an X) and tells on from off by colour alone: on a terminal with few colours, or to a
colour-blind engineer, a selected role and an unselected one look the same. Here the
inside is ✔ when on and blank when off.
"""
from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets._toggle_button import ToggleButton

ON, OFF = "✔", " "


class CheckList(SelectionList):
    """A SelectionList whose boxes hold ✔ when selected and nothing when not."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except Exception:               # a line below the last option
            return strip
        segments = list(strip)
        if len(segments) < 3 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip                # not the box Textual draws (another version): as is
        inner = ON if selection.value in self._selected else OFF
        segments[1] = Segment(inner, segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)


class CheckBox(Checkbox):
    """A Checkbox whose box holds ✔ when on and nothing when off; a label longer than the
    line wraps (Textual's cuts it with …)."""

    DEFAULT_CSS = """
    CheckBox { text-wrap: wrap; text-overflow: fold; }
    """

    @property
    def _button(self) -> Content:
        button = super()._button
        return Content(button.plain.replace(self.BUTTON_INNER, ON if self.value else OFF, 1),
                       spans=button.spans)

    def render(self) -> Content:
        # without a label (a form's label stands beside it): the box alone, not box + padding
        # squeezed into the box's width
        return self._button if not self.label else super().render()

    def get_content_height(self, container, viewport, width: int) -> int:
        """A long label wraps (at 80 columns a checklist item is longer than the line)."""
        return max(1, self.render().get_height(self.styles, width))
