"""wizard.answers.valid_cache: the schema's yes to an answers file is kept by content, so a
replay of the same file skips the JSON-schema check (issue 12); problems are never kept."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.answers import model, valid_cache
from wizard.errors import AnswersError

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "answers" / "centos7-https-whatsapp.yaml"


@pytest.fixture
def checks(monkeypatch, tmp_path):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path / "state"))
    calls = []
    real = model._schema_problems
    monkeypatch.setattr(model, "_schema_problems", lambda *a: calls.append(a[2]) or real(*a))
    return calls


def test_the_same_file_is_checked_by_the_schema_once(checks, tmp_path):
    site = tmp_path / "site.yaml"
    shutil.copy(SAMPLE, site)
    model.load(site)
    model.load(site)
    assert checks == [str(site)]
    kept = tmp_path / "state" / valid_cache.NAME
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and len(kept.read_text().split()) == 1
    site.write_text(site.read_text().replace("jtel-portal", "jtel-portal2"))   # another content
    model.load(site)
    assert checks == [str(site)] * 2


def test_problems_are_never_kept_and_edits_keep_nothing(checks, tmp_path):
    site = tmp_path / "bad.yaml"
    site.write_text(SAMPLE.read_text() + "\nbogus_section: 1\n")
    for _ in range(2):
        with pytest.raises(AnswersError, match="bogus_section"):
            model.load(site)
    assert len(checks) == 2 and not (tmp_path / "state" / valid_cache.NAME).exists()
    data = model.load(SAMPLE).data                    # kept: the sample's file
    n = len(checks)
    model.Answers.from_data(json.loads(json.dumps(data)), "<tui>")    # the TUI's edits: checked
    assert len(checks) == n + 1


def test_a_changed_schema_checks_again(checks, tmp_path, monkeypatch):
    model.load(SAMPLE)
    real = valid_cache.digest
    monkeypatch.setattr(valid_cache, "digest", lambda data: real({"schema": "v2", "data": data}))
    model.load(SAMPLE)
    assert len(checks) == 2


def test_at_most_keep_files(checks, tmp_path, monkeypatch):
    monkeypatch.setattr(valid_cache, "KEEP", 3)
    for i in range(5):
        valid_cache.remember(f"{i:064x}")
    assert valid_cache._known() == [f"{i:064x}" for i in (2, 3, 4)]


def test_a_replay_does_not_import_jsonschema(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), CHATWIZARD_STATE_DIR=str(tmp_path / "state"),
               HOME=str(tmp_path))
    code = ("import sys\nfrom wizard.answers import load\nload(%r)\n"
            "print('jsonschema' in sys.modules)") % str(SAMPLE)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                           timeout=60) for _ in range(2)]
    assert [(p.returncode, p.stdout.strip()) for p in runs] == [(0, "True"), (0, "False")], runs
