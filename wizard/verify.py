"""Section 11, "Verify": does chat work end to end? Read-only, after a run or on demand.

    checks = run_checks(answers, transports, facts)        # list[Check]
    render_markdown(checks)   # the report's Verify table
    render_lines(checks)      # plain lines for the CLI

Each check runs where an engineer on site would look, and says what it proved or what is
wrong and the likely fix:

- each chat server (through its own shell): the daemon runs (pid file or the ClientMessenger
  JVM, not `service status` alone: facts.detect_daemon), starts at boot (`chkconfig --list`,
  else `systemctl is-enabled`), something accepts connections on 3000, and its firewall lets
  3000/tcp and 5701-5801/tcp in (firewalld's runtime ports on 7, `iptables -S INPUT` on 6);
- each Hazelcast member (DATA/TEL/WEB), through its own shell: a TCP connection to each chat
  server's cluster port 5701 (`timeout 3 bash -c '</dev/tcp/H/5701'`: bash is on every CentOS);
- each load balancer: real WebSocket upgrades (HTTP 101) from this machine to the LB's chat
  port (3003 wss / 3000 ws), held open together while each chat server counts its established
  connections on 3000: the path an agent's browser takes, and proof of balancing that does not
  depend on what the chat server says (the LB is reachable: the wizard reaches it over SSH);
- with WhatsApp, on each LB (curl, through its shell): `https://<portal>/incoming` and
  `/delivery` through the portal's https frontend answer with the same HTTP status as the
  chat server itself (a portal backend that happens to answer the same status would pass:
  the status is the only signal both servers give without logs); TynTec's webhooks point at
  the portal (GET through wizard.tyntec, as section 10 reads them).

Nothing here changes a host. The checks are not part of apply's plan.
"""
from __future__ import annotations

import base64
import os
import shlex
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from . import masking
from .facts import detect_daemon
from .steps.firewall import CLUSTER, iptables_state
from .i18n import _

CHAT_PORT = 3000
CLUSTER_PORT = 5701
TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One verification: where (host or "TynTec"), what, and the outcome."""

    host: str
    name: str
    ok: bool
    proved: str = ""      # what passing showed
    problem: str = ""     # what is wrong (ok=False)
    fix: str = ""         # the likely fix (ok=False)


def _ok(host, name, proved) -> Check:
    return Check(host, name, True, proved=proved)


def _bad(host, name, problem, fix) -> Check:
    return Check(host, name, False, problem=problem, fix=fix)


# ------------------------------------------------------------------ rendering (pure)

def _cell(text: str) -> str:
    return masking.mask(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(checks: Iterable[Check]) -> str:
    """The report's Verify table."""
    rows = ["| " + " | ".join((_("host"), _("check"), _("result"),
                               _("what it proved / what is wrong"), _("likely fix"))) + " |",
            "| --- | --- | --- | --- | --- |"]
    for c in checks:
        result = _("ok") if c.ok else _("FAILED")
        rows.append(f"| {_cell(c.host)} | {_cell(c.name)} | {result} | "
                    f"{_cell(c.proved if c.ok else c.problem)} | {_cell('' if c.ok else c.fix)} |")
    return "\n".join(rows) + "\n"


def render_lines(checks: Iterable[Check]) -> list[str]:
    """Plain lines for the CLI: "ok     chat1: daemon running: …" / "FAILED …\\n       fix: …"."""
    out = []
    for c in checks:
        if c.ok:
            out.append(masking.mask(_("ok").ljust(7) + f" {c.host}: {c.name}: {c.proved}"))
        else:
            out.append(masking.mask(_("FAILED").ljust(7) + f" {c.host}: {c.name}: {c.problem}"))
            if c.fix:
                out.append(masking.mask("        " + _("fix: {fix}").format(fix=c.fix)))
    return out


# ------------------------------------------------------------------ chat servers

def _installed_script(t, service: str) -> str | None:
    data = t.read_file(f"/etc/init.d/{service}", sudo=True)
    return None if data is None else data.decode("utf-8", errors="replace")


def _enabled(t, service: str, major: int) -> tuple[bool, str]:
    q = shlex.quote(service)
    res = t.run(f"chkconfig --list {q}", sudo=True, timeout=60)
    if res.exit_code == 0:
        for line in res.stdout.splitlines():
            if line.split()[:1] == [service]:
                on = "3:on" in line.split()
                return on, f"chkconfig --list: {' '.join(line.split()[1:])}"
    if major >= 7:
        res = t.run(f"systemctl is-enabled {q}", sudo=True, timeout=60)
        return res.exit_code == 0, f"systemctl is-enabled: {res.stdout.strip() or res.exit_code}"
    return False, f"chkconfig --list {service}: {res.tail(1) or res.exit_code}"


def tcp_probe_command(address: str, port: int, seconds: int = 3) -> str:
    """A shell command that succeeds when `address:port` accepts a TCP connection (bash's
    /dev/tcp, bounded by timeout). The inner bash parses the address again: only host
    name / IP characters are accepted (ValueError otherwise)."""
    import re
    if not re.fullmatch(r"[A-Za-z0-9._:-]+", address) or not isinstance(port, int):
        raise ValueError(_("{address} is not a host name or IP address and port").format(
            address=f"{address!r}:{port!r}"))
    inner = f"</dev/tcp/{address}/{port}"
    return f"timeout {seconds} bash -c {shlex.quote(inner)}"


def _firewall(t, major: int, ports: list[str]) -> tuple[bool, str]:
    if major >= 7:
        state = t.run("firewall-cmd --state", sudo=True, timeout=60)
        if state.exit_code != 0:
            return True, _("firewalld is not running: nothing blocks the ports")
        closed = [p for p in ports if t.run(f"firewall-cmd --zone=public --query-port={p}/tcp",
                                              sudo=True, timeout=60).exit_code != 0]
        how = _("firewalld (runtime)")
    else:
        rules = t.run("iptables -S INPUT", sudo=True, timeout=60)
        if rules.exit_code != 0:
            return False, _("iptables -S INPUT failed: {output}").format(output=rules.tail(1))
        closed = [p for p in ports if not iptables_state(rules.stdout, p)[0]]
        how = _("iptables INPUT (before the first REJECT/DROP)")
    if closed:
        return False, _("{how} does not let in {ports}").format(
            how=how, ports=", ".join(f"{p}/tcp" for p in closed))
    return True, _("{how} lets in {ports}").format(how=how, ports=", ".join(f"{p}/tcp" for p in ports))


def chat_checks(answers, t, spec, major: int) -> list[Check]:
    service = answers.section("daemon")["service"]
    out = []
    state = detect_daemon(t, service, _installed_script(t, service))
    name = _("daemon running")
    if state.running:
        note = "" if state.status_action else _(" (the init script has no status action)")
        out.append(_ok(spec.name, name, f"{service}: {state.how}{note}"))
    else:
        said = (_("service status exit code {code}; ").format(code=state.status_rc)
                if state.status_rc is not None else "")
        out.append(_bad(spec.name, name,
                        _("{service} is not running ({said}no live process in {pidfile}, "
                          "no ClientMessenger JVM)").format(service=service, said=said,
                                                            pidfile=state.pidfile),
                        _("service {service} start; if it stops again, read its log "
                          "({log}) for the database or Hazelcast error").format(
                              service=service, log=f"/var/log/{service}.log")))
    on, how = _enabled(t, service, major)
    boot = _("starts at boot")
    out.append(_ok(spec.name, boot, how) if on else
               _bad(spec.name, boot, _("{service} is not enabled ({how})").format(service=service, how=how),
                    _("chkconfig {service} on (section 4)").format(service=service)))
    res = t.run(tcp_probe_command("127.0.0.1", CHAT_PORT), timeout=30)
    listening = _("listening on {port}").format(port=CHAT_PORT)
    out.append(_ok(spec.name, listening, _("{address} accepts TCP connections").format(
                   address=f"127.0.0.1:{CHAT_PORT}"))
               if res.exit_code == 0 else
               _bad(spec.name, listening, _("nothing accepts connections on {port} (exit code "
                                            "{code})").format(port=CHAT_PORT, code=res.exit_code),
                    _("is the daemon running with -Dde.jtel.platform.clientmessenger.port=3000? "
                      "see {log}").format(log=f"/var/log/{service}.log")))
    if answers.section("firewall").get("enabled", True):
        ok, how = _firewall(t, major, [CLUSTER, str(CHAT_PORT)])
        out.append(_ok(spec.name, _("firewall"), how) if ok else
                   _bad(spec.name, _("firewall"), how, _("section 6 (firewall): apply again, or open "
                        "the ports by hand (firewall-cmd --add-port / iptables -I INPUT)")))
    return out


# ------------------------------------------------------------------ Hazelcast members

def member_checks(answers, transports) -> list[Check]:
    out = []
    chats = answers.hosts_with_role("CHAT")
    for role in ("DATA", "TEL", "WEB"):
        for m in answers.hosts_with_role(role):
            if m.name in {c.name for c in chats} or any(o.host == m.name for o in out):
                continue
            t = transports[m.name]
            for c in chats:
                res = t.run(tcp_probe_command(c.address, CLUSTER_PORT), timeout=30)
                name = _("cluster port of {chat}").format(chat=c.name)
                target = f"{c.address}:{CLUSTER_PORT}"
                why = _("timed out") if res.exit_code == 124 else _("refused or unreachable")
                out.append(
                    _ok(m.name, name, _("{member} opens a TCP connection to {target}").format(
                        member=m.name, target=target))
                    if res.exit_code == 0 else
                    _bad(m.name, name, _("{member} cannot open a TCP connection to {target} (exit "
                                         "code {code}: {why})").format(
                                             member=m.name, target=target, code=res.exit_code, why=why),
                         _("is ClientMessenger running on {chat} (its Hazelcast member listens on "
                           "5701)? does {chat}'s firewall let 5701-5801/tcp in (section 6)?").format(
                               chat=c.name)))
    return out


# ------------------------------------------------------------------ load balancers: WebSocket

def ws_upgrade(address: str, port: int, *, tls: bool, timeout: float = TIMEOUT,
               host_header: str | None = None) -> tuple[str, socket.socket | None]:
    """Open a WebSocket upgrade to address:port; (status line, the open socket when 101).
    Certificates are not checked: this proves routing, not the site's PKI."""
    raw = socket.create_connection((address, port), timeout=timeout)
    try:
        sock = raw
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(raw, server_hostname=host_header or address)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET / HTTP/1.1\r\nHost: {host_header or address}:{port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n", 1)[0].decode("latin-1").strip() or "no answer"
        if status.split()[1:2] == ["101"]:
            return status, sock
        sock.close()
        return status, None
    except BaseException:
        raw.close()
        raise


def parse_established(proc_net_tcp: str, port: int) -> int:
    """Established connections whose local port is `port`, from /proc/net/tcp(6) text."""
    n = 0
    for line in proc_net_tcp.splitlines():
        parts = line.split()
        if len(parts) > 3 and ":" in parts[1] and parts[3] == "01":
            try:
                if int(parts[1].rsplit(":", 1)[1], 16) == port:
                    n += 1
            except ValueError:
                continue
    return n


def _established(t) -> int:
    res = t.run("cat /proc/net/tcp /proc/net/tcp6 2>/dev/null", timeout=30)
    return parse_established(res.stdout, CHAT_PORT)


def lb_checks(answers, transports, spec, *, connections: int | None = None) -> list[Check]:
    scheme = answers.section("portal")["scheme"]
    tls = scheme == "https"
    port = 3003 if tls else 3000
    kind = "wss" if tls else "ws"
    chats = answers.hosts_with_role("CHAT")
    n = connections or max(2, 2 * len(chats))
    name = _("WebSocket ({kind}) through {lb}").format(kind=kind, lb=spec.name)
    before = {c.name: _established(transports[c.name]) for c in chats}
    socks, statuses = [], []
    try:
        for _i in range(n):
            try:
                status, sock = ws_upgrade(spec.address, port, tls=tls)
            except OSError as e:
                status, sock = _("no connection ({error})").format(error=e), None
            statuses.append(status)
            if sock is not None:
                socks.append(sock)
        time.sleep(0.3)
        held = {c.name: _established(transports[c.name]) - before[c.name] for c in chats}
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
    missing = _missing_backend_lines(answers, transports[spec.name], chats)
    lines = _("; backend backend_chat_ws in {config} has no server line for {servers}").format(
        config=answers.section('load_balancer')['config'], servers=", ".join(missing)) if missing else ""
    url = f"{kind}://{spec.address}:{port}"
    if not socks:
        return [_bad(spec.name, name, _("no upgrade to {url} got HTTP 101 ({status})").format(
                         url=url, status=statuses[0]) + lines,
                     _("is haproxy running on {lb} with frontend {frontend}, {port}/tcp open and a "
                       "`server` line per chat server in backend_chat_ws (sections 6, 7)? are the "
                       "chat servers up (503: no server)?").format(
                           lb=spec.name, frontend=f"acdportal_chat_{kind}", port=port))]
    spread = ", ".join(f"{c} {max(h, 0)}" for c, h in held.items())
    idle = [c for c, h in held.items() if h <= 0]
    proved = _("{n} of {total} upgrades to {url} got HTTP 101; connections held per chat "
               "server: {spread}").format(n=len(socks), total=n, url=url, spread=spread)
    if idle:
        return [_bad(spec.name, name, proved + _("; {servers} got none").format(
                         servers=", ".join(idle)) + lines,
                     _("backend backend_chat_ws on {lb} needs a `server` line for {servers} "
                       "(section 7), and its health check must pass (daemon running, 3000/tcp "
                       "open)").format(lb=spec.name, servers=", ".join(idle)))]
    return [_ok(spec.name, name, proved)]


def _missing_backend_lines(answers, t, chats) -> list[str]:
    """Chat servers without a `server … ADDRESS:3000` line in backend backend_chat_ws."""
    data = t.read_file(answers.section("load_balancer")["config"], sudo=True)
    if data is None:
        return [c.name for c in chats]
    targets, inside = set(), False
    for line in data.decode("utf-8", errors="replace").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] in ("backend", "frontend", "listen", "defaults", "global"):
            inside = words[0] == "backend" and words[1:2] == ["backend_chat_ws"]
        elif inside and words[0] == "server" and len(words) > 2:
            targets.add(words[2])
    return [f"{c.name} ({c.address}:{CHAT_PORT})" for c in chats if f"{c.address}:{CHAT_PORT}" not in targets]


# ------------------------------------------------------------------ WhatsApp

def _curl_code(t, url: str, host_header: str | None = None) -> str:
    hdr = f" -H {shlex.quote('Host: ' + host_header)}" if host_header else ""
    res = t.run(f"curl -sk -o /dev/null -w '%{{http_code}}' --max-time 5{hdr} {shlex.quote(url)}",
                timeout=30)
    return res.stdout.strip() or f"curl exit {res.exit_code}"


def whatsapp_lb_checks(answers, transports, spec) -> list[Check]:
    from urllib.parse import urlsplit
    wa = answers.section("whatsapp")
    portal = urlsplit(wa["portal_url"]).hostname or ""
    t = transports[spec.name]
    chat = answers.hosts_with_role("CHAT")[0]
    out = []
    for path in ("/incoming", "/delivery"):
        direct = _curl_code(t, f"http://{chat.address}:{CHAT_PORT}{path}")
        via = _curl_code(t, f"https://127.0.0.1{path}", host_header=portal)
        name = _("{url} to the chat backend").format(url=f"https://{portal}{path}")
        if via == direct and via.isdigit() and via != "503":
            out.append(_ok(spec.name, name, _("through {lb}'s https frontend it answers HTTP {via}, "
                                              "as {chat} itself does").format(
                                                  lb=spec.name, via=via, chat=chat.name)))
        else:
            out.append(_bad(spec.name, name,
                            _("through {lb}'s https frontend it answers {via}, {chat} itself "
                              "answers {direct}: not routed to the chat servers").format(
                                  lb=spec.name, via=via, chat=chat.name, direct=direct),
                            _("frontend acdportal_https needs `acl whatsapp_req path /incoming`, "
                              "`… /delivery` and `use_backend backend_chat_ws if whatsapp_req` "
                              "(section 10), then a haproxy reload")))
    return out


def tyntec_check(answers, *, http=None, secret: Callable[[str], str] | None = None) -> Check:
    from . import tyntec
    from .steps.whatsapp import API_KEY_REF, webhook_root
    wa = answers.section("whatsapp")
    http = http or tyntec
    if secret is None:
        from . import secrets
        secret = secrets.get
    key = secret(wa.get("api_key") or API_KEY_REF)
    masking.register(key)
    root = webhook_root(wa)
    name = _("webhooks point at the portal")
    try:
        app = http.get_default(wa["api_base"], key)
    except tyntec.TyntecError as e:
        return _bad("TynTec", name, f"GET {tyntec.application_url(wa['api_base'])}: {e}",
                    _("check whatsapp.api_key in the keyring and TynTec's reachability"))
    missing = tyntec.webhook_differences(app, tyntec.webhook_body(root))
    if missing:
        shown = "; ".join(missing[:3]) + (_("; and {n} more").format(n=len(missing) - 3)
                                          if len(missing) > 3 else "")
        return _bad("TynTec", name, _("{n} event type(s) do not call the portal: {shown}").format(
                        n=len(missing), shown=shown),
                    _("apply section 10 again (it PATCHes the webhooks)"))
    return _ok("TynTec", name, _("every event type calls {root}/incoming or {root}/delivery").format(
        root=root))


# ------------------------------------------------------------------ all of it

def run_checks(answers, transports: dict, facts: dict, *, http=None,
               secret: Callable[[str], str] | None = None) -> list[Check]:
    """Every check, chat servers first; `transports` by inventory name (connected, read-only
    use), `facts` the detection's HostFacts by name (for the OS major). `http`: an object with
    `get_default(base, apikey)` (default: wizard.tyntec); `secret`: keyring lookup."""
    out: list[Check] = []
    for spec in answers.hosts_with_role("CHAT"):
        f = facts.get(spec.name)
        out += chat_checks(answers, transports[spec.name], spec, f.os.major if f else 7)
    out += member_checks(answers, transports)
    for spec in answers.hosts_with_role("LB"):
        out += lb_checks(answers, transports, spec)
    if answers.section("whatsapp").get("enabled"):
        for spec in answers.hosts_with_role("LB"):
            out += whatsapp_lb_checks(answers, transports, spec)
        out.append(tyntec_check(answers, http=http, secret=secret))
    return out
