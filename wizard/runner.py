"""Execute a plan: the same action objects the preview showed, section by section.

Within a section the hosts run in parallel (bounded); a failure stops that host
and, once the section's other hosts have finished their work, the whole run:
later sections build on earlier ones. Every finished action is journalled so an
interrupted apply resumes where it stopped.
"""
from __future__ import annotations

import posixpath
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from . import events as ev
from . import masking
from .journal import Journal
from .plan import Command, FileChange, HostPlan, HttpRequest, Plan, SectionPlan, sha256
from .transport.base import Transport, TransportError

Emit = Callable[[ev.Event], None]


class _Failed(Exception):
    def __init__(self, display: str, exit_code: int | None, tail: str, reason: str):
        super().__init__(reason)
        self.display, self.exit_code, self.tail, self.reason = display, exit_code, tail, reason


@dataclass
class RunResult:
    """How the run ended, per host."""

    ok: bool
    done: int = 0
    failed: dict[str, ev.StepFailed] = field(default_factory=dict)
    backups: list[tuple[str, str, str]] = field(default_factory=list)   # (host, path, backup)
    skipped_journal: int = 0


def executable(action) -> bool:
    return isinstance(action, (Command, FileChange, HttpRequest))


class Runner:
    """Runs a plan on connected transports and emits events."""

    def __init__(self, plan: Plan, transports: dict[str, Transport], *, emit: Emit,
                 journals: dict[str, Journal] | None = None, max_parallel: int = 4,
                 http: Callable[[HttpRequest], tuple[int, str]] | None = None,
                 cancelled: Callable[[], bool] = lambda: False):
        self.plan, self.transports = plan, transports
        self._emit_raw, self._lock = emit, threading.Lock()
        self.journals = journals or {}
        self.max_parallel = max(1, max_parallel)
        self.http = http
        self.cancelled = cancelled
        self.total = sum(1 for _, _, a in plan.actions() if executable(a))
        self._index = 0
        self.result = RunResult(ok=True)

    def emit(self, event: ev.Event) -> None:
        with self._lock:
            self._emit_raw(event)

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        done_before: dict[str, set[str]] = {}
        for host, j in self.journals.items():
            ok, why = j.still_valid(self.transports[host]) if j.done_ids() else (True, "")
            done_before[host] = j.done_ids() if ok else set()
            j.start() if ok else (j.entries.clear(), j.start())
        self.emit(ev.RunStarted("", self.total))
        for section in self.plan.sections:
            if self.cancelled():
                break
            self.emit(ev.SectionStarted("", section.name, section.title))
            hosts = [hp for hp in section.hosts if hp.host not in self.result.failed]
            # pseudo-hosts (HTTP calls made from this machine) go last: e.g. the TynTec webhook
            # must point at the load balancer only once its config has been changed
            remote = [hp for hp in hosts if hp.host in self.transports]
            local = [hp for hp in hosts if hp.host not in self.transports]
            run = lambda hp: self._run_host(section, hp, done_before.get(hp.host, set()))
            if len(remote) <= 1 or self.max_parallel == 1:
                for hp in remote:
                    run(hp)
            else:
                with ThreadPoolExecutor(min(self.max_parallel, len(remote))) as pool:
                    list(pool.map(run, remote))
            for hp in local:
                if not self.result.failed:
                    run(hp)
            if self.result.failed:
                break
        self.result.ok = not self.result.failed and not self.cancelled()
        if self.result.ok:
            for j in self.journals.values():
                j.finish()
        self.emit(ev.RunFinished("", self.result.ok, self.result.done, tuple(self.result.failed)))
        return self.result

    def _run_host(self, section: SectionPlan, hp: HostPlan, done_before: set[str]) -> None:
        for action in hp.actions:
            if not executable(action):
                continue
            if self.cancelled():
                return
            with self._lock:
                self._index += 1
                index = self._index
            if action.id in done_before:
                self.result.skipped_journal += 1
                self.emit(ev.StepSkipped(hp.host, section.name, action.description,
                                         "done in the interrupted run (journal)"))
                continue
            display = action.display if isinstance(action, Command) else (
                f"write {action.path}" if isinstance(action, FileChange) else f"{action.method} {action.url}")
            self.emit(ev.StepStarted(hp.host, section.name, action.description, display, index, self.total))
            t0 = time.monotonic()
            try:
                files = self._execute(hp.host, action)
            except _Failed as f:
                failed = ev.StepFailed(hp.host, section.name, action.description, f.display,
                                       f.exit_code, masking.mask(f.tail), masking.mask(f.reason))
                self.result.failed[hp.host] = failed
                self.emit(failed)
                return
            except TransportError as e:
                failed = ev.StepFailed(hp.host, section.name, action.description, display, None, "",
                                       masking.mask(f"connection to {hp.host} failed: {e}"))
                self.result.failed[hp.host] = failed
                self.emit(failed)
                return
            j = self.journals.get(hp.host)
            if j is not None and action.changes:
                j.record(action.id, section.name, action.description, files)
            with self._lock:
                self.result.done += 1
            self.emit(ev.StepDone(hp.host, section.name, action.description, time.monotonic() - t0))

    # -- one action ------------------------------------------------------------------------
    def _execute(self, host: str, action) -> dict[str, str]:
        if isinstance(action, Command):
            self._command(host, action.command, action.sudo, action.timeout, action.ok_codes)
            return {}
        if isinstance(action, FileChange):
            return self._file(host, action)
        return self._http(action)

    def _command(self, host: str, command: str, sudo: bool, timeout: float | None,
                 ok_codes: tuple[int, ...] = (0,)):
        t = self.transports[host]
        res = t.run(command, sudo=sudo, timeout=timeout,
                    on_output=lambda stream, line: self.emit(ev.OutputLine(host, stream, line)))
        if res.exit_code not in ok_codes:
            raise _Failed(masking.mask(command), res.exit_code, res.tail(),
                          f"exit code {res.exit_code}")
        return res

    def _file(self, host: str, fc: FileChange) -> dict[str, str]:
        t = self.transports[host]
        current = t.read_file(fc.path, sudo=True)
        if not fc.base_unknown and sha256(current) != sha256(fc.old):
            raise _Failed(f"write {fc.path}", None, "",
                          f"{fc.path} on {host} changed since the preview; run plan again to see a fresh diff")
        if fc.validate:
            d, name = posixpath.split(fc.path)
            candidate = posixpath.join(d, f".{name}.chatwizard-candidate")
            t.write_file(candidate, fc.new, mode=0o600, backup=False)
            try:
                self._command(host, fc.validate.format(path=shlex.quote(candidate)), True, 120)
            finally:
                t.run(f"rm -f {shlex.quote(candidate)}", sudo=True, timeout=60)
        res = t.write_file(fc.path, fc.new, mode=fc.mode, owner=fc.owner, group=fc.group, backup=True)
        if res.backup:
            self.result.backups.append((host, fc.path, res.backup))
        self.emit(ev.FileWritten(host, fc.path, res.backup))
        return {fc.path: sha256(fc.new)}

    def _http(self, req: HttpRequest) -> dict[str, str]:
        if self.http is None:
            raise _Failed(f"{req.method} {req.url}", None, "", "no HTTP client configured")
        status, body = self.http(req)
        if status not in req.ok_status:
            raise _Failed(f"{req.method} {req.url}", status, body, f"HTTP {status}")
        return {}
