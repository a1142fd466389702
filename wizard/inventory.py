"""The inventory's view of one host: how to reach it and its roles.

Neutral ground between the answers file (which builds these) and the transports (which
connect with them): neither imports the other for it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostSpec:
    """How to reach one host of the inventory (no secret values, only keyring keys)."""

    name: str                       # inventory name, e.g. "chat1"
    address: str                    # address or ~/.ssh/config alias
    port: int | None = None         # None: from ~/.ssh/config, else 22
    user: str | None = None         # None: from ~/.ssh/config, else the local user
    key_file: str | None = None     # private key path; None: ssh config / agent
    password_ref: str | None = None # keyring key of the login (and sudo) password
    become: str = "root"            # "root": user is root; "sudo": commands needing root use sudo
    roles: tuple[str, ...] = ()
