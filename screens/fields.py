"""Declarative form fields for section screens.

What a field accepts, its default and its choices come from answers/schema.json (the
same file the answers loader validates against); its errors come from validating the
whole answers as typed (wizard.session.Session.validate), so a screen never re-types a
pattern and shows exactly what the CLI would say about the same value.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from wizard.i18n import _

SCHEMA = Path(__file__).resolve().parent.parent / "answers" / "schema.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def _resolve(sub: dict) -> dict:
    ref = sub.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return {**schema()["$defs"][ref.split("/")[-1]], **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub


def subschema(*path: str) -> dict:
    """The schema of `section.key` (or deeper: "*" for any name of a mapping)."""
    node = schema()
    for part in path:
        node = _resolve(node)
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            pats = node.get("patternProperties") or {}
            node = next(iter(pats.values()), {})
    return _resolve(node)


def typed(text: str, sub: dict) -> object:
    """The value a typed text stands for: an integer where the schema wants one (kept as
    typed when it is not a number, so the problem is reported, never silently dropped)."""
    kind = sub.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and text.lstrip("-").isdigit():
        return int(text)
    return text


@dataclass(frozen=True)
class Field:
    """One input of a section screen, bound to `section.key` in the answers. Its texts
    (label, help, placeholder) are English, marked N_() by the screens, and translated
    where they are shown."""

    key: str
    label: str
    kind: str = "text"              # text | int | choice | bool | secret
    help: str = ""
    choices: tuple[str, ...] = ()   # () -> the schema's enum
    optional: bool = False          # empty input means "not set" (None)
    secret_key: str = ""            # keyring key for kind "secret"
    placeholder: str = ""           # what an empty input means (a default), shown dim
    example: str = ""               # a typical value, shown as "e.g. …" (never taken as one)

    @property
    def id(self) -> str:
        return self.key.replace("_", "-")

    def default(self, section: str) -> object:
        return subschema(section, self.key).get("default")

    def options(self, section: str) -> tuple[str, ...]:
        return self.choices or tuple(subschema(section, self.key).get("enum") or ())


def hint(section: str, f: Field) -> str:
    """The hint under a field, in the current language: the field's own help.
    (The one place a field's hint is chosen: texts from answers/schema.json would be
    translated here, through the core's schema texts.)"""
    return _(f.help) if f.help else ""
