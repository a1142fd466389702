"""Open one connection per inventory host (real SSH, or the simulated host in training)."""
from __future__ import annotations

import logging
from typing import Callable

from .errors import HostKeyError
from .transport.base import HostSpec, Transport

log = logging.getLogger("wizard.session")

# ask(host_error) -> True to trust the shown fingerprint (interactive), False to refuse
AskHostKey = Callable[[HostKeyError], bool]


def connect_one(spec: HostSpec, *, training: bool = False, accept: tuple[str, ...] = (),
                ask: AskHostKey | None = None, **ssh_kw) -> Transport:
    """A live transport to one host; an unknown host key is accepted only when its SHA256
    fingerprint is in `accept` or `ask` says yes; a changed key is always refused."""
    if training:
        from .transport.sim import SimTransport
        return SimTransport(spec)
    from . import secrets
    from .transport.ssh import SSHTransport

    def provider(ref):
        return secrets.get(ref) if ref else None

    try:
        t = SSHTransport(spec, password_provider=provider, **ssh_kw)
        t.connect()
        return t
    except HostKeyError as e:
        if e.changed:
            raise
        if e.fingerprint in accept or (ask is not None and ask(e)):
            t = SSHTransport(spec, password_provider=provider, accept_fingerprint=e.fingerprint, **ssh_kw)
            t.connect()
            return t
        raise


def connect_all(hosts: list[HostSpec], **kw) -> dict[str, Transport]:
    """Connect to every host, or to none: on a failure the open ones are closed."""
    out: dict[str, Transport] = {}
    try:
        for spec in hosts:
            out[spec.name] = connect_one(spec, **kw)
    except BaseException:
        close_all(out)
        raise
    return out


def close_all(transports: dict[str, Transport]) -> None:
    for t in transports.values():
        try:
            t.close()
        except Exception:       # closing is best effort; the run result is already known
            log.debug("close failed", exc_info=True)
