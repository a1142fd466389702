"""Section 4: ClientMessenger as a service, with its database connection."""
from __future__ import annotations

from wizard.i18n import N_

from .base import SectionScreen
from .fields import Field


class DaemonScreen(SectionScreen):
    PAGE = "daemon"
    EXPLANATION = N_(
        "The init script jtel-clientmessenger starts ClientMessenger at boot. Its connection "
        "line carries the JDBC URL of the portal database with the database password: the "
        "wizard percent-encodes it for MySQL Connector/J and escapes it for the shell, so any "
        "character works. The password is entered once and kept in the keyring; the answers "
        "file holds only its reference. Windows-hosted repositories get their CR characters "
        "stripped first. Then: /etc/init.d, mode 755, chkconfig on, service start.")
    FIELDS = (
        Field("service", N_("Service name")),
        Field("db_host", N_("Database host")),
        Field("db_schema", N_("Database")),
        Field("db_user", N_("Database user")),
        Field("db_password", N_("Database password"), "secret", secret_key="db/root"),
        Field("timezone", N_("serverTimezone (portal 3.25 and later)")),
        Field("datadir", N_("WhatsApp data folder"), "choice", choices=("auto", "local", "mounted"),
              help=N_("local: /srv/jtel/shared/Data/Clients/; mounted: /home/jtel/shared/Data/clients/")))


SCREEN = DaemonScreen
