"""Detection: what a host is and holds, read without changing anything.

Each fact is a read (a command or a file) plus a pure parser, so the parsers are
tested on recorded outputs and the gathering is tested on real hosts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import PlanError
from .transport.base import Transport
from .i18n import _

SHARED = "/home/jtel/shared"
PORTAL_DIR = "JTELCarrierPortal"
CM_SOURCE = f"{SHARED}/{PORTAL_DIR}/Utils/Install/ClientMessenger"
CM_TARGET = "/home/jtel/ClientMessenger"
INIT_SCRIPT_REL = "init.d/jtel-clientmessenger"


@dataclass(frozen=True)
class OSInfo:
    """Distribution and major version."""

    name: str            # "CentOS", "Red Hat Enterprise Linux", ...
    major: int
    version: str         # "6.10", "7.9.2009"
    source: str          # file it came from


@dataclass(frozen=True)
class Java:
    """Whether a Java 8 is installed, and what showed it."""

    java8: bool
    detail: str


@dataclass(frozen=True)
class PortalVersion:
    """The portal release and where it was read (or "answers" / "asked")."""

    version: str | None
    source: str

    def tuple(self) -> tuple[int, int] | None:
        return version_tuple(self.version) if self.version else None


@dataclass
class HostFacts:
    """Everything detected on one host."""

    host: str
    os: OSInfo
    java: Java | None = None
    portal: PortalVersion | None = None
    windows_repo: bool = False
    windows_reasons: list[str] = field(default_factory=list)
    exists: dict[str, bool] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)   # section-specific facts
    # the host's reads as one batch (wizard.transport.batched.BatchedTransport), which
    # planning reads from; None when detected read by read
    reader: object = field(default=None, repr=False, compare=False)

    def summary(self) -> list[str]:
        """Human lines for the preview and the detection screen."""
        out = [_("OS: {name} {version} (from {source})").format(
            name=self.os.name, version=self.os.version, source=self.os.source)]
        if self.java is not None:
            out.append((_("Java 8: yes ({detail})") if self.java.java8 else
                        _("Java 8: no ({detail})")).format(detail=self.java.detail))
        if self.portal is not None:
            out.append(_("portal version: {version} (from {source})").format(
                version=self.portal.version or _("unknown"), source=self.portal.source))
        if self.windows_reasons:
            out.append(_("repositories hosted on Windows: {reasons}").format(
                reasons="; ".join(self.windows_reasons)))
        for p, ok in sorted(self.exists.items()):
            out.append((_("exists: {path}") if ok else _("missing: {path}")).format(path=p))
        return out


# -- pure parsers ----------------------------------------------------------------------------

_RELEASE = re.compile(r"^(?P<name>.+?) (?:Linux )?release (?P<ver>(?P<major>\d+)(?:\.\d+)*)")


def parse_redhat_release(text: str, source: str = "/etc/redhat-release") -> OSInfo | None:
    """'CentOS release 6.10 (Final)' / 'CentOS Linux release 7.9.2009 (Core)' → OSInfo."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    m = _RELEASE.match(line)
    if not m:
        return None
    return OSInfo(m["name"].strip(), int(m["major"]), m["ver"], source)


def parse_os_release(text: str, source: str = "/etc/os-release") -> OSInfo | None:
    """/etc/os-release (CentOS 7 has it, 6 does not) → OSInfo."""
    kv = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            kv[k.strip()] = v.strip().strip('"').strip("'")
    ver = kv.get("VERSION_ID")
    if not ver or not ver.split(".")[0].isdigit():
        return None
    return OSInfo(kv.get("NAME", kv.get("ID", "Linux")), int(ver.split(".")[0]), ver, source)


_JAVA_VERSION = re.compile(r'(?:java|openjdk) version "(?P<v>[^"]+)"')


def parse_java(rpm_out: str, java_out: str) -> Java:
    """`rpm -q …` and `java -version 2>&1` outputs → Java 8 present?"""
    pkgs = [l.strip() for l in rpm_out.splitlines()
            if l.strip() and "not installed" not in l and not l.startswith("error")]
    java8_pkgs = [p for p in pkgs if p.startswith(("jdk1.8", "jdk-1.8", "java-1.8.0"))]
    if java8_pkgs:
        return Java(True, _("package {names}").format(names=", ".join(java8_pkgs)))
    m = _JAVA_VERSION.search(java_out)
    if m:
        v = m["v"]
        if v.startswith("1.8."):
            return Java(True, f"java -version: {v}")
        return Java(False, _("java -version: {version} (not Java 8)").format(version=v))
    return Java(False, _("no Java 8 package and no java on PATH"))


_VERSION = re.compile(r"\b(3\.\d{1,2}(?:\.\d+)*)\b")


def version_tuple(v: str) -> tuple[int, int]:
    """'3.26.1' → (3, 26)."""
    parts = [int(p) for p in re.findall(r"\d+", v)[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def parse_portal_version(text: str) -> str | None:
    """A manifest (`Implementation-Version: 3.26.0`) or version file (`3.26`) → '3.26.0'."""
    for line in text.splitlines():
        key, _, val = line.partition(":")
        if key.strip() in ("Implementation-Version", "Specification-Version", "Bundle-Version"):
            m = _VERSION.search(val)
            if m:
                return m[1]
    stripped = text.strip()
    m = re.fullmatch(r"(?:v|version\s*[:=]?\s*)?(3\.\d{1,2}(?:\.\d+)*)", stripped, re.I)
    return m[1] if m else None


def parse_mounts(text: str, path: str) -> tuple[str, str] | None:
    """/proc/mounts → (mount point, fs type) of the mount holding `path`."""
    best = None
    for line in text.splitlines():
        f = line.split()
        if len(f) < 3:
            continue
        mnt = f[1].replace("\\040", " ")
        if path == mnt or path.startswith(mnt.rstrip("/") + "/"):
            if best is None or len(mnt) > len(best[0]):
                best = (mnt, f[2])
    return best


NETWORK_FS = ("cifs", "smb3", "smbfs")


# -- gathering ---------------------------------------------------------------------------------

def _read_text(t: Transport, path: str) -> str | None:
    # /home/jtel is often 0700: a sudo login must read as root
    data = t.read_file(path, sudo=True)
    return None if data is None else data.decode("utf-8", errors="replace")


def detect_os(t: Transport) -> OSInfo:
    """OS from /etc/redhat-release, cross-checked with /etc/os-release where it exists."""
    rel = _read_text(t, "/etc/redhat-release")
    info = parse_redhat_release(rel, "/etc/redhat-release") if rel else None
    if info is None:
        osr = _read_text(t, "/etc/os-release")
        info = parse_os_release(osr) if osr else None
    if info is None:
        raise PlanError(_("host {host}: neither /etc/redhat-release nor /etc/os-release names "
                          "a CentOS/RHEL release; the CHAT role needs CentOS 6 or 7").format(
                              host=t.spec.name))
    if info.major not in (6, 7):
        raise PlanError(_("host {host}: {name} {version} (from {source}) is not "
                          "supported; the procedure is written for CentOS 6 and 7").format(
                              host=t.spec.name, name=info.name, version=info.version,
                              source=info.source))
    return info


# the two read-only checks of Java 8 (wizard.probes and wizard.fingerprint batch them as is)
JAVA_RPM_QUERY = "rpm -q jdk1.8 jdk1.8.0_202 java-1.8.0-openjdk"
JAVA_VERSION_QUERY = "java -version 2>&1"


def detect_java(t: Transport) -> Java:
    """Java 8 from the rpm database or `java -version`."""
    rpm = t.run(JAVA_RPM_QUERY, timeout=60)
    jv = t.run(JAVA_VERSION_QUERY, timeout=60)
    return parse_java(rpm.stdout, jv.stdout if jv.exit_code != 127 else "")


def portal_candidates(shared: str = SHARED) -> list[str]:
    """Files that carry the portal release, best first."""
    base = f"{shared}/{PORTAL_DIR}"
    return [f"{base}/WebServer/META-INF/MANIFEST.MF", f"{base}/META-INF/MANIFEST.MF",
            f"{base}/version.txt", f"{base}/VERSION"]


def chat_fact_paths(shared: str = SHARED) -> list[str]:
    """Every file detect_os, detect_portal_version and detect_windows_repo read (for a batch)."""
    return ["/etc/redhat-release", "/etc/os-release", *portal_candidates(shared),
            *_windows_probe_paths(shared), "/proc/mounts"]


def _windows_probe_paths(shared: str) -> tuple[str, str]:
    return (f"{CM_TARGET}/{INIT_SCRIPT_REL}",
            f"{shared}/{PORTAL_DIR}/Utils/Install/ClientMessenger/{INIT_SCRIPT_REL}")


def detect_portal_version(t: Transport, shared: str = SHARED) -> PortalVersion:
    """The first candidate file that names a 3.x release."""
    for path in portal_candidates(shared):
        text = _read_text(t, path)
        if text:
            v = parse_portal_version(text)
            if v:
                return PortalVersion(v, f"{t.spec.name}:{path}")
    return PortalVersion(None, _("not found on {host} in {paths}").format(
        host=t.spec.name, paths=", ".join(portal_candidates(shared))))


def detect_windows_repo(t: Transport, shared: str = SHARED) -> list[str]:
    """Reasons to believe the repositories live on a Windows machine (empty: they don't)."""
    reasons = []
    for path in _windows_probe_paths(shared):
        data = t.read_file(path, sudo=True)
        if data is not None:
            if b"\r\n" in data:
                reasons.append(_("{path} has CRLF line endings").format(path=path))
            break
    mounts = _read_text(t, "/proc/mounts") or ""
    m = parse_mounts(mounts, shared)
    if m and m[1] in NETWORK_FS:
        reasons.append(_("{path} is a {fs} mount ({source})").format(path=shared, fs=m[1], source=m[0]))
    return reasons


def gather(t: Transport, *, roles: tuple[str, ...], paths: tuple[str, ...] = (),
           shared: str = SHARED) -> HostFacts:
    """All facts one host needs for the plan; read-only."""
    facts = HostFacts(t.spec.name, detect_os(t))
    if "CHAT" in roles:
        facts.java = detect_java(t)
        facts.portal = detect_portal_version(t, shared)
        facts.windows_reasons = detect_windows_repo(t, shared)
        facts.windows_repo = bool(facts.windows_reasons)
    for p in paths:
        facts.exists[p] = t.stat(p).exists
    return facts


# -- is the ClientMessenger daemon running? ------------------------------------------------------
#
# `service NAME status` alone is not trusted: a script without a status action prints its usage
# line and exits non-zero, which reads as "stopped" and would start a second JVM. Running means
# the pid file's process is alive or a ClientMessenger JVM runs.

# a java command line of ClientMessenger; the bracket classes keep the pattern from matching the
# shell (and sudo) that runs pgrep, whose own command lines hold the pattern's text
CM_PROCESS_PATTERN = r"(^|/)java .*(de[.]jtel[.]platform[.]clientmessenger|ClientMessenger[.]jar)"

_STATUS_CASE = re.compile(r"^\s*(?:\(?\s*)?(?:[\w*|-]+\|)*status(?:\|[\w*|-]+)*\s*\)", re.M)
_PIDFILE_ASSIGN = re.compile(r"^\s*(?:export\s+)?PIDFILE=(['\"]?)([^'\"\s;]+)\1\s*(?:#.*)?$", re.M)
_PIDFILE_HEADER = re.compile(r"^#\s*pidfile:\s*(\S+)", re.M)


@dataclass(frozen=True)
class DaemonState:
    """Whether the ClientMessenger daemon runs, and what showed it."""

    running: bool
    how: str                      # "service status", "pid file P (pid N)", "process N", "nothing runs"
    pids: tuple[int, ...] = ()    # ClientMessenger JVMs found (pid file first)
    status_action: bool = True    # the init script has a `status` action
    status_rc: int | None = None  # `service NAME status` exit code (None: not asked)
    pidfile: str = ""


def script_has_status(text: str) -> bool:
    """The init script's `case "$1"` handles `status` (e.g. `status)` or `status|info)`)."""
    return bool(_STATUS_CASE.search(text.replace("\r", "")))


def script_pidfile(text: str, service: str) -> str:
    """The pid file the init script writes: its `PIDFILE=` ($NAME/${NAME} resolved), else its
    `# pidfile:` header, else /var/run/SERVICE.pid."""
    text = text.replace("\r", "")
    names = {"NAME": service, "prog": service, "SERVICE": service}
    for m in _NAME_ASSIGN.finditer(text):
        names[m.group(1)] = m.group(3)
    for rx, group in ((_PIDFILE_ASSIGN, 2), (_PIDFILE_HEADER, 1)):
        m = rx.search(text)
        if m:
            value = re.sub(r"\$\{?(\w+)\}?", lambda v: names.get(v.group(1), v.group(0)), m.group(group))
            if value.startswith("/") and "$" not in value:
                return value
    return f"/var/run/{service}.pid"


_NAME_ASSIGN = re.compile(r"^\s*(NAME|prog|SERVICE)=(['\"]?)([\w.-]+)\2\s*$", re.M)


def daemon_probe_command(pidfile: str) -> str:
    """One read-only command: `pidfile PID` when the pid file's process is alive, then
    `process PID` per ClientMessenger JVM (pgrep -f)."""
    import shlex
    return (f"read -r p _ 2>/dev/null < {shlex.quote(pidfile)}; case $p in ''|*[!0-9]*) ;; "
            '*) kill -0 "$p" 2>/dev/null && echo "pidfile $p" ;; esac; '
            f"pgrep -f {shlex.quote(CM_PROCESS_PATTERN)} | sed 's/^/process /'; true")


def parse_daemon_probe(out: str) -> tuple[int | None, tuple[int, ...]]:
    """(the pid file's live pid or None, the ClientMessenger JVM pids)."""
    pid, procs = None, []
    for line in out.splitlines():
        kind, _, value = line.strip().partition(" ")
        if value.isdigit():
            if kind == "pidfile":
                pid = int(value)
            elif kind == "process":
                procs.append(int(value))
    return pid, tuple(procs)


def detect_daemon(t: Transport, service: str, script_text: str | None) -> DaemonState:
    """Running: `service status` says so, or the pid file's process lives, or a ClientMessenger
    JVM runs. A script without a status action is not asked for one."""
    import shlex
    text = script_text or ""
    has_status = script_has_status(text) if script_text is not None else True
    pidfile = script_pidfile(text, service)
    rc = None
    if has_status:
        rc = t.run(f"service {shlex.quote(service)} status", sudo=True, timeout=60).exit_code
    probe = t.run(daemon_probe_command(pidfile), sudo=True, timeout=60)
    pid, procs = parse_daemon_probe(probe.stdout)
    pids = tuple(dict.fromkeys(([pid] if pid else []) + list(procs)))
    if pid:
        how = _("pid file {pidfile} (pid {pid})").format(pidfile=pidfile, pid=pid)
    elif procs:
        how = _("ClientMessenger JVM {pids}").format(pids=", ".join(f"pid {p}" for p in procs))
    elif rc == 0:
        how = _("service status")
    else:
        how = _("nothing runs")
    return DaemonState(running=bool(pids) or rc == 0, how=how, pids=pids, status_action=has_status,
                       status_rc=rc, pidfile=pidfile)
