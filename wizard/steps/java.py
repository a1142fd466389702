"""Section 1: Java 8 on the chat server, from the vendor's URL or a local RPM."""
from __future__ import annotations

import shlex

from ..errors import PlanError
from ..plan import Action, Command, NoOp
from ..i18n import _, N_

NAME = "java"
TITLE = N_("1. Java 8")
ROLES = ("CHAT",)


def plan(ctx, host) -> list[Action]:
    facts = ctx.facts[host.name]
    if facts.java is not None and facts.java.java8:
        return [NoOp(_("Java 8 already installed ({detail})").format(detail=facts.java.detail))]
    cfg = ctx.section(NAME)
    if cfg["source"] == "rpm":
        path = cfg["rpm_path"]
        if not ctx.transport(host).stat(path).exists:
            raise PlanError(_("host {host}: java.rpm_path {path} does not exist there; "
                              "copy the RPM to the server first or use java.source: url").format(
                                  host=host.name, path=path))
        target = path
    else:
        target = cfg["url"]
    return [
        Command(_("Install Java 8 from {target}").format(target=target), f"yum -y install {shlex.quote(target)}", timeout=1800),
        Command(_("Check that Java 8 runs"), "java -version", changes=False, sudo=False),
    ]
