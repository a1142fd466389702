"""The procedure's sections as plan steps, in the procedure's order.

A section module defines NAME (its answers key), TITLE, ROLES (the roles of the
hosts it runs on) and `plan(ctx, host) -> list[Action]`. It reads facts and
files through `ctx` (never writes), and yields a NoOp when there is nothing to
do.
"""
from __future__ import annotations

import importlib
import posixpath
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Callable

from ..plan import FileChange
from ..transport.base import HostSpec, Transport
from ..i18n import _

if TYPE_CHECKING:
    from ..answers import Answers
    from ..facts import HostFacts, PortalVersion

# module names under wizard/steps, in the procedure's order; a missing module is skipped
ORDER = ["java", "clientmessenger", "hazelcast", "daemon", "update_script", "firewall",
         "load_balancer", "portal_settings", "agents", "whatsapp"]


def host_label(name: str) -> str:
    """A plan's host as shown: the pseudo-hosts (the portal's web UI, TynTec called from this
    machine) in the current language; their names stay the same keys in every language."""
    from .portal_settings import PORTAL_UI
    from .whatsapp import TYNTEC_HOST
    return _(name) if name in (PORTAL_UI, TYNTEC_HOST) else name


def sections() -> list[ModuleType]:
    """The section modules that exist, in order."""
    mods = []
    for name in ORDER:
        try:
            mods.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    return mods


@dataclass
class Overlay:
    """What the host will look like after the earlier planned steps, for later steps' reads.

    A planned FileChange shadows the file; a planned tree copy (src → dest) makes files
    under dest read as their source files while dest does not exist yet.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    mirrors: list[tuple[str, str]] = field(default_factory=list)   # (dest, src)

    def redirect(self, path: str) -> tuple[str, bool]:
        """(path to read on the host, whether it is read from a planned copy's source)."""
        for dest, src in self.mirrors:
            if path == dest or path.startswith(dest.rstrip("/") + "/"):
                return src + path[len(dest.rstrip("/")):], True
        return path, False


@dataclass
class Context:
    """What a step may look at while planning: answers, facts, files (read-only)."""

    answers: "Answers"
    transports: dict[str, Transport]
    facts: dict[str, "HostFacts"]
    portal: "PortalVersion"
    # what planning asks TynTec: .get_default(api_base, key_ref) -> the application (dict);
    # None: the real one (wizard.tyntec.PlanningClient), made when first asked
    http: object = None
    overlays: dict[str, Overlay] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # from the journal of an interrupted apply (wizard.journal), per host:
    pending: dict[str, dict[str, set[str]]] = field(default_factory=dict)   # section -> files
    unfinished: dict[str, set[str]] = field(default_factory=dict)           # sections
    interrupted: dict[str, set[str]] = field(default_factory=dict)          # action ids

    def __post_init__(self) -> None:
        if self.http is None:
            from ..tyntec import PlanningClient
            self.http = PlanningClient()

    def transport(self, host: HostSpec | str) -> Transport:
        return self.transports[host if isinstance(host, str) else host.name]

    def pending_writes(self, host: HostSpec | str, section: str | None = None) -> set[str]:
        """Files an interrupted apply wrote (or was writing) on `host`, in `section` (any
        when None), whose section's later actions never ran. A step plans its follow-up
        (restart, reload, script) for such a file even when its content is already right."""
        by_section = self.pending.get(host if isinstance(host, str) else host.name, {})
        if section is not None:
            return set(by_section.get(section, ()))
        return set().union(*by_section.values()) if by_section else set()

    def unfinished_sections(self, host: HostSpec | str) -> set[str]:
        """Sections an interrupted apply had work for on `host` and did not finish there."""
        return set(self.unfinished.get(host if isinstance(host, str) else host.name, ()))

    def interrupted_actions(self, host: HostSpec | str) -> set[str]:
        """Ids of the actions an interrupted apply began on `host` and never saw finish
        (they may have run in part): a step whose re-plan would skip such an action because
        its effect looks present may plan it again."""
        return set(self.interrupted.get(host if isinstance(host, str) else host.name, ()))

    def overlay(self, host: HostSpec | str) -> Overlay:
        return self.overlays.setdefault(host if isinstance(host, str) else host.name, Overlay())

    def section(self, name: str) -> dict:
        return self.answers.section(name)

    def read(self, host: HostSpec | str, path: str) -> tuple[bytes | None, bool]:
        """(content as it will be when this step runs, whether it only exists once an earlier
        planned step ran). Reads fall back to sudo when the login user may not read."""
        ov = self.overlay(host)
        if path in ov.files:
            return ov.files[path], True
        real, mirrored = ov.redirect(path)
        if mirrored:
            t = self.transport(host)
            if t.stat(path).exists:          # the copy is already there: read it
                return t.read_file(path, sudo=True), False
            return t.read_file(real, sudo=True), True
        return self.transport(host).read_file(path, sudo=True), False

    def exists(self, host: HostSpec | str, path: str) -> bool:
        ov = self.overlay(host)
        if path in ov.files:
            return True
        real, mirrored = ov.redirect(path)
        t = self.transport(host)
        return t.stat(path).exists or (mirrored and t.stat(real).exists)

    def file_change(self, host: HostSpec | str, description: str, path: str, new: bytes, *,
                    mode: int = 0o644, owner: str | None = None, group: str | None = None,
                    validate: str | None = None, new_shown: str | None = None,
                    show_old: Callable[[str], str] | None = None,
                    copy_of: str | None = None, secret_label: str | None = None) -> FileChange | None:
        """A FileChange against the planned state of `path`, or None when it already holds
        `new` (the caller then yields a NoOp). Later reads of `path` see `new`. A file that
        carries a secret gives `new_shown` (wizard.secret_text) and `show_old`, which masks
        the secret fields of the old content by position."""
        old, planned = self.read(host, path)
        st = None if planned else self.transport(host).stat(path)
        same_meta = st is None or not st.exists or (
            (st.mode is None or st.mode == mode) and (owner is None or st.owner in (None, owner))
            and (group is None or st.group in (None, group)))
        if old == new and (planned or same_meta):
            return None
        self.overlay(host).files[path] = new
        old_shown = None
        if show_old is not None and old is not None:
            old_shown = show_old(old.decode("utf-8", errors="replace"))
        return FileChange(description, path, new, old, mode=mode, owner=owner, group=group,
                          validate=validate, base_unknown=planned, new_shown=new_shown,
                          old_shown=old_shown, copy_of=copy_of, secret_label=secret_label)


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or "/"


def site_text(host, path: str, data: bytes) -> str:
    """A site file's bytes as text; PlanError naming host, file and line when not UTF-8."""
    from ..errors import PlanError
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise PlanError(_("host {host}: {path} is not UTF-8 text (line {line}, "
                          "byte {byte})").format(host=host.name, path=path, line=line,
                                                 byte=e.start)) from None
