"""The answers file: YAML keyed by section, validated against answers/schema.json.

Every problem is reported at once, one message each, as `FILE:LINE: key.path: problem`
(docs/answers-format.md). A value under a secret-bearing key is never echoed: those keys
hold keyring references (`keyring:<key>`), and a message about one never shows its value.
"""
from __future__ import annotations

import copy
import difflib
import ipaddress
import json
import os
import re
import tempfile
import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import phonenumbers
import yaml

from . import masking
from .errors import AnswersError
from .transport.base import HostSpec

FORMAT_VERSION = 1
ROLES = ("CHAT", "DATA", "TEL", "WEB", "LB")
REF_PREFIX = "keyring:"
HEADER = (
    "# chatwizard answers file, format version 1 (docs/answers-format.md)\n"
    "# Secrets are keyring references (keyring:<key>); store one with: chatwizard secret set <key>\n"
)
CM_SUBPATH = "JTELCarrierPortal/Utils/Install/ClientMessenger"   # under portal.shared_dir

Path_ = tuple[Any, ...]       # a key path: mapping keys (str) and list indexes (int)


# ---------------------------------------------------------------- schema

@cache
def schema() -> dict:
    """answers/schema.json, shipped in the `answers` package."""
    return json.loads(resources.files("answers").joinpath("schema.json").read_text("utf-8"))


SECTIONS: tuple[str, ...] = tuple(schema()["$defs"]["section_name"]["enum"])


def _resolve(sub: dict) -> dict:
    """A subschema with its local $ref merged in (the use site's keys win)."""
    ref = sub.get("$ref")
    if not ref:
        return sub
    target = schema()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolve(target), **{k: v for k, v in sub.items() if k != "$ref"}}


def _children(sub: dict, key: Any) -> dict | None:
    """The subschema for `key` inside an object or array schema."""
    sub = _resolve(sub)
    if isinstance(key, int):
        return sub.get("items")
    if key in sub.get("properties", {}):
        return sub["properties"][key]
    for pattern, s in sub.get("patternProperties", {}).items():
        if isinstance(key, str) and re.search(pattern, key):
            return s
    return None


@cache
def _secret_patterns() -> tuple[Path_, ...]:
    """Key paths (with "*" for any inventory name) whose values are keyring references."""
    found: list[Path_] = []

    def walk(sub: dict, path: Path_) -> None:
        sub = _resolve(sub)
        if sub.get("writeOnly"):
            found.append(path)
        for k, s in sub.get("properties", {}).items():
            walk(s, path + (k,))
        for s in sub.get("patternProperties", {}).values():
            walk(s, path + ("*",))

    walk(schema(), ())
    return tuple(found)


def _matches(pattern: Path_, path: Path_) -> bool:
    return len(pattern) == len(path) and all(p == "*" or p == k for p, k in zip(pattern, path))


def is_secret_path(path: Iterable[Any]) -> bool:
    """True when the value at `path` is a keyring reference (a secret-bearing key)."""
    path = tuple(path)
    return any(_matches(p, path) for p in _secret_patterns())


def _may_hold_secret(path: Path_) -> bool:
    """True when `path` is a secret-bearing key or a mapping that contains one."""
    return any(_matches(p[:len(path)], path) for p in _secret_patterns() if len(p) >= len(path))


# ---------------------------------------------------------------- key paths and lines

def keypath(path: Iterable[Any]) -> str:
    """('inventory', 'hosts', 'chat1', 'roles', 0) -> 'inventory.hosts.chat1.roles[0]'."""
    out = ""
    for k in path:
        if isinstance(k, int):
            out += f"[{k}]"
        elif "." in str(k) or not str(k):
            out += f"[{str(k)!r}]"
        else:
            out += f".{k}" if out else str(k)
    return out


def _line(lines: dict[Path_, int], path: Path_) -> int | None:
    """The line of `path`, else of its nearest ancestor that has one."""
    for i in range(len(path), -1, -1):
        if path[:i] in lines:
            return lines[path[:i]]
    return None


class _Loader(yaml.SafeLoader):
    """SafeLoader whose node tree we convert ourselves, recording lines and duplicate keys."""


def _parse(text: str, source: str) -> tuple[Any, dict[Path_, int], list[tuple[int, str]]]:
    """(data, {path: line}, problems). Problems here are YAML-level (duplicates, odd keys)."""
    loader = _Loader(text)
    lines: dict[Path_, int] = {}
    problems: list[tuple[int, str]] = []
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            what = e.problem or "cannot parse"                        # never the snippet
            if e.context:
                what += f" ({e.context})"
            if "\t" in what or "'\\t'" in what:
                what += "; YAML indents with spaces, not tabs"
            raise AnswersError(f"{where}: YAML syntax error: {what}") from None
        except yaml.YAMLError as e:
            raise AnswersError(f"{source}: YAML error: {e}") from None
        if root is None:
            raise AnswersError(f"{source}:1: the file is empty; it must start with `version: 1` "
                               "(see docs/answers-format.md)")

        def msg(node, path, text):
            problems.append((node.start_mark.line + 1, _fmt(source, node.start_mark.line + 1, path, text)))

        def convert(node, path: Path_, stack: frozenset):
            if id(node) in stack:
                msg(node, path, "recursive YAML alias")
                return None
            stack = stack | {id(node)}
            if isinstance(node, yaml.MappingNode):
                explicit, merged = [], []
                for k, v in node.value:
                    if k.tag == "tag:yaml.org,2002:merge":
                        for m in (v.value if isinstance(v, yaml.SequenceNode) else [v]):
                            if isinstance(m, yaml.MappingNode):
                                merged.append(convert(m, path, stack))   # its lines: where it is written
                            else:
                                msg(m, path, "a `<<` merge needs a mapping")
                    else:
                        explicit.append((k, v))
                out: dict = {}
                first: dict[str, int] = {}
                for k, v in explicit:
                    key = convert_key(k, path)
                    if key is None:
                        continue
                    line = k.start_mark.line + 1
                    if key in first:
                        msg(k, path + (key,), f"duplicate key (first at line {first[key]}); "
                                              "YAML would silently keep only the last one")
                        continue
                    first[key] = line
                    lines[path + (key,)] = line
                    out[key] = convert(v, path + (key,), stack)
                for m in merged:                    # explicit keys win; earlier merges win
                    for key, value in m.items():
                        out.setdefault(key, value)
                return out
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    lines[path + (i,)] = item.start_mark.line + 1
                    items.append(convert(item, path + (i,), stack))
                return items
            try:
                return loader.construct_object(node, deep=True)
            except yaml.YAMLError as e:
                msg(node, path, f"cannot read this value ({getattr(e, 'problem', None) or 'bad tag'})")
                return None

        def convert_key(k, path):
            if not isinstance(k, yaml.ScalarNode):
                msg(k, path, "a key must be a plain name, not a list or mapping")
                return None
            try:
                key = loader.construct_object(k)
            except yaml.YAMLError:
                msg(k, path, "a key must be a plain name")
                return None
            if isinstance(key, str) and key:
                return key
            hint = " (YAML reads yes/no/on/off as true/false: quote it)" if isinstance(key, bool) else ""
            msg(k, path, f"key {_show(key)} is not a name{hint}")
            return None

        lines[()] = root.start_mark.line + 1
        data = convert(root, (), frozenset())
    finally:
        loader.dispose()
    return data, lines, problems


# ---------------------------------------------------------------- messages

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list",
               "null": "empty"}


def _fmt(source: str, line: int | None, path: Path_, problem: str) -> str:
    where = f"{source}:{line}" if line else source
    kp = keypath(path)
    return masking.mask(f"{where}: {kp}: {problem}" if kp else f"{where}: {problem}")


def _show(value: Any) -> str:
    """A value as a person wrote it in YAML (scalars only; containers are named)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    return str(value)


def suggested_key(path: Path_, data: Any = None) -> str:
    """The keyring key a secret-bearing key path usually takes (for messages)."""
    if len(path) == 4 and path[:2] == ("inventory", "hosts"):
        return f"ssh/{path[2]}"
    if path == ("daemon", "db_password"):
        user = (data or {}).get("daemon", {}) if isinstance(data, dict) else {}
        user = user.get("db_user") if isinstance(user, dict) else None
        return f"db/{user if isinstance(user, str) and re.fullmatch(r'[A-Za-z0-9_.@-]+', user) else 'root'}"
    if path == ("whatsapp", "api_key"):
        return "tyntec/apikey"
    return "/".join(str(p) for p in path)


def _plaintext(path: Path_, data: Any) -> str:
    key = suggested_key(path, data)
    return (f"a plaintext value where a keyring reference is required (value not shown); "
            f"put the secret in the keyring: chatwizard secret set {key}, "
            f"then write {path[-1]}: keyring:{key}")


def _schema_problems(data: Any, lines: dict[Path_, int], source: str) -> tuple[list[tuple[int, str]], set[Path_]]:
    """One (line, message) per schema error, and the paths that had one."""
    out: list[tuple[int, str]] = []
    bad: set[Path_] = set()
    validator = jsonschema.Draft202012Validator(schema())

    def add(path: Path_, problem: str, line_path: Path_ | None = None) -> None:
        line = _line(lines, path if line_path is None else line_path)
        out.append((line or 0, _fmt(source, line, path, problem)))
        bad.add(path)

    for e in validator.iter_errors(data):
        path = tuple(e.absolute_path)
        v, inst, sch = e.validator, e.instance, e.schema
        hidden = _may_hold_secret(path)
        if is_secret_path(path) and v in ("type", "pattern"):
            if isinstance(inst, str) and inst.startswith(REF_PREFIX):
                add(path, "not a valid keyring reference: keyring:<key>, the key made of "
                          "letters, digits and _ . / @ : -")
            else:
                add(path, _plaintext(path, data))
        elif v == "additionalProperties":
            known = list(sch.get("properties", {}))
            patterns = list(sch.get("patternProperties", {}))
            for key in inst:
                if key in known or any(re.search(p, key) for p in patterns):
                    continue
                if not known and patterns:
                    add(path + (key,), f"{key!r} is not a valid inventory name: letters, digits "
                                       "and _ . - , starting with a letter or digit")
                    continue
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"
                add(path + (key,), f"unknown key {key!r}{hint}")
        elif v == "required":
            for name in _missing(e):
                add(path + (name,), "required key missing", line_path=path)
        elif v == "type":
            want = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
            expected = " or ".join(_TYPE_NAMES.get(t, t) for t in want if t != "null" or len(want) == 1)
            if hidden and not isinstance(inst, (dict, list)):
                add(path, f"the value is not {expected} (value not shown: this key holds secrets)")
                continue
            hint = ""
            if "string" in want and isinstance(inst, bool):
                hint = "; YAML reads yes/no/on/off as true/false: write it in quotes"
            elif "string" in want and isinstance(inst, (int, float)):
                hint = "; write it in quotes"
                if path[-1:] == ("phone_number",):
                    hint += ' (unquoted, YAML drops the +), e.g. "+4989123456789"'
                elif path[-1:] == ("version",):
                    hint += ' (unquoted 3.10 is the number 3.1), e.g. "3.26"'
            elif "string" in want and not isinstance(inst, (dict, list, type(None))):
                hint = "; YAML read it as a date or time: write it in quotes"
            add(path, f"{_show(inst)} is not {expected}{hint}")
        elif hidden and v in ("const", "enum", "pattern", "minimum", "maximum", "uniqueItems"):
            add(path, "invalid value (not shown: this key holds secrets)")
        elif v == "const" and path == ("version",):
            if isinstance(inst, int) and not isinstance(inst, bool) and inst > FORMAT_VERSION:
                add(path, f"format version {inst} is newer than this wizard reads "
                          f"({FORMAT_VERSION}); update the wizard")
            else:
                add(path, f"{_show(inst)} is not a format version this wizard reads; write version: 1")
        elif v == "enum":
            choices = ", ".join(str(c) for c in e.validator_value if c is not None)
            add(path, f"{_show(inst)} is not one of: {choices}")
        elif v == "pattern":
            add(path, f"{_show(inst)} is {sch.get('patternErrorMessage', 'not in the expected form')}")
        elif v == "minimum":
            add(path, f"{_show(inst)} is below the minimum {e.validator_value}")
        elif v == "maximum":
            add(path, f"{_show(inst)} is above the maximum {e.validator_value}")
        elif v == "minItems":
            add(path, "must list at least one entry")
        elif v == "minProperties":
            add(path, "must name at least one host")
        elif v == "minLength":
            add(path, "must not be empty")
        elif v == "uniqueItems":
            dups = sorted({str(x) for x in inst if inst.count(x) > 1})
            add(path, f"lists {', '.join(dups)} more than once")
        elif hidden:
            add(path, "invalid value (not shown: this key holds secrets)")
        else:
            add(path, e.message)
    return out, bad


def _missing(e: jsonschema.ValidationError) -> list[str]:
    """The required keys a `required` error is about."""
    inst = e.instance if isinstance(e.instance, dict) else {}
    return [n for n in e.validator_value if n not in inst]


# ---------------------------------------------------------------- checks beyond the schema

def address_problem(addr: str) -> str | None:
    """Why `addr` is not a usable host address, or None (the schema pattern came first)."""
    if ":" in addr:
        try:
            ipaddress.IPv6Address(addr.split("%", 1)[0])
        except ValueError:
            return f"{addr!r} is not a valid IPv6 address"
    elif re.fullmatch(r"[0-9.]+", addr):
        try:
            ipaddress.IPv4Address(addr.rstrip("."))
        except ValueError:
            return f"{addr!r} looks like an IPv4 address but is not one"
    return None


@cache
def _zones() -> frozenset[str]:
    """Known IANA zone names (empty when the system has no tz database: then unchecked)."""
    return frozenset(zoneinfo.available_timezones())


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
                    f"same address as {keypath(other)} (line {_line(lines, other)}); "
                    "one machine is one inventory entry: give it all its roles")
            else:
                seen[key] = name
        user, become = h.get("user"), h.get("become")
        if become == "root" and isinstance(user, str) and user != "root":
            add(hp + (name, "become"), f"become: root means the login user is root, but user is "
                                       f"{user!r}; write become: sudo (or user: root)")

    whatsapp_on = _get(data, "whatsapp", "enabled") is True
    if hosts and roles_ok():
        if "CHAT" not in roles:
            add(hp, "no host has role CHAT: at least one chat server is needed")
        if "hazelcast" not in skip and "DATA" not in roles:
            add(hp, "no host has role DATA, but the hazelcast section runs: the DATA host (acd-dbm) "
                    "holds the cluster's hazelcast.xml (or add hazelcast to sections.skip)")
        if "LB" not in roles and ("load_balancer" not in skip or (whatsapp_on and "whatsapp" not in skip)):
            which = "load_balancer" if "load_balancer" not in skip else "whatsapp"
            add(hp, f"no host has role LB, but the {which} section runs: it configures haproxy "
                    f"on the load balancer (or add {which} to sections.skip)")

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
            f"names one chat server, but the inventory has {len(chats)} CHAT hosts "
            f"({', '.join(chats)}): remove it so that each CHAT host's inventory address is "
            "used, or give each host the address the cluster reaches it by as its inventory address")
    legacy = _get(data, "hazelcast", "legacy_paths")
    if isinstance(legacy, dict) and ok(("hazelcast", "legacy_paths")) and roles_ok():
        names = list(hosts) + ["DATA", "TEL", "WEB"]
        for key in legacy:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                add(("hazelcast", "legacy_paths", key),
                    f"no inventory host and no member role (DATA, TEL, WEB) is called {key!r}"
                    + (f" (did you mean {close[0]!r}?)" if close else ""))

    core_missing = ("inventory",) in bad or ("portal",) in bad
    if ("daemon" not in skip and not core_missing and _get(data, "daemon", "db_password") is None
            and ok(("daemon", "db_password"))):
        key = suggested_key(("daemon", "db_password"), data)
        add(("daemon", "db_password"),
            "required when the daemon section runs (the JDBC URL needs the database password): "
            f"store it with chatwizard secret set {key} and write db_password: keyring:{key}",
            line_path=("daemon",))

    tz = _get(data, "daemon", "timezone")
    if isinstance(tz, str) and ok(("daemon", "timezone")):
        zones = _zones()
        if zones and tz not in zones:
            close = difflib.get_close_matches(tz, sorted(zones), n=1)
            add(("daemon", "timezone"), f"{tz!r} is not a known time zone"
                                        + (f" (did you mean {close[0]!r}?)" if close else ""))

    if _get(data, "java", "source") == "rpm" and _get(data, "java", "rpm_path") is None and ok(("java",)):
        add(("java", "rpm_path"), "required when java.source is rpm: the RPM's path on the chat server",
            line_path=("java", "source"))

    phone = _get(data, "whatsapp", "phone_number")
    if isinstance(phone, str) and ok(("whatsapp", "phone_number")):
        try:
            parsed = phonenumbers.parse(phone, None)
            valid = phonenumbers.is_valid_number(parsed) and phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.E164) == phone
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            add(("whatsapp", "phone_number"), f"{phone!r} is not a valid phone number in E.164 "
                                              "(+ country code and number, no spaces)")

    if whatsapp_on:
        scheme = _get(data, "portal", "scheme")
        if scheme == "http":
            add(("whatsapp", "enabled"), "WhatsApp needs portal.scheme https: TynTec delivers its "
                                         "callbacks (/incoming, /delivery) only to https URLs with a "
                                         "CA-issued certificate")
        for key, why in (("api_key", "the TynTec API key (keyring:tyntec/apikey)"),
                         ("phone_number", 'the WhatsApp number in E.164, e.g. "+4989123456789"')):
            if _get(data, "whatsapp", key) is None and ok(("whatsapp", key)):
                add(("whatsapp", key), f"required when whatsapp.enabled is true: {why}",
                    line_path=("whatsapp", "enabled"))
    return out


# ---------------------------------------------------------------- defaults

def _with_defaults(sub: dict, value: Any) -> Any:
    """A copy of `value` with schema defaults filled in, keys in schema order."""
    sub = _resolve(sub)
    if not isinstance(value, dict):
        return copy.deepcopy(value)
    props = sub.get("properties", {})
    out: dict = {}
    for k, s in props.items():
        if k in value:
            out[k] = _with_defaults(s, value[k])
        elif "default" in s:
            out[k] = _with_defaults(s, copy.deepcopy(s["default"]))
    for k, v in value.items():
        if k not in out:
            s = _children(sub, k)
            out[k] = _with_defaults(s, v) if s is not None else copy.deepcopy(v)
    return out


def _ordered(sub: dict, value: Any) -> Any:
    """`value` (as written) with mapping keys in schema order; inventory names keep theirs."""
    sub = _resolve(sub)
    if isinstance(value, list):
        return [_ordered(sub.get("items", {}), v) for v in value]
    if not isinstance(value, dict):
        return value
    order = list(sub.get("properties", {}))
    keys = [k for k in order if k in value] + [k for k in value if k not in order]
    return {k: _ordered(_children(sub, k) or {}, value[k]) for k in keys}


def _derive(data: dict) -> dict:
    """Fill the defaults that depend on other values (docs/answers-format.md)."""
    for h in data["inventory"]["hosts"].values():
        if h.get("become") is None:
            h["become"] = "root" if h.get("user") in (None, "root") else "sudo"
    cm = data["clientmessenger"]
    if cm.get("source") is None:
        cm["source"] = f"{data['portal']['shared_dir'].rstrip('/')}/{CM_SUBPATH}"
    wa = data["whatsapp"]
    if wa.get("portal_url") is None:
        wa["portal_url"] = f"https://{data['portal']['load_balancer']}:3003"
    return data


# ---------------------------------------------------------------- the object

class Answers:
    """A validated answers file: `.data` has every default filled in (treat it as read-only)."""

    def __init__(self, raw: dict, source: str, lines: dict[Path_, int] | None = None):
        """Use load / loads / from_data: they validate; this does not."""
        self._raw = _ordered(schema(), raw)           # as written (what dump() writes)
        self.data: dict = _derive(_with_defaults(schema(), raw))
        self.source = source
        self._lines = dict(lines or {})
        self._by_str = {keypath(p): p for p in self._lines}

    # -- reading
    @property
    def hosts(self) -> list[HostSpec]:
        """Every inventory host, in file order."""
        return [self.host(n) for n in self.data["inventory"]["hosts"]]

    def host(self, name: str) -> HostSpec:
        """One inventory host; password_ref is the keyring key (no "keyring:" prefix)."""
        h = self.data["inventory"]["hosts"][name]
        return HostSpec(name=name, address=h["address"], port=h["port"], user=h["user"],
                        key_file=h["key_file"], become=h["become"],
                        password_ref=h["password"][len(REF_PREFIX):] if h["password"] else None,
                        roles=tuple(h["roles"]))

    def hosts_with_role(self, role: str) -> list[HostSpec]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return [h for h in self.hosts if role in h.roles]

    def section(self, name: str) -> dict:
        """A copy of one top-level section, defaults filled in."""
        if name not in self.data:
            raise KeyError(f"no answers section {name!r}")
        return copy.deepcopy(self.data[name])

    def runs(self, section: str) -> bool:
        """Whether a procedure section runs: not in sections.skip (and enabled where it has a switch)."""
        if section in self.data["sections"]["skip"]:
            return False
        if section == "whatsapp":
            return self.data["whatsapp"]["enabled"]
        if section == "firewall":
            return self.data["firewall"]["enabled"]
        return True

    def secret_refs(self, *, include_unused: bool = False) -> dict[str, str]:
        """{key path: "keyring:<key>"} of the secrets this run needs (or all that are written)."""
        out: dict[str, str] = {}
        for name, h in self.data["inventory"]["hosts"].items():
            if h["password"]:
                out[keypath(("inventory", "hosts", name, "password"))] = h["password"]
        for section, key in (("daemon", "db_password"), ("whatsapp", "api_key")):
            ref = self.data[section][key]
            if ref and (include_unused or self.runs(section)):
                out[f"{section}.{key}"] = ref
        return out

    def line_of(self, path: str | Iterable[Any]) -> int | None:
        """The line a key path was written on (None: not in the file, or built from data)."""
        p = self._by_str.get(path) if isinstance(path, str) else tuple(path)
        return self._lines.get(p) if p is not None else None

    # -- writing
    def dump(self) -> str:
        """The answers as YAML (header comment, schema key order, only keyring references)."""
        text = yaml.dump(self._raw, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=100)
        # a blank line between top-level sections, as a person writes them
        text = re.sub(r"\n(?=[A-Za-z_])", "\n\n", text)
        return HEADER + "\n" + text

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write dump() atomically (temp file beside it, mode 0600, rename); returns the path."""
        if path is None and self.source.startswith("<"):
            raise ValueError(f"answers from {self.source} have no file: give save() a path")
        target = Path(path if path is not None else self.source)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.dump())
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return target

    # -- changing
    @classmethod
    def from_data(cls, data: dict, source: str = "<data>") -> "Answers":
        """Validate a dict (e.g. built by the TUI); messages then carry no line numbers."""
        return _build(copy.deepcopy(data), {}, source, [])

    def with_section(self, name: str, value: dict) -> "Answers":
        """A new, re-validated Answers with one section replaced. Values equal to their
        default are left out, so derived defaults (e.g. clientmessenger.source) keep following."""
        return self.with_changes(**{name: value})

    def with_changes(self, **sections: dict) -> "Answers":
        """with_section for several sections at once."""
        raw = copy.deepcopy(self._raw)
        for name, value in sections.items():
            raw[name] = copy.deepcopy(value)
        return _build(_prune(raw, sections), {}, self.source, [])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Answers) and self.data == other.data

    def __repr__(self) -> str:
        return f"<Answers {self.source} hosts={[h.name for h in self.hosts]}>"


def _prune(raw: dict, sections: Iterable[str]) -> dict:
    """`raw` without the keys of `sections` (and of their hosts) whose value is what the
    default would give anyway; an emptied section is dropped."""
    try:
        full = _derive(_with_defaults(schema(), raw))
    except (KeyError, TypeError, AttributeError):
        return raw                       # not valid yet: validation will say why
    for name in sections:
        if not isinstance(raw.get(name), dict):
            continue
        paths: list[Path_] = [(name, k) for k in raw[name]]
        if name == "inventory" and isinstance(raw[name].get("hosts"), dict):
            paths = [(name, "hosts", h, k) for h, v in raw[name]["hosts"].items()
                     if isinstance(v, dict) for k in v]
        for path in paths:
            trial = copy.deepcopy(raw)
            parent = _get(trial, *path[:-1])
            del parent[path[-1]]
            try:
                filled = _get(_derive(_with_defaults(schema(), trial)), *path[:-1])
            except (KeyError, TypeError, AttributeError):
                continue
            if isinstance(filled, dict) and path[-1] in filled and filled[path[-1]] == _get(full, *path):
                raw = trial
        if raw.get(name) == {} and "default" in schema()["properties"][name]:
            del raw[name]
    return raw


class _Dumper(yaml.SafeDumper):
    """Short lists of scalars (roles, skip) in flow style: `roles: [CHAT, DATA]`."""


def _represent_list(dumper: yaml.SafeDumper, value: list):
    flow = all(isinstance(v, (str, int, float, bool)) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _key_problems(value: Any, path: Path_, source: str) -> list[tuple[int, str]]:
    """Mapping keys that are not names (only dicts built in code can hold them: YAML's are
    checked while parsing)."""
    out: list[tuple[int, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or not k:
                out.append((0, _fmt(source, None, path, f"key {_show(k)} is not a name")))
            else:
                out += _key_problems(v, path + (k,), source)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _key_problems(v, path + (i,), source)
    return out


def _build(raw: Any, lines: dict[Path_, int], source: str, problems: list[tuple[int, str]]) -> Answers:
    if not lines and (bad_keys := _key_problems(raw, (), source)):
        raise AnswersError([m for _, m in bad_keys])
    if not isinstance(raw, dict):
        line = lines.get(())
        kind = "a list" if isinstance(raw, list) else "a single value"
        raise AnswersError(_fmt(source, line, (), f"the file must be a mapping of sections "
                                                  f"(starting with version: 1), not {kind}"))
    schema_problems, bad = _schema_problems(raw, lines, source)
    problems = problems + schema_problems + _semantic_problems(raw, lines, source, bad)
    if problems:
        seen: set[str] = set()
        msgs = [m for _, m in sorted(problems, key=lambda p: p[0])
                if not (m in seen or seen.add(m))]
        raise AnswersError(msgs)
    return Answers(raw, source, lines)


def loads(text: str, source: str = "<string>") -> Answers:
    """Parse and validate answers text; AnswersError lists every problem."""
    data, lines, problems = _parse(text, source)
    return _build(data, lines, source, problems)


def load(path: str | os.PathLike) -> Answers:
    """Read, parse and validate an answers file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AnswersError(f"{source}: no such file") from None
    except UnicodeDecodeError as e:
        raise AnswersError(f"{source}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise AnswersError(f"{source}: cannot read: {e.strerror}") from None
    return loads(text, source)
