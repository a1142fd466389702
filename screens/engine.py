"""The engine seen from the UI: connections, detection, plans and runs, all blocking.

Every method here is called from a thread worker, never from the event loop. One
lock serialises host work: a preview, a detection and a run never share a
connection at the same time. No textual here; the heavy modules (paramiko, the
planner, lxml through the steps) are imported on first use.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

log = logging.getLogger("screens.engine")

# what a secret the trainee did not type is in training mode (never a real password)
TRAINING_SECRET = "training-only-secret"


class Engine:
    """Connections, facts and plans of one wizard session."""

    def __init__(self, *, training: bool = False, keyring_mode: str | None = None,
                 ask_secret: Callable[[str, str | None], str | None] | None = None) -> None:
        self.training = training
        self.keyring_mode = keyring_mode
        self.ask_secret = ask_secret            # (key or prompt, answers key path) -> secret
        self._stores = ThreadPoolExecutor(1, thread_name_prefix="keyring")
        self._pending: list[Future] = []
        self.lock = threading.RLock()
        self.transports: dict = {}
        self._connected_to: tuple = ()
        self.facts: dict | None = None
        self._secrets_ready = False

    # -- secrets ---------------------------------------------------------------------------
    def secrets_ready(self) -> None:
        """Choose the keyring backend once (training: an in-memory one)."""
        if self._secrets_ready:
            return
        from wizard import secrets
        from wizard.errors import SecretError
        if self.training:
            try:
                secrets.configure_backend("training")
            except SecretError:         # no training backend: kept in memory, made up when asked
                secrets.configure_backend("prompt", ask=lambda key, keypath: TRAINING_SECRET)
        else:
            secrets.configure_backend(self.keyring_mode, ask=self.ask_secret)
        self._secrets_ready = True

    def store_secret(self, key: str, value: str) -> str:
        """Store now (blocking; a keyring may ask for its master password)."""
        from .model import store_secret
        self.secrets_ready()
        return store_secret(key, value)

    def store_secret_later(self, key: str, value: str, on_error: Callable[[str], None]) -> str:
        """Mask the secret at once, store it on the keyring thread; returns its reference.
        Host work waits for pending stores first (`settle`)."""
        from wizard import masking
        masking.register(value)

        def store() -> None:
            try:
                self.store_secret(key, value)
            except Exception as e:      # told to the engineer; the answers keep the reference
                from .base import describe_error
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
    def connect(self, answers, ask: Callable | None) -> dict:
        """Transports to every inventory host, reusing the open ones while the inventory holds."""
        from wizard import session
        self.settle()
        with self.lock:
            key = tuple(answers.hosts)
            if key == self._connected_to and self.transports:
                return self.transports
            self.close()
            self.secrets_ready()
            if not self.training:
                from wizard import secrets
                if hasattr(secrets, "resolve_all"):
                    secrets.resolve_all(answers)
            self.transports = session.connect_all(list(answers.hosts), training=self.training, ask=ask)
            self._connected_to = key
            self.facts = None
            return self.transports

    def test_connection(self, spec, ask: Callable | None) -> str:
        """Connect to one host, read what it is, disconnect; returns a line for the engineer."""
        from wizard import session
        from wizard.facts import detect_os
        self.settle()
        self.secrets_ready()
        t = session.connect_one(spec, training=self.training, ask=ask)
        try:
            os_info = detect_os(t)
            who = t.run("id -un", timeout=30).stdout.strip()
            root = t.run("id -u", sudo=True, timeout=60).stdout.strip()
            how = "root" if root == "0" else f"NOT root with {spec.become} (id -u: {root or '?'})"
            return f"{spec.name}: connected as {who or '?'}, {how}; {os_info.name} {os_info.version}"
        finally:
            t.close()

    def close(self) -> None:
        """Close the connections (the app's end, another inventory, a reset)."""
        if self.transports:
            from wizard import session
            session.close_all(self.transports)
        self.transports, self._connected_to = {}, ()

    # -- detection and plans ---------------------------------------------------------------
    def detect(self, answers, ask: Callable | None):
        """(facts per host, portal version) read from the hosts."""
        from wizard import planner
        with self.lock:
            transports = self.connect(answers, ask)
            self.facts = planner.detect(answers, transports)
            return self.facts, planner.portal_version(answers, self.facts)

    def build(self, answers, ask: Callable | None, only: set[str] | None = None):
        """The plan (only some sections when `only` is given), after detection if needed."""
        from wizard import planner
        with self.lock:
            transports = self.connect(answers, ask)
            if self.facts is None:
                self.facts = planner.detect(answers, transports)
            facts = self.facts
            return planner.build(answers, transports, training=self.training, facts=facts,
                                 portal=planner.portal_version(answers, facts), only=only)

    # -- running ---------------------------------------------------------------------------
    def run(self, plan, answers, *, emit: Callable, cancelled: Callable[[], bool]):
        """Run exactly `plan`; finished steps are journalled so a retry resumes."""
        from wizard.journal import Journal
        from wizard.runner import Runner
        with self.lock:
            source = str(answers.source) + (".training" if self.training else "")
            journals = {h: Journal.open(source, h) for h in self.transports}
            runner = Runner(plan, self.transports, emit=emit, journals=journals, cancelled=cancelled,
                            http=self.http_client())
            return runner.run()

    def http_client(self) -> Callable:
        """How the runner sends HTTP requests (the TynTec webhook); training sends nothing."""
        if self.training:
            def simulated(req):
                log.info("TRAINING: %s %s not sent", req.method, req.url)
                return 204, ""
            return simulated
        from wizard.tyntec import make_http
        return make_http()
