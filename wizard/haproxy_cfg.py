"""Editing haproxy.cfg for the CHAT role (procedure sections 7 and 10), without a UI.

Text in, text out: the file is split into sections with line spans and the procedure's
lines are spliced in. Every other byte (comments, order, indentation, line endings) stays
as it was, so the diff a user sees holds only added lines. Generated lines stay in the
grammar that both haproxy 1.5.18 (CentOS 6/7) and 2.6 accept.
"""
from __future__ import annotations

import ipaddress
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import NoReturn, Sequence
from .i18n import _

__all__ = ["HaproxyConfigError", "ChatServer", "HaproxyEdit", "edit", "check_command",
           "CHAT_BACKEND", "FRONTEND_BY_SCHEME", "PORTAL_HTTPS_FRONTEND"]

CHAT_BACKEND = "backend_chat_ws"
FRONTEND_BY_SCHEME = {"http": ("acdportal_chat_ws", 3000), "https": ("acdportal_chat_wss", 3003)}
PORTAL_HTTPS_FRONTEND = "acdportal_https"
WHATSAPP_ACL = "whatsapp_req"
WHATSAPP_PATHS = ("/incoming", "/delivery")

# every keyword that opens a section in haproxy 1.5 .. 3.x; anything else is a body line
SECTION_KEYWORDS = frozenset({
    "global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers",
    "mailers", "program", "http-errors", "ring", "cache", "log-forward", "crt-store",
    "traces", "acme", "namespace_list"})

_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_CHATSERVER_NAME = re.compile(r"chatserver(\d+)\Z")


class HaproxyConfigError(ValueError):
    """haproxy.cfg (or the values to put in it) cannot be edited as the procedure wants."""

    def __init__(self, reason: str, *, source: str = "haproxy.cfg", line: int | None = None):
        self.reason = reason
        self.source = source
        self.line = line          # 1-based line in source, None when not about one line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else "%s:%d" % (self.source, self.line)
        return "%s: %s" % (where, self.reason)


@dataclass(frozen=True)
class ChatServer:
    """One CHAT server behind the load balancer; name is the wizard's label for it."""
    name: str
    address: str
    port: int = 3000


@dataclass(frozen=True)
class HaproxyEdit:
    """The edited text; notes say, one line each, what was added, left alone or differs."""
    text: str
    changed: bool
    notes: tuple[str, ...]


def check_command(path: str) -> str:
    """The shell command that validates a candidate haproxy.cfg before it replaces the live one."""
    return "haproxy -c -f %s" % shlex.quote(path)


# --- parsing -------------------------------------------------------------------------------

@dataclass
class _Line:
    raw: str                       # with its line ending, exactly as read
    tokens: tuple[str, ...]        # words without comment, quotes and escapes resolved

    @property
    def indent(self) -> str:
        return self.raw[:len(self.raw) - len(self.raw.lstrip(" \t"))]

    @property
    def is_comment(self) -> bool:
        return not self.tokens and self.raw.strip().startswith("#")


@dataclass
class _Section:
    kind: str                      # "global", "frontend", ...
    name: str
    start: int                     # index of the header line
    end: int                       # index after the last line of the section
    body: list[int] = field(default_factory=list)   # indexes of body lines with words

    def lines_with(self, lines: list[_Line], *key: str) -> list[int]:
        return [i for i in self.body if lines[i].tokens[:len(key)] == key]


def _tokens(text: str) -> tuple[str, ...]:
    """Split one line the way haproxy does: blanks separate, '#' starts a comment."""
    out: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"' and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            else:
                cur.append(c)
        elif c == "\\" and i + 1 < len(text):
            i += 1
            cur.append(text[i])
            in_word = True
        elif c in "\"'":
            quote, in_word = c, True
        elif c == "#":
            break
        elif c.isspace():
            if in_word:
                out.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(c)
            in_word = True
        i += 1
    if in_word:
        out.append("".join(cur))
    return tuple(out)


def _split_lines(text: str) -> list[_Line]:
    raws = re.findall(r"[^\n]*\n|[^\n]+\Z", text)
    lines = [_Line(r, _tokens(r.rstrip("\r\n"))) for r in raws]
    if lines and lines[0].raw.startswith("\ufeff"):
        lines[0].tokens = _tokens(lines[0].raw[1:].rstrip("\r\n"))
    return lines


def _sections(lines: list[_Line]) -> list[_Section]:
    secs: list[_Section] = []
    for i, ln in enumerate(lines):
        if ln.tokens and ln.tokens[0] in SECTION_KEYWORDS:
            if secs:
                secs[-1].end = i
            name = ln.tokens[1] if len(ln.tokens) > 1 else ""
            secs.append(_Section(ln.tokens[0], name, i, len(lines)))
        elif ln.tokens and secs:
            secs[-1].body.append(i)
    return secs


# --- values --------------------------------------------------------------------------------

def _normal_host(host: str) -> str:
    """Canonical form of an address for comparison: compressed IP, or lower-case name."""
    h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(h).compressed
    except ValueError:
        return h.lower().rstrip(".")


def _valid_address(addr: str) -> str | None:
    """The address as it goes into a server line, or None when it is neither IP nor host name."""
    a = addr.strip()
    if a.startswith("[") and a.endswith("]"):
        a = a[1:-1]
        try:
            return ipaddress.IPv6Address(a).compressed
        except ValueError:
            return None
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        pass
    name = a[:-1] if a.endswith(".") else a
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_HOST_LABEL.match(lb) for lb in labels):
        return None
    if labels[-1].isdigit():        # 10.0.0.300 and friends are broken IPs, not names
        return None
    return a


def _server_target(tokens: tuple[str, ...]) -> tuple[str, int | None] | None:
    """(normal host, port or None) of a `server NAME ADDR[:PORT] ...` line."""
    if len(tokens) < 3:
        return None
    addr = tokens[2]
    for pfx in ("ipv4@", "ipv6@"):
        if addr.startswith(pfx):
            addr = addr[len(pfx):]
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", addr)
    if m:
        return _normal_host(m.group(1)), int(m.group(2)) if m.group(2) else None
    host, sep, port = addr.rpartition(":")
    if sep and port.isdigit() and host:
        return _normal_host(host), int(port)
    return _normal_host(addr), None


def _bind_ports(tokens: tuple[str, ...]) -> set[str]:
    if len(tokens) < 2:
        return set()
    return {a.rpartition(":")[2] for a in tokens[1].split(",") if ":" in a}


def _key(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """What makes two directives 'the same setting' for the comparison with the procedure."""
    return tokens[:2] if tokens[0] in ("timeout", "option") else tokens[:1]


# --- the edit ------------------------------------------------------------------------------

class _Editor:
    """One edit: the parsed file, the insertions planned so far and the notes."""

    def __init__(self, text: str, source: str):
        self.source = source
        self.lines = _split_lines(text)
        self.secs = _sections(self.lines)
        self.inserts: dict[int, list[str]] = {}      # before line index -> new lines
        self.notes: list[str] = []
        crlf = sum(ln.raw.endswith("\r\n") for ln in self.lines)
        self.eol = "\r\n" if crlf * 2 > len(self.lines) else "\n"
        indents = Counter(self.lines[i].indent for s in self.secs for i in s.body)
        indents.pop("", None)
        self.indent = indents.most_common(1)[0][0] if indents else "    "

    def fail(self, reason: str, index: int | None = None) -> NoReturn:
        raise HaproxyConfigError(reason, source=self.source,
                                 line=None if index is None else index + 1)

    def find(self, name: str, kinds: tuple[str, ...]) -> _Section | None:
        found = [s for s in self.secs if s.kind in kinds and s.name == name]
        if len(found) > 1:
            self.fail(_("{kind} '{name}' is defined twice (lines {first} and {second})").format(
                kind=found[1].kind, name=name, first=found[0].start + 1, second=found[1].start + 1),
                found[1].start)
        return found[0] if found else None

    def defaults_for(self, sec: _Section) -> _Section | None:
        before = [s for s in self.secs if s.kind == "defaults" and s.start < sec.start]
        return before[-1] if before else None

    def where(self, sec: _Section, index: int | None = None) -> str:
        return _("{kind} {name} (line {line})").format(
            kind=sec.kind, name=sec.name, line=(sec.start if index is None else index) + 1)

    def insert(self, before: int, new: list[str]):
        self.inserts.setdefault(before, []).extend(new)

    def after_last_line(self, sec: _Section) -> int:
        return (sec.body[-1] if sec.body else sec.start) + 1

    def indent_of(self, sec: _Section, near: int | None = None) -> str:
        if near is not None and near in sec.body and self.lines[near].indent:
            return self.lines[near].indent
        own = Counter(self.lines[i].indent for i in sec.body if self.lines[i].indent)
        return own.most_common(1)[0][0] if own else self.indent

    def above_comments(self, index: int) -> int:
        """Move an insertion point up over the comment lines that describe the line at index."""
        while index > 0 and self.lines[index - 1].is_comment:
            index -= 1
        return index

    def compare(self, sec: _Section, wanted: list[str]):
        """Note each wanted directive that the existing section lacks or sets differently."""
        for want in wanted:
            wt = tuple(want.split())
            have = sec.lines_with(self.lines, *_key(wt))
            if any(self.lines[i].tokens == wt for i in have):
                continue
            if have:
                got = " ".join(self.lines[have[0]].tokens)
                self.notes.append(_("{where}: '{got}' differs from the procedure's '{want}'; left as "
                                    "is").format(where=self.where(sec, have[0]), got=got, want=want))
                continue
            dflt = self.defaults_for(sec)
            inherited = dflt.lines_with(self.lines, *_key(wt)) if dflt else []
            if inherited and self.lines[inherited[-1]].tokens == wt:
                continue
            extra = (_(" (defaults has '{line}')").format(line=" ".join(self.lines[inherited[-1]].tokens))
                     if inherited else "")
            self.notes.append(_("{where} has no '{want}'{extra}; not added").format(
                where=self.where(sec), want=want, extra=extra))

    def compare_bind(self, sec: _Section, port: int, cert: str | None):
        binds = [i for i in sec.lines_with(self.lines, "bind")
                 if str(port) in _bind_ports(self.lines[i].tokens)]
        if not binds:
            self.notes.append(_("{where} does not bind port {port}; left as is").format(
                where=self.where(sec), port=port))
            return
        toks = self.lines[binds[0]].tokens
        if cert is None and "ssl" in toks:
            self.notes.append(_("{where}: '{line}' serves TLS where the procedure wants plain ws").format(
                where=self.where(sec, binds[0]), line=" ".join(toks)))
        elif cert is not None:
            crt = toks[toks.index("crt") + 1] if "crt" in toks[:-1] else None
            if "ssl" not in toks or crt != cert:
                self.notes.append(_("{where}: '{line}' differs from the procedure's 'ssl crt {cert}'; "
                                    "left as is").format(where=self.where(sec, binds[0]),
                                                         line=" ".join(toks), cert=cert))

    def port_users(self, port: int, but: str) -> list[str]:
        """Other proxies listening on port: bind lines, or 1.5's `frontend NAME ADDR:PORT`."""
        return [self.where(s, i) for s in self.secs if s.kind in ("frontend", "listen")
                and s.name != but for i in [s.start] + s.lines_with(self.lines, "bind")
                if str(port) in _bind_ports(self.lines[i].tokens[i == s.start:])]

    def render(self) -> str:
        out: list[str] = []
        for k in range(len(self.lines) + 1):
            for new in self.inserts.get(k, ()):
                if out and not out[-1].endswith("\n"):
                    out[-1] += self.eol
                out.append(new + self.eol)
            if k < len(self.lines):
                out.append(self.lines[k].raw)
        return "".join(out)


def _check_servers(servers: Sequence[ChatServer], source: str) -> list[tuple[ChatServer, str]]:
    if not servers:
        raise HaproxyConfigError(_("no chat server given"), source=source)
    seen: dict[tuple[str, int], str] = {}
    out = []
    for srv in servers:
        addr = _valid_address(srv.address) if isinstance(srv.address, str) else None
        if addr is None:
            raise HaproxyConfigError(_("chat server {name}: {address} is neither an IP address nor a "
                                       "host name").format(name=repr(srv.name), address=repr(srv.address)),
                                     source=source)
        if not isinstance(srv.port, int) or isinstance(srv.port, bool) or not 0 < srv.port < 65536:
            raise HaproxyConfigError(_("chat server {name}: port {port} is not a TCP port").format(
                name=repr(srv.name), port=repr(srv.port)), source=source)
        key = (_normal_host(addr), srv.port)
        if key in seen:
            raise HaproxyConfigError(_("chat servers {first} and {second} are the same address "
                                       "{address}").format(first=repr(seen[key]), second=repr(srv.name),
                                                           address=f"{addr}:{srv.port}"), source=source)
        seen[key] = srv.name
        out.append((srv, addr))
    return out


def edit(text: str, *, scheme: str, servers: Sequence[ChatServer], whatsapp: bool = False,
         cert: str = "/etc/haproxy/haproxy.pem", source: str = "haproxy.cfg") -> HaproxyEdit:
    """Add the CHAT role's frontend, backend, servers (and WhatsApp routing) to haproxy.cfg."""
    if scheme not in FRONTEND_BY_SCHEME:
        raise HaproxyConfigError(_("scheme must be 'http' or 'https', not {scheme}").format(
            scheme=repr(scheme)), source=source)
    if scheme == "https" and (not isinstance(cert, str) or not cert
                              or re.search(r"[\s#'\"\\]", cert)):
        raise HaproxyConfigError(_("certificate path {path} cannot go into a bind line").format(
            path=repr(cert)), source=source)
    if whatsapp and scheme != "https":
        raise HaproxyConfigError(_("WhatsApp needs https: the load balancer must serve wss with a "
                                   "valid certificate (procedure section 10)"), source=source)
    wanted = _check_servers(servers, source)
    ed = _Editor(text, source)
    appended: list[list[str]] = []          # whole new sections, header first
    _chat_frontend(ed, scheme, cert, appended)
    _chat_backend(ed, wanted, appended)
    if whatsapp:
        _whatsapp(ed)
    if appended:
        block: list[str] = []
        if ed.lines and ed.lines[-1].raw.strip():
            block.append("")
        for n, sec in enumerate(appended):
            block += ([""] if n else []) + [sec[0]] + [ed.indent + ln for ln in sec[1:]]
        ed.insert(len(ed.lines), block)
    out = ed.render()
    return HaproxyEdit(out, out != text, tuple(ed.notes))


def _chat_frontend(ed: _Editor, scheme: str, cert: str, appended: list[list[str]]):
    """`frontend acdportal_chat_ws[s]`: appended when missing, else only compared."""
    name, port = FRONTEND_BY_SCHEME[scheme]
    fe_cert = cert if scheme == "https" else None
    bind = "bind :%d" % port + (" ssl crt %s" % cert if fe_cert else "")
    body = [bind, "mode http", "timeout client 1d", "default_backend %s" % CHAT_BACKEND]
    fe = ed.find(name, ("frontend", "listen"))
    if fe is None:
        appended.append(["frontend %s" % name] + body)
        ed.notes.append(_("added frontend {name}: {bind}").format(name=name, bind=bind))
        for user in ed.port_users(port, name):
            ed.notes.append(_("WARNING: {proxy} already binds port {port} too").format(proxy=user, port=port))
    else:
        ed.notes.append(_("{where} already present; left alone").format(where=ed.where(fe)))
        ed.compare_bind(fe, port, fe_cert)
        ed.compare(fe, body[1:])
    for other, _port in FRONTEND_BY_SCHEME.values():
        other_fe = ed.find(other, ("frontend", "listen")) if other != name else None
        if other_fe is not None:
            ed.notes.append(_("{where} (the other scheme's) also exists; left alone").format(
                where=ed.where(other_fe)))


def _chat_backend(ed: _Editor, wanted: list[tuple[ChatServer, str]],
                  appended: list[list[str]]):
    """`backend backend_chat_ws`: appended when missing, else only missing servers added."""
    # `timeout tunnel` governs a websocket after the upgrade; 1.5.18 has it (defaults,
    # listen, backend: not frontend), so it goes here and not into the frontend
    body = ["mode http", "balance leastconn", "timeout server 1d", "timeout tunnel 1d"]
    be = ed.find(CHAT_BACKEND, ("backend", "listen"))
    present: dict[tuple[str, int | None], tuple[str, int]] = {}   # target -> (name, index)
    used_names: set[str] = set()
    if be is None:
        ed.notes.append(_("added backend {name} (balance leastconn)").format(name=CHAT_BACKEND))
    else:
        ed.notes.append(_("{where} already present; left alone but for missing servers").format(
            where=ed.where(be)))
        ed.compare(be, body)
        for i in be.lines_with(ed.lines, "server"):
            toks = ed.lines[i].tokens
            used_names.add(toks[1] if len(toks) > 1 else "")
            target = _server_target(toks)
            if target is not None:
                present.setdefault(target, (toks[1], i))
    numbers = [int(m.group(1)) for m in map(_CHATSERVER_NAME.match, used_names) if m]
    next_n = max(numbers, default=0) + 1
    new: list[str] = []
    wanted_keys = {(_normal_host(addr), srv.port) for srv, addr in wanted}
    for srv, addr in wanted:
        key = (_normal_host(addr), srv.port)
        if key in present:
            name, i = present[key]
            ed.notes.append(_("chat server {chat} ({address}) already present as {name} (line "
                              "{line})").format(chat=srv.name, address=f"{addr}:{srv.port}",
                                                name=name, line=i + 1))
            continue
        for (host, p), (name, i) in present.items():
            if host == key[0]:
                ed.notes.append(_("{name} (line {line}) points at {address} with port {port}, not "
                                  "{wanted}; left as is").format(
                                      name=name, line=i + 1, address=addr,
                                      port=p if p is not None else _("unset"), wanted=srv.port))
        while "chatserver%d" % next_n in used_names:
            next_n += 1
        name = "chatserver%d" % next_n
        used_names.add(name)
        new.append("server %s %s:%d weight 1 check inter 1m" % (name, addr, srv.port))
        ed.notes.append(_("added chat server {chat} as {name} {address}").format(
            chat=srv.name, name=name, address=f"{addr}:{srv.port}"))
    wanted_hosts = {host for host, _ in wanted_keys}
    for (host, p), (name, i) in present.items():
        if host not in wanted_hosts:
            ed.notes.append(_("server {name} (line {line}) is not among the chat servers given; left "
                              "alone").format(name=name, line=i + 1))
    if be is None:
        appended.append(["backend %s" % CHAT_BACKEND] + body + new)
    elif new:
        last = be.lines_with(ed.lines, "server")
        at = (last[-1] + 1) if last else ed.after_last_line(be)
        ed.insert(at, [ed.indent_of(be, last[-1] if last else None) + ln for ln in new])


def _whatsapp(ed: _Editor):
    """Route the WhatsApp webhooks (/incoming, /delivery) of the portal's https frontend to chat."""
    fe = ed.find(PORTAL_HTTPS_FRONTEND, ("frontend", "listen"))
    if fe is None:
        ed.fail(_("frontend {name} is missing: WhatsApp routing goes into the portal's https "
                  "frontend").format(name=PORTAL_HTTPS_FRONTEND))
    lines = ed.lines
    mode = fe.lines_with(lines, "mode")
    dflt = ed.defaults_for(fe)
    mode = mode or (dflt.lines_with(lines, "mode") if dflt else [])
    if not mode or lines[mode[-1]].tokens[1:2] != ("http",):
        ed.notes.append(_("WARNING: {where} does not run in mode http; the WhatsApp path ACLs need "
                          "it").format(where=ed.where(fe)))
    have_paths: set[str] = set()
    for i in fe.lines_with(lines, "acl", WHATSAPP_ACL):
        toks = lines[i].tokens
        if toks[2:3] == ("path",):
            have_paths.update(t for t in toks[3:] if not t.startswith("-"))
        else:
            ed.notes.append(_("{where}: '{line}' also feeds {acl}; left as is").format(
                where=ed.where(fe, i), line=" ".join(toks), acl=WHATSAPP_ACL))
    acls = ["acl %s path %s" % (WHATSAPP_ACL, p) for p in WHATSAPP_PATHS if p not in have_paths]
    rule = ("use_backend", CHAT_BACKEND, "if", WHATSAPP_ACL)
    existing = [i for i in fe.body if lines[i].tokens == rule]
    defaults = fe.lines_with(lines, "default_backend")
    if existing:
        new = acls
        anchor: int | None = existing[0]
        if defaults and defaults[0] < existing[0]:
            ed.notes.append(_("{where}: '{line}' comes after default_backend; left as is").format(
                where=ed.where(fe, existing[0]), line=" ".join(rule)))
    else:
        new = acls + [" ".join(rule)]
        # before every other use_backend, so that no earlier rule catches the webhook paths
        firsts = [i for i in fe.body if lines[i].tokens[0] in ("use_backend", "default_backend")]
        anchor = firsts[0] if firsts else None
    for text in new:
        ed.notes.append(_("{where}: added '{line}'").format(where=ed.where(fe), line=text))
    if not new:
        ed.notes.append(_("{where} already routes WhatsApp to {backend}; left alone").format(
            where=ed.where(fe), backend=CHAT_BACKEND))
        return
    if anchor is None:
        at = ed.after_last_line(fe)
        ind = ed.indent_of(fe, fe.body[-1] if fe.body else None)
    else:
        at = ed.above_comments(anchor)
        ind = ed.indent_of(fe, anchor)
    ed.insert(at, [ind + ln for ln in new])
