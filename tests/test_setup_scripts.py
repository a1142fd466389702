"""README's first two commands on a fresh Debian 12, root or not, with or without sudo
(issue 11 item 7): what scripts/training.sh and scripts/test.sh decide to do, run for real
as an unprivileged account (`nobody`, through runuser). apt-get, sudo and a python3 without
venv are stand-ins that record their calls: the tests must not install anything, and this
machine has python3-venv."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.needs_root         # runuser to an unprivileged account

RECORD = '#!/bin/sh\necho "$(basename "$0") $*" >> "{log}"\n'


@pytest.fixture
def box():
    """A checkout with the scripts, a PATH without sudo, a folder for stand-ins, a call log;
    every part readable by `nobody`."""
    root = Path(tempfile.mkdtemp(prefix="setup-scripts-"))
    try:
        repo, stubs, nosudo = root / "repo", root / "stubs", root / "bin"
        shutil.copytree(REPO / "scripts", repo / "scripts")
        shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
        stubs.mkdir()
        nosudo.mkdir()
        for d in ("/usr/bin", "/usr/sbin"):
            for name in os.listdir(d):
                if name != "sudo" and not (nosudo / name).exists():
                    (nosudo / name).symlink_to(Path(d) / name)
        log = root / "calls.log"
        log.touch()
        for p in (root, repo, repo / "scripts", stubs, nosudo):
            p.chmod(0o777 if p == repo else 0o755)
        log.chmod(0o666)
        yield {"root": root, "repo": repo, "stubs": stubs, "nosudo": nosudo, "log": log}
    finally:
        shutil.rmtree(root)


def stub(box, name: str, body: str = "exit 0\n") -> None:
    p = box["stubs"] / name
    p.write_text(RECORD.format(log=box["log"]) + body)
    p.chmod(0o755)


def python_without_venv(box) -> None:
    """python3 whose venv/ensurepip are missing (a fresh Debian 12 without python3-venv)."""
    stub(box, "python3", 'case "$*" in *ensurepip*|*"-m venv"*) exit 1;; esac\nexec /usr/bin/python3 "$@"\n')


def run(box, script: str, *args, user: str | None = "nobody", sudo: bool = False, env: dict | None = None):
    path = f"{box['stubs']}:{'/usr/bin:/usr/sbin' if sudo else box['nosudo']}"
    cmd = ["env", "-i", f"PATH={path}", "HOME=/nonexistent", *(f"{k}={v}" for k, v in (env or {}).items()),
           "bash", str(box["repo"] / "scripts" / script), *args]
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr, box["log"].read_text().splitlines()


def test_training_without_root_and_sudo_says_what_to_run_as_root(box):
    python_without_venv(box)
    stub(box, "apt-get")
    rc, out, err, calls = run(box, "training.sh")
    assert rc == 1
    assert "su -c 'apt-get install -y python3-venv'" in err and "nobody is not root and has no sudo" in err
    assert not any(c.startswith(("apt-get", "sudo")) for c in calls), calls
    assert not (box["repo"] / ".venv").exists()


def test_training_without_root_installs_venv_through_sudo(box):
    python_without_venv(box)
    stub(box, "sudo")
    rc, out, err, calls = run(box, "training.sh", sudo=True)
    assert "sudo apt-get install -y -qq python3-venv" in calls, calls
    assert "with sudo (it may ask for your password)" in err
    assert rc != 0                      # the stand-in installed nothing: venv still fails


def test_training_when_sudo_refuses_says_what_to_run_as_root(box):
    python_without_venv(box)
    stub(box, "sudo", "exit 1\n")
    rc, out, err, calls = run(box, "training.sh", sudo=True)
    assert rc == 1 and "As root, run:\n    apt-get install -y python3-venv" in err, err


def test_training_as_root_uses_apt_get_directly(box):
    python_without_venv(box)
    stub(box, "apt-get")
    stub(box, "sudo")
    rc, out, err, calls = run(box, "training.sh", user=None, sudo=True)
    assert "apt-get install -y -qq python3-venv" in calls and not any(c.startswith("sudo") for c in calls)


def test_training_in_a_checkout_it_cannot_write_says_so(box):
    box["repo"].chmod(0o755)            # root's checkout
    rc, out, err, calls = run(box, "training.sh")
    assert rc == 1 and "nobody cannot write" in err and "belongs to root" in err


def test_tests_without_root_and_sudo_on_a_fresh_machine_say_what_to_run(box):
    stub(box, "pytest")
    rc, out, err, calls = run(box, "test.sh")
    assert rc == 1, err
    assert f"su -c 'bash {box['repo']}/scripts/test.sh'" in err and "has no sudo" in err
    assert "lacks the project or its test extras" in err or "missing Debian packages" in err
    assert calls == []


def test_tests_without_root_go_through_sudo(box):
    stub(box, "sudo")
    rc, out, err, calls = run(box, "test.sh", "-x", "tests/test_i18n.py", sudo=True)
    assert rc == 0, err
    assert calls == ["sudo -v", f"sudo -E bash {box['repo']}/scripts/test.sh -x tests/test_i18n.py"]


def test_tests_when_sudo_refuses_say_what_to_run_as_root(box):
    stub(box, "sudo", "exit 1\n")
    rc, out, err, calls = run(box, "test.sh", sudo=True)
    assert rc == 1 and calls == ["sudo -v"]
    assert "sudo did not let nobody become root" in err
    assert f"su -c 'bash {box['repo']}/scripts/test.sh'" in err
