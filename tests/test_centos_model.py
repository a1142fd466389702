"""The one CentOS model (wizard/training/centos.py) behind both stand-ins: the training host
and the test hosts' shim. Its own behaviour (after CentOS 6.10 / 7.9), and proof that the two
hosts answer the same command sequences alike (firewalld, iptables, packages, services)."""
import pytest

from wizard.training import SimHost, SimTransport, centos
from wizard.transport.base import HostSpec


class IO:
    def __init__(self):
        self.o, self.e = [], []

    def out(self, s="", end="\n"):
        self.o.append(s + end)

    def err(self, s="", end="\n"):
        self.e.append(s + end)

    def fail(self, msg, rc=1):
        self.err(msg)
        raise SystemExit(rc)


def call(fn, state, *args, **kw):
    io = IO()
    try:
        rc = fn(state, io, *args, **kw)
    except SystemExit as e:
        rc = e.code
    return rc, "".join(io.o), "".join(io.e)


def new_state(el="7"):
    services = {"firewalld": {"enabled": True, "running": el == "7"},
                "iptables": {"enabled": True, "running": el == "6"}}
    return {"el": el, "packages": {"iptables": "1.4.21-35.el7"}, "services": services, "pids": {},
            "firewall": {"default_zone": "public", "runtime": {"public": centos.new_zone()},
                         "permanent": {"public": centos.new_zone()}},
            "iptables": centos.new_iptables(el)}


def fw(state, line, root=True):
    return call(centos.firewall_cmd, state, line.split(), root)


def ipt(state, line, el="7", root=True):
    return call(centos.iptables, state, line.split(), root, el)


# -- the model alone ---------------------------------------------------------------------------

def test_firewalld_permanent_needs_reload_and_a_running_daemon():
    st = new_state()
    assert fw(st, "--zone=public --add-port=5701-5801/tcp --permanent") == (0, "success\n", "")
    assert fw(st, "--permanent --zone=public --query-port=5701-5801/tcp")[:2] == (0, "yes\n")
    assert fw(st, "--zone=public --query-port=5701-5801/tcp")[:2] == (1, "no\n")      # runtime
    assert fw(st, "--reload")[0] == 0
    assert fw(st, "--zone=public --query-port=5701-5801/tcp")[:2] == (0, "yes\n")
    assert fw(st, "--zone=public --add-port=5701-5801/tcp --permanent")[2] == \
        "Warning: ALREADY_ENABLED: 5701-5801:tcp\n"
    assert fw(st, "--add-port=70000/tcp")[0] == 103
    assert fw(st, "--zone=nope --list-ports")[0] == 112
    assert fw(st, "--query-port=22/tcp", root=False)[0] == 252
    centos.set_running(st, "firewalld", False)
    assert fw(st, "--state") == (252, "not running\n", "")
    # firewall-cmd talks to the daemon: --permanent too is refused while it is stopped
    assert fw(st, "--permanent --add-port=3000/tcp") == (252, "", "FirewallD is not running\n")
    centos.set_running(st, "firewalld", True)     # starts from the permanent configuration
    assert fw(st, "--zone=public --list-ports")[1] == "5701-5801/tcp\n"


def test_iptables_insert_positions_list_and_check():
    st = new_state("6")
    rc, out, _ = ipt(st, "-S INPUT", "6")
    assert rc == 0 and out.splitlines()[0] == "-P INPUT ACCEPT"
    assert out.splitlines()[-1] == "-A INPUT -j REJECT --reject-with icmp-host-prohibited"
    assert ipt(st, "-I INPUT 5 -p tcp -m state --state NEW -m tcp --dport 3000 -j ACCEPT", "6")[0] == 0
    rules = ipt(st, "-S INPUT", "6")[1].splitlines()
    assert rules[5] == "-A INPUT -p tcp -m state --state NEW -m tcp --dport 3000 -j ACCEPT"
    assert rules[6].endswith("REJECT --reject-with icmp-host-prohibited")
    assert ipt(st, "-I INPUT 9 -p tcp --dport 1 -j ACCEPT", "6") == (1, "", "iptables: Index of insertion too big.\n")
    rc, _, err = ipt(st, "-C INPUT -p tcp --dport 3000 -j ACCEPT", "6")
    assert rc == 2 and "unknown option `-C'" in err                   # iptables 1.4.7
    assert ipt(st, "-C INPUT -p tcp --dport 3000 -m state --state NEW -j ACCEPT")[0] == 0   # 1.4.21
    assert ipt(st, "-C INPUT -p tcp --dport 3001 -j ACCEPT")[0] == 1
    assert ipt(st, "-S INPUT", root=False)[0] == 3
    assert "dpt:3000" in ipt(st, "-L INPUT -n", "6")[1]


def test_iptables_restart_restores_the_saved_rules():
    st = new_state("6")
    ipt(st, "-I INPUT 1 -p tcp --dport 3000 -j ACCEPT", "6")
    text, out, _ = call(centos.service_iptables_save, st, True, "6")    # the text to write
    assert out.endswith("[  OK  ]\n") and "*filter\n" in text
    assert "-A INPUT -p tcp --dport 3000 -j ACCEPT" in text
    ipt(st, "-I INPUT 1 -p tcp --dport 4000 -j ACCEPT", "6")                # not saved
    centos.set_running(st, "iptables", False)
    centos.set_running(st, "iptables", True, saved_rules=text)
    rules = ipt(st, "-S INPUT", "6")[1]
    assert "--dport 3000" in rules and "--dport 4000" not in rules
    # on 7 `service iptables save` needs iptables-services
    assert call(centos.service_iptables_save, new_state("7"), True, "7")[0] == 2


def test_firewalld_and_iptables_conflict_on_7_only():
    st = new_state("7")
    centos.set_running(st, "iptables", True)
    assert st["services"]["firewalld"]["running"] is False
    st6 = new_state("6")
    st6["services"]["firewalld"]["running"] = True
    centos.set_running(st6, "iptables", True)
    assert st6["services"]["firewalld"]["running"] is True


def test_packages_by_name_file_and_url():
    assert centos.rpm_file_info("https://x/jdk-8u202-linux-x64.rpm", "7") == ("jdk1.8", "1.8.0_202-fcs", "2000")
    assert centos.rpm_file_info("/tmp/jdk-8u131-linux-x64.rpm", "7")[0] == "jdk1.8.0_131"   # before 8u151
    assert centos.rpm_file_info("foo-1.2-3.el7.noarch.rpm", "7") == ("foo", "1.2-3.el7", "0")
    assert centos.repo_version("7", "jdk1.8") is None and centos.repo_version("7", "haproxy")
    st = new_state()
    st["packages"]["haproxy"] = "1.5.18-9.el7_9.1"
    for q in ("haproxy", "haproxy.x86_64", "haproxy-1.5.18", "haproxy-1.5.18-9.el7_9.1"):
        assert call(centos.rpm_query, st, [q], lambda n: centos.nvra(st, n))[0] == 0, q
    assert call(centos.rpm_query, st, ["jdk1.8", "haproxy"], lambda n: n) == \
        (1, "package jdk1.8 is not installed\nhaproxy\n", "")


# -- the same answers from the test host's shim and the training host ---------------------------

SEQUENCE = [
    "firewall-cmd --state",
    "firewall-cmd --permanent --zone=public --query-port=4444/tcp",
    "firewall-cmd --zone=public --add-port=4444/tcp --permanent",
    "firewall-cmd --zone=public --query-port=4444/tcp",
    "firewall-cmd --reload",
    "firewall-cmd --zone=public --query-port=4444/tcp",
    "firewall-cmd --zone=public --add-port=4444/tcp --permanent",
    "firewall-cmd --zone=public --add-port=99999/tcp",
    "firewall-cmd --permanent --zone=public --list-ports | grep -c 4444/tcp",
    "iptables -F INPUT",
    "iptables -A INPUT -j REJECT --reject-with icmp-host-prohibited",
    "iptables -I INPUT 1 -p tcp -m tcp --dport 3000 -j ACCEPT",
    "iptables -I INPUT 9 -p tcp --dport 1 -j ACCEPT",
    "iptables -S INPUT",
    "iptables -C INPUT -p tcp --dport 3000 -j ACCEPT",
    "iptables -C INPUT -p tcp --dport 3001 -j ACCEPT",
    "rpm -q telnet",
    "yum -y install telnet >/dev/null",
    "rpm -q telnet",
    "yum -y install iptables-services >/dev/null",
    "service iptables save",
    "iptables -I INPUT 1 -p tcp --dport 4000 -j ACCEPT",
    "systemctl start iptables",
    "systemctl is-active iptables",
    "systemctl is-active firewalld",
    "firewall-cmd --state",
    "iptables -S INPUT",
    "chkconfig --list nosuch-service",
]


def _answers(run):
    return [(cmd,) + tuple(run(cmd)) for cmd in SEQUENCE]


@pytest.mark.needs_root
def test_shim_and_training_host_answer_alike(centos7):
    from testhost import exec_cmd
    c = centos7.connect()
    shim = _answers(lambda cmd: exec_cmd(c, cmd)[:2])
    t = SimTransport(HostSpec("sim", "training.invalid"), state=SimHost())
    sim = _answers(lambda cmd: (lambda r: (r.exit_code, r.stdout))(t.run(cmd)))
    assert [a for a in shim if a[1] != 0][:3] == [a for a in sim if a[1] != 0][:3]
    assert sim == shim
