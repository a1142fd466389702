"""The transport's own exceptions (all TransportErrors; SudoPasswordError also a ConnectError)."""
from __future__ import annotations

from wizard.errors import ConnectError
from wizard.transport.base import CommandInterrupted, CommandResult, TransportError  # noqa: F401


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



class _Refused(Exception):
    """sudo asked for the password a second time (the first was wrong)."""


class _NoPassword(Exception):
    """sudo asked for a password and none is configured."""
