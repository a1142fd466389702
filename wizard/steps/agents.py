"""Section 9: agents need a Chat status and a maximum of parallel chats above 0."""
from __future__ import annotations

from ..plan import Checklist, SectionPlan
from .portal_settings import PORTAL_UI
from ..i18n import _, N_

NAME = "agents"
TITLE = N_("9. Agents (portal UI)")
ROLES = ()


def checklists(answers) -> list[Checklist]:
    """What the engineer sets by hand (from the answers alone; stable item ids: wizard.acks)."""
    cfg = answers.section(NAME)
    n = cfg.get("max_parallel_chats", 3)
    status = cfg.get("chat_status", "Chat")
    return [Checklist(
        _("Agent settings so that chats are distributed"),
        ((_("Agent status"), _("a status named \"{status}\" exists (create it if not)").format(status=status)),
         (_("Max. parallel chats per agent"),
          _("{n} for every chat agent (the default 0 means no chats at all)").format(n=n))),
        keys=(("chat_status", str(status)), ("max_parallel_chats", str(n))))]


def plan_section(ctx) -> SectionPlan:
    n = ctx.section(NAME).get("max_parallel_chats", 3)
    sp = SectionPlan(NAME, _(TITLE))
    sp.for_host(PORTAL_UI).actions.extend(checklists(ctx.answers))
    if n == 0:
        sp.notes.append(_("agents.max_parallel_chats is 0: agents will receive no chats"))
    return sp
