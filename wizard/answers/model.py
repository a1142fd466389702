"""The validated answers: defaults, the `Answers` object, load/loads and writing back."""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from .. import atomic, i18n
from ..errors import AnswersError
from ..i18n import _
from ..inventory import HostSpec
from .checks import _get, _semantic_problems
from .schema import REF_PREFIX, ROLES, Path_, _children, _fmt, _resolve, _show, keypath, schema
from .validate import _schema_problems
from .yamlfile import _parse

HEADER = (
    "# chatwizard answers file, format version 1 (docs/answers-format.md)\n"
    "# Secrets are keyring references (keyring:<key>); store one with: chatwizard secret set <key>\n"
)
CM_SUBPATH = "JTELCarrierPortal/Utils/Install/ClientMessenger"   # under portal.shared_dir


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
        atomic.write_text(target, self.dump())
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
                out.append((0, _fmt(source, None, path, _("key {key} is not a name").format(key=_show(k)))))
            else:
                out += _key_problems(v, path + (k,), source)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _key_problems(v, path + (i,), source)
    return out


def _build(raw: Any, lines: dict[Path_, int], source: str, problems: list[tuple[int, str]],
           *, remember: bool = False) -> Answers:
    if not lines and (bad_keys := _key_problems(raw, (), source)):
        raise AnswersError([m for _line, m in bad_keys])
    if not isinstance(raw, dict):
        line = lines.get(())
        kind = _("a list") if isinstance(raw, list) else _("a single value")
        raise AnswersError(_fmt(source, line, (), _("the file must be a mapping of sections "
                                                    "(starting with version: 1), not {kind}").format(kind=kind)))
    key = None
    if remember:                        # a file: the schema's yes to this content is kept
        from . import valid_cache
        key = valid_cache.digest(raw)
    if key is not None and valid_cache.known(key):
        schema_problems, bad = [], set()
    else:
        schema_problems, bad = _schema_problems(raw, lines, source)
        if key is not None and not schema_problems:
            valid_cache.remember(key)
    problems = problems + schema_problems + _semantic_problems(raw, lines, source, bad)
    if problems:
        seen: set = set()
        msgs = [m for _line, m in sorted(problems, key=lambda p: p[0])
                if not (m in seen or seen.add(m))]
        raise AnswersError(msgs)
    return Answers(raw, source, lines)


def loads(text: str, source: str = "<string>") -> Answers:
    """Parse and validate answers text; AnswersError lists every problem."""
    data, lines, problems = _parse(text, source)
    return _build(data, lines, source, problems)


def load(path: str | os.PathLike) -> Answers:
    """Read, parse and validate an answers file. A valid ui.language in it switches the
    language at once (unless --lang was given), so that its problems read in that language."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AnswersError(_fmt(source, None, (), _("no such file"))) from None
    except UnicodeDecodeError as e:
        raise AnswersError(_fmt(source, None, (), _("not UTF-8 text (byte {n})").format(n=e.start))) from None
    except OSError as e:
        raise AnswersError(_fmt(source, None, (), _("cannot read: {reason}").format(reason=e.strerror))) from None
    data, lines, problems = _parse(text, source)
    ui = data.get("ui") if isinstance(data, dict) else None
    if isinstance(ui, dict) and ui.get("language") in i18n.LANGUAGES:
        i18n.follow_answers(ui["language"])
    return _build(data, lines, source, problems, remember=not problems)
