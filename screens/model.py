"""The answers as the UI holds them: a plain dict in the answers-file layout.

The app owns one such dict; screens get a copy of their slice and give it back.
Conversion to the engine's `Answers` (validation, defaults) happens only when a
plan is built or a file is saved, so half-filled screens never block navigation.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

from wizard.i18n import N_, _
from wizard.transport.base import HostSpec

# a built-in inventory for training mode when answers/training.yaml is absent
# (the simulated host plays every role, as in answers/training.yaml)
TRAINING_DEFAULT: dict = {
    "version": 1,
    "inventory": {"hosts": {"sim": {"address": "training.invalid", "roles": ["CHAT", "DATA", "TEL", "WEB", "LB"]}}},
    "portal": {"scheme": "http", "load_balancer": "jtel-portal"},
    "daemon": {"db_password": "keyring:training/db-root"},
}
TRAINING_SAMPLE = Path(__file__).resolve().parent.parent / "answers" / "training.yaml"

ROLES = ("CHAT", "DATA", "TEL", "WEB", "LB")
REF = re.compile(r"^keyring:(?P<key>[A-Za-z0-9_./@:-]+)$")


def blank() -> dict:
    """A new, empty answers dict."""
    return {"version": 1, "inventory": {"hosts": {}}, "portal": {"scheme": "https", "load_balancer": ""}}


def training_sample() -> tuple[dict, str]:
    """The training answers (answers/training.yaml, else the built-in inventory) and their source."""
    path = TRAINING_SAMPLE
    if path.is_file():
        data, _problems = load(path)
        return data, "answers/training.yaml"       # the sample that ships with the wizard
    return copy.deepcopy(TRAINING_DEFAULT), N_("built-in training inventory")     # shown translated


def load(path: str | Path) -> tuple[dict, list[str]]:
    """(answers dict, problems). An invalid file still prefills what it can."""
    from wizard.errors import AnswersError
    try:
        from wizard import answers
    except ImportError:                 # the engine's loader is not there: read the YAML as is
        answers = None
    if answers is not None:
        try:
            # the answers as written (dump() keeps them without the filled-in defaults)
            return yaml.safe_load(answers.load(str(path)).dump()) or {}, []
        except AnswersError as e:
            problems = e.problems
    else:
        problems = []
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise AnswersError(problems or [f"{path}: {e}"]) from None
    if not isinstance(raw, dict):
        raise AnswersError(problems or [_("{path}: not a YAML mapping").format(path=path)])
    return raw, problems


def clean(data: dict) -> dict:
    """`data` without None values and empty sections (defaults fill them when read back)."""
    if isinstance(data, dict):
        out = {k: clean(v) for k, v in data.items() if v is not None}
        return {k: v for k, v in out.items() if v != {} or k in ("hosts",)}
    if isinstance(data, list):
        return [clean(v) for v in data]
    return data


def to_answers(data: dict, source: str):
    """The engine's Answers (validated, defaults filled); raises AnswersError."""
    from wizard import answers
    return answers.Answers.from_data(clean(copy.deepcopy(data)), source)


def save(data: dict, path: str | Path) -> list[str]:
    """Write the answers file; returns the problems the engine found (written anyway)."""
    from wizard.errors import AnswersError
    path = Path(path)
    try:
        to_answers(data, str(path)).save(str(path))
        return []
    except AnswersError as e:
        problems = e.problems
    except ImportError:
        problems = []
    text = "# chat-role wizard answers (docs/answers-format.md); secrets are keyring references\n"
    text += yaml.safe_dump(clean(data), sort_keys=False, allow_unicode=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return problems


def host_spec(name: str, h: dict) -> HostSpec:
    """A HostSpec from one inventory entry (for a connection test before the file is valid)."""
    ref = REF.match(h.get("password") or "")
    user = h.get("user")
    become = h.get("become") or ("root" if user in (None, "root") else "sudo")
    return HostSpec(name=name, address=h.get("address") or name, port=h.get("port"), user=user,
                    key_file=h.get("key_file"), password_ref=ref["key"] if ref else None,
                    become=become, roles=tuple(h.get("roles") or ()))
