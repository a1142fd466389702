"""Section 2: ClientMessenger copied from the shared repository."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class ClientMessengerScreen(SectionScreen):
    PAGE = "clientmessenger"
    EXPLANATION = N_(
        "The chat server program ships inside the portal's shared repository. It is copied to "
        "the jtel user's home and given to jtel. The page's `cp -R SRC/ DEST` nests the folder "
        "when DEST already exists (DEST/ClientMessenger on a re-run); the wizard copies only when "
        "DEST is absent, so running it twice is safe.")
    FIELDS = (
        Field("source", N_("Copy from"), optional=True,
              placeholder="<shared>/JTELCarrierPortal/Utils/Install/ClientMessenger"),
        Field("target", N_("Copy to")),
        Field("owner", N_("Owner")),
        Field("group", N_("Group")))


SCREEN = ClientMessengerScreen
