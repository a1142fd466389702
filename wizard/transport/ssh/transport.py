"""SSHTransport: one persistent SSH connection to one inventory host (base.Transport),
assembled from the mixins of this package: connect.py, auth.py, lost.py, exec.py, files.py."""
from __future__ import annotations

import logging
import os
import threading
from typing import Callable, Collection

import paramiko

from wizard.errors import HostKeyError
from wizard.transport import hostkeys
from wizard.transport.base import HostSpec
from wizard.transport.ssh.auth import _Authenticating
from wizard.transport.ssh.connect import _Connecting
from wizard.transport.ssh.exec import _Commands
from wizard.transport.ssh.files import _Files
from wizard.transport.ssh.liveness import _Transport, dead_peer_seconds
from wizard.transport.ssh.lost import _Operations

log = logging.getLogger("wizard.transport")

PasswordProvider = Callable[[str], "str | None"]


class SSHTransport(_Connecting, _Authenticating, _Operations, _Commands, _Files):
    """A persistent SSH connection to one inventory host (implements base.Transport).

    password_provider(ref) returns the login/sudo password for spec.password_ref; the caller
    hands it in (the transport never reads the keyring itself). It is asked only when needed: password login after every key
    failed, or a sudo prompt. The value is registered with wizard.masking.

    accept_fingerprint: SHA256 fingerprint(s) of unknown host keys to trust (and save);
    trust_host_key(HostKeyError) is asked for any other unknown key, hop by hop during
    connect() (a jump host's and its target's in one run); True trusts and saves it. A
    changed key is refused either way.

    dead_peer_after: seconds of silence after which the connection counts as lost (see
    "Dead-peer check" above); None: CHATWIZARD_DEAD_PEER_SECONDS, else 30; 0: off.
    """

    training = False

    def __init__(self, spec: HostSpec, *, password_provider: PasswordProvider | None = None,
                 ssh_config_path: str | None = None, known_hosts_paths: list[str] | None = None,
                 tool_known_hosts: str | None = None,
                 accept_fingerprint: str | Collection[str] | None = None,
                 trust_host_key: Callable[[HostKeyError], bool] | None = None,
                 connect_timeout: float = 10, allow_agent: bool = True, connect: bool = True,
                 dead_peer_after: float | None = None):
        self.spec = spec
        self._password_provider = password_provider
        self._password_cache: str | None = None
        self._password_fetched = False
        self.ssh_config_path = os.path.expanduser(ssh_config_path or "~/.ssh/config")
        self.known_hosts_paths = known_hosts_paths
        self.tool_known_hosts = tool_known_hosts or hostkeys.default_tool_known_hosts()
        self.accept_fingerprint = accept_fingerprint
        self.trust_host_key = trust_host_key
        self.connect_timeout = connect_timeout
        self.allow_agent = allow_agent
        self.dead_peer_after = dead_peer_seconds() if dead_peer_after is None else max(0.0, dead_peer_after)
        self._tls = threading.local()        # the operation under way in this thread
        self._interrupt = threading.Event()  # interrupt(): stop the running command
        self._t: _Transport | None = None
        self._jumps: list[_Transport] = []
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()
        self._negotiated: dict = {}
        self.user: str | None = None
        self.round_trips = 0                 # commands and file reads sent (bench, tests)
        self.label = f"{spec.name} ({spec.address}:{spec.port or 22})"
        if connect:
            self.connect()

    # ---- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> "SSHTransport":
        if self._t is None:
            self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for thing in [self._sftp, self._t, *reversed(self._jumps)]:
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:
                        pass
            self._sftp, self._t, self._jumps = None, None, []

    @property
    def negotiated(self) -> dict:
        """What the connection negotiated: kex, host_key_type, cipher, mac, compression,
        pubkey_algorithm (user key signature, or None), auth ("publickey"/"password"/
        "keyboard-interactive"), server_version, host_key_fingerprint, via (jump hosts),
        sha1 (list of SHA-1 algorithms used)."""
        return dict(self._negotiated)

    @property
    def paramiko_transport(self) -> paramiko.Transport | None:
        """The underlying paramiko Transport (diagnostics and tests); after a lost
        connection, the dead one (is_active() False) until the next operation reconnects."""
        return self._t

    def set_dead_peer_after(self, seconds: float) -> None:
        """Change the dead-peer check's time (0: off), on the live connection too."""
        with self._lock:
            self.dead_peer_after = max(0.0, float(seconds))
            for t in [self._t, *self._jumps]:
                if t is not None and t.is_active():
                    t.arm(self.dead_peer_after)

