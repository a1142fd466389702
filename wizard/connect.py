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
    if training:                    # the active scenario's host; its host key may need a yes
        from .training import connect as connect_sim
        return connect_sim(spec, accept=accept, ask=None if ask is None else (lambda e: _ask(ask, e)))
    from .transport.ssh import SSHTransport

    def provider(ref):
        if not ref:
            return None
        with _interactive:
            from . import secrets       # the keyring package: only for a host that needs it
            return secrets.get(ref)

    def trust(e: HostKeyError) -> bool:      # asked per unknown key (jump hosts too), in one run
        return e.fingerprint in accept or (ask is not None and _ask(ask, e))

    return SSHTransport(spec, password_provider=provider, trust_host_key=trust, **ssh_kw)    # connects


def _ask(ask: AskHostKey, e: HostKeyError) -> bool:
    with _interactive:
        return ask(e)


def _connect_many(hosts: list[HostSpec], *, parallel: int, stop_at_first: bool,
                  password_check=None, **kw) -> tuple[dict[str, Transport], dict[str, BaseException]]:
    """connect_one for each host, up to `parallel` handshakes at once (each mostly waits for
    its server): (transports, {host: error}), both in inventory order. An interrupt
    (Ctrl-C) closes what the handshakes opened and is raised."""
    out: dict[str, Transport] = {}
    failed: dict[str, BaseException] = {}

    def one(spec: HostSpec) -> None:
        try:
            if password_check is not None:
                password_check(spec)
            out[spec.name] = connect_one(spec, **kw)
        except BaseException as e:          # reported in inventory order
            failed[spec.name] = e
    try:
        if len(hosts) <= 1 or parallel <= 1 or kw.get("training"):
            for spec in hosts:
                one(spec)
                if failed and stop_at_first:
                    break
        else:
            pool = ThreadPoolExecutor(min(parallel, len(hosts)), thread_name_prefix="connect")
            try:
                for f in [pool.submit(one, spec) for spec in hosts]:
                    f.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown()
        interrupt = next((e for e in failed.values() if not isinstance(e, Exception)), None)
        if interrupt is not None:
            raise interrupt
    except BaseException:
        close_all(out)
        raise
    return ({s.name: out[s.name] for s in hosts if s.name in out},
            {s.name: failed[s.name] for s in hosts if s.name in failed})


def connect_all(hosts: list[HostSpec], *, parallel: int = 8, **kw) -> dict[str, Transport]:
    """Connect to every host, or to none: on a failure the open ones are closed and the
    error of the first failed host (inventory order) is raised. Handshakes run in parallel:
    one after another they cost a run with five hosts about a second (docs/benchmarks.md)."""
    out, failed = _connect_many(hosts, parallel=parallel, stop_at_first=True, **kw)
    if failed:
        close_all(out)
        raise next(iter(failed.values()))
    return out


def connect_each(hosts: list[HostSpec], *, parallel: int = 8, password_check=None,
                 **kw) -> tuple[dict[str, Transport], dict[str, BaseException]]:
    """Connect to every host that can be reached: (transports, {host: error}). One host that
    cannot be reached (no address, a refused login) does not keep the others from detection.
    `password_check(spec)` runs before a host's handshake (a missing keyring entry)."""
    return _connect_many(hosts, parallel=parallel, stop_at_first=False, password_check=password_check, **kw)


def close_all(transports: dict[str, Transport]) -> None:
    for t in transports.values():
        try:
            t.close()
        except Exception:       # closing is best effort; the run result is already known
            log.debug("close failed", exc_info=True)


def connect_all_while(first: Callable[[], object] | None, hosts: list[HostSpec],
                      **kw) -> dict[str, Transport]:
    """connect_all, with `first()` (unlocking the keyring and reading the answers' secrets)
    run at the same time: it holds the lock of the engineer's questions from the start, so
    a master password or a host key is still asked one at a time and the keyring comes
    first, while the handshakes (which need no secret) already run. An error of `first`
    wins (it was the first thing reported before); then every connection is closed.
    first=None: connect_all."""
    if first is None:
        return connect_all(hosts, **kw)
    out, wait = connect_all_beside(first, hosts, **kw)
    try:
        wait()
    except BaseException:
        close_all(out)
        raise
    return out


def connect_all_beside(first: Callable[[], object], hosts: list[HostSpec],
                       **kw) -> tuple[dict[str, Transport], Callable[[], None]]:
    """connect_all_while without waiting for `first` once every host is connected:
    (transports, wait); wait() joins it and raises its error (the caller closes the
    connections then). When a connection fails, `first` is waited for and its error wins.
    A login or sudo password from the keyring waits for `first` anyway: the password
    provider takes the same lock (connect_one)."""
    started = threading.Event()
    outcome: list = []

    def run_first() -> None:
        with _interactive:
            started.set()
            try:
                outcome.append(("ok", first()))
            except BaseException as e:      # handed to the caller's thread
                outcome.append(("error", e))
    worker = threading.Thread(target=run_first, name="keyring", daemon=True)
    worker.start()
    started.wait()

    def wait() -> None:
        worker.join()
        if outcome and outcome[0][0] == "error":
            raise outcome[0][1]
    try:
        out = connect_all(hosts, **kw)
    except BaseException:
        worker.join()
        if outcome and outcome[0][0] == "error":
            raise outcome[0][1] from None
        raise
    return out, wait


def connect_all_unlocking_later(answers, hosts: list[HostSpec], *,
                                prepare: Callable[[], None] | None = None,
                                **kw) -> tuple[dict[str, Transport], Callable[[], None]]:
    """connect_all while the keyring is unlocked and every secret of `answers` read
    (secrets.resolve_all), returning once the hosts are connected: (transports, wait), the
    keyring still being unlocked beside what comes next (detection, which is
    read-only and needs no secret but a login's sudo password, which waits for it);
    wait() before anything uses a secret. `prepare()` (choosing the keyring backend, which
    imports the keyring package) runs first on the same thread, off the way to the hosts."""
    if answers is None:
        if prepare is not None:
            prepare()
        return connect_all(hosts, **kw), lambda: None

    def unlock() -> None:
        if prepare is not None:
            prepare()
        from . import secrets
        secrets.resolve_all(answers)
    return connect_all_beside(unlock, hosts, **kw)
