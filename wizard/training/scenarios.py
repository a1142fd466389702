"""Training scenarios: the simulated host in the states a field engineer meets.

A scenario is a name, a short description and "what to notice", and the changes it makes
to the training host's starting content (files.yaml, the CentOS 7 lab machine). Each has its
own state file (`<state dir>/training/<name>/host.json`), so switching does not mix them and
`SimHost.reset()` puts back only the current one. After a run, `summary()` says what the
trainee met and did (retries, skips, findings, the host key) in a few lines.

The scenario in use is chosen once per process (`activate`): the session that drives the
wizard does it, and `SimHost.shared()` then hands out that scenario's host.
"""
from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass, field
from typing import Callable

from ..i18n import N_, _, ngettext

DEFAULT = "centos7"
SHARED = "/home/jtel/shared"
CM_REPO = f"{SHARED}/JTELCarrierPortal/Utils/Install/ClientMessenger"
REPO_SCRIPT = f"{CM_REPO}/init.d/jtel-clientmessenger"
INSTALLED_SCRIPT = "/etc/init.d/jtel-clientmessenger"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str                  # N_: shown translated
    description: str            # N_
    notice: str                 # N_: what to notice
    os_label: str = "CentOS 7.9"
    prepare: Callable[[dict], None] | None = None      # edits the manifest before the host is built
    legacy_ssh: tuple[str, ...] = ()                   # SHA-1 algorithms the connection has to use
    ask_host_key: bool = False                         # the host key is unknown until accepted
    focus: tuple[str, ...] = ()                        # sections whose notes the summary repeats

    def describe(self) -> str:
        """Title, description and what to notice, translated, for the picker and page 1."""
        return (f"{_(self.title)}\n{_(self.description)}\n"
                + _("What to notice: {notice}").format(notice=_(self.notice)))

    def host_key_fingerprint(self) -> str:
        """The simulated host's key fingerprint (SHA256, as ssh-keygen -l prints it)."""
        digest = hashlib.sha256(f"chatwizard training host key {self.name}".encode()).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


# -- what each scenario changes on the lab machine -----------------------------------------------

EL6_PACKAGES = {
    "bash": "4.1.2-48.el6", "centos-release": "6-10.el6.centos.12.3", "chkconfig": "1.3.49.5-1.el6",
    "coreutils": "8.4-47.el6", "curl": "7.19.7-54.el6_10", "findutils": "4.4.2-9.el6",
    "grep": "2.20-6.el6", "gzip": "1.3.12-24.el6", "haproxy": "1.5.18-1.el6",
    "initscripts": "9.03.61-1.el6.centos", "iptables": "1.4.7-19.el6", "kernel": "2.6.32-754.35.1.el6",
    "mysql-community-server": "5.7.44-1.el6", "openssh-clients": "5.3p1-124.el6_10",
    "openssh-server": "5.3p1-124.el6_10", "openssl": "1.0.1e-58.el6_10", "procps": "3.2.8-45.el6_9.3",
    "python": "2.6.6-68.el6_10", "rpm": "4.8.0-59.el6", "sed": "4.2.1-10.el6",
    "sudo": "1.8.6p3-29.el6_10.4", "tar": "1.23-15.el6_8", "yum": "3.2.29-81.el6.centos",
}

INIT_SCRIPT = """#!/bin/bash
#
# {name}  {what}
#
# chkconfig: {levels}
# description: {what}
#
. /etc/rc.d/init.d/functions

case "$1" in
        start|stop|restart|{more}status)
                # (training host: handled by the simulated service command)
                ;;
        *)
                echo $"Usage: $0 {{start|stop|restart|{more}status}}"
                exit 2
esac
exit 0
"""


def _init(name: str, what: str, levels: str = "2345 85 15", more: str = "") -> dict:
    return {"mode": "0755", "text": INIT_SCRIPT.format(name=name, what=what, levels=levels, more=more)}


def _centos6(m: dict) -> None:
    """CentOS 6.10: SysV init (service, chkconfig), iptables instead of firewalld, no systemd."""
    m["el"] = "6"
    for gone in ("firewalld", "systemd", "iptables-services", "procps-ng"):
        m["packages"].pop(gone, None)
    m["packages"].update(EL6_PACKAGES)
    m["services"].pop("firewalld", None)
    m["services"]["iptables"] = [True, True]
    m["services"]["network"] = [True, True]
    files = m["files"]
    for path in [p for p in files if p.startswith(("/usr/lib/systemd", "/etc/firewalld"))
                 or p in ("/usr/lib/os-release", "/etc/os-release")]:
        del files[path]
    files["/etc/centos-release"] = {"text": "CentOS release 6.10 (Final)\n"}
    files["/proc/mounts"] = {"mode": "0444", "text": (
        "rootfs / rootfs rw 0 0\nproc /proc proc rw,relatime 0 0\nsysfs /sys sysfs rw,relatime 0 0\n"
        "devtmpfs /dev devtmpfs rw,relatime,size=1928356k,nr_inodes=482089,mode=755 0 0\n"
        "/dev/mapper/vg_root-lv_root / ext4 rw,relatime,barrier=1,data=ordered 0 0\n"
        "/dev/sda1 /boot ext4 rw,relatime,barrier=1,data=ordered 0 0\n"
        "/dev/mapper/vg_root-lv_home /home ext4 rw,relatime,barrier=1,data=ordered 0 0\n"
        "acd-dbm:/jtel/shared /home/jtel/shared nfs rw,relatime,vers=3,rsize=1048576,wsize=1048576,"
        "namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,addr=127.0.1.1 0 0\n")}
    init = "/etc/rc.d/init.d/"
    files[init + "sshd"] = _init("sshd", "OpenSSH server daemon", "2345 55 25", "reload|")
    files[init + "crond"] = _init("crond", "cron daemon", "2345 90 60", "reload|")
    files[init + "mysqld"] = _init("mysqld", "MySQL server", "2345 64 36")
    files[init + "haproxy"] = _init("haproxy", "HA-Proxy load balancer", "- 85 15", "reload|condrestart|")
    files[init + "iptables"] = _init("iptables", "IPv4 firewall with iptables (rules from /etc/sysconfig/iptables)",
                                     "2345 08 92", "save|condrestart|")


def _windows_repo(m: dict) -> None:
    """The repository share lives on a Windows server: CIFS mount, CRLF text files."""
    files = m["files"]
    text = files[REPO_SCRIPT]["text"].replace("\r\n", "\n")
    files[REPO_SCRIPT] = {"text": text.replace("\n", "\r\n")}
    start = f"{CM_REPO}/bin/start.sh"
    files[start] = dict(files[start], text=files[start]["text"].replace("\n", "\r\n"))
    mounts = files["/proc/mounts"]["text"].splitlines()
    mounts = [line for line in mounts if " /home/jtel/shared " not in line]
    mounts.append("//winrepo01/jtel /home/jtel/shared cifs rw,relatime,vers=3.0,cache=strict,"
                  "username=jtel,domain=JTEL,uid=1000,forceuid,gid=1000,forcegid,addr=127.0.1.1,"
                  "file_mode=0755,dir_mode=0755,nounix,serverino,mapposix,rsize=1048576,wsize=1048576,"
                  "echo_interval=60,actimeo=1 0 0")
    files["/proc/mounts"] = {"mode": "0444", "text": "\n".join(mounts) + "\n"}


CONFLICTING_CHAT = """    <ringbuffer name="CHAT">
        <capacity>100</capacity>
        <backup-count>0</backup-count>
        <async-backup-count>1</async-backup-count>
        <time-to-live-seconds>0</time-to-live-seconds>
        <in-memory-format>OBJECT</in-memory-format>
    </ringbuffer>
"""


def _hazelcast_conflict(m: dict) -> None:
    """An earlier attempt left a CHAT ringbuffer with other values in the master hazelcast.xml."""
    from .host import data_text
    master = data_text("hazelcast-master.xml")
    end = "    </ringbuffer>\n"                # after the default ringbuffer: the XSD's place for it
    if end not in master:
        raise ValueError("hazelcast-master.xml: no </ringbuffer>")
    m["files"]["/home/jtel/shared/hazelcast.xml"] = {"text": master.replace(end, end + CONFLICTING_CHAT, 1)}


def _failing_step(m: dict) -> None:
    """updatepl.sh finds another update running the first time it is called."""
    m["faults"] = {"updatepl.sh": 1}


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("centos7", N_("CentOS 7 (the standard lab)"),
             N_("One CentOS 7.9 machine plays every role (CHAT, DATA, TEL, WEB, LB): firewalld, "
                "systemd, the repository share mounted over NFS. Everything goes right."),
             N_("The whole procedure once, section by section: the preview of each section, "
                "the confirmation before the run (F9 twice), the report at the end.")),
    Scenario("centos6", N_("CentOS 6 (an older site)"),
             N_("The same lab on CentOS 6.10: iptables instead of firewalld, SysV init scripts "
                "(service, chkconfig) instead of systemd, OpenSSH 5.3 with legacy SSH algorithms."),
             N_("The connection test names the legacy SHA-1 algorithms it had to use; the firewall "
                "section inserts iptables rules before the REJECT and saves them; haproxy and the "
                "listener are reloaded and restarted with `service`."),
             os_label="CentOS 6.10", prepare=_centos6,
             legacy_ssh=("ssh-rsa (host key signature)", "diffie-hellman-group14-sha1 (key exchange)",
                         "hmac-sha1 (MAC)"),
             focus=("firewall", "daemon")),
    Scenario("windows-repo", N_("Repository on a Windows server"),
             N_("The repository share /home/jtel/shared is a CIFS mount of a Windows file server; "
                "the ClientMessenger init script there has Windows (CRLF) line ends."),
             N_("Detection names the CIFS mount and the CRLF file; the daemon section's preview "
                "says the CRs are stripped in the copy installed to /etc/init.d (the share's copy "
                "is left alone)."),
             prepare=_windows_repo, focus=("clientmessenger", "daemon")),
    Scenario("hazelcast-conflict", N_("Hazelcast: CHAT entry with other values"),
             N_("The cluster's hazelcast.xml already has a CHAT ringbuffer, with values other than "
                "the procedure's (capacity, backups, time to live, format)."),
             N_("The Hazelcast section lists every differing value and what it does with it: left "
                "as is unless hazelcast.fix_conflicts is true (Hazelcast page), then rewritten. The "
                "missing members and the CHATCOUNTERS map are added either way."),
             prepare=_hazelcast_conflict, focus=("hazelcast",)),
    Scenario("failing-step", N_("A step fails once"),
             N_("updatepl.sh finds another update running the first time (section 3, DATA): the "
                "run stops there. The second attempt succeeds."),
             N_("The run screen shows the failed command, its exit code and output, and offers Retry "
                "(plans again from the journal: the finished steps are not run again), Skip the "
                "step, or Abort. The report records what you chose."),
             prepare=_failing_step),
    Scenario("unknown-host-key", N_("Unknown host key"),
             N_("The simulated host's SSH key is not known yet: the first connection shows its "
                "SHA256 fingerprint and waits for your answer."),
             N_("Refuse, and nothing connects or runs; trust it, and it is remembered for this "
                "scenario (Reset training forgets it). Compare the fingerprint with the server's "
                "own before you trust it."),
             ask_host_key=True),
)}

_lock = threading.Lock()
_active = DEFAULT


def names() -> list[str]:
    return list(SCENARIOS)


def get(name: str | None) -> Scenario:
    """The scenario called `name` (None: the default); UsageError (exit 2) names the known ones."""
    from ..problems import UsageError
    name = name or DEFAULT
    if name not in SCENARIOS:
        raise UsageError(_("--scenario {name}: no such training scenario; choose one of:").format(
            name=repr(name)) + "".join(f"\n  {n:<20} {_(sc.title)}" for n, sc in SCENARIOS.items()))
    return SCENARIOS[name]


def activate(name: str | None) -> Scenario:
    """Use `name` from now on in this process (SimHost.shared() gives its host)."""
    global _active
    scenario = get(name)
    with _lock:
        _active = scenario.name
    return scenario


def active() -> Scenario:
    return SCENARIOS[_active]


# -- after a run: what happened -------------------------------------------------------------------

@dataclass
class Activity:
    """What the trainee met and did in one scenario (the session collects it)."""

    attempts: int = 0                                           # runs started
    failures: list[tuple[str, str, str]] = field(default_factory=list)   # (host, step, reason)
    skipped: list[str] = field(default_factory=list)            # steps skipped after a failure
    host_keys: list[tuple[str, str, bool]] = field(default_factory=list)  # (host, fingerprint, trusted)
    notes: list[str] = field(default_factory=list)              # the focus sections' findings
    outcome: str = ""


def host_findings(scenario: Scenario, host) -> list[str]:
    """What the simulated host shows now, for the scenario's point (a SimHost)."""
    out: list[str] = []
    if scenario.name == "windows-repo":
        repo, inst = host.read(REPO_SCRIPT), host.read(INSTALLED_SCRIPT)
        if repo is not None and b"\r\n" in repo:
            out.append(_("the share's init script still has CRLF line ends (left alone)"))
        if inst is not None:
            out.append(_("the installed {path} has LF line ends").format(path=INSTALLED_SCRIPT)
                       if b"\r" not in inst else
                       _("the installed {path} still has CR characters").format(path=INSTALLED_SCRIPT))
    elif scenario.name == "centos6":
        rules = [" ".join(r) for r in host.state["iptables"]["filter"]["rules"].get("INPUT", [])]
        ports = [p for p in ("5701:5801", "3000") if any(f"--dport {p}" in r for r in rules)]
        if ports:
            out.append(_("iptables INPUT accepts {ports}").format(ports=", ".join(ports)))
        saved = host.read("/etc/sysconfig/iptables") or b""
        if b"5701:5801" in saved:
            out.append(_("the rules are saved in /etc/sysconfig/iptables"))
        if host.state["services"].get("jtel-clientmessenger", {}).get("enabled"):
            out.append(_("jtel-clientmessenger starts at boot (chkconfig)"))
    elif scenario.name == "hazelcast-conflict":
        text = host.read("/home/jtel/shared/hazelcast.xml") or b""
        out.append(_("the CHAT ringbuffer's capacity is now {value}").format(
            value="500" if b"<capacity>500</capacity>" in text else "100"))
    elif scenario.name == "failing-step":
        runs = [r for r in host.state.get("runs", []) if r.get("script") == "updatepl.sh"]
        failed = sum(1 for r in runs if r.get("rc"))
        out.append(ngettext("updatepl.sh was called {n} time, {failed} of them failed",
                            "updatepl.sh was called {n} times, {failed} of them failed",
                            len(runs)).format(n=len(runs), failed=failed))
    return out


def summary(scenario: Scenario, activity: Activity, host=None) -> list[str]:
    """A short account of the run, one line each (translated)."""
    lines = [_("Scenario: {title} ({name})").format(title=_(scenario.title), name=scenario.name)]
    for h, fp, trusted in activity.host_keys:
        lines.append((_("{host}: host key {fingerprint} trusted") if trusted else
                      _("{host}: host key {fingerprint} refused: nothing connected")).format(host=h, fingerprint=fp))
    if scenario.legacy_ssh:
        lines.append(_("SSH used legacy SHA-1 algorithms: {algorithms}").format(
            algorithms=", ".join(scenario.legacy_ssh)))
    if activity.attempts:
        lines.append(_("runs started: {n}").format(n=activity.attempts))
    for h, step, reason in activity.failures:
        lines.append(_("failed: {host}: {step} ({reason})").format(host=h, step=step, reason=reason))
    retries = activity.attempts - 1 if activity.failures else 0
    if retries > 0:
        lines.append(_("after the failure: {n} more run(s) (Retry or Skip)").format(n=retries))
    for step in activity.skipped:
        lines.append(_("skipped by you: {step}").format(step=step))
    for note in activity.notes:
        lines.append(_("finding: {note}").format(note=note))
    if host is not None:
        lines.extend(_("on the host: {what}").format(what=w) for w in host_findings(scenario, host))
    if activity.outcome:
        lines.append(_("outcome: {outcome}").format(outcome=activity.outcome))
    return lines


def run_summary(name: str | None, record=None) -> list[str]:
    """The summary of scenario `name` after a run: its host as it is now, and the run's
    record (wizard.report.RunRecord: attempts, failures, steps skipped, the plan's notes)."""
    from .host import SimHost
    sc = get(name)
    host = SimHost.shared()
    act = Activity()
    with host.lock:
        act.host_keys = [(e["host"], e["fingerprint"], e["trusted"]) for e in host.state.get("host_key_log", [])]
    if record is not None:
        act.attempts = record.attempts
        act.failures = [(h, step, reason) for _s, h, step, reason in record.failures]
        failed = {(s, h): [d for s2, h2, d, _r in record.failures if (s2, h2) == (s, h)]
                  for s, h, _d, _r in record.failures}
        for (s, h, step), kind in getattr(record, "kinds", {}).items():
            if kind == "skipped":       # the skipped NoOp's text ends with the failed step's
                act.skipped.append(next((d for d in failed.get((s, h), []) if step.endswith(d)), step))
        act.outcome = _(record.outcome) if record.outcome != "not run" else ""
        for sp in (record.plan.sections if record.plan is not None else []):
            if sp.name in sc.focus:
                act.notes.extend(sp.notes)
    return summary(sc, act, host)


__all__ = ["Scenario", "SCENARIOS", "DEFAULT", "Activity", "names", "get", "activate", "active",
           "summary", "run_summary", "host_findings"]
