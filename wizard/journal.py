"""What an apply has done, so a later apply can resume after an interruption.

One JSON-lines file per answers file and host under the tool's state folder. Each
line records a finished action (its id, masked description, and the checksums of
the files it wrote). Secrets never enter it: descriptions are masked and files
are recorded by checksum only. A finished run marks the journal complete, and
the next apply starts from a fresh plan.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import masking
from .plan import sha256
from .transport.base import Transport


def state_dir() -> Path:
    """The tool's state folder (journals, known_hosts); CHATWIZARD_STATE_DIR overrides."""
    env = os.environ.get("CHATWIZARD_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_state_dir
    return Path(user_state_dir("chatwizard"))


@dataclass
class Journal:
    """The record of one host's run for one answers file."""

    path: Path
    entries: list[dict] = field(default_factory=list)
    complete: bool = False

    @classmethod
    def open(cls, answers_source: str, host: str) -> "Journal":
        stem = Path(answers_source).resolve().as_posix().strip("/").replace("/", "_")
        path = state_dir() / "journal" / f"{stem}--{host}.jsonl"
        j = cls(path)
        if path.exists():
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                rec = json.loads(line)
                if rec.get("event") == "complete":
                    j.entries, j.complete = [], True
                elif rec.get("event") == "start":
                    j.complete = False
                else:
                    j.entries.append(rec)
        return j

    def done_ids(self) -> set[str]:
        return set() if self.complete else {e["id"] for e in self.entries}

    def still_valid(self, t: Transport) -> tuple[bool, str]:
        """Whether the files recorded as written still hold what we wrote."""
        for e in self.entries:
            for path, digest in e.get("files", {}).items():
                if sha256(t.read_file(path, sudo=True)) != digest:
                    return False, f"{path} changed since the interrupted run"
        return True, ""

    def _append(self, rec: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def start(self) -> None:
        if self.complete or not self.entries:
            self.entries, self.complete = [], False
            if self.path.exists():
                self.path.unlink()
        self._append({"event": "start", "t": time.time()})

    def record(self, action_id: str, section: str, description: str, files: dict[str, str]) -> None:
        rec = {"event": "done", "id": action_id, "section": section,
               "description": masking.mask(description), "files": files, "t": time.time()}
        self.entries.append(rec)
        self._append(rec)

    def finish(self) -> None:
        self._append({"event": "complete", "t": time.time()})
        self.entries, self.complete = [], True
