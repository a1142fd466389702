"""Section 8: the chat parameters the sysadmin sets in the portal's web UI.

The page gives `https://<lb>:3000/gui/` for http sites; port 3000 speaks plain http,
so the script library URL is `http://<lb>:3000/gui/` there.
"""
from __future__ import annotations

from ..plan import Checklist, SectionPlan
from ..i18n import _, N_

NAME = "portal_settings"
TITLE = N_("8. Chat parameters (portal UI)")
ROLES = ()
PORTAL_UI = N_("portal (web UI)")   # a pseudo-host: the name is a key, shown with host_label


def chat_urls(scheme: str, load_balancer: str) -> dict[str, str]:
    """ACD.Chat.* values for the scheme."""
    if scheme == "https":
        return {"ACD.Chat.Script.Library.URL": f"https://{load_balancer}:3003/gui/",
                "ACD.Chat.Server.Base.URL": f"wss://{load_balancer}:3003"}
    return {"ACD.Chat.Script.Library.URL": f"http://{load_balancer}:3000/gui/",
            "ACD.Chat.Server.Base.URL": f"ws://{load_balancer}:3000"}


def checklists(answers) -> list[Checklist]:
    """What the engineer sets by hand (from the answers alone; each item's id is the
    parameter's name, what a tick confirms is its value: wizard.acks)."""
    portal = answers.section("portal")
    items = tuple(chat_urls(portal["scheme"], portal["load_balancer"]).items())
    return [Checklist(_("Set these parameters as sysadmin (Parameters, ACD.Chat)"), items, keys=items)]


def plan_section(ctx) -> SectionPlan:
    sp = SectionPlan(NAME, _(TITLE))
    sp.for_host(PORTAL_UI).actions.extend(checklists(ctx.answers))
    return sp
