"""Answers + facts → Plan. Reads hosts, never changes them."""
from __future__ import annotations

from . import facts as facts_mod
from .errors import PlanError
from .facts import PortalVersion
from .plan import Plan, SectionPlan
from .steps import Context, sections
from .transport.base import Transport


def detect(answers, transports: dict[str, Transport]) -> dict[str, facts_mod.HostFacts]:
    """Facts of every host in the inventory."""
    shared = answers.section("portal").get("shared_dir") or facts_mod.SHARED
    return {h.name: facts_mod.gather(transports[h.name], roles=h.roles, shared=shared)
            for h in answers.hosts}


def portal_version(answers, facts: dict[str, facts_mod.HostFacts]) -> PortalVersion:
    """The answers' value wins; else the first chat server's detected version."""
    v = answers.section("portal").get("version")
    if v:
        return PortalVersion(str(v), f"answers file {answers.source} (portal.version)")
    for f in facts.values():
        if f.portal is not None and f.portal.version:
            return f.portal
    reasons = "; ".join(f.portal.source for f in facts.values() if f.portal is not None)
    return PortalVersion(None, reasons or "no chat server to read it from")


def build(answers, transports: dict[str, Transport], *, training: bool = False,
          facts: dict[str, facts_mod.HostFacts] | None = None,
          portal: PortalVersion | None = None, only: set[str] | None = None) -> Plan:
    """The full plan in the procedure's order; `only` limits it to some sections."""
    facts = facts if facts is not None else detect(answers, transports)
    portal = portal or portal_version(answers, facts)
    ctx = Context(answers, transports, facts, portal, training=training)
    skip = set(answers.section("sections").get("skip") or [])
    plan = Plan(training=training, facts=facts)
    for mod in sections():
        if mod.NAME in skip or (only is not None and mod.NAME not in only):
            continue
        if hasattr(mod, "plan_section"):
            sp = mod.plan_section(ctx)
            if sp is None:
                continue
        else:
            sp = SectionPlan(mod.NAME, mod.TITLE)
            for host in answers.hosts:
                if set(host.roles) & set(mod.ROLES):
                    try:
                        sp.for_host(host.name).actions.extend(mod.plan(ctx, host))
                    except PlanError:
                        raise
                    except OSError as e:
                        raise PlanError(f"host {host.name}: section {mod.TITLE}: {e}") from e
        sp.notes.extend(ctx.notes)
        ctx.notes.clear()
        if sp.hosts or sp.notes:
            plan.sections.append(sp)
    return plan
