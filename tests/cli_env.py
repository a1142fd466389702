"""A private engineer's environment for driving `chatwizard` as a subprocess in tests:
HOME with ~/.ssh/config, an encrypted file keyring, state and log folders."""
import os
import re
import subprocess
import sys
from pathlib import Path

from secretscan import KEYRING_PASSWORD

REPO = Path(__file__).resolve().parent.parent


class Env:
    """A private HOME (ssh config, keyring file), state and log folders for one CLI user."""

    def __init__(self, tmp: Path):
        self.home = tmp / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.state, self.logs = tmp / "state", tmp / "logs"
        self.answers = tmp / "site.yaml"
        self.vars = dict(os.environ, HOME=str(self.home), CHATWIZARD_STATE_DIR=str(self.state),
                         CHATWIZARD_LOG_DIR=str(self.logs), CHATWIZARD_KEYRING="file",
                         CHATWIZARD_KEYRING_FILE=str(tmp / "keyring.json"),
                         CHATWIZARD_KEYRING_PASSWORD=KEYRING_PASSWORD, XDG_DATA_HOME=str(tmp / "data"),
                         PYTHONPATH=str(REPO))
        self.vars.pop("SSH_AUTH_SOCK", None)

    def run(self, *args, stdin=""):
        p = subprocess.run([sys.executable, "-m", "wizard.cli", *args], input=stdin, text=True,
                           capture_output=True, env=self.vars, cwd=self.home, timeout=300)
        return p.returncode, p.stdout, p.stderr

    def secret(self, key, value):
        rc, out, err = self.run("secret", "set", key, stdin=value + "\n")
        assert rc == 0, err

    def ssh_config(self, th, user="root", known_hosts=True):
        block = th.ssh_config_block("chat1", user=user)
        if not known_hosts:
            block = re.sub(r"\s+UserKnownHostsFile .*", f"\n    UserKnownHostsFile {self.home}/.ssh/known_hosts", block)
        (self.home / ".ssh" / "config").write_text(block)
