"""What an apply has done, so a later apply can resume after an interruption.

One JSON-lines file per answers file and host under the tool's state folder. Records:

- `start`: a run began, with the sections it has work for on this host;
- `begin`: a changing action is about to run (its id, section, and for a file write its
  path: an interrupted write may leave temporary or candidate files beside the target,
  which the next apply removes first);
- `done`: a finished action (its id, masked description, and the checksums of the
  files it wrote);
- `section_done`: the host finished every action of a section (its follow-ups ran);
- `complete`: the whole run finished; the next apply starts from a fresh plan.

Secrets never enter it: descriptions are masked and files are recorded by a keyed checksum
only (HMAC under this machine's key, wizard.statekey: a plain sha256 of the init script
would let a reader test DB password guesses); journals with plain sha256 checksums, written
by earlier versions, still read. The journal folder is 0700 and every journal 0600.

An incomplete journal is offered for resume only while the host still holds what the
finished steps wrote (`check`); otherwise it is set aside, with the reason, and the
next apply is a fresh one. While it is trusted it tells the planner which files an
interrupted run wrote (or was writing) in a section whose later actions (a restart, a
reload, a script) never ran: `pending_writes`. A re-plan sees such a file already right
and would otherwise drop its follow-up.
"""
from __future__ import annotations

import json
import os
import posixpath
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import masking
from .i18n import _, ngettext
from .plan import sha256
from .statekey import keyed, matches, private_dir, state_dir
from .transport.base import Transport


# the state folder is statekey's (re-exported here: callers use journal.state_dir)


def leftover_globs(path: str) -> list[str]:
    """Shell globs (quoted but for the `*`) of what an interrupted write of `path` may
    leave beside it: the transport's temp file, the validation candidate and the
    candidate's own temp file."""
    folder, name = posixpath.split(path)
    q = shlex.quote
    return [f"{q(f'{folder}/.{name}.chatwizard-tmp-')}*",
            q(f"{folder}/.{name}.chatwizard-candidate"),
            f"{q(f'{folder}/..{name}.chatwizard-candidate.chatwizard-tmp-')}*"]


# the transport's private upload files (sudo writes, sudo stdin) in the login user's home
UPLOAD_GLOB = '"$HOME"/.chatwizard-upload-*'


@dataclass
class Journal:
    """The record of one host's runs for one answers file, since the last complete run."""

    path: Path
    entries: list[dict] = field(default_factory=list)    # `done` records
    complete: bool = False
    records: list[dict] = field(default_factory=list)    # every record since the last reset
    stale: str | None = None       # why the record no longer matches the host (see check)
    checked: bool = False

    @classmethod
    def open(cls, answers_source: str, host: str) -> "Journal":
        stem = Path(answers_source).resolve().as_posix().strip("/").replace("/", "_")
        path = state_dir() / "journal" / f"{stem}--{host}.jsonl"
        j = cls(path)
        if path.exists():
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:          # a line cut short by a crash: ignore it
                    continue
                if rec.get("event") == "complete":
                    j.entries, j.records, j.complete = [], [], True
                    continue
                j.complete = False
                j.records.append(rec)
                if rec.get("event", "done") == "done":
                    j.entries.append(rec)
        return j

    # -- what it says ----------------------------------------------------------------------
    @property
    def interrupted(self) -> bool:
        """A run began and did not complete."""
        return not self.complete and bool(self.records)

    @property
    def trusted(self) -> bool:
        return self.interrupted and self.stale is None

    @property
    def started_at(self) -> float | None:
        """When the first run of this record began."""
        return next((r.get("t") for r in self.records if r.get("event") == "start"), None)

    def done_ids(self) -> set[str]:
        """Actions finished by the interrupted run(s): the runner skips them."""
        if self.complete or self.stale is not None:
            return set()
        return {e["id"] for e in self.entries}

    def _replay(self) -> tuple[set[str], dict[str, set[str]]]:
        """(sections not finished, {section: files written or being written since it
        last finished})."""
        unfinished: set[str] = set()
        written: dict[str, set[str]] = {}
        for r in self.records:
            kind, section = r.get("event", "done"), r.get("section", "")
            if kind == "start":
                unfinished.update(r.get("sections", ()))
            elif kind == "begin" and r.get("path"):
                written.setdefault(section, set()).add(r["path"])
            elif kind == "done" and r.get("files"):
                written.setdefault(section, set()).update(r["files"])
            elif kind == "section_done":
                unfinished.discard(section)
                written.pop(section, None)
        return unfinished, written

    def pending_writes(self, section: str | None = None) -> set[str]:
        """Files the interrupted run wrote (or was writing) in a section whose later
        actions did not all finish: their follow-ups must still run. Empty unless the
        journal is trusted."""
        if not self.trusted:
            return set()
        _done, written = self._replay()
        if section is not None:
            return set(written.get(section, ()))
        return set().union(*written.values()) if written else set()

    def pending_by_section(self) -> dict[str, set[str]]:
        if not self.trusted:
            return {}
        return {s: set(p) for s, p in self._replay()[1].items() if p}

    def unfinished_sections(self) -> set[str]:
        """Sections the interrupted run had work for on this host and did not finish."""
        return self._replay()[0] if self.trusted else set()

    def interrupted_actions(self) -> set[str]:
        """Actions the interrupted run began and never saw finish (a command that may have
        run in part, or to the end with its answer lost)."""
        if not self.trusted:
            return set()
        begun = {r["id"] for r in self.records if r.get("event") == "begin"}
        return begun - {e["id"] for e in self.entries}

    def leftovers(self) -> set[str]:
        """Target paths whose interrupted write may have left files beside them."""
        if self.complete:
            return set()
        return {r["path"] for r in self.records if r.get("event") == "begin" and r.get("path")}

    # -- checking against the host --------------------------------------------------------
    def still_valid(self, t: Transport) -> tuple[bool, str]:
        """Whether the files recorded as written still hold what we wrote."""
        for e in self.entries:
            for path, digest in e.get("files", {}).items():
                if not matches(digest, sha256(t.read_file(path, sudo=True))):
                    return False, _("{path} changed since the interrupted run").format(path=path)
        return True, ""

    def check(self, t: Transport) -> str | None:
        """Compare the record with the host (once): None when it may be resumed (or there
        is nothing to resume), else why not; an untrusted record is set aside."""
        if not self.checked:
            self.checked = True
            if self.interrupted:
                ok, why = self.still_valid(t)
                self.stale = None if ok else why
        return self.stale

    def describe(self, host: str) -> str | None:
        """One line for the engineer about resuming on `host`, or None (nothing to resume)."""
        if not self.interrupted:
            return None
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started_at or 0))
        if self.stale is not None:
            return _("{host}: the apply interrupted at {when} cannot be resumed: {reason}; its "
                     "record is set aside and this is a fresh plan").format(
                host=host, when=when, reason=self.stale)
        n = len(self.done_ids())
        pending = sorted(self.pending_writes())
        if pending:
            return ngettext(
                "{host}: resuming the apply interrupted at {when} ({n} finished step is not run "
                "again; follow-ups of files written then are planned again: {files})",
                "{host}: resuming the apply interrupted at {when} ({n} finished steps are not run "
                "again; follow-ups of files written then are planned again: {files})", n).format(
                host=host, when=when, n=n, files=", ".join(pending))
        return ngettext("{host}: resuming the apply interrupted at {when} ({n} finished step is "
                        "not run again)",
                        "{host}: resuming the apply interrupted at {when} ({n} finished steps are "
                        "not run again)", n).format(host=host, when=when, n=n)

    # -- writing ---------------------------------------------------------------------------
    def _append(self, rec: dict, sync: bool = True) -> None:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        if os.fstat(fd).st_mode & 0o077:        # a journal from an older version: 0644
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            if sync:
                os.fsync(f.fileno())

    def start(self, sections: list[str] | tuple[str, ...] = ()) -> None:
        """A run begins. A complete, empty or set-aside record is started afresh; an
        interrupted one is continued (its finished steps stay on record)."""
        if not self.interrupted or self.stale is not None:
            self.entries, self.records, self.complete, self.stale = [], [], False, None
            if self.path.exists():
                self.path.unlink()
        self._add({"event": "start", "sections": list(sections), "t": time.time()})

    def _add(self, rec: dict, sync: bool = True) -> None:
        self.records.append(rec)
        self._append(rec, sync)

    def begin(self, action_id: str, section: str, path: str | None = None) -> None:
        """A changing action (a write of `path`) is about to run. Not synced to disk: it
        matters when the connection breaks, and this process then lives on to say so."""
        rec = {"event": "begin", "id": action_id, "section": section, "t": time.time()}
        if path is not None:
            rec["path"] = path
        self._add(rec, sync=False)

    def record(self, action_id: str, section: str, description: str, files: dict[str, str]) -> None:
        rec = {"event": "done", "id": action_id, "section": section,
               "description": masking.mask(description),
               "files": {p: d if d is None or d.startswith("hmac-") else keyed(d) for p, d in files.items()},
               "t": time.time()}
        self.entries.append(rec)
        self._add(rec)

    def section_done(self, section: str) -> None:
        self._add({"event": "section_done", "section": section, "t": time.time()})

    def finish(self) -> None:
        self._append({"event": "complete", "t": time.time()})
        self.entries, self.records, self.complete, self.stale = [], [], True, None


def open_all(answers_source: str, transports: dict[str, Transport]) -> dict[str, Journal]:
    """The journal of every connected host, each checked against its host (read-only)."""
    journals = {}
    for host, t in transports.items():
        j = Journal.open(answers_source, host)
        j.check(t)
        journals[host] = j
    return journals
