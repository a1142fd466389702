"""A light structural check of haproxy.cfg, standing in for `haproxy -c` (1.5.18) on the
training host. It knows the section layout, the 1.5 keywords, bind/server/timeout syntax,
backend and ACL references, certificate files and whether server addresses resolve
on the training host; it is not haproxy's parser, and its output says so."""
from __future__ import annotations

import ipaddress
import re
import time

SECTIONS = {"global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers",
            "mailers"}
GLOBAL_KW = {
    "log", "log-send-hostname", "log-tag", "chroot", "pidfile", "maxconn", "maxconnrate", "maxsessrate",
    "maxsslconn", "maxsslrate", "maxcomprate", "maxcompcpuusage", "maxpipes", "maxzlibmem", "user", "group",
    "uid", "gid", "daemon", "nbproc", "cpu-map", "stats", "node", "description", "debug", "quiet",
    "noepoll", "nokqueue", "nopoll", "nosplice", "nogetaddrinfo", "spread-checks", "ulimit-n",
    "ca-base", "crt-base", "ssl-server-verify", "ssl-default-bind-ciphers", "ssl-default-bind-options",
    "ssl-default-server-ciphers", "ssl-default-server-options", "tune.ssl.default-dh-param",
    "tune.ssl.cachesize", "tune.ssl.lifetime", "tune.ssl.maxrecord", "tune.bufsize", "tune.maxrewrite",
    "tune.maxaccept", "tune.maxpollevents", "tune.http.maxhdr", "tune.comp.maxlevel", "tune.zlib.memlevel",
    "tune.zlib.windowsize", "tune.chksize", "tune.idletimer", "tune.pipesize", "tune.rcvbuf.client",
    "tune.rcvbuf.server", "tune.sndbuf.client", "tune.sndbuf.server", "tune.http.cookielen",
    "unix-bind", "external-check", "lua-load", "hard-stop-after", "server-state-file"}
PROXY_KW = {
    "acl", "appsession", "backlog", "balance", "bind", "bind-process", "block", "capture", "clitimeout",
    "compression", "contimeout", "cookie", "default-server", "default_backend", "description", "disabled",
    "dispatch", "enabled", "errorfile", "errorloc", "errorloc302", "errorloc303", "force-persist",
    "fullconn", "grace", "hash-type", "http-check", "http-request", "http-response",
    "http-send-name-header", "id", "ignore-persist", "log", "log-format", "max-keep-alive-queue",
    "maxconn", "mode", "monitor", "monitor-net", "monitor-uri", "no", "option", "persist", "rate-limit",
    "redirect", "redisp", "redispatch", "reqadd", "reqallow", "reqdel", "reqdeny", "reqiallow", "reqidel",
    "reqideny", "reqipass", "reqirep", "reqisetbe", "reqitarpit", "reqpass", "reqrep", "reqsetbe",
    "reqtarpit", "retries", "rspadd", "rspdel", "rspdeny", "rspidel", "rspideny", "rspirep", "rsprep",
    "server", "source", "srvtimeout", "stats", "stick", "stick-table", "tcp-check", "tcp-request",
    "tcp-response", "timeout", "transparent", "unique-id-format", "unique-id-header", "use-server",
    "use_backend", "email-alert", "external-check"}
BACKEND_ONLY = {"server", "balance", "cookie", "default-server", "dispatch", "hash-type", "http-check",
                "use-server", "appsession", "fullconn", "tcp-check", "http-send-name-header", "stick"}
FRONTEND_ONLY = {"bind", "default_backend", "use_backend", "monitor-uri", "monitor-net", "capture",
                 "backlog", "unique-id-format", "unique-id-header"}
TIMEOUTS = {"client", "server", "connect", "queue", "http-request", "http-keep-alive", "check", "tunnel",
            "tarpit", "client-fin", "server-fin"}
MODES = {"http", "tcp", "health"}
BALANCE = {"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr",
           "rdp-cookie"}
HTTP_REQUEST = {"allow", "deny", "tarpit", "auth", "redirect", "add-header", "set-header", "del-header",
                "replace-header", "replace-value", "set-nice", "set-tos", "set-mark", "set-log-level",
                "add-acl", "del-acl", "set-map", "del-map"}
SERVER_FLAGS = {"backup", "check", "check-send-proxy", "check-ssl", "disabled", "no-sslv3", "no-tlsv10",
                "no-tlsv11", "no-tlsv12", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12",
                "send-proxy", "send-proxy-v2", "ssl", "non-stick", "agent-check", "no-ssl-reuse"}
SERVER_ARGS = {"addr", "agent-inter", "agent-port", "ca-file", "ciphers", "cookie", "crl-file", "crt",
               "downinter", "error-limit", "fall", "fastinter", "id", "inter", "maxconn", "maxqueue",
               "minconn", "observe", "on-error", "on-marked-down", "on-marked-up", "port", "redir",
               "rise", "slowstart", "source", "track", "verify", "weight"}
TIME_ARGS = {"inter", "fastinter", "downinter", "agent-inter", "slowstart"}
PREDEFINED_ACLS = {"FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_CONTENT", "HTTP_URL_ABS",
                   "HTTP_URL_SLASH", "HTTP_URL_STAR", "LOCALHOST", "METH_CONNECT", "METH_GET",
                   "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_TRACE", "RDP_COOKIE", "REQ_CONTENT",
                   "TRUE", "WAIT_END"}
_TIME = re.compile(r"\d+(us|ms|s|m|h|d)?")

NOTE = "[NOTICE] training host: light structural check of haproxy.cfg, not haproxy 1.5.18 itself"


def _words(line: str) -> list[str]:
    out, cur, i, esc = [], "", 0, False
    while i < len(line):
        ch = line[i]
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == "#":
            break
        elif ch in " \t\r":
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    if cur:
        out.append(cur)
    return out


def _resolvable(host: str, resolves) -> bool:
    if host in ("", "*", "0.0.0.0", "::"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return resolves(host)


def _acl_refs(words: list[str]) -> list[str]:
    if "if" in words:
        cond = words[words.index("if") + 1:]
    elif "unless" in words:
        cond = words[words.index("unless") + 1:]
    else:
        return []
    refs, depth = [], 0
    for w in cond:
        bare = w.lstrip("!")
        if bare.startswith("{"):
            depth += 1
        if depth == 0 and bare not in ("or", "||", ""):
            refs.append(bare)
        if bare.endswith("}") and depth:
            depth -= 1
    return [r for r in refs if r]


def check(data: bytes | None, path: str, *, file_exists, resolves) -> tuple[bool, list[str], list[str]]:
    """(valid, stdout lines, stderr lines) of `haproxy -c -f path`."""
    stamp = time.strftime("%j/%H%M%S")
    alert = f"[ALERT] {stamp} (4242) : "
    warn = f"[WARNING] {stamp} (4242) : "
    err: list[str] = [NOTE]
    if data is None:
        return False, [], err + [f"{alert}Could not open configuration file {path} : No such file or directory"]
    errors = 0

    def bad(n: int, msg: str) -> None:
        nonlocal errors
        errors += 1
        err.append(f"{alert}parsing [{path}:{n}] : {msg}")

    proxies: dict[str, dict] = {}
    sec = None
    for n, line in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
        w = _words(line)
        if not w:
            continue
        kw = w[0]
        if kw in SECTIONS:
            if kw in ("frontend", "backend", "listen"):
                if len(w) < 2:
                    bad(n, f"'{kw}' expects <name> as an argument.")
                    sec = {"kind": kw, "name": "?", "line": n, "acls": set(), "refs": [], "binds": 0,
                           "default": None}
                    continue
                name = w[1]
                for other in proxies.values():
                    if other["name"] == name and (kw == other["kind"] or "listen" in (kw, other["kind"])):
                        bad(n, f"{kw} '{name}' has the same name as another {other['kind']} "
                               f"(declared at {path}:{other['line']}).")
                sec = {"kind": kw, "name": name, "line": n, "acls": set(), "refs": [], "binds": 0,
                       "default": None}
                proxies[f"{kw} {name} {n}"] = sec
            else:
                sec = {"kind": kw, "name": w[1] if len(w) > 1 else "", "line": n}
            continue
        if sec is None:
            bad(n, f"unknown keyword '{kw}' out of section.")
            continue
        kind = sec["kind"]
        if kind == "global":
            if kw not in GLOBAL_KW:
                bad(n, f"unknown keyword '{kw}' in 'global' section")
            continue
        if kind not in ("frontend", "backend", "listen", "defaults"):
            continue
        if kw not in PROXY_KW:
            bad(n, f"unknown keyword '{kw}' in '{kind}' section")
            continue
        if kind == "frontend" and kw in BACKEND_ONLY:
            err.append(f"{warn}parsing [{path}:{n}] : '{kw}' ignored because frontend '{sec['name']}' "
                       "has no backend capability.")
            continue
        if kind in ("backend", "defaults") and kw in FRONTEND_ONLY - {"default_backend"}:
            if kind == "backend":
                err.append(f"{warn}parsing [{path}:{n}] : '{kw}' ignored because backend '{sec['name']}' "
                           "has no frontend capability.")
            continue
        if kw == "mode" and (len(w) < 2 or w[1] not in MODES):
            bad(n, f"unknown proxy mode '{w[1] if len(w) > 1 else ''}'.")
        elif kw == "balance" and (len(w) < 2 or w[1].split("(")[0] not in BALANCE):
            bad(n, "'balance' only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', "
                   "'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.")
        elif kw == "timeout":
            if len(w) < 2 or w[1] not in TIMEOUTS:
                bad(n, f"'timeout' supports 'client', 'server', 'connect', 'check', 'queue', "
                       f"'http-keep-alive', 'http-request', 'tunnel' or 'tarpit', (got '{w[1] if len(w) > 1 else ''}').")
            elif len(w) < 3:
                bad(n, f"'timeout {w[1]}' expects an integer value (in milliseconds)")
            elif not _TIME.fullmatch(w[2]):
                m = re.match(r"\d*", w[2])
                bad(n, f"unexpected character '{w[2][m.end():m.end() + 1] or w[2]}' in 'timeout {w[1]}'")
        elif kw == "bind":
            sec["binds"] += 1
            if len(w) < 2:
                bad(n, "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
                continue
            for a in w[1].split(","):
                if a.startswith("/") or a.startswith("unix@") or a.startswith("abns@"):
                    continue
                host, sep, port = a.rpartition(":")
                ok = sep and re.fullmatch(r"\d+(-\d+)?", port) and all(
                    0 < int(p) < 65536 for p in port.split("-"))
                if not ok:
                    bad(n, f"'bind {w[1]}' : {'missing port number' if not sep else f'invalid port {port!r}'}: '{a}'")
                elif not _resolvable(host, resolves):
                    bad(n, f"'bind {w[1]}' : invalid address: '{host}' in '{a}'")
            if "ssl" in w:
                if "crt" not in w or w.index("crt") + 1 >= len(w):
                    bad(n, f"'bind {w[1]}' : 'ssl' requires a certificate ('crt <file>').")
                else:
                    crt = w[w.index("crt") + 1]
                    if not file_exists(crt):
                        bad(n, f"'bind {w[1]}' : unable to load SSL private key from PEM file '{crt}'.")
        elif kw == "server":
            if len(w) < 3:
                bad(n, "'server' expects <name> and <addr>[:<port>] as arguments.")
                continue
            host, sep, port = w[2].rpartition(":") if not w[2].startswith("[") else (w[2], "", "")
            if not sep:
                host, port = w[2], ""
            if port and not re.fullmatch(r"[-+]?\d+", port):
                bad(n, f"'server {w[1]}' : invalid port '{port}' in '{w[2]}'.")
            if not _resolvable(host, resolves):
                bad(n, f"'server {w[1]}' : could not resolve address '{host}'.")
            k = 3
            while k < len(w):
                opt = w[k]
                if opt in SERVER_FLAGS:
                    k += 1
                elif opt in SERVER_ARGS:
                    if k + 1 >= len(w):
                        bad(n, f"'server {w[1]}' : '{opt}' expects an argument.")
                    elif opt in TIME_ARGS and not _TIME.fullmatch(w[k + 1]):
                        bad(n, f"'server {w[1]}' : unexpected character in argument to '{opt}'")
                    elif opt == "weight" and not (w[k + 1].isdigit() and int(w[k + 1]) <= 256):
                        bad(n, f"'server {w[1]}' : weight must be between 0 and 256, got {w[k + 1]}")
                    k += 2
                else:
                    bad(n, f"'server {w[1]}' unknown keyword '{opt}'.")
                    k += 1
        elif kw == "acl":
            if len(w) < 3:
                bad(n, f"error detected while parsing ACL '{w[1] if len(w) > 1 else ''}' : missing fetch method.")
            else:
                sec.setdefault("acls", set()).add(w[1])
        elif kw in ("default_backend", "use_backend"):
            if len(w) < 2:
                bad(n, f"'{kw}' expects a backend name.")
            elif kind != "defaults":
                sec["refs"].append((n, kw, w[1], _acl_refs(w)))
            elif kw == "default_backend":
                pass
        elif kw == "http-request":
            if len(w) < 2 or w[1] not in HTTP_REQUEST:
                bad(n, "'http-request' expects 'allow', 'deny', 'auth', 'redirect', 'tarpit', "
                       "'add-header', 'set-header', 'replace-header', 'replace-value', 'set-nice', "
                       "'set-tos', 'set-mark', 'set-log-level', 'add-acl', 'del-acl', 'del-map', 'set-map', "
                       f"but got '{w[1] if len(w) > 1 else ''}'.")
            elif kind != "defaults":
                sec["refs"].append((n, kw, None, _acl_refs(w)))
        elif kw in ("redirect", "block", "tcp-request", "http-response", "use-server") and kind != "defaults":
            sec["refs"].append((n, kw, None, _acl_refs(w)))
    backends = {p["name"] for p in proxies.values() if p["kind"] in ("backend", "listen")}
    for p in proxies.values():
        for n, kw, target, acls in p["refs"]:
            for a in acls:
                if a not in p["acls"] and a not in PREDEFINED_ACLS:
                    what = "switching rule" if kw == "use_backend" else f"a '{kw}' condition"
                    bad(n, f"error detected while parsing {what} : no such ACL : '{a}'.")
            if target is not None and "%[" not in target and target not in backends:
                errors += 1
                err.append(f"{alert}Proxy '{p['name']}': unable to find required {kw}: '{target}'.")
        if p["kind"] in ("frontend", "listen") and p["binds"] == 0:
            err.append(f"{warn}config : {p['kind']} '{p['name']}' has no 'bind' directive. Please declare "
                       "it as a backend if this was intended.")
    if errors:
        err.append(f"{alert}Error(s) found in configuration file : {path}")
        err.append(f"{alert}Fatal errors found in configuration.")
        return False, [], err
    return True, ["Configuration file is valid"], err
