"""The simulated CentOS 7 training host (wizard.training): its shell, its commands and
their state, the Transport interface over it, and persistence across processes."""
import json
import shutil
import subprocess

import pytest

from wizard import facts, masking
from wizard.transport.base import BACKUP_ROOT, HostSpec, TransportError
from wizard.training import BANNER, SimHost, SimTransport

CM_SRC = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
JDK_URL = "https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm"


@pytest.fixture
def host():
    return SimHost()


@pytest.fixture
def t(host):
    return SimTransport(HostSpec("sim", "training.invalid", roles=("CHAT", "DATA", "TEL", "WEB", "LB")),
                        state=host)


def run(t, cmd, **kw):
    r = t.run(cmd, **kw)
    return r.exit_code, r.stdout, r.stderr


# -- the transport itself ------------------------------------------------------------------------

def test_marked_as_training(t):
    assert t.training is True
    assert t.banner == BANNER == "TRAINING: simulated CentOS 7 host (in memory)"
    assert run(t, "hostname") == (0, "training-sim\n", "")


def test_unknown_command_is_127_and_says_so(t):
    rc, out, err = run(t, "frobnicate --now")
    assert rc == 127 and out == ""
    assert err == "training host: `frobnicate` is not simulated\n"
    # a simulated command whose package is missing: what bash says
    assert run(t, "java -version") == (127, "", "bash: java: command not found\n")


def test_output_streams_line_by_line_masked(t):
    masking.register("S3cr3t-pw")
    try:
        seen = []
        r = t.run("echo one; echo 'pw=S3cr3t-pw'; echo err >&2; printf 'no newline'",
                  on_output=lambda s, line: seen.append((s, line)))
        assert seen == [("out", "one"), ("out", "pw=********"), ("err", "err"), ("out", "no newline")]
        assert r.stdout == "one\npw=S3cr3t-pw\nno newline" and r.stderr == "err\n"
        assert "S3cr3t-pw" not in json.dumps(t.host.history)
    finally:
        masking.clear()


def test_facts_detection(t):
    f = facts.gather(t, roles=("CHAT",))
    assert (f.os.name, f.os.major, f.os.version) == ("CentOS", 7, "7.9.2009")
    assert f.portal.version == "3.26.0"
    assert not f.java.java8
    assert not f.windows_repo


def test_read_stat_and_symlinks(t):
    assert t.read_file("/etc/redhat-release") == b"CentOS Linux release 7.9.2009 (Core)\n"
    assert t.read_file("/nope") is None and t.read_file("/etc/redhat-release/x") is None
    st = t.stat("/etc/init.d")                      # a symlink to rc.d/init.d, followed
    assert st.exists and st.is_dir and st.owner == "root"
    st = t.stat(f"{CM_SRC}/bin/start.sh")
    assert (st.mode, st.owner, st.group) == (0o755, "jtel", "jtel")
    assert not t.stat("/home/jtel/ClientMessenger").exists
    with pytest.raises(TransportError):
        t.read_file("/etc")


def test_write_file_backup_owner_mode(t, host):
    old = t.read_file("/etc/haproxy/haproxy.cfg")
    res = t.write_file("/etc/haproxy/haproxy.cfg", b"new\n", mode=0o640, owner="haproxy")
    assert res.backup.startswith(BACKUP_ROOT + "/") and res.backup.endswith("/etc/haproxy/haproxy.cfg")
    assert t.read_file(res.backup) == old
    assert t.read_file("/etc/haproxy/haproxy.cfg") == b"new\n"
    st = t.stat("/etc/haproxy/haproxy.cfg")
    assert (st.mode, st.owner, st.group) == (0o640, "haproxy", "haproxy")
    again = t.write_file("/etc/haproxy/haproxy.cfg", b"newer\n")        # same second: its own folder
    assert again.backup != res.backup and t.read_file(again.backup) == b"new\n"
    assert t.stat("/etc/haproxy/haproxy.cfg").owner == "haproxy"       # owner kept when not given
    # through the /etc/init.d symlink, a new file: no backup
    res = t.write_file("/etc/init.d/x", b"#!/bin/bash\n", mode=0o755)
    assert res.backup is None and host.exists("/etc/rc.d/init.d/x")
    assert t.write_file("/tmp/f", b"1", backup=False).backup is None
    with pytest.raises(TransportError):
        t.write_file("/no/such/folder/f", b"x")
    with pytest.raises(TransportError):
        t.write_file("/etc/f", b"x", owner="nobody-here")


def test_non_root_login_and_sudo(host):
    t = SimTransport(HostSpec("chat1", "chat1.lab", user="admin", become="sudo"), state=host)
    assert run(t, "whoami") == (0, "admin\n", "")
    rc, out, err = run(t, "cat /etc/shadow")
    assert rc == 1 and "Permission denied" in err
    assert run(t, "yum -y install telnet")[0] == 1
    with pytest.raises(TransportError):
        t.read_file("/home/jtel/shared/hazelcast.xml")              # /home/jtel is 0700
    assert t.read_file("/home/jtel/shared/hazelcast.xml", sudo=True).startswith(b"<?xml")
    assert run(t, "whoami", sudo=True)[1] == "root\n"
    # sudo over a pty: stderr arrives in stdout; secure_path has no /usr/local/bin
    rc, out, err = run(t, "updatepl.sh", sudo=True)
    assert rc == 127 and err == "" and "updatepl.sh: command not found" in out
    assert run(t, "/usr/local/bin/updatepl.sh", sudo=True)[0] == 0


# -- the shell -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd,expected", [
    ("echo a; echo b", "a\nb\n"),
    ("false && echo no || echo yes", "yes\n"),
    ("true || echo no; echo $?", "0\n"),
    ("printf 'x\\ny\\nx\\n' | grep x | wc -l", "2\n"),
    ("echo hi >/tmp/o; echo ho >> /tmp/o; cat /tmp/o", "hi\nho\n"),
    ("ls /nope 2>&1 >/dev/null | wc -l", "1\n"),
    ("ls /nope >/dev/null 2>&1; echo $?", "2\n"),
    ("sh -c 'echo $0 $1; exit 4' me arg; echo $?", "me arg\n4\n"),
    ("bash -c 'set -e; false; echo unreached'; echo $?", "1\n"),
    ("[ -e /etc/hosts ] && [ -f /etc/hosts ] && [ -d /etc ] && [ -s /etc/hosts ] && echo ok", "ok\n"),
    ("test -x /usr/local/bin/updatepl.sh && ! test -x /etc/hosts && echo ok", "ok\n"),
    ("[ -e /nope ]; echo $?; [ 2 -gt 10 ]; echo $?", "1\n1\n"),
    ("x='a b'; set -- $x \"$x\"; echo $# ${2} ${UNSET:-dflt}", "3 b dflt\n"),
    ("echo \"$(echo in $(echo deep))\" `echo tick`", "in deep tick\n"),
    ("for f in /etc/haproxy/*; do echo $f; done", "/etc/haproxy/haproxy.cfg\n/etc/haproxy/haproxy.pem\n"),
    ("case $HOME in /root) echo root;; *) echo other;; esac", "root\n"),
    ("f() { echo \"f:$*\"; return 3; }; f 1 2; echo $?", "f:1 2\n3\n"),
    ("i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i", "3\n"),
    ("if grep -q acd-dbm /home/jtel/shared/hazelcast.xml; then echo member; fi", "member\n"),
    ("echo $'a\\tb' $\"c\"", "a\tb c\n"),
    ("cd /etc/init.d && pwd && cd - >/dev/null && pwd", "/etc/init.d\n/root\n"),
])
def test_shell_semantics(t, cmd, expected):
    rc, out, err = run(t, cmd)
    assert out == expected, err


def test_syntax_errors_and_bash_n(t, host):
    rc, out, err = run(t, "echo 'unterminated")
    assert rc == 2 and "unexpected EOF" in err
    assert run(t, f"bash -n {CM_SRC}/init.d/jtel-clientmessenger")[0] == 0     # case + functions
    t.write_file("/tmp/bad.sh", b"if true; then\n  echo x\n")
    rc, _, err = run(t, "bash -n /tmp/bad.sh")
    assert rc == 2 and "unexpected end of file" in err
    assert run(t, "cat <<EOF\nx\nEOF")[0] == 2                                  # not simulated, said so


def test_scripts_run_with_shebang_and_crlf_fails(t):
    t.write_file("/usr/local/bin/hello.sh", b"#!/bin/bash\nset -e\necho \"hi $1\"\nfalse\necho no\n", mode=0o755)
    assert run(t, "hello.sh you") == (1, "hi you\n", "")
    t.write_file("/tmp/w.sh", b"#!/bin/bash\r\necho hi\r\n", mode=0o755)
    rc, _, err = run(t, "/tmp/w.sh")
    assert rc == 126 and "/bin/bash^M: bad interpreter" in err
    assert run(t, "sed -i -e 's/\\r//g' /tmp/w.sh && /tmp/w.sh") == (0, "hi\n", "")
    t.write_file("/tmp/noexec.sh", b"#!/bin/sh\necho x\n")
    assert run(t, "/tmp/noexec.sh")[0] == 126


# -- cp against real coreutils -------------------------------------------------------------------

TREE = "mkdir -p src/sub existing && echo one > src/a.txt && echo two > src/sub/b.txt && echo f > file"
CP_CASES = [
    "cp -R src dest",
    "cp -R src dest; cp -R src dest",              # the procedure's re-run: nests dest/src
    "cp -R src/ existing",                         # trailing slash: still nests
    "cp -R src/. existing/; cp -R src/. existing/",  # contents: never nests
    "cp -R src/. newdir",
    "cp -r src/* existing/",
    "cp src/a.txt existing/ && cp src/a.txt new.txt",
    "cp src existing",                             # omitting directory
    "cp file nope/",
    "cp file src/a.txt missing",                   # target is not a directory
    "cp -R src src",                               # into itself
]


def _tree_real(d):
    out = []
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).as_posix()
        out.append((rel, "d" if p.is_dir() else p.read_text()))
    return out


def _tree_sim(t, root):
    rc, out, _ = run(t, f"cd {root} && find . -mindepth 1 | sort")
    items = []
    for rel in out.split():
        rel = rel[2:]
        st = t.stat(f"{root}/{rel}")
        items.append((rel, "d" if st.is_dir else t.read_file(f"{root}/{rel}").decode()))
    return sorted(items)


@pytest.mark.skipif(not shutil.which("cp") or b"GNU" not in subprocess.run(
    ["cp", "--version"], capture_output=True).stdout, reason="needs GNU coreutils")
@pytest.mark.parametrize("cmd", CP_CASES)
def test_cp_like_coreutils(tmp_path, t, cmd):
    subprocess.run(TREE, shell=True, cwd=tmp_path, check=True)
    real = subprocess.run(["sh", "-c", cmd], cwd=tmp_path, capture_output=True)
    run(t, f"mkdir -p /tmp/w && cd /tmp/w && {TREE}")
    rc, _, err = run(t, f"cd /tmp/w && {{ {cmd}\n}}")
    assert rc == real.returncode, err
    assert _tree_sim(t, "/tmp/w") == _tree_real(tmp_path)
    if real.stderr:
        assert err.startswith("cp: ")


SHELL_CASES = [
    "mv src/a.txt existing/ && mv src existing && ls existing",
    "mv existing src/; echo $?; mv nope x; echo $?",
    "rm file; rm file; echo $?; rm -f file; echo $?; rm src; echo $?; rm -r src; echo $?",
    "mkdir existing; echo $?; mkdir -p x/y/z && mkdir x/q/r; echo $?",
    "{ echo out; echo err >&2; } 2>&1 >/dev/null | wc -l; { echo o; echo e >&2; } > both 2>&1; cat both",
    "for f in src/*; do echo \"$f\"; done; for f in src/*.none; do echo \"$f\"; done",
    "[ 1 -lt 2 -a 3 -gt 2 ]; echo $?; [ ! -d file ]; echo $?; test; echo $?; [ -z '' ] && echo z",
    "grep -c one src/a.txt src/sub/b.txt; grep -rn o src | sort; grep -F -x two src/sub/b.txt; echo $?",
    "printf '1\\n2\\n3\\n4\\n5\\n' > n; grep -A1 2 n; grep -C1 -n 4 n; head -n 2 n; tail -n +4 n",
    "sed 's/\\(o\\)\\(n\\)/\\2\\1/' src/a.txt; echo a/b | sed 's|/|_|g'; printf '1\\n2\\n3\\n' | sed -n '/2/,$p'",
    "find . -type d | sort; find src -name '*.txt' -exec cat {} \\; | sort; find src -maxdepth 0",
    "chmod 640 file; stat -c '%a %s %F' file; chmod u+x,g-r file; stat -c %a file; chmod -R go-rwx src; stat -c %a src/a.txt",
    "x='  a  b '; echo [$x] [\"$x\"]; set -- $x; echo $#; echo ${UNSET:-d} $((7 % 3)) $((-7 / 2))",
    "x=$(cat nope 2>/dev/null) || echo \"failed $?\"; echo \"[$x]\"; echo `echo a`\"$(printf 'b\\n\\n')\"c",
    "echo hello | base64; echo aGVsbG8K | base64 -d; echo abc | sha256sum; printf 'a\\nb\\na\\n' | sort | uniq -c",
]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
@pytest.mark.parametrize("cmd", SHELL_CASES)
def test_shell_like_bash(tmp_path, t, cmd):
    """stdout, exit code and resulting tree as real bash + coreutils give them (messages differ:
    the simulated host speaks coreutils 8.22)."""
    subprocess.run(TREE, shell=True, cwd=tmp_path, check=True)
    real = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    run(t, f"mkdir -p /tmp/w && cd /tmp/w && {TREE}")
    rc, out, err = run(t, f"cd /tmp/w && {{ {cmd}\n}}")
    assert (rc, out) == (real.returncode, real.stdout), err
    assert _tree_sim(t, "/tmp/w") == _tree_real(tmp_path)


def test_cp_ownership_and_modes(t):
    run(t, "umask")
    rc, _, _ = run(t, f"cp -R {CM_SRC} /home/jtel/ClientMessenger")
    assert rc == 0
    st = t.stat("/home/jtel/ClientMessenger/bin/start.sh")
    assert (st.owner, st.group, st.mode) == ("root", "root", 0o755)   # cp as root, no -p
    run(t, "cp -p /etc/haproxy/haproxy.pem /tmp/pem")
    st = t.stat("/tmp/pem")
    assert (st.owner, st.mode) == ("root", 0o600)
    run(t, f"cp -a {CM_SRC}/bin /tmp/bin")
    assert t.stat("/tmp/bin/start.sh").owner == "jtel"


# -- chown, chmod, find --------------------------------------------------------------------------

def test_chown_chmod(t):
    run(t, f"cp -R {CM_SRC} /opt/cm")
    assert run(t, "chown -R jtel:jtel /opt/cm")[0] == 0
    assert {t.stat(p).owner for p in ("/opt/cm", "/opt/cm/bin", "/opt/cm/bin/start.sh")} == {"jtel"}
    assert run(t, "chown root: /opt/cm && stat -c '%U:%G' /opt/cm")[1] == "root:root\n"
    assert run(t, "chown :jtel /opt/cm && stat -c '%U:%G' /opt/cm")[1] == "root:jtel\n"
    rc, _, err = run(t, "chown nosuchuser /opt/cm")
    assert rc == 1 and err == "chown: invalid user: \u2018nosuchuser\u2019\n"
    rc, _, err = run(t, "chown jtel /nope")
    assert rc == 1 and "cannot access" in err
    assert run(t, "chmod 755 /opt/cm/init.d/jtel-clientmessenger && stat -c %a /opt/cm/init.d/jtel-clientmessenger")[1] == "755\n"
    assert run(t, "chmod 600 /tmp && chmod +x /opt/cm/conf/hazelcast.xml && stat -c %a /opt/cm/conf/hazelcast.xml")[1] == "755\n"
    assert run(t, "chmod u=rw,go= /opt/cm/conf/log4j2.xml && stat -c '%a %A' /opt/cm/conf/log4j2.xml")[1] == "600 -rw-------\n"
    assert run(t, "chmod -R g+w /opt/cm && stat -c %a /opt/cm/bin")[1] == "775\n"
    rc, _, err = run(t, "chmod 8x /opt/cm")
    assert rc == 1 and "invalid mode" in err


def test_chown_needs_root(host):
    t = SimTransport(HostSpec("u", "u", user="jtel", become="sudo"), state=host)
    run(t, "touch /home/jtel/mine")
    rc, _, err = run(t, "chown root /home/jtel/mine")
    assert rc == 1 and "Operation not permitted" in err
    assert run(t, "chown root /home/jtel/mine", sudo=True)[0] == 1   # jtel is not in wheel
    assert run(t, "chmod 600 /home/jtel/mine")[0] == 0


def test_find_for_clientmessenger_owner_check(t):
    find = r"find /home/jtel/ClientMessenger \( ! -user jtel -o ! -group jtel \) -print -quit"
    run(t, f"mkdir -p /home/jtel/ClientMessenger && cp -R {CM_SRC}/. /home/jtel/ClientMessenger/")
    assert run(t, find) == (0, "/home/jtel/ClientMessenger\n", "")             # -quit: only the first
    run(t, "chown -R jtel:jtel /home/jtel/ClientMessenger")
    assert run(t, find) == (0, "", "")
    run(t, "chgrp root /home/jtel/ClientMessenger/conf/log4j2.xml")
    assert run(t, find)[1] == "/home/jtel/ClientMessenger/conf/log4j2.xml\n"
    assert run(t, "find /home/jtel/ClientMessenger -type f -name '*.xml' | sort")[1] == (
        "/home/jtel/ClientMessenger/conf/hazelcast.xml\n/home/jtel/ClientMessenger/conf/log4j2.xml\n")
    assert run(t, "find /nope -print")[0] == 1
    rc, _, err = run(t, "find /tmp -user ghost")
    assert rc == 1 and "not the name of a known user" in err


# -- packages, services, firewall ----------------------------------------------------------------

def test_yum_java(t, host):
    rc, out, _ = run(t, f"yum install {JDK_URL}")                      # no -y, stdin closed
    assert rc == 1 and "Is this ok [y/d/N]: " in out and "Exiting on user command" in out
    assert "jdk1.8" not in host.state["packages"]
    rc, out, _ = run(t, f"yum -y install {JDK_URL}")
    assert rc == 0 and out.rstrip().endswith("Complete!")
    assert run(t, "java -version") == (0, "", 'java version "1.8.0_202"\nJava(TM) SE Runtime Environment '
                                             "(build 1.8.0_202-b08)\nJava HotSpot(TM) 64-Bit Server VM "
                                             "(build 25.202-b08, mixed mode)\n")
    assert run(t, "rpm -q jdk1.8")[1] == "jdk1.8-1.8.0_202-fcs.x86_64\n"
    assert facts.gather(t, roles=("CHAT",)).java.java8
    rc, out, _ = run(t, f"yum -y install {JDK_URL}")
    assert rc == 0 and "does not update installed package" in out
    rc, out, err = run(t, "yum -y install /tmp/jdk-8u202-linux-x64.rpm")
    assert rc == 1 and "Cannot open: /tmp/jdk-8u202-linux-x64.rpm. Skipping." in out
    rc, out, _ = run(t, "yum -y localinstall /root/jdk-8u202-linux-x64.rpm")   # the local copy: same package
    assert rc == 0 and "does not update installed package" in out
    rc, out, err = run(t, "yum -y install no-such-package")
    assert rc == 1 and "No package no-such-package available." in out and "Nothing to do" in err
    assert run(t, "rpm -qa 'hap*'")[1] == "haproxy-1.5.18-9.el7_9.1.x86_64\n"
    assert host.calls("yum")[0] == ["yum", "install", JDK_URL]


def test_yum_with_answer_on_stdin(t):
    rc, out, _ = run(t, "yum install telnet", stdin=b"y\n")
    assert rc == 0 and "Complete!" in out


def test_firewalld_permanent_and_runtime(t, host):
    q = "firewall-cmd --zone=public --query-port=3000/tcp"
    assert run(t, "firewall-cmd --state") == (0, "running\n", "")
    assert run(t, q)[:2] == (1, "no\n")
    assert run(t, "firewall-cmd --zone=public --add-port=3000/tcp --permanent") == (0, "success\n", "")
    assert run(t, q)[0] == 1                                   # runtime unchanged until --reload
    assert run(t, "firewall-cmd --permanent " + q[13:])[0] == 0
    rc, out, err = run(t, "firewall-cmd --zone=public --add-port=3000/tcp --permanent")
    assert (rc, out, err) == (0, "success\n", "Warning: ALREADY_ENABLED: 3000:tcp\n")
    assert run(t, "firewall-cmd --reload") == (0, "success\n", "")
    assert run(t, q)[0] == 0 and "3000/tcp" in run(t, "firewall-cmd --list-ports")[1]
    assert run(t, "firewall-cmd --add-port=70000/tcp")[0] == 103
    assert b'port="3000"' in t.read_file("/etc/firewalld/zones/public.xml")
    run(t, "systemctl stop firewalld")
    assert run(t, "firewall-cmd --state")[:2] == (252, "not running\n")


def test_iptables_check_insert_save(t):
    rule = "-p tcp -m tcp --dport 5701:5801 -j ACCEPT"
    rc, _, err = run(t, f"iptables -C INPUT {rule}")
    assert rc == 1 and "Bad rule" in err
    assert run(t, f"iptables -I INPUT 4 {rule}")[0] == 0
    assert run(t, "iptables -C INPUT -p tcp --dport 5701:5801 -j ACCEPT")[0] == 0   # order/implicit -m
    lines = run(t, "iptables -S INPUT")[1].splitlines()
    assert lines[4] == f"-A INPUT {rule}" and lines[-1].endswith("REJECT --reject-with icmp-host-prohibited")
    assert "dpts:5701:5801" in run(t, "iptables -L INPUT -n")[1]
    assert run(t, "iptables -I INPUT 99 -j ACCEPT")[0] == 1
    rc, out, _ = run(t, "service iptables save")
    assert rc == 0 and "Saving firewall rules to /etc/sysconfig/iptables" in out
    assert f"-A INPUT {rule}".encode() in t.read_file("/etc/sysconfig/iptables")
    # iptables.service conflicts with firewalld on CentOS 7
    run(t, "service iptables restart")
    assert run(t, "systemctl is-active firewalld")[1] == "inactive\n"
    assert run(t, f"iptables -C INPUT {rule}")[0] == 0        # loaded back from the saved file


def test_init_script_service_lifecycle(t, host):
    run(t, f"cp -R {CM_SRC} /home/jtel/ClientMessenger")
    run(t, "cp /home/jtel/ClientMessenger/init.d/jtel-clientmessenger /etc/init.d/")
    rc, _, err = run(t, "service jtel-clientmessenger start")           # not executable yet
    assert rc == 5 and "Unit not found" in err
    assert run(t, "chmod 755 /etc/init.d/jtel-clientmessenger && chkconfig jtel-clientmessenger on")[0] == 0
    assert "3:on" in run(t, "chkconfig --list jtel-clientmessenger")[1]
    rc, out, _ = run(t, "service jtel-clientmessenger start")
    assert rc == 0 and "[  OK  ]" in out
    assert run(t, "service jtel-clientmessenger status") == (1, "jtel-clientmessenger dead but pid file exists\n", "")
    assert "failed to run command" in run(t, "cat /var/log/jtel-clientmessenger.log")[1]   # no java
    run(t, f"yum -y -q install {JDK_URL}")
    assert run(t, "service jtel-clientmessenger restart")[0] == 0
    assert run(t, "service jtel-clientmessenger status")[0] == 0
    assert run(t, "systemctl is-active jtel-clientmessenger")[1] == "active\n"
    assert "ClientMessenger.jar" in run(t, "ps aux")[1]
    assert run(t, "service jtel-clientmessenger reload")[0] == 2          # the script has no reload
    # Hazelcast refuses an invalid config at start: the daemon dies
    t.write_file("/home/jtel/ClientMessenger/conf/hazelcast.xml", b"<hazelcast><oops/></hazelcast>")
    run(t, "service jtel-clientmessenger restart")
    assert run(t, "service jtel-clientmessenger status")[0] == 1
    # CRLF init script (repositories on Windows)
    t.write_file("/etc/init.d/crlf", b"#!/bin/bash\r\ncase $1 in start) ;; esac\r\n", mode=0o755)
    rc, _, err = run(t, "service crlf start")
    assert rc == 127 and "No such file or directory" in err
    assert run(t, "service PlatformUDPListener restart")[0] == 0
    assert run(t, "systemctl restart PlatformUDPListener && systemctl is-active PlatformUDPListener")[1] == "active\n"


def test_haproxy_check_and_reload(t):
    rc, out, err = run(t, "haproxy -c -f /etc/haproxy/haproxy.cfg")
    assert (rc, out) == (0, "Configuration file is valid\n") and "light structural check" in err
    assert run(t, "systemctl reload haproxy")[0] == 0
    cfg = t.read_file("/etc/haproxy/haproxy.cfg")
    bad = cfg + (b"\nfrontend acdportal_chat_ws\n    bind :3000\n    default_backend backend_chat_ws\n"
                 b"    use_backend backend_chat_ws if whatsapp_req\n"
                 b"backend x\n    server s1 nowhere.invalid:3000 check\n    bogus 1\n")
    t.write_file("/tmp/cand.cfg", bad)
    rc, out, err = run(t, "haproxy -c -f /tmp/cand.cfg")
    assert rc == 1 and out == ""
    for msg in ("unable to find required default_backend: 'backend_chat_ws'", "no such ACL : 'whatsapp_req'",
                "could not resolve address 'nowhere.invalid'", "unknown keyword 'bogus' in 'backend' section",
                "Fatal errors found in configuration."):
        assert msg in err
    # the inventory's own addresses resolve on the training host
    t.write_file("/tmp/ok.cfg", cfg + b"\nbackend chat\n    server c1 training.invalid:3000 check inter 1m\n")
    assert run(t, "haproxy -c -f /tmp/ok.cfg")[0] == 0
    t.write_file("/etc/haproxy/haproxy.cfg", bad)
    rc, _, err = run(t, "service haproxy reload")
    assert rc == 1 and "Redirecting to /bin/systemctl reload haproxy.service" in err and "Job for" in err
    assert run(t, "systemctl is-active haproxy")[1] == "active\n"           # a failed reload keeps it up
    assert "Fatal errors" in run(t, "journalctl -u haproxy")[1]
    assert run(t, "systemctl restart haproxy")[0] == 1
    assert run(t, "systemctl is-active haproxy")[1] == "failed\n"
    assert run(t, "haproxy -c -f /nope")[0] == 1


def test_update_scripts_are_recorded(t, host):
    assert run(t, "updatepl.sh")[0] == 0 and run(t, "/usr/local/bin/updatejb.sh")[0] == 0
    assert [r["script"] for r in host.state["runs"]] == ["updatepl.sh", "updatejb.sh"]


def test_sleep_does_not_wait(t):
    import time
    t0 = time.monotonic()
    assert run(t, "sleep 30; sleep 1m")[0] == 0
    assert time.monotonic() - t0 < 2


# -- persistence ---------------------------------------------------------------------------------

def test_state_persists_across_instances(tmp_path):
    path = tmp_path / "training-host.json"
    a = SimTransport(HostSpec("sim", "sim"), state=SimHost(path))
    assert run(a, "firewall-cmd --permanent --add-port=3003/tcp")[0] == 0
    a.write_file("/tmp/note", b"kept\n")
    b = SimTransport(HostSpec("sim", "sim"), state=SimHost.load(path))     # a second process
    assert b.read_file("/tmp/note") == b"kept\n"
    assert run(b, "firewall-cmd --permanent --query-port=3003/tcp")[0] == 0
    assert any(h["command"] == "firewall-cmd --permanent --add-port=3003/tcp" for h in b.host.history)
    b.host.reset()
    c = SimTransport(HostSpec("sim", "sim"), state=SimHost.load(path))
    assert c.read_file("/tmp/note") is None


def test_default_state_file_is_shared_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path))
    SimHost.forget_shared()
    try:
        a = SimTransport(HostSpec("chat1", "10.0.0.21"))
        b = SimTransport(HostSpec("lb1", "10.0.0.2"))
        assert a.host is b.host
        run(a, f"yum -y -q install {JDK_URL}")
        assert (tmp_path / "training" / "centos7" / "host.json").exists()
        SimHost.forget_shared()                                            # "another process"
        c = SimTransport(HostSpec("chat1", "10.0.0.21"))
        assert c.host is not a.host and run(c, "rpm -q jdk1.8")[0] == 0
    finally:
        SimHost.forget_shared()


def test_closed_transport_refuses(t):
    t.close()
    with pytest.raises(TransportError):
        t.run("true")


# -- the whole wizard on the training host --------------------------------------------------------

def test_training_apply_then_replay_is_noop(tmp_path, monkeypatch, capsys):
    cli = pytest.importorskip("wizard.cli")
    from pathlib import Path
    answers = Path(__file__).resolve().parent.parent / "answers" / "training.yaml"
    if not answers.exists():
        pytest.skip("answers/training.yaml not present")
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    SimHost.forget_shared()
    try:
        assert cli.main(["apply", str(answers), "--training", "--yes", "--no-colour"]) == 0
        out = capsys.readouterr().out
        assert "Done:" in out and "FAILED" not in out
        SimHost.forget_shared()                                            # second process
        assert cli.main(["apply", str(answers), "--training", "--yes", "--no-colour"]) == 0
        assert "Nothing to do." in capsys.readouterr().out
        host = SimHost.shared()
        assert run(SimTransport(HostSpec("x", "x"), state=host), "service jtel-clientmessenger status")[0] == 0
    finally:
        SimHost.forget_shared()


def test_training_whatsapp_apply_then_replay_plans_nothing(tmp_path, monkeypatch):
    """The WhatsApp sample on the training host: apply, then a replay (a new process: the
    host and the simulated TynTec come back from the state file) plans zero changes,
    including the webhook PATCH; planning ran the same step code as on real hosts."""
    from pathlib import Path
    from wizard import answers as answers_mod, planner, secrets, session
    from wizard.plan import HttpRequest
    from wizard.runner import Runner
    from wizard.training import http_client
    sample = Path(__file__).resolve().parent.parent / "answers" / "centos7-https-whatsapp.yaml"
    monkeypatch.setenv("CHATWIZARD_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(secrets, "_backend", None)
    secrets.configure_backend("training")
    ans = answers_mod.load(sample)
    SimHost.forget_shared()
    try:
        def plan_and_apply():           # the session both faces drive
            from wizard.session import Session
            s = Session(training=True)
            s.use(ans)
            plan = s.plan()
            result = s.run(plan, emit=lambda e: None)
            s.shutdown()
            return plan, result
        plan, result = plan_and_apply()
        assert plan.changing_count and result.ok, result.failed
        assert any(isinstance(a, HttpRequest) for _, _, a in plan.actions())
        SimHost.forget_shared()                                          # second process
        host = SimHost.shared()
        assert host.state["tyntec"], "the simulated PATCH was not kept"
        # the first plan asked the training host what it asks real hosts
        probes = {" ".join(a) for a in host.calls()}
        assert {"bash -n /dev/stdin", "command -v updatepl.sh", "command -v updatejb.sh"} <= probes
        plan, _ = plan_and_apply()
        changing = [(sp.name, hp.host, a.description) for sp, hp, a in plan.actions() if a.changes]
        assert changing == []
        SimHost.shared().reset()
        assert "tyntec" not in SimHost.shared().state
    finally:
        SimHost.forget_shared()
        monkeypatch.setattr(secrets, "_backend", None)
