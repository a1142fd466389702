"""Section 3's checks of a member's hazelcast.xml against the XSD of its own Hazelcast
version (wizard.hazelcast_xml): a broken site file is told from a broken edit, and one
refusal lists the file's other findings too."""
from __future__ import annotations

import re

from .. import hazelcast_xml as hx
from ..errors import PlanError
from ..i18n import _
from ..transport.base import HostSpec


def also_in_file(text: str, addresses: list[str], path: str, shown: hx.HazelcastError) -> str:
    """Every other finding in the same file (hx.review), so that one refusal does not hide
    the rest: "; also in this file: :LINE: …; :LINE: …"."""
    try:
        found = hx.review(text, addresses, source=path)
    except hx.HazelcastError:
        return ""
    head = shown.head               # the first finding, in the words review() uses
    rest = [f for f in found if not (f.line == shown.line and f.message == head)]
    if not rest:
        return ""
    return _("; also in this file: {findings}").format(findings="; ".join(
        f"{path}:{f.line}: {f.message}" + ("" if f.refuses else _(" (a CHAT entry with other values)"))
        for f in rest))


def check_schema(ctx, host: HostSpec, path: str, text: str, before: str | None,
                  addresses: list[str] = ()) -> None:
    """Validate against the file's own version's XSD; `before` is the unedited text when
    the file changes (to tell a broken site file from a broken edit)."""
    version = hx.detect_version(text)
    vt = re.match(r"(\d+)\.(\d+)", version or "")
    key = f"{vt.group(1)}.{vt.group(2)}" if vt else None
    if key not in hx.SCHEMA_VERSIONS:
        why = (_("its xsi:schemaLocation names no hazelcast-config-3.x.xsd") if version is None
               else _("no XSD for Hazelcast {version} is shipped (known: {known})").format(
                   version=version, known=", ".join(hx.SCHEMA_VERSIONS)))
        ctx.notes.append(_("{where} was not validated against a schema: {why}").format(
            where=f"{host.name}:{path}", why=why))
        return
    try:
        hx.validate(text, key, source=path)
    except hx.HazelcastError as e:
        if before is None:
            ctx.notes.append(_("{host}: {error} (the wizard does not change this file; Hazelcast "
                               "refuses to start on a config its XSD rejects)").format(
                                   host=host.name, error=e))
            return
        try:
            hx.validate(before, key, source=path)
        except hx.HazelcastError as e0:        # its line in the file as it is now
            raise PlanError(_("host {host}: {error}; the file is not valid as it is: repair it "
                              "first (the wizard only adds the chat entries)").format(
                                  host=host.name, error=e0)
                            + also_in_file(before, addresses, path, e0)) from None
        raise PlanError(_("host {host}: the edited file would not be valid: {error}").format(
            host=host.name, error=e)) from None
