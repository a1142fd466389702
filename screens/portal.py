"""The portal the chat server joins: http or https, the load balancer's name, the version."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class PortalScreen(SectionScreen):
    PAGE = "portal"
    PREVIEW = False
    EXPLANATION = N_(
        "Browsers reach the chat server through the portal's load balancer: with https on port "
        "3003 (secure websockets, wss), with http on port 3000 (ws). Every later section derives "
        "its URLs, firewall ports and haproxy frontend from these answers. Leave the version "
        "empty to read it from the chat server (the detection screen shows where it was found).")
    FIELDS = (
        Field("scheme", N_("Scheme"), "choice", choices=("https", "http"),
              help=N_("https: wss on 3003 (needed for WhatsApp); http: ws on 3000")),
        Field("load_balancer", N_("Load balancer name (as browsers use it)"), example="jtel-portal"),
        Field("version", N_("Portal version"), optional=True,
              placeholder=N_("detected"), help=N_("e.g. 3.26; >= 3.25 adds serverTimezone to the JDBC URL")),
        Field("shared_dir", N_("Shared folder")))


SCREEN = PortalScreen
