"""One wizard session, the same for both faces: answers, secrets, connections, detection,
plans (always with the journals), runs, the install report.

Headless and blocking: the CLI calls it directly, the TUI from thread workers (it gets
its session injected, training or real). One lock serialises host work, so a preview, a
detection and a run never share a connection at the same time.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import masking
from .errors import AnswersError, PlanError, WizardError
from .i18n import _
from .problems import Problem, UsageError, check_sections, problems_of  # noqa: F401
from .session_fingerprint import FingerprintMixin
from .session_language import SessionLanguage
from .session_training import TrainingMixin, legacy_ssh_note

log = logging.getLogger("wizard.session")

AskSecret = Callable[[str, "str | None"], str]          # (key or prompt, answers key path) -> secret
AskHostKey = Callable[[object], bool]                  # (HostKeyError) -> trust it?

@dataclass
class Detection:
    """What detection found: facts per host, and why a host could not be detected."""

    facts: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    portal: object = None


class Session(SessionLanguage, TrainingMixin, FingerprintMixin):
    """Connections, facts, plans, runs and reports of one wizard session."""

    def __init__(self, *, training: bool = False, keyring_mode: str | None = None,
                 ask_secret: AskSecret | None = None, ask_host_key: AskHostKey | None = None,
                 accept: tuple[str, ...] = (), parallel: int = 4, clock: Callable[[], float] = time.time,
                 connect_kw: dict | None = None, scenario: str | None = None) -> None:
        self._start_training(training, scenario)          # and the scenario (session_training)
        self.keyring_mode = keyring_mode
        self.ask_secret = ask_secret
        self.ask_host_key = ask_host_key
        self.accept = tuple(accept)
        self.parallel = parallel
        self.clock = clock
        self.connect_kw = dict(connect_kw or {})
        self.lock = threading.RLock()
        self.answers = None                     # wizard.answers.Answers
        self.transports: dict = {}
        self._connected_to: tuple = ()
        self.facts: dict | None = None
        self.journals: dict = {}
        self.record = None                      # wizard.report.RunRecord of the last run
        self.host_logs: Path | None = None
        self._stores = ThreadPoolExecutor(1, thread_name_prefix="keyring")
        self._pending: list[Future] = []
        self._secrets_ready = False
        self._unlocking: Callable[[], None] | None = None   # the keyring, unlocked beside detection
        self._acks = None                       # wizard.acks.Book of the answers' file
        self._acks_lock = threading.Lock()      # not self.lock: ticking never waits for a run

    # -- answers ---------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return self.answers.source if self.answers is not None else "<none>"

    def load(self, path: str | Path):
        """Read and validate an answers file (AnswersError names file, line and key)."""
        from . import answers
        self.use(answers.load(str(path)))
        return self.answers

    def use(self, answers) -> None:
        """Work with these answers from now on; another inventory means other connections;
        their ui.language, the language (SessionLanguage)."""
        with self.lock:
            if self.answers is not None:
                if list(answers.hosts) != list(self.answers.hosts):
                    self.close()
                elif answers.data != self.answers.data:
                    self.facts = None           # other paths may be read: detect again
            self.answers = answers
        self._follow_language(answers)

    def validate(self, data: dict, source: str):
        """(Answers, []) for a valid dict (as the TUI holds it), else (None, problems)."""
        from . import answers
        try:
            return answers.Answers.from_data(data, source), []
        except AnswersError as e:
            return None, problems_of(e, source)

    # -- secrets ---------------------------------------------------------------------------
    def secrets_ready(self) -> None:
        """Choose the keyring backend once (training: an in-memory one)."""
        if self._secrets_ready:
            return
        from . import secrets
        if self.training:
            try:
                secrets.configure_backend("training")
            except WizardError:     # no training backend: kept in memory, made up when asked
                secrets.configure_backend("prompt", ask=lambda key, keypath: secrets.TRAINING_SECRET)
        else:
            secrets.configure_backend(self.keyring_mode, ask=self.ask_secret)
        self._secrets_ready = True

    def store_secret(self, key: str, value: str) -> str:
        """Store now (blocking; a keyring may ask for its master password); the reference."""
        from . import secrets
        masking.register(value)
        self.secrets_ready()
        secrets.set(key, value)
        return f"keyring:{key}"

    def store_secret_later(self, key: str, value: str, on_error: Callable[[str], None]) -> str:
        """Mask the secret at once, store it on the keyring thread; returns its reference.
        Host work waits for pending stores first (`settle`)."""
        masking.register(value)

        def store() -> None:
            try:
                self.store_secret(key, value)
            except Exception as e:      # told to the engineer; the answers keep the reference
                on_error(f"{key}: {describe_error(e)}")
                raise
        self._pending.append(self._stores.submit(store))
        return f"keyring:{key}"

    def settle(self) -> None:
        """Wait for the secrets typed so far to be in the keyring."""
        pending, self._pending = self._pending, []
        for f in pending:
            try:
                f.result()
            except Exception:           # already reported by on_error
                pass

    # -- connections -----------------------------------------------------------------------
    def _need_answers(self):
        if self.answers is None:
            raise WizardError(_("no answers loaded"))
        return self.answers

    def connect(self, hosts: list | None = None, *, secrets_later: bool = False) -> dict:
        """Transports to the inventory hosts (or `hosts`, HostSpecs), reusing open ones.
        The keyring is unlocked during the handshakes; secrets_later: not waited for
        (detection comes next and needs none): `secrets_unlocked()` before using one."""
        from . import connect
        self.settle()
        with self.lock:
            specs = list(hosts) if hosts is not None else list(self._need_answers().hosts)
            key = tuple(specs)
            if key != self._connected_to or not self.transports:
                self.close()
                self.transports, self._unlocking = connect.connect_all_unlocking_later(
                    None if self.training else self.answers, specs, prepare=self.secrets_ready,
                    training=self.training, accept=self.accept, ask=self.ask_host_key,
                    **self.connect_kw)
                self._connected_to = key
                self.facts, self.journals = None, {}
            if not secrets_later:
                self.secrets_unlocked()
            return self.transports

    def secrets_unlocked(self) -> None:
        """Wait for the keyring being unlocked beside the connections; its error (a missing
        secret, a wrong master password) closes them and is raised."""
        wait, self._unlocking = self._unlocking, None
        if wait is not None:
            try:
                wait()
            except BaseException:
                self.close()
                raise

    def test_connection(self, spec) -> str:
        """Connect to one host, read what it is, disconnect; a line for the engineer."""
        from . import connect
        from .facts import detect_os
        self.settle()
        self.secrets_ready()
        t = connect.connect_one(spec, training=self.training, accept=self.accept, ask=self.ask_host_key,
                                **self.connect_kw)
        try:
            os_info = detect_os(t)
            who = t.run("id -un", timeout=30).stdout.strip() or "?"
            root = t.run("id -u", sudo=True, timeout=60).stdout.strip()
            if root == "0":
                how = _("as root") if who == "root" else _("as {user}, root through {become}")
            else:
                how = _("as {user}, NOT root with {become} (id -u: {uid})")
            how = how.format(user=who, become=spec.become, uid=root or "?")
            return _("{host}: connected {how}; {os} {version}").format(
                host=spec.name, how=how, os=os_info.name, version=os_info.version) + legacy_ssh_note(t)
        finally:
            t.close()

    def close(self) -> None:
        """Close the connections (the end, another inventory, a reset)."""
        with self.lock:
            wait, self._unlocking = self._unlocking, None
            if wait is not None:                # no thread of ours outlives its connections
                try:
                    wait()
                except BaseException:           # reported by whoever waits for it, if anyone
                    pass
            if self.transports:
                from . import connect
                connect.close_all(self.transports)
            self.transports, self._connected_to, self.facts, self.journals = {}, (), None, {}

    # -- detection -------------------------------------------------------------------------
    def detect(self) -> Detection:
        """Facts of every host that can be reached; a host that cannot is named with why,
        and the others are still detected."""
        from . import connect, planner
        ans = self._need_answers()
        with self.lock:
            self.settle()
            self.secrets_ready()
            if self.transports and self._connected_to == tuple(ans.hosts):
                transports, errors = self.transports, {}
            else:
                self.close()
                transports, failed = connect.connect_each(
                    list(ans.hosts), training=self.training, accept=self.accept, ask=self.ask_host_key,
                    password_check=None if self.training else _password_check, **self.connect_kw)
                errors = {h: describe_error(e) for h, e in failed.items()}
                if not errors:
                    self.transports, self._connected_to = transports, tuple(ans.hosts)
            result = Detection(errors=errors)
            reachable = [h for h in ans.hosts if h.name in transports]
            for spec, outcome in zip(reachable, planner.detect_each(ans, transports, reachable)):
                if isinstance(outcome, BaseException):
                    result.errors[spec.name] = describe_error(outcome)
                else:
                    result.facts[spec.name] = outcome
            if errors:                  # connections of a partial detection are not kept
                connect.close_all(transports)
            else:
                self.facts = result.facts if not result.errors else None
            result.portal = planner.portal_version(ans, result.facts)
            return result

    def ensure_facts(self) -> dict:
        """Connect to every host and detect (once per connection); errors are raised."""
        from . import planner
        with self.lock:
            transports = self.connect(secrets_later=True)    # detection needs no secret
            if self.facts is None:
                try:
                    self.facts = planner.detect(self._need_answers(), transports)
                except BaseException:
                    self.secrets_unlocked()     # a keyring error was, and is, reported first
                    raise
            self.secrets_unlocked()
            return self.facts

    def portal(self):
        from . import planner
        return planner.portal_version(self._need_answers(), self.facts or {})

    # -- journals and plans ----------------------------------------------------------------
    def journal_source(self) -> str:
        """The journals' key: the answers file, and in training the scenario (each its own)."""
        return self.source + (f".training-{self.scenario}" if self.training else "")

    def open_journals(self) -> dict:
        """The journal of every connected host, checked against it (read-only)."""
        from .journal import open_all
        self.journals = open_all(self.journal_source(), self.transports)
        return self.journals

    def resume_lines(self) -> list[str]:
        """What the journals say about an interrupted apply, one line per host."""
        return [line for h, j in self.journals.items() if (line := j.describe(h))]

    def plan(self, only: set[str] | None = None, portal=None):
        """The plan (only some sections when `only` is given), always with the journals:
        steps an interrupted apply finished are not planned again, and the follow-ups it
        never ran are."""
        from . import planner
        ans = self._need_answers()
        if only:
            check_sections(only, "--only")
        with self.lock:
            transports = self.connect()
            self.facts = None if planner.read_before(self.facts) else self.facts   # detect again
            self.ensure_facts()
            self.open_journals()
            portal = portal or planner.portal_version(ans, self.facts)
            return planner.build(ans, transports, training=self.training, facts=self.facts,
                                 portal=portal, only=only, journals=self.journals)

    # -- running ---------------------------------------------------------------------------
    def http_client(self) -> Callable:
        """How the runner sends HTTP requests (the TynTec webhook)."""
        if self.training:               # the simulated TynTec keeps what was sent (replays are no-ops)
            from .training import http_client
            return http_client()
        from .tyntec import make_http
        return make_http()

    def run(self, plan, *, emit: Callable, cancelled: Callable[[], bool] = lambda: False,
            record=None, host_logs: Path | None = None):
        """Run exactly `plan`; every finished step is journalled so the next plan resumes.
        The run's events also go into `record` (a new RunRecord when None): `self.record`."""
        from .plan import Plan
        from .report import RunRecord
        from .runner import Runner
        if record is None:          # a record made for this plan (fingerprint notes) is kept
            record = self.record if self.record is not None and self.record.plan is plan else RunRecord(plan)
        self.record = record
        self.record.plan = plan
        if not self.record.resumed:
            self.record.resumed = self.resume_lines()

        def both(e) -> None:
            self.record.observe(e)
            emit(e)
        with self.lock:
            transports = self.connect()
            if not self.journals:
                self.open_journals()
            if plan.changing_count == 0:
                from .runner import RunResult
                if any(j.interrupted for j in self.journals.values()):
                    # the interrupted apply's work is all there: tidy what it left, close its record
                    Runner(Plan(training=plan.training), transports, emit=lambda e: log.info("%s", e),
                           journals=self.journals).run()
                    self.journals = {}
                return RunResult(ok=True)
            self.record.attempts += 1
            runner = Runner(plan, transports, emit=both, journals=self.journals, cancelled=cancelled,
                            max_parallel=self.parallel, http=self.http_client(),
                            host_logs=host_logs)
            result = runner.run()
            self.journals = {}                  # what the run wrote: read again before a next plan
            self.facts = None                   # the hosts changed: detect again
            return result

    # -- verify (section 11); the fingerprint of the first install: session_fingerprint ------
    def verify(self) -> list:
        """Section 11, read-only: does chat work end to end? (wizard.verify.Check list)"""
        from . import verify
        with self.lock:
            facts = self.ensure_facts()
            return verify.run_checks(self._need_answers(), self.transports, facts)

    # -- manual steps in the portal UI (wizard.acks) ---------------------------------------
    def acks(self, source: str | None = None):
        """The ticks (wizard.acks.Book) of the answers' file, or of `source` (the TUI's);
        ticks made while the answers had no file go with them when they are saved.
        Training answers not saved anywhere: the training sample's."""
        from . import acks
        from .report import TRAINING_SAMPLE
        path = acks.sidecar_path(self.source if source is None else source, self.training)
        if path is None and self.training:
            path = acks.sidecar_path(str(TRAINING_SAMPLE), True)
        with self._acks_lock:
            if self._acks is None or self._acks.path != path:
                self._acks = acks.Book(path, self.clock) if self._acks is None else self._acks.moved(path)
            return self._acks

    def manual_items(self, answers=None) -> list:
        """The manual portal-UI items (wizard.acks.Item) the answers ask for."""
        from . import acks
        return acks.items(answers if answers is not None else self._need_answers())

    def ack(self, ids: list[str], ticked: bool = True, *, answers=None, source: str | None = None) -> list:
        """Tick (or untick) items by id, with the time (UTC) and the local user; UsageError
        for an id the answers do not have."""
        from . import acks
        answers = answers if answers is not None else self._need_answers()
        chosen = acks.find(self.manual_items(answers), list(ids))
        book = self.acks(source if source is not None else answers.source)
        with self._acks_lock:
            return [book.mark(item, ticked) for item in chosen]

    def ack_states(self, items: list, source: str | None = None) -> list:
        """Where each item (wizard.acks.Item) stands: wizard.acks.State."""
        return self.acks(source).states(items)

    def plan_ack_states(self, plan) -> list:
        from . import acks
        return self.ack_states(acks.items_of(plan)) if plan is not None else []

    # -- report ----------------------------------------------------------------------------
    def report_folder(self) -> tuple[Path, str]:
        from .report import report_location
        return report_location(self.source if self.answers is not None else "<none>", self.training)

    @staticmethod
    def _builtin(src) -> bool:
        from .report import is_builtin
        return is_builtin(src)

    def write_report(self, outcome: str) -> tuple[Path, str]:
        """The last run's report, written to a new timestamped file; (path, text)."""
        from .report import RunRecord, build_report, report_path, write_new
        record = self.record or RunRecord(None)
        record.outcome = outcome
        self.add_training_summary(record)       # training: the scenario, what the trainee did
        now = self.clock()
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        text = build_report(record, source=self.source, training=self.training, when=when,
                            acks=self.plan_ack_states(record.plan))
        folder, stem = self.report_folder()
        path = write_new(report_path(folder, stem, stamp), text)
        log.info("report written to %s", path)
        return path, text

    def shutdown(self) -> None:
        self.close()
        self._stores.shutdown(wait=False)


def _password_check(spec) -> None:
    """A host's login password must be in the keyring before connecting (SecretError)."""
    if spec.password_ref:
        from . import secrets
        secrets.get(spec.password_ref)


def describe_error(e: BaseException) -> str:
    """A masked, one-paragraph message for an exception from the core."""
    from .transport.base import TransportError
    if isinstance(e, WizardError):
        text = str(e)
    elif isinstance(e, TransportError):
        text = _("connection failed: {reason}").format(reason=e)
    else:
        text = f"{type(e).__name__}: {e}"
    return masking.mask(text)


__all__ = ["Session", "Problem", "Detection", "UsageError", "check_sections", "describe_error",
           "problems_of", "PlanError"]
