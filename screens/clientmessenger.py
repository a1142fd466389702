"""Section 2: ClientMessenger copied from the shared repository."""
from __future__ import annotations

from .base import SectionScreen
from .fields import Field


class ClientMessengerScreen(SectionScreen):
    PAGE = "clientmessenger"
    EXPLANATION = (
        "The chat server program ships inside the portal's shared repository. It is copied to "
        "the jtel user's home and given to jtel. The page's `cp -R SRC/ DEST` nests the folder "
        "when DEST already exists (DEST/ClientMessenger on a re-run); the wizard copies only when "
        "DEST is absent, so running it twice is safe.")
    FIELDS = (
        Field("source", "Copy from", optional=True,
              placeholder="<shared>/JTELCarrierPortal/Utils/Install/ClientMessenger"),
        Field("target", "Copy to"),
        Field("owner", "Owner"),
        Field("group", "Group"))


SCREEN = ClientMessengerScreen
