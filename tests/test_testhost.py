"""Smoke tests of the test host fixture itself (tests/testhost/): both flavors,
users and sudo as on CentOS, the jtel tree and its options, the recording shims,
the fake JDK, several hosts at once, faults, and a teardown that leaves nothing.
"""
import io
import os
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
import zipfile

import paramiko
import pytest

from testhost import TestHost, exec_cmd
from testhost.ws_echo import Client

RELEASE = {"centos6": "CentOS release 6.10 (Final)",
           "centos7": "CentOS Linux release 7.9.2009 (Core)"}
CM = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
MANIFEST = "/home/jtel/shared/JTELCarrierPortal/WebServer/META-INF/MANIFEST.MF"
HZ_NS = "{http://www.hazelcast.com/schema/config}"
JDK_URL = "https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm"


def wait_port(host, port, timeout=10):
    end = time.time() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)


def sudo_with_pty(client, cmd, password, timeout=15):
    """Run sudo on a pty, answer its password prompt; (rc, output)."""
    ch = client.get_transport().open_session()
    ch.settimeout(timeout)
    ch.get_pty()
    ch.exec_command("sudo -p 'SUDO-PROMPT:' " + cmd)
    buf = b""
    while b"SUDO-PROMPT:" not in buf:
        chunk = ch.recv(4096)
        if not chunk:
            break
        buf += chunk
    ch.sendall((password + "\n").encode())
    while True:
        chunk = ch.recv(4096)
        if not chunk:
            break
        buf += chunk
    return ch.recv_exit_status(), buf.decode(errors="replace")


# ---------------------------------------------------------------- basics ----
def check_legacy_crypto(h):
    """centos6 = OpenSSH 5.3p1's algorithms: ssh-rsa host key, SHA-1 signatures."""
    key = paramiko.RSAKey.from_private_key_file(h.key_path)
    c = paramiko.SSHClient()
    c.load_host_keys(h.known_hosts_path)
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.AuthenticationException):   # signs with rsa-sha2-512
        c.connect(h.host, username="root", pkey=key, allow_agent=False, look_for_keys=False,
                  timeout=10)
    c.close()
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.SSHException):             # no ssh-rsa: nothing in common
        c.connect(h.host, username="root", password=h.password, allow_agent=False,
                  look_for_keys=False, timeout=10,
                  disabled_algorithms={"keys": ["ssh-rsa"]})
    c.close()
    c = h.connect(auth="key")                                # ssh-rsa signatures
    assert exec_cmd(c, "id -un")[1] == "root\n"
    with pytest.raises(ValueError):
        TestHost("x", None, "centos6", crypto="modern")


def test_release_users_auth_and_sudo(any_host):
    h = any_host
    c = h.connect("root", auth="key")
    rc, out, err = exec_cmd(c, "cat /etc/redhat-release; hostname; "
                               "test -e /etc/os-release && . /etc/os-release && echo $ID $VERSION_ID")
    lines = out.splitlines()
    assert lines[:2] == [RELEASE[h.flavor], h.flavor + "-testhost"]
    if h.flavor == "centos7":
        assert lines[2] == "centos 7"
        assert c.get_transport().get_remote_server_key().get_name() == "ssh-ed25519"
    else:
        assert len(lines) == 2 and h.crypto == "legacy"
        assert c.get_transport().get_remote_server_key().get_name() == "ssh-rsa"
    assert exec_cmd(c, "test -e /etc/debian_version || command -v apt-get || command -v dpkg"
                    " || command -v java")[0] != 0
    rc, out, _ = exec_cmd(c, "id jtel; id tester")
    jtel, tester = out.splitlines()
    assert jtel == "uid=1000(jtel) gid=1000(jtel) groups=1000(jtel)"
    assert tester.startswith("uid=1001(tester) gid=1001(tester) groups=1001(tester),")
    assert tester.endswith("(wheel)")
    for user, auth in (("root", "password"), ("tester", "password"), ("tester", "key"),
                       ("jtel", "key")):          # root with the key: c above
        cu = h.connect(user, auth=auth)
        assert exec_cmd(cu, "id -un")[1] == user + "\n"
        cu.close()
    with pytest.raises(paramiko.AuthenticationException):
        h.connect("tester", auth="password", password="wrong")

    # sudo: Defaults requiretty on both flavors, wheel with password (not NOPASSWD)
    t = h.connect("tester")
    rc, out, err = exec_cmd(t, "sudo -S -p '' id -u", stdin=h.password + "\n")
    assert rc == 1 and "must have a tty" in err
    rc, out = sudo_with_pty(t, "id -u", h.password)
    assert rc == 0 and out.rstrip().endswith("0"), out
    rc, out, _ = exec_cmd(t, "sudo -n true", pty=True)
    assert rc == 1 and "password is required" in out
    sudoers = h.read("/etc/sudoers")
    assert "Defaults    requiretty" in sudoers and "NOPASSWD" not in sudoers
    assert exec_cmd(c, "visudo -c")[0] == 0

    if h.flavor == "centos6":
        check_legacy_crypto(h)

    # an OpenSSH client config block works with the real ssh client too
    cfg = os.path.join(h.run_dir, "ssh_config")
    with open(cfg, "w") as f:
        f.write(h.ssh_config_block("chat1", user="jtel"))
    pc = paramiko.SSHConfig.from_path(cfg).lookup("chat1")
    assert (pc["hostname"], pc["port"], pc["user"]) == (h.host, str(h.port), "jtel")
    assert pc["identityfile"] == [h.key_path]
    assert pc["userknownhostsfile"] == h.known_hosts_path
    p = subprocess.run(["ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                        "chat1", "id -un"], capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert (p.returncode, p.stdout) == (0, "jtel\n"), p.stderr


# ------------------------------------------------------------ jtel tree ----
def test_jtel_tree_defaults(centos7):
    h = centos7
    for p in ("/home/jtel", CM, CM + "/bin", CM + "/public/index.html", CM + "/conf/hazelcast.xml",
              CM + "/init.d/jtel-clientmessenger", MANIFEST, "/home/jtel/shared/hazelcast.xml"):
        st = h.stat(p)
        assert (st.st_uid, st.st_gid) == (1000, 1000), p
    jars = [n for n in os.listdir(h.path(CM + "/bin")) if n.endswith(".jar")]
    assert len(jars) >= 2 and any(n.endswith(".sh") for n in os.listdir(h.path(CM + "/bin")))
    for n in jars:
        assert zipfile.ZipFile(io.BytesIO(h.read(CM + "/bin/" + n, binary=True))).testzip() is None
    init = h.read(CM + "/init.d/jtel-clientmessenger")
    assert "\r" not in init and oct(h.stat(CM + "/init.d/jtel-clientmessenger").st_mode)[-3:] == "644"
    assert ("    -Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://localhost/JTELWeb"
            "?user=root\\&password=CHANGEME\\&characterEncoding=utf8 \\\n") in init
    assert '\nDATADIR="' in init and "# chkconfig:" in init
    assert "Implementation-Version: 3.26.0\r\n" in h.read(MANIFEST)
    assert not h.exists("/home/jtel/shared/JTELCarrierPortal/version.txt")
    for hz in (CM + "/conf/hazelcast.xml", "/home/jtel/shared/hazelcast.xml"):
        root = ET.fromstring(h.read(hz))
        tcp = root.find("%snetwork/%sjoin/%stcp-ip" % (HZ_NS, HZ_NS, HZ_NS))
        assert tcp.get("enabled") == "true"
        assert [m.text for m in tcp.findall(HZ_NS + "member")] == ["acd-dbm", "acd-tel1",
                                                                    "acd-web1"]
        assert root.find(HZ_NS + "ringbuffer[@name='CHAT']") is None
    assert not h.exists("/srv/jtel") and not h.exists("/home/jtel/shared/Data")
    # the script is valid shell as shipped
    rc, out, err = h.run("bash -n %s/init.d/jtel-clientmessenger" % CM)
    assert rc == 0, err

    # write/read from the machine side; symlinks resolve inside the host
    h.write("/home/jtel/notes/x.txt", "a\r\nb\n", mode=0o600, owner="jtel")
    st = h.stat("/home/jtel/notes/x.txt")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1000, 0o600)
    assert h.run("cat /home/jtel/notes/x.txt")[1] == "a\r\nb\n"
    assert h.read("/home/jtel/notes/x.txt") == "a\r\nb\n"
    # an absolute symlink inside the host resolves inside the host, never to the machine
    assert h.run("ln -s /etc/passwd /root/pw && ln -s /etc /root/etc")[0] == 0
    assert "jtel:x:1000" in h.read("/root/pw")
    h.write("/root/etc/th-written", "x")
    assert h.run("cat /etc/th-written")[1] == "x"
    assert not os.path.exists("/etc/th-written")
    assert h.exists("/etc/redhat-release") and not h.exists("/etc/debian_version")


def test_jtel_tree_options(host_factory):
    a, b, c = host_factory.many([
        dict(flavor="centos6", crlf=True, portal_version="3.24", hazelcast_layout="legacy",
             hazelcast_chat=True, datadir="local", hazelcast_members=["acd-dbm", "x1"]),
        dict(flavor="centos7", datadir="mounted", portal_version=None),
        dict(flavor="centos7", jtel=False, hostname="lb1")])
    init = a.read(CM + "/init.d/jtel-clientmessenger")
    assert init.count("\r\n") == init.count("\n") > 50
    rc, out, err = a.run("cp %s/init.d/jtel-clientmessenger /tmp/s && bash /tmp/s status; "
                         "sed -i -e 's/\\r//g' /tmp/s && bash -n /tmp/s" % CM)
    assert rc == 0 and "\r" in err        # CRLF breaks the script until the CRs are gone
    assert "Implementation-Version: 3.24.0\r\n" in a.read(MANIFEST)
    assert not a.exists("/home/jtel/shared/hazelcast.xml")
    root = ET.fromstring(a.read(CM + "/conf/hazelcast.xml"))
    rb = root.find(HZ_NS + "ringbuffer[@name='CHAT']")
    assert rb.find(HZ_NS + "capacity").text == "500"
    assert root.find(HZ_NS + "map[@name='CHATCOUNTERS']") is not None
    assert [m.text for m in root.iter(HZ_NS + "member")] == ["acd-dbm", "x1"]
    assert a.stat("/srv/jtel/shared/Data/Clients").st_uid == 1000

    assert b.exists("/home/jtel/shared/Data/clients") and not b.exists("/srv/jtel")
    assert not b.exists("/home/jtel/shared/JTELCarrierPortal/WebServer")

    assert not c.exists("/home/jtel/shared") and c.exists("/home/jtel")
    assert c.run("hostname")[1] == "lb1\n"


# ---------------------------------------------------------------- shims ----
def test_shims_record_calls_and_state(any_host):
    h = any_host
    c = h.connect()
    rc, out, err = exec_cmd(c, "yum -y install haproxy && rpm -q haproxy")
    assert rc == 0 and "Complete!" in out, err
    assert h.calls("yum")[-1]["argv"] == ["-y", "install", "haproxy"]
    assert h.calls("rpm")[-1]["rc"] == 0 and h.calls("rpm")[-1]["user"] == "root"
    if h.flavor == "centos7":
        assert exec_cmd(c, "firewall-cmd --zone=public --add-port=5701-5801/tcp --permanent"
                           " && firewall-cmd --reload")[0] == 0
        fw = h.shim_state()["firewall"]
        assert "5701-5801/tcp" in fw["runtime"]["public"]["ports"]
        assert exec_cmd(c, "systemctl enable haproxy && systemctl start haproxy")[0] == 0
        assert exec_cmd(c, "iptables -C INPUT -p tcp --dport 3000 -j ACCEPT")[0] == 1
    else:
        rc, out, err = exec_cmd(c, "iptables -C INPUT -p tcp --dport 3000 -j ACCEPT")
        assert rc == 2 and "unknown option" in err            # iptables 1.4.7: no -C
        assert exec_cmd(c, "iptables -I INPUT 4 -p tcp -m tcp --dport 3000 -j ACCEPT && "
                           "service iptables save")[0] == 0
        assert "--dport 3000 -j ACCEPT" in h.read("/etc/sysconfig/iptables")
        assert exec_cmd(c, "chkconfig haproxy on && service haproxy start")[0] == 0
        assert exec_cmd(c, "systemctl --version")[0] == 127
    assert h.shim_state()["services"]["haproxy"]["running"] is True
    h.configure(unavailable=["ghost"])
    rc, out, _ = exec_cmd(c, "yum -y install ghost")
    assert rc == 1 and "No package ghost available." in out
    t = h.connect("tester")
    assert exec_cmd(t, "yum -y install foo")[0] == 1          # needs root
    assert h.calls("yum")[-1]["user"] == "tester"


def test_fake_jdk_install_by_url_and_path(centos7):
    h = centos7
    c = h.connect()
    rc, out, err = exec_cmd(c, "java -version")
    assert rc == 127
    assert exec_cmd(c, "rpm -q jdk1.8")[:2] == (1, "package jdk1.8 is not installed\n")
    rc, out, _ = exec_cmd(c, "yum -y install jdk1.8")
    assert rc == 1 and "No package jdk1.8 available." in out
    rc, out, _ = exec_cmd(c, "yum -y install /root/jdk-8u202-linux-x64.rpm")
    assert rc == 1 and "Cannot open: /root/jdk-8u202-linux-x64.rpm. Skipping." in out
    h.configure(offline=True)
    rc, out, _ = exec_cmd(c, "yum -y install " + JDK_URL)
    assert rc == 1 and "Cannot open: %s. Skipping." % JDK_URL in out
    h.configure(offline=False)
    rc, out, err = exec_cmd(c, "yum -y install " + JDK_URL)
    assert rc == 0 and "Complete!" in out, out + err
    assert exec_cmd(c, "rpm -q jdk1.8")[:2] == (0, "jdk1.8-1.8.0_202-fcs.x86_64\n")
    rc, out, err = exec_cmd(c, "java -version")
    assert rc == 0 and out == "" and err.splitlines()[0] == 'java version "1.8.0_202"'
    assert exec_cmd(c, "readlink -f /usr/bin/java")[1] == \
        "/usr/java/jdk1.8.0_202-amd64/jre/bin/java\n"
    rc, out, _ = exec_cmd(c, "yum -y install " + JDK_URL)        # again: yum says no
    assert rc == 1 and "does not update installed package" in out
    assert h.shim_state()["packages"]["jdk1.8"] == "1.8.0_202-fcs"
    # remove, then install from a local file as offline sites do
    assert exec_cmd(c, "rpm -e jdk1.8 && ! command -v java")[0] == 0
    h.write("/root/jdk-8u202-linux-x64.rpm", b"\xed\xab\xee\xdb fake rpm")
    rc, out, _ = exec_cmd(c, "cd /root && yum -y localinstall jdk-8u202-linux-x64.rpm && "
                             "java -version 2>&1 | head -1")
    assert rc == 0 and out.endswith('java version "1.8.0_202"\n')
    assert h.calls("java")[-1]["argv"] == ["-version"]


def test_java8_preinstalled_and_clientmessenger_daemon(host_factory):
    h = host_factory("centos6", java8=True, config={"exec_init_scripts": True})
    assert h.calls() == []                                   # seeded, not logged
    c = h.connect()
    assert exec_cmd(c, "rpm -q jdk1.8")[1] == "jdk1.8-1.8.0_202-fcs.x86_64\n"
    assert 'java version "1.8.0_202"' in exec_cmd(c, "java -version")[2]
    # the procedure's steps 2 and 4, by hand: copy, install the init script, start it
    rc, out, err = exec_cmd(c, "cp -R %s/ /home/jtel/ClientMessenger && "
                               "chown -R jtel:jtel /home/jtel/ClientMessenger && "
                               "cp /home/jtel/ClientMessenger/init.d/jtel-clientmessenger "
                               "/etc/init.d/ && chmod 755 /etc/init.d/jtel-clientmessenger && "
                               "chkconfig jtel-clientmessenger on && "
                               "service jtel-clientmessenger start" % CM)
    assert rc == 0 and "OK" in out, out + err
    wait_port(h.host, 3000)        # a JVM takes a moment, as the real one does
    run = [r for r in h.calls("java") if r.get("daemon")]
    assert len(run) == 1 and run[0]["rc"] is None
    conn = [a for a in run[0]["argv"] if "clientmessenger.connection=" in a]
    assert conn == ["-Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://localhost/"
                    "JTELWeb?user=root&password=CHANGEME&characterEncoding=utf8"]
    ws = Client(h.host, 3000)                                # the fake server answers
    assert ws.recv() == (1, b"hello from centos6-testhost")
    ws.close()
    s = socket.create_connection((h.host, 3000), timeout=5)
    s.sendall(b"GET /gui/chat.js HTTP/1.0\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    s.close()
    assert exec_cmd(c, "service jtel-clientmessenger stop")[0] == 0
    with pytest.raises(OSError):
        socket.create_connection((h.host, 3000), timeout=2)


# --------------------------------------------------- several hosts, faults ----
def test_several_hosts_at_once(host_factory):
    hosts = host_factory.many([dict(flavor="centos7", jtel=False),
                               dict(flavor="centos7", jtel=False),
                               dict(flavor="centos6", jtel=False)])
    addrs = [h.host for h in hosts]
    assert len(set(addrs)) == 3 and len({h.index for h in hosts}) == 3
    assert len({h.netns for h in hosts}) == 3
    for h in hosts:
        rc, out, _ = h.run("hostname -I 2>/dev/null || ip -4 -o addr show")
        assert h.host in out
    # hosts reach each other (the mesh), but have no default route
    a, b = hosts[0], hosts[2]
    rc, out, err = a.run("timeout 5 bash -c 'exec 3<>/dev/tcp/%s/22; head -c 7 <&3'" % b.host)
    assert (rc, out) == (0, "SSH-2.0"), err
    assert "default" not in a.run("ip route")[1]


def test_faults_sshd_and_link(centos7):
    h = centos7
    c = h.connect()
    sshd = h.pids()["sshd"]
    assert sshd in h.pids()["all"]
    h.kill_sshd()
    assert h.pids()["sshd"] is None
    with pytest.raises((paramiko.ssh_exception.NoValidConnectionsError, OSError)):
        h.connect(timeout=2)
    assert exec_cmd(c, "echo still")[1] == "still\n"          # open sessions go on
    h.start_sshd()
    assert h.run("echo back")[1] == "back\n"
    h.link_down()
    try:
        with pytest.raises((socket.timeout, OSError)):
            socket.create_connection((h.host, 22), timeout=0.5)
    finally:
        h.link_up()
    wait_port(h.host, 22, timeout=5)
    h.kill_sshd(sessions=True)
    with pytest.raises(Exception):
        exec_cmd(c, "echo gone", timeout=3)


# --------------------------------------------------------------- teardown ----
def _mounts():
    with open("/proc/self/mounts") as f:
        return f.read()


def test_teardown_leaves_nothing(host_factory):
    h = host_factory("centos6", datadir="local")
    rc, _, _ = h.run("nohup sleep 600 > /dev/null 2>&1 < /dev/null &\n"
                     "setsid sleep 601 > /dev/null 2>&1 < /dev/null &\n")
    assert rc == 0
    pids = h.pids()["all"]
    assert len(pids) >= 4          # init, sshd, two orphaned sleeps
    netns, veth, run, addr = h.netns, h.veth, h.run_dir, h.host
    assert netns in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                   text=True).stdout
    h.stop()
    assert netns not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                       text=True).stdout
    assert not os.path.exists("/sys/class/net/" + veth)
    # its address now leads nowhere, certainly not out of the machine's default route
    r = subprocess.run(["ip", "route", "get", addr], capture_output=True, text=True)
    assert r.returncode != 0 and "no route to host" in (r.stdout + r.stderr).lower(), r
    assert not os.path.exists(run)
    assert run not in _mounts()
    time.sleep(0.05)
    alive = [p for p in pids if os.path.exists("/proc/%d" % p)
             and open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == []
    h.stop()                                                 # idempotent
