"""What detection and planning read on a host, listed up front for its batch (wizard.batch).

`items(answers, host)` names every file (stat and content) and every read-only check command
that wizard.facts and the steps read on a host of these roles; `followups(answers, host,
batch)` the checks that depend on what the first batch found (the CentOS release decides
between firewalld and iptables, the installed init script how the daemon is asked whether it
runs): at most two round trips per host. A read a step makes that is not listed
here still works (wizard.transport.batched reads it from the host and counts it);
tests/test_batch_e2e.py fails when a sample site needs one.
"""
from __future__ import annotations

import posixpath

from . import facts as F
from .batch import Batch, CmdItem, FileItem, Item


def _shared(answers) -> str:
    return answers.section("portal").get("shared_dir") or F.SHARED


def items(answers, host) -> list[Item]:
    """Round one: files and checks whose names follow from the answers and the roles."""
    from .planner import edited_paths
    from .steps import daemon, hazelcast, load_balancer
    roles = set(host.roles)
    shared = _shared(answers)
    files = ["/etc/redhat-release", "/etc/os-release"]
    cmds: list[CmdItem] = []
    files += edited_paths(answers, tuple(host.roles))
    cm = answers.section("clientmessenger")
    src, dest = cm["source"].rstrip("/"), cm["target"].rstrip("/")
    if "CHAT" in roles:
        # facts: Java, portal version, Windows-hosted repository
        cmds += [CmdItem(F.JAVA_RPM_QUERY), CmdItem(F.JAVA_VERSION_QUERY)]
        files += F.chat_fact_paths(shared)
        # 1. Java from a local RPM
        java = answers.section("java")
        if java.get("source") == "rpm" and java.get("rpm_path"):
            files.append(java["rpm_path"])
        # 2. ClientMessenger: the copy, a nested copy, files of other owners
        files += [src, dest, f"{dest}/{src.rsplit('/', 1)[-1]}"]
        if _on(answers, "clientmessenger"):
            cmds.append(CmdItem(_strangers(cm), sudo=True))
        # 3. the chat server's copy of hazelcast.xml (or its source while not copied yet)
        for base in (dest, src):
            files += [f"{base}/{hazelcast.CHAT_COPY_REL}",
                      posixpath.dirname(f"{base}/{hazelcast.CHAT_COPY_REL}")]
        files.append(f"{shared.rstrip('/')}/hazelcast.xml")    # the layout a fingerprint records
        # 4. the daemon: its script (installed, in the target, in the repository), data folders
        service = answers.section("daemon").get("service", "jtel-clientmessenger")
        files += [f"{daemon.INIT_DIR}/{service}", f"{dest}/init.d/{service}",
                  f"{src}/init.d/{service}", *daemon.DATADIR_PATHS.values()]
        if _on(answers, "daemon"):
            cmds.append(CmdItem(f"chkconfig --list {_q(service)}", sudo=True))
    if roles & set(hazelcast.MEMBER_ROLES):
        hz = answers.section("hazelcast")
        files += [f"{shared}/hazelcast.xml", "/proc/mounts"]
        try:
            files.append(hazelcast.legacy_path(hz, host))
        except Exception:           # a bad legacy path: the step says so while planning
            pass
        for role, name in hazelcast.SCRIPTS.items():
            if role in roles and _on(answers, "hazelcast"):
                cmds.append(CmdItem(f"PATH={hazelcast.SCRIPT_PATH}:$PATH; export PATH; "
                                    f"command -v {name}", sudo=True))
        if "TEL" in roles:
            service = hz.get("tel_service") or hazelcast.TEL_SERVICE
            files += [f"/etc/rc.d/init.d/{service}", f"/etc/init.d/{service}",
                      *(f"{d}/{service}.service" for d in ("/etc/systemd/system",
                                                            "/usr/lib/systemd/system"))]
    if "LB" in roles:
        cfg = load_balancer.config_path_of(answers)
        files.append(cfg)
        if _on(answers, "load_balancer") or _on(answers, "whatsapp"):
            cmds += [CmdItem("rpm -q haproxy"), CmdItem(f"haproxy -c -f {_q(cfg)}", sudo=True)]
    return [FileItem(p) for p in dict.fromkeys(files)] + list(dict.fromkeys(cmds))


def followups(answers, host, batch: Batch) -> list[Item]:
    """Round two, for what depends on round one: the firewall and haproxy checks of the
    host's CentOS release (running both kinds would cost a process each for nothing), and
    whether the ClientMessenger daemon runs, asked the way its installed init script allows
    (facts.detect_daemon)."""
    from .steps import daemon, firewall
    roles = set(host.roles)
    major = _major(batch)
    out: list[Item] = []
    if major is None:
        return out                  # no supported OS: detection stops there anyway
    firewall_on = answers.section("firewall").get("enabled", True) and _on(answers, "firewall")
    if roles & {"CHAT", "LB"} and firewall_on:
        if major >= 7:
            out += [CmdItem("firewall-cmd --state", sudo=True),
                    CmdItem(firewall.LIST_PERMANENT, sudo=True), CmdItem(firewall.LIST_LIVE, sudo=True)]
        else:
            out.append(CmdItem("iptables -S INPUT", sudo=True))
    if "LB" in roles and (_on(answers, "load_balancer") or _on(answers, "whatsapp")):
        out.append(CmdItem("systemctl is-active haproxy" if major >= 7 else "service haproxy status",
                           sudo=True))
    if "CHAT" in roles and _on(answers, "daemon"):
        service = answers.section("daemon").get("service", "jtel-clientmessenger")
        entry = batch.files.get(f"{daemon.INIT_DIR}/{service}")
        if entry is not None and entry.state == "ok":
            text = entry.content.decode("utf-8", errors="replace")
            if F.script_has_status(text):
                out.append(CmdItem(f"service {_q(service)} status", sudo=True))
            out.append(CmdItem(F.daemon_probe_command(F.script_pidfile(text, service)), sudo=True))
    return out


def _major(batch: Batch) -> int | None:
    """The CentOS release as facts.detect_os reads it, from the batch's files."""
    for path, parse in (("/etc/redhat-release", F.parse_redhat_release),
                        ("/etc/os-release", F.parse_os_release)):
        entry = batch.files.get(path)
        if entry is not None and entry.state == "ok":
            info = parse(entry.content.decode("utf-8", errors="replace"), path)
            if info is not None:
                return info.major
    return None


def _on(answers, section: str) -> bool:
    """The section is planned (not in sections.skip): only its checks run (each may cost a
    process on the host; files are read whatever the sections, they cost no process)."""
    return section not in (answers.section("sections").get("skip") or [])


def _strangers(cm: dict) -> str:
    from .steps.clientmessenger import strangers_command
    return strangers_command(cm)


def _q(s: str) -> str:
    import shlex
    return shlex.quote(s)
