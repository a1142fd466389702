"""Section 7: haproxy on every load balancer.

The chat frontend (ws :3000 or wss :3003 with the certificate) and `backend_chat_ws` with
one `server` line per CHAT host go into the LB's haproxy.cfg; the rest of the file stays as
it is (wizard.haproxy_cfg). The candidate file is checked with `haproxy -c -f` on the LB
before it replaces the live one, and haproxy is reloaded only when the file changed: a
config that haproxy rejects is never reloaded.
"""
from __future__ import annotations

import ipaddress
import os
import re
import shlex

from ..errors import PlanError
from ..haproxy_cfg import ChatServer, HaproxyConfigError, edit
from ..plan import Action, Command, NoOp
from . import site_text
from ..i18n import _, N_

NAME = "load_balancer"
TITLE = N_("7. Load balancer (haproxy)")
ROLES = ("LB",)

DEFAULT_CONFIG = "/etc/haproxy/haproxy.cfg"
DEFAULT_CERT = "/etc/haproxy/haproxy.pem"
# haproxy_cfg.check_command's form; the runner puts the (quoted) candidate path in {path}
VALIDATE = "haproxy -c -f {path}"


def chat_servers(ctx, *, notes: bool = True) -> list[ChatServer]:
    """One ChatServer per CHAT host, in inventory order, at its inventory address. Notes
    an address the load balancer may not resolve (an ~/.ssh/config alias, a bare name)."""
    out = []
    for h in ctx.answers.hosts_with_role("CHAT"):
        note = address_note(h.name, h.address) if notes else None
        if note and note not in ctx.notes:
            ctx.notes.append(note)
        out.append(ChatServer(h.name, h.address))
    return out


def address_note(name: str, address: str, ssh_config: str = "~/.ssh/config") -> str | None:
    """Why `address` may not work in a server line on the LB, or None."""
    try:
        ipaddress.ip_address(address.strip("[]"))
        return None
    except ValueError:
        pass
    real = _ssh_alias_target(address, ssh_config)
    if real is not None:
        return _("chat server {name}: its inventory address {address} is an alias in "
                 "{ssh_config} (HostName {real}); the load balancers get {address} in their "
                 "server line and must resolve it, or `haproxy -c` rejects the file: write the "
                 "address the LB reaches the chat server at as inventory address").format(
                     name=name, address=repr(address), ssh_config=ssh_config, real=real)
    if "." not in address:
        return _("chat server {name}: its inventory address {address} is a bare name; the "
                 "load balancers must resolve it (DNS or /etc/hosts), or `haproxy -c` rejects "
                 "the file").format(name=name, address=repr(address))
    return None


def _ssh_alias_target(address: str, ssh_config: str) -> str | None:
    """The HostName an ~/.ssh/config Host entry gives `address`, when it differs."""
    path = os.path.expanduser(ssh_config)
    if not os.path.isfile(path):
        return None
    try:
        import paramiko
        hostname = paramiko.SSHConfig.from_path(path).lookup(address).get("hostname", address)
    except Exception:          # an unreadable ssh config is the transport's business
        return None
    return hostname if hostname.lower() != address.lower() else None


def config_path(ctx) -> str:
    return config_path_of(ctx.answers)


def config_path_of(answers) -> str:
    return answers.section(NAME).get("config") or DEFAULT_CONFIG


def reload_command(ctx, host) -> Command:
    """The procedure's `service haproxy reload` on CentOS 6, systemctl on 7."""
    if ctx.facts[host.name].os.major >= 7:
        return Command(_("Reload haproxy with the new configuration"), "systemctl reload haproxy")
    return Command(_("Reload haproxy with the new configuration"), "service haproxy reload")


def haproxy_running(ctx, host) -> bool:
    t = ctx.transport(host)
    if ctx.facts[host.name].os.major >= 7:
        res = t.run("systemctl is-active haproxy", sudo=True, timeout=60)
    else:
        res = t.run("service haproxy status", sudo=True, timeout=60)
    return res.exit_code == 0


def require_haproxy(ctx, host, path: str) -> tuple[bytes, bool]:
    """(the LB's haproxy.cfg as it will be when this step runs, whether an earlier step of
    the plan writes it); PlanError when haproxy is not installed there or the file is missing."""
    t = ctx.transport(host)
    rpm = t.run("rpm -q haproxy", timeout=60)
    if rpm.exit_code != 0:
        why = (rpm.stdout.strip() or rpm.stderr.strip()
               or _("exit code {code}").format(code=rpm.exit_code))
        raise PlanError(_("host {host}: haproxy is not installed ({why}); the load balancer "
                          "must already run haproxy for the portal (yum -y install haproxy)").format(
                              host=host.name, why=why))
    text, planned = ctx.read(host, path)
    if text is None:
        raise PlanError(_("host {host}: {path} does not exist; set load_balancer.config to "
                          "the haproxy configuration the load balancer uses").format(
                              host=host.name, path=path))
    return text, planned


# haproxy 1.5: "parsing [FILE:LINE] : what"; 2.x: "[FILE:LINE] : what", "Parsing [FILE:LINE]: what"
_PARSING = re.compile(r"\[(?P<file>[^\]\s]+):(?P<line>\d+)\]\s*:?\s*(?P<what>.*)")


def check_as_is(ctx, host, path: str) -> None:
    """`haproxy -c` on the live file before anything of the plan runs: a file haproxy rejects
    as it is (a bad server address, a misspelt keyword) would only be found when the candidate
    is checked, after the sections before this one had changed the other hosts."""
    res = ctx.transport(host).run(f"haproxy -c -f {shlex.quote(path)}", sudo=True, timeout=120)
    if res.exit_code == 0:
        return
    lines = (res.stdout + "\n" + res.stderr).splitlines()
    m = next((m for m in map(_PARSING.search, lines) if m and m["file"] == path), None)
    if m:
        where, what = f"{path}:{m['line']}", m["what"].strip()
    else:
        alerts = [re.sub(r"^\[ALERT\][^:]*:\s*(?:config\s*:\s*)?", "", ln).strip()
                  for ln in lines if ln.startswith("[ALERT]")]
        where, what = path, ("; ".join(alerts[:2]) or res.tail(3).replace("\n", "; ")
                             or _("exit code {code}").format(code=res.exit_code))
    raise PlanError(_("host {host}: {where}: haproxy -c rejects the file as it is now: {what}; "
                      "repair it first (the wizard only adds the chat lines, and checks and reloads "
                      "the whole file)").format(host=host.name, where=where, what=what))


def planned_change(ctx, host, path: str, description: str, *, whatsapp: bool) -> list[Action]:
    """FileChange of haproxy.cfg (checked with haproxy -c on the LB) plus a reload, or a
    NoOp. With whatsapp=True (section 10) only the notes the WhatsApp routing adds are kept:
    section 7's were shown already."""
    portal = ctx.section("portal")
    cert = ctx.section(NAME).get("cert") or DEFAULT_CERT
    old, planned = require_haproxy(ctx, host, path)
    text = site_text(host, path, old)
    servers = chat_servers(ctx, notes=False)
    try:
        result = edit(text, scheme=portal["scheme"], servers=servers, whatsapp=whatsapp,
                      cert=cert, source=path)
        base = edit(text, scheme=portal["scheme"], servers=servers, cert=cert,
                    source=path) if whatsapp else None
    except HaproxyConfigError as e:
        raise PlanError(_("host {host}: {error}").format(host=host.name, error=e)) from None
    if not planned:                           # what the editor cannot see, haproxy may
        check_as_is(ctx, host, path)
    if base is None or base.changed:          # section 7's own work: say what may not resolve
        chat_servers(ctx)
    notes = list(result.notes)
    if base is not None and base.changed:
        ctx.notes.append(_("{host}: {path} lacks the chat frontend or servers (section 7 "
                           "is not part of this plan); they are added here with the WhatsApp "
                           "routing").format(host=host.name, path=path))
    elif base is not None:
        notes = [n for n in notes if n not in base.notes]
    ctx.notes.extend(f"{host.name}: {n}" for n in notes)
    st = ctx.transport(host).stat(path)
    fc = ctx.file_change(host, description, path, result.text.encode("utf-8"),
                         mode=st.mode if st.mode is not None else 0o644,
                         owner=st.owner, group=st.group, validate=VALIDATE)
    section = "whatsapp" if whatsapp else NAME
    if fc is None:
        noop = NoOp(_("{path} on {host} already holds what this section puts there").format(
            path=path, host=host.name))
        if path not in ctx.pending_writes(host, section):
            return [noop]
        # the interrupted apply wrote it and stopped before the reload
        actions: list[Action] = [noop]
    else:
        actions = [fc]
    if haproxy_running(ctx, host):
        actions.append(reload_command(ctx, host))
    else:
        actions.append(NoOp(_("haproxy is not running on {host}: no reload; the new "
                              "configuration takes effect when haproxy is started").format(
                                  host=host.name)))
    return actions


def plan(ctx, host) -> list[Action]:
    path = config_path(ctx)
    scheme = ctx.section("portal")["scheme"]
    frontend = "wss :3003" if scheme == "https" else "ws :3000"
    return planned_change(ctx, host, path,
                          _("Add the chat frontend ({frontend}) and backend_chat_ws to {path}").format(
                              frontend=frontend, path=path),
                          whatsapp=False)

