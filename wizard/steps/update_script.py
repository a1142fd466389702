"""Section 5: /usr/local/bin/updatesc.sh, the body the French page has right.

The English page's chown line is garbled (`jtel:jtelcp … -r`); the template in
templates/updatesc.sh.j2 stops the service, copies bin/* and public/, gives the tree
back to its owner and starts the service. One FileChange, mode 0755, root:root.
"""
from __future__ import annotations

from ..errors import AnswersError
from ..initscript import render_updatesc
from ..plan import Action, NoOp

NAME = "update_script"
TITLE = "5. Update script"
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
    fc = ctx.file_change(host, f"Write {path} (stop {service}, copy bin/ and public/ from "
                               f"{cm['source']}, chown {cm['owner']}:{cm['group']}, start {service})",
                         path, body.encode("utf-8"), mode=0o755, owner="root", group="root",
                         validate="bash -n {path}")
    if fc is None:
        return [NoOp(f"{path} is already up to date (mode 0755, root:root)")]
    return [fc]
