"""The fingerprint of the first install (wizard.fingerprint) as the session keeps it: the
sidecar beside the answers file, how a replay's servers differ from it, recording it after
the first successful install. A mixin of Session."""
from __future__ import annotations

from pathlib import Path


class FingerprintMixin:
    def fingerprint_path(self) -> Path | None:
        """The sidecar beside a real answers file (`<stem>.fingerprint.yaml`), else None."""
        src = self.source
        if self.answers is None or src.startswith("<") or self._builtin(src) or not Path(src).exists():
            return None
        from . import fingerprint
        return fingerprint.sidecar_path(src)

    def fingerprint_differences(self) -> list:
        """How these hosts differ from what the first install recorded (a replay on another
        server), before anything runs; [] without a record."""
        from . import fingerprint
        path = self.fingerprint_path()
        recorded = fingerprint.load(path) if path is not None else None
        if not recorded:
            return []
        with self.lock:
            facts = self.ensure_facts()      # read through detection's batches (the plan's too)
            readers = {n: getattr(f, "reader", None) or self.transports[n] for n, f in facts.items()}
            return fingerprint.compare(recorded, fingerprint.record(self.answers, facts, readers))

    def record_fingerprint(self) -> Path | None:
        """After the first successful install: what it found, for the replays (kept once)."""
        from . import fingerprint
        path = self.fingerprint_path()
        if path is None or path.exists():
            return None
        with self.lock:                  # the chat servers only, one round trip each
            return fingerprint.save(path, fingerprint.read(self.answers, self.connect()))
