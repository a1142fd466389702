"""Checks beyond the schema: what one value means next to the others (roles, addresses,
time zones, phone numbers, required-when keys), and the path/name/URL checks of paths.py."""
from __future__ import annotations

import difflib
import ipaddress
import re
import zoneinfo
from functools import cache
from typing import Any

from ..i18n import _
from . import paths
from .schema import Path_, _fmt, _line, _resolve, keypath, schema
from .validate import suggested_key


def address_problem(addr: str) -> str | None:
    """Why `addr` is not a usable host address, or None (the schema pattern came first)."""
    if ":" in addr:
        try:
            ipaddress.IPv6Address(addr.split("%", 1)[0])
        except ValueError:
            return _("{address} is not a valid IPv6 address").format(address=repr(addr))
    elif re.fullmatch(r"[0-9.]+", addr):
        try:
            ipaddress.IPv4Address(addr.rstrip("."))
        except ValueError:
            return _("{address} looks like an IPv4 address but is not one").format(address=repr(addr))
    return None


@cache
def _zones() -> frozenset[str]:
    """Known IANA zone names (empty when the system has no tz database: then unchecked)."""
    return frozenset(zoneinfo.available_timezones())


def _loads_zone(tz: str) -> bool:
    """A zone the tz database has by that name (what available_timezones() lists: not the
    posix/ and right/ copies, not posixrules/localtime)."""
    if tz.startswith(("posix/", "right/")) or tz in ("posixrules", "localtime", "Factory") \
            or not re.fullmatch(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*", tz):
        return False
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _get(d: Any, *path: Any) -> Any:
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _semantic_problems(data: dict, lines: dict[Path_, int], source: str,
                       bad: set[Path_]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    hp = ("inventory", "hosts")

    def ok(path: Path_) -> bool:    # no schema error at, above or below this path
        return not any(b[:len(path)] == path or path[:len(b)] == b for b in bad)

    def roles_ok() -> bool:         # inventory.hosts and every roles list passed the schema
        return not any(hp[:len(b)] == b or (b[:2] == hp and len(b) > 3 and b[3] == "roles")
                       for b in bad)

    def add(path: Path_, problem: str, line_path: Path_ | None = None) -> None:
        line = _line(lines, path if line_path is None else line_path)
        out.append((line or 0, _fmt(source, line, path, problem)))

    skip = _get(data, "sections", "skip")
    skip = set(skip) if isinstance(skip, list) and ok(("sections", "skip")) else set()
    hosts = _get(data, "inventory", "hosts")
    hosts = hosts if isinstance(hosts, dict) else {}

    roles: set[str] = set()
    seen: dict[tuple[str, int], str] = {}
    for name, h in hosts.items():
        if not isinstance(h, dict):
            continue
        r = h.get("roles")
        if isinstance(r, list):
            roles.update(x for x in r if isinstance(x, str))
        addr, port = h.get("address"), h.get("port")
        if isinstance(addr, str) and ok(hp + (name, "address")):
            if (why := address_problem(addr)):
                add(hp + (name, "address"), why)
            key = (addr.lower().rstrip("."), port if isinstance(port, int) else 22)
            if key in seen:
                other = hp + (seen[key], "address")
                add(hp + (name, "address"),
                    _("same address as {key} (line {line}); one machine is one inventory entry: "
                      "give it all its roles").format(key=keypath(other), line=_line(lines, other)))
            else:
                seen[key] = name
        user, become = h.get("user"), h.get("become")
        if become == "root" and isinstance(user, str) and user != "root":
            add(hp + (name, "become"), _("become: root means the login user is root, but user is "
                                         "{user}; write become: sudo (or user: root)").format(user=repr(user)))

    for path, why in _value_problems(data):
        if ok(path):
            add(path, why)
    for path, why in paths.problems(data, _get):
        if ok(path):
            add(path, why)

    whatsapp_on = _get(data, "whatsapp", "enabled") is True
    if hosts and roles_ok():
        if "CHAT" not in roles:
            add(hp, _("no host has role CHAT: at least one chat server is needed"))
        if "hazelcast" not in skip and "DATA" not in roles:
            add(hp, _("no host has role DATA, but the hazelcast section runs: the DATA host (acd-dbm) "
                      "holds the cluster's hazelcast.xml (or add hazelcast to sections.skip)"))
        if "LB" not in roles and ("load_balancer" not in skip or (whatsapp_on and "whatsapp" not in skip)):
            which = "load_balancer" if "load_balancer" not in skip else "whatsapp"
            add(hp, _("no host has role LB, but the {section} section runs: it configures haproxy "
                      "on the load balancer (or add {section} to sections.skip)").format(section=which))

    for path in (("daemon", "db_host"), ("hazelcast", "member_address"), ("portal", "load_balancer")):
        v = _get(data, *path)
        if isinstance(v, str) and ok(path) and (why := address_problem(v)):
            add(path, why)

    # hazelcast: checked here, before anything connects (the plan would stop on them later)
    chats = [n for n, h in hosts.items() if isinstance(h, dict) and isinstance(h.get("roles"), list)
             and "CHAT" in h["roles"]]
    member = _get(data, "hazelcast", "member_address")
    if ("hazelcast" not in skip and isinstance(member, str) and len(chats) > 1
            and ok(("hazelcast", "member_address")) and roles_ok()):
        add(("hazelcast", "member_address"),
            _("names one chat server, but the inventory has {count} CHAT hosts ({hosts}): remove "
              "it so that each CHAT host's inventory address is used, or give each host the "
              "address the cluster reaches it by as its inventory address").format(
                count=len(chats), hosts=", ".join(chats)))
    legacy = _get(data, "hazelcast", "legacy_paths")
    if isinstance(legacy, dict) and ok(("hazelcast", "legacy_paths")) and roles_ok():
        names = list(hosts) + ["DATA", "TEL", "WEB"]
        for key in legacy:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                add(("hazelcast", "legacy_paths", key),
                    _("no inventory host and no member role (DATA, TEL, WEB) is called {name}")
                    .format(name=repr(key))
                    + (" " + _("(did you mean {key}?)").format(key=repr(close[0])) if close else ""))

    core_missing = ("inventory",) in bad or ("portal",) in bad
    if ("daemon" not in skip and not core_missing and _get(data, "daemon", "db_password") is None
            and ok(("daemon", "db_password"))):
        key = suggested_key(("daemon", "db_password"), data)
        add(("daemon", "db_password"),
            _("required when the daemon section runs (the JDBC URL needs the database password): "
              "store it with chatwizard secret set {key} and write db_password: keyring:{key}")
            .format(key=key),
            line_path=("daemon",))

    tz = _get(data, "daemon", "timezone")
    if isinstance(tz, str) and ok(("daemon", "timezone")) and not _loads_zone(tz):
        zones = _zones()          # the whole list (~60 ms) only for a name that is not a zone
        if zones and tz not in zones:
            close = difflib.get_close_matches(tz, sorted(zones), n=1)
            add(("daemon", "timezone"), _("{zone} is not a known time zone").format(zone=repr(tz))
                + (" " + _("(did you mean {key}?)").format(key=repr(close[0])) if close else ""))

    if _get(data, "java", "source") == "rpm" and _get(data, "java", "rpm_path") is None and ok(("java",)):
        add(("java", "rpm_path"), _("required when java.source is rpm: the RPM's path on the chat server"),
            line_path=("java", "source"))

    phone = _get(data, "whatsapp", "phone_number")
    if isinstance(phone, str) and ok(("whatsapp", "phone_number")):
        import phonenumbers         # ~30 ms: only for a file that has a number
        try:
            parsed = phonenumbers.parse(phone, None)
            valid = phonenumbers.is_valid_number(parsed) and phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.E164) == phone
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            add(("whatsapp", "phone_number"), _("{number} is not a valid phone number in E.164 "
                                                "(+ country code and number, no spaces)").format(number=repr(phone)))

    if whatsapp_on:
        scheme = _get(data, "portal", "scheme")
        if scheme == "http":
            add(("whatsapp", "enabled"), _("WhatsApp needs portal.scheme https: TynTec delivers its "
                                           "callbacks (/incoming, /delivery) only to https URLs with a "
                                           "CA-issued certificate"))
        for key, why in (("api_key", _("the TynTec API key (keyring:tyntec/apikey)")),
                         ("phone_number", _('the WhatsApp number in E.164, e.g. "+4989123456789"'))):
            if _get(data, "whatsapp", key) is None and ok(("whatsapp", key)):
                add(("whatsapp", key), _("required when whatsapp.enabled is true: {what}").format(what=why),
                    line_path=("whatsapp", "enabled"))
    return out



def _typed_keys() -> list[tuple[Path_, str]]:
    """(key path with "*" for names, kind) of every path, service name and URL in the schema."""
    out: list[tuple[Path_, str]] = []

    def walk(sub: dict, path: Path_) -> None:
        ref = sub.get("$ref", "")
        if ref.endswith("/abs_path"):
            out.append((path, "path"))
        elif ref.endswith("/service_name"):
            out.append((path, "service"))
        elif path[-1:] in (("url",), ("api_base",), ("portal_url",)):
            out.append((path, "url"))
        sub = _resolve(sub)
        for k, s in sub.get("properties", {}).items():
            walk(s, path + (k,))
        for s in sub.get("patternProperties", {}).values():
            walk(s, path + ("*",))

    walk(schema(), ())
    return out


def _value_problems(data: Any) -> list[tuple[Path_, str]]:
    """The checks of paths.py on every value its pattern let through (a pattern's `$` also
    matches before a final newline, so "/usr/x\\n" passes the schema)."""
    out: list[tuple[Path_, str]] = []

    def values(pattern: Path_, d: Any, done: Path_):
        if not pattern:
            yield done, d
            return
        if not isinstance(d, dict):
            return
        keys = list(d) if pattern[0] == "*" else [pattern[0]]
        for k in keys:
            if k in d:
                yield from values(pattern[1:], d[k], done + (k,))

    for pattern, kind in _typed_keys():
        for path, v in values(pattern, data, ()):
            if not isinstance(v, str):
                continue
            if kind == "path":
                why = paths.path_problem(v)
                why = why and _("{value} is not a safe path: {reason}").format(value=repr(v), reason=why)
            elif kind == "service":
                why = paths.service_problem(v)
                why = why and _("{value} is not a service name: {reason}").format(value=repr(v), reason=why)
            else:
                why = paths.url_problem(v, ("https", "http", "ftp") if path[-1] == "url" else ("https",))
                why = why and _("{value} is not a plain URL: {reason}").format(value=repr(v[:80]), reason=why)
            if why:
                out.append((path, why))
    return out
