"""Section 3: the chat server joins the Hazelcast cluster."""
from __future__ import annotations

from .base import SectionScreen
from .fields import Field


class HazelcastScreen(SectionScreen):
    PAGE = "hazelcast"
    EXPLANATION = (
        "The portal's servers share state through a Hazelcast cluster. Every member's "
        "hazelcast.xml gets the chat server as a <member>, plus the CHAT ringbuffer and the "
        "CHATCOUNTERS map where they are missing; then DATA runs updatepl.sh, TEL restarts "
        "PlatformUDPListener, WEB runs updatejb.sh, and the chat server gets a copy. The XML is "
        "edited in place: the diff holds only those lines, and the result is checked against "
        "the site's Hazelcast XSD.")
    FIELDS = (
        Field("layout", "Layout", "choice", choices=("auto", "shared", "legacy"),
              help="shared: master copy in <shared>/hazelcast.xml; legacy: each host's own copy"),
        Field("fix_conflicts", "Rewrite a CHAT ringbuffer / map whose settings differ", "bool"),
        Field("member_address", "Address other members use for the chat server", optional=True, placeholder="its inventory address"))


SCREEN = HazelcastScreen
