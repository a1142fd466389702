"""Nothing heavy before the first packet (issue 12): importing the CLI and connecting do not
import textual, jinja2, lxml, nor jsonschema or cryptography where they are not needed
(jsonschema validates an answers file; paramiko needs cryptography for a real SSH link)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "jinja2", "jsonschema", "cryptography", "lxml", "paramiko")


def loaded_after(code: str, tmp_path) -> set[str]:
    script = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    env = dict(os.environ, PYTHONPATH=str(REPO), CHATWIZARD_STATE_DIR=str(tmp_path / "state"),
               CHATWIZARD_LOG_DIR=str(tmp_path / "log"), HOME=str(tmp_path))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    return set(json.loads(p.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_nothing_heavy(tmp_path):
    mods = loaded_after("import wizard.cli", tmp_path)
    assert not mods & set(HEAVY), mods & set(HEAVY)


def test_training_connect_needs_no_ssh_crypto_templates_or_tui(tmp_path):
    mods = loaded_after(
        "import wizard.cli\nfrom wizard.session import Session\n"
        f"s = Session(training=True)\ns.load({str(REPO / 'answers' / 'training.yaml')!r})\n"
        "s.connect()", tmp_path)
    assert "jsonschema" in mods                         # the answers file was validated
    assert not mods & {"textual", "jinja2", "lxml", "cryptography", "paramiko"}, mods


def test_ssh_connect_imports_only_what_ssh_needs(centos7, tmp_path):
    code = (
        "import wizard.cli\nfrom wizard import connect\nfrom wizard.inventory import HostSpec\n"
        f"spec = HostSpec('h', {centos7.host!r}, port={centos7.port}, user='root', "
        f"key_file={str(centos7.key_path)!r})\n"
        f"t = connect.connect_one(spec, ssh_config_path={str(tmp_path / 'none')!r}, "
        f"known_hosts_paths=[{str(centos7.known_hosts_path)!r}], "
        f"tool_known_hosts={str(tmp_path / 'kh')!r}, allow_agent=False)\n"
        "assert t.run('true').exit_code == 0\nt.close()")
    mods = loaded_after(code, tmp_path)
    assert {"paramiko", "cryptography"} <= mods          # a real SSH link needs them
    assert not mods & {"textual", "jinja2", "jsonschema", "lxml"}, mods
