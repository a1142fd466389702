"""Section 4 (ClientMessenger as a daemon): unit tests on an in-process fake host, then
end to end over real SSH on CentOS 6 and 7 test hosts."""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from wizard import masking
from wizard.errors import PlanError, SecretError
from wizard.facts import HostFacts, OSInfo, PortalVersion
from wizard.plan import Command, FileChange, Plan, SectionPlan
from wizard.runner import Runner
from wizard.steps import Context, daemon
from wizard.transport.base import HostSpec
from wizard.transport.fake import FakeTransport

INIT = "/etc/init.d/jtel-clientmessenger"
LOCAL = "/srv/jtel/shared/Data/Clients/"
MOUNTED = "/home/jtel/shared/Data/clients/"
CM_SOURCE = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
CM_TARGET = "/home/jtel/ClientMessenger"
from secretscan import DB_PASSWORD as PASSWORD  # noqa: E402 (every character the procedure worries about, and spaces)


# ------------------------------------------------------------------ helpers (also used by
# test_step_update_script.py)

def _seed_init() -> str:
    """The vendor init script the test hosts carry (tests/testhost/seed.py)."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "_th_seed", Path(__file__).parent / "testhost" / "seed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.INIT_SCRIPT


SEED_INIT = _seed_init()


class FakeHost(FakeTransport):
    """wizard.transport.fake.FakeTransport dressed as a chat server: the ClientMessenger
    tree, optionally an installed init script, and chkconfig/service answering from a
    little state (enabled at boot, running)."""

    def __init__(self, *, init: str | None = None, copied: bool = True,
                 source_text: str | None = None, dirs=(), enabled=False, running=False):
        src = (source_text if source_text is not None else SEED_INIT).encode()
        files = {f"{CM_SOURCE}/init.d/jtel-clientmessenger": src}
        if copied:
            files[f"{CM_TARGET}/init.d/jtel-clientmessenger"] = src
        super().__init__(HostSpec("chat1", "192.0.2.10", roles=("CHAT",)), files, {
            r"^chkconfig --list (\S+)$": self._chkconfig_list,
            r"^chkconfig (\S+) on$": lambda call: self.state.update(enabled=True) or 0,
            r"^service (\S+) (\S+)$": self._service,
            r"^read -r p _ 2>/dev/null < (\S+); ": self._probe,
            r"^bash -n ": 0,
            r"^rm -f (\S+)$": lambda call: self.files.pop(call.match[1].strip("'"), None) and 0,
        }, strict=True, dirs={d.rstrip("/") for d in dirs} | {"/etc/init.d", "/usr/local/bin"})
        for p in files:
            self.modes[p], self.owners[p] = 0o644, ("jtel", "jtel")
        if init is not None:
            self.files[INIT] = init.encode()
            self.modes[INIT], self.owners[INIT] = 0o700, ("root", "root")
        self.state = {"enabled": enabled, "running": running}
        self.service_calls: list[str] = []
        self.probes = 0

    @property
    def calls(self) -> list[str]:
        return [c.command for c in self.commands]

    def _chkconfig_list(self, call):
        name = call.match[1]
        if f"/etc/init.d/{name}" not in self.files:
            return 1, "", f"error reading information on service {name}: No such file or directory"
        levels = "\t".join(f"{lv}:{'on' if self.state['enabled'] and 2 <= lv <= 5 else 'off'}"
                           for lv in range(7))
        return 0, f"{name:<15}\t{levels}\n"

    def _probe(self, call):
        """facts.daemon_probe_command: the JVM the init script started (pid file and pgrep)."""
        self.probes += 1
        if not self.state["running"]:
            return 0, ""
        return 0, "pidfile 4242\nprocess 4242\n"

    def _service(self, call):
        action = call.match[2]
        self.service_calls.append(action)
        if action == "status":
            return (0, "running\n") if self.state["running"] else (3, "stopped\n")
        if action in ("start", "restart"):
            self.state["running"] = True
        return 0


def answers_for(*, whatsapp=False, datadir="auto", **daemon_cfg):
    """Validated answers with one chat server (sections that need other roles skipped)."""
    from wizard.answers import Answers
    data = {
        "version": 1,
        "inventory": {"hosts": {"chat1": {"address": "192.0.2.10", "roles": ["CHAT"]},
                                "lb1": {"address": "192.0.2.11", "roles": ["LB"]}}},
        "portal": {"scheme": "https", "load_balancer": "jtel-portal"},
        "daemon": {"db_password": "keyring:db/root", "datadir": datadir, **daemon_cfg},
        "sections": {"skip": ["hazelcast"]},
    }
    if whatsapp:
        data["whatsapp"] = {"enabled": True, "api_key": "keyring:tyntec/apikey",
                            "phone_number": "+4989123456789"}
    return Answers.from_data(data)


def use_keyring(tmp_path, monkeypatch, values: dict[str, str]):
    """A real keyring backend for the test: chatwizard's encrypted file keyring in tmp_path."""
    from wizard import secrets
    monkeypatch.setenv("CHATWIZARD_KEYRING_FILE", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("CHATWIZARD_KEYRING_PASSWORD", "test-master-password")
    monkeypatch.setattr(secrets, "_backend", None)      # the previous backend comes back at teardown
    secrets.configure_backend("file")
    for k, v in values.items():
        secrets.set(k, v)
    return values


def runner_apply(section: str, transports: dict, actions) -> None:
    """Run actions through the real Runner (as `apply` would) and fail on any error."""
    sp = SectionPlan(section, section)
    sp.for_host("chat1").actions.extend(actions)
    events = []
    res = Runner(Plan([sp]), transports, emit=events.append).run()
    assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]

@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


@pytest.fixture
def keyring_pw(tmp_path, monkeypatch):
    """A real (file) keyring in tmp_path holding db/root."""
    return use_keyring(tmp_path, monkeypatch, {"db/root": PASSWORD})


def ctx_for(fake: FakeHost, *, version="3.26", whatsapp=False, datadir="auto",
            windows=False, **daemon_cfg) -> Context:
    ans = answers_for(whatsapp=whatsapp, datadir=datadir, **daemon_cfg)
    facts = {"chat1": HostFacts("chat1", OSInfo("CentOS", 7, "7.9.2009", "/etc/redhat-release"),
                                windows_repo=windows,
                                windows_reasons=["/home/jtel/shared is a cifs mount (/home/jtel/shared)"]
                                if windows else [])}
    return Context(ans, {"chat1": fake}, facts, PortalVersion(version, "test"))


def plan_once(fake, **kw) -> tuple[list, Context]:
    ctx = ctx_for(fake, **kw)
    host = ctx.answers.host("chat1")
    return daemon.plan(ctx, host), ctx


def preview_text(actions) -> str:
    out = []
    for a in actions:
        out.append(a.render())
        if isinstance(a, FileChange):
            out.append(a.diff())
        if isinstance(a, Command):
            out.append(a.display)
    return "\n".join(out)


def kinds(actions):
    return [type(a).__name__ for a in actions]


# ------------------------------------------------------------------ unit: content

def test_fresh_host_installs_script_enables_and_starts(keyring_pw):
    fake = FakeHost()                       # ClientMessenger already copied, nothing in /etc/init.d
    actions, _ = plan_once(fake)
    assert kinds(actions) == ["FileChange", "Command", "Command"]
    fc, chk, start = actions
    assert fc.path == INIT and fc.mode == 0o700 and (fc.owner, fc.group) == ("root", "root")
    assert fc.old is None
    assert chk.command == "chkconfig jtel-clientmessenger on"
    assert start.command == "service jtel-clientmessenger start"
    # no status/chkconfig query on a host that has no init script yet
    assert not [c for c in fake.calls if c.startswith(("chkconfig", "service"))]


def test_only_connection_line_changes(keyring_pw):
    fake = FakeHost(init=SEED_INIT)        # the vendor script installed by hand before
    actions, _ = plan_once(fake)
    fc = actions[0]
    diff_lines = [l for l in fc.diff().splitlines()
                  if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    assert len(diff_lines) == 2
    assert all(daemon.CONNECTION_PROPERTY in l for l in diff_lines)


@pytest.mark.parametrize("version,tz", [("3.24", False), ("3.24.9", False), ("3.25", True),
                                        ("3.26.1", True)])
def test_server_timezone_from_3_25(keyring_pw, version, tz):
    actions, _ = plan_once(FakeHost(), version=version)
    text = actions[0].new.decode()
    line = next(l for l in text.splitlines() if daemon.CONNECTION_PROPERTY in l)
    assert ("\\&serverTimezone=Europe%2FBerlin" in line) is tz
    assert "\\&characterEncoding=utf8" in line
    assert line.lstrip().startswith(daemon.CONNECTION_PROPERTY + "jdbc:mysql://acd-dbm/JTELWeb\\?user=root\\&password=")
    assert line.endswith(" \\")            # the continuation survives


def test_unknown_portal_version_is_a_plan_error(keyring_pw):
    with pytest.raises(PlanError, match=r"portal\.version"):
        plan_once(FakeHost(), version=None)


def test_crlf_source_is_repaired_with_a_note(keyring_pw):
    fake = FakeHost(source_text=SEED_INIT.replace("\n", "\r\n"))
    actions, ctx = plan_once(fake, windows=True)
    fc = actions[0]
    assert b"\r" not in fc.new
    assert "CR line endings stripped" in fc.description
    assert any("CRLF" in n and "chat1" in n and "cifs" in n for n in ctx.notes)
    assert fc.new.decode().startswith("#!/bin/bash\n")


def test_lf_source_has_no_crlf_note(keyring_pw):
    actions, ctx = plan_once(FakeHost())
    assert not any("CRLF" in n for n in ctx.notes)
    assert "CR line endings" not in actions[0].description


# ------------------------------------------------------------------ unit: DATADIR

@pytest.mark.parametrize("layout,path", [("local", LOCAL), ("mounted", MOUNTED)])
def test_datadir_detected(keyring_pw, layout, path):
    fake = FakeHost(dirs=[path])
    actions, _ = plan_once(fake, whatsapp=True)
    text = actions[0].new.decode()
    assert f'DATADIR="{path}"' in text.splitlines()
    assert "DATADIR" in actions[0].description and layout in actions[0].description


@pytest.mark.parametrize("layout,path", [("local", LOCAL), ("mounted", MOUNTED)])
def test_datadir_explicit(keyring_pw, layout, path):
    actions, ctx = plan_once(FakeHost(dirs=[path]), whatsapp=True, datadir=layout)
    assert f'DATADIR="{path}"' in actions[0].new.decode().splitlines()
    assert not ctx.notes


def test_datadir_explicit_but_missing_gives_a_note(keyring_pw):
    actions, ctx = plan_once(FakeHost(), whatsapp=True, datadir="mounted")
    assert f'DATADIR="{MOUNTED}"' in actions[0].new.decode().splitlines()
    assert any(MOUNTED in n and "does not exist" in n for n in ctx.notes)


def test_datadir_neither_exists(keyring_pw):
    with pytest.raises(PlanError) as e:
        plan_once(FakeHost(), whatsapp=True)
    assert "chat1" in str(e.value) and LOCAL in str(e.value) and MOUNTED in str(e.value)


def test_datadir_both_exist_asks_for_the_answer(keyring_pw):
    with pytest.raises(PlanError, match="daemon.datadir"):
        plan_once(FakeHost(dirs=[LOCAL, MOUNTED]), whatsapp=True)


def test_no_whatsapp_keeps_the_vendor_datadir(keyring_pw):
    actions, _ = plan_once(FakeHost(dirs=[LOCAL]))
    text = actions[0].new.decode()
    assert 'DATADIR="/home/jtel/ClientMessenger/data/"' in text.splitlines()
    assert "DATADIR" not in actions[0].description


# ------------------------------------------------------------------ unit: secrets

def test_missing_password_is_a_secret_error(tmp_path, monkeypatch):
    use_keyring(tmp_path, monkeypatch, {})          # a real keyring without db/root
    fake = FakeHost()
    with pytest.raises(SecretError) as e:
        plan_once(fake)
    assert "db/root" in str(e.value)
    assert not fake.calls                            # nothing was even asked of the host


NASTY = "p&w%d+x#y' \"$z\\`q s"


def test_password_never_shown(tmp_path, monkeypatch):
    use_keyring(tmp_path, monkeypatch, {"db/root": NASTY})
    fake = FakeHost(init=SEED_INIT, enabled=True, running=True)
    actions, ctx = plan_once(fake)
    assert kinds(actions) == ["FileChange", "NoOp", "Command"]
    text = preview_text(actions) + "\n".join(ctx.notes) + "\n".join(a.description for a in actions)
    enc = daemon.percent_encode(NASTY)
    for form in (NASTY, enc, enc.lower(), "p&w%d", "q s", "%27%20%22%24"):
        assert form not in text
    assert "password=********" in text
    # and the file itself carries it so that shell + Connector/J decoding give it back
    line = next(l for l in actions[0].new.decode().splitlines() if daemon.CONNECTION_PROPERTY in l)
    m = re.search(r"password=([^\\]*)\\&", line)
    assert unquote(m.group(1)) == NASTY


def test_very_short_password_is_masked_with_its_key(tmp_path, monkeypatch):
    """a 2-character password is masked where it is used, by construction (wizard.secret_text)."""
    use_keyring(tmp_path, monkeypatch, {"db/root": "ab"})
    actions, _ = plan_once(FakeHost(init=SEED_INIT))
    diff = actions[0].diff()
    assert "password=ab" not in diff
    assert "user=root\\&password=********\\&characterEncoding" in diff


def test_old_password_in_installed_script_is_masked_too(keyring_pw):
    old = SEED_INIT.replace("password=CHANGEME", "password=0ld%26Secret")
    actions, _ = plan_once(FakeHost(init=old))
    diff = actions[0].diff()
    assert "0ld%26Secret" not in diff and "0ld&Secret" not in diff
    assert diff.count("password=********") == 2


# ------------------------------------------------------------------ unit: service state

def test_second_plan_after_apply_is_all_noops(keyring_pw):
    fake = FakeHost()
    actions, _ = plan_once(fake)
    runner_apply("daemon", {"chat1": fake}, actions)
    assert fake.stat(INIT).mode == 0o700
    assert fake.state == {"enabled": True, "running": True}
    again, _ = plan_once(fake)
    assert kinds(again) == ["NoOp", "NoOp", "NoOp"], preview_text(again)
    assert not any(a.changes for a in again)


def test_running_service_with_changed_script_is_restarted(keyring_pw):
    fake = FakeHost()
    runner_apply("daemon", {"chat1": fake}, plan_once(fake)[0])
    actions, _ = plan_once(fake, version="3.24")     # the URL changes: no serverTimezone
    assert kinds(actions) == ["FileChange", "NoOp", "Command"]
    assert actions[2].command == "service jtel-clientmessenger restart"
    runner_apply("daemon", {"chat1": fake}, actions)
    assert fake.service_calls[-1] == "restart"


def test_stopped_service_is_started_not_restarted(keyring_pw):
    fake = FakeHost(init=SEED_INIT, enabled=True, running=False)
    actions, _ = plan_once(fake)
    assert kinds(actions) == ["FileChange", "NoOp", "Command"]
    assert actions[2].command == "service jtel-clientmessenger start"


NO_STATUS = SEED_INIT.replace("    status)  status ;;\n", "").replace("|status}", "}")


class NoStatusHost(FakeHost):
    """The installed script has no status action: `service … status` prints the usage line
    and exits 2 whether or not the daemon runs."""

    def _service(self, call):
        if call.match[2] == "status":
            self.service_calls.append("status")
            return 2, "Usage: /etc/init.d/jtel-clientmessenger {start|stop|restart|condrestart}\n"
        return super()._service(call)


def test_script_without_status_is_judged_by_pid_file_and_process(keyring_pw):
    fake = NoStatusHost(source_text=NO_STATUS)
    runner_apply("daemon", {"chat1": fake}, plan_once(fake)[0])
    assert fake.service_calls == ["start"]
    for _ in range(2):                          # second and third plan: nothing, no second JVM
        actions, ctx = plan_once(fake)
        assert kinds(actions) == ["NoOp", "NoOp", "NoOp"], preview_text(actions)
        assert actions[2].description == "jtel-clientmessenger is running with this configuration"
        assert any("has no status action" in n and "running: pid file /var/run/jtel-clientmessenger.pid "
                   "(pid 4242)" in n for n in ctx.notes), ctx.notes
    assert fake.service_calls == ["start"]      # never asked for a status it does not have
    assert fake.probes == 2
    fake.state["running"] = False               # the JVM died: started again
    actions, ctx = plan_once(fake)
    assert actions[2].command == "service jtel-clientmessenger start"
    assert any("has no status action" in n and "(not running)" in n for n in ctx.notes)


def test_status_says_stopped_but_the_jvm_runs(keyring_pw):
    class LyingStatus(FakeHost):
        def _service(self, call):
            if call.match[2] == "status":
                return 3, "jtel-clientmessenger is stopped\n"
            return super()._service(call)
    fake = LyingStatus(init=SEED_INIT, enabled=True, running=True)
    fake.files[INIT] = plan_once(FakeHost())[0][0].new   # the configured script is installed
    actions, ctx = plan_once(fake)
    assert kinds(actions) == ["NoOp", "NoOp", "NoOp"], preview_text(actions)
    assert any("says it is not running (exit code 3), but pid file /var/run/jtel-clientmessenger.pid "
               "(pid 4242) runs" in n for n in ctx.notes), ctx.notes


@pytest.mark.parametrize("text, has, pidfile", [
    (SEED_INIT, True, "/var/run/jtel-clientmessenger.pid"),
    (NO_STATUS, False, "/var/run/jtel-clientmessenger.pid"),
    ('case "$1" in\n  start) s ;;\n  status|info) st ;;\nesac\n', True, "/var/run/jtel-clientmessenger.pid"),
    ("#!/bin/sh\n# pidfile: /run/cm.pid\ncase $1 in\n start) x;;\nesac\n", False, "/run/cm.pid"),
    ("prog=cm\nPIDFILE=\"/home/jtel/${prog}.pid\"\n", False, "/home/jtel/cm.pid"),
])
def test_status_action_and_pid_file_from_the_script(text, has, pidfile):
    from wizard import facts
    assert facts.script_has_status(text) is has
    assert facts.script_pidfile(text, "jtel-clientmessenger") == pidfile


def test_probe_pattern_does_not_match_its_own_shell():
    """pgrep -f sees the command line of the shell (and sudo) running it: the pattern must not
    match its own text, and must match a ClientMessenger JVM (class or jar)."""
    from wizard import facts
    rx = re.compile(facts.CM_PROCESS_PATTERN)
    cmd = facts.daemon_probe_command("/var/run/jtel-clientmessenger.pid")
    assert not rx.search(cmd) and not rx.search("sudo -S -p x sh -c " + cmd)
    assert rx.search("/usr/bin/java -server -Dde.jtel.platform.clientmessenger.connection=x -cp y z")
    assert rx.search("java -jar /home/jtel/ClientMessenger/bin/ClientMessenger.jar")
    assert rx.search("/usr/bin/python3 /usr/java/jdk1.8.0_202-amd64/bin/java -cp /b/bin/* "
                     "de.jtel.platform.clientmessenger.ClientMessenger")
    assert not rx.search("tail -f /home/jtel/ClientMessenger/bin/ClientMessenger.jar")
    assert facts.parse_daemon_probe("pidfile 12\nprocess 12\nprocess 40\n") == (12, (12, 40))


def test_installed_but_disabled_is_enabled_only(keyring_pw):
    fake = FakeHost()
    runner_apply("daemon", {"chat1": fake}, plan_once(fake)[0])
    fake.state["enabled"] = False
    actions, _ = plan_once(fake)
    assert kinds(actions) == ["NoOp", "Command", "NoOp"]
    assert actions[1].command == "chkconfig jtel-clientmessenger on"


def test_wrong_mode_is_fixed_without_restart(keyring_pw):
    fake = FakeHost()
    runner_apply("daemon", {"chat1": fake}, plan_once(fake)[0])
    fake.modes[INIT] = 0o644
    actions, _ = plan_once(fake)
    assert kinds(actions) == ["FileChange", "NoOp", "NoOp"]
    assert actions[0].mode == 0o700


def test_first_run_reads_the_copy_planned_by_section_2(keyring_pw):
    """ClientMessenger not copied yet: section 2's mirror makes the read fall through to
    the shared source."""
    fake = FakeHost(copied=False)
    ctx = ctx_for(fake)
    ctx.overlay("chat1").mirrors.append((CM_TARGET, CM_SOURCE))
    actions = daemon.plan(ctx, ctx.answers.host("chat1"))
    assert kinds(actions) == ["FileChange", "Command", "Command"]
    assert b"password=" in actions[0].new and actions[0].old is None


def test_no_script_anywhere_is_a_plan_error(keyring_pw):
    fake = FakeHost(copied=False)
    with pytest.raises(PlanError, match="init.d/jtel-clientmessenger"):
        plan_once(fake)



# ------------------------------------------------------------------ end to end (real SSH)
#
# Fresh CentOS test hosts (tests/testhost), the real SSHTransport, planner and Runner.
# The hosts run the real init script (exec_init_scripts) with the fake JDK, so the shim log
# shows the java command line exactly as the JVM receives it.

SVC = "jtel-clientmessenger"
SECTIONS = {"clientmessenger", "daemon", "update_script"}
HOST_CONFIG = {"exec_init_scripts": True, "java_listen_port": 0}


def e2e_answers(chat, *, sudo=False, lb=None, whatsapp=False, **sections):
    from wizard.answers import Answers
    h = {"address": chat.host, "port": chat.port, "key_file": chat.key_path, "roles": ["CHAT"]}
    h.update({"user": "tester", "become": "sudo", "password": "keyring:ssh/chat1"} if sudo
             else {"user": "root"})
    hosts = {"chat1": h}
    if lb is not None:
        hosts["lb1"] = {"address": lb.host, "port": lb.port, "user": "root",
                        "key_file": lb.key_path, "roles": ["LB"]}
    data = {"version": 1, "inventory": {"hosts": hosts},
            "portal": {"scheme": "https", "load_balancer": "jtel-portal", **sections.pop("portal", {})},
            "daemon": {"db_password": "keyring:db/root"},
            "sections": {"skip": ["hazelcast"] + ([] if lb is not None else ["load_balancer"])}}
    if whatsapp:
        data["whatsapp"] = {"enabled": True, "api_key": "keyring:tyntec/apikey",
                            "phone_number": "+4989123456789"}
    data.update(sections)
    return Answers.from_data(data)


def e2e_connect(answers, hosts: dict, tmp_path) -> dict:
    from wizard import connect as session
    return {spec.name: session.connect_one(
                spec, known_hosts_paths=[hosts[spec.name].known_hosts_path],
                tool_known_hosts=str(tmp_path / "known_hosts"),
                ssh_config_path=str(tmp_path / "no-ssh-config"), allow_agent=False)
            for spec in answers.hosts}


def e2e_plan(answers, transports):
    from wizard import planner
    return planner.build(answers, transports, only=SECTIONS)


def e2e_apply(plan, transports):
    events = []
    res = Runner(plan, transports, emit=events.append).run()
    assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
    return events


def java_connection(th) -> str:
    """The connection property of the last java the init script started, as the JVM got it."""
    rec = [r for r in th.calls("java") if any(a.startswith("-Dde.jtel") for a in r["argv"])][-1]
    prop = next(a for a in rec["argv"] if a.startswith(daemon.CONNECTION_PROPERTY))
    return prop[len(daemon.CONNECTION_PROPERTY):]


def connector_j_decode(url: str) -> dict[str, str]:
    """Connector/J's view of the query string: split on &, URL-decode each value (+ is a space)."""
    query = url.split("?", 1)[1]
    return {k: unquote(v.replace("+", " ")) for k, _, v in (p.partition("=") for p in query.split("&"))}


def all_text(plan, events) -> str:
    from wizard import preview
    return preview.render(plan) + "\n".join(repr(e) for e in events)


@pytest.mark.parametrize("flavor,sudo", [("centos6", True), ("centos7", False)])
def test_e2e_fresh_host_crlf_old_portal(host_factory, tmp_path, monkeypatch, flavor, sudo):
    """A fresh chat server, Windows-hosted repository (CRLF), portal 3.24 detected on the
    host, no WhatsApp; on CentOS 6 as a sudo user (requiretty)."""
    chat = host_factory(flavor, crlf=True, portal_version="3.24", java8=True, config=HOST_CONFIG)
    use_keyring(tmp_path, monkeypatch, {"db/root": PASSWORD, "ssh/chat1": chat.password})
    answers = e2e_answers(chat, sudo=sudo)
    transports = e2e_connect(answers, {"chat1": chat}, tmp_path)
    try:
        plan = e2e_plan(answers, transports)
        assert any("CRLF" in n for n in plan.section("daemon").notes)
        events = e2e_apply(plan, transports)
        assert PASSWORD not in all_text(plan, events)
        assert daemon.percent_encode(PASSWORD) not in all_text(plan, events)

        script = chat.read(INIT)
        assert "\r" not in script
        assert "\r" in chat.read(CM_TARGET + "/init.d/" + SVC)      # the copy itself is left as is
        st = chat.stat(INIT)
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o700, 0, 0)
        assert 'DATADIR="/home/jtel/ClientMessenger/data/"' in script.splitlines()
        assert [c["argv"] for c in chat.calls("chkconfig") if "--list" not in c["argv"]] == [[SVC, "on"]]
        assert [c["argv"][1] for c in chat.calls("service") if c["argv"][0] == SVC] == ["start"]
        assert chat.shim_state()["services"][SVC] | {"dead": False} == {"enabled": True, "running": True, "added": True, "dead": False}

        url = java_connection(chat)
        assert url.startswith("jdbc:mysql://acd-dbm/JTELWeb?user=root&password=")
        assert "serverTimezone" not in url
        assert connector_j_decode(url) == {"user": "root", "password": PASSWORD,
                                           "characterEncoding": "utf8"}

        updatesc = chat.read("/usr/local/bin/updatesc.sh")
        assert "OWNER=jtel:jtel" in updatesc.splitlines()
        assert chat.stat("/usr/local/bin/updatesc.sh").st_mode & 0o7777 == 0o755

        n_calls = len(chat.calls())
        again = e2e_plan(answers, transports)
        changing = [(s.name, a.description) for s, _, a in again.actions() if a.changes]
        assert changing == []
        new_calls = [(c["cmd"], c["argv"]) for c in chat.calls()[n_calls:]
                     if c["cmd"] in ("chkconfig", "service", "java") and c["argv"] != ["-version"]]
        assert sorted(new_calls) == [("chkconfig", ["--list", SVC]), ("service", [SVC, "status"])]
    finally:
        for t in transports.values():
            t.close()


@pytest.mark.parametrize("layout", ["local", "mounted"])
def test_e2e_whatsapp_datadir_then_restart_on_change(host_factory, tmp_path, monkeypatch, layout):
    """CentOS 7, portal 3.26, WhatsApp on: DATADIR detected on the host; then a changed
    answer (portal.version 3.24) rewrites the script of the running daemon: restart."""
    chat = host_factory("centos7", datadir=layout, java8=True, config=HOST_CONFIG)
    lb = host_factory("centos7", jtel=False, hostname="lb1")
    use_keyring(tmp_path, monkeypatch, {"db/root": PASSWORD})
    answers = e2e_answers(chat, lb=lb, whatsapp=True)
    transports = e2e_connect(answers, {"chat1": chat, "lb1": lb}, tmp_path)
    try:
        plan = e2e_plan(answers, transports)
        events = e2e_apply(plan, transports)
        assert PASSWORD not in all_text(plan, events)
        path = LOCAL if layout == "local" else MOUNTED
        script = chat.read(INIT)
        assert f'DATADIR="{path}"' in script.splitlines()
        url = java_connection(chat)
        assert connector_j_decode(url)["serverTimezone"] == "Europe/Berlin"
        assert connector_j_decode(url)["password"] == PASSWORD

        assert e2e_plan(answers, transports).changing_count == 0

        older = answers.with_changes(portal={"scheme": "https", "load_balancer": "jtel-portal",
                                             "version": "3.24"})
        plan = e2e_plan(older, transports)
        daemon_actions = plan.section("daemon").for_host("chat1").actions
        assert kinds(daemon_actions) == ["FileChange", "NoOp", "Command"]
        assert daemon_actions[2].command == f"service {SVC} restart"
        diff = [l for l in daemon_actions[0].diff().splitlines()
                if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        assert len(diff) == 2 and all(daemon.CONNECTION_PROPERTY in l for l in diff)
        e2e_apply(plan, transports)
        assert [c["argv"][1] for c in chat.calls("service") if c["argv"][0] == SVC][-1] == "restart"
        url = java_connection(chat)
        assert "serverTimezone" not in connector_j_decode(url)
        assert connector_j_decode(url)["password"] == PASSWORD
        assert e2e_plan(older, transports).changing_count == 0
    finally:
        for t in transports.values():
            t.close()


# ---------------------------------------- end to end: daemon's double parse, no status action
#
# CentOS init scripts start daemons with /etc/init.d/functions' `daemon --user jtel "…"`, which
# hands the string to `runuser -s /bin/bash jtel -c "…"`: the shell parses the java line twice.
# The test host gets that helper (the part of CentOS's functions the script uses) and the real
# runuser; the fake java records the argv the JVM would get, and which user ran it.

FUNCTIONS = r'''# /etc/rc.d/init.d/functions (the part the script uses), as CentOS 6/7 ship it
success() { echo -n "[  OK  ]"; return 0; }
failure() { echo -n "[FAILED]"; return 1; }
daemon() {
    local gotbase= force= nicelevel corelimit
    local pid base= user= nice= bg= pid_file=
    nicelevel=0
    while [ "$1" != "${1##[-+]}" ]; do
        case $1 in
            '') echo $"$0: Usage: daemon [+/-nicelevel] {program}"; return 1 ;;
            --check) base=$2; gotbase="yes"; shift 2 ;;
            --check=?*) base=${1#--check=}; gotbase="yes"; shift ;;
            --user) user=$2; shift 2 ;;
            --user=?*) user=${1#--user=}; shift ;;
            --pidfile) pid_file=$2; shift 2 ;;
            --pidfile=?*) pid_file=${1#--pidfile=}; shift ;;
            --force) force="force"; shift ;;
            [-+][0-9]*) nice="nice -n $1"; shift ;;
            *) echo $"$0: Usage: daemon [+/-nicelevel] {program}"; return 1 ;;
        esac
    done
    [ -z "$gotbase" ] && base=${1##*/}
    corelimit="ulimit -S -c ${DAEMON_COREFILE_LIMIT:-0}"
    if [ -z "$user" ]; then
       $nice /bin/bash -c "$corelimit >/dev/null 2>&1 ; $*"
    else
       $nice runuser -s /bin/bash $user -c "$corelimit >/dev/null 2>&1 ; $*"
    fi
    [ "$?" -eq 0 ] && success $"$base startup" || failure $"$base startup"
}
'''


def daemon_form(script: str, *, status: bool) -> str:
    """The seed script with its java command inside `daemon --user jtel "…"` (pid and log file
    in jtel's home: the command runs as jtel), optionally without a status action."""
    out = script.replace("LOCKFILE=/var/lock/subsys/$NAME\n",
                         "LOCKFILE=/var/lock/subsys/$NAME\n. /etc/rc.d/init.d/functions\n")
    out = out.replace("PIDFILE=/var/run/$NAME.pid", "PIDFILE=/home/jtel/$NAME.pid")
    out = out.replace("# pidfile: /var/run/jtel-clientmessenger.pid", "# pidfile: /home/jtel/jtel-clientmessenger.pid")
    out = out.replace("LOGFILE=/var/log/$NAME.log", "LOGFILE=/home/jtel/$NAME.log")
    out = out.replace("    nohup $JAVA \\\n", '    daemon --user jtel "nohup $JAVA \\\n')
    out = out.replace('    -cp "$BASEDIR/bin/*" de.jtel.platform.clientmessenger.ClientMessenger \\\n'
                      '    >> "$LOGFILE" 2>&1 < /dev/null &\n    echo $! > "$PIDFILE"\n',
                      "    -cp '$BASEDIR/bin/*' de.jtel.platform.clientmessenger.ClientMessenger \\\n"
                      '    >> $LOGFILE 2>&1 < /dev/null & echo \\$! > $PIDFILE"\n')
    assert out.count('daemon --user jtel "') == 1 and 'echo \\$! > $PIDFILE"' in out
    if not status:
        out = out.replace("    status)  status ;;\n", "").replace("|status}", "}")
    return out


@pytest.mark.parametrize("flavor,crlf,status", [("centos6", True, False), ("centos7", False, True)])
def test_e2e_daemon_double_parse_and_status(host_factory, tmp_path, monkeypatch, flavor, crlf, status):
    """The java line inside `daemon --user jtel "…"` (CRLF on 6): the host runs the installed
    script through daemon/runuser, and the JVM jtel starts gets the exact password. On 6 the
    script has no status action: the second and third apply change nothing and start no JVM."""
    chat = host_factory(flavor, java8=True, config=HOST_CONFIG)
    text = daemon_form(SEED_INIT, status=status)
    chat.write(CM_SOURCE + "/init.d/" + SVC, text.replace("\n", "\r\n") if crlf else text,
               mode=0o644, owner="jtel")
    chat.write("/etc/rc.d/init.d/functions", FUNCTIONS, mode=0o644)
    use_keyring(tmp_path, monkeypatch, {"db/root": PASSWORD})
    answers = e2e_answers(chat)
    transports = e2e_connect(answers, {"chat1": chat}, tmp_path)
    try:
        plan = e2e_plan(answers, transports)
        events = e2e_apply(plan, transports)
        assert PASSWORD not in all_text(plan, events)
        installed = chat.read(INIT)
        conn = next(l for l in installed.splitlines() if daemon.CONNECTION_PROPERTY in l)
        assert "\\&password=" in conn and "\\&characterEncoding=utf8" in conn   # the vendor's word
        starts = [r for r in chat.calls("java") if any(a.startswith("-Dde.jtel") for a in r["argv"])]
        assert len(starts) == 1 and starts[0]["user"] == "jtel"          # through runuser
        url = java_connection(chat)
        assert connector_j_decode(url) == {"user": "root", "password": PASSWORD, "characterEncoding": "utf8",
                                           "serverTimezone": "Europe/Berlin"}
        pid = int(chat.read("/home/jtel/jtel-clientmessenger.pid").split()[0])
        assert pid == starts[0]["pid"]

        for _ in range(2):     # second and third apply: nothing to change, no second JVM
            n_calls = len(chat.calls())
            again = e2e_plan(answers, transports)
            assert [(s.name, a.description) for s, _, a in again.actions() if a.changes] == []
            notes = again.section("daemon").notes
            assert any("has no status action" in n for n in notes) is (not status), notes
            e2e_apply(again, transports)
            new = [(c["cmd"], c["argv"]) for c in chat.calls()[n_calls:]
                   if c["cmd"] in ("service", "java") and c["argv"] != ["-version"]]
            assert new == ([] if not status else [("service", [SVC, "status"])]), new
        assert len([r for r in chat.calls("java") if r.get("daemon")]) == 1
    finally:
        for t in transports.values():
            t.close()
