"""Section 9: agents that may take chats."""
from __future__ import annotations

from textual.app import ComposeResult

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class AgentsScreen(SectionScreen):
    PAGE = "agents"
    EXPLANATION = N_(
        "Chats are only distributed to agents in a Chat status whose maximum of parallel chats "
        "is above 0 (the portal's default 0 means no chats at all). These are set in the "
        "portal's web UI; the wizard adds them to the checklist.")
    FIELDS = (
        Field("chat_status", N_("Agent status for chat")),
        Field("max_parallel_chats", N_("Parallel chats per agent"), "int"))

    def compose_extra(self) -> ComposeResult:
        from .widgets.acklist import AckList
        yield AckList((self.PAGE,), id="acks")

    def edited(self) -> None:
        """Another value: the checklist shows it (a tick for the old value no longer counts)."""
        super().edited()
        from .widgets.acklist import AckList
        self.query_one("#acks", AckList).reload()


SCREEN = AgentsScreen
