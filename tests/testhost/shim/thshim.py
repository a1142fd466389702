#!/usr/bin/python3 -IS
"""Recording stand-ins for CentOS 6/7 admin tools inside the test host.

One multi-call script, installed (copied) under the real CentOS paths as
yum, rpm, chkconfig, service, systemctl, firewall-cmd, iptables and
iptables-save; it dispatches on the name it was called by.

Every call is appended as one JSON line to $TESTHOST_STATE/calls.jsonl
(default /var/lib/testhost, a bind mount of the host's run/<name>/state):
  {"seq", "t", "cmd", "argv", "uid", "cwd", "rc", "out", "err"}
State (installed packages, services, firewalld zones, iptables rules) lives
in state.json beside it, guarded by flock, so answers are consistent across
calls: `firewall-cmd --query-port` answers from what was added,
`iptables -C` fails unless the rule was inserted, and so on.
config.json (written by up.sh, may be edited by the test) holds:
  flavor: "centos6" | "centos7"
  unavailable: [package names yum says "No package X available." for]
  prompt_timeout: seconds yum waits for "y" without -y (default 20)
  exec_init_scripts: run non-stub /etc/init.d scripts for `service` (false)
  validate: {service: command} run on start/restart/reload; non-zero fails
  preinstalled: {package: "version-release"} in the state from the start
  offline: true -> yum/rpm cannot download a URL ("Cannot open: URL. Skipping.")
  unreachable: [URL globs] that cannot be downloaded even when online
  java_listen_port: port a "running" fake java daemon serves WebSocket echo on
                    (default 3000; 0 or null: it only sleeps)
yum/rpm install of a URL or a local .rpm path: the package name comes from the
file name (NAME-VERSION-RELEASE.ARCH.rpm, or Oracle's jdk-8uNNN-linux-x64.rpm ->
jdk1.8 1.8.0_NNN-fcs, epoch 2000; before 8u151 Oracle named it jdk1.8.0_NNN). A
local path must exist, as with the real yum; a URL "downloads" unless offline.
Java packages (Oracle jdk1.8, java-1.8.0-openjdk) install a fake `java` (this
script again) that prints the matching `java -version` and otherwise runs as a
recorded daemon.
Output texts and exit codes follow CentOS 6.10 / 7.9 closely but not exactly.
"""
import fcntl
import fnmatch
import json
import os
import pwd
import re
import sys
import time

# the CentOS model (packages, services, firewalld, iptables) is the training host's own,
# wizard/training/centos.py, copied beside the shim by inner.sh; every copy of the shim
# (/usr/bin/yum, /usr/sbin/iptables, ...) finds it there; nothing else of wizard/ is needed
sys.path.insert(0, os.environ.get("TESTHOST_LIB", "/usr/lib/testhost"))
import centos  # noqa: E402

STATE_DIR = os.environ.get("TESTHOST_STATE", "/var/lib/testhost")
CALLS = os.path.join(STATE_DIR, "calls.jsonl")
STATE = os.path.join(STATE_DIR, "state.json")
CONFIG = os.path.join(STATE_DIR, "config.json")
LOCK = os.path.join(STATE_DIR, "state.lock")
STUB_MARK = "# testhost-stub"


class Exit(Exception):
    def __init__(self, rc):
        self.rc = rc


class Ctx:
    def __init__(self, cmd, argv):
        self.cmd, self.argv = cmd, argv
        self.outbuf, self.errbuf = [], []
        self.uid = os.getuid()
        try:
            self.config = json.load(open(CONFIG))
        except (OSError, ValueError):
            self.config = {}
        self.flavor = self.config.get("flavor", "centos7")
        self.el = "6" if self.flavor == "centos6" else "7"
        self.state = None

    # -- output -------------------------------------------------------------
    quiet = False   # yum -q: progress text is dropped, errors still go to stderr

    def out(self, s="", end="\n"):
        self.outbuf.append(s + end)
        if self.quiet:
            return
        sys.stdout.write(s + end)
        sys.stdout.flush()

    def err(self, s="", end="\n"):
        self.errbuf.append(s + end)
        sys.stderr.write(s + end)
        sys.stderr.flush()

    def fail(self, msg, rc=1):
        if msg:
            self.err(msg)
        raise Exit(rc)

    def need_root(self, msg, rc=1):
        if self.uid != 0:
            self.fail(msg, rc)


# ---------------------------------------------------------------- state ---
PKG_VERSIONS = centos.PKG_VERSIONS
BASE_PKGS = ["bash", "coreutils", "yum", "rpm", "openssh-server", "openssh-clients",
             "iptables", "chkconfig", "initscripts", "centos-release", "python",
             "sudo", "tar", "sed", "grep", "gzip", "curl", "procps-ng"]
NOARCH = centos.NOARCH
NOT_IN_REPOS = centos.NOT_IN_REPOS
SERVICE_PKGS = centos.SERVICE_PKGS
HAPROXY_DEFAULT_CFG = """\
#---------------------------------------------------------------------
# Example configuration (testhost stand-in for the CentOS package's file;
# CentOS's own says "frontend main *:5000", which haproxy >= 2.x rejects)
#---------------------------------------------------------------------
global
    log         127.0.0.1 local2
    chroot      /var/lib/haproxy
    pidfile     /var/run/haproxy.pid
    maxconn     4000
    user        haproxy
    group       haproxy
    daemon

defaults
    mode                    http
    log                     global
    option                  httplog
    timeout connect         10s
    timeout client          1m
    timeout server          1m

frontend  main
    bind *:5000
    default_backend             app

backend app
    balance     roundrobin
    server  app1 127.0.0.1:5001 check
"""
def initial_state(ctx):
    el = ctx.el
    pk = {p: PKG_VERSIONS[el].get(p, "1.0-1.el%s" % el) for p in BASE_PKGS}
    if el == "7":
        pk["firewalld"] = PKG_VERSIONS["7"]["firewalld"]
        pk["systemd"] = PKG_VERSIONS["7"]["systemd"]
    services = {"sshd": {"enabled": True, "running": True},
                "crond": {"enabled": True, "running": True},
                "network": {"enabled": True, "running": True}}
    services["firewalld" if el == "7" else "iptables"] = {"enabled": True, "running": True}
    pk.update(ctx.config.get("preinstalled", {}))
    return {
        "el": el,
        "packages": pk,
        "services": services,
        "firewall": {"default_zone": "public", "runtime": {"public": centos.new_zone()},
                     "permanent": {"public": centos.new_zone()}},
        "iptables": centos.new_iptables(el),
        "pids": {},
    }


def load_state(ctx):
    try:
        st = json.load(open(STATE))
    except (OSError, ValueError):
        st = initial_state(ctx)
    ctx.state = st
    return st


def save_state(ctx):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ctx.state, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def nvra(ctx, name):
    return centos.nvra(ctx.state, name)


pkg_name = centos.pkg_name


def is_file_spec(spec):
    """yum treats URLs and arguments ending in .rpm (or holding a /) as files."""
    return "://" in spec or spec.endswith(".rpm") or "/" in spec


def rpm_file_info(ctx, spec):
    return centos.rpm_file_info(spec, ctx.el)


def url_reachable(ctx, url):
    if ctx.config.get("offline"):
        return False
    return not any(fnmatch.fnmatch(url, g) for g in ctx.config.get("unreachable", []))


# ----------------------------------------------------------------- java ---
ORACLE_VERSION = ('java version "1.8.0_{u}"\n'
                  'Java(TM) SE Runtime Environment (build 1.8.0_{u}-b08)\n'
                  'Java HotSpot(TM) 64-Bit Server VM (build 25.{u}-b08, mixed mode)')
OPENJDK_VERSION = ('openjdk version "1.8.0_{u}"\n'
                   'OpenJDK Runtime Environment (build 1.8.0_{u}-b08)\n'
                   'OpenJDK 64-Bit Server VM (build 25.{u}-b08, mixed mode)')
OPENJDK8 = ("java-1.8.0-openjdk", "java-1.8.0-openjdk-headless", "java-1.8.0-openjdk-devel")


def java_info(ctx, n):
    """None, or {"home", "java", "text", "links"} for a Java package n."""
    ver = ctx.state["packages"].get(n, "")
    if re.match(r"^jdk1\.8(\.0_\d+)?$", n):
        u = re.match(r"1\.8\.0_(\d+)", ver)
        u = u.group(1) if u else "202"
        home = "/usr/java/jdk1.8.0_%s-amd64" % u
        return {"home": home, "java": [home + "/bin/java", home + "/jre/bin/java"],
                "javac": home + "/bin/javac", "alt": home + "/jre/bin/java",
                "text": ORACLE_VERSION.format(u=u), "javac_text": "javac 1.8.0_%s" % u,
                "links": {"/usr/java/latest": home, "/usr/java/default": "/usr/java/latest"}}
    if n in OPENJDK8:
        u = re.match(r"1\.8\.0\.(\d+)", ver)
        u = u.group(1) if u else "412"
        home = "/usr/lib/jvm/java-1.8.0-openjdk-%s.x86_64" % ver
        return {"home": home, "java": [home + "/jre/bin/java"], "alt": home + "/jre/bin/java",
                "javac": home + "/bin/javac" if n.endswith("-devel") else None,
                "text": OPENJDK_VERSION.format(u=u), "javac_text": "javac 1.8.0_%s" % u,
                "links": {}}
    return None


def install_java_files(ctx, n):
    info = java_info(ctx, n)
    if not info:
        return
    me = os.path.realpath(__file__)
    for p in info["java"] + ([info["javac"]] if info.get("javac") else []):
        os.makedirs(os.path.dirname(p), exist_ok=True)
        import shutil
        shutil.copy2(me, p)
        os.chmod(p, 0o755)

    def link(target, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)
    for path, target in info["links"].items():
        link(target, path)
    link(info["alt"], "/etc/alternatives/java")
    link("/etc/alternatives/java", "/usr/bin/java")
    if info.get("javac"):
        link(info["javac"], "/etc/alternatives/javac")
        link("/etc/alternatives/javac", "/usr/bin/javac")


def remove_java_files(ctx, n):
    info = java_info(ctx, n)
    if not info:
        return
    import shutil
    shutil.rmtree(info["home"], ignore_errors=True)
    for path in list(info["links"]) + ["/etc/alternatives/java", "/usr/bin/java",
                                       "/etc/alternatives/javac", "/usr/bin/javac"]:
        if os.path.islink(path) and not os.path.exists(path):
            os.unlink(path)


def installed_java(ctx):
    """Java package n whose files the invoked `java` belongs to (or any)."""
    me = os.path.realpath(sys.argv[0])
    found = None
    for n in ctx.state["packages"]:
        info = java_info(ctx, n)
        if info:
            if me.startswith(info["home"] + "/"):
                return n, info
            found = found or (n, info)
    return found or (None, None)


class Daemonize(Exception):
    """Raised by cmd_java to run on as a recorded daemon after the log record."""
    def __init__(self, port, docroot, name):
        self.port, self.docroot, self.name = port, docroot, name


JAVA_USAGE = ("Usage: java [-options] class [args...]\n"
              "           (to execute a class)\n"
              "   or  java [-options] -jar jarfile [args...]\n"
              "           (to execute a jar file)")


def cmd_java(ctx):
    load_state(ctx)
    n, info = installed_java(ctx)
    prog = sys.argv[0]
    if info is None:
        ctx.fail("-bash: %s: No such file or directory" % prog, 127)
    if ctx.cmd == "javac":
        if "-version" in ctx.argv:
            ctx.err(info["javac_text"])
            return 0
        ctx.fail("javac: testhost stand-in compiles nothing", 2)
    args = list(ctx.argv)
    if not args:
        ctx.fail(JAVA_USAGE, 1)
    props = {}
    cp = None
    jar = None
    main_class = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-version", "-showversion"):
            ctx.err(info["text"])
            if a == "-version":
                return 0
        elif a == "-fullversion":
            ctx.err('java full version "%s"' % info["text"].split('"')[1] + "-b08")
            return 0
        elif a in ("--version", "--show-version"):
            ctx.fail("Unrecognized option: %s\nError: Could not create the Java Virtual "
                     "Machine.\nError: A fatal exception has occurred. Program will exit." % a, 1)
        elif a in ("-cp", "-classpath"):
            i += 1
            cp = args[i] if i < len(args) else ""
        elif a == "-jar":
            i += 1
            jar = args[i] if i < len(args) else None
            break
        elif a.startswith("-D"):
            k, _, v = a[2:].partition("=")
            props[k] = v
        elif a.startswith("-"):
            pass
        else:
            main_class = a
            break
        i += 1
    if jar is not None:
        if not os.path.isfile(jar):
            ctx.fail("Error: Unable to access jarfile %s" % jar, 1)
    elif main_class is None:
        ctx.fail(JAVA_USAGE, 1)
    else:
        entries = (cp if cp is not None else os.environ.get("CLASSPATH", ".")).split(":")
        import glob
        found = []
        for e in entries:   # jars are taken on trust; a directory needs the .class
            if e.endswith("*"):
                found += glob.glob(os.path.join(e[:-1], "*.jar"))
            elif e.endswith(".jar") and os.path.isfile(e):
                found.append(e)
            elif os.path.isfile(os.path.join(e or ".", main_class.replace(".", "/") + ".class")):
                found.append(e)
        if not found:
            ctx.fail("Error: Could not find or load main class %s" % main_class, 1)
    port = ctx.config.get("java_listen_port", 3000)
    raise Daemonize(port, props.get("de.jtel.platform.clientmessenger.public"),
                    os.uname().nodename)


def run_java_daemon(d):
    """The fake JVM's 'main': WebSocket echo (+ static files) on d.port, or sleep."""
    import signal
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    if not d.port:
        while True:
            signal.pause()
    sys.path.insert(0, "/usr/lib/testhost")
    import asyncio
    import ws_echo
    try:
        asyncio.run(ws_echo.serve("0.0.0.0", int(d.port), d.name, docroot=d.docroot))
    except OSError as e:
        sys.stderr.write("Exception in thread \"main\" java.net.BindException: %s\n" % e)
        os._exit(1)


# ------------------------------------------------------------- services ---
def init_script(name):
    return "/etc/rc.d/init.d/" + name


def unit_file(name):
    for d in ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system"):
        p = "%s/%s.service" % (d, name)
        if os.path.exists(p):
            return p
    return None


def install_service_files(ctx, svc):
    """What the real package would drop: a unit file on 7, an init script on 6."""
    if ctx.el == "7":
        p = "/usr/lib/systemd/system/%s.service" % svc
        if not os.path.exists(p):
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write("%s\n[Unit]\nDescription=%s (testhost stub)\n\n[Service]\n"
                        "ExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"
                        % (STUB_MARK, svc))
    else:
        p = init_script(svc)
        if not os.path.exists(p):
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write("#!/bin/sh\n%s\n# chkconfig: - 85 15\n# description: %s stub\n"
                        "exec /usr/sbin/service %s \"$@\"\n" % (STUB_MARK, svc, svc))
            os.chmod(p, 0o755)


def svc_state(ctx, name):
    return centos.svc(ctx.state, name)


def validate_service(ctx, name):
    """Run the configured validator (haproxy -c by default). Returns (ok, text)."""
    cmds = {"haproxy": "haproxy -c -q -f /etc/haproxy/haproxy.cfg"}
    cmds.update(ctx.config.get("validate", {}))
    cmd = cmds.get(name)
    if not cmd:
        return True, ""
    import subprocess
    p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.returncode == 0, p.stdout


def set_running(ctx, name, running):
    saved = None
    if name == "iptables" and os.path.exists("/etc/sysconfig/iptables"):
        with open("/etc/sysconfig/iptables") as f:
            saved = f.read()
    centos.set_running(ctx.state, name, running, saved_rules=saved)


# ---------------------------------------------------------------- yum -----
def prompt_yes(ctx, question):
    import select
    ctx.out(question, end="")
    t = float(ctx.config.get("prompt_timeout", 20))
    r, _, _ = select.select([sys.stdin], [], [], t)
    ans = sys.stdin.readline() if r else ""
    ctx.state.setdefault("prompts", []).append({"q": question, "a": ans})
    if ans.strip().lower() in ("y", "yes"):
        return True
    ctx.out("")
    ctx.out("Exiting on user command")
    return False


def cmd_yum(ctx):
    args = ctx.argv
    assume_yes, quiet, rest = centos.yum_args(args)
    if not rest:
        ctx.fail("You need to give some command", 1)
    sub, names = rest[0], rest[1:]
    if quiet:
        ctx.quiet = True
    load_state(ctx)
    pk = ctx.state["packages"]
    ctx.out("Loaded plugins: fastestmirror")
    if sub in ("install", "localinstall", "reinstall", "groupinstall", "update", "upgrade"):
        ctx.need_root("You need to be root to perform this command.")
        if sub in ("update", "upgrade") and not names:
            ctx.out("No packages marked for update")
            return 0
        ctx.out("Loading mirror speeds from cached hostfile")
        unavailable = set(ctx.config.get("unavailable", [])) | NOT_IN_REPOS
        todo = []
        vers = {}
        failed = False      # something asked for could not be had: "Error: Nothing to do"
        for spec in names:
            if is_file_spec(spec):
                # a URL or a local .rpm file, as `yum install URL|PATH` takes them
                if "://" in spec:
                    if not url_reachable(ctx, spec):
                        ctx.out("Cannot open: %s. Skipping." % spec)
                        failed = True
                        continue
                    fname = spec.rsplit("/", 1)[-1]
                    ctx.out("%-60s |  1.0 MB  00:00:01" % fname)
                    path = "/var/tmp/yum-root-testhost/" + fname
                else:
                    path = os.path.join(os.getcwd(), spec)
                    if not os.path.isfile(path):
                        ctx.out("Cannot open: %s. Skipping." % spec)
                        failed = True
                        continue
                    path = spec
                n, ver, epoch = rpm_file_info(ctx, spec)
                arch = "noarch" if n in NOARCH else "x86_64"
                ctx.out("Examining %s: %s:%s-%s.%s" % (path, epoch, n, ver, arch))
                if n in pk and sub != "reinstall":
                    ctx.out("%s: does not update installed package." % path)
                    failed = True
                    continue
                ctx.out("Marking %s to be installed" % path)
                if n not in todo:
                    todo.append(n)
                    vers[n] = ver
                continue
            n = pkg_name(spec)
            if n in pk and sub != "reinstall":
                ctx.out("Package %s already installed and latest version" % nvra(ctx, n))
            elif n in unavailable or fnmatch.fnmatch(n, "*nonexist*") or \
                    re.match(r"^(jdk|jre)1\.8\.0_\d+$", n):
                ctx.out("No package %s available." % spec)
                failed = True
            elif sub in ("update", "upgrade"):
                ctx.out("Package(s) %s available, but not installed." % n)
            elif n not in todo:
                todo.append(n)
                vers[n] = PKG_VERSIONS[ctx.el].get(n, "1.0-1.el%s" % ctx.el)
        if not todo:
            if failed:
                ctx.out("Error: Nothing to do")
                return 1
            ctx.out("Nothing to do")
            return 0
        ctx.out("Resolving Dependencies")
        ctx.out("--> Running transaction check")
        for n in todo:
            arch = "noarch" if n in NOARCH else "x86_64"
            ctx.out("---> Package %s.%s 0:%s will be installed" % (n, arch, vers[n]))
        ctx.out("--> Finished Dependency Resolution")
        ctx.out("")
        ctx.out("Transaction Summary")
        ctx.out("=" * 78)
        ctx.out("Install  %d Package%s" % (len(todo), "s" if len(todo) > 1 else ""))
        ctx.out("")
        if not assume_yes:
            q = "Is this ok [y/d/N]: " if ctx.el == "7" else "Is this ok [y/N]: "
            if not prompt_yes(ctx, q):
                save_state(ctx)
                return 1
        ctx.out("Downloading packages:")
        ctx.out("Running transaction")
        for k, n in enumerate(todo, 1):
            pk[n] = vers[n]
            ctx.out("  Installing : %s%s%d/%d" % (
                nvra(ctx, n)[:-len(".x86_64")] if not n in NOARCH else nvra(ctx, n),
                " " * 20, k, len(todo)))
            after_install(ctx, n)
        ctx.out("")
        ctx.out("Installed:")
        ctx.out("  " + " ".join("%s.%s 0:%s" % (n, "noarch" if n in NOARCH else "x86_64",
                                                 vers[n]) for n in todo))
        ctx.out("")
        ctx.out("Complete!")
        save_state(ctx)
        return 0
    if sub in ("remove", "erase"):
        ctx.need_root("You need to be root to perform this command.")
        gone = [pkg_name(n) for n in names if pkg_name(n) in pk]
        for n in names:
            if pkg_name(n) not in pk:
                ctx.out("No Match for argument: %s" % n)
        if not gone:
            ctx.out("No Packages marked for removal")
            return 0
        if not assume_yes and not prompt_yes(ctx, "Is this ok [y/N]: "):
            save_state(ctx)
            return 1
        for n in gone:
            remove_java_files(ctx, n)
            pk.pop(n)
        ctx.out("Removed:\n  " + " ".join(gone) + "\n\nComplete!")
        save_state(ctx)
        return 0
    rc = centos.yum_query(ctx.state, ctx, ctx.el, sub, names)
    if rc is not None:
        return rc
    ctx.fail("No such command: %s. Please use /usr/bin/yum --help" % sub, 1)


def after_install(ctx, n):
    install_java_files(ctx, n)
    if n == "haproxy":
        real = "/usr/lib/testhost/bin/haproxy"   # hidden by dress.sh until installed
        if os.path.exists(real) and not os.path.exists("/usr/sbin/haproxy"):
            import shutil
            shutil.copy2(real, "/usr/sbin/haproxy")
        if not os.path.exists("/etc/haproxy/haproxy.cfg"):
            os.makedirs("/etc/haproxy", exist_ok=True)
            with open("/etc/haproxy/haproxy.cfg", "w") as f:
                f.write(HAPROXY_DEFAULT_CFG)
        os.makedirs("/var/lib/haproxy", exist_ok=True)
    if n in SERVICE_PKGS:
        svc = SERVICE_PKGS[n]
        install_service_files(ctx, svc)
        svc_state(ctx, svc)
    hook = os.path.join(STATE_DIR, "hooks", "yum-install-" + n)
    if os.access(hook, os.X_OK):
        import subprocess
        subprocess.run([hook], stdout=sys.stderr)


# ---------------------------------------------------------------- rpm -----
RPM_MACROS = {"rhel": None, "centos": None, "centos_ver": None, "dist": None,
              "_arch": "x86_64", "_host_cpu": "x86_64", "_lib": "lib64",
              "_libdir": "/usr/lib64", "_sysconfdir": "/etc", "_prefix": "/usr"}


def rpm_eval(ctx, expr):
    macros = dict(RPM_MACROS, rhel=ctx.el, centos=ctx.el, centos_ver=ctx.el,
                  dist=".el%s" % ctx.el + (".centos" if ctx.el == "7" else ""))

    def sub(m):
        name = m.group(2)
        if m.group(1) == "?":
            return macros.get(name) or ""
        return macros.get(name, m.group(0))
    return re.sub(r"%\{(\??)([A-Za-z_][A-Za-z0-9_]*)\}", sub, expr)


def cmd_rpm(ctx):
    args = list(ctx.argv)
    if not args:
        ctx.fail("rpm: no arguments given", 1)
    load_state(ctx)
    pk = ctx.state["packages"]
    if args[0] in ("-E", "--eval"):
        for e in args[1:]:
            ctx.out(rpm_eval(ctx, e))
        return 0
    if args[0] == "--import":
        ctx.need_root("error: %s: import failed." % (args[1:] or [""])[0])
        return 0
    qf = None
    if "--qf" in args or "--queryformat" in args:
        k = args.index("--qf") if "--qf" in args else args.index("--queryformat")
        qf = args[k + 1]
        del args[k:k + 2]
    flags = "".join(a[1:] for a in args if re.match(r"^-[a-zA-Z]+$", a))
    names = [a for a in args if not a.startswith("-")]
    if args[0].startswith("-q") or args[0] == "--query":
        if "a" in flags:
            hits = sorted(n for n in pk if not names or any(fnmatch.fnmatch(n, g)
                                                             for g in names))
            for n in hits:
                ctx.out(fmt_qf(ctx, n, qf))
            return 0
        if "f" in flags:
            for f in names:
                ctx.out("file %s is not owned by any package" % f)
            return len(names)
        def info(n):
            ver, rel = pk[n].split("-", 1)
            return ("Name        : %s\nVersion     : %s\nRelease     : %s\n"
                    "Architecture: x86_64" % (n, ver, rel))
        return centos.rpm_query(ctx.state, ctx, names, info if "i" in flags else
                                lambda n: fmt_qf(ctx, n, qf))
    if re.match(r"^-[iU]", args[0]) or args[0] in ("--install", "--upgrade"):
        ctx.need_root("error: can't create transaction lock on /var/lib/rpm/.rpm.lock "
                      "(Permission denied)")
        for spec in names:
            if "://" in spec:
                if not url_reachable(ctx, spec):
                    ctx.fail("error: skipping %s - transfer failed" % spec, 1)
            elif not os.path.isfile(spec):
                ctx.fail("error: open of %s failed: No such file or directory" % spec, 1)
            n, ver, _epoch = rpm_file_info(ctx, spec)
            if n in pk and args[0].startswith("-i"):
                ctx.err("\tpackage %s is already installed" % nvra(ctx, n))
                return 1
            if "v" in flags:
                ctx.out("Preparing...                ################################# [100%]")
            pk[n] = ver
            after_install(ctx, n)
            if "v" in flags:
                ctx.out("   1:%-24s################################# [100%%]" % n)
        save_state(ctx)
        return 0
    if args[0] in ("-e", "--erase"):
        ctx.need_root("error: can't create transaction lock on /var/lib/rpm/.rpm.lock "
                      "(Permission denied)")
        rc = 0
        for q in names:
            n = next((p for p in pk if centos.pkg_matches(ctx.state, p, q)), None)
            if n is not None:
                remove_java_files(ctx, n)
                pk.pop(n)
            else:
                ctx.err("error: package %s is not installed" % q)
                rc = 1
        save_state(ctx)
        return rc
    if args[0] in ("-V", "--verify"):
        return 0
    ctx.fail("rpm: unknown option %s" % args[0], 1)


def fmt_qf(ctx, n, qf):
    if not qf:
        return nvra(ctx, n)
    ver, rel = ctx.state["packages"][n].split("-", 1)
    d = {"NAME": n, "VERSION": ver, "RELEASE": rel,
         "ARCH": "noarch" if n in NOARCH else "x86_64"}
    s = re.sub(r"%\{(\w+)\}", lambda m: d.get(m.group(1).upper(), "(none)"), qf)
    return s.encode().decode("unicode_escape").rstrip("\n")


# ----------------------------------------------------------- chkconfig ----
class ShimFiles:
    """What chkconfig asks of the test host's files."""

    def __init__(self, ctx):
        self.ctx = ctx

    def init_script(self, name):
        try:
            with open(init_script(name)) as f:
                return f.read()
        except OSError:
            return None

    def has_unit(self, name):
        return unit_file(name) is not None

    def sysv_names(self):
        return [n for n in os.listdir("/etc/rc.d/init.d") if not n.startswith(".")]

    def systemctl(self, args):
        return systemctl_ops(self.ctx, args)


def cmd_chkconfig(ctx):
    load_state(ctx)
    try:
        return centos.chkconfig(ctx.state, ctx, list(ctx.argv), ctx.uid == 0, ctx.el,
                                ShimFiles(ctx))
    finally:
        save_state(ctx)


# ------------------------------------------------------------- service ----
def cmd_service(ctx):
    args = ctx.argv
    load_state(ctx)
    if not args or args[0] in ("--help", "-h"):
        ctx.out("Usage: service < option > | --status-all | [ service_name [ command | "
                "--full-restart ] ]")
        return 1
    if args[0] == "--status-all":
        for n, st in sorted(ctx.state["services"].items()):
            ctx.out("%s is %s" % (n, "running..." if st.get("running") else "stopped"))
        return 0
    name, action = args[0], (args[1] if len(args) > 1 else "")
    if name == "iptables" and action == "save":
        saved = centos.service_iptables_save(ctx.state, ctx, ctx.uid == 0, ctx.el)
        tmp = "/etc/sysconfig/.iptables.tmp"
        with open(tmp, "w") as f:
            f.write(saved)
        os.chmod(tmp, 0o600)
        os.replace(tmp, "/etc/sysconfig/iptables")
        return 0
    if ctx.el == "7":
        lsb = ("start", "stop", "restart", "try-restart", "reload", "force-reload",
               "status", "condrestart")
        if action not in lsb:
            ctx.fail("The service command supports only basic LSB actions (start, stop, "
                     "restart, try-restart, reload, force-reload, status). For other "
                     "actions, please try to use systemctl.", 2)
        if not os.path.exists(init_script(name)):
            ctx.err("Redirecting to /bin/systemctl %s %s.service" % (action, name))
            return systemctl_ops(ctx, [action, name])
    script = init_script(name)
    if not os.path.exists(script):
        ctx.fail("%s: unrecognized service" % name, 1)
    if ctx.config.get("exec_init_scripts") and STUB_MARK not in open(script).read():
        import subprocess
        p = subprocess.run([script] + list(args[1:]), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.stdout:
            ctx.out(p.stdout, end="")
        if p.stderr:
            ctx.err(p.stderr, end="")
        if p.returncode == 0 and action in ("start", "restart", "reload", "stop"):
            set_running(ctx, name, action != "stop")
            save_state(ctx)
        return p.returncode
    st = svc_state(ctx, name)
    pretty = name

    def line(msg, ok):
        ctx.out("%-60s[%s]" % (msg, "  OK  " if ok else "FAILED"))
    if action in ("start", "stop", "restart", "reload", "condrestart", "try-restart",
                  "force-reload"):
        ctx.need_root("", 4)
        if action in ("stop", "restart", "condrestart", "try-restart") and (
                st.get("running") or action == "stop"):
            line("Stopping %s: " % pretty, st.get("running", False) or name != "haproxy")
            set_running(ctx, name, False)
        if action in ("condrestart", "try-restart") and not st.get("running"):
            save_state(ctx)
            return 0
        if action == "stop":
            save_state(ctx)
            return 0
        ok, text = validate_service(ctx, name)
        if not ok:
            if text:
                ctx.out(text.rstrip("\n"))
            ctx.out("Errors in configuration file, check with %s check." % name)
            line("Starting %s: " % pretty, False) if action != "reload" else None
            save_state(ctx)
            return 1
        verb = "Reloading" if action in ("reload", "force-reload") else "Starting"
        line("%s %s: " % (verb, pretty), True)
        set_running(ctx, name, True)
        save_state(ctx)
        return 0
    if action == "status":
        if st.get("running"):
            ctx.out("%s (pid  %d) is running..." % (name, ctx.state["pids"].get(name, 1234)))
            return 0
        ctx.out("%s is stopped" % name)
        return 3
    ctx.fail("Usage: %s {start|stop|status|restart|reload|condrestart}" % script, 2)


# ----------------------------------------------------------- systemctl ----
def unit_known(ctx, name):
    return bool(unit_file(name) or os.path.exists(init_script(name))
                or name in ("sshd", "firewalld", "crond", "network"))


def systemctl_ops(ctx, args):
    quiet = any(a in ("-q", "--quiet") for a in args)
    now = "--now" in args
    words = [a for a in args if not a.startswith("-")]
    if not words:
        ctx.out("  UNIT                      LOAD   ACTIVE SUB     DESCRIPTION")
        return 0
    verb, units = words[0], [re.sub(r"\.service$", "", u) for u in words[1:]]
    if verb in ("daemon-reload", "daemon-reexec", "reset-failed"):
        ctx.need_root("Failed to execute operation: Access denied", 1)
        return 0
    if verb in ("list-unit-files", "list-units"):
        for n, st in sorted(ctx.state["services"].items()):
            if verb == "list-unit-files":
                ctx.out("%-40s %s" % (n + ".service",
                                      "enabled" if st.get("enabled") else "disabled"))
            else:
                ctx.out("%-40s loaded %s" % (n + ".service",
                                             "active running" if st.get("running")
                                             else "inactive dead"))
        return 0
    rc = 0
    for n in units:
        known = unit_known(ctx, n)
        st = ctx.state["services"].get(n)
        if verb == "is-active":
            active = known and st and st.get("running")
            if not quiet:
                ctx.out("active" if active else ("inactive" if known else "unknown"))
            rc = rc or (0 if active else 3)
            continue
        if verb == "is-enabled":
            if not known:
                ctx.err("Failed to get unit file state for %s.service: No such file or "
                        "directory" % n)
                rc = 1
                continue
            en = st and st.get("enabled")
            if not quiet:
                ctx.out("enabled" if en else "disabled")
            rc = rc or (0 if en else 1)
            continue
        if verb == "status":
            if not known:
                ctx.out("Unit %s.service could not be found." % n)
                rc = 4
                continue
            run = st and st.get("running")
            ctx.out("\u25cf %s.service - %s\n   Loaded: loaded (%s; %s; vendor preset: "
                    "disabled)\n   Active: %s" % (
                        n, n, unit_file(n) or init_script(n),
                        "enabled" if st and st.get("enabled") else "disabled",
                        "active (running)" if run else "inactive (dead)"))
            rc = rc or (0 if run else 3)
            continue
        if ctx.uid != 0:
            ctx.err("Failed to %s %s.service: Interactive authentication required." % (
                verb, n))
            rc = 1
            continue
        if verb in ("enable", "disable", "mask", "unmask"):
            if not known:
                ctx.err("Failed to execute operation: No such file or directory")
                rc = 1
                continue
            s = svc_state(ctx, n)
            if verb == "enable" and not s["enabled"]:
                ctx.err("Created symlink from /etc/systemd/system/multi-user.target.wants/"
                        "%s.service to %s." % (n, unit_file(n) or init_script(n)))
            if verb == "disable" and s["enabled"]:
                ctx.err("Removed symlink /etc/systemd/system/multi-user.target.wants/"
                        "%s.service." % n)
            s["enabled"] = verb in ("enable", "unmask") and verb == "enable" or (
                verb == "unmask" and s["enabled"])
            if now:
                if verb == "enable":
                    rc = rc or systemctl_start(ctx, n, "start")
                elif verb == "disable":
                    set_running(ctx, n, False)
            continue
        if verb in ("start", "stop", "restart", "reload", "try-restart",
                    "reload-or-restart", "condrestart", "force-reload"):
            if not known:
                ctx.err("Failed to %s %s.service: Unit not found." % (verb, n))
                rc = 5
                continue
            rc = rc or systemctl_start(ctx, n, verb)
            continue
        ctx.err("Unknown operation '%s'." % verb)
        return 1
    save_state(ctx)
    return rc


def systemctl_start(ctx, n, verb):
    saved = None
    if n == "iptables" and os.path.exists("/etc/sysconfig/iptables"):
        with open("/etc/sysconfig/iptables") as f:
            saved = f.read()

    def check(name):
        ok, text = validate_service(ctx, name)
        return ok, text.splitlines()
    rc, lines = centos.systemd_job(ctx.state, ctx, n, verb, check, saved_rules=saved)
    if rc and lines:
        ctx.state.setdefault("journal", []).append({"unit": n, "text": "\n".join(lines)})
    return rc


def cmd_systemctl(ctx):
    load_state(ctx)
    return systemctl_ops(ctx, ctx.argv)


# ------------------------------------------- firewall-cmd, iptables ----
def cmd_firewall_cmd(ctx):
    load_state(ctx)
    rc = centos.firewall_cmd(ctx.state, ctx, list(ctx.argv), ctx.uid == 0)
    save_state(ctx)
    return rc


def cmd_iptables(ctx):
    load_state(ctx)
    rc = centos.iptables(ctx.state, ctx, list(ctx.argv), ctx.uid == 0, ctx.el)
    save_state(ctx)
    return rc


def cmd_iptables_save(ctx):
    load_state(ctx)
    return centos.iptables_save(ctx.state, ctx, ctx.uid == 0, ctx.el)


# ------------------------------------------------- selinux, power, misc ----
def cmd_getenforce(ctx):
    load_state(ctx)
    ctx.out(ctx.state.setdefault("selinux", "Enforcing"))
    return 0


def cmd_setenforce(ctx):
    load_state(ctx)
    ctx.need_root("setenforce:  setenforce() failed")
    a = (ctx.argv or [""])[0]
    if a not in ("0", "1", "Permissive", "Enforcing", "permissive", "enforcing"):
        ctx.fail("usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]", 1)
    if ctx.state.get("selinux", "Enforcing") == "Disabled":
        ctx.fail("setenforce: SELinux is disabled", 1)
    ctx.state["selinux"] = "Enforcing" if a in ("1", "Enforcing", "enforcing") else "Permissive"
    save_state(ctx)
    return 0


def cmd_setsebool(ctx):
    load_state(ctx)
    ctx.need_root("Could not change active booleans: Permission denied")
    args = [a for a in ctx.argv if a != "-P"]
    bools = ctx.state.setdefault("sebool", {})
    if len(args) == 2:
        bools[args[0]] = args[1] in ("1", "on", "true")
    else:
        for a in args:
            k, _, v = a.partition("=")
            bools[k] = v in ("1", "on", "true")
    save_state(ctx)
    return 0


def cmd_getsebool(ctx):
    load_state(ctx)
    bools = ctx.state.get("sebool", {})
    for n in ctx.argv:
        if n != "-a":
            ctx.out("%s --> %s" % (n, "on" if bools.get(n) else "off"))
    return 0


def cmd_power(ctx):
    """reboot/shutdown/poweroff/halt: recorded only, the test host keeps running."""
    ctx.need_root("Must be root.")
    if ctx.cmd == "shutdown" and "-c" not in ctx.argv:
        ctx.out("Shutdown scheduled (testhost: recorded only)")
    return 0


# ---------------------------------------------------------------- main ----
COMMANDS = {"getenforce": cmd_getenforce, "setenforce": cmd_setenforce,
            "setsebool": cmd_setsebool, "getsebool": cmd_getsebool,
            "reboot": cmd_power, "shutdown": cmd_power, "poweroff": cmd_power,
            "halt": cmd_power,"yum": cmd_yum, "rpm": cmd_rpm, "chkconfig": cmd_chkconfig,
            "service": cmd_service, "systemctl": cmd_systemctl,
            "firewall-cmd": cmd_firewall_cmd, "iptables": cmd_iptables,
            "iptables-save": cmd_iptables_save, "java": cmd_java, "javac": cmd_java}


def cmd_seed(ctx):
    """Internal (dress.sh): the starting state, with config "preinstalled" packages
    and their files in place. Not logged."""
    ctx.state = initial_state(ctx)
    for n in ctx.config.get("preinstalled", {}):
        after_install(ctx, n)
    save_state(ctx)
    return 0


def main():
    name = os.path.basename(sys.argv[0])
    if name in ("thshim", "thshim.py") and len(sys.argv) > 1:
        name, argv = sys.argv[1], sys.argv[2:]
    else:
        argv = sys.argv[1:]
    ctx = Ctx(name, argv)
    rc = 0
    daemon = None
    os.makedirs(STATE_DIR, exist_ok=True)
    lock = open(LOCK, "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        fn = cmd_seed if name == "_seed" else COMMANDS.get(name)
        if fn is None:
            ctx.fail("thshim: unknown command %s" % name, 127)
        rc = fn(ctx) or 0
    except Exit as e:
        rc = e.rc
    except Daemonize as d:   # java: log now (rc null, pid), then run on unlocked
        rc, daemon = None, d
    except Exception as e:  # a bug in the stand-in must be loud, not look like success
        ctx.err("thshim internal error: %r" % (e,))
        rc = 70
    finally:
        if not os.environ.get("TESTHOST_NOLOG"):
            try:
                user = pwd.getpwuid(ctx.uid).pw_name
            except KeyError:
                user = str(ctx.uid)
            try:
                seq = sum(1 for _ in open(CALLS))
            except OSError:
                seq = 0
            rec = {"seq": seq + 1, "t": round(time.time(), 3), "cmd": name, "argv": argv,
                   "uid": ctx.uid, "user": user, "cwd": os.getcwd(), "rc": rc,
                   "out": "".join(ctx.outbuf)[-4000:], "err": "".join(ctx.errbuf)[-4000:]}
            if daemon is not None:
                rec.update(daemon=True, pid=os.getpid())
            with open(CALLS, "a") as f:
                f.write(json.dumps(rec) + "\n")
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    if daemon is not None:
        run_java_daemon(daemon)
    sys.exit(rc)


if __name__ == "__main__":
    main()
