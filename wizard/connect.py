"""Open one connection per inventory host (real SSH, or the simulated host in training)."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .errors import HostKeyError
from .transport.base import HostSpec, Transport

log = logging.getLogger("wizard.connect")

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

    def trust(e: HostKeyError) -> bool:      # asked per unknown key (jump hosts too), in one run
        return e.fingerprint in accept or (ask is not None and _ask(ask, e))

    return SSHTransport(spec, password_provider=provider, trust_host_key=trust, **ssh_kw)    # connects


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


def connect_each(hosts: list[HostSpec], *, parallel: int = 8, password_check=None,
                 **kw) -> tuple[dict[str, Transport], dict[str, BaseException]]:
    """Connect to every host that can be reached: (transports, {host: error}). One host that
    cannot be reached (no address, a refused login) does not keep the others from detection.
    `password_check(spec)` runs before a host's handshake (a missing keyring entry)."""
    out: dict[str, Transport] = {}
    failed: dict[str, BaseException] = {}

    def one(spec: HostSpec) -> None:
        try:
            if password_check is not None:
                password_check(spec)
            out[spec.name] = connect_one(spec, **kw)
        except Exception as e:              # reported per host
            failed[spec.name] = e
    if len(hosts) <= 1 or parallel <= 1 or kw.get("training"):
        for spec in hosts:
            one(spec)
    else:
        with ThreadPoolExecutor(min(parallel, len(hosts)), thread_name_prefix="connect") as pool:
            list(pool.map(one, hosts))
    return ({s.name: out[s.name] for s in hosts if s.name in out},
            {s.name: failed[s.name] for s in hosts if s.name in failed})


def close_all(transports: dict[str, Transport]) -> None:
    for t in transports.values():
        try:
            t.close()
        except Exception:       # closing is best effort; the run result is already known
            log.debug("close failed", exc_info=True)
