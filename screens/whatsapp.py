"""Section 10: WhatsApp through TynTec (optional)."""
from __future__ import annotations

from textual.app import ComposeResult

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class WhatsAppScreen(SectionScreen):
    PAGE = "whatsapp"
    EXPLANATION = N_(
        "Optional. Needs https with a valid certificate on the load balancer. The portal's "
        "https frontend routes /incoming and /delivery to the chat backend; three ACD.Whatsapp "
        "parameters are set in the portal UI; TynTec is told where to send messages and status "
        "events (a PATCH with the API key, which is kept in the keyring). The Chat Connector "
        "needs the WhatsApp number in E.164 and the language of automatic replies.")
    FIELDS = (
        Field("enabled", N_("WhatsApp on"), "bool"),
        Field("api_key", N_("TynTec API key"), "secret", secret_key="tyntec/apikey"),
        Field("api_base", N_("TynTec API base")),
        Field("phone_number", N_("WhatsApp number (E.164)"), optional=True,
              example="+4989123456789"),
        Field("language", N_("Auto-reply language")),
        Field("portal_url", N_("Portal URL for WhatsApp"), optional=True, placeholder=N_("https://<load balancer>:3003")))

    def compose_extra(self) -> ComposeResult:
        from .widgets.acklist import AckList
        yield AckList((self.PAGE,), id="acks")

    def edited(self) -> None:
        """Another value: the checklist shows it (a tick for the old value no longer counts)."""
        super().edited()
        from .widgets.acklist import AckList
        self.query_one("#acks", AckList).reload()


SCREEN = WhatsAppScreen
