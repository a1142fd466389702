"""Section 5: updatesc.sh."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class UpdateScriptScreen(SectionScreen):
    PAGE = "update_script"
    EXPLANATION = N_(
        "updatesc.sh updates ClientMessenger after a portal update: stop the service, copy the "
        "new bin/ and public/ from the shared repository, give the folder to jtel, start the "
        "service. The English page garbles the chown line; the wizard writes the French page's "
        "correct body.")
    FIELDS = (Field("path", N_("Script path")),)


SCREEN = UpdateScriptScreen
