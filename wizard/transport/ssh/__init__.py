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
  raises HostKeyError(changed=False) with its SHA256 fingerprint unless
  ``trust_host_key(error)`` (asked hop by hop during connect(), so a jump host and its
  target take one run) says yes or ``accept_fingerprint=`` holds it; the key is then saved
  to the tool's file. A changed key raises HostKeyError(changed=True) and is
  never accepted that way.
* **CentOS 6** (OpenSSH 5.3: ssh-rsa host keys, SHA-1 kex and MACs): paramiko 4.0 still
  speaks it and prefers SHA-2 whenever offered. An RSA user key is signed with ssh-rsa
  (SHA-1) when the server does not accept rsa-sha2 signatures (detected: no
  server-sig-algs and a legacy host key, or a refused rsa-sha2 signature from a legacy
  server). Every SHA-1 algorithm used is logged as a WARNING on logger "wizard.transport".
* **sudo** (HostSpec.become == "sudo", run(..., sudo=True)): CentOS sudoers have
  ``Defaults requiretty``, so sudo runs on a pty, as
  ``sudo -S -p '<marker>' -- sh -c '<command>'``; the password (from
  ``password_provider(spec.password_ref)``, handed in by the caller) is sent over the channel when the marker
  shows, never on a command line. **With a pty, stdout and stderr arrive merged**: all of
  a sudo command's output is reported as stream "out" and CommandResult.stderr is "".
  sudo's own chatter (lecture, prompt) is dropped. A refused password raises
  SudoPasswordError at once (no retry loop).
* **Timeouts and interrupts** stop the command on the host: TERM then KILL to its process
  group (the login shell's session for plain commands; the root shell's group, as root,
  for sudo commands, which also get ^C and SIGHUP from their pty), then close the channel.
  A timeout raises CommandTimeout (a TransportError), Ctrl-C (KeyboardInterrupt during
  run()) or interrupt() from another thread raises CommandInterrupted (a
  KeyboardInterrupt); both carry ``.result``, the output so far.
* **Output** is split into lines linearly and kept bounded: the callback gets every line
  (one over 64 KiB cut, with "… [N more characters]"), CommandResult keeps the last 8 MiB
  of each stream (bench/huge_output.py measures it).
* **Files**: read via SFTP (fallback for root-only files: ``sudo base64``); written
  atomically and race-free against other users of the folder (install.py: a private 0700
  folder beside the target holds the data while it gets owner and mode; backup to
  BACKUP_ROOT/<UTC timestamp>/<path>; rename from inside the private folder); a target
  that is a symbolic link is refused; data travels only over SFTP. Every value in a shell
  command is quoted by wizard.shell.
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

Modules: transport.py (SSHTransport, lifecycle), connect.py (config, jump hosts, host keys),
auth.py (login), liveness.py (dead-peer check), lost.py (operations, lost connections),
exec.py (commands, sudo), streams.py (line splitting, sudo prompt), files.py (read, stat,
write), errors.py.
"""
from __future__ import annotations

from wizard.transport.ssh.errors import (CommandInterrupted, CommandTimeout, ConnectionLost, SudoPasswordError,
                                         _NoPassword, _Refused)
from wizard.transport.ssh.liveness import DEAD_PEER_ENV, DEAD_PEER_SECONDS, dead_peer_seconds
from wizard.transport.ssh.streams import _LineSink, _Raw, _SudoGate
from wizard.transport.ssh.transport import PasswordProvider, SSHTransport

__all__ = ["SSHTransport", "PasswordProvider", "SudoPasswordError", "ConnectionLost",
           "CommandTimeout", "CommandInterrupted", "DEAD_PEER_SECONDS", "DEAD_PEER_ENV", "dead_peer_seconds"]
