"""Section 7 (haproxy on the load balancers): unit tests on in-process fake hosts, then end
to end over real SSH on CentOS 6 and 7 test hosts with the real `haproxy -c`."""
from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from wizard import masking, planner, preview
from wizard.answers import Answers
from wizard.errors import PlanError
from wizard.facts import HostFacts, OSInfo, PortalVersion
from wizard.haproxy_cfg import check_command
from wizard.plan import Command, FileChange, NoOp
from wizard.runner import Runner
from wizard.steps import load_balancer
from wizard.transport.fake import FakeTransport

HERE = Path(__file__).resolve().parent
PORTAL_CFG = (HERE / "data" / "haproxy" / "portal_lb.cfg").read_bytes()
CFG = "/etc/haproxy/haproxy.cfg"
ONLY = {"load_balancer"}


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


# ------------------------------------------------------------------ helpers (also used by
# test_step_whatsapp.py)

def answers_for(*, scheme="https", chats=(("chat1", "10.0.0.21"),), lbs=("lb1",),
                whatsapp=None, skip=(), validate=True, **sections) -> Answers:
    """Answers with chat servers and load balancers (other roles' sections skipped)."""
    hosts = {name: {"address": addr, "roles": ["CHAT"]} for name, addr in chats}
    hosts.update({name: {"address": f"10.0.0.{2 + i}", "roles": ["LB"]}
                  for i, name in enumerate(lbs)})
    data = {"version": 1, "inventory": {"hosts": hosts},
            "portal": {"scheme": scheme, "load_balancer": "jtel-portal"},
            "sections": {"skip": ["hazelcast", "daemon", *skip]}}
    if whatsapp is not None:
        data["whatsapp"] = {"enabled": True, "api_key": "keyring:tyntec/apikey",
                            "phone_number": "+4989123456789", **whatsapp}
    data.update(sections)
    return Answers.from_data(data) if validate else Answers(data, "<test>")


def lb_fake(spec, cfg: bytes | None = PORTAL_CFG, *, path=CFG, installed=True, running=True,
            check=0, live_check=0, mode=0o640, owner=("root", "haproxy")) -> FakeTransport:
    """A load balancer: haproxy installed (rpm -q), its config, `haproxy -c` answering
    `check` for the candidate and `live_check` for the live file (checked while planning),
    and the candidate file removed by `rm -f` as on a real host."""
    t = FakeTransport(spec, files={path: cfg} if cfg is not None else {})

    def rm(call):
        for p in call.command.split()[2:]:
            t.files.pop(p.strip("'"), None)

    t.on(r"^rpm -q haproxy$", "haproxy-1.5.18-9.el7_9.1.x86_64\n" if installed
         else (1, "package haproxy is not installed\n"))
    t.on(r"^systemctl is-active haproxy$", (0, "active\n") if running else (3, "inactive\n"))
    t.on(r"^service haproxy status$", (0, "haproxy (pid  1234) is running...\n") if running
         else (3, "haproxy is stopped\n"))
    t.on(r"^haproxy -c -f \S*chatwizard-candidate", check)
    t.on(r"^haproxy -c -f ", live_check)
    t.on(r"^rm -f ", rm)
    if cfg is not None:
        t.modes[path], t.owners[path] = mode, owner
    return t


def fakes_for(ans: Answers, **lb_kw) -> dict:
    return {h.name: lb_fake(h, **lb_kw) if "LB" in h.roles else FakeTransport(h)
            for h in ans.hosts}


def facts_for(ans: Answers, major=7) -> dict:
    version = "7.9.2009" if major == 7 else "6.10"
    return {h.name: HostFacts(h.name, OSInfo("CentOS", major, version, "/etc/redhat-release"))
            for h in ans.hosts}


def build(ans, transports, *, major=7, only=ONLY, **kw):
    return planner.build(ans, transports, facts=facts_for(ans, major),
                         portal=PortalVersion("3.26", "test"), only=only, **kw)


def apply(plan, transports, **kw):
    events: list = []
    res = Runner(plan, transports, emit=events.append, **kw).run()
    return res, events


def host_actions(plan, section, host):
    sp = plan.section(section)
    return next(hp.actions for hp in sp.hosts if hp.host == host)


def added_lines(fc: FileChange) -> list[str]:
    """The lines the change adds; fails when it removes or alters any."""
    a = (fc.old or b"").decode().splitlines()
    b = fc.new.decode().splitlines()
    diff = [ln for ln in difflib.unified_diff(a, b, lineterm="", n=0)
            if not ln.startswith(("---", "+++", "@@"))]
    assert not [ln for ln in diff if ln.startswith("-")], diff
    return [ln[1:] for ln in diff]


# ------------------------------------------------------------------ unit: the plan

def test_validate_is_haproxy_cfg_check_command():
    assert load_balancer.VALIDATE == check_command("X").replace("X", "{path}")
    assert load_balancer.VALIDATE.format(path="/etc/haproxy/.c") == "haproxy -c -f /etc/haproxy/.c"


def test_https_centos7_filechange_then_reload():
    ans = answers_for()
    fakes = fakes_for(ans)
    plan = build(ans, fakes)
    fc, reload = host_actions(plan, "load_balancer", "lb1")
    assert isinstance(fc, FileChange) and fc.path == CFG
    assert fc.validate == "haproxy -c -f {path}"
    assert (fc.mode, fc.owner, fc.group) == (0o640, "root", "haproxy")    # kept from the file
    assert fc.old == PORTAL_CFG and not fc.base_unknown
    assert [ln.strip() for ln in added_lines(fc) if ln.strip()] == [
        "frontend acdportal_chat_wss", "bind :3003 ssl crt /etc/haproxy/haproxy.pem",
        "mode http", "timeout client 1d", "default_backend backend_chat_ws",
        "backend backend_chat_ws", "mode http", "balance leastconn", "timeout server 1d",
        "timeout tunnel 1d", "server chatserver1 10.0.0.21:3000 weight 1 check inter 1m"]
    assert isinstance(reload, Command) and reload.command == "systemctl reload haproxy"
    notes = plan.section("load_balancer").notes
    assert "lb1: added frontend acdportal_chat_wss: bind :3003 ssl crt /etc/haproxy/haproxy.pem" in notes
    assert all(n.startswith("lb1: ") for n in notes)
    # planning only reads
    assert fakes["lb1"].writes == []
    assert [c.command for c in fakes["lb1"].commands] == ["rpm -q haproxy", f"haproxy -c -f {CFG}",
                                                          "systemctl is-active haproxy"]
    assert "checked first with: haproxy -c -f <candidate>" in preview.render(plan)


def test_http_centos6_ws_frontend_and_service_reload():
    ans = answers_for(scheme="http")
    plan = build(ans, fakes_for(ans), major=6)
    fc, reload = host_actions(plan, "load_balancer", "lb1")
    added = [ln.strip() for ln in added_lines(fc)]
    assert "frontend acdportal_chat_ws" in added and "bind :3000" in added
    assert not any("ssl" in ln for ln in added)
    assert reload.command == "service haproxy reload"


def test_servers_in_inventory_order_on_every_lb():
    ans = answers_for(chats=(("chat-b", "10.0.0.32"), ("chat-a", "10.0.0.31")), lbs=("lb1", "lb2"))
    plan = build(ans, fakes_for(ans))
    for lb in ("lb1", "lb2"):
        fc = host_actions(plan, "load_balancer", lb)[0]
        servers = [ln.split()[1:3] for ln in added_lines(fc) if ln.strip().startswith("server")]
        assert servers == [["chatserver1", "10.0.0.32:3000"], ["chatserver2", "10.0.0.31:3000"]]


def test_custom_config_path_and_certificate():
    ans = answers_for(load_balancer={"config": "/etc/haproxy/portal.cfg",
                                     "cert": "/etc/pki/tls/private/chat.pem"})
    fakes = fakes_for(ans, path="/etc/haproxy/portal.cfg")
    fc = host_actions(build(ans, fakes), "load_balancer", "lb1")[0]
    assert fc.path == "/etc/haproxy/portal.cfg"
    assert "    bind :3003 ssl crt /etc/pki/tls/private/chat.pem" in added_lines(fc)


def test_apply_then_second_plan_changes_nothing():
    ans = answers_for(chats=(("chat1", "10.0.0.21"), ("chat2", "10.0.0.22")))
    fakes = fakes_for(ans)
    plan = build(ans, fakes)
    fc = host_actions(plan, "load_balancer", "lb1")[0]
    res, events = apply(plan, fakes)
    assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
    lb = fakes["lb1"]
    assert lb.files[CFG] == fc.new
    assert (lb.modes[CFG], lb.owners[CFG]) == (0o640, ("root", "haproxy"))
    cmds = [c.command for c in lb.commands]
    checks = [c for c in cmds if c.startswith("haproxy -c -f ")]
    assert checks == [f"haproxy -c -f {CFG}",            # the live file, while planning
                      "haproxy -c -f /etc/haproxy/.haproxy.cfg.chatwizard-candidate"]
    assert cmds.index(checks[1]) < cmds.index("systemctl reload haproxy")
    assert not any(p.endswith("chatwizard-candidate") for p in lb.files)
    assert res.backups and res.backups[0][:2] == ("lb1", CFG)
    # again: nothing to do, no reload
    n_before = len(lb.commands)
    again = build(ans, fakes)
    actions = host_actions(again, "load_balancer", "lb1")
    assert [type(a) for a in actions] == [NoOp]
    assert again.changing_count == 0
    assert not any("reload" in c.command for c in lb.commands[n_before:])
    assert "lb1: chat server chat2 (10.0.0.22:3000) already present as chatserver2 (line 85)" in \
        again.section("load_balancer").notes


def test_second_chat_server_is_a_replay():
    one = answers_for()
    fakes = fakes_for(one)
    apply(build(one, fakes), fakes)
    two = answers_for(chats=(("chat1", "10.0.0.21"), ("chat2", "10.0.0.22")))
    fakes.update(chat2=FakeTransport(two.host("chat2")))
    fc = host_actions(build(two, fakes), "load_balancer", "lb1")[0]
    assert added_lines(fc) == ["    server chatserver2 10.0.0.22:3000 weight 1 check inter 1m"]


def test_rejected_candidate_leaves_the_live_file_and_does_not_reload():
    ans = answers_for()
    alert = ("[ALERT]    (1) : config : parsing [/etc/haproxy/.haproxy.cfg.chatwizard-candidate:77] : "
             "'bind :3003' in section 'frontend' : unable to stat SSL certificate from file "
             "'/etc/haproxy/haproxy.pem' : No such file or directory.")
    fakes = fakes_for(ans, check=(1, "", alert))
    res, events = apply(build(ans, fakes), fakes)
    assert not res.ok
    lb = fakes["lb1"]
    assert lb.files[CFG] == PORTAL_CFG                    # untouched
    assert [w.path for w in lb.writes] == ["/etc/haproxy/.haproxy.cfg.chatwizard-candidate"]
    assert not any("reload" in c.command for c in lb.commands)
    assert not any(p.endswith("chatwizard-candidate") for p in lb.files)   # cleaned up
    failed = res.failed["lb1"]
    assert failed.display == "haproxy -c -f /etc/haproxy/.haproxy.cfg.chatwizard-candidate"
    assert "unable to stat SSL certificate" in failed.tail


def test_not_running_means_no_reload():
    ans = answers_for()
    actions = host_actions(build(ans, fakes_for(ans, running=False)), "load_balancer", "lb1")
    assert [type(a) for a in actions] == [FileChange, NoOp]
    assert "haproxy is not running on lb1" in actions[1].description


def test_haproxy_not_installed_is_a_plan_error():
    ans = answers_for()
    with pytest.raises(PlanError) as e:
        build(ans, fakes_for(ans, installed=False))
    assert str(e.value).startswith("host lb1: haproxy is not installed (package haproxy is not installed)")


def test_config_absent_is_a_plan_error():
    ans = answers_for()
    with pytest.raises(PlanError) as e:
        build(ans, fakes_for(ans, cfg=None))
    assert str(e.value).startswith(f"host lb1: {CFG} does not exist")


def test_unusable_config_is_a_plan_error_naming_host_and_file():
    bad = PORTAL_CFG + b"\nfrontend acdportal_chat_wss\n    bind :3003\n" \
                       b"\nfrontend acdportal_chat_wss\n    bind :3004\n"
    ans = answers_for()
    with pytest.raises(PlanError) as e:
        build(ans, fakes_for(ans, cfg=bad))
    assert re.match(rf"host lb1: {CFG}:\d+: frontend 'acdportal_chat_wss' is defined twice", str(e.value))
    with pytest.raises(PlanError, match=f"host lb1: {CFG} is not UTF-8"):
        build(ans, fakes_for(ans, cfg=b"global\n  log \xff\n"))


def test_live_config_that_haproxy_rejects_is_a_plan_error():
    """A site file haproxy already rejects (here: a server address) stops the plan, naming
    host, file and line: found only at the candidate check, it would stop the apply after
    the earlier sections had changed the other hosts."""
    alert = ("[ALERT]    (9) : config : parsing [/etc/haproxy/haproxy.cfg:63] : 'server acd-web1' : "
             "could not resolve address '10.1.1.300'.\n[ALERT]    (9) : config : Fatal errors found "
             "in configuration.")
    ans = answers_for()
    fakes = fakes_for(ans, live_check=(1, alert, ""))
    with pytest.raises(PlanError) as e:
        build(ans, fakes)
    assert str(e.value).startswith(f"host lb1: {CFG}:63: haproxy -c rejects the file as it is now: "
                                   "'server acd-web1' : could not resolve address '10.1.1.300'.; repair it first")
    assert not fakes["lb1"].writes
    assert [c.command for c in fakes["lb1"].commands_matching("^haproxy")] == [f"haproxy -c -f {CFG}"]


def test_address_notes(tmp_path):
    assert load_balancer.address_note("chat1", "10.0.0.21") is None
    assert load_balancer.address_note("chat1", "fd00::21") is None
    assert load_balancer.address_note("chat1", "chat1.example.com",
                                      ssh_config=str(tmp_path / "none")) is None
    bare = load_balancer.address_note("chat1", "chat1", ssh_config=str(tmp_path / "none"))
    assert "bare name" in bare and "haproxy -c" in bare
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host chat-prod\n    HostName 10.9.8.7\n    User root\n")
    alias = load_balancer.address_note("chat1", "chat-prod", ssh_config=str(cfg))
    assert "is an alias in" in alias and "HostName 10.9.8.7" in alias
    # a bare-name address shows up once per section, however many load balancers
    ans = answers_for(chats=(("chat1", "chat1"),), lbs=("lb1", "lb2"))
    plan = build(ans, fakes_for(ans))
    notes = plan.section("load_balancer").notes
    assert sum("inventory address 'chat1'" in n for n in notes) == 1


# ------------------------------------------------------------------ end to end (real SSH)

E2E_SECTIONS = {"load_balancer", "whatsapp"}


def start_lb(host_factory, flavor, tmp_path, *, cfg: bytes = PORTAL_CFG, cert=True, start=True):
    """A load balancer test host: `yum install haproxy` (the real binary), the portal's
    haproxy.cfg, a certificate, haproxy started by the (recording) service manager."""
    from tyntec_standin import self_signed
    th = host_factory(flavor, jtel=False, hostname="lb1")
    rc, out, err = th.run("yum -y install haproxy")
    assert rc == 0, out + err
    th.write(CFG, cfg, mode=0o640, owner="root", group="haproxy")
    if cert:
        folder = tmp_path / f"lb-cert-{th.name}"
        folder.mkdir()
        pem = Path(self_signed(folder, names=("jtel-portal",))[2]).read_bytes()
        th.write("/etc/haproxy/haproxy.pem", pem, mode=0o600)
    if start:
        cmd = "systemctl start haproxy" if flavor == "centos7" else "service haproxy start"
        rc, out, err = th.run(cmd)
        assert rc == 0, out + err
    return th


def e2e_answers(chats: dict, lb, *, scheme="https", whatsapp=None, **sections) -> Answers:
    hosts = {name: {"address": th.host, "port": th.port, "user": "root", "key_file": th.key_path,
                    "roles": ["CHAT"]} for name, th in chats.items()}
    hosts["lb1"] = {"address": lb.host, "port": lb.port, "user": "root", "key_file": lb.key_path,
                    "roles": ["LB"]}
    data = {"version": 1, "inventory": {"hosts": hosts},
            "portal": {"scheme": scheme, "load_balancer": "jtel-portal"},
            "sections": {"skip": ["hazelcast", "daemon"]}}
    if whatsapp is not None:
        data["whatsapp"] = {"enabled": True, "api_key": "keyring:tyntec/apikey",
                            "phone_number": "+4989123456789", **whatsapp}
    data.update(sections)
    return Answers.from_data(data)


def e2e_connect(answers, hosts: dict, tmp_path) -> dict:
    from wizard.transport.ssh import SSHTransport
    return {spec.name: SSHTransport(spec, known_hosts_paths=[hosts[spec.name].known_hosts_path],
                                    tool_known_hosts=str(tmp_path / "known_hosts"),
                                    ssh_config_path=str(tmp_path / "no-ssh-config"),
                                    allow_agent=False)
            for spec in answers.hosts}


def e2e_close(transports):
    for t in transports.values():
        t.close()


def reload_calls(th, flavor) -> list:
    if flavor == "centos7":
        return [c for c in th.calls("systemctl") if c["argv"][:2] == ["reload", "haproxy"]]
    return [c for c in th.calls("service") if c["argv"][:2] == ["haproxy", "reload"]]


@pytest.mark.parametrize("flavor,scheme", [("centos6", "http"), ("centos7", "https")])
def test_e2e_haproxy_on_the_lb(host_factory, tmp_path, flavor, scheme):
    """Two chat servers, one LB: the real `haproxy -c` passes on the LB, haproxy is
    reloaded once, and a second plan has no changing action."""
    lb = start_lb(host_factory, flavor, tmp_path)
    chat1, chat2 = host_factory.many(2, flavor)
    ans = e2e_answers({"chat1": chat1, "chat2": chat2}, lb, scheme=scheme)
    transports = e2e_connect(ans, {"chat1": chat1, "chat2": chat2, "lb1": lb}, tmp_path)
    try:
        plan = planner.build(ans, transports, only=E2E_SECTIONS)
        assert [s.name for s in plan.sections] == ["load_balancer"]
        res, events = apply(plan, transports)
        assert res.ok, [e for e in events if type(e).__name__ == "StepFailed"]
        live = lb.read(CFG)
        port = "3003 ssl crt /etc/haproxy/haproxy.pem" if scheme == "https" else "3000"
        name = "acdportal_chat_wss" if scheme == "https" else "acdportal_chat_ws"
        assert f"frontend {name}\n    bind :{port}\n" in live
        assert f"    server chatserver1 {chat1.host}:3000 weight 1 check inter 1m\n" \
               f"    server chatserver2 {chat2.host}:3000 weight 1 check inter 1m\n" in live
        assert live.startswith(PORTAL_CFG.decode())               # the rest kept as it was
        st = lb.stat(CFG)                                          # mode and owner kept
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == \
            (0o640, 0, lb._id("/etc/group", "haproxy"))
        rc, out, err = lb.run(f"haproxy -c -f {CFG}")
        assert rc == 0, out + err
        assert len(reload_calls(lb, flavor)) == 1 and reload_calls(lb, flavor)[0]["rc"] == 0
        assert not lb.exists("/etc/haproxy/.haproxy.cfg.chatwizard-candidate")
        again = planner.build(ans, transports, only=E2E_SECTIONS)
        assert again.changing_count == 0, preview.render(again)
    finally:
        e2e_close(transports)
    assert len(reload_calls(lb, flavor)) == 1


@pytest.mark.parametrize("flavor", ["centos6", "centos7"])
def test_e2e_rejected_candidate_keeps_the_live_file(host_factory, tmp_path, flavor):
    """A certificate path that does not exist on the LB: `haproxy -c` rejects the
    candidate, the live file stays byte for byte, haproxy is not reloaded."""
    lb = start_lb(host_factory, flavor, tmp_path)
    chat = host_factory(flavor)
    ans = e2e_answers({"chat1": chat}, lb,
                      load_balancer={"cert": "/etc/haproxy/no-such-chat.pem"})
    transports = e2e_connect(ans, {"chat1": chat, "lb1": lb}, tmp_path)
    try:
        before = lb.read(CFG)
        plan = planner.build(ans, transports, only=E2E_SECTIONS)
        res, events = apply(plan, transports)
        assert not res.ok
        failed = res.failed["lb1"]
        assert failed.display.startswith("haproxy -c -f /etc/haproxy/.haproxy.cfg.chatwizard-candidate")
        assert "no-such-chat.pem" in failed.tail
        assert lb.read(CFG) == before
        assert reload_calls(lb, flavor) == []
        assert not lb.exists("/etc/haproxy/.haproxy.cfg.chatwizard-candidate")
        assert not [e for e in events if type(e).__name__ == "FileWritten"]
    finally:
        e2e_close(transports)


def test_e2e_haproxy_missing_is_a_plan_error(host_factory, tmp_path):
    lb = host_factory("centos7", jtel=False, hostname="lb1")      # no yum install haproxy
    chat = host_factory("centos7")
    ans = e2e_answers({"chat1": chat}, lb)
    transports = e2e_connect(ans, {"chat1": chat, "lb1": lb}, tmp_path)
    try:
        with pytest.raises(PlanError, match="host lb1: haproxy is not installed"):
            planner.build(ans, transports, only=E2E_SECTIONS)
    finally:
        e2e_close(transports)
