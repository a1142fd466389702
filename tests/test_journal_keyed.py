"""The journal (issue 9, finding 7): 0600 files in a 0700 folder, and no plain hash of a
secret-bearing file — a keyed checksum under this machine's key (wizard.statekey); a
journal written by an older version (plain sha256) still reads."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from wizard import statekey
from wizard.journal import Journal
from wizard.plan import FileChange, sha256
from wizard.transport.base import HostSpec
from wizard.transport.fake import FakeTransport

INIT = "/etc/init.d/jtel-clientmessenger"
SCRIPT = b"java -Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://db/x?user=root\\&password=guessme\n"


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_journal_is_private_and_keeps_no_plain_hash(state, tmp_path):
    fc = FileChange("install", INIT, SCRIPT, None, mode=0o700, owner="root", group="root")
    j = Journal.open(str(tmp_path / "site.yaml"), "chat1")
    j.start(["daemon"])
    j.begin(fc.id, "daemon", INIT)
    j.record(fc.id, "daemon", fc.description, {INIT: sha256(SCRIPT)})
    assert stat.S_IMODE(j.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(j.path.parent.stat().st_mode) == 0o700
    key = state / statekey.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    text = j.path.read_text()
    # a guess can no longer be checked against what the journal keeps: neither the file's
    # sha256 nor an action id computed the old (unkeyed) way appear
    plain = hashlib.sha256(SCRIPT).hexdigest()
    assert plain not in text
    old_id = hashlib.sha256(b"".join(json.dumps(p, sort_keys=True, default=str).encode() + b"\0" for p in
                                     ("file", INIT, plain, 0o700, "root", "root"))).hexdigest()[:16]
    assert old_id not in text and fc.id in text
    rec = [json.loads(line) for line in text.splitlines()][-1]
    assert rec["files"][INIT].startswith("hmac-sha256:")
    # the host still holds what was written: resumable; changed: set aside
    t = FakeTransport(HostSpec("chat1", "10.0.0.5"), files={INIT: SCRIPT})
    again = Journal.open(str(tmp_path / "site.yaml"), "chat1")
    assert again.still_valid(t) == (True, "")
    t.files[INIT] = SCRIPT + b"# edited\n"
    assert again.still_valid(t)[0] is False


def test_a_journal_written_by_an_older_version_still_reads(state, tmp_path):
    j = Journal.open(str(tmp_path / "site.yaml"), "chat1")
    j.path.parent.mkdir(parents=True)
    j.path.write_text(json.dumps({"event": "start", "sections": ["daemon"], "t": 1.0}) + "\n" +
                      json.dumps({"event": "done", "id": "abc", "section": "daemon", "description": "x",
                                  "files": {INIT: hashlib.sha256(SCRIPT).hexdigest()}, "t": 2.0}) + "\n")
    os.chmod(j.path, 0o644)
    old = Journal.open(str(tmp_path / "site.yaml"), "chat1")
    t = FakeTransport(HostSpec("chat1", "10.0.0.5"), files={INIT: SCRIPT})
    assert old.interrupted and old.still_valid(t) == (True, "") and old.done_ids() == {"abc"}
    old.section_done("daemon")                 # appending tightens the old file's mode
    assert stat.S_IMODE(old.path.stat().st_mode) == 0o600


def test_keys_differ_per_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "a"))
    a = statekey.keyed("x")
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "b"))
    assert statekey.keyed("x") != a
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "a"))
    assert statekey.keyed("x") == a
