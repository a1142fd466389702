"""Liveness: the dead-peer check on each SSH connection (keepalive requests that need an
answer, a read deadline in its own thread, TCP_USER_TIMEOUT) and the paramiko.Transport
subclass that carries it. See the package docstring, "Dead-peer check"."""
from __future__ import annotations

from wizard.i18n import _

import logging
import os
import socket
import struct
import threading
import time
import weakref

import paramiko
from paramiko.common import cMSG_GLOBAL_REQUEST

log = logging.getLogger("wizard.transport")


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
            self.dead_reason = _("no answer from the host for {seconds} s (dead-peer check)").format(
                seconds=f"{self.dead_after:g}")
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
            t.dead_reason = _("no answer from the host for {seconds} s (dead-peer check)").format(
                seconds=f"{t.dead_after:g}")
            log.warning("%s: nothing heard for %.1f s: connection closed (dead-peer check)",
                        t.label, quiet)
            t.abort()
            return
        del t

