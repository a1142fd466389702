"""Answers + facts → Plan. Reads hosts, never changes them."""
from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from . import facts as facts_mod
from .errors import PlanError
from .facts import PortalVersion
from .plan import Plan, SectionPlan
from .steps import Context, sections
from .transport.base import Transport
from .i18n import _


# hosts read at once while detecting and planning: each read mostly waits for its host
PARALLEL = 8

log = logging.getLogger("wizard.planner")


def batched() -> bool:
    """Detection reads each host in one batch (wizard.batch); CHATWIZARD_DETECT=per-read
    reads file by file as before (to compare the two)."""
    return os.environ.get("CHATWIZARD_DETECT", "batch") != "per-read"


def each_host(hosts: list, fn, transports: dict[str, Transport]) -> list:
    """[fn(host) for host in hosts], up to PARALLEL hosts at once (one after another on the
    training host, whose simulated hosts share one state). Results in inventory order; the
    error of the first failing host in that order is raised."""
    if len(hosts) <= 1 or any(getattr(transports.get(h.name), "training", False) for h in hosts):
        return [fn(h) for h in hosts]
    with ThreadPoolExecutor(min(PARALLEL, len(hosts)), thread_name_prefix="plan") as pool:
        futures = [pool.submit(fn, h) for h in hosts]
    return [f.result() for f in futures]


def edited_paths(answers, roles: tuple[str, ...]) -> tuple[str, ...]:
    """The files and folders the sections read or change on a host of these roles, so that
    detection can say which exist (the steps themselves look again while planning)."""
    shared = answers.section("portal").get("shared_dir") or facts_mod.SHARED
    cm = answers.section("clientmessenger")
    paths: list[str] = []
    if "CHAT" in roles:
        service = answers.section("daemon").get("service", "jtel-clientmessenger")
        paths += [cm["source"], cm["target"], f"{cm['target']}/conf/hazelcast.xml",
                  f"/etc/init.d/{service}", answers.section("update_script")["path"]]
    if set(roles) & {"DATA", "TEL", "WEB"}:
        paths.append(f"{shared}/hazelcast.xml")
    if "LB" in roles:
        paths.append(answers.section("load_balancer")["config"])
    return tuple(dict.fromkeys(paths))


def read_batch(answers, t: Transport, h):
    """The host's reads in one round trip (two when the daemon's script decides how it is
    asked whether it runs), as a transport that serves them (wizard.transport.batched)."""
    from . import batch, probes
    from .transport.batched import BatchedTransport
    sent = getattr(t, "round_trips", None)
    try:
        b = batch.fetch(t, probes.items(answers, h))
        more = probes.followups(answers, h, b)
        if more:
            b.merge(batch.fetch(t, more))
    except batch.BatchError as e:       # read file by file (counted as misses)
        log.warning("%s: the batched read failed (%s); reading file by file", h.name, e)
        b = batch.Batch()
    reader = BatchedTransport(t, b)
    # what the host was sent for detection (the SSH transport counts; else the batches)
    reader.detect_round_trips = (t.round_trips - sent) if sent is not None else b.round_trips
    return reader


def read_before(facts: dict | None) -> bool:
    """A plan was built from these facts' batches already (a second plan detects again, so
    that it sees the hosts as they are now)."""
    return bool(facts) and any(getattr(f.reader, "used", False) for f in facts.values())


def _gather(answers, transports: dict[str, Transport], h) -> facts_mod.HostFacts:
    shared = answers.section("portal").get("shared_dir") or facts_mod.SHARED
    t = transports[h.name]
    reader = read_batch(answers, t, h) if batched() else None
    facts = facts_mod.gather(reader or t, roles=h.roles, shared=shared,
                             paths=edited_paths(answers, h.roles))
    facts.reader = reader
    return facts


# libraries planning and the run import (templates, TynTec's https), none of which imports
# the wizard's modules: imported on a thread of their own while detection waits for the hosts
WARM_UP = ("jinja2", "ssl", "http.client", "urllib.request")


def warm_up() -> threading.Thread:
    """Import WARM_UP beside detection (the main thread only waits then)."""
    def imports() -> None:
        for name in WARM_UP:
            try:
                importlib.import_module(name)
            except Exception:           # whoever needs it later says why
                pass
    t = threading.Thread(target=imports, name="warm-up", daemon=True)
    t.start()
    return t


def detect(answers, transports: dict[str, Transport]) -> dict[str, facts_mod.HostFacts]:
    """Facts of every host in the inventory (the hosts read in parallel)."""
    warm_up()
    hosts = list(answers.hosts)
    facts = each_host(hosts, lambda h: _gather(answers, transports, h), transports)
    return {h.name: f for h, f in zip(hosts, facts)}


def detect_each(answers, transports: dict[str, Transport], hosts: list) -> list:
    """Facts of each of `hosts`, or the exception that stopped its detection: one host
    that cannot be read does not hide what the others are."""
    def one(h):
        try:
            return _gather(answers, transports, h)
        except Exception as e:          # reported per host by the caller
            return e
    return each_host(hosts, one, transports)


def _plan_host(mod, ctx: Context, host) -> tuple[list, list[str]]:
    """One host's actions in a per-host section, and the notes its step made (a context of
    its own for the notes, so that hosts planned in parallel keep them in inventory order)."""
    own = dataclasses.replace(ctx, notes=[])
    try:
        return list(mod.plan(own, host)), own.notes
    except PlanError:
        raise
    except OSError as e:
        raise PlanError(_("host {host}: section {section}: {error}").format(
            host=host.name, section=_(mod.TITLE), error=e)) from e


def portal_version(answers, facts: dict[str, facts_mod.HostFacts]) -> PortalVersion:
    """The answers' value wins; else the first chat server's detected version."""
    v = answers.section("portal").get("version")
    if v:
        return PortalVersion(str(v), _("answers file {source} (portal.version)").format(
            source=answers.source))
    for f in facts.values():
        if f.portal is not None and f.portal.version:
            return f.portal
    reasons = "; ".join(f.portal.source for f in facts.values() if f.portal is not None)
    return PortalVersion(None, reasons or _("no chat server to read it from"))


def build(answers, transports: dict[str, Transport], *, training: bool = False,
          facts: dict[str, facts_mod.HostFacts] | None = None,
          portal: PortalVersion | None = None, only: set[str] | None = None,
          journals: dict | None = None, http=None) -> Plan:
    """The full plan in the procedure's order; `only` limits it to some sections.
    `journals` (host -> wizard.journal.Journal, checked against the host) tell the steps
    what an interrupted apply wrote whose follow-ups never ran. `http` is what planning
    asks TynTec (Context.http); default: the real TynTec, or in training the simulated one."""
    facts = facts if facts is not None else detect(answers, transports)
    portal = portal or portal_version(answers, facts)
    if http is None and training:
        from .training import planning_http
        http = planning_http()
    # planning reads what detection read in one batch per host (no round trip per read)
    readers = {n: f.reader for n, f in facts.items() if getattr(f, "reader", None) is not None}
    transports = {n: readers.get(n) or t for n, t in transports.items()}
    ctx = Context(answers, transports, facts, portal, http=http)
    for host, j in (journals or {}).items():
        ctx.pending[host] = j.pending_by_section()
        ctx.unfinished[host] = j.unfinished_sections()
        ctx.interrupted[host] = j.interrupted_actions()
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
            sp = SectionPlan(mod.NAME, _(mod.TITLE))
            hosts = [h for h in answers.hosts if set(h.roles) & set(mod.ROLES)]
            planned = each_host(hosts, lambda h: _plan_host(mod, ctx, h), transports)
            for host, (actions, notes) in zip(hosts, planned):
                sp.for_host(host.name).actions.extend(actions)
                # a note several hosts make (the same address remark on every LB) once
                ctx.notes.extend(n for n in notes if n not in ctx.notes)
        sp.notes.extend(ctx.notes)
        ctx.notes.clear()
        if sp.hosts or sp.notes:
            plan.sections.append(sp)
    for n, r in readers.items():
        r.used = True
        log.info("batch: %s: detection %d round trip(s); planning %d read(s) not in the batch, "
                 "%d check(s) with input", n, r.detect_round_trips, len(r.misses), len(r.checks))
        if r.misses:
            log.info("batch: %s: not in the batch: %s", n, "; ".join(r.misses))
    return plan
