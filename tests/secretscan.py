"""The standard test secrets, and a scan for them after every end-to-end test (a pytest plugin).

Loaded by tests/conftest.py (`pytest_plugins = ["secretscan"]`). End-to-end tests store
these values in the keyring (and as the sudo user's password), so that every place a secret
could leak to is checked with values full of shell and URL metacharacters:

    from secretscan import DB_PASSWORD, SUDO_PASSWORD, TYNTEC_API_KEY, KEYRING_PASSWORD

After the call phase of every test that uses test hosts (the `host_factory` fixture, or a
fixture value that is a HostFactory / TestHost or has `scan_hosts`), while the hosts still
run, the scan looks for every standard secret in

- OUR files: everything under the test's `tmp_path` (private HOME, ssh config, answers
  files, the encrypted keyring, journals and logs of CLI runs), the tool's dirs
  (CHATWIZARD_STATE_DIR / CHATWIZARD_LOG_DIR / CHATWIZARD_KEYRING_FILE's folder when set,
  else the platform folders: files changed during the test), the folders of any `Env`-like
  fixture (`home`, `state`, `logs`, `answers`) and paths registered with `track()`;
- every test host's shell histories (`/root/.*history`, `/home/*/.*history`);
- the argv of every process on the test hosts: sampled from the machine's /proc all through
  the test (cheap: no SSH), plus the `ps -eo args` samples taken with `argv_sampler()`;
- the shim call log of every host (argv, cwd, output of yum/rpm/service/java/...).

In our files and the histories it looks for every form a secret can take: raw,
percent-encoded (Connector/J's encoding in either hex case, urllib's quote and quote_plus)
and shell-escaped (backslash-escaped, single-quoted, double-quote-escaped, and the
percent-encoded form escaped for the init script line). In process argv and the shim log
only the raw and shell-escaped raw forms count: the ClientMessenger daemon's own command
line on the target legitimately carries the percent-encoded DB password, because the
target's /etc/init.d/jtel-clientmessenger holds it (the procedure puts the JDBC URL there).
That init script (and its backups under /var/lib/chatwizard/backups on the target) are the
only places the password belongs, so target files other than the histories are not
scanned at all.

A finding fails the test naming the secret, its form and the file (or host and process);
the secret itself is never printed.
"""
from __future__ import annotations

import os
import re
import shlex
import string
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

# ---------------------------------------------------------------- the standard test secrets

SUDO_PASSWORD = "Sud0 p&ss'\"$\\%#+"          # the sudo user's login and sudo password
DB_PASSWORD = "db r00t&% +#'\"$\\` pw"       # daemon.db_password (goes into the JDBC URL)
TYNTEC_API_KEY = "tt Key&'\"$\\%#+7f3a9c2e"  # whatsapp.api_key (an HTTP header value)
KEYRING_PASSWORD = "master pw&'\"$\\%#+ 4 tests"   # the encrypted file keyring's master password

SECRETS = {"SUDO_PASSWORD": SUDO_PASSWORD, "DB_PASSWORD": DB_PASSWORD,
           "TYNTEC_API_KEY": TYNTEC_API_KEY, "KEYRING_PASSWORD": KEYRING_PASSWORD}

__all__ = ["SUDO_PASSWORD", "DB_PASSWORD", "TYNTEC_API_KEY", "KEYRING_PASSWORD", "SECRETS",
           "forms", "track", "argv_sampler", "sample_argv", "scan_files", "scan_hosts",
           "scan_samples", "ProcWatcher", "findings"]

# ---------------------------------------------------------------- the forms a secret takes

_URL_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._")
_SHELL_SAFE = frozenset(string.ascii_letters + string.digits + "%+,-./:=@_")


def _percent(value: str) -> str:
    """Connector/J's form (computed here, not with the wizard's code: a bug there must not
    hide a leak here): only A-Z a-z 0-9 - . _ literal, the rest %XX of the UTF-8 bytes."""
    return "".join(chr(b) if chr(b) in _URL_UNRESERVED else "%%%02X" % b
                   for b in value.encode("utf-8"))


def _backslashed(value: str) -> str:
    return "".join(c if c in _SHELL_SAFE else "\\" + c for c in value)


def forms(value: str) -> dict[str, dict[str, bytes]]:
    """{"argv": {kind: form}, "files": {kind: form}}: the forms that must not appear in a
    process argv / the shim log, and (a superset) in our files and the histories."""
    enc = _percent(value)
    raw_like = {"raw": value, "backslash-escaped": _backslashed(value),
                "single-quoted": shlex.quote(value),
                "single-quote-escaped": value.replace("'", "'\\''"),
                "double-quote-escaped": re.sub(r'([\\"$`])', r"\\\1", value)}
    encoded = {"percent-encoded": enc,
               "percent-encoded (lower-case hex)": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), enc),
               "urllib-quoted": quote(value, safe=""), "quote_plus-encoded": quote_plus(value, safe=""),
               "percent-encoded, shell-escaped": _backslashed(enc)}
    argv = {k: v.encode() for k, v in raw_like.items()}
    files = dict(argv, **{k: v.encode() for k, v in encoded.items()})
    return {"argv": _dedupe(argv), "files": _dedupe(files)}


def _dedupe(d: dict[str, bytes]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for k, v in d.items():
        if v not in out.values():
            out[k] = v
    return out


_FORMS = {name: forms(value) for name, value in SECRETS.items()}


def _table(secrets: dict[str, str] | None) -> dict[str, dict[str, dict[str, bytes]]]:
    return _FORMS if secrets is None else {n: forms(v) for n, v in secrets.items()}


def _find(data: bytes, where: str, kind: str, table=None) -> list[str]:
    """Findings ("SECRET (form) in WHERE") of every secret form in data."""
    out = []
    for name, f in (table or _FORMS).items():
        for form_kind, form in f[kind].items():
            if form in data:
                out.append(f"{name} ({form_kind}) in {where}")
                break
    return out


# ---------------------------------------------------------------- per-test state

class _State:
    def __init__(self):
        self.tracked: list[Path] = []          # registered with track(): scanned until gone
        self.start = time.time()
        self.samples: list[tuple[str, str]] = []      # (host, argv text) from argv_sampler


_state = _State()


def track(*paths: os.PathLike | str) -> None:
    """Scan these files/folders (answers files, a private HOME, tool dirs of a shared site)
    after every scanned test from now on, for as long as they exist."""
    for p in paths:
        p = Path(p)
        if p not in _state.tracked:
            _state.tracked.append(p)


# ---------------------------------------------------------------- argv samplers

class argv_sampler:
    """`ps -eo args` on each host, over one SSH connection per host, in a background thread
    while the block runs (as root: every user's processes). `.samples` holds (host name,
    output); they are also scanned after the test.

        with argv_sampler(th) as seen:
            env.run("apply", ..., "--yes")
        assert seen.samples
    """

    def __init__(self, *hosts, interval: float = 0.05):
        self.hosts, self.interval = hosts, interval
        self.samples: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _watch(self, th) -> None:
        from testhost import exec_cmd
        client = th.connect("root")
        try:
            while True:
                rc, out, _ = exec_cmd(client, "ps -eo args")
                if rc == 0:
                    self.samples.append((th.name, out))
                if self._stop.wait(self.interval):
                    break
        finally:
            client.close()

    def __enter__(self):
        for th in self.hosts:
            t = threading.Thread(target=self._watch, args=(th,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        _state.samples.extend(self.samples)
        return False


def sample_argv(hosts, fn, *args, interval: float = 0.05, **kwargs):
    """(fn(*args, **kwargs), samples): fn runs while argv_sampler watches `hosts`."""
    hosts = hosts if isinstance(hosts, (list, tuple)) else [hosts]
    with argv_sampler(*hosts, interval=interval) as s:
        result = fn(*args, **kwargs)
    return result, s.samples


class ProcWatcher:
    """Every process's argv on the test hosts, read from the machine's /proc (the hosts are
    pid namespaces of this machine) every `interval` seconds while the test runs."""

    def __init__(self, hosts_fn, interval: float = 0.05):
        self.hosts_fn, self.interval = hosts_fn, interval
        self.seen: dict[bytes, str] = {}             # argv -> host name (first seen)
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _namespaces(self) -> dict[str, str]:
        out = {}
        for th in self.hosts_fn():
            info = getattr(th, "info", None)
            if not info:
                continue
            try:
                out[os.readlink("/proc/%s/ns/pid" % info["TH_INIT_PID"])] = th.name
            except OSError:
                continue
        return out

    def sample(self) -> None:
        ns = self._namespaces()
        if not ns:
            return
        self.rounds += 1
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                host = ns.get(os.readlink("/proc/%s/ns/pid" % d))
                if host is None:
                    continue
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read()
            except OSError:
                continue
            if argv and argv not in self.seen and len(self.seen) < 100000:
                self.seen[argv] = host

    def findings(self, secrets: dict[str, str] | None = None) -> list[str]:
        table = _table(secrets)
        return [f for argv, host in list(self.seen.items())
                for f in _find(argv.replace(b"\0", b" "), f"a process argv on host {host}", "argv", table)]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:       # a host going away mid-sample: next round
                pass

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# ---------------------------------------------------------------- the scans

def _files_under(p: Path, since: float | None):
    if p.is_file():
        yield p
        return
    if not p.is_dir():
        return
    for root, _, names in os.walk(p):
        for n in names:
            f = Path(root, n)
            try:
                if not f.is_file() or (since is not None and f.stat().st_mtime < since):
                    continue
            except OSError:
                continue
            yield f


def scan_files(paths, since: float | None = None, secrets: dict[str, str] | None = None) -> list[str]:
    """Findings in every file under `paths` (files changed since `since` when given);
    `secrets` ({name: value}) instead of the standard ones."""
    table = _table(secrets)
    found, seen = [], set()
    for p in paths:
        for f in _files_under(Path(p), since):
            if f in seen:
                continue
            seen.add(f)
            try:
                data = f.read_bytes()
            except OSError:
                continue
            found += _find(data, str(f), "files", table)
    return found


def _histories(th) -> list[str]:
    """Shell histories on a host (/root and /home/* dot files named *history*)."""
    out = []
    homes = ["/root"]
    try:
        homes += ["/home/" + u for u in sorted(os.listdir(th.path("/home")))]
    except OSError:
        pass
    for h in homes:
        try:
            names = os.listdir(th.path(h))
        except OSError:
            continue
        out += [f"{h}/{n}" for n in names if n.startswith(".") and "history" in n]
    return out


def scan_hosts(hosts, secrets: dict[str, str] | None = None) -> list[str]:
    """Findings in the hosts' shell histories and shim call logs."""
    table = _table(secrets)
    found = []
    for th in hosts:
        if not getattr(th, "info", None):
            continue
        label = f"{th.name} ({th.hostname})" if hasattr(th, "hostname") else th.name
        for p in _histories(th):
            try:
                data = th.read(p, binary=True)
            except OSError:
                continue
            found += _find(data, f"host {label}: {p}", "files", table)
        try:
            calls = th.calls()
        except (OSError, ValueError):
            calls = []
        for c in calls:
            text = " ".join([*(c.get("argv") or []), str(c.get("cwd") or ""), str(c.get("out") or ""),
                             str(c.get("err") or "")])
            found += _find(text.encode("utf-8", "surrogateescape"),
                           f"host {label}: shim call log ({c.get('cmd')} #{c.get('seq')})", "argv", table)
    return found


def scan_samples(samples, secrets: dict[str, str] | None = None) -> list[str]:
    """Findings in argv_sampler's (host, `ps -eo args` output) samples."""
    table = _table(secrets)
    return [f for host, text in samples
            for f in _find(text.encode(), f"`ps -eo args` on host {host}", "argv", table)]


def _tool_dirs(since: float) -> list[tuple[Path, float | None]]:
    """(folder, since) of the tool's own folders as this process sees them now."""
    out: list[tuple[Path, float | None]] = []
    try:
        from platformdirs import user_data_dir, user_log_dir, user_state_dir
        defaults = {"CHATWIZARD_STATE_DIR": user_state_dir("chatwizard"),
                    "CHATWIZARD_LOG_DIR": user_log_dir("chatwizard")}
        data = user_data_dir("chatwizard")
    except ImportError:
        defaults, data = {}, None
    for var, default in defaults.items():
        out.append((Path(os.environ.get(var) or default), since))
    kf = os.environ.get("CHATWIZARD_KEYRING_FILE")
    if kf:
        out.append((Path(kf).parent, since))
    elif data:
        out.append((Path(data), since))
    return out


def _hosts_of(item) -> list:
    """Test hosts the test used: host_factory's, and those of other fixture values."""
    hosts = []
    for v in getattr(item, "funcargs", {}).values():
        if type(v).__name__ == "HostFactory":
            hosts += list(v.hosts)
        elif type(v).__name__ == "TestHost":
            hosts.append(v)
        elif hasattr(v, "scan_hosts"):
            hosts += list(v.scan_hosts())
    return list(dict.fromkeys(hosts))


def _env_dirs(item) -> list[Path]:
    """Folders of Env-like fixtures (tests/test_e2e_cli.py's Env: home, state, logs, answers)."""
    out = []
    for v in getattr(item, "funcargs", {}).values():
        for attr in ("home", "state", "logs", "answers"):
            p = getattr(v, attr, None)
            if isinstance(p, Path):
                out.append(p)
    return out


def _uses_hosts(item) -> bool:
    return "host_factory" in getattr(item, "fixturenames", ()) or bool(_hosts_of(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    _state.start = time.time() - 1.0          # mtime granularity
    _state.samples = []
    return (yield)


def findings(item, watcher: ProcWatcher) -> list[str]:
    """Everything the scan finds for a test that used test hosts (see the module doc)."""
    found = []
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if isinstance(tmp, Path):
        found += scan_files([tmp])
    found += scan_files(_env_dirs(item) + [p for p in _state.tracked if p.exists()])
    for d, since in _tool_dirs(_state.start):
        found += scan_files([d], since=since)
    found += scan_hosts(_hosts_of(item))
    watcher.sample()                          # one last look while the hosts still run
    found += watcher.findings()
    found += scan_samples(_state.samples)
    return list(dict.fromkeys(found))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _uses_hosts(item):
        return (yield)
    watcher = ProcWatcher(lambda: _hosts_of(item)).start()
    try:
        result = yield
    finally:
        watcher.stop()
    # the test passed (a failed test keeps its own failure): scan while the hosts still run
    t0 = time.perf_counter()
    found = findings(item, watcher)
    item.user_properties.append(("secretscan", {
        "seconds": round(time.perf_counter() - t0, 3), "hosts": len(_hosts_of(item)),
        "argv_rounds": watcher.rounds, "argv_seen": len(watcher.seen)}))
    if found:
        pytest.fail("secret scan: a test secret leaked (the value is not shown):\n  "
                    + "\n  ".join(found[:30])
                    + (f"\n  ... and {len(found) - 30} more" if len(found) > 30 else ""),
                    pytrace=False)
    return result
