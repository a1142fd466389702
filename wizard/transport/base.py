"""What a host connection must do: run commands, read and write files.

Two implementations: `ssh.SSHTransport` (paramiko, real servers) and
`wizard.training.SimTransport` (an in-memory CentOS 7 for training mode). Steps and the
runner see only this interface.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from ..inventory import HostSpec   # re-exported: the transport connects with it

# on_output(stream, line): stream is "out" or "err"; line without its newline, secrets masked
OutputCallback = Callable[[str, str], None]


@dataclass(frozen=True)
class CommandResult:
    """What a finished command returned."""

    command: str                    # as displayed (masked)
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, n: int = 20) -> str:
        """The last n lines of output, for failure reports."""
        lines = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).splitlines()
        return "\n".join(lines[-n:])


@dataclass(frozen=True)
class FileStat:
    """Owner, mode and type of a path on a host."""

    path: str
    exists: bool
    is_dir: bool = False
    mode: int | None = None         # permission bits, e.g. 0o755
    owner: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """What a file write did: where the old content was saved, if anywhere."""

    path: str
    backup: str | None = None


BACKUP_ROOT = "/var/lib/chatwizard/backups"


class TransportError(Exception):
    """The connection broke or a transport operation failed (not a command's own exit code)."""


class CommandInterrupted(KeyboardInterrupt):
    """A command was interrupted (Ctrl-C, or Transport.interrupt() from the runner's cancel)
    and stopped on the host: nothing of it runs on there any more. A KeyboardInterrupt, so
    whatever ends a run on Ctrl-C still does; the runner catches it to mark the step
    "interrupted". `.host` the inventory name, `.result` the output so far (exit_code -1)."""

    def __init__(self, message: str, *, host: str, result: CommandResult):
        super().__init__(message)
        self.host, self.result = host, result

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Transport(Protocol):
    """A live connection to one host."""

    spec: HostSpec
    training: bool                  # True only for the simulated host

    def run(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputCallback | None = None,
            display: str | None = None) -> CommandResult:
        """Run a shell command (sh syntax); as root when sudo=True and the user is not root.
        `display` is the masked form shown in events and logs (default: mask(command)).
        Ctrl-C during the command stops it on the host and raises CommandInterrupted."""

    def interrupt(self) -> None:
        """Stop the command running now (any thread): its run() raises CommandInterrupted
        once it is stopped on the host. No effect when no command runs."""

    def read_file(self, path: str, *, sudo: bool = False) -> bytes | None:
        """The file's bytes, or None when it does not exist."""

    def stat(self, path: str) -> FileStat:
        """Type, mode and owner of a path (exists=False when absent)."""

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, owner: str | None = None,
                   group: str | None = None, backup: bool = True) -> WriteResult:
        """Atomically replace `path`: the data in a private temp place beside it, owner/mode
        set there (never through a link another user could put in), renamed in. A `path`
        that is a symbolic link or a folder is refused (TransportError naming it).
        With backup=True an existing file is first copied to
        `/var/lib/chatwizard/backups/<YYYYmmddTHHMMSSZ>/<path>` (not beside it: a copy in
        /etc/init.d would itself be an init script), and WriteResult.backup names it."""

    def close(self) -> None:
        """Close the connection."""
