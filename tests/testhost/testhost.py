"""Python side of the test host: start/stop it, talk to it, look inside it.

    with TestHost("th5", 5, "centos7", portal_version="3.24") as th:
        rc, out, err = th.run("cat /etc/redhat-release")
        th.calls("yum")                        # shim log entries
        th.read("/etc/haproxy/haproxy.cfg")    # the file as the test host sees it

Each host: its own network namespace and address (10.200.INDEX.2, port 22), a real
OpenSSH sshd with a fresh host key, a root filesystem that is an overlay of the
machine's / with a fresh tmpfs on top (all writes land there and vanish at stop()),
CentOS 6 or 7 dressing, recording stand-ins for yum/rpm/service/... (shim/thshim.py)
and the jtel tree of the CHAT-role procedure (seed.py). See tests/testhost/README.md.

Needs root, iproute2, util-linux, openssh-server (for sshd), paramiko.
"""
import atexit
import errno
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time

import paramiko

HERE = os.path.dirname(os.path.abspath(__file__))
FLAVORS = ("centos6", "centos7")
DEFAULT_PASSWORD = "testpass"

# option -> default; see TestHost.__init__
OPTIONS = {
    "password": DEFAULT_PASSWORD,
    "crypto": None,
    "hostname": None,
    "lower": None,
    "netns": True,
    "mesh": True,
    "size": "1g",
    "jtel": True,
    "portal_version": "3.26",
    "crlf": False,
    "hazelcast_layout": "shared",
    "hazelcast_chat": False,
    "hazelcast_members": ("acd-dbm", "acd-tel1", "acd-web1"),
    "datadir": None,
    "java8": False,
    "config": None,
}


def base_dir():
    return os.environ.get("TESTHOST_BASE", "/tmp/testhost")


def keep_runs():
    return os.environ.get("TESTHOST_KEEP", "") not in ("", "0")


# ---------------------------------------------------------------- indexes ----
# An index picks 10.200.INDEX.0/30 and the veth thvINDEXh; two live hosts must
# never share one, also across processes (pytest-xdist, two sessions). A claim
# is a directory BASE/.index/N made with mkdir (atomic) holding the owner's pid
# and start time; a claim whose owner is gone is taken over.
_counter = itertools.count()
_claim_lock = threading.Lock()


def _proc_start(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _claim_dir(index):
    return os.path.join(base_dir(), ".index", str(index))


def _owner_alive(d):
    try:
        with open(os.path.join(d, "owner")) as f:
            pid, start = f.read().split()
    except (OSError, ValueError):
        # being written right now, or a crash between mkdir and write
        try:
            return time.time() - os.stat(d).st_mtime < 10
        except OSError:
            return False
    return _proc_start(int(pid)) == start


def claim_index(index):
    """Claim INDEX for this process; False if another live owner has it."""
    d = _claim_dir(index)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    for _ in range(2):
        try:
            os.mkdir(d)
        except FileExistsError:
            if _owner_alive(d):
                return False
            _cleanup_stale(index)   # its owner died without stop(): remove the rest
            _release(d)
            continue
        if os.path.exists("/sys/class/net/thv%dh" % index):
            os.rmdir(d)         # a veth of a host not started through here
            return False
        with open(os.path.join(d, "owner"), "w") as f:
            f.write("%d %s\n" % (os.getpid(), _proc_start(os.getpid())))
        return True
    return False


def _cleanup_stale(index):
    """down.sh --purge for run directories left by a dead owner of INDEX."""
    base = base_dir()
    veth = "thv%dh" % index
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return
    for n in names:
        try:
            with open(os.path.join(base, n, "veth")) as f:
                if f.read().strip() != veth:
                    continue
        except OSError:
            continue
        subprocess.run([os.path.join(HERE, "down.sh"), n, "--purge"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _release(d):
    for f in ("owner",):
        try:
            os.unlink(os.path.join(d, f))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(d)
    except OSError:
        pass


def release_index(index):
    _release(_claim_dir(index))


_swept = False


def sweep_stale():
    """Stop what hosts of dead owners left behind (a pytest killed with SIGKILL):
    their processes, netns, veth and run directories; free their indexes."""
    root = os.path.join(base_dir(), ".index")
    try:
        claims = os.listdir(root)
    except FileNotFoundError:
        return
    for c in claims:
        d = os.path.join(root, c)
        if c.isdigit() and not _owner_alive(d):
            _cleanup_stale(int(c))
            _release(d)


def allocate_index():
    """A free index in 1..250, starting from one derived from the pid."""
    global _swept
    with _claim_lock:
        if not _swept:
            _swept = True
            sweep_stale()
        start = (os.getpid() * 37 + next(_counter) * 7) % 250
        for k in range(250):
            i = (start + k) % 250 + 1
            if claim_index(i):
                return i
    raise RuntimeError("no free test host index in 1..250 (%s/.index)" % base_dir())


# ------------------------------------------------------------------- host ----
_live = set()
_names = itertools.count(1)


class TestHost:
    __test__ = False  # not a pytest test class

    def __init__(self, name=None, index=None, flavor="centos7", **options):
        """name: run directory and netns name (testhost-NAME); None -> derived from
        index and pid. index: 1..250, picks 10.200.INDEX.2; None -> allocated.
        flavor: "centos6" | "centos7".

        options (unknown ones raise TypeError):
          password="testpass"      for root, tester and jtel
          crypto=None              centos7: "modern" (default) or "legacy";
                                   centos6: always "legacy" (~OpenSSH 5.3p1)
          hostname=None            default "<flavor>-testhost"
          lower=None               overlay lower dir; default $TESTHOST_LOWER or "/"
          netns=True               False: sshd on 127.0.0.1:(2200+index), no namespace
          mesh=True                route 10.200.0.0/16 via the machine: hosts reach
                                   each other (never anything else)
          size="1g"                tmpfs size of the writable layer
          jtel=True                False: no jtel tree (a plain load balancer, say)
          portal_version="3.26"    -> Implementation-Version: 3.26.0 in
                                   /home/jtel/shared/JTELCarrierPortal/WebServer/
                                   META-INF/MANIFEST.MF (its only place); None: absent
          crlf=False               init.d/jtel-clientmessenger with CRLF line ends
          hazelcast_layout="shared" "shared": master copy /home/jtel/shared/hazelcast.xml
                                   exists too; "legacy": only the install tree's conf/
          hazelcast_chat=False     True: the CHAT ringbuffer and CHATCOUNTERS map are
                                   already in the hazelcast.xml files
          hazelcast_members=("acd-dbm", "acd-tel1", "acd-web1")  tcp-ip members
          datadir=None             "local": /srv/jtel/shared/Data/Clients/ exists;
                                   "mounted": /home/jtel/shared/Data/clients/ exists
          java8=False              True: jdk1.8 1.8.0_202-fcs installed, /usr/bin/java
          config=None              dict merged into the shim config.json at start
                                   (unavailable, offline, unreachable, prompt_timeout,
                                   exec_init_scripts, validate, java_listen_port)
        """
        if flavor not in FLAVORS:
            raise ValueError("flavor must be one of %s" % (FLAVORS,))
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise TypeError("unknown TestHost option(s): %s" % ", ".join(sorted(unknown)))
        self.options = dict(OPTIONS, **options)
        o = self.options
        if flavor == "centos6":
            if o["crypto"] not in (None, "legacy"):
                raise ValueError("centos6 hosts always use crypto='legacy'")
            o["crypto"] = "legacy"
        elif o["crypto"] is None:
            o["crypto"] = "modern"
        if o["crypto"] not in ("legacy", "modern"):
            raise ValueError("crypto must be 'legacy' or 'modern'")
        if o["hazelcast_layout"] not in ("shared", "legacy"):
            raise ValueError("hazelcast_layout must be 'shared' or 'legacy'")
        if o["datadir"] not in (None, "local", "mounted"):
            raise ValueError("datadir must be None, 'local' or 'mounted'")
        self.flavor = flavor
        self.crypto = o["crypto"]
        self._own_index = index is None
        self.index = index
        self._name = name
        self.info = None
        self.setup_s = self.teardown_s = None
        self._clients = []
        self._claimed = False

    # -- lifecycle ------------------------------------------------------------
    @property
    def name(self):
        if self._name is None and self.index is not None:
            # unique per start, so a kept run directory (TESTHOST_KEEP) is never reused
            self._name = "th%d-p%d-%d" % (self.index, os.getpid(), next(_names))
        return self._name

    def _args(self):
        o = self.options
        a = ["-n", self.name, "-i", str(self.index), "-f", self.flavor,
             "-l", o["lower"] or os.environ.get("TESTHOST_LOWER", "/"),
             "-p", o["password"], "-s", o["size"], "--crypto", o["crypto"]]
        if o["hostname"]:
            a += ["--hostname", o["hostname"]]
        if not o["netns"]:
            a.append("--no-netns")
        if not o["mesh"]:
            a.append("--no-mesh")
        if o["java8"]:
            a.append("--java8")
        if not o["jtel"]:
            a.append("--no-jtel")
        a += ["--portal-version", o["portal_version"] or "none",
              "--hazelcast-layout", o["hazelcast_layout"],
              "--members", ",".join(o["hazelcast_members"]),
              "--datadir", o["datadir"] or "none"]
        if o["crlf"]:
            a.append("--crlf")
        if o["hazelcast_chat"]:
            a.append("--hazelcast-chat")
        return a

    def start(self):
        if self.info is not None:
            return self
        if os.geteuid() != 0:
            raise PermissionError("test hosts need root (netns, mounts)")
        t = time.perf_counter()
        if self.index is None:
            self.index = allocate_index()
        elif not claim_index(self.index):
            raise RuntimeError("test host index %d is in use" % self.index)
        self._claimed = True
        _live.add(self)
        try:
            p = subprocess.run([os.path.join(HERE, "up.sh"), *self._args()],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise RuntimeError("up.sh %s failed (%d):\n%s%s"
                                   % (self.name, p.returncode, p.stdout, p.stderr))
            with open(os.path.join(self.run_dir, "info.json")) as f:
                self.info = json.load(f)
            if self.options["config"]:
                self.configure(**self.options["config"])
        except BaseException:
            self.stop()
            raise
        self.setup_s = time.perf_counter() - t
        return self

    def stop(self, purge=None):
        """Stop the host: every process in it dies, its mounts and tmpfs vanish, the
        netns and veth are deleted, and the run directory is removed (kept, with
        the shim log and console.log, when purge=False or TESTHOST_KEEP=1)."""
        if not self._claimed:
            return
        self._claimed = False
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self._clients = []
        if purge is None:
            purge = not keep_runs()
        t = time.perf_counter()
        try:
            subprocess.run([os.path.join(HERE, "down.sh"), self.name] +
                           (["--purge"] if purge else []), check=True,
                           stdout=subprocess.DEVNULL)
        finally:
            release_index(self.index)
            _live.discard(self)
            self.info = None
        self.teardown_s = time.perf_counter() - t

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<TestHost %s %s %s>" % (self.name, self.flavor,
                                        self.host if self.info else "stopped")

    # -- addresses and credentials ----------------------------------------------
    @property
    def run_dir(self):
        return os.path.join(base_dir(), self.name)

    @property
    def host(self):
        return self.info["TH_HOST"]

    @property
    def port(self):
        return int(self.info["TH_PORT"])

    @property
    def host_side_ip(self):
        """The machine's address on this host's /30 (what the host sees us as)."""
        return self.info["TH_HOST_SIDE_IP"]

    @property
    def hostname(self):
        return self.info["TH_HOSTNAME"]

    @property
    def key_path(self):
        """Private client key (rsa for legacy crypto, else ed25519), no passphrase;
        authorized for root, tester and jtel."""
        return self.info["TH_KEY"]

    @property
    def password(self):
        return self.info["TH_PASSWORD"]

    @property
    def known_hosts_path(self):
        """known_hosts with this run's host key (for strict host key checking)."""
        return self.info["TH_KNOWN_HOSTS"]

    @property
    def netns(self):
        return self.info["TH_NETNS"] or None

    @property
    def veth(self):
        return self.info["TH_VETH"] or None

    def ssh_config_block(self, alias, user="root"):
        """An OpenSSH client config `Host` block that reaches this host."""
        lines = ["Host %s" % alias,
                 "    HostName %s" % self.host,
                 "    Port %d" % self.port,
                 "    User %s" % user,
                 "    IdentityFile %s" % self.key_path,
                 "    IdentitiesOnly yes",
                 "    UserKnownHostsFile %s" % self.known_hosts_path,
                 "    StrictHostKeyChecking yes"]
        if self.crypto == "legacy":
            # what an OpenSSH 9 client needs for OpenSSH 5.3: accept an ssh-rsa host
            # key, and sign with ssh-rsa (SHA-1) only (the emulating 9.2 server
            # advertises rsa-sha2-* in server-sig-algs but accepts only ssh-rsa)
            lines += ["    HostKeyAlgorithms +ssh-rsa",
                      "    PubkeyAcceptedAlgorithms ssh-rsa"]
        return "\n".join(lines) + "\n"

    # -- files, seen from the machine ------------------------------------------
    @property
    def root(self):
        """The host's / as a machine path (/proc/<its pid 1>/root)."""
        return self.info["TH_ROOT"]

    def path(self, p, follow=True):
        """Machine path of file p as the test host sees it. Symlinks are resolved
        inside the host's root (an absolute link never leads to the machine's
        files); follow=False leaves the last component unresolved."""
        root = self.root
        todo = [c for c in p.split("/") if c not in ("", ".")]
        done = []
        hops = 0
        while todo:
            c = todo.pop(0)
            if c == "..":
                if done:
                    done.pop()
                continue
            cand = root + "/" + "/".join(done + [c])
            if (todo or follow) and os.path.islink(cand):
                hops += 1
                if hops > 40:
                    raise OSError(errno.ELOOP, "too many symlinks", p)
                target = os.readlink(cand)
                if target.startswith("/"):
                    done = []
                todo = [x for x in target.split("/") if x not in ("", ".")] + todo
                continue
            done.append(c)
        return root + "/" + "/".join(done)

    def read(self, p, binary=False):
        """File p as the host sees it: str (no newline translation: CRs stay) or
        bytes with binary=True."""
        with open(self.path(p), "rb") as f:
            data = f.read()
        return data if binary else data.decode("utf-8", "surrogateescape")

    def exists(self, p):
        return os.path.lexists(self.path(p))

    def write(self, p, data, mode=None, owner=None, group=None):
        """Write data (str or bytes) to p in the host, from the machine side (test
        setup). Missing parent directories are made (root-owned, 0755). owner and
        group are names or ids of the host's users (e.g. "jtel")."""
        dest = self.path(p)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(dest, mode)
        if owner is not None or group is not None:
            uid = self._id("/etc/passwd", owner) if owner is not None else -1
            gid = self._id("/etc/group", group if group is not None else owner) \
                if (group is not None or owner is not None) else -1
            os.chown(dest, uid, gid)
        return dest

    def _id(self, db, name):
        if isinstance(name, int):
            return name
        for line in self.read(db).splitlines():
            f = line.split(":")
            if f[0] == name:
                return int(f[2])
        raise KeyError("no %s in the host's %s" % (name, db))

    def stat(self, p):
        return os.stat(self.path(p))

    # -- shim log, state, config ------------------------------------------------
    def calls(self, cmd=None):
        """Shim log records, oldest first: {"seq", "t", "cmd", "argv", "uid", "user",
        "cwd", "rc", "out", "err"} (+ "daemon", "pid" for a started fake java)."""
        recs = []
        with open(self.info["TH_CALLS"]) as f:
            for line in f:
                if line.endswith("\n"):       # a record being appended right now is not
                    recs.append(json.loads(line))   # complete yet: leave it for later
        return [r for r in recs if cmd is None or r["cmd"] == cmd]

    def shim_state(self):
        """packages, services, firewall (runtime/permanent), iptables, pids, ..."""
        try:
            with open(os.path.join(self.info["TH_STATE"], "state.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def configure(self, **kw):
        """Merge keys into the shim's config.json (e.g. unavailable=["foo"],
        offline=True, exec_init_scripts=True)."""
        p = os.path.join(self.info["TH_STATE"], "config.json")
        with open(p) as f:
            cfg = json.load(f)
        cfg.update(kw)
        tmp = p + ".tmp"
        with open(tmp, "w") as f:
            json.dump(cfg, f, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)

    # -- ssh -----------------------------------------------------------------------
    def connect(self, user="root", auth="key", nodelay=True, **kw):
        """A paramiko SSHClient logged in as user ("root", "tester", "jtel"), with
        auth="key" or "password"; strict host key checking against this run's
        known_hosts. Legacy (centos6) hosts get RSA signatures with SHA-1, as
        OpenSSH 5.3 needs. nodelay sets TCP_NODELAY (~45 ms less per round trip).
        kw go to SSHClient.connect (password=..., timeout=..., ...)."""
        c = paramiko.SSHClient()
        c.load_host_keys(self.known_hosts_path)
        c.set_missing_host_key_policy(paramiko.RejectPolicy())
        args = dict(hostname=self.host, port=self.port, username=user, timeout=10,
                    banner_timeout=10, auth_timeout=10, allow_agent=False,
                    look_for_keys=False)
        if auth == "key":
            # by key type: key_filename= tries DSS first and paramiko 4.0 chokes on
            # an OpenSSH-format RSA key that way
            cls = paramiko.RSAKey if self.key_path.endswith("rsa") else paramiko.Ed25519Key
            args["pkey"] = cls.from_private_key_file(self.key_path)
            if self.crypto == "legacy":
                args["disabled_algorithms"] = {"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]}
        elif auth == "password":
            args["password"] = self.password
        else:
            raise ValueError("auth must be 'key' or 'password'")
        args.update(kw)
        c.connect(**args)
        if nodelay:
            c.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._clients.append(c)
        return c

    def run(self, cmd, user="root", auth="key", timeout=60, stdin=None, pty=False,
            client=None):
        """(rc, stdout, stderr) of cmd over a fresh connection (or client). With
        pty=True, stderr arrives merged into stdout, as on a terminal."""
        own = client is None
        c = client or self.connect(user=user, auth=auth)
        try:
            return exec_cmd(c, cmd, timeout=timeout, stdin=stdin, pty=pty)
        finally:
            if own:
                c.close()
                if c in self._clients:
                    self._clients.remove(c)

    # -- processes and faults ------------------------------------------------------
    def _ns_pids(self):
        """{root-view pid: namespace pid} of every process in the host."""
        init = int(self.info["TH_INIT_PID"])
        try:
            ns = os.readlink("/proc/%d/ns/pid" % init)
        except OSError:
            return {}
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/ns/pid" % d) != ns:
                    continue
                with open("/proc/%s/status" % d) as f:
                    for line in f:
                        if line.startswith("NSpid:"):
                            out[int(d)] = int(line.split()[-1])
            except OSError:
                continue
        return out

    def pids(self):
        """Root-namespace pids: {"unshare", "init" (the host's pid 1), "sshd" (the
        listener, None when killed), "all" (every process in the host, sorted)}."""
        m = self._ns_pids()
        sshd = None
        try:
            with open(self.path("/run/testhost-sshd.pid")) as f:
                nspid = int(f.read())
            sshd = next((r for r, n in m.items() if n == nspid), None)
        except (OSError, ValueError):
            pass
        return {"unshare": int(self.info["TH_UNSHARE_PID"]),
                "init": int(self.info["TH_INIT_PID"]), "sshd": sshd, "all": sorted(m)}

    def _port_open(self):
        try:
            socket.create_connection((self.host, self.port), timeout=0.3).close()
            return True
        except OSError:
            return False

    def _wait(self, cond, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.02)
        raise TimeoutError("%s: %s" % (self, what))

    def kill_sshd(self, sessions=False, timeout=5):
        """Stop the sshd listener (new connections are refused); open sessions go
        on unless sessions=True, which SIGKILLs every sshd process in the host."""
        init = int(self.info["TH_INIT_PID"])
        if sessions:
            for pid in self._ns_pids():
                try:
                    with open("/proc/%d/comm" % pid) as f:
                        if f.read().strip() == "sshd":
                            os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        os.kill(init, signal.SIGUSR2)
        self._wait(lambda: self.pids()["sshd"] is None and not self._port_open(), timeout,
                   "sshd still running")

    def start_sshd(self, timeout=5):
        """Start the sshd listener again after kill_sshd()."""
        os.kill(int(self.info["TH_INIT_PID"]), signal.SIGUSR1)
        self._wait(lambda: self._port_open() and self.pids()["sshd"] is not None, timeout,
                   "sshd did not come back")

    def link_down(self):
        """Cut the host's network like a pulled cable: its side of the veth goes
        down, packets to it are dropped (connects and open connections hang until
        their timeouts) and it reaches nothing. Undo with link_up()."""
        self._need_netns()
        subprocess.run(["ip", "-n", self.netns, "link", "set", self._veth_inside(), "down"],
                       check=True)

    def link_up(self, timeout=5):
        self._need_netns()
        subprocess.run(["ip", "-n", self.netns, "link", "set", self._veth_inside(), "up"],
                       check=True)
        if self.options["mesh"]:   # routes through a downed device are flushed
            subprocess.run(["ip", "-n", self.netns, "route", "replace", "10.200.0.0/16",
                            "via", self.host_side_ip], check=True)
        carrier = "/sys/class/net/%s/carrier" % self.veth

        def up():
            try:
                with open(carrier) as f:
                    return f.read().strip() == "1"
            except OSError:
                return False
        self._wait(up, timeout, "veth carrier did not come back")

    def _veth_inside(self):
        return self.veth[:-1] + "c"      # thvNh (machine side) / thvNc (host side)

    def _need_netns(self):
        if not self.veth:
            raise RuntimeError("link_down/up need a host in its own netns")

    def nsexec(self, *argv, **kw):
        """Run a machine command inside the host's network namespace (subprocess.run
        kwargs apply), e.g. a client that must come from the host's side."""
        if not self.netns:
            return subprocess.run(list(argv), **kw)
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], **kw)


def exec_cmd(client, cmd, timeout=60, stdin=None, pty=False):
    """(rc, stdout, stderr) of cmd on a paramiko client."""
    chan = client.get_transport().open_session(timeout=timeout)
    chan.settimeout(timeout)
    if pty:
        chan.get_pty()
    chan.exec_command(cmd)
    i = chan.makefile_stdin("wb")
    o = chan.makefile("rb")
    e = chan.makefile_stderr("rb")
    if stdin is not None:
        i.write(stdin.encode() if isinstance(stdin, str) else stdin)
        i.flush()
    if not pty:
        chan.shutdown_write()
    out = o.read().decode("utf-8", "replace")
    err = e.read().decode("utf-8", "replace")
    rc = chan.recv_exit_status()
    chan.close()
    return rc, out, err


class HostFactory:
    """Starts test hosts with unique names/indexes; stop_all() stops them all.

        f = HostFactory()
        lb = f("centos7", jtel=False, hostname="lb1")
        chat1, chat2 = f.many(2, "centos6")
        f.stop_all()
    """

    def __init__(self, **defaults):
        self.defaults = defaults
        self.hosts = []
        self._lock = threading.Lock()

    def __call__(self, flavor="centos7", **options):
        th = TestHost(None, None, flavor, **dict(self.defaults, **options))
        with self._lock:
            self.hosts.append(th)
        return th.start()

    def many(self, count, flavor="centos7", **options):
        """Hosts started in parallel (4 take about 1.6 s on 2 cores): count of them
        alike, or count = a list of dicts, one per host, each with its own
        "flavor" and options (e.g. a load balancer, cluster members, chat servers).
        Returned in order."""
        from concurrent.futures import ThreadPoolExecutor
        if isinstance(count, int):
            specs = [dict(options, flavor=flavor) for _ in range(count)]
        else:
            specs = [dict(s) for s in count]
        with ThreadPoolExecutor(max_workers=max(1, min(len(specs), 8))) as ex:
            futs = [ex.submit(self, s.pop("flavor", "centos7"), **s) for s in specs]
            return [f.result() for f in futs]

    def stop_all(self):
        errors = []
        with self._lock:
            hosts, self.hosts = self.hosts, []
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=max(1, min(len(hosts), 8))) as ex:
            for f in [ex.submit(th.stop) for th in hosts]:
                try:
                    f.result()
                except Exception as e:   # stop the rest, then report
                    errors.append(e)
        if errors:
            raise errors[0]


@atexit.register
def _stop_leftovers():
    """Hosts still running when the interpreter exits (Ctrl-C, a crash in a test
    without the fixture) are stopped here."""
    for th in list(_live):
        try:
            th.stop()
        except Exception:
            pass
