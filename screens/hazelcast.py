"""Section 3: the chat server joins the Hazelcast cluster."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class HazelcastScreen(SectionScreen):
    PAGE = "hazelcast"
    EXPLANATION = N_(
        "The portal's servers share state through a Hazelcast cluster. Every member's "
        "hazelcast.xml gets the chat server as a <member>, plus the CHAT ringbuffer and the "
        "CHATCOUNTERS map where they are missing; then DATA runs updatepl.sh, TEL restarts "
        "PlatformUDPListener, WEB runs updatejb.sh, and the chat server gets a copy. The XML is "
        "edited in place: the diff holds only those lines, and the result is checked against "
        "the site's Hazelcast XSD.")
    FIELDS = (
        Field("layout", N_("Layout"), "choice", choices=("auto", "shared", "legacy"),
              help=N_("shared: master copy in <shared>/hazelcast.xml; legacy: each host's own copy")),
        Field("fix_conflicts", N_("Rewrite a CHAT ringbuffer / map whose settings differ"), "bool"),
        Field("member_address", N_("Address other members use for the chat server"), optional=True,
              placeholder=N_("its inventory address")))


SCREEN = HazelcastScreen
