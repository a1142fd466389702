"""Section 9: agents that may take chats."""
from __future__ import annotations

from .base import SectionScreen
from .fields import Field


class AgentsScreen(SectionScreen):
    PAGE = "agents"
    EXPLANATION = (
        "Chats are only distributed to agents in a Chat status whose maximum of parallel chats "
        "is above 0 (the portal's default 0 means no chats at all). These are set in the "
        "portal's web UI; the wizard adds them to the checklist.")
    FIELDS = (
        Field("chat_status", "Agent status for chat"),
        Field("max_parallel_chats", "Parallel chats per agent", "int"))


SCREEN = AgentsScreen
