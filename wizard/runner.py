"""Execute a plan: the same action objects the preview showed, section by section.

Within a section the hosts run in parallel (bounded by `max_parallel`); a failure stops
that host (the others finish their current work in the section) and, once the section's
other hosts have finished, the whole run: later sections build on earlier ones. Each
host gets its own result (`RunResult.hosts`) and, with `host_logs`, its own log file.

A lost connection is reported as such ("connection to HOST lost"), whether it broke
before, during or after an action. SSH connections carry their own dead-peer check
(wizard.transport.ssh: CHATWIZARD_DEAD_PEER_SECONDS, default 30 s), so a pulled cable
fails the step within that time instead of hanging until the command's timeout;
`dead_peer_after` overrides it for this run's SSH connections.

Every finished action is journalled, and so is every file write before it begins and
every section a host finishes, so that an interrupted apply resumes where it stopped:
finished actions are skipped while the host still holds what they wrote, what an
interrupted write may have left beside its target is removed first, and the planner
re-plans the follow-ups (restart, reload, script) of files written by a section that
did not finish (wizard.journal).
"""
from __future__ import annotations

import logging
import os
import posixpath
import re
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import events as ev
from . import masking, termsafe
from .errors import ConnectError, WizardError
from .journal import UPLOAD_GLOB, Journal, leftover_globs
from .plan import Command, FileChange, HostPlan, HttpRequest, Plan, SectionPlan, sha256
from .transport.base import CommandResult, Transport, TransportError
from .i18n import _

Emit = Callable[[ev.Event], None]
log = logging.getLogger("wizard.runner")


class _Failed(Exception):
    def __init__(self, display: str, exit_code: int | None, tail: str, reason: str):
        super().__init__(reason)
        self.display, self.exit_code, self.tail, self.reason = display, exit_code, tail, reason


@dataclass
class HostResult:
    """How the run ended on one host (or pseudo-host, e.g. HTTP calls from here)."""

    host: str
    status: str = "not run"          # ok | failed | stopped | not run
    planned: list[str] = field(default_factory=list)     # sections with work on this host
    finished: list[str] = field(default_factory=list)    # sections it finished
    done: int = 0
    skipped: int = 0                 # finished in the interrupted run (journal)
    failed: ev.StepFailed | None = None
    lost: bool = False               # the failure was a lost connection
    why: str = ""                    # why a host stopped without a failure of its own
    duration_s: float = 0.0
    log: str | None = None           # its log file

    def summary(self) -> str:
        counts = (_("{done} done, {skipped} skipped (journal)") if self.skipped else
                  _("{done} done")).format(done=self.done, skipped=self.skipped)
        if self.status == "failed" and self.failed is not None:
            return _("FAILED at {step}: {reason} ({counts})").format(
                step=repr(self.failed.description), reason=self.failed.reason, counts=counts)
        if self.status == "stopped":
            return _("stopped: {why} ({counts})").format(why=self.why, counts=counts)
        if self.status == "ok":
            return (_("ok ({counts})").format(counts=counts) if self.planned else
                    _("ok (nothing to do)"))
        return _("not run")


@dataclass
class RunResult:
    """How the run ended, per host."""

    ok: bool
    done: int = 0
    failed: dict[str, ev.StepFailed] = field(default_factory=dict)
    backups: list[tuple[str, str, str]] = field(default_factory=list)   # (host, path, backup)
    skipped_journal: int = 0
    hosts: dict[str, HostResult] = field(default_factory=dict)

    @property
    def lost(self) -> list[str]:
        """Hosts whose connection was lost."""
        return [h for h, r in self.hosts.items() if r.lost]


def executable(action) -> bool:
    return isinstance(action, (Command, FileChange, HttpRequest))


def _alive(t: Transport | None) -> bool | None:
    """Whether the host's connection is up: True/False, None when the transport cannot
    tell (a test double, HTTP from here); the training host's is always up."""
    if getattr(t, "training", False):
        return True             # the training host lives in this process: never "lost"
    if t is None or not hasattr(t, "paramiko_transport"):
        return None
    pt = t.paramiko_transport
    return pt is not None and pt.is_active()


def event_line(e: ev.Event) -> str | None:
    """One log line for an event (None: not worth a line)."""
    if isinstance(e, ev.StepStarted):
        return f"({e.index}/{e.total}) {e.description}: {e.display}"   # the log: as it ran
    if isinstance(e, ev.OutputLine):
        return f"  | {e.line}"
    if isinstance(e, ev.FileWritten):
        return "  " + (_("wrote {path} (backup {backup})") if e.backup else _("wrote {path}")).format(
            path=e.path, backup=e.backup)
    if isinstance(e, ev.StepSkipped):
        return _("skipped: {step} ({reason})").format(step=e.description, reason=e.reason)
    if isinstance(e, ev.StepDone):
        return "  " + _("done in {seconds} s").format(seconds=f"{e.duration_s:.2f}")
    if isinstance(e, ev.StepFailed):
        last = _("last output")
        tail = "".join(f"\n  {last} | {line}" for line in e.tail.splitlines())
        return _("FAILED: {step}: {command} (exit code {code}): {reason}").format(
            step=e.description, command=e.display, code=e.exit_code, reason=e.reason) + tail
    if isinstance(e, ev.SectionStarted):
        return f"== {e.title}"
    return None


class Runner:
    """Runs a plan on connected transports and emits events."""

    def __init__(self, plan: Plan, transports: dict[str, Transport], *, emit: Emit,
                 journals: dict[str, Journal] | None = None, max_parallel: int = 4,
                 http: Callable[[HttpRequest], tuple[int, str]] | None = None,
                 cancelled: Callable[[], bool] = lambda: False,
                 host_logs: str | Path | None = None, dead_peer_after: float | None = None):
        self.plan, self.transports = plan, transports
        self._emit_raw, self._lock = emit, threading.RLock()
        self.journals = journals or {}
        self.max_parallel = max(1, max_parallel)
        self.http = http
        self.cancelled = cancelled
        self.host_logs = Path(host_logs) if host_logs else None    # a folder: HOST.log per host
        self.dead_peer_after = dead_peer_after     # None: each connection's own setting
        if dead_peer_after is not None:
            for t in transports.values():
                set_dead_peer = getattr(t, "set_dead_peer_after", None)   # SSH connections
                if set_dead_peer is not None:
                    set_dead_peer(dead_peer_after)
        self.total = sum(1 for _, _, a in plan.actions() if executable(a))
        self._index = 0
        self._logs: dict[str, object] = {}
        self._lost: set[int] = set()         # id() of the StepFailed events for a lost connection
        self.result = RunResult(ok=True)
        for host in transports:
            self.result.hosts[host] = HostResult(host)
        for s in plan.sections:
            for hp in s.hosts:
                if not any(executable(a) for a in hp.actions):
                    continue        # nothing runs there (e.g. checklists for the portal UI)
                hr = self.result.hosts.setdefault(hp.host, HostResult(hp.host))
                if s.name not in hr.planned:
                    hr.planned.append(s.name)

    def emit(self, event: ev.Event) -> None:
        with self._lock:
            if event.host:
                self._log(event.host, event_line(event))
            self._emit_raw(event)

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        self.emit(ev.RunStarted("", self.total))
        done_before = self._prepare()
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
        self._conclude()
        self.emit(ev.RunFinished("", self.result.ok, self.result.done, tuple(self.result.failed)))
        self._close_logs()
        return self.result

    def _prepare(self) -> dict[str, set[str]]:
        """Check each journal against its host, remove what interrupted writes left, start
        the journal; the finished actions to skip, per host."""
        done_before: dict[str, set[str]] = {}
        for host, j in self.journals.items():
            t = self.transports.get(host)
            if t is None:
                continue
            hr = self.result.hosts.setdefault(host, HostResult(host))
            try:
                why = j.check(t)
                if why:
                    self._log(host, _("the interrupted run's journal is set aside: {why}").format(why=why))
                self._tidy(host, j, t)
            except Exception as e:              # noqa: BLE001 - reported as the host's failure
                failed = self._failure(host, "", _("Compare the journal of the interrupted run "
                                                   "with the host"),
                                       _("read the files it recorded"), e)
                self._fail(hr, failed)
                self.emit(failed)
                continue
            done_before[host] = j.done_ids()
            j.start(hr.planned)
        return done_before

    def _tidy(self, host: str, j: Journal, t: Transport) -> None:
        """Remove the temp and candidate files an interrupted write may have left beside
        its target, and the transport's upload files in the login user's home."""
        paths = sorted(j.leftovers())
        if not paths:
            return
        globs = " ".join(g for p in paths for g in leftover_globs(p))
        t.run(f"rm -rf -- {globs}", sudo=True, timeout=60)   # the transport's temp is a folder
        t.run(f"rm -f -- {UPLOAD_GLOB}", timeout=60)
        self._log(host, _("removed what interrupted writes may have left beside {paths}").format(
            paths=", ".join(paths)))

    def _run_host(self, section: SectionPlan, hp: HostPlan, done_before: set[str]) -> None:
        if not any(executable(a) for a in hp.actions):
            return
        hr = self.result.hosts.setdefault(hp.host, HostResult(hp.host))
        j = self.journals.get(hp.host)
        start = time.monotonic()
        try:
            for action in hp.actions:
                if not executable(action):
                    continue
                if self.cancelled():
                    return
                with self._lock:
                    self._index += 1
                    index = self._index
                if action.id in done_before:
                    with self._lock:
                        self.result.skipped_journal += 1
                    hr.skipped += 1
                    self.emit(ev.StepSkipped(hp.host, section.name, action.description,
                                             _("done in the interrupted run (journal)")))
                    continue
                display = action.display if isinstance(action, Command) else (
                    _("write {path}").format(path=action.path) if isinstance(action, FileChange)
                    else f"{action.method} {action.url}")
                self.emit(ev.StepStarted(hp.host, section.name, action.description, display, index, self.total))
                t0 = time.monotonic()
                try:
                    if j is not None and action.changes:
                        j.begin(action.id, section.name,
                                action.path if isinstance(action, FileChange) else None)
                    files = self._execute(hp.host, action)
                except Exception as e:          # noqa: BLE001 - every failure is reported
                    failed = self._failure(hp.host, section.name, action.description, display, e)
                    self._fail(hr, failed)
                    self.emit(failed)
                    return
                if j is not None and action.changes:
                    j.record(action.id, section.name, action.description, files)
                with self._lock:
                    self.result.done += 1
                hr.done += 1
                self.emit(ev.StepDone(hp.host, section.name, action.description, time.monotonic() - t0))
            if section.name in hr.planned:
                if j is not None:
                    j.section_done(section.name)
                hr.finished.append(section.name)
        finally:
            hr.duration_s += time.monotonic() - start

    def _fail(self, hr: HostResult, failed: ev.StepFailed) -> None:
        with self._lock:
            self.result.failed[hr.host] = failed
        hr.failed = failed
        hr.lost = id(failed) in self._lost      # known where the failure was made, not by its words

    def _failure(self, host: str, section: str, description: str, display: str,
                 e: Exception) -> ev.StepFailed:
        """The StepFailed for an exception, telling a lost connection from the rest."""
        alive = _alive(self.transports.get(host))
        code, tail, lost = None, "", False
        if isinstance(e, _Failed):
            display, code, tail, reason = e.display, e.exit_code, e.tail, e.reason
            if alive is False:
                lost = True
                reason = (_("connection to {host} lost (the command reported no exit status)")
                          if code == -1 else _("connection to {host} lost ({reason})")).format(
                              host=host, reason=reason)
        elif isinstance(e, ConnectError) and isinstance(e, TransportError):
            reason = str(e)                                  # sudo refused the password
        elif isinstance(e, ConnectError):
            lost = True                                      # the reconnect was refused
            reason = _("connection to {host} lost; connecting again failed: {error}").format(
                host=host, error=e)
        elif isinstance(e, TransportError):
            result = getattr(e, "result", None)               # a timed-out command
            if isinstance(result, CommandResult):
                code, tail = result.exit_code, result.tail()
            if host not in self.transports:    # an HTTP call from this machine: no session
                lost = True
                reason = _("connection to {host} failed: {error}").format(host=host, error=e)
            elif alive:
                reason = str(e)
            else:
                lost = True
                reason = _("connection to {host} lost: {error}").format(host=host, error=e)
        elif isinstance(e, WizardError):
            reason = str(e)                                  # e.g. a secret missing at run time
        else:
            # not the transport's own error (e.g. the SSH library's, when the connection
            # dropped in the middle of a file transfer): lost if the connection is gone
            log.warning("%s: %s: %s", host, description, masking.mask(repr(e)), exc_info=True)
            what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            lost = alive is False
            reason = (_("connection to {host} lost: {error}") if lost else
                      _("unexpected error: {error}")).format(host=host, error=what)
        failed = ev.StepFailed(host, section, description, display, code, masking.mask(tail),
                               masking.mask(reason))
        if lost:
            self._lost.add(id(failed))
        return failed

    def _conclude(self) -> None:
        """Each host's status once the run is over."""
        failed = sorted(self.result.failed)
        for hr in self.result.hosts.values():
            if hr.failed is not None:
                hr.status = "failed"
            elif all(s in hr.finished for s in hr.planned):
                hr.status = "ok"
            else:
                hr.status = "stopped"
                left = [s for s in hr.planned if s not in hr.finished]
                if self.cancelled():
                    hr.why = _("the run was stopped before section(s) {sections}").format(
                        sections=", ".join(left))
                else:
                    hr.why = _("{hosts} failed, so section(s) {sections} did not run").format(
                        hosts=", ".join(failed), sections=", ".join(left))
            self._log(hr.host, _("result: {summary}").format(summary=hr.summary()))

    # -- per-host logs ---------------------------------------------------------------------
    def _log(self, host: str, line: str | None) -> None:
        if self.host_logs is None or line is None:
            return
        with self._lock:
            f = self._logs.get(host)
            if f is None:
                name = re.sub(r"[^A-Za-z0-9._-]+", "_", host).strip("_") or "host"
                path = self.host_logs / f"{name}.log"
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                f = self._logs[host] = os.fdopen(fd, "a", encoding="utf-8")
                self.result.hosts.setdefault(host, HostResult(host)).log = str(path)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for part in termsafe.lines(masking.mask(line)):
                f.write(f"{stamp} {part}\n")
            f.flush()

    def _close_logs(self) -> None:
        with self._lock:
            for f in self._logs.values():
                f.close()
            self._logs.clear()

    # -- one action ------------------------------------------------------------------------
    def _execute(self, host: str, action) -> dict[str, str]:
        if isinstance(action, Command):
            self._command(host, action.command, action.sudo, action.timeout, action.ok_codes,
                          display=action.display)
            return {}
        if isinstance(action, FileChange):
            return self._file(host, action)
        return self._http(action)

    def _command(self, host: str, command: str, sudo: bool, timeout: float | None,
                 ok_codes: tuple[int, ...] = (0,), display: str | None = None):
        t = self.transports[host]
        res = t.run(command, sudo=sudo, timeout=timeout,
                    on_output=lambda stream, line: self.emit(ev.OutputLine(host, stream, line)))
        if res.exit_code not in ok_codes:
            # the failure shows the command as previewed (masked by construction), not the
            # text searched for secrets: a password `root` must not hide `chown root:root`
            raise _Failed(display if display is not None else masking.mask(command), res.exit_code, res.tail(),
                          _("exit code {code}").format(code=res.exit_code))
        return res

    def _file(self, host: str, fc: FileChange) -> dict[str, str]:
        t = self.transports[host]
        current = t.read_file(fc.path, sudo=True)
        if not fc.base_unknown and sha256(current) != sha256(fc.old):
            raise _Failed(_("write {path}").format(path=fc.path), None, "",
                          _("{path} on {host} changed since the preview; run plan again to see a "
                            "fresh diff").format(path=fc.path, host=host))
        if fc.validate:
            d, name = posixpath.split(fc.path)
            candidate = posixpath.join(d, f".{name}.chatwizard-candidate")
            t.write_file(candidate, fc.new, mode=0o600, backup=False)
            try:
                self._command(host, fc.validate.format(path=shlex.quote(candidate)), True, 120)
            except _Failed:
                # rejected: the live file stays as it is and the candidate goes
                t.run(f"rm -f {shlex.quote(candidate)}", sudo=True, timeout=60)
                raise
            # (a lost connection leaves the candidate to the next apply, which removes it
            # first: trying here would only wait for a host that is gone)
            t.run(f"rm -f {shlex.quote(candidate)}", sudo=True, timeout=60)
        res = t.write_file(fc.path, fc.new, mode=fc.mode, owner=fc.owner, group=fc.group, backup=True)
        if res.backup:
            with self._lock:
                self.result.backups.append((host, fc.path, res.backup))
        self.emit(ev.FileWritten(host, fc.path, res.backup))
        return {fc.path: sha256(fc.new)}

    def _http(self, req: HttpRequest) -> dict[str, str]:
        if self.http is None:
            raise _Failed(f"{req.method} {req.url}", None, "", _("no HTTP client configured"))
        status, body = self.http(req)
        if status not in req.ok_status:
            raise _Failed(f"{req.method} {req.url}", status, body, f"HTTP {status}")
        return {}
