"""The manual steps in the portal UI (sections 8, 9 and 10's Chat Connector), ticked off
by the engineer: who ticked (or unticked) which item when, kept beside the answers.

An item is named by a stable id, `<section>/<key>` (`portal_settings/ACD.Chat.Server.Base.URL`,
`agents/max_parallel_chats`, `whatsapp/connector.phone_number`), never by its text, so a
tick made in German is the same item in English. A tick confirms the item's value at that
time: when the answers give another value later (another load balancer), the old tick no
longer counts and the item is shown as not confirmed, with the value that was ticked.

The ticks live in `<answers stem>.acks.yaml` beside the answers file (a training run:
`<stem>.training.acks.yaml`, so a rehearsal never confirms a real portal; the training
sample that ships with the wizard: the state folder's `training-answers.training.acks.yaml`,
beside the copy the TUI saves). The file is a list of events (tick and untick, time in UTC,
the local user name), appended under a lock and written atomically (temp file + rename),
so the TUI and `chatwizard ack` never lose each other's ticks. It holds no secret: the
values are the answers' own (URLs, a keyring key's name, a phone number), masked anyway.
Answers that are not saved anywhere yet keep their ticks in memory until they are.
"""
from __future__ import annotations

import fcntl
import getpass
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import atomic, masking
from .errors import AnswersError
from .i18n import _

VERSION = 1


@dataclass(frozen=True)
class Item:
    """One manual step: what the engineer reads and what a tick confirms."""

    id: str                 # "<section>/<key>", stable across languages
    section: str            # answers key of the section ("portal_settings")
    title: str              # the section's title as shown
    checklist: str          # the checklist's description as shown
    setting: str            # e.g. "ACD.Chat.Server.Base.URL"
    value: str              # as shown
    confirms: str           # the stable value a tick confirms


@dataclass(frozen=True)
class Event:
    """A tick or an untick."""

    item: str
    ticked: bool
    value: str              # the confirmed value at that time
    at: str                 # UTC, "2026-12-02T21:03:00Z"
    by: str = ""            # the local user name, when it can be told

    def to_dict(self) -> dict:
        return {"item": self.item, "ticked": self.ticked, "value": self.value, "at": self.at, "by": self.by}


@dataclass(frozen=True)
class State:
    """Where an item stands: confirmed (ticked for its current value) or not, and why."""

    item: Item
    event: Event | None     # the last tick or untick of this item, if any

    @property
    def confirmed(self) -> bool:
        return self.event is not None and self.event.ticked and self.event.value == self.item.confirms

    @property
    def stale(self) -> bool:
        """Ticked, but for another value than the answers give now."""
        return self.event is not None and self.event.ticked and self.event.value != self.item.confirms

    def describe(self) -> str:
        """'confirmed 2026-12-02 21:03 UTC by alice', 'not confirmed (unticked … )', …"""
        e = self.event
        if e is None:
            return _("not confirmed")
        when, by = shown_time(e.at), e.by
        if self.confirmed:
            return (_("confirmed {when} by {user}").format(when=when, user=by) if by
                    else _("confirmed {when}").format(when=when))
        if self.stale:
            return _("not confirmed: ticked {when} for {old}, the answers now give {new}").format(
                when=when, old=e.value, new=self.item.confirms)
        return (_("not confirmed (unticked {when} by {user})").format(when=when, user=by) if by
                else _("not confirmed (unticked {when})").format(when=when))


def shown_time(at: str) -> str:
    """'2026-12-02T21:03:00Z' → '2026-12-02 21:03 UTC'."""
    return at.replace("T", " ")[:16] + " UTC" if len(at) >= 16 else at


def utc_now(clock=time.time) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))


def user_name() -> str:
    """The local account's name ('' when it cannot be told)."""
    try:
        return getpass.getuser()
    except Exception:               # no USER/LOGNAME and no passwd entry (a container)
        return ""


# -- the items of an answers file ----------------------------------------------------------
def items_of(plan) -> list[Item]:
    """The manual items of a plan (its Checklists), in the plan's order."""
    from .plan import Checklist
    out: list[Item] = []
    for s, _hp, a in plan.actions():
        if isinstance(a, Checklist):
            out += [Item(f"{s.name}/{key}", s.name, s.title, a.description, setting, value, confirms)
                    for key, setting, value, confirms in a.entries()]
    return out


def items(answers) -> list[Item]:
    """The manual items these answers ask for, without any host: the portal-UI sections'
    `checklists(answers)`, skipping what `sections.skip` skips (WhatsApp off: none)."""
    from .steps import sections
    skip = set(answers.section("sections").get("skip") or [])
    out: list[Item] = []
    for mod in sections():
        if mod.NAME in skip or not hasattr(mod, "checklists"):
            continue
        for c in mod.checklists(answers):
            out += [Item(f"{mod.NAME}/{key}", mod.NAME, mod.TITLE, c.description, setting, value, confirms)
                    for key, setting, value, confirms in c.entries()]
    return out


def find(known: list[Item], wanted: list[str]) -> list[Item]:
    """The items named by id (or a unique end of one: `ACD.Chat.Server.Base.URL`,
    `connector.language`); UsageError naming every unknown name and the ids there are."""
    found, bad = [], []
    for w in wanted:
        exact = [i for i in known if i.id == w]
        match = exact or [i for i in known if i.id.endswith("/" + w) or i.id.endswith("." + w)]
        if len(match) == 1:
            found.append(match[0])
        else:
            bad.append(w)
    if bad:
        from .problems import UsageError
        raise UsageError(_("no such manual step: {names}; the answers have: {ids}").format(
            names=", ".join(bad), ids=", ".join(i.id for i in known) or _("none")))
    return found


# -- where the ticks are kept ----------------------------------------------------------------
def sidecar_path(source: str, training: bool) -> Path | None:
    """`site.yaml` → `site.acks.yaml` (training: `site.training.acks.yaml`); None for
    answers that are not in a file yet (their ticks stay in memory until saved)."""
    from .report import is_builtin
    if is_builtin(source):
        from .journal import state_dir
        return state_dir() / "training-answers.training.acks.yaml"
    if not source or source.startswith("<") or not Path(source).is_file():
        return None
    p = Path(source)
    return p.with_name(f"{p.stem}{'.training' if training else ''}.acks.yaml")


def _parse(path: Path, text: str) -> list[Event]:
    try:
        data = yaml.safe_load(text) if text.strip() else {"acks": VERSION, "events": []}
    except yaml.YAMLError as e:
        raise AnswersError(_("{path}: not a chatwizard acks file: {error}").format(path=path, error=e)) from e
    if not isinstance(data, dict) or data.get("acks") != VERSION or not isinstance(data.get("events"), list):
        raise AnswersError(_("{path}: not a chatwizard acks file (version {version})").format(
            path=path, version=VERSION))
    out = []
    for n, e in enumerate(data["events"], 1):
        if not isinstance(e, dict) or not isinstance(e.get("item"), str) or not isinstance(e.get("ticked"), bool):
            raise AnswersError(_("{path}: event {n} is not an item with ticked true or false").format(
                path=path, n=n))
        out.append(Event(e["item"], e["ticked"], str(e.get("value", "")), str(e.get("at", "")),
                         str(e.get("by") or "")))
    return out


def load(path: Path | None) -> list[Event]:
    """The events recorded in `path` ([] when there is none)."""
    if path is None or not path.exists():
        return []
    return _parse(path, path.read_text("utf-8"))


HEADER = ("# chat-role wizard: the manual steps in the portal UI, ticked off by the engineer\n"
          "# (the TUI's sections 8-10, or `chatwizard ack`). Written by the wizard; one event per\n"
          "# tick or untick, the last one per item counts.\n")


def _write(path: Path, events: list[Event]) -> None:
    """Write atomically (temp file + rename; mode 0600 like the answers)."""
    text = HEADER + masking.mask(yaml.safe_dump({"acks": VERSION, "events": [e.to_dict() for e in events]},
                                                sort_keys=False, allow_unicode=True, width=100))
    atomic.write_text(path, text)


@contextmanager
def _locked(path: Path):
    """Hold a lock on the folder of `path` (the file itself is replaced on each write, and
    a lock file would be left beside the answers): a read-append-write is one step for
    every writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def append(path: Path, new: list[Event]) -> list[Event]:
    """Add `new` to the events in `path` (read again under the lock); all of them."""
    with _locked(path):
        events = load(path) + list(new)
        _write(path, events)
    return events


def latest(events: list[Event]) -> dict[str, Event]:
    out: dict[str, Event] = {}
    for e in events:
        out[e.item] = e
    return out


class Book:
    """The ticks of one answers file: in memory, and in its sidecar when it has one."""

    def __init__(self, path: Path | None, clock=time.time) -> None:
        self.path = path
        self.clock = clock
        self.events: list[Event] = load(path)
        self.unsaved: list[Event] = []      # made while the answers had no file

    def states(self, known: list[Item]) -> list[State]:
        last = latest(self.events)
        return [State(i, last.get(i.id)) for i in known]

    def mark(self, item: Item, ticked: bool, by: str | None = None) -> Event:
        """Tick (or untick) `item` now; written at once when the answers have a file."""
        e = Event(item.id, ticked, item.confirms, utc_now(self.clock), user_name() if by is None else by)
        if self.path is None:
            self.unsaved.append(e)
            self.events.append(e)
        else:
            self.events = append(self.path, [e])
        return e

    def moved(self, path: Path | None) -> "Book":
        """The book of the answers' new file: its own ticks, plus those made here while the
        answers had no file (written there at once)."""
        book = Book(path, self.clock)
        if self.unsaved:
            if path is None:
                book.events, book.unsaved = book.events + self.unsaved, list(self.unsaved)
            else:
                book.events = append(path, self.unsaved)
        return book


def tick_command(source: str, training: bool, ids: list[str] | None = None) -> str:
    """The command that ticks items of `source` from a shell."""
    import shlex
    args = ["chatwizard", "ack"] + (["--training"] if training else []) + [source]
    return shlex.join(args + list(ids or [])) + ("" if ids else " ITEM…")


def unconfirmed(states: list[State]) -> list[State]:
    return [s for s in states if not s.confirmed]


def summary_line(states: list[State]) -> str | None:
    """'2 manual steps in the portal not confirmed: agents/chat_status (Agent status), …'
    (None when every item is confirmed)."""
    bad = unconfirmed(states)
    if not bad:
        return None
    from .i18n import ngettext
    names = ", ".join(s.item.id if s.item.id.endswith("/" + s.item.setting) else f"{s.item.id} ({s.item.setting})"
                      for s in bad)
    return ngettext("{n} manual step in the portal not confirmed: {items}",
                    "{n} manual steps in the portal not confirmed: {items}", len(bad)).format(n=len(bad), items=names)
