"""Section 6: open the chat ports, once.

CentOS 7: firewalld (query first, add permanently, one reload). CentOS 6: iptables.
The page says `iptables -I INPUT 4 …` and "check with -C": CentOS 6's iptables 1.4.7 has
no -C, and position 4 assumes the stock rule set. We read `iptables -S INPUT`, insert only
missing rules just before the first REJECT/DROP (so they are reached), then save and restart.
"""
from __future__ import annotations

import shlex

from ..errors import PlanError
from ..plan import Action, Command, NoOp
from ..i18n import _, N_

NAME = "firewall"
TITLE = N_("6. Firewall")
ROLES = ("CHAT", "LB")

CLUSTER = "5701-5801"


def ports_for(roles: tuple[str, ...], scheme: str) -> list[str]:
    """Ports (firewalld syntax, e.g. '5701-5801') a host of these roles needs open."""
    ports: list[str] = []
    if "CHAT" in roles:
        ports += [CLUSTER, "3000"]
    if "LB" in roles:
        ports.append("3003" if scheme == "https" else "3000")
    return list(dict.fromkeys(ports))


def iptables_spec(port: str) -> list[str]:
    """The rule (without -I/-A) that accepts a tcp port or range."""
    return ["-p", "tcp", "-m", "tcp", "--dport", port.replace("-", ":"), "-j", "ACCEPT"]


def _rule_tokens(line: str) -> tuple[str, list[str]] | None:
    parts = shlex.split(line)
    if len(parts) < 2 or parts[0] != "-A":
        return None
    return parts[1], parts[2:]


def iptables_state(rules_s: str, port: str) -> tuple[bool, int | None]:
    """From `iptables -S INPUT`: (port already accepted, 1-based position of the first
    REJECT/DROP rule or None). A rule counts when it accepts tcp on exactly this port/range
    without source/interface restrictions."""
    want = port.replace("-", ":")
    present, first_block, n = False, None, 0
    for line in rules_s.splitlines():
        parsed = _rule_tokens(line.strip())
        if not parsed or parsed[0] != "INPUT":
            continue
        n += 1
        toks = parsed[1]
        target = toks[toks.index("-j") + 1] if "-j" in toks and toks.index("-j") + 1 < len(toks) else None
        if target in ("REJECT", "DROP") and first_block is None:
            first_block = n
        dport = toks[toks.index("--dport") + 1] if "--dport" in toks else None
        restricted = any(o in toks for o in ("-s", "--source", "-i", "--in-interface", "!"))
        if target == "ACCEPT" and dport == want and "tcp" in toks and not restricted \
                and (first_block is None):
            present = True
    return present, first_block


def plan(ctx, host) -> list[Action]:
    if not ctx.section(NAME).get("enabled", True):
        return [NoOp(_("firewall section disabled in the answers file"))]
    scheme = ctx.section("portal")["scheme"]
    ports = ports_for(host.roles, scheme)
    t = ctx.transport(host)
    major = ctx.facts[host.name].os.major
    if major >= 7:
        return _firewalld(t, host, ports)
    # an interrupted apply may have inserted rules and stopped before saving them
    return _iptables(t, host, ports, unsaved=NAME in ctx.unfinished_sections(host))


LIST_PERMANENT = "firewall-cmd --permanent --zone=public --list-ports"
LIST_LIVE = "firewall-cmd --zone=public --list-ports"


def _firewalld(t, host, ports) -> list[Action]:
    state = t.run("firewall-cmd --state", sudo=True, timeout=60)
    if state.exit_code != 0:
        return [NoOp(_("firewalld is not running on {host} ({state}): nothing blocks the ports; "
                       "start firewalld first if the site uses it").format(
                           host=host.name, state=state.stdout.strip() or state.stderr.strip()))]
    # the ports of the zone, permanent and live: two firewall-cmd runs whatever the number of
    # ports (each is a Python process with a D-Bus round trip, ~0.5 s on a real CentOS 7);
    # `--query-port` is the same exact match of "PORT/tcp" in that list
    perm = t.run(LIST_PERMANENT, sudo=True, timeout=60)
    live = t.run(LIST_LIVE, sudo=True, timeout=60)
    if perm.exit_code != 0 or live.exit_code != 0:
        bad, command = (perm, LIST_PERMANENT) if perm.exit_code != 0 else (live, LIST_LIVE)
        raise PlanError(_("host {host}: {command} failed: {error}").format(
            host=host.name, command=command, error=(bad.stderr or bad.stdout).strip()))
    perm_open, live_open = set(perm.stdout.split()), set(live.stdout.split())
    actions: list[Action] = []
    reload_needed = False
    for port in ports:
        spec = f"{port}/tcp"
        if spec in perm_open:
            actions.append(NoOp(_("port {spec} already open (permanent)").format(spec=spec)))
            reload_needed |= spec not in live_open
        else:
            actions.append(Command(_("Open {spec} permanently").format(spec=spec),
                                   f"firewall-cmd --zone=public --add-port={spec} --permanent"))
            reload_needed = True
    if reload_needed:
        actions.append(Command(_("Reload firewalld so the permanent ports take effect"), "firewall-cmd --reload"))
    return actions


def _iptables(t, host, ports, unsaved: bool = False) -> list[Action]:
    rules = t.run("iptables -S INPUT", sudo=True, timeout=60)
    if rules.exit_code != 0:
        raise PlanError(_("host {host}: iptables -S INPUT failed: {output}").format(
            host=host.name, output=rules.tail(3)))
    actions: list[Action] = []
    missing = []
    for port in ports:
        present, _block = iptables_state(rules.stdout, port)
        if present:
            actions.append(NoOp(_("iptables already accepts tcp {port}").format(port=port)))
        else:
            missing.append(port)
    if not missing and not unsaved:
        return actions
    block = iptables_state(rules.stdout, missing[0])[1] if missing else None
    for port in missing:
        rule = " ".join(iptables_spec(port))
        if block is not None:
            actions.append(Command(_("Accept tcp {port} (before the REJECT at rule {rule})").format(
                port=port, rule=block),
                                   f"iptables -I INPUT {block} {rule}"))
            block += 1
        else:
            actions.append(Command(_("Accept tcp {port}").format(port=port), f"iptables -A INPUT {rule}"))
    actions.append(Command(_("Save the rules to /etc/sysconfig/iptables"), "service iptables save"))
    actions.append(Command(_("Restart iptables from the saved rules"), "service iptables restart"))
    return actions
