"""Running commands: plain (sh -c under the login shell, its process group known so that a
timeout or an interrupt can end it) and as root with sudo on a pty (password answered at
sudo's own prompt, never on a command line), output streamed line by line.
A mixin of SSHTransport."""
from __future__ import annotations

import logging
import secrets as _random
import select
import time

import paramiko

from wizard.masking import mask
from wizard.i18n import _
from wizard.shell import quote
from wizard.transport.base import CommandResult, OutputCallback, TransportError
from wizard.transport.ssh.errors import (CommandInterrupted, CommandTimeout, SudoPasswordError, _NoPassword,
                                         _Refused)
from wizard.transport.ssh.liveness import _IO_ERRORS, _Transport
from wizard.transport.ssh.streams import _LineSink, _Raw, _SudoGate

log = logging.getLogger("wizard.transport")


class _Commands:
    """run() and the command machinery (mixed into SSHTransport)."""

    # ---- commands ---------------------------------------------------------------------
    def run(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputCallback | None = None,
            display: str | None = None) -> CommandResult:
        """Run `command` (sh syntax). Output lines stream to on_output(stream, line), masked.
        stdout/stderr in the result are masked too, and bounded: only the last
        _LineSink.KEEP characters of each stream are kept (a first line says how much was
        left out). With sudo (and become == "sudo"), stderr is merged into stdout (pty).
        Raises CommandTimeout after `timeout` seconds, CommandInterrupted (a
        KeyboardInterrupt) on Ctrl-C or interrupt(), in both cases after the command and
        its children were stopped on the host; SudoPasswordError when sudo refuses the
        password, TransportError when the connection fails."""
        shown = display if display is not None else mask(command)
        log.debug("%s: run%s: %s", self.label, " (sudo)" if sudo else "", shown)
        with self._operation(_("running: {command}").format(command=shown)):
            raw = self._exec(command, sudo=sudo, stdin=stdin, timeout=timeout, on_output=on_output,
                             display=shown)
        result = CommandResult(command=shown, exit_code=raw.exit_code, stdout=mask(raw.stdout),
                               stderr=mask(raw.stderr), duration_s=raw.duration_s)
        if raw.interrupted:
            raise CommandInterrupted(_("{host}: interrupted; the command was stopped on the host: "
                                       "{command}").format(host=self.label, command=shown),
                                     host=self.spec.name, result=result)
        if raw.timed_out:
            raise CommandTimeout(_("{host}: command timed out after {seconds} s and was killed: "
                                   "{command}").format(host=self.label, seconds=f"{timeout:g}",
                                                       command=shown), result)
        return result

    def run_raw(self, command: str, *, sudo: bool = False, timeout: float | None = None,
                keep: int | None = None, display: str = "") -> str:
        """Run `command` and return its stdout as the host sent it: unmasked, for output the
        wizard parses itself (wizard.batch: base64 records, never shown). Bounded by `keep`
        characters; CommandTimeout / CommandInterrupted as run()."""
        log.debug("%s: run%s: %s", self.label, " (sudo)" if sudo else "", display)
        with self._operation(f"running: {display}"):
            raw = self._exec(command, sudo=sudo, timeout=timeout, display=display, keep=keep)
        result = CommandResult(command=display, exit_code=raw.exit_code, stdout="", stderr="",
                               duration_s=raw.duration_s)
        if raw.interrupted:
            raise CommandInterrupted(f"{self.label}: interrupted; the command was stopped on the "
                                     f"host: {display}", host=self.spec.name, result=result)
        if raw.timed_out:
            raise CommandTimeout(f"{self.label}: command timed out after {timeout:g} s and was "
                                 f"killed: {display}", result)
        return raw.stdout

    def interrupt(self) -> None:
        """Stop the command running now on this host (from any thread: the runner's cancel):
        its run() stops it on the host and raises CommandInterrupted. No effect when no
        command runs."""
        self._interrupt.set()

    def _exec(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
              timeout: float | None = None, on_output: OutputCallback | None = None,
              display: str = "", keep: int | None = _LineSink.KEEP) -> _Raw:
        self.round_trips = getattr(self, "round_trips", 0) + 1
        if sudo and self._needs_sudo():
            return self._exec_sudo(command, stdin=stdin, timeout=timeout, on_output=on_output,
                                   display=display, keep=keep)
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

        # the login shell prints its pid (sshd made it a session leader: its process group
        # holds the command and its children, so a timeout or an interrupt can end them)
        # and execs sh: the command is sh syntax whatever the login shell is
        wrapped = f'printf "%s%s\\n" {quote(pid_tag)} "$$" >&2; exec sh -c {quote(command)}'
        out = _LineSink("out", on_output, pty=False, keep=keep)
        err = _LineSink("err", on_output, pty=False, drop=drop, keep=keep)
        chan = self._open_channel()
        t = chan.get_transport()
        start = time.monotonic()
        ended = "done"
        try:
            chan.exec_command(wrapped)
            ended = self._pump(chan, out.feed, err.feed, stdin=stdin, timeout=timeout)
        except KeyboardInterrupt:
            ended = "interrupted"
        except _IO_ERRORS as e:
            raise self._run_failed(e, t, display) from e
        finally:
            if ended != "done":
                self._stop_remote(chan, t, pid[0] if pid else None, sudo=False)
            out.feed(b"", final=True)
            err.feed(b"", final=True)
            chan.close()
        code = chan.recv_exit_status() if ended == "done" else -1
        self._check_finished(chan, t, ended != "done", display)
        return _Raw(code, out.text, err.text, time.monotonic() - start, ended == "timeout",
                    interrupted=ended == "interrupted")

    def _run_failed(self, e: BaseException, t: _Transport, display: str) -> TransportError:
        """ConnectionLost when the connection failed, else a TransportError naming the command."""
        if self._is_lost(e, t):
            return self._lost(e, t, _("running: {command}").format(command=display))
        return TransportError(_("{host}: running failed: {command}: {reason}").format(
            host=self.label, command=display, reason=e))

    def _stop_remote(self, chan: paramiko.Channel, t: _Transport, pid: int | None, *,
                     sudo: bool) -> None:
        """After a timeout or an interrupt: end the command and its children on the host
        (TERM, then KILL, to its process group), then close its channel. Over the live
        connection only; a second Ctrl-C meanwhile is not lost (raised afterwards)."""
        again = None
        try:
            if pid and pid > 1 and self._alive(t):
                self._kill(pid, sudo=sudo)         # first: its group is known while it lives
            if sudo and not chan.closed:
                try:
                    chan.send(b"\x03")            # ^C on the pty: SIGINT to the foreground
                except Exception:
                    pass
        except KeyboardInterrupt as e:
            again = e
        finally:
            chan.close()          # a sudo command's pty closes: SIGHUP to what is left
        if again is not None:
            raise again

    def _check_finished(self, chan: paramiko.Channel, t: _Transport, timed_out: bool,
                        display: str) -> None:
        """ConnectionLost when the command's channel ended because the connection did
        (no exit status came): its outcome on the host is unknown."""
        if (timed_out or chan.exit_status == -1) and not t.is_active():
            raise self._lost(None, t, f"running: {display}")
    def _pump(self, chan: paramiko.Channel, feed_out, feed_err, *, stdin: bytes | None,
              timeout: float | None, keep_stdin_open: bool = False) -> str:
        """Move data until the command finished ("done"), the timeout passed ("timeout") or
        interrupt() was called ("interrupted")."""
        self._interrupt.clear()
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
                return "done"
            if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                return "done"
            if self._interrupt.is_set():
                return "interrupted"
            if busy:
                continue
            wait = 0.2
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "timeout"
                wait = min(wait, left)
            if pending is not None:
                wait = min(wait, 0.01)
            if chan.eof_received:
                # EOF seen, exit status still on its way
                chan.status_event.wait(wait)
            else:
                select.select([fd], [], [], wait)

    def _kill(self, pid: int, *, sudo: bool = False) -> None:
        """TERM, then KILL, to the process group of `pid` on the host (as root for sudo)."""
        script = (f"p={int(pid)}; g=$(sed -n 's/^.*) . [0-9]* \\([0-9]*\\) .*$/\\1/p' /proc/$p/stat "
                  f"2>/dev/null); [ -n \"$g\" ] && [ \"$g\" -gt 1 ] || exit 0; "
                  # `kill -SIG -PGID`: dash's kill takes no `--`
                  f"kill -TERM \"-$g\" 2>/dev/null; sleep 0.3; kill -KILL \"-$g\" 2>/dev/null; true")
        try:
            if sudo:
                self._exec(script, sudo=True, timeout=15, display=_("stop the command (pid {pid})").format(pid=pid))
                return
            c = self._open_channel()
            c.exec_command(script)
            c.shutdown_write()
            c.settimeout(10)
            c.recv_exit_status()
            c.close()
        except (TransportError, *_IO_ERRORS) as e:
            log.warning("%s: could not stop the command (pid %s): %s", self.label, pid, e)

    def _exec_sudo(self, command: str, *, stdin: bytes | None, timeout: float | None,
                   on_output: OutputCallback | None, display: str,
                   keep: int | None = _LineSink.KEEP) -> _Raw:
        token = _random.token_hex(8)
        marker = f"[chatwizard-sudo-{token}] "
        begin = f"__chatwizard_begin_{token}__"
        upload = None
        if stdin is not None:
            # a pty would mangle stdin (echo, line discipline, ^D): hand it over as a private file
            upload = self._upload_private(stdin, token)
            redirect = f"exec <{quote(upload)}; rm -f -- {quote(upload)}"
        else:
            redirect = "exec </dev/null"
        inner = f"printf '%s %s\\n' {quote(begin)} \"$$\"; {redirect}; exec sh -c {quote(command)}"
        full = f"sudo -S -p {quote(marker)} -- sh -c {quote(inner)}"
        out = _LineSink("out", on_output, pty=True, keep=keep)
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
        ended = "done"
        try:
            chan.get_pty(term="dumb", width=250, height=50)
            chan.exec_command(full)
            ended = self._pump(chan, lambda d: out.feed(gate.feed(d)), out.feed,
                               stdin=None, timeout=timeout, keep_stdin_open=True)
        except KeyboardInterrupt:
            ended = "interrupted"
        except _Refused:
            chan.close()
            raise SudoPasswordError(_("sudo: password refused on host {host} (user {user}); not "
                                      "retrying").format(host=self.spec.name, user=self.user)) from None
        except _NoPassword:
            chan.close()
            raise SudoPasswordError(_("sudo on host {host} asks user {user} for a password, but the "
                                      "inventory gives none (password_ref)").format(
                host=self.spec.name, user=self.user)) from None
        except _IO_ERRORS as e:
            raise self._run_failed(e, t, display) from e
        finally:
            if ended != "done":
                self._stop_remote(chan, t, gate.pid, sudo=True)
            out.feed(b"", final=True)
            chan.close()
            if upload is not None and self._alive(t):
                # (on a lost connection the file stays: the next apply removes it, and the
                # command's own `rm` has removed it if the command started)
                self._remove_quietly(upload)
        timed_out = ended == "timeout"
        code = chan.recv_exit_status() if ended == "done" else -1
        self._check_finished(chan, t, ended != "done", display)
        stdout = out.text
        if not gate.begun:
            chatter = gate.chatter
            if gate.prompts and code != 0 and "incorrect password" in chatter:
                raise SudoPasswordError(_("sudo: password refused on host {host} (user {user}); not "
                                          "retrying").format(host=self.spec.name, user=self.user))
            stdout = chatter + ("\n" if chatter else "")
            if on_output is not None and chatter and ended == "done":
                for line in chatter.splitlines():
                    on_output("out", mask(line))
        return _Raw(code, stdout, "", time.monotonic() - start, timed_out, gate.chatter,
                    interrupted=ended == "interrupted")

