"""Open one connection per inventory host (real SSH, or the simulated host in training)."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .errors import HostKeyError
from .transport.base import HostSpec, Transport

log = logging.getLogger("wizard.session")

# ask(host_error) -> True to trust the shown fingerprint (interactive), False to refuse
AskHostKey = Callable[[HostKeyError], bool]

# connections are opened in parallel: questions to the engineer (host keys, passwords from a
# prompting keyring) are asked one at a time
_interactive = threading.Lock()


def connect_one(spec: HostSpec, *, training: bool = False, accept: tuple[str, ...] = (),
                ask: AskHostKey | None = None, **ssh_kw) -> Transport:
    """A live transport to one host; an unknown host key is accepted only when its SHA256
    fingerprint is in `accept` or `ask` says yes; a changed key is always refused."""
    if training:
        from .training import SimTransport
        return SimTransport(spec)
    from . import secrets
    from .transport.ssh import SSHTransport

    def provider(ref):
        if not ref:
            return None
        with _interactive:
            return secrets.get(ref)

    try:
        return SSHTransport(spec, password_provider=provider, **ssh_kw)    # connects
    except HostKeyError as e:
        if e.changed:
            raise
        if e.fingerprint in accept or (ask is not None and _ask(ask, e)):
            return SSHTransport(spec, password_provider=provider, accept_fingerprint=e.fingerprint, **ssh_kw)
        raise


def _ask(ask: AskHostKey, e: HostKeyError) -> bool:
    with _interactive:
        return ask(e)


def connect_all(hosts: list[HostSpec], *, parallel: int = 8, **kw) -> dict[str, Transport]:
    """Connect to every host, or to none: on a failure the open ones are closed and the
    error of the first failed host (inventory order) is raised. Up to `parallel` handshakes
    run at once: each mostly waits for its server, and one after another they cost a run
    with five hosts about a second (docs/benchmarks.md)."""
    out: dict[str, Transport] = {}
    if len(hosts) <= 1 or parallel <= 1 or kw.get("training"):
        try:
            for spec in hosts:
                out[spec.name] = connect_one(spec, **kw)
        except BaseException:
            close_all(out)
            raise
        return out
    failed: dict[str, BaseException] = {}

    def one(spec: HostSpec) -> None:
        try:
            out[spec.name] = connect_one(spec, **kw)
        except BaseException as e:          # reported below, in inventory order
            failed[spec.name] = e

    pool = ThreadPoolExecutor(min(parallel, len(hosts)), thread_name_prefix="connect")
    try:
        for f in [pool.submit(one, spec) for spec in hosts]:
            f.result()
    except BaseException:                   # interrupted: close what the handshakes opened
        pool.shutdown(wait=True, cancel_futures=True)
        close_all(out)
        raise
    pool.shutdown()
    if failed:
        close_all(out)
        raise failed[next(s.name for s in hosts if s.name in failed)]
    return {spec.name: out[spec.name] for spec in hosts}


def close_all(transports: dict[str, Transport]) -> None:
    for t in transports.values():
        try:
            t.close()
        except Exception:       # closing is best effort; the run result is already known
            log.debug("close failed", exc_info=True)
