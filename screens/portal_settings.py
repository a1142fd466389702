"""Section 8: the chat parameters set in the portal's web UI."""
from __future__ import annotations

from textual.app import ComposeResult

from wizard.i18n import N_

from .base import SectionScreen


class PortalSettingsScreen(SectionScreen):
    PAGE = "portal_settings"
    EXPLANATION = N_(
        "Two parameters tell the portal where the chat server is: ACD.Chat.Script.Library.URL "
        "and ACD.Chat.Server.Base.URL. The sysadmin sets them in the portal's web UI; the wizard "
        "computes them from the scheme and the load balancer (Portal page) and lists them here "
        "and in the install report. For http the page's https://…:3000 is wrong: port 3000 "
        "speaks plain http.")

    def compose_extra(self) -> ComposeResult:
        from .widgets.acklist import AckList
        yield AckList((self.PAGE,), id="acks")


SCREEN = PortalSettingsScreen
