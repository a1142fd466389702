"""Section 10: WhatsApp through TynTec (optional)."""
from __future__ import annotations

from .base import SectionScreen
from .fields import E164, HTTPS_BASE, HTTPS_PORTAL, LANGUAGE, Field, pattern


class WhatsAppScreen(SectionScreen):
    PAGE = "whatsapp"
    EXPLANATION = (
        "Optional. Needs https with a valid certificate on the load balancer. The portal's "
        "https frontend routes /incoming and /delivery to the chat backend; three ACD.Whatsapp "
        "parameters are set in the portal UI; TynTec is told where to send messages and status "
        "events (a PATCH with the API key, which is kept in the keyring). The Chat Connector "
        "needs the WhatsApp number in E.164 and the language of automatic replies.")
    FIELDS = (
        Field("enabled", "WhatsApp on", "bool", default=False),
        Field("api_key", "TynTec API key", "secret", secret_key="tyntec/apikey"),
        Field("api_base", "TynTec API base", validators=(pattern(HTTPS_BASE, "not an https URL without a trailing /"),),
              default="https://api.tyntec.com/chat-api/v2"),
        Field("phone_number", "WhatsApp number (E.164)", validators=(E164(),), optional=True,
              placeholder="+4989123456789"),
        Field("language", "Auto-reply language", validators=(pattern(LANGUAGE, "not a language code like en or de"),),
              default="en"),
        Field("portal_url", "Portal URL for WhatsApp", validators=(pattern(HTTPS_PORTAL, "not an https URL like https://jtel-portal:3003"),),
              optional=True, placeholder="https://<load balancer>:3003"),
    )


SCREEN = WhatsAppScreen
