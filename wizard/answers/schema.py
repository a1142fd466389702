"""answers/schema.json: the schema itself, its secret-bearing keys, key paths and the
`FILE:LINE: key.path: problem` message form."""
from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any, Iterable

from .. import masking
from ..errors import AnswersProblem
from ..i18n import _

FORMAT_VERSION = 1
ROLES = ("CHAT", "DATA", "TEL", "WEB", "LB")
REF_PREFIX = "keyring:"

Path_ = tuple[Any, ...]       # a key path: mapping keys (str) and list indexes (int)


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


def _fmt(source: str, line: int | None, path: Path_, problem: str,
         column: int | None = None) -> AnswersProblem:
    """The problem at `path` (shown as `FILE:LINE: key.path: problem`), masked."""
    return AnswersProblem(source, line or None, masking.mask(keypath(path)), masking.mask(problem),
                          column)


def _show(value: Any) -> str:
    """A value as a person wrote it in YAML (scalars only; containers are named)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    return str(value)

