"""Operations and lost connections: each public method runs as one _operation() that
reconnects only at its start; a connection-level failure inside it becomes ConnectionLost at
once (naming host, what was being done and the cause), with nothing more tried on the dead
connection. Also the channel and SFTP handles the operations use. A mixin of SSHTransport."""
from __future__ import annotations

from wizard.i18n import _

import errno
import logging
import re
from contextlib import contextmanager
from typing import Iterator

import paramiko

from wizard.errors import ConnectError
from wizard.masking import mask
from wizard.transport.base import TransportError
from wizard.transport.ssh.errors import ConnectionLost
from wizard.transport.ssh.liveness import _IO_ERRORS, _Transport

log = logging.getLogger("wizard.transport")


class _Operations:
    """_operation(), _lost() and the channel/SFTP handles (mixed into SSHTransport)."""

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
                return (_("no answer from the host for {seconds} s (dead-peer check)").format(
                            seconds=f"{seconds:g}")
                        if x.errno == errno.ETIMEDOUT and seconds else
                        _("no answer from the host ({reason})").format(reason=x.strerror or x))
            if isinstance(x, (EOFError, ConnectionResetError, BrokenPipeError)) or (
                    x is not None and re.search(r"Socket is closed|connection dropped|"
                                                r"Connection reset", str(x))):
                return _("the host closed the connection")
        if isinstance(e, (TimeoutError, paramiko.SSHException)) and str(e):
            return str(e)
        if e is None:
            return _("the connection is closed")
        return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__

    def _lost(self, e: BaseException | None, t: _Transport | None, what: str | None = None) -> ConnectionLost:
        """ConnectionLost for `e`; closes the dead connection `t` (the next operation
        reconnects) without trying anything more on it."""
        cause = self._cause(e, t)
        if t is not None:
            t.abort()                    # a failure like this one leaves nothing to trust
        what = getattr(self._tls, "what", None) or what
        log.info("%s: connection lost%s: %s", self.label, f" while {what}" if what else "", cause)
        text = (_("{host}: connection lost while {what}: {cause}") if what
                else _("{host}: connection lost: {cause}"))
        return ConnectionLost(mask(text.format(host=self.label, what=what, cause=cause)))

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
                        raise self._lost(e, t, _("opening SFTP")) from e
                    raise TransportError(_("{host}: cannot open SFTP: {reason}").format(
                        host=self.label, reason=e)) from e
            return self._sftp

    def _needs_sudo(self) -> bool:
        return self.spec.become == "sudo" and self.user != "root"


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
                raise TransportError(_("{host}: the host refused a new channel: {reason}").format(
                    host=self.label, reason=e)) from e
            except _IO_ERRORS as e:
                if attempt == 1 and fresh and not t.is_active() and self._closed_by_host(t):
                    t = self._ensure()
                    continue
                raise self._lost(e, t, _("opening a channel")) from e
        raise AssertionError("unreachable")

    @staticmethod
    def _closed_by_host(t: _Transport) -> bool:
        """Whether the host closed the connection (e.g. sshd restarted: reconnecting is
        quick), rather than stopped answering (reconnecting would wait for nothing)."""
        saved = getattr(t, "saved_exception", None)
        return not t.peer_silent() and not (isinstance(saved, OSError) and saved.errno in (
            errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH))

