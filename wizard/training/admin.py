"""Administration commands of the training host, after CentOS 7.9 (and the test host's
recording stand-ins, tests/testhost/shim/thshim.py): yum rpm java chkconfig service
systemctl journalctl firewall-cmd iptables iptables-save haproxy updatepl.sh updatejb.sh."""
from __future__ import annotations

import copy
import fnmatch
import posixpath
import re
import time

from . import centos
from .fs import Node
from .shell import Cmd, command, raw, text

EL = "7"                                    # the default; a scenario's host says its own (state["el"])
NOARCH = centos.NOARCH
JAVA_PKGS = centos.JAVA_PKGS
INIT_DIR = "/etc/rc.d/init.d"
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system")
LISTEN = {"sshd": [22], "mysqld": [3306], "PlatformUDPListener": [5701], "jtel-clientmessenger": [3000, 5702]}


def el(c: Cmd) -> str:
    """The host's CentOS major release ("6" or "7")."""
    return c.host.state.get("el", EL)


def initial_state(m: dict) -> dict:
    release = str(m.get("el", EL))
    zone = centos.new_zone(m["firewall"]["services"], m["firewall"]["ports"])
    services = {n: {"enabled": v[0], "running": v[1]} for n, v in m["services"].items()}
    pids = {n: 1000 + 37 * k for k, n in enumerate(services) if services[n]["running"]}
    return {"el": release, "packages": dict(m["packages"]), "services": services, "pids": pids,
            "firewall": {"default_zone": "public", "runtime": {"public": copy.deepcopy(zone)},
                         "permanent": {"public": zone}},
            "iptables": centos.new_iptables(release, m["iptables"]),
            "users": {k: list(v) for k, v in m["users"].items()},
            "groups": {k: [v[0], list(v[1])] for k, v in m["groups"].items()},
            "journal": [], "runs": [], "selinux": "Enforcing", "generation": 0,
            "faults": dict(m.get("faults") or {})}


def _need_root(c: Cmd, msg: str, rc: int = 1) -> None:
    if not c.root:
        c.fail(msg, rc)


def _changed(c: Cmd) -> None:
    c.host.changed()


# -- packages ------------------------------------------------------------------------------------

def pkg_name(spec: str, release: str = EL) -> tuple[str, str | None]:
    """(package name, version-release or None) of a name, file or URL."""
    if spec.endswith(".rpm"):
        name, ver, _ = centos.rpm_file_info(spec, release)
        return name, ver
    return centos.pkg_name(spec), None


def nvra(c: Cmd, name: str) -> str:
    return centos.nvra(c.host.state, name)


def _epoch(name: str) -> str:
    e = centos.epoch(name)
    return "" if e == "0" else e + ":"


def _after_install(c: Cmd, name: str) -> None:
    fs = c.fs
    if name == "jdk1.8":
        ver = c.host.state["packages"][name].split("-")[0]           # 1.8.0_202
        home = f"/usr/java/jdk{ver}-amd64"
        fs.makedirs(f"{home}/jre/bin")
        fs.makedirs(f"{home}/bin")
        for p in (f"{home}/jre/bin/java", f"{home}/bin/javac"):
            fs.put(p, Node("f", f"# training host: {posixpath.basename(p)} ({name})\n".encode(), 0o755))
        fs.put(f"{home}/bin/java", Node("l", mode=0o777, target="../jre/bin/java"))
        for link, target in (("/usr/java/latest", home), ("/usr/java/default", "/usr/java/latest")):
            if link not in fs.nodes:
                fs.put(link, Node("l", mode=0o777, target=target))
        fs.makedirs("/etc/alternatives")
        for tool, target in (("java", "/usr/java/default/jre/bin/java"), ("javac", "/usr/java/default/bin/javac")):
            fs.put(f"/etc/alternatives/{tool}", Node("l", mode=0o777, target=target))
            if f"/usr/bin/{tool}" not in fs.nodes:
                fs.put(f"/usr/bin/{tool}", Node("l", mode=0o777, target=f"/etc/alternatives/{tool}"))
    svc = centos.SERVICE_PKGS.get(name)
    if svc:
        unit = f"/usr/lib/systemd/system/{svc}.service"
        if unit not in fs.nodes:
            fs.makedirs(posixpath.dirname(unit))
            fs.put(unit, Node("f", f"[Unit]\nDescription={svc} (training host)\n\n[Service]\n"
                                   f"ExecStart=/usr/sbin/{svc}\n\n[Install]\nWantedBy=multi-user.target\n".encode()))
        c.host.state["services"].setdefault(svc, {"enabled": False, "running": False})
    if name == "haproxy" and "/etc/haproxy/haproxy.cfg" not in fs.nodes:
        fs.makedirs("/etc/haproxy")
        fs.put("/etc/haproxy/haproxy.cfg", Node("f", b"global\n    daemon\n\ndefaults\n    mode http\n"
                                                     b"    timeout connect 10s\n    timeout client 1m\n"
                                                     b"    timeout server 1m\n\nfrontend main\n"
                                                     b"    bind *:5000\n    default_backend app\n\n"
                                                     b"backend app\n    server app1 127.0.0.1:5001 check\n"))
    c.host.install_files(name)


class _Quiet:
    """yum -q: progress text is dropped, errors still go to stderr."""

    def __init__(self, c: Cmd):
        self.err, self.fail = c.err, c.fail

    def out(self, s: str = "", end: str = "\n") -> None:
        pass


@command("yum", path="/usr/bin")
def _yum(c: Cmd) -> int:
    assume_yes, quiet, rest = centos.yum_args(c.args)
    if not rest:
        c.fail("You need to give some command", 1)
    sub, names = rest[0], rest[1:]
    pk = c.host.state["packages"]
    say = (lambda s="": None) if quiet else c.out
    say("Loaded plugins: fastestmirror")
    if sub in ("install", "localinstall", "reinstall", "update", "upgrade"):
        _need_root(c, "You need to be root to perform this command.")
        if sub in ("update", "upgrade") and not names:
            say("Loading mirror speeds from cached hostfile")
            say("No packages marked for update")
            return 0
        say("Loading mirror speeds from cached hostfile")
        todo: list[tuple[str, str]] = []
        origin: dict[str, str] = {}
        missing = False
        for spec in names:
            name, ver = pkg_name(spec, el(c))
            if spec.endswith(".rpm"):
                if "://" in spec:
                    say(f"{spec.rsplit('/', 1)[-1]:<55}| 170 MB  00:00:05")
                    shown = f"/var/tmp/yum-root-Tr41n1/{spec.rsplit('/', 1)[-1]}"
                else:
                    node = c.fs.get(c.abspath(spec))
                    if node is None or node.kind != "f":
                        say(f"Cannot open: {spec}. Skipping.")
                        missing = True
                        continue
                    shown = spec
                ver = ver or "1.0-1"
                say(f"Examining {shown}: {_epoch(name)}{name}-{ver}.x86_64")
                if name in pk and pk[name] == ver and sub != "reinstall":
                    say(f"{shown}: does not update installed package.")
                    continue
                say(f"Marking {shown} to be installed")
                todo.append((name, ver))
                origin[name] = "/" + spec.rsplit("/", 1)[-1][:-4]
            elif name in pk and sub != "reinstall":
                say(f"Package {nvra(c, name)} already installed and latest version")
            elif centos.repo_version(el(c), name):
                todo.append((name, centos.repo_version(el(c), name)))
            else:
                say(f"No package {spec} available.")
                missing = True
        if not todo:
            if missing:
                c.err("Error: Nothing to do")
                return 1
            say("Nothing to do")
            return 0
        say("Resolving Dependencies")
        say("--> Running transaction check")
        for n, v in todo:
            say(f"---> Package {n}.{centos.arch(n)} {centos.epoch(n)}:{v} will be installed")
        say("--> Finished Dependency Resolution\n\nDependencies Resolved\n")
        say("=" * 80)
        say(" Package            Arch         Version                    Repository              Size")
        say("=" * 80)
        say("Installing:")
        for n, v in todo:
            say(f" {n:<18} {'x86_64':<12} {_epoch(n) + v:<26} "
                f"{origin.get(n, 'base'):<23} 1.2 M")
        say("\nTransaction Summary\n" + "=" * 80)
        say(f"Install  {len(todo)} Package{'s' if len(todo) > 1 else ''}\n")
        if not assume_yes:
            c.out("Is this ok [y/d/N]: ", end="")
            answer = c.io.stdin.readline()
            if answer.strip().lower() not in ("y", "yes"):
                c.out("")
                c.out("Exiting on user command")
                c.out("Your transaction was saved, rerun it with:")
                c.out(f" yum load-transaction /tmp/yum_save_tx.{time.strftime('%Y-%m-%d.%H-%M')}.Tr41.yumtx")
                return 1
        say("Downloading packages:\nRunning transaction check\nRunning transaction test\n"
            "Transaction test succeeded\nRunning transaction")
        for k, (n, v) in enumerate(todo, 1):
            pk[n] = v
            say(f"  Installing : {_epoch(n)}{n}-{v}.x86_64{' ' * 20}{k}/{len(todo)}")
            if n == "jdk1.8":
                say("Unpacking JAR files...\n\ttools.jar...\n\tplugin.jar...\n\tjavaws.jar...\n\tdeploy.jar..."
                    "\n\trt.jar...\n\tjsse.jar...\n\tcharsets.jar...\n\tlocaledata.jar...")
            _after_install(c, n)
        for k, (n, v) in enumerate(todo, 1):
            say(f"  Verifying  : {_epoch(n)}{n}-{v}.x86_64{' ' * 20}{k}/{len(todo)}")
        say("\nInstalled:\n  " + " ".join(f"{n}.x86_64 {centos.epoch(n)}:{v}" for n, v in todo) + "\n")
        say("Complete!")
        _changed(c)
        return 0
    if sub in ("remove", "erase"):
        _need_root(c, "You need to be root to perform this command.")
        gone = [pkg_name(n)[0] for n in names if pkg_name(n)[0] in pk]
        for n in names:
            if pkg_name(n)[0] not in pk:
                say(f"No Match for argument: {n}")
        if not gone:
            say("No Packages marked for removal")
            return 0
        if not assume_yes:
            c.out("Is this ok [y/N]: ", end="")
            if c.io.stdin.readline().strip().lower() not in ("y", "yes"):
                c.out("\nExiting on user command")
                return 1
        for n in gone:
            pk.pop(n)
        say("\nRemoved:\n  " + " ".join(gone) + "\n\nComplete!")
        _changed(c)
        return 0
    rc = centos.yum_query(c.host.state, c if not quiet else _Quiet(c), el(c), sub, names)
    if rc is not None:
        return rc
    c.fail(f"No such command: {sub}. Please use /usr/bin/yum --help", 1)


@command("rpm", path="/usr/bin")
def _rpm(c: Cmd) -> int:
    args = list(c.args)
    if not args:
        c.fail("rpm: no arguments given for query", 1)
    pk = c.host.state["packages"]
    if args[0] in ("-E", "--eval"):
        for e in args[1:]:
            c.out(e.replace("%{rhel}", el(c)).replace("%{centos}", el(c)).replace("%{dist}", f".el{el(c)}.centos")
                  .replace("%{_arch}", "x86_64"))
        return 0
    qf = None
    for key in ("--qf", "--queryformat"):
        if key in args:
            k = args.index(key)
            qf = args[k + 1]
            del args[k:k + 2]
    flags = "".join(a[1:] for a in args if re.fullmatch(r"-[a-zA-Z]+", a))
    names = [a for a in args if not a.startswith("-")]

    def fmt(n: str) -> str:
        if not qf:
            return nvra(c, n)
        ver, _, rel = pk[n].partition("-")
        d = {"NAME": n, "VERSION": ver, "RELEASE": rel, "ARCH": "noarch" if n in NOARCH else "x86_64",
             "EPOCH": _epoch(n)[:-1] or "(none)"}
        s = re.sub(r"%\{(\w+)\}", lambda m: d.get(m.group(1).upper(), "(none)"), qf)
        return s.replace("\\n", "\n").replace("\\t", "\t")

    if args[0].startswith("-q") or args[0] == "--query":
        if "a" in flags:
            for n in sorted(n for n in pk if not names or any(fnmatch.fnmatch(n, g) for g in names)):
                c.out(fmt(n), end="" if qf else "\n")
            return 0
        if "f" in flags:
            for f in names:
                c.out(f"file {f} is not owned by any package")
            return len(names)
        return centos.rpm_query(c.host.state, c, names, fmt, end="" if qf else "\n")
    if re.match(r"^-[iU]", args[0]) or args[0] in ("--install", "--upgrade"):
        _need_root(c, "error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Permission denied)")
        for spec in names:
            n, v = pkg_name(spec, el(c))
            if c.fs.get(c.abspath(spec)) is None and "://" not in spec:
                c.fail(f"error: open of {spec} failed: No such file or directory")
            if n in pk and args[0].startswith("-i"):
                c.fail(f"\tpackage {nvra(c, n)} is already installed")
            pk[n] = v or centos.repo_version(el(c), n) or f"1.0-1.el{el(c)}"
            _after_install(c, n)
        _changed(c)
        return 0
    if args[0] in ("-e", "--erase"):
        _need_root(c, "error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Permission denied)")
        rc = 0
        for n in names:
            if n in pk:
                pk.pop(n)
            else:
                c.err(f"error: package {n} is not installed")
                rc = 1
        _changed(c)
        return rc
    if args[0] in ("-V", "--verify", "--import"):
        return 0
    c.fail(f"rpm: unknown option {args[0]}", 1)


@command("java", package=JAVA_PKGS)
def _java(c: Cmd) -> int:
    pk = c.host.state["packages"]
    if not c.args or c.args[0] in ("-version", "--version", "-showversion"):
        if "jdk1.8" in pk:
            u = pk["jdk1.8"].split("-")[0]
            c.err(f'java version "{u}"\nJava(TM) SE Runtime Environment (build {u}-b08)\n'
                  f"Java HotSpot(TM) 64-Bit Server VM (build 25.{u.split('_')[-1]}-b08, mixed mode)")
        elif any(p.startswith("java-1.8.0-openjdk") for p in pk):
            c.err('openjdk version "1.8.0_412"\nOpenJDK Runtime Environment (build 1.8.0_412-b08)\n'
                  "OpenJDK 64-Bit Server VM (build 25.412-b08, mixed mode)")
        else:
            c.err('openjdk version "11.0.23" 2024-04-16 LTS\nOpenJDK Runtime Environment 18.9 '
                  "(build 11.0.23+9-LTS)\nOpenJDK 64-Bit Server VM 18.9 (build 11.0.23+9-LTS, mixed mode, sharing)")
        if not c.args or c.args[0] != "-showversion":
            return 0
    c.fail("training host: java can print its version here, but running Java programs is not simulated", 1)


# -- services ------------------------------------------------------------------------------------

def _init_script(c: Cmd, name: str) -> Node | None:
    node = c.fs.get(f"{INIT_DIR}/{name}")
    return node if node is not None and node.kind == "f" else None


def _unit(c: Cmd, name: str) -> str | None:
    for d in UNIT_DIRS:
        if c.fs.get(f"{d}/{name}.service") is not None:
            return f"{d}/{name}.service"
    return None


def _svc(c: Cmd, name: str) -> dict:
    return centos.svc(c.host.state, name)


def _set_running(c: Cmd, name: str, running: bool, dead: bool = False) -> None:
    centos.set_running(c.host.state, name, running, dead,
                       saved_rules=_saved_rules(c) if name == "iptables" else None)
    _changed(c)


def _journal(c: Cmd, unit: str, lines: list[str]) -> None:
    stamp = time.strftime("%b %d %H:%M:%S")
    for line in lines:
        c.host.state["journal"].append(f"{stamp} training-sim {unit}[4242]: {line}")
    del c.host.state["journal"][:-500]


def _validate(c: Cmd, name: str) -> tuple[bool, list[str]]:
    """What a real start would trip over: haproxy's config check."""
    if name == "haproxy":
        ok, out, err = _haproxy_check(c, "/etc/haproxy/haproxy.cfg")
        return ok, err + out
    return True, []


def _hazelcast_problem(c: Cmd, path: str) -> str | None:
    """Why Hazelcast would refuse `path` at start (not well-formed, or invalid for its XSD)."""
    node = c.fs.get(path)
    if node is None or node.kind != "f":
        return f"{path}: No such file or directory"
    try:
        from lxml import etree
    except ImportError:                     # pragma: no cover - lxml is a dependency
        import xml.etree.ElementTree as ET
        try:
            ET.fromstring(node.data)
            return None
        except ET.ParseError as e:
            return f"{path}: {e}"
    try:
        doc = etree.fromstring(node.data)
    except etree.XMLSyntaxError as e:
        return f"{path}: not well-formed XML: {e}"
    m = re.search(rb"hazelcast-config-(3\.\d+)\.xsd", node.data)
    version = m.group(1).decode() if m else "3.10"
    try:
        from importlib import resources
        xsd = resources.files("wizard.data.xsd").joinpath(f"hazelcast-config-{version}.xsd").read_bytes()
        schema = etree.XMLSchema(etree.fromstring(xsd))
    except (OSError, FileNotFoundError, etree.XMLSchemaParseError):
        return None
    if not schema.validate(doc):
        e = schema.error_log[0]
        return f"{path}:{e.line}: invalid for Hazelcast {version}: {e.message}"
    return None


def _cm_start(c: Cmd, name: str, script: str) -> tuple[bool, bool, str | None]:
    """(started, dies at once, message) for the ClientMessenger init script."""
    base = re.search(r"^BASEDIR=(\S+)", script, re.M)
    base = base.group(1).strip("\"'") if base else "/home/jtel/ClientMessenger"
    if c.fs.get(base) is None:
        return False, False, f"{INIT_DIR}/{name}: line 32: cd: {base}: No such file or directory"
    logf = f"/var/log/{name}.log"
    lines = []
    if not any(p in c.host.state["packages"] for p in JAVA_PKGS):
        lines.append("nohup: failed to run command \u2018java\u2019: No such file or directory")
    else:
        hz = re.search(r"-Dhazelcast\.config=(\S+)", script)
        hz_path = hz.group(1).replace("$BASEDIR", base).replace("${BASEDIR}", base) if hz else f"{base}/conf/hazelcast.xml"
        problem = _hazelcast_problem(c, hz_path)
        if problem:
            lines.append(f"com.hazelcast.core.HazelcastException: {problem}")
        elif "<password>" in script:
            lines.append("training host: the connection line still holds the placeholder <password>")
    c.fs.makedirs("/var/log")
    node = c.fs.nodes.get(logf) or Node("f", b"", 0o644)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    body = [f"{stamp} training host: {name} started (simulated)"] + [f"{stamp} {x}" for x in lines]
    node.data += raw("\n".join(body) + "\n")
    c.fs.put(logf, node)
    dies = any(not x.startswith("training host") for x in lines)
    return True, dies, None


def run_init_script(c: Cmd, name: str, args: list[str], *, via_service: bool = False) -> int:
    """/etc/init.d/NAME ACTION: the script's own behaviour, as far as the wizard meets it."""
    node = _init_script(c, name)
    script = text(node.data)
    first = script.split("\n", 1)[0]
    if first.startswith("#!") and first.endswith("\r"):
        if via_service:
            c.err(f"env: {INIT_DIR}/{name}: No such file or directory")
        else:
            c.err(f"bash: /etc/init.d/{name}: {first[2:-1].strip()}^M: bad interpreter: No such file or directory")
        c.err("[training host] the script has Windows (CRLF) line endings")
        return 127 if via_service else 126
    known = set(re.findall(r"^\s*([a-z|-]+)\)", script, re.M))
    actions = {a for k in known for a in k.split("|")} or {"start", "stop", "restart", "status", "reload"}
    action = args[0] if args else ""
    if action not in actions or action == "*":
        usage = re.search(r'Usage: \$0 (\{[^}]*\})', script)
        c.out(f"Usage: /etc/init.d/{name} {usage.group(1) if usage else '{start|stop|status|restart}'}")
        return 2
    st = _svc(c, name)

    def line(msg: str, ok: bool) -> None:
        c.out(f"{msg:<60}[{'  OK  ' if ok else 'FAILED'}]")

    if action == "status":
        if st.get("running"):
            c.out(f"{name} (pid  {c.host.state['pids'].get(name, 1234)}) is running...")
            return 0
        if st.get("dead"):
            c.out(f"{name} dead but pid file exists")
            return 1
        c.out(f"{name} is stopped")
        return 3
    _need_root(c, f"{name}: Permission denied (run as root)", 4)
    if action in ("stop", "restart", "condrestart", "try-restart", "force-reload", "reload"):
        if action in ("condrestart", "try-restart") and not st.get("running"):
            return 0
        if action != "reload" or name != "jtel-clientmessenger":
            line(f"Stopping {name}: ", True)
            _set_running(c, name, False)
        if action == "stop":
            return 0
    if action in ("start", "restart", "condrestart", "try-restart", "reload", "force-reload"):
        if st.get("running") and "is already running" in script and action == "start":
            c.out(f"{name} is already running")
            return 0
        ok, msgs = _validate(c, name)
        if not ok:
            for m in msgs:
                c.err(m)
            line(f"Starting {name}: ", False)
            return 1
        dies = False
        if name == "jtel-clientmessenger":
            started, dies, msg = _cm_start(c, name, script)
            if not started:
                c.out(f"Starting {name}: ", end="")
                c.err(msg)
                return 1
        elif name == "PlatformUDPListener":
            dies = _hazelcast_problem(c, "/home/jtel/shared/hazelcast.xml") is not None
        line(f"Starting {name}: ", True)
        _set_running(c, name, not dies, dead=dies)
        if dies:
            _journal(c, name, [f"{name} exited right after start (see /var/log/{name}.log)"])
    return 0


LSB = ("start", "stop", "restart", "try-restart", "reload", "force-reload", "status", "condrestart")


@command("service", path="/usr/sbin")
def _service(c: Cmd) -> int:
    args = c.args
    if not args or args[0] in ("--help", "-h"):
        c.out("Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]")
        return 1
    if args[0] == "--status-all":
        for n, st in sorted(c.host.state["services"].items()):
            c.out(f"{n} is {'running...' if st.get('running') else 'stopped'}")
        return 0
    name, action = args[0], (args[1] if len(args) > 1 else "")
    if name == "iptables" and action == "save":
        saved = centos.service_iptables_save(c.host.state, c, c.root, el(c))
        c.fs.makedirs("/etc/sysconfig")
        c.fs.put("/etc/sysconfig/iptables", Node("f", raw(saved), 0o600))
        return 0
    if el(c) == "6":                        # CentOS 6: /sbin/service hands everything to the init script
        node = _init_script(c, name)
        if node is None or not c.fs.allowed(node, "root", "x"):
            c.out(f"{name}: unrecognized service")
            return 1
        return run_init_script(c, name, [action] + list(args[2:]), via_service=True)
    if action not in LSB:
        c.fail("The service command supports only basic LSB actions (start, stop, restart, try-restart, reload, "
               "force-reload, status). For other actions, please try to use systemctl.", 2)
    node = _init_script(c, name)
    if node is not None and c.fs.allowed(node, "root", "x"):
        return run_init_script(c, name, [action], via_service=True)
    c.err(f"Redirecting to /bin/systemctl {action} {name}.service")
    return _systemctl(c, [action, name])


def _systemctl(c: Cmd, args: list[str]) -> int:
    quiet = any(a in ("-q", "--quiet") for a in args)
    now = "--now" in args
    words = [a for a in args if not a.startswith("-")]
    if not words:
        words = ["list-units"]
    verb, units = words[0], [re.sub(r"\.service$", "", u) for u in words[1:]]
    services = c.host.state["services"]
    if verb in ("daemon-reload", "daemon-reexec", "reset-failed"):
        _need_root(c, "Failed to execute operation: Access denied")
        return 0
    if verb in ("list-unit-files", "list-units"):
        for n, st in sorted(services.items()):
            c.out(f"{n + '.service':<40} " + (("enabled" if st.get("enabled") else "disabled")
                                              if verb == "list-unit-files" else
                                              "loaded " + ("active running" if st.get("running") else
                                                           "failed failed" if st.get("dead") else "inactive dead")))
        return 0
    rc = 0
    for n in units:
        script = _init_script(c, n)
        sysv = script is not None and bool(script.mode & 0o100)   # the generator skips non-executables
        known = sysv or _unit(c, n) is not None
        st = services.get(n, {})
        if verb == "is-active":
            state = "active" if known and st.get("running") else "failed" if st.get("dead") else (
                "inactive" if known else "unknown")
            if not quiet:
                c.out(state)
            rc = rc or (0 if state == "active" else 3)
            continue
        if verb == "is-enabled":
            if not known:
                c.err(f"Failed to get unit file state for {n}.service: No such file or directory")
                rc = 1
                continue
            if not quiet:
                c.out("enabled" if st.get("enabled") else "disabled")
            rc = rc or (0 if st.get("enabled") else 1)
            continue
        if verb == "status":
            if not known:
                c.out(f"Unit {n}.service could not be found.")
                rc = 4
                continue
            active = ("active (running)" if st.get("running") else "failed (Result: exit-code)"
                      if st.get("dead") else "inactive (dead)")
            where = _unit(c, n) or f"{INIT_DIR}/{n}; bad"
            c.out(f"\u25cf {n}.service - {n}\n   Loaded: loaded ({where}; "
                  f"{'enabled' if st.get('enabled') else 'disabled'}; vendor preset: disabled)\n   Active: {active}")
            if st.get("running"):
                c.out(f" Main PID: {c.host.state['pids'].get(n, 1234)} ({n})")
            for j in [x for x in c.host.state["journal"] if f" {n}[" in x][-10:]:
                c.out(j)
            rc = rc or (0 if st.get("running") else 3)
            continue
        if not c.root:
            c.err(f"Failed to {verb} {n}.service: Interactive authentication required.\n"
                  f"See system logs and 'systemctl status {n}.service' for details.")
            rc = 1
            continue
        if verb in ("enable", "disable"):
            if not known:
                c.err("Failed to execute operation: No such file or directory")
                rc = 1
                continue
            s = _svc(c, n)
            if sysv and _unit(c, n) is None:
                c.err(f"{n}.service is not a native service, redirecting to /sbin/chkconfig.\n"
                      f"Executing /sbin/chkconfig {n} {'on' if verb == 'enable' else 'off'}")
            elif verb == "enable" and not s["enabled"]:
                c.err(f"Created symlink from /etc/systemd/system/multi-user.target.wants/{n}.service to {_unit(c, n)}.")
            elif verb == "disable" and s["enabled"]:
                c.err(f"Removed symlink /etc/systemd/system/multi-user.target.wants/{n}.service.")
            s["enabled"] = verb == "enable"
            _changed(c)
            if now:
                rc = rc or _start(c, n, "start" if verb == "enable" else "stop", sysv)
            continue
        if verb in ("start", "stop", "restart", "reload", "try-restart", "reload-or-restart",
                    "condrestart", "force-reload"):
            if not known:
                c.err(f"Failed to {verb} {n}.service: Unit not found.")
                rc = 5
                continue
            rc = rc or _start(c, n, verb, sysv and _unit(c, n) is None)
            continue
        c.err(f"Unknown operation '{verb}'.")
        return 1
    return rc


def _start(c: Cmd, n: str, verb: str, sysv: bool) -> int:
    if sysv:
        buf_out, buf_err = c.io.out, c.io.err
        from .shell import Buffer
        c.io.out, c.io.err = Buffer(), Buffer()
        try:
            rc = run_init_script(c, n, [verb if verb != "reload-or-restart" else "restart"])
        finally:
            out, err = c.io.out.value(), c.io.err.value()
            c.io.out, c.io.err = buf_out, buf_err
        if rc:
            _journal(c, n, (out + err).splitlines())
            c.err(centos.JOB_FAILED % (n, n))
        return rc
    rc, msgs = centos.systemd_job(c.host.state, c, n, verb, lambda name: _validate(c, name),
                                  saved_rules=_saved_rules(c) if n == "iptables" else None)
    _changed(c)
    if rc and msgs:
        _journal(c, n, msgs)
        c.err("[training host] " + next((m for m in msgs if "ALERT" in m), msgs[-1]))
    return rc


@command("systemctl", path="/usr/bin")
def _systemctl_cmd(c: Cmd) -> int:
    return _systemctl(c, list(c.args))


@command("journalctl", path="/usr/bin")
def _journalctl(c: Cmd) -> int:
    args = list(c.args)
    unit, count = None, None
    while args:
        a = args.pop(0)
        if a in ("-u", "--unit"):
            unit = re.sub(r"\.service$", "", args.pop(0)) if args else None
        elif a.startswith("--unit="):
            unit = re.sub(r"\.service$", "", a.split("=", 1)[1])
        elif a == "-n":
            count = int(args.pop(0))
    lines = [x for x in c.host.state["journal"] if unit is None or f" {unit}[" in x]
    if count is not None:
        lines = lines[-count:]
    if not lines:
        c.out("-- No entries --")
    for x in lines:
        c.out(x)
    return 0


class _Files:
    """What chkconfig asks of the training host's files."""

    def __init__(self, c: Cmd):
        self.c = c

    def init_script(self, name: str) -> str | None:
        node = _init_script(self.c, name)
        return text(node.data) if node is not None else None

    def has_unit(self, name: str) -> bool:
        return _unit(self.c, name) is not None

    def sysv_names(self) -> list[str]:
        return [n for n in self.c.fs.children(INIT_DIR) if n != "functions" and not n.startswith(".")]

    def systemctl(self, args: list[str]) -> int:
        return _systemctl(self.c, args)


@command("chkconfig", path="/usr/sbin")
def _chkconfig(c: Cmd) -> int:
    before = copy.deepcopy(c.host.state["services"])
    try:
        return centos.chkconfig(c.host.state, c, list(c.args), c.root, el(c), _Files(c))
    finally:
        if c.host.state["services"] != before:
            _changed(c)


# -- firewalld and iptables: the CentOS model's ------------------------------------------------

def _zone_xml(zone: dict) -> bytes:
    body = "".join(f'  <service name="{s}"/>\n' for s in zone["services"])
    for p in zone["ports"]:
        port, proto = p.split("/")
        body += f'  <port protocol="{proto}" port="{port}"/>\n'
    body += "".join(f'  <rule>{r}</rule>\n' for r in zone.get("rich_rules", []))
    return raw('<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n'
               "  <description>For use in public areas.</description>\n" + body + "</zone>\n")


@command("firewall-cmd", path="/usr/bin", package="firewalld")
def _firewall_cmd(c: Cmd) -> int:
    before = copy.deepcopy(c.host.state["firewall"])
    try:
        return centos.firewall_cmd(c.host.state, c, list(c.args), c.root)
    finally:
        fw = c.host.state["firewall"]
        if fw != before:
            _changed(c)
            for zone, z in fw["permanent"].items():        # firewalld writes what it keeps
                if before["permanent"].get(zone) != z:
                    c.fs.makedirs("/etc/firewalld/zones")
                    c.fs.put(f"/etc/firewalld/zones/{zone}.xml", Node("f", _zone_xml(z), 0o644))


def _saved_rules(c: Cmd) -> str | None:
    node = c.fs.get("/etc/sysconfig/iptables")
    return text(node.data) if node is not None and node.kind == "f" else None


@command("iptables-save", path="/usr/sbin", package="iptables")
def _iptables_save(c: Cmd) -> int:
    return centos.iptables_save(c.host.state, c, c.root, el(c))


@command("iptables", path="/usr/sbin", package="iptables")
def _iptables(c: Cmd) -> int:
    before = copy.deepcopy(c.host.state["iptables"])
    try:
        return centos.iptables(c.host.state, c, list(c.args), c.root, el(c))
    finally:
        if c.host.state["iptables"] != before:
            _changed(c)


# -- haproxy -------------------------------------------------------------------------------------

def _haproxy_check(c: Cmd, path: str) -> tuple[bool, list[str], list[str]]:
    from .haproxy import check
    try:
        _, node = c.lookup(path)
    except Exception:
        node = None
    data = node.data if node is not None and node.kind == "f" else None
    return check(data, path, file_exists=lambda p: c.fs.get(c.abspath(p)) is not None,
                 resolves=lambda name: resolves(c, name))


def resolves(c: Cmd, name: str) -> bool:
    """Whether `name` resolves on the training host (/etc/hosts, its own names, the inventory)."""
    from .host import HOSTNAME
    if name in ("localhost", HOSTNAME) or name in c.host.known_names:
        return True
    hosts = c.fs.get("/etc/hosts")
    if hosts is not None:
        for line in text(hosts.data).splitlines():
            words = line.split("#", 1)[0].split()
            if name in words[1:]:
                return True
    return False


@command("haproxy", path="/usr/sbin", package="haproxy")
def _haproxy(c: Cmd) -> int:
    args = list(c.args)
    if "-v" in args or "-vv" in args or "-V" in args and not args[1:]:
        c.out("HA-Proxy version 1.5.18 2016/05/10\nCopyright 2000-2016 Willy Tarreau <willy@haproxy.org>")
        return 0
    files = [args[k + 1] for k, a in enumerate(args) if a == "-f" and k + 1 < len(args)]
    if "-c" not in args:
        c.fail("training host: only `haproxy -c -f FILE` (configuration check) and `haproxy -v` are simulated", 1)
    if not files:
        c.fail("[ALERT] 000/000000 (4242) : No configuration file specified.", 1)
    quiet = "-q" in args
    ok_all = True
    for f in files:
        ok, out, err = _haproxy_check(c, f)
        ok_all = ok_all and ok
        for line in err:
            c.err(line)
        if not quiet:
            for line in out:
                c.out(line)
    return 0 if ok_all else 1


# -- the portal's update scripts -----------------------------------------------------------------

def _portal_script(c: Cmd, what: str) -> int:
    _need_root(c, f"{c.name}: must be run as root")
    from .. import masking
    c.host.state["runs"].append({"script": c.name, "t": round(time.time(), 3),
                                 "args": [masking.mask(a) for a in c.args]})
    _changed(c)
    faults = c.host.state.get("faults", {})
    if faults.get(c.name, 0) > 0:           # the failing-step scenario: busy once, then fine
        faults[c.name] -= 1
        c.host.state["runs"][-1]["rc"] = 1
        _changed(c)
        c.out(f"{c.name}: updating the jtel {what} from /home/jtel/shared")
        c.err(f"{c.name}: another update is running (lock /var/run/{c.name}.lock held by pid 4711); "
              "try again when it has finished")
        return 1
    c.out(f"{c.name}: updating the jtel {what} from /home/jtel/shared")
    problem = _hazelcast_problem(c, "/home/jtel/shared/hazelcast.xml")
    if problem:
        c.err(f"[training host] warning: the cluster configuration would not load: {problem}")
    c.out(f"{c.name}: done (training host: simulated, recorded)")
    return 0


@command("updatepl.sh", path=None)
def _updatepl(c: Cmd) -> int:
    return _portal_script(c, "platform (DATA)")


@command("updatejb.sh", path=None)
def _updatejb(c: Cmd) -> int:
    return _portal_script(c, "web server (WEB)")
