"""Section 5: /usr/local/bin/updatesc.sh, the body the French page has right.

The English page's chown line is garbled (`jtel:jtelcp … -r`); the template in
templates/updatesc.sh.j2 stops the service, copies bin/* and public/, gives the tree
back to its owner and starts the service. One FileChange, mode 0755, root:root.
"""
from __future__ import annotations

from ..errors import AnswersError
from ..initscript import render_updatesc
from ..plan import Action, NoOp
from ..i18n import _, N_

NAME = "update_script"
TITLE = N_("5. Update script")
ROLES = ("CHAT",)


def plan(ctx, host) -> list[Action]:
    path = ctx.section(NAME)["path"]
    cm = ctx.section("clientmessenger")
    service = ctx.section("daemon")["service"]
    try:
        body = render_updatesc(service=service, source=cm["source"], target=cm["target"],
                               owner=f"{cm['owner']}:{cm['group']}")
    except ValueError as e:
        raise AnswersError(f"update_script: {e}") from None
    fc = ctx.file_change(host, _("Write {path} (stop {service}, copy bin/ and public/ from "
                                 "{source}, chown {owner}, start {service})").format(
                                     path=path, service=service, source=cm['source'],
                                     owner=f"{cm['owner']}:{cm['group']}"),
                         path, body.encode("utf-8"), mode=0o755, owner="root", group="root",
                         validate="bash -n {path}")
    if fc is None:
        return [NoOp(_("{path} is already up to date (mode 0755, root:root)").format(path=path))]
    return [fc]
