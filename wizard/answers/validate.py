"""Schema errors as one readable message each (never echoing a secret-bearing value)."""
from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from ..i18n import N_, _
from . import paths
from .schema import (FORMAT_VERSION, REF_PREFIX, Path_, _fmt, _line, _may_hold_secret, _show,
                     is_secret_path, schema)

if TYPE_CHECKING:
    import jsonschema

_TYPE_NAMES = {"string": N_("a string"), "integer": N_("an integer"), "number": N_("a number"),
               "boolean": N_("true or false"), "object": N_("a mapping"), "array": N_("a list"),
               "null": N_("empty")}



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
    return _("a plaintext value where a keyring reference is required (value not shown); "
             "put the secret in the keyring: chatwizard secret set {key}, "
             "then write {name}: keyring:{key}").format(key=key, name=path[-1])


def _schema_problems(data: Any, lines: dict[Path_, int], source: str) -> tuple[list[tuple[int, str]], set[Path_]]:
    """One (line, message) per schema error, and the paths that had one."""
    import jsonschema               # on demand: a file checked before skips it (valid_cache)
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
                add(path, _("not a valid keyring reference: keyring:<key>, the key made of "
                            "letters, digits and _ . / @ : -"))
            else:
                add(path, _plaintext(path, data))
        elif v == "additionalProperties":
            known = list(sch.get("properties", {}))
            patterns = list(sch.get("patternProperties", {}))
            for key in inst:
                if key in known or any(re.search(p, key) for p in patterns):
                    continue
                if not known and patterns:
                    add(path + (key,), _("{name} is not a valid inventory name: letters, digits "
                                         "and _ . - , starting with a letter or digit").format(name=repr(key)))
                    continue
                close = difflib.get_close_matches(key, known, n=1)
                hint = (_("(did you mean {key}?)").format(key=repr(close[0])) if close
                        else _("(known keys: {keys})").format(keys=", ".join(known)))
                add(path + (key,), _("unknown key {key}").format(key=repr(key)) + " " + hint)
        elif v == "required":
            for name in _missing(e):
                add(path + (name,), _("required key missing"), line_path=path)
        elif v == "type":
            want = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
            expected = _(" or ").join(_(_TYPE_NAMES[t]) if t in _TYPE_NAMES else t
                                      for t in want if t != "null" or len(want) == 1)
            if hidden and not isinstance(inst, (dict, list)):
                add(path, _("the value is not {expected} (value not shown: this key holds secrets)")
                    .format(expected=expected))
                continue
            hint = ""
            if "string" in want and isinstance(inst, bool):
                hint = _("; YAML reads yes/no/on/off as true/false: write it in quotes")
            elif "string" in want and isinstance(inst, (int, float)):
                hint = _("; write it in quotes")
                if path[-1:] == ("phone_number",):
                    hint += " " + _('(unquoted, YAML drops the +), e.g. "+4989123456789"')
                elif path[-1:] == ("version",):
                    hint += " " + _('(unquoted 3.10 is the number 3.1), e.g. "3.26"')
            elif "string" in want and not isinstance(inst, (dict, list, type(None))):
                hint = _("; YAML read it as a date or time: write it in quotes")
            add(path, _("{value} is not {expected}").format(value=_show(inst), expected=expected) + hint)
        elif hidden and v in ("const", "enum", "pattern", "minimum", "maximum", "uniqueItems"):
            add(path, _("invalid value (not shown: this key holds secrets)"))
        elif v == "const" and path == ("version",):
            if isinstance(inst, int) and not isinstance(inst, bool) and inst > FORMAT_VERSION:
                add(path, _("format version {version} is newer than this wizard reads ({known}); "
                            "update the wizard").format(version=inst, known=FORMAT_VERSION))
            else:
                add(path, _("{value} is not a format version this wizard reads; write version: 1")
                    .format(value=_show(inst)))
        elif v == "enum":
            choices = ", ".join(str(c) for c in e.validator_value if c is not None)
            add(path, _("{value} is not one of: {choices}").format(value=_show(inst), choices=choices))
        elif v == "pattern":
            why = _precise(path, sch, inst)
            reason = sch.get("patternErrorMessage")
            add(path, f"{_show(inst)} {why}" if why else _("{value} is {reason}").format(
                value=_show(inst), reason=_(reason) if reason else _("not in the expected form")))
        elif v == "minimum":
            add(path, _("{value} is below the minimum {minimum}").format(
                value=_show(inst), minimum=e.validator_value))
        elif v == "maximum":
            add(path, _("{value} is above the maximum {maximum}").format(
                value=_show(inst), maximum=e.validator_value))
        elif v == "minItems":
            add(path, _("must list at least one entry"))
        elif v == "minProperties":
            add(path, _("must name at least one host"))
        elif v == "minLength":
            add(path, _("must not be empty"))
        elif v == "maxLength":
            add(path, _("is too long ({length} characters; at most {maximum})").format(
                length=len(inst), maximum=e.validator_value))
        elif v == "uniqueItems":
            dups = sorted({str(x) for x in inst if inst.count(x) > 1})
            add(path, _("lists {values} more than once").format(values=", ".join(dups)))
        elif hidden:
            add(path, _("invalid value (not shown: this key holds secrets)"))
        else:
            add(path, e.message)
    return out, bad


def _precise(path: Path_, sch: dict, inst: Any) -> str | None:
    """The exact reason a path, service name or URL failed its pattern (paths.py)."""
    if not isinstance(inst, str):
        return None
    defs = schema()["$defs"]
    if sch.get("pattern") == defs["abs_path"]["pattern"]:
        why = paths.path_problem(inst)
        return _("is not a safe path: {reason}").format(reason=why) if why else None
    if sch.get("pattern") == defs["service_name"]["pattern"]:
        why = paths.service_problem(inst)
        return _("is not a service name: {reason}").format(reason=why) if why else None
    if path[-1:] in (("url",), ("api_base",), ("portal_url",)):
        why = paths.url_problem(inst, ("https", "http", "ftp") if path[-1] == "url" else ("https",))
        return _("is not a plain URL: {reason}").format(reason=why) if why else None
    return None


def _missing(e: jsonschema.ValidationError) -> list[str]:
    """The required keys a `required` error is about."""
    inst = e.instance if isinstance(e.instance, dict) else {}
    return [n for n in e.validator_value if n not in inst]

