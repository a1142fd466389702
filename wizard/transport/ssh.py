"""The real host connection: paramiko over SSH, one persistent connection per host.

    with SSHTransport(spec, password_provider=secrets.get) as t:
        r = t.run("rpm -q haproxy", on_output=print_line)
        t.write_file("/etc/haproxy/haproxy.cfg", data, mode=0o644, owner="root")

What it does beyond plain paramiko, and why (see docs/procedure.md, "What the page
does not say"):

* **Latency.** TCP_NODELAY is set on the socket; without it every command on the
  persistent connection costs ~45 ms more (Nagle meeting delayed ACKs).
* **~/.ssh/config** is honoured (Host aliases, HostName, Port, User, IdentityFile,
  IdentitiesOnly, ProxyJump, UserKnownHostsFile, HostKeyAlias), and so is the ssh agent.
* **Host keys** are checked before any credential is sent: ~/.ssh/known_hosts (or the
  config's UserKnownHostsFile) plus the tool's own known_hosts file. An unknown key
  raises HostKeyError(changed=False) with its SHA256 fingerprint; the caller accepts it
  by connecting again with ``accept_fingerprint=`` that exact fingerprint (the key is then
  saved to the tool's file). A changed key raises HostKeyError(changed=True) and is
  never accepted that way.
* **CentOS 6** (OpenSSH 5.3: ssh-rsa host keys, SHA-1 kex and MACs): paramiko 4.0 still
  speaks it and prefers SHA-2 whenever offered. An RSA user key is signed with ssh-rsa
  (SHA-1) when the server does not accept rsa-sha2 signatures (detected: no
  server-sig-algs and a legacy host key, or a refused rsa-sha2 signature from a legacy
  server). Every SHA-1 algorithm used is logged as a WARNING on logger "wizard.transport".
* **sudo** (HostSpec.become == "sudo", run(..., sudo=True)): CentOS sudoers have
  ``Defaults requiretty``, so sudo runs on a pty, as
  ``sudo -S -p '<marker>' -- sh -c '<command>'``; the password (from
  ``password_provider(spec.password_ref)``) is sent over the channel when the marker
  shows, never on a command line. **With a pty, stdout and stderr arrive merged**: all of
  a sudo command's output is reported as stream "out" and CommandResult.stderr is "".
  sudo's own chatter (lecture, prompt) is dropped. A refused password raises
  SudoPasswordError at once (no retry loop).
* **Timeouts** kill the command (its process group, for non-sudo commands; sudo commands
  get SIGHUP when their pty closes) and raise CommandTimeout (a TransportError) whose
  ``.result`` holds the output so far.
* **Files**: read via SFTP (fallback for root-only files: ``sudo base64``); written
  atomically (temp file in the same folder, owner/mode set, backup to
  BACKUP_ROOT/<UTC timestamp>/<path>, rename); data travels only over SFTP.
* **Dead-peer check** (set by connect() on the connection and on every jump host's): a
  pulled cable or a host that froze fails the current step within ``dead_peer_after``
  seconds instead of hanging until a long command timeout (or for ever, on an SFTP
  transfer). Default 30 s; the environment variable ``CHATWIZARD_DEAD_PEER_SECONDS``
  overrides it, so does the ``dead_peer_after=`` argument or set_dead_peer_after();
  0 turns the check off. How: a keepalive that asks for an answer
  (``keepalive@openssh.com``, as ``ssh -o ServerAliveInterval`` sends; every SSH server
  answers it, also OpenSSH 5.3) goes out after dead_peer_after/3 s without traffic, and
  a read deadline closes the connection when nothing at all came from the host for
  dead_peer_after s (it also covers a connection through a jump host, whose own TCP
  connection stays up). On a direct TCP connection, TCP_USER_TIMEOUT
  (unacknowledged data for dead_peer_after s aborts the socket) backs this up in the
  kernel, for a send that is stuck.
* **Lost connections.** Every public method raises TransportError for what goes wrong
  with the connection: ConnectionLost (a TransportError) names the host, what was being
  done and the cause ("no answer from the host for 30 s (dead-peer check)", "the host
  closed the connection", ...), never paramiko's or the socket's own exceptions. File
  errors keep their own messages (TransportError: permission denied, folder does not
  exist; read_file returns None for a missing file). A method that finds the connection
  already lost reconnects once, before it does anything (connect() errors: ConnectError /
  HostKeyError); once it has begun, it never reconnects: after a connection-level
  failure nothing more is tried on the host, not even the removal of a temp or upload
  file (the next apply's resume removes those, wizard.journal), so the failure is
  reported at once. What failed for another reason (a refused chown, a missing folder)
  is cleaned up over the live connection.

Everything shown to a person (on_output lines, CommandResult fields, log lines, error
messages) passes through wizard.masking.mask().
"""
from __future__ import annotations

import codecs
import errno
import getpass
import logging
import os
import posixpath
import re
import secrets as _random
import select
import shlex
import socket
import struct
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import paramiko
from paramiko.common import cMSG_GLOBAL_REQUEST
from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

from wizard.errors import ConnectError, HostKeyError
from wizard.masking import mask, register
from wizard.transport import hostkeys
from wizard.transport.base import (BACKUP_ROOT, CommandResult, FileStat, HostSpec, OutputCallback,
                                   TransportError, WriteResult)

log = logging.getLogger("wizard.transport")

PasswordProvider = Callable[[str], "str | None"]

_LEGACY_HOSTKEY_ALGOS = ("ssh-rsa", "ssh-dss")
_RSA_SHA2 = ["rsa-sha2-512", "rsa-sha2-256"]
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")

DEAD_PEER_SECONDS = 30.0                      # CHATWIZARD_DEAD_PEER_SECONDS overrides
DEAD_PEER_ENV = "CHATWIZARD_DEAD_PEER_SECONDS"
_KEEPALIVE_REQUEST = "keepalive@openssh.com"
# what paramiko and the socket raise when a transfer or a command meets trouble
_IO_ERRORS = (OSError, EOFError, paramiko.SSHException, paramiko.SFTPError)


def dead_peer_seconds() -> float:
    """The dead-peer check's default: CHATWIZARD_DEAD_PEER_SECONDS, else 30 (0: off)."""
    text = os.environ.get(DEAD_PEER_ENV, "").strip()
    if not text:
        return DEAD_PEER_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        log.warning("%s=%r is not a number of seconds; using %g", DEAD_PEER_ENV, text,
                    DEAD_PEER_SECONDS)
        return DEAD_PEER_SECONDS
    return value


class SudoPasswordError(ConnectError, TransportError):
    """sudo refused the password, or needs one and none is configured.
    Both a ConnectError (exit code 4: a credential problem) and a TransportError."""


class ConnectionLost(TransportError):
    """The connection to the host broke during an operation (closed by the host, or no
    answer within the dead-peer check's time). Nothing more was tried on the host; the next
    operation connects again."""


class CommandTimeout(TransportError):
    """A command ran longer than its timeout; it was killed. `.result` has the output so far
    (exit_code -1)."""

    def __init__(self, message: str, result: CommandResult):
        super().__init__(message)
        self.result = result


# --------------------------------------------------------------------------- helpers

class _Transport(paramiko.Transport):
    """paramiko.Transport that remembers what the server offered in its KEXINIT and
    carries the dead-peer check (arm())."""

    server_offer: dict[str, list[str]] | None = None
    label = ""                         # the hop's label, for log lines
    dead_after = 0.0                   # the dead-peer check's seconds (0: off)
    dead_reason: str | None = None     # set when the check closed the connection
    ended_at: float | None = None      # when paramiko's transport thread ended

    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        # when the last packet came from the peer (the read deadline's clock); a list, so
        # the wrapper below holds no reference to the transport
        heard = self._heard = [time.monotonic()]
        read = self.packetizer.read_message

        def read_message():
            message = read()
            heard[0] = time.monotonic()
            return message
        self.packetizer.read_message = read_message
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def arm(self, seconds: float) -> None:
        """Turn the dead-peer check on (seconds > 0) or off (0) on this live connection."""
        self.dead_after = seconds
        self._heard[0] = time.monotonic()       # the deadline runs from now
        sock = self.sock
        if isinstance(sock, socket.socket) and hasattr(socket, "TCP_USER_TIMEOUT"):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                                int(seconds * 1000) if seconds > 0 else 0)
            except OSError as e:                # best effort: the read deadline still applies
                log.debug("%s: TCP_USER_TIMEOUT not set: %s", self.label, e)
        if seconds <= 0:
            self.packetizer.set_keepalive(0, None)
            return
        ref = weakref.ref(self)
        self.packetizer.set_keepalive(seconds / 3, lambda: _send_keepalive(ref))
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(target=_watch_peer, args=(ref, self._watch_stop, self._heard),
                                             name=f"dead-peer check {self.label}", daemon=True)
            self._watcher.start()

    def close(self) -> None:
        self._watch_stop.set()
        super().close()

    def abort(self) -> None:
        """Close a connection we gave up on with a reset: the kernel drops what is still
        queued instead of retransmitting it once the link is back, so a request reported
        as failed (say, the rename that puts a file in place) cannot happen later."""
        sock = self.sock
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.close()

    def run(self) -> None:                      # paramiko's transport thread
        try:
            super().run()
        finally:
            self.ended_at = time.monotonic()

    def peer_silent(self) -> bool:
        """Whether the connection ended (or is ending) because the host stopped answering:
        the read deadline fired, or the kernel gave up on unacknowledged data
        (TCP_USER_TIMEOUT; paramiko reports that as a plain EOF) after as long a silence."""
        if self.dead_reason:
            return True
        if self.dead_after <= 0:
            return False
        end = self.ended_at if self.ended_at is not None else time.monotonic()
        if end - self._heard[0] >= 0.9 * self.dead_after:
            self.dead_reason = f"no answer from the host for {self.dead_after:g} s (dead-peer check)"
            return True
        return False

    def _really_parse_kex_init(self, m):  # noqa: D401 - paramiko hook
        parsed = super()._really_parse_kex_init(m)
        if not self.server_mode:
            self.server_offer = {
                "kex": list(parsed["kex_algo_list"]),
                "host_key": list(parsed["server_key_algo_list"]),
                "cipher": list(parsed["client_encrypt_algo_list"]),
                "mac": list(parsed["client_mac_algo_list"]),
            }
        return parsed


def _send_keepalive(ref: "weakref.ref[_Transport]") -> None:
    """Ask the peer for an answer (called by paramiko's transport thread after dead_after/3 s
    without sending); the answer keeps the read deadline from firing while the host is
    merely quiet (a long command without output)."""
    t = ref()
    # during a key exchange (which only the transport thread itself starts or answers) its
    # own packets do the job; sending now would wait for the exchange this thread runs
    if t is None or not t.active or not t.clear_to_send.is_set():
        return
    m = paramiko.Message()
    m.add_byte(cMSG_GLOBAL_REQUEST)
    m.add_string(_KEEPALIVE_REQUEST)
    m.add_boolean(True)                 # want_reply: the server answers (REQUEST_FAILURE)
    t._send_user_message(m)


def _watch_peer(ref: "weakref.ref[_Transport]", stop: threading.Event, heard: list[float]) -> None:
    """The read deadline: close the connection once nothing came from the peer for
    dead_after seconds. Its own thread, so that it works while paramiko's thread or the
    caller's is stuck in a send that cannot complete."""
    while True:
        t = ref()
        if t is None or not t.active:
            return
        step = min(max(t.dead_after / 10, 0.05), 2.0) if t.dead_after > 0 else 2.0
        del t
        if stop.wait(step):
            return
        t = ref()
        if t is None or not t.active:
            return
        quiet = time.monotonic() - heard[0]
        if t.dead_after > 0 and quiet > t.dead_after:
            t.dead_reason = f"no answer from the host for {t.dead_after:g} s (dead-peer check)"
            log.warning("%s: nothing heard for %.1f s: connection closed (dead-peer check)",
                        t.label, quiet)
            t.abort()
            return
        del t


def _is_sha1(kind: str, algo: str | None) -> bool:
    if not algo:
        return False
    if kind == "kex":
        return algo.endswith("-sha1")
    if kind in ("host_key", "pubkey"):
        return algo in _LEGACY_HOSTKEY_ALGOS
    if kind == "mac":
        return algo.startswith("hmac-sha1")
    return False


@dataclass
class _Hop:
    """One SSH endpoint after ~/.ssh/config resolution."""

    alias: str
    hostname: str
    port: int
    user: str
    key_files: list[str]
    identities_only: bool
    known_hosts: list[str] | None        # None: the default files
    host_key_alias: str | None
    proxy_jump: str | None
    label: str = ""

    @property
    def addr(self) -> str:
        return f"{self.hostname}:{self.port}"


@dataclass
class _Raw:
    """A command's unmasked outcome (internal; run() masks it)."""

    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    chatter: str = ""                    # sudo's own output before the command started


class _LineSink:
    """Incremental decoding and line splitting of one stream; calls on_output per line."""

    def __init__(self, stream: str, on_output: OutputCallback | None, pty: bool,
                 drop: Callable[[str], bool] | None = None):
        self.stream, self.on_output, self.pty, self.drop = stream, on_output, pty, drop
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.buf = ""
        self.parts: list[str] = []

    def feed(self, data: bytes, final: bool = False) -> None:
        self.buf += self.dec.decode(data, final)
        while True:
            i = self.buf.find("\n")
            if i < 0:
                break
            line, self.buf = self.buf[:i], self.buf[i + 1:]
            self._emit(line, True)
        if final and self.buf:
            line, self.buf = self.buf, ""
            self._emit(line, False)

    def _emit(self, line: str, newline: bool) -> None:
        if self.pty and line.endswith("\r"):
            line = line[:-1]
        if self.drop is not None and self.drop(line):
            return
        self.parts.append(line + ("\n" if newline else ""))
        if self.on_output is not None:
            try:
                self.on_output(self.stream, mask(line))
            except Exception:  # a broken display must not break the install
                log.exception("on_output callback failed")

    @property
    def text(self) -> str:
        return "".join(self.parts)


class _SudoGate:
    """Watches a sudo pty's output until the command starts: answers the password prompt
    once, refuses a second prompt, drops sudo's own chatter."""

    def __init__(self, marker: str, begin: str, send_password: Callable[[], None]):
        self.marker, self.begin = marker.encode(), begin.encode()
        self.send_password = send_password
        self.pre = b""
        self.begun = False
        self.prompts = 0

    def feed(self, data: bytes) -> bytes:
        """Bytes that belong to the command (empty while sudo is still talking)."""
        if self.begun:
            return data
        self.pre += data
        while True:
            i = self.pre.find(self.marker)
            if i < 0:
                break
            self.pre = self.pre[:i] + self.pre[i + len(self.marker):]
            self.prompts += 1
            if self.prompts > 1:
                raise _Refused()
            self.send_password()
        i = self.pre.find(self.begin)
        if i >= 0:
            nl = self.pre.find(b"\n", i)
            if nl >= 0:
                rest = self.pre[nl + 1:]
                self.pre = self.pre[:i]
                self.begun = True
                return rest
        return b""

    @property
    def chatter(self) -> str:
        return self.pre.decode("utf-8", "replace").replace("\r\n", "\n").strip("\r\n")


class _Refused(Exception):
    pass


# --------------------------------------------------------------------------- transport

class SSHTransport:
    """A persistent SSH connection to one inventory host (implements base.Transport).

    password_provider(ref) returns the login/sudo password for spec.password_ref (default:
    wizard.secrets.get). It is asked only when needed: password login after every key
    failed, or a sudo prompt. The value is registered with wizard.masking.

    dead_peer_after: seconds of silence after which the connection counts as lost (see
    "Dead-peer check" above); None: CHATWIZARD_DEAD_PEER_SECONDS, else 30; 0: off.
    """

    training = False

    def __init__(self, spec: HostSpec, *, password_provider: PasswordProvider | None = None,
                 ssh_config_path: str | None = None, known_hosts_paths: list[str] | None = None,
                 tool_known_hosts: str | None = None, accept_fingerprint: str | None = None,
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
        self.connect_timeout = connect_timeout
        self.allow_agent = allow_agent
        self.dead_peer_after = dead_peer_seconds() if dead_peer_after is None else max(0.0, dead_peer_after)
        self._tls = threading.local()        # the operation under way in this thread
        self._t: _Transport | None = None
        self._jumps: list[_Transport] = []
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()
        self._negotiated: dict = {}
        self.user: str | None = None
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

    def connect(self) -> None:
        """Open the connection (again). Raises ConnectError / HostKeyError."""
        with self._lock:
            self.close()
            config = self._load_config()
            target = self._resolve(self.spec.address, config, port=self.spec.port,
                                   user=self.spec.user, key_file=self.spec.key_file)
            target.label = f"{self.spec.name} ({target.addr})"
            self.label, self.user = target.label, target.user
            try:
                prev: _Transport | None = None
                via = []
                if target.proxy_jump and target.proxy_jump.lower() != "none":
                    for hop_text in target.proxy_jump.split(","):
                        hop = self._parse_jump(hop_text.strip(), config)
                        hop.label = f"{self.spec.name}: jump host {hop.alias} ({hop.addr})"
                        sock = self._open_sock(hop, prev)
                        t = self._handshake(sock, hop)
                        self._jumps.append(t)
                        self._authenticate(t, hop, password_ok=False)
                        t.arm(self.dead_peer_after)
                        via.append(hop.alias)
                        prev = t
                sock = self._open_sock(target, prev)
                self._t = self._handshake(sock, target)
                t = self._t
                self._authenticate(t, target, password_ok=True)
                t.arm(self.dead_peer_after)
                self._negotiated["via"] = via
                self._log_negotiated(target)
            except BaseException:
                self.close()
                raise

    # ---- resolution -------------------------------------------------------------------
    def _load_config(self) -> paramiko.SSHConfig:
        try:
            return paramiko.SSHConfig.from_path(self.ssh_config_path)
        except FileNotFoundError:
            return paramiko.SSHConfig()
        except Exception as e:  # a broken config is worth saying, not a traceback
            raise ConnectError(f"cannot read the ssh config {self.ssh_config_path}: {e}") from e

    def _resolve(self, alias: str, config: paramiko.SSHConfig, *, port=None, user=None,
                 key_file=None) -> _Hop:
        c = config.lookup(alias)
        keys = [os.path.expanduser(key_file)] if key_file else []
        keys += [os.path.expanduser(k) for k in c.get("identityfile", []) if os.path.expanduser(k) not in keys]
        kh = c.get("userknownhostsfile")
        return _Hop(
            alias=alias,
            hostname=c.get("hostname", alias),
            port=int(port or c.get("port") or 22),
            user=user or c.get("user") or getpass.getuser(),
            key_files=keys,
            identities_only=c.get("identitiesonly", "no").lower() == "yes",
            known_hosts=[os.path.expanduser(p) for p in shlex.split(kh)] if kh else None,
            host_key_alias=c.get("hostkeyalias"),
            proxy_jump=c.get("proxyjump"),
        )

    def _parse_jump(self, text: str, config: paramiko.SSHConfig) -> _Hop:
        if text.startswith("ssh://"):
            text = text[len("ssh://"):]
        user = None
        if "@" in text:
            user, text = text.rsplit("@", 1)
        port = None
        m = re.fullmatch(r"\[(.+)\]:(\d+)|([^:]+):(\d+)", text)
        if m:
            text, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return self._resolve(text, config, port=int(port) if port else None, user=user)

    # ---- connection -------------------------------------------------------------------
    def _open_sock(self, hop: _Hop, via: _Transport | None):
        if via is not None:
            try:
                return via.open_channel("direct-tcpip", (hop.hostname, hop.port), ("127.0.0.1", 0),
                                        timeout=self.connect_timeout)
            except (paramiko.SSHException, OSError) as e:
                raise ConnectError(f"{hop.label}: the jump host cannot open a connection to "
                                   f"{hop.addr}: {e}") from e
        try:
            sock = socket.create_connection((hop.hostname, hop.port), timeout=self.connect_timeout)
        except socket.gaierror as e:
            raise ConnectError(f"{hop.label}: cannot resolve host name {hop.hostname!r} "
                               f"({e.strerror})") from e
        except ConnectionRefusedError as e:
            raise ConnectError(f"{hop.label}: connection refused (is sshd running on port "
                               f"{hop.port}?)") from e
        except (socket.timeout, TimeoutError) as e:
            raise ConnectError(f"{hop.label}: no answer within {self.connect_timeout:g} s "
                               f"(host down or port {hop.port} filtered)") from e
        except OSError as e:
            hint = " (host down or network unreachable)" if e.errno in (113, 101) else ""
            raise ConnectError(f"{hop.label}: cannot connect: {e.strerror or e}{hint}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def _known_hosts(self, hop: _Hop) -> hostkeys.KnownHosts:
        if hop.known_hosts is not None:
            files = hop.known_hosts
        elif self.known_hosts_paths is not None:
            files = list(self.known_hosts_paths)
        else:
            files = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]
        return hostkeys.KnownHosts(files, self.tool_known_hosts)

    def _handshake(self, sock, hop: _Hop) -> _Transport:
        """Key exchange and host key check; nothing secret has been sent when this raises."""
        t = _Transport(sock)
        t.label = hop.label
        t.banner_timeout = self.connect_timeout
        t.auth_timeout = max(self.connect_timeout, 15)   # password hashing can be slow
        known = self._known_hosts(hop)
        names = [hop.host_key_alias or hostkeys.host_entry_name(hop.hostname, hop.port)]
        opts = t.get_security_options()
        opts.key_types = hostkeys.preferred_host_key_algorithms(known.known_types(names),
                                                                tuple(opts.key_types))
        try:
            t.start_client(timeout=self.connect_timeout + 5)
        except paramiko.ssh_exception.IncompatiblePeer as e:
            t.close()
            raise ConnectError(f"{hop.label}: no common SSH algorithms with the server ({e})") from e
        except (paramiko.SSHException, EOFError, OSError) as e:
            t.close()
            if "banner" in str(e):
                raise ConnectError(f"{hop.label}: no SSH greeting from the server within "
                                   f"{self.connect_timeout:g} s (is sshd listening there?)") from e
            raise ConnectError(f"{hop.label}: SSH handshake failed: {e or type(e).__name__}") from e
        key = t.get_remote_server_key()
        fp = hostkeys.fingerprint(key)
        verdict = known.check(names, key)
        if verdict.status == "known":
            pass
        elif verdict.status in ("changed", "revoked"):
            t.close()
            e = verdict.entry
            if verdict.status == "revoked":
                msg = (f"the host key of {hop.label} ({key.get_name()} {fp}) is marked @revoked in "
                       f"{e.path} line {e.lineno}: refusing to connect")
            else:
                msg = (f"the host key of {hop.label} changed: the server now shows {key.get_name()} "
                       f"{fp}, but {e.path} line {e.lineno} holds a different key. This is a possible "
                       f"man-in-the-middle attack (someone intercepting the connection). If the "
                       f"server was reinstalled, remove the old key from {e.path} line {e.lineno} "
                       f"(ssh-keygen -R '{names[0]}' -f {e.path}) and connect again.")
            err = HostKeyError(msg, host=hop.hostname, fingerprint=fp, changed=True)
            err.key_type, err.port, err.known_hosts_file, err.known_hosts_line = (
                key.get_name(), hop.port, e.path, e.lineno)
            raise err
        elif self.accept_fingerprint is not None and self.accept_fingerprint == fp:
            path = known.add(names[0], key)
            log.warning("%s: accepted host key %s %s (saved to %s)", hop.label, key.get_name(), fp, path)
        else:
            t.close()
            other = ""
            if verdict.other_types:
                o = verdict.other_types[0]
                other = (f" (a key of another type, {o.key_type}, is on record in {o.path} line "
                         f"{o.lineno})")
            msg = (f"{hop.label}: unknown host key {key.get_name()} {fp}{other}. Compare it with the "
                   f"server's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on its console) and "
                   f"accept it only if they match.")
            if self.accept_fingerprint is not None:
                msg += f" The fingerprint given to accept ({self.accept_fingerprint}) does not match."
            err = HostKeyError(msg, host=hop.hostname, fingerprint=fp, changed=False)
            err.key_type, err.port = key.get_name(), hop.port
            raise err
        t._chatwizard_fp = fp
        return t

    def _password(self) -> str | None:
        if not self._password_fetched:
            self._password_fetched = True
            ref = self.spec.password_ref
            if ref:
                provider = self._password_provider
                if provider is None:
                    from wizard import secrets as wsecrets  # written elsewhere; imported lazily
                    provider = wsecrets.get
                self._password_cache = provider(ref)
                register(self._password_cache)
        return self._password_cache

    def _key_candidates(self, hop: _Hop):
        """(description, key) pairs to try in order: IdentityFiles, default keys, agent."""
        files = list(hop.key_files)
        if not files:
            files = [os.path.expanduser(f"~/.ssh/{n}") for n in ("id_ed25519", "id_ecdsa", "id_rsa")]
            files = [f for f in files if os.path.exists(f)]
        for path in files:
            try:
                yield f"key {path}", paramiko.PKey.from_path(path)
            except FileNotFoundError:
                log.warning("%s: IdentityFile %s does not exist", hop.label, path)
            except paramiko.PasswordRequiredException:
                log.warning("%s: key %s has a passphrase; load it into ssh-agent to use it",
                            hop.label, path)
            except Exception as e:
                log.warning("%s: cannot load key %s: %s", hop.label, path, e)
        if self.allow_agent and not hop.identities_only:
            try:
                agent = paramiko.Agent()
                keys = agent.get_keys()
            except Exception as e:
                log.debug("ssh agent unusable: %s", e)
                keys = ()
            for i, k in enumerate(keys):
                yield f"agent key {i + 1} ({k.get_name()})", k

    def _legacy_server(self, t: _Transport) -> bool:
        kex = self._kex_name(t)
        return (t.host_key_type in _LEGACY_HOSTKEY_ALGOS or _is_sha1("kex", kex)
                or "server-sig-algs" not in t.server_extensions)

    def _auth_key(self, t: _Transport, user: str, key, hop: _Hop) -> bool:
        rsa = key.get_name() == "ssh-rsa"
        if (rsa and "server-sig-algs" not in t.server_extensions
                and t.host_key_type in _LEGACY_HOSTKEY_ALGOS):
            # OpenSSH < 7.2 (CentOS 6): no ext-info, verifies only ssh-rsa signatures
            self._disable_rsa_sha2(t, hop, "the server sent no server-sig-algs")
        try:
            t.auth_publickey(user, key)
            return t.is_authenticated()
        except paramiko.BadAuthenticationType:
            raise
        except paramiko.AuthenticationException:
            agreed = getattr(t, "_agreed_pubkey_algorithm", None)
            if rsa and agreed in _RSA_SHA2 and self._legacy_server(t):
                self._disable_rsa_sha2(t, hop, f"the server refused an {agreed} signature")
                try:
                    t.auth_publickey(user, key)
                    return t.is_authenticated()
                except paramiko.AuthenticationException:
                    return False
            return False

    @staticmethod
    def _disable_rsa_sha2(t: _Transport, hop: _Hop, why: str) -> None:
        d = dict(t.disabled_algorithms or {})
        if set(_RSA_SHA2) <= set(d.get("pubkeys", ())):
            return
        d["pubkeys"] = list(d.get("pubkeys", ())) + _RSA_SHA2
        t.disabled_algorithms = d
        log.info("%s: signing the RSA user key with ssh-rsa (SHA-1): %s", hop.label, why)

    def _authenticate(self, t: _Transport, hop: _Hop, *, password_ok: bool) -> None:
        tried: list[str] = []
        method = None
        allowed = None
        try:
            for desc, key in self._key_candidates(hop):
                if allowed is not None and "publickey" not in allowed:
                    break
                tried.append(desc)
                try:
                    if self._auth_key(t, hop.user, key, hop):
                        method = "publickey"
                        break
                except paramiko.BadAuthenticationType as e:
                    allowed = list(e.allowed_types)
            if method is None and password_ok and self.spec.password_ref:
                pw = self._password()
                if pw:
                    if allowed is None or "password" in allowed:
                        tried.append("password")
                        try:
                            t.auth_password(hop.user, pw)
                            method = "password" if t.is_authenticated() else None
                        except paramiko.BadAuthenticationType as e:
                            allowed = list(e.allowed_types)
                        except paramiko.AuthenticationException:
                            pass
                    if method is None and allowed is not None and "keyboard-interactive" in allowed:
                        tried.append("keyboard-interactive")
                        try:
                            t.auth_interactive(hop.user, lambda title, instr, prompts: [pw for _ in prompts])
                            method = "keyboard-interactive" if t.is_authenticated() else None
                        except paramiko.AuthenticationException:
                            pass
        except paramiko.SSHException as e:
            if not isinstance(e, paramiko.AuthenticationException):
                raise ConnectError(mask(f"{hop.label}: connection lost during login: {e}")) from e
        except (EOFError, OSError) as e:
            raise ConnectError(f"{hop.label}: connection lost during login: {e}") from e
        if method is None:
            what = ", ".join(tried) if tried else "no key, agent key or password was available"
            extra = f"; the server allows: {', '.join(allowed)}" if allowed else ""
            t.close()
            raise ConnectError(f"{hop.label}: login as {hop.user} failed (tried: {what}){extra}")
        if t is self._t:
            self._negotiated = {"auth": method}

    @staticmethod
    def _kex_name(t: _Transport) -> str | None:
        offer = t.server_offer or {}
        for k in t.preferred_kex:
            if k in offer.get("kex", ()):
                return k
        return None

    def _log_negotiated(self, hop: _Hop) -> None:
        t = self._t
        offer = t.server_offer or {}
        n = self._negotiated
        n.update(
            kex=self._kex_name(t),
            host_key_type=t.host_key_type,
            cipher=t.local_cipher,
            cipher_s2c=t.remote_cipher,
            mac=t.local_mac,
            mac_s2c=t.remote_mac,
            compression=t.local_compression,
            server_version=t.remote_version,
            host_key_fingerprint=getattr(t, "_chatwizard_fp", None),
            pubkey_algorithm=getattr(t, "_agreed_pubkey_algorithm", None) if n.get("auth") == "publickey" else None,
            server_offer=offer,
        )
        log.info("%s: kex %s, host key %s, cipher %s, mac %s, login %s%s", hop.label, n["kex"],
                 n["host_key_type"], n["cipher"], n["mac"], n["auth"],
                 f" ({n['pubkey_algorithm']})" if n["pubkey_algorithm"] else "")
        sha1 = []
        what = {"kex": "key exchange", "host_key": "host key signature", "mac": "MAC",
                "pubkey": "user key signature"}
        chosen = {"kex": n["kex"], "host_key": n["host_key_type"], "mac": n["mac"],
                  "pubkey": n["pubkey_algorithm"]}
        ours = {"kex": t.preferred_kex, "host_key": t.preferred_keys, "mac": t.preferred_macs}
        for kind, algo in chosen.items():
            if not _is_sha1(kind, algo):
                continue
            sha1.append(algo)
            if kind == "pubkey":
                why = "the server does not accept rsa-sha2-256/512 signatures"
            else:
                newer = [a for a in offer.get(kind, ()) if a in ours[kind] and not _is_sha1(kind, a)
                         and not a.endswith("-cert-v01@openssh.com")]
                why = ("the server offers nothing newer" if not newer
                       else f"chosen although the server also offers {', '.join(newer)}")
            log.warning("host %s: SHA-1 %s %s used: %s", self.spec.name, what[kind], algo, why)
        n["sha1"] = sha1

    # ---- lost connections -------------------------------------------------------------
    # A public method runs as one _operation(): it reconnects at its start when the
    # connection is known to be lost; inside it, _transport() never reconnects, and a
    # connection-level failure becomes ConnectionLost at once (the dead connection is
    # closed, nothing more is tried on it: no cleanup, no reconnect).

    def _ensure(self) -> _Transport:
        """The live connection; connects again first when it is gone."""
        with self._lock:
            if self._t is None or not self._t.is_active():
                if self._t is not None:
                    log.warning("%s: connection lost; reconnecting", self.label)
                self.connect()
            return self._t

    @contextmanager
    def _operation(self, what: str) -> Iterator[_Transport]:
        """One public operation (`what`: "writing /etc/x", for messages). Raises ConnectionLost
        for a connection-level failure, TransportError for other I/O errors that got this far."""
        t = self._ensure()
        outer = getattr(self._tls, "what", None)
        self._tls.what, self._tls.fresh = what, outer is None
        try:
            yield t
        except (TransportError, ConnectError):   # ours; ConnectError: a reconnect that failed
            raise
        except Exception as e:
            if self._is_lost(e, t):
                raise self._lost(e, t) from e
            if isinstance(e, _IO_ERRORS):
                raise TransportError(mask(f"{self.label}: {what} failed: "
                                          f"{e or type(e).__name__}")) from e
            raise
        finally:
            self._tls.what = outer
            if outer is None:
                self._tls.fresh = False

    def _alive(self, t: _Transport | None) -> bool:
        """Whether `t` is still this host's connection and up (cleanup may use it)."""
        return t is not None and t is self._t and t.is_active()

    @staticmethod
    def _is_lost(e: BaseException | None, t: _Transport | None) -> bool:
        """Whether `e` means the connection itself failed (not a file or command error)."""
        if t is None or not t.is_active():
            return True
        if isinstance(e, paramiko.ChannelException):       # the server refused one channel
            return False
        return isinstance(e, (paramiko.SSHException, EOFError, TimeoutError, ConnectionError))

    def _cause(self, e: BaseException | None, t: _Transport | None) -> str:
        """Why the connection was lost, in words."""
        if t is not None and t.peer_silent():
            return t.dead_reason
        saved = getattr(t, "saved_exception", None) if t is not None else None
        for x in (saved, e):
            if isinstance(x, OSError) and x.errno in (errno.ETIMEDOUT, errno.EHOSTUNREACH,
                                                      errno.ENETUNREACH):
                seconds = t.dead_after if t is not None else 0
                return (f"no answer from the host for {seconds:g} s (dead-peer check)"
                        if x.errno == errno.ETIMEDOUT and seconds else
                        f"no answer from the host ({x.strerror or x})")
            if isinstance(x, (EOFError, ConnectionResetError, BrokenPipeError)) or (
                    x is not None and re.search(r"Socket is closed|connection dropped|"
                                                r"Connection reset", str(x))):
                return "the host closed the connection"
        if isinstance(e, (TimeoutError, paramiko.SSHException)) and str(e):
            return str(e)
        if e is None:
            return "the connection is closed"
        return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__

    def _lost(self, e: BaseException | None, t: _Transport | None, what: str | None = None) -> ConnectionLost:
        """ConnectionLost for `e`; closes the dead connection `t` (the next operation
        reconnects) without trying anything more on it."""
        cause = self._cause(e, t)
        if t is not None:
            t.abort()                    # a failure like this one leaves nothing to trust
        what = getattr(self._tls, "what", None) or what
        log.info("%s: connection lost%s: %s", self.label, f" while {what}" if what else "", cause)
        return ConnectionLost(mask(f"{self.label}: connection lost{f' while {what}' if what else ''}: "
                                   f"{cause}"))

    def _transport(self) -> _Transport:
        """The live connection; ConnectionLost when it is gone (never reconnects: only
        _ensure(), at the start of an operation, does)."""
        t = self._t
        if t is None or not t.is_active():
            raise self._lost(None, t)
        return t

    def _sftp_client(self) -> paramiko.SFTPClient:
        with self._lock:
            t = self._transport()
            self._tls.fresh = False
            if self._sftp is None or self._sftp.sock.closed or self._sftp.sock.get_transport() is not t:
                try:
                    self._sftp = paramiko.SFTPClient.from_transport(t)
                except _IO_ERRORS as e:
                    if self._is_lost(e, t):
                        raise self._lost(e, t, "opening SFTP") from e
                    raise TransportError(f"{self.label}: cannot open SFTP: {e}") from e
            return self._sftp

    def _needs_sudo(self) -> bool:
        return self.spec.become == "sudo" and self.user != "root"

    # ---- commands ---------------------------------------------------------------------
    def run(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputCallback | None = None,
            display: str | None = None) -> CommandResult:
        """Run `command` (sh syntax). Output lines stream to on_output(stream, line), masked.
        stdout/stderr in the result are masked too. With sudo (and become == "sudo"),
        stderr is merged into stdout (pty). Raises CommandTimeout after `timeout` seconds,
        SudoPasswordError when sudo refuses the password, TransportError when the
        connection fails."""
        shown = display if display is not None else mask(command)
        log.debug("%s: run%s: %s", self.label, " (sudo)" if sudo else "", shown)
        with self._operation(f"running: {shown}"):
            raw = self._exec(command, sudo=sudo, stdin=stdin, timeout=timeout, on_output=on_output,
                             display=shown)
        result = CommandResult(command=shown, exit_code=raw.exit_code, stdout=mask(raw.stdout),
                               stderr=mask(raw.stderr), duration_s=raw.duration_s)
        if raw.timed_out:
            raise CommandTimeout(f"{self.label}: command timed out after {timeout:g} s and was "
                                 f"killed: {shown}", result)
        return result

    def _exec(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
              timeout: float | None = None, on_output: OutputCallback | None = None,
              display: str = "") -> _Raw:
        if sudo and self._needs_sudo():
            return self._exec_sudo(command, stdin=stdin, timeout=timeout, on_output=on_output,
                                   display=display)
        token = _random.token_hex(6)
        pid_tag = f"__chatwizard_pid_{token}__ "
        pid: list[int] = []

        def drop(line: str) -> bool:
            if not pid and line.startswith(pid_tag):
                try:
                    pid.append(int(line[len(pid_tag):]))
                except ValueError:
                    pid.append(0)
                return True
            return False

        # the login shell prints its pid (the session's process group, so a timeout can
        # kill the command and its children) and execs sh: the command is sh syntax
        # whatever the login shell is
        wrapped = f'printf "%s%s\\n" {shlex.quote(pid_tag)} "$$" >&2; exec sh -c {shlex.quote(command)}'
        out = _LineSink("out", on_output, pty=False)
        err = _LineSink("err", on_output, pty=False, drop=drop)
        chan = self._open_channel()
        t = chan.get_transport()
        start = time.monotonic()
        timed_out = False
        try:
            chan.exec_command(wrapped)
            timed_out = self._pump(chan, out.feed, err.feed, stdin=stdin, timeout=timeout)
            if timed_out and t.is_active():
                self._kill(pid[0] if pid else None)
                chan.close()
        except _IO_ERRORS as e:
            if self._is_lost(e, t):
                raise self._lost(e, t, f"running: {display}") from e
            raise TransportError(f"{self.label}: running failed: {display}: {e}") from e
        finally:
            out.feed(b"", final=True)
            err.feed(b"", final=True)
            chan.close()
        code = -1 if timed_out else chan.recv_exit_status()
        self._check_finished(chan, t, timed_out, display)
        return _Raw(code, out.text, err.text, time.monotonic() - start, timed_out)

    def _check_finished(self, chan: paramiko.Channel, t: _Transport, timed_out: bool,
                        display: str) -> None:
        """ConnectionLost when the command's channel ended because the connection did
        (no exit status came): its outcome on the host is unknown."""
        if (timed_out or chan.exit_status == -1) and not t.is_active():
            raise self._lost(None, t, f"running: {display}")

    def _open_channel(self) -> paramiko.Channel:
        """A new session channel. At the very start of an operation (nothing has run yet), a
        connection the host has just closed is replaced once; otherwise, and when the host
        stopped answering, the failure is reported (no reconnect, no second wait)."""
        fresh, self._tls.fresh = getattr(self._tls, "fresh", False), False
        t = self._transport()
        for attempt in (1, 2):
            try:
                return t.open_session(timeout=max(self.connect_timeout, 15))
            except paramiko.ChannelException as e:
                raise TransportError(f"{self.label}: the host refused a new channel: {e}") from e
            except _IO_ERRORS as e:
                if attempt == 1 and fresh and not t.is_active() and self._closed_by_host(t):
                    t = self._ensure()
                    continue
                raise self._lost(e, t, "opening a channel") from e
        raise AssertionError("unreachable")

    @staticmethod
    def _closed_by_host(t: _Transport) -> bool:
        """Whether the host closed the connection (e.g. sshd restarted: reconnecting is
        quick), rather than stopped answering (reconnecting would wait for nothing)."""
        saved = getattr(t, "saved_exception", None)
        return not t.peer_silent() and not (isinstance(saved, OSError) and saved.errno in (
            errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH))

    def _pump(self, chan: paramiko.Channel, feed_out, feed_err, *, stdin: bytes | None,
              timeout: float | None, keep_stdin_open: bool = False) -> bool:
        """Move data until the command finished (False) or the timeout passed (True)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = memoryview(stdin) if stdin else None
        if pending is None and not keep_stdin_open:
            chan.shutdown_write()
        fd = chan.fileno()
        while True:
            busy = False
            while chan.recv_ready():
                data = chan.recv(65536)
                if not data:
                    break
                feed_out(data)
                busy = True
            while chan.recv_stderr_ready():
                feed_err(chan.recv_stderr(65536))
                busy = True
            if pending is not None and chan.send_ready():
                n = chan.send(pending[:32768])
                pending = pending[n:]
                busy = True
                if not len(pending):
                    pending = None
                    chan.shutdown_write()
            if (chan.closed or chan.eof_received) and chan.exit_status_ready() \
                    and not chan.recv_ready() and not chan.recv_stderr_ready():
                return False
            if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                return False
            if busy:
                continue
            wait = 0.2
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                wait = min(wait, left)
            if pending is not None:
                wait = min(wait, 0.01)
            if chan.eof_received:
                # EOF seen, exit status still on its way
                chan.status_event.wait(wait)
            else:
                select.select([fd], [], [], wait)

    def _kill(self, pid: int | None) -> None:
        if not pid or pid <= 1 or not self._alive(self._t):
            return
        try:
            c = self._open_channel()
            c.exec_command(f"kill -TERM -- -{pid} 2>/dev/null; sleep 0.3; kill -KILL -- -{pid} 2>/dev/null; true")
            c.shutdown_write()
            c.settimeout(10)
            c.recv_exit_status()
            c.close()
        except Exception as e:
            log.warning("%s: could not kill timed-out command (pid %s): %s", self.label, pid, e)

    def _exec_sudo(self, command: str, *, stdin: bytes | None, timeout: float | None,
                   on_output: OutputCallback | None, display: str) -> _Raw:
        token = _random.token_hex(8)
        marker = f"[chatwizard-sudo-{token}] "
        begin = f"__chatwizard_begin_{token}__"
        upload = None
        if stdin is not None:
            # a pty would mangle stdin (echo, line discipline, ^D): hand it over as a private file
            upload = self._upload_private(stdin, token)
            redirect = f"exec <{shlex.quote(upload)}; rm -f -- {shlex.quote(upload)}"
        else:
            redirect = "exec </dev/null"
        inner = f"printf '%s\\n' {shlex.quote(begin)}; {redirect}; exec sh -c {shlex.quote(command)}"
        full = f"sudo -S -p {shlex.quote(marker)} -- sh -c {shlex.quote(inner)}"
        out = _LineSink("out", on_output, pty=True)
        try:
            chan = self._open_channel()
        except BaseException:
            if upload is not None and self._alive(self._t):
                self._remove_quietly(upload)
            raise
        t = chan.get_transport()

        def send_password() -> None:
            pw = self._password()
            if not pw:
                raise _NoPassword()
            chan.sendall(pw.encode() + b"\n")

        gate = _SudoGate(marker, begin, send_password)
        start = time.monotonic()
        timed_out = False
        try:
            chan.get_pty(term="dumb", width=250, height=50)
            chan.exec_command(full)
            timed_out = self._pump(chan, lambda d: out.feed(gate.feed(d)), out.feed,
                                   stdin=None, timeout=timeout, keep_stdin_open=True)
        except _Refused:
            chan.close()
            raise SudoPasswordError(f"sudo: password refused on host {self.spec.name} "
                                    f"(user {self.user}); not retrying") from None
        except _NoPassword:
            chan.close()
            raise SudoPasswordError(f"sudo on host {self.spec.name} asks user {self.user} for a "
                                    f"password, but the inventory gives none (password_ref)") from None
        except _IO_ERRORS as e:
            if self._is_lost(e, t):
                raise self._lost(e, t, f"running: {display}") from e
            raise TransportError(f"{self.label}: running failed: {display}: {e}") from e
        finally:
            out.feed(b"", final=True)
            chan.close()  # on a timeout this closes the pty: the command gets SIGHUP
            if upload is not None and self._alive(t):
                # (on a lost connection the file stays: the next apply removes it, and the
                # command's own `rm` has removed it if the command started)
                self._remove_quietly(upload)
        code = -1 if timed_out else chan.recv_exit_status()
        self._check_finished(chan, t, timed_out, display)
        stdout = out.text
        if not gate.begun:
            chatter = gate.chatter
            if gate.prompts and code != 0 and "incorrect password" in chatter:
                raise SudoPasswordError(f"sudo: password refused on host {self.spec.name} "
                                        f"(user {self.user}); not retrying")
            stdout = chatter + ("\n" if chatter else "")
            if on_output is not None and chatter and not timed_out:
                for line in chatter.splitlines():
                    on_output("out", mask(line))
        return _Raw(code, stdout, "", time.monotonic() - start, timed_out, gate.chatter)

    # ---- files ------------------------------------------------------------------------
    def _sftp_create_private(self, sftp: paramiko.SFTPClient, path: str, data: bytes,
                             created: Callable[[], None] | None = None) -> None:
        """Create `path` exclusively with mode 0600 from the start (no window in which
        another user could open it) and write `data`; `created()` is called once the file
        exists (a failure after that leaves it behind)."""
        attrs = SFTPAttributes()
        attrs.st_mode = 0o600
        t, msg = sftp._request(CMD_OPEN, path, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL, attrs)
        if t != CMD_HANDLE:
            raise paramiko.SFTPError("Expected handle")
        f = SFTPFile(sftp, msg.get_binary(), "wb", -1)
        if created is not None:
            created()
        with f:
            f.set_pipelined(True)
            f.write(data)

    def _upload_private(self, data: bytes, token: str) -> str:
        """Upload `data` to a private (0600) file in the login user's home; its path."""
        sftp = self._sftp_client()
        t = self._t
        path, made = None, []
        try:
            home = sftp.normalize(".")
            path = posixpath.join(home, f".chatwizard-upload-{token}")
            self._sftp_create_private(sftp, path, data, created=lambda: made.append(path))
        except _IO_ERRORS as e:
            if self._is_lost(e, t):
                raise self._lost(e, t, "uploading a temporary file") from e
            if made:
                self._remove_quietly(path)
            raise TransportError(f"{self.label}: cannot upload a temporary file to the home "
                                 f"folder of {self.user}: {e}") from e
        return path

    def _remove_quietly(self, path: str) -> None:
        """Remove a temp/upload file over the live connection (never reconnects)."""
        try:
            self._sftp_client().remove(path)
        except FileNotFoundError:
            pass
        except Exception as e:
            log.warning("%s: could not remove temporary file %s: %s", self.label, path, e)

    def read_file(self, path: str, *, sudo: bool = False) -> bytes | None:
        """The file's bytes (None when absent). Read over SFTP; when that is denied and
        sudo=True with become == "sudo", read as root via `sudo base64` (binary-safe
        through the pty). ConnectionLost when the connection breaks."""
        with self._operation(f"reading {path}") as t:
            sftp = self._sftp_client()
            try:
                with sftp.open(path, "rb") as f:
                    f.prefetch()
                    return f.read()
            except FileNotFoundError:
                return None
            except PermissionError as e:
                if not (sudo and self._needs_sudo()):
                    raise TransportError(f"{self.label}: cannot read {path}: permission denied") from e
            except _IO_ERRORS as e:
                if self._is_lost(e, t):
                    raise self._lost(e, t) from e
                raise TransportError(f"{self.label}: cannot read {path}: {e}") from e
            return self._read_via_sudo(path)

    def _read_via_sudo(self, path: str) -> bytes | None:
        import base64

        token = _random.token_hex(6)
        start, end, missing = (f"__chatwizard_{w}_{token}__" for w in ("data", "end", "missing"))
        p = shlex.quote(path)
        script = (f"if [ ! -e {p} ]; then echo {missing}; exit 0; fi; echo {start}; "
                  f"base64 < {p} || exit 1; echo {end}")
        raw = self._exec(script, sudo=True, timeout=300, display=f"sudo base64 {path}")
        lines = raw.stdout.splitlines()
        if missing in lines:
            return None
        if raw.exit_code != 0 or start not in lines or end not in lines:
            raise TransportError(mask(f"{self.label}: cannot read {path} as root: "
                                      f"{raw.stdout.strip()[-500:]}"))
        body = lines[lines.index(start) + 1:lines.index(end)]
        return base64.b64decode("".join(body))

    def stat(self, path: str) -> FileStat:
        """Type, mode and owner (following symlinks; a dangling link counts as absent).
        A path behind a folder the user cannot enter is looked at with sudo.
        ConnectionLost when the connection breaks."""
        cmd = f"LC_ALL=C stat -L -c '%U %G %a %F' -- {shlex.quote(path)}"
        with self._operation(f"looking at {path} (stat)"):
            raw = self._exec(cmd, display=f"stat {path}")
            if raw.exit_code != 0 and "Permission denied" in raw.stderr and self._needs_sudo():
                raw = self._exec(cmd, sudo=True, display=f"sudo stat {path}")
        if raw.exit_code != 0:
            text = raw.stderr or raw.stdout
            if "No such file or directory" in text or "Not a directory" in text:
                return FileStat(path=path, exists=False)
            raise TransportError(f"{self.label}: cannot stat {path}: {text.strip()}")
        line = raw.stdout.strip().splitlines()[-1]
        owner, group, mode, kind = line.split(" ", 3)
        return FileStat(path=path, exists=True, is_dir=kind == "directory", mode=int(mode, 8),
                        owner=owner, group=group)

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, owner: str | None = None,
                   group: str | None = None, backup: bool = True) -> WriteResult:
        """Atomically replace `path` (see base.Transport.write_file).

        owner/group None: an existing file keeps its owner and group, a new one is owned by
        root (or by the login user when it is neither root nor a sudo user); owner without
        group: the owner's login group. The parent folder must exist. A symlink at `path`
        is replaced by a regular file (its target is backed up)."""
        if not path.startswith("/") or path.endswith("/"):
            raise TransportError(f"{self.label}: write_file needs an absolute file path, not {path!r}")
        for what, name in (("owner", owner), ("group", group)):
            if name is not None and not _NAME_RE.match(name):
                raise TransportError(f"{self.label}: invalid {what} name {name!r}")
        folder, name = posixpath.split(path)
        token = _random.token_hex(8)
        tmp = f"{folder}/.{name}.chatwizard-tmp-{token}"
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        done_tag = f"__chatwizard_written_{token}__"
        with self._operation(f"writing {path}") as t:
            via_sudo = self._needs_sudo()
            sftp = None if via_sudo else self._sftp_client()
            upload = None
            created: list[str] = []              # the temp file, once it exists
            finished = False
            try:
                if via_sudo:
                    upload = self._upload_private(data, token)
                else:
                    try:
                        self._sftp_create_private(sftp, tmp, data, created=lambda: created.append(tmp))
                    except FileNotFoundError as e:
                        raise TransportError(f"{self.label}: cannot write {path}: folder {folder} "
                                             f"does not exist") from e
                    except _IO_ERRORS as e:
                        if self._is_lost(e, t):
                            raise self._lost(e, t) from e
                        raise TransportError(f"{self.label}: cannot write {path}: {e}") from e
                script = self._install_script(path, folder, tmp, upload, mode, owner, group, backup,
                                              stamp, done_tag)
                raw = self._exec(script, sudo=via_sudo, timeout=300, display=f"install {path}")
                out_lines = (raw.stdout + "\n" + raw.stderr).splitlines()
                if raw.exit_code != 0 or done_tag not in out_lines:
                    why = "\n".join(l for l in out_lines if l.strip() and done_tag not in l)
                    raise TransportError(mask(f"{self.label}: writing {path} failed: {why or raw.exit_code}"))
                backup_path = next((l[len("BACKUP="):] for l in out_lines if l.startswith("BACKUP=")), None)
                if not via_sudo:
                    try:
                        sftp.posix_rename(tmp, path)
                    except _IO_ERRORS as e:
                        if self._is_lost(e, t):
                            raise self._lost(e, t) from e
                        raise TransportError(f"{self.label}: cannot rename {tmp} to {path}: {e}") from e
                    created.clear()
                finished = True
                log.info("%s: wrote %s (%d bytes, mode %o%s)%s", self.label, path, len(data), mode,
                         f", owner {owner}" if owner else "", f", backup {backup_path}" if backup_path else "")
                return WriteResult(path=path, backup=backup_path)
            finally:
                if not finished:
                    self._after_failed_write(t, tmp, created, upload, via_sudo)

    @staticmethod
    def _install_script(path: str, folder: str, tmp: str, upload: str | None, mode: int,
                        owner: str | None, group: str | None, backup: bool, stamp: str,
                        done_tag: str) -> str:
        """The sh script that sets owner and mode of the temp file, backs up the old file and
        (via sudo: copies the upload to the temp file and) renames it into place."""
        q = shlex.quote
        lines = ["set -e", "umask 077", f"dst={q(path)}", f"tmp={q(tmp)}"]
        if upload is not None:
            lines += [
                f"src={q(upload)}",
                "trap 'rm -f -- \"$tmp\" \"$src\"' EXIT",
                f'[ -d {q(folder)} ] || {{ echo "folder {folder} does not exist" >&2; exit 3; }}',
                "cp -- \"$src\" \"$tmp\"",
                "rm -f -- \"$src\"",
            ]
        lines.append('if [ -d "$dst" ] && [ ! -L "$dst" ]; then echo "$dst is a folder" >&2; exit 3; fi')
        if owner is not None:
            lines.append(f"chown -- {q(owner)}:{q(group) if group else ''} \"$tmp\"")
        elif group is not None:
            lines.append(f"chgrp -- {q(group)} \"$tmp\"")
        else:
            lines.append('if [ -e "$dst" ]; then chown --reference="$dst" -- "$tmp"; fi')
        lines.append(f"chmod {mode:o} \"$tmp\"")
        if backup:
            lines += [
                'if [ -e "$dst" ]; then',
                f"  b={q(BACKUP_ROOT)}/{stamp}; n=0",
                '  while [ -e "$b$dst" ]; do n=$((n+1)); b=' + q(BACKUP_ROOT) + f'/{stamp}.$n; done',
                '  mkdir -p -- "$(dirname -- "$b$dst")"',
                '  cp -p -- "$dst" "$b$dst"',
                '  printf "BACKUP=%s\\n" "$b$dst"',
                "fi",
            ]
        if upload is not None:
            lines.append('mv -f -T -- "$tmp" "$dst"')
        lines.append(f"echo {done_tag}")
        return "\n".join(lines)

    def _after_failed_write(self, t: _Transport, tmp: str, created: list[str], upload: str | None,
                            via_sudo: bool) -> None:
        """Remove what a failed write left, over the live connection only: after a lost
        connection nothing is tried (no reconnect, no wait); the next apply's resume removes
        the temp and upload files (wizard.journal)."""
        if not self._alive(t):
            left = [p for p in (*created, upload) if p] or ([tmp] if via_sudo else [])
            if left:
                log.info("%s: connection lost; left for the next apply to remove: %s", self.label,
                         ", ".join(left))
            return
        for p in created:
            self._remove_quietly(p)
        if upload is not None:
            self._remove_quietly(upload)
        if via_sudo and self._alive(t):
            # the script's trap removes its temp file; this covers a script that was killed
            try:
                self._exec(f"rm -f -- {shlex.quote(tmp)}", sudo=True, timeout=30,
                           display=f"rm -f {tmp}")
            except Exception as e:
                log.warning("%s: could not remove temporary file %s: %s", self.label, tmp, e)


class _NoPassword(Exception):
    pass
