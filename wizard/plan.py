"""The plan: per section, per host, the actions that will run, exactly as previewed.

An action is one of
- `Command`: a shell command with a description, its masked display form and
  whether it changes anything;
- `FileChange`: a file's new content, mode and owner, shown as a unified diff
  against the content read while planning (apply refuses when the file changed
  since);
- `NoOp`: a step that has nothing to do, shown so the engineer sees why;
- `Checklist`: things to set by hand in the portal UI (never executed);
- `HttpRequest`: a call the wizard makes itself (e.g. the TynTec webhook PATCH).

The preview renders these objects and the runner executes the same objects.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Iterator, Union

from . import masking, statekey   # noqa: F401  (masking.MASK)
from .secret_text import SecretText
from .i18n import _, ngettext


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def sha256(data: bytes | None) -> str | None:
    """Checksum of file content (None for an absent file)."""
    return None if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Command:
    """A shell command run on the host."""

    description: str
    command: str                    # exactly what runs (a secret in it: build it with with_secrets)
    changes: bool = True            # False: read-only check, safe in `plan`
    sudo: bool = True               # needs root
    timeout: float | None = 600
    ok_codes: tuple[int, ...] = (0,)
    shown: str | None = None        # the masked form of a command built with with_secrets

    kind = "command"

    @classmethod
    def with_secrets(cls, description: str, text: SecretText, **kw) -> "Command":
        """A command that carries a secret: it runs `text.revealed`, shows `text.shown`."""
        return cls(description, text.revealed, shown=text.shown, **kw)

    @property
    def display(self) -> str:
        """What people see: the masked form by construction (a command built without
        secrets is shown as it is; the registry is not searched)."""
        return self.shown if self.shown is not None else self.command

    @property
    def id(self) -> str:
        return _digest("cmd", self.command, self.sudo)

    def render(self) -> str:
        return f"$ {self.display}"


@dataclass(frozen=True)
class FileChange:
    """Replace (or create) a file atomically, with a backup of the old content."""

    description: str
    path: str
    new: bytes
    old: bytes | None               # content when planned; None = absent
    mode: int = 0o644
    owner: str | None = None
    group: str | None = None
    validate: str | None = None     # command run on the candidate first; `{path}` = candidate path
    base_unknown: bool = False      # old content unknown at plan time (an earlier step creates it)
    new_shown: str | None = None    # secret-bearing content: `new` as shown (wizard.secret_text)
    old_shown: str | None = None    # and the old content as shown (its secret fields masked)
    copy_of: str | None = None      # "host:path" this is a verbatim copy of: previewed as
                                    # "copy of … (N lines)" + the diff against the file there
    secret_label: str | None = None  # what the secret is ("DB password"), for a change only there

    kind = "file"

    @property
    def changes(self) -> bool:
        return True

    @property
    def id(self) -> str:
        # keyed: the id goes into the journal, and a plain hash of content that holds a
        # password would let a reader of the journal test guesses (wizard.statekey)
        return _digest("file", self.path, statekey.keyed(sha256(self.new)), self.mode, self.owner,
                       self.group)

    def diff(self, context: int = 3) -> str:
        """Unified diff old → new as shown: a secret-bearing file diffs its masked forms
        (built with the content, wizard.secret_text); other files are shown as they are."""
        old = "" if self.old is None else self.old_shown if self.old_shown is not None else _text(self.old)
        new = self.new_shown if self.new_shown is not None else _text(self.new)
        a = "/dev/null" if self.old is None else f"a{self.path}"
        lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     a, f"b{self.path}", n=context)
        out = "".join(l if l.endswith("\n") else l + "\n\\ No newline at end of file\n" for l in lines)
        if not out and self.secret_changed:
            return _("~ {secret} changed (masked): the file differs only there").format(
                secret=self.secret_label or _("a secret")) + "\n"
        return out

    @property
    def secret_changed(self) -> bool:
        """The content changes only where a secret sits: the shown forms are the same."""
        if self.old is None or self.old == self.new or self.new_shown is None:
            return False
        old = self.old_shown if self.old_shown is not None else _text(self.old)
        return old == self.new_shown

    def render(self) -> str:
        mode = f"{self.mode:04o}"
        head = (_("write {path} (mode {mode} owner {owner})").format(
                    path=self.path, mode=mode, owner=f"{self.owner}:{self.group or self.owner}")
                if self.owner else _("write {path} (mode {mode})").format(path=self.path, mode=mode))
        if self.validate:
            head += _(", checked first with: {command}").format(
                command=self.validate.format(path="<candidate>"))
        if self.base_unknown:
            head += "\n  " + _("(diff against the content an earlier step of this plan leaves there)")
        return head + "\n" + (self.copy_summary() if self.copy_of is not None else self.diff())

    def copy_summary(self) -> str:
        """For a copy of another file: "copy of HOST:PATH (N lines)", then only the diff against
        the file already there (nothing more when it is absent), not the whole file."""
        n = len(_text(self.new).splitlines())
        head = ngettext("copy of {source} ({n} line)", "copy of {source} ({n} lines)", n).format(
            source=masking.mask(self.copy_of or ""), n=n)
        if self.old is None:
            return head + "\n"
        diff = self.diff()
        if not diff:
            return head + _(", the same text as the file there (mode or owner change only)") + "\n"
        return head + _("; changes against the file there:") + "\n" + diff


@dataclass(frozen=True)
class NoOp:
    """Nothing to do, and why ("Java 8 already installed")."""

    description: str

    kind = "noop"
    changes = False

    @property
    def id(self) -> str:
        return _digest("noop", self.description)

    def render(self) -> str:
        return f"= {self.description}"


@dataclass(frozen=True)
class Checklist:
    """Settings made by hand in the portal UI; listed in the preview and the install report."""

    description: str
    items: tuple[tuple[str, str], ...]   # (setting, value) as the engineer reads them
    # per item, what a tick confirms: (stable id, value) — never translated, so a tick
    # made in German is the same item in English (wizard.acks); default: the item itself
    keys: tuple[tuple[str, str], ...] = ()

    kind = "checklist"
    changes = False

    def entries(self) -> list[tuple[str, str, str, str]]:
        """(id, setting, value, confirmed value) per item."""
        keys = self.keys or self.items
        if len(keys) != len(self.items):
            raise ValueError(f"checklist {self.description!r}: {len(self.items)} items, {len(keys)} keys")
        return [(k[0], s, v, k[1]) for k, (s, v) in zip(keys, self.items)]

    @property
    def id(self) -> str:
        # by its keys when it has them: the same checklist in every language
        return _digest("checklist", self.keys) if self.keys else _digest("checklist", self.description, self.items)

    def render(self) -> str:
        width = max((len(k) for k, _ in self.items), default=0)
        return "\n".join([f"[ ] {self.description}"] +
                         [f"    {k.ljust(width)}  {v}" for k, v in self.items])


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP call the wizard makes from this machine (headers named in `secret_headers`
    get their values from the keyring at run time and are never shown)."""

    description: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str
    secret_headers: tuple[tuple[str, str], ...] = ()   # (header, keyring ref)
    ok_status: tuple[int, ...] = (200, 204)

    kind = "http"
    changes = True

    @property
    def id(self) -> str:
        return _digest("http", self.method, self.url, self.headers, self.body)

    def render(self) -> str:
        hdrs = [f"    {k}: {v}" for k, v in self.headers] + \
               [f"    {k}: " + _("{mask} (from keyring {ref})").format(mask=masking.MASK, ref=ref)
                for k, ref in self.secret_headers]
        return "\n".join([f"{self.method} {self.url}", *hdrs, *("    " + l for l in self.body.splitlines())])


Action = Union[Command, FileChange, NoOp, Checklist, HttpRequest]


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


@dataclass
class HostPlan:
    """The actions of one section on one host, in order."""

    host: str                       # inventory name ("local" for HTTP calls made from here)
    actions: list[Action] = field(default_factory=list)

    @property
    def changing(self) -> list[Action]:
        return [a for a in self.actions if a.changes]


@dataclass
class SectionPlan:
    """One procedure section: its hosts and their actions."""

    name: str                       # answers key, e.g. "java"
    title: str                      # e.g. "1. Java 8"
    hosts: list[HostPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # warnings for the engineer (conflicts, ...)

    def for_host(self, host: str) -> HostPlan:
        for hp in self.hosts:
            if hp.host == host:
                return hp
        hp = HostPlan(host)
        self.hosts.append(hp)
        return hp


@dataclass
class Plan:
    """The whole install, in the procedure's order."""

    sections: list[SectionPlan] = field(default_factory=list)
    training: bool = False
    facts: dict = field(default_factory=dict)      # host name -> HostFacts

    def actions(self) -> Iterator[tuple[SectionPlan, HostPlan, Action]]:
        for s in self.sections:
            for hp in s.hosts:
                for a in hp.actions:
                    yield s, hp, a

    @property
    def changing_count(self) -> int:
        return sum(1 for _, _, a in self.actions() if a.changes)

    def section(self, name: str) -> SectionPlan | None:
        return next((s for s in self.sections if s.name == name), None)
