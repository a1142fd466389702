"""One model of the CentOS 6.10 / 7.9 administration state the wizard meets: installed
packages (rpm/yum), services (chkconfig/service/systemctl), firewalld (permanent and
runtime layers, reload) and iptables (tables, chains, `-S`, `-I` positions, save/restore).

Pure: a JSON-able state dict and the operations on it. What a command prints goes to an
`io` object with `out(s, end="\\n")`, `err(s, end="\\n")` and `fail(msg, rc)` (which raises);
files are the caller's business (the iptables save text is handed out and back in).
Two hosts use it: the training host (wizard.training, in memory) and the test hosts'
recording stand-ins (tests/testhost/shim/thshim.py, inside the host with the system
python3). So it imports nothing but the standard library, and nothing of wizard/.
"""
import copy
import fnmatch
import re
import shlex
import time

# -- packages ------------------------------------------------------------------------------------

NOARCH = {"epel-release", "centos-release"}
# what `yum install NAME` finds in the CentOS repositories (and the base system's versions)
PKG_VERSIONS = {
    "6": {"haproxy": "1.5.18-1.el6", "epel-release": "6-8",
          "centos-release": "6-10.el6.centos.12.3", "python": "2.6.6-68.el6_10",
          "iptables": "1.4.7-19.el6", "openssh-server": "5.3p1-124.el6_10",
          "java-1.8.0-openjdk": "1.8.0.412.b08-1.el6_10",
          "java-1.8.0-openjdk-headless": "1.8.0.412.b08-1.el6_10",
          "java-1.8.0-openjdk-devel": "1.8.0.412.b08-1.el6_10",
          "yum": "3.2.29-81.el6.centos", "initscripts": "9.03.61-1.el6.centos"},
    "7": {"haproxy": "1.5.18-9.el7_9.1", "epel-release": "7-14",
          "centos-release": "7-9.2009.1.el7.centos", "python": "2.7.5-90.el7",
          "iptables": "1.4.21-35.el7", "iptables-services": "1.4.21-35.el7",
          "openssh-server": "7.4p1-21.el7",
          "java-1.8.0-openjdk": "1.8.0.412.b08-1.el7_9",
          "java-1.8.0-openjdk-headless": "1.8.0.412.b08-1.el7_9",
          "java-1.8.0-openjdk-devel": "1.8.0.412.b08-1.el7_9",
          "java-11-openjdk": "11.0.23.0.9-2.el7_9",
          "firewalld": "0.6.3-13.el7_9", "yum": "3.4.3-168.el7.centos",
          "systemd": "219-78.el7_9.9", "initscripts": "9.49.53-1.el7_9.1",
          "telnet": "0.17-66.el7", "nmap-ncat": "6.40-19.el7", "net-tools": "2.0-0.25.20131004git.el7",
          "lsof": "4.87-6.el7", "wget": "1.14-18.el7_6.1", "unzip": "6.0-24.el7_9",
          "httpd": "2.4.6-99.el7.centos.1", "mariadb": "5.5.68-1.el7"},
}
# not in any CentOS repository: Oracle's JDK comes as a downloaded .rpm file or URL
NOT_IN_REPOS = {"jdk", "jdk1.8", "jre", "jre1.8", "oracle-java8"}
# packages whose install brings a service (a unit file on 7, an init script on 6)
SERVICE_PKGS = {"haproxy": "haproxy", "httpd": "httpd", "nginx": "nginx",
                "keepalived": "keepalived", "iptables-services": "iptables",
                "firewalld": "firewalld", "rsyslog": "rsyslog", "crontabs": "crond",
                "ntp": "ntpd", "chrony": "chronyd"}
JAVA_PKGS = ("jdk1.8", "java-1.8.0-openjdk", "java-1.8.0-openjdk-headless",
             "java-1.8.0-openjdk-devel", "java-11-openjdk")


def arch(name):
    return "noarch" if name in NOARCH else "x86_64"


def repo_version(el, name):
    """The version `yum install NAME` brings, or None (not in the repositories)."""
    if name in NOT_IN_REPOS or re.match(r"^(jdk|jre)1\.8\.0_\d+$", name):
        return None
    return PKG_VERSIONS[el].get(name)


def epoch(name):
    return "2000" if re.match(r"^jdk1\.8", name) else "0"


def pkg_name(spec):
    """'haproxy.x86_64', 'foo-1.2-3.el7.noarch.rpm', a URL -> the bare package name."""
    if spec.endswith(".rpm"):
        return rpm_file_info(spec, "7")[0]
    return re.sub(r"\.(x86_64|noarch|i686|i386)$", "", spec.rsplit("/", 1)[-1])


def rpm_file_info(spec, el):
    """(name, version-release, epoch) of the rpm file (path or URL) named like spec."""
    base = spec.rsplit("/", 1)[-1]
    m = re.match(r"^jdk-8u(\d+)-linux-(x64|i586)\.rpm$", base)
    if m:  # Oracle JDK 8: jdk1.8 since 8u151 (jdk1.8.0_NNN before)
        u = int(m.group(1))
        return ("jdk1.8" if u >= 151 else "jdk1.8.0_%d" % u), "1.8.0_%d-fcs" % u, "2000"
    m = re.match(r"^(.+)-([^-]+)-([^-]+)\.(x86_64|noarch|i686|i386)\.rpm$", base)
    if m:
        return m.group(1), "%s-%s" % (m.group(2), m.group(3)), "0"
    s = re.sub(r"\.(x86_64|noarch|i686|i386)$", "", base[:-4] if base.endswith(".rpm") else base)
    m = re.match(r"^(.*?)-(latest|\d[^-]*)(-[^-]+)*$", s)
    n = m.group(1) if m else s
    return n, PKG_VERSIONS[el].get(n, "1.0-1.el%s" % el), "0"


def nvra(state, name):
    return "%s-%s.%s" % (name, state["packages"][name], arch(name))


def pkg_matches(state, name, query):
    """rpm -q NAME, NAME.ARCH, NAME-VERSION, NAME-VERSION-RELEASE(.ARCH)."""
    full = "%s-%s" % (name, state["packages"][name])
    return query in (name, full, full + "." + arch(name), name + "." + arch(name),
                     "%s-%s" % (name, state["packages"][name].split("-")[0]))


def rpm_query(state, io, names, fmt, end="\n"):
    """rpm -q NAMES: per name fmt(name) + end, or 'package X is not installed'; the exit
    code is the number of names not installed."""
    missing = 0
    for q in names:
        n = next((p for p in state["packages"] if pkg_matches(state, p, q)), None)
        if n is None:
            io.out("package %s is not installed" % q)
            missing += 1
        else:
            io.out(fmt(n), end=end)
    return min(missing, 255)


YUM_TAKES_VALUE = {"-d", "-e", "-c", "-R", "-x", "--exclude", "--enablerepo", "--disablerepo",
                   "--setopt", "--installroot", "--releasever", "--disableplugin",
                   "--enableplugin"}


def yum_args(args):
    """(assume_yes, quiet, words) of a yum command line."""
    assume_yes = quiet = False
    words, args = [], list(args)
    while args:
        a = args.pop(0)
        if a in ("-y", "--assumeyes", "-yq", "-qy"):
            assume_yes = True
        if a in ("-q", "--quiet", "-yq", "-qy"):
            quiet = True
        elif a in YUM_TAKES_VALUE and args:
            args.pop(0)
        elif not a.startswith("-"):
            words.append(a)
    return assume_yes, quiet, words


def yum_query(state, io, el, sub, names):
    """yum list / repolist / clean / makecache and the other read-only subcommands; None
    when `sub` is not one of them."""
    pk = state["packages"]
    if sub == "list":
        which = names[0] if names and names[0] in ("installed", "available", "all", "updates") else "all"
        names = names[1:] if which != "all" or names[:1] == ["all"] else names
        hits = sorted(n for n in pk if not names or any(fnmatch.fnmatch(n, g) for g in names))
        if which in ("available", "updates") or not hits:
            io.fail("Error: No matching Packages to list", 1)
        io.out("Installed Packages")
        for n in hits:
            io.out("%-40s %-30s @base" % (n + "." + arch(n), pk[n]))
        return 0
    if sub == "repolist":
        io.out("repo id            repo name                              status\n"
               "base/%s/x86_64      CentOS-%s - Base                        10,072\n"
               "repolist: 10,072" % (el, el))
    elif sub == "clean":
        io.out("Cleaning repos: base extras updates")
    elif sub == "makecache":
        io.out("Metadata Cache Created")
    elif sub not in ("check-update", "search", "info", "provides", "whatprovides", "history",
                     "deplist", "versionlock"):
        return None
    return 0


# -- services ------------------------------------------------------------------------------------

def svc(state, name):
    return state["services"].setdefault(name, {"enabled": False, "running": False})


def set_running(state, name, running, dead=False, saved_rules=None):
    """A service starts or stops. firewalld starts from its permanent configuration;
    iptables starts from /etc/sysconfig/iptables (`saved_rules`: its text, or None); on 7
    the two units conflict, so starting one stops the other."""
    s = svc(state, name)
    s["running"], s["dead"] = running, dead
    pids = state.setdefault("pids", {})
    if not running:
        pids.pop(name, None)
        return
    pids.setdefault(name, 1000 + 37 * (len(pids) + 3))
    other = {"iptables": "firewalld", "firewalld": "iptables"}.get(name)
    if state.get("el", "7") == "7" and other and state["services"].get(other, {}).get("running"):
        set_running(state, other, False)
    if name == "firewalld":
        fw = state["firewall"]
        fw["runtime"] = copy.deepcopy(fw["permanent"])
    if name == "iptables" and saved_rules is not None:
        iptables_load(state, saved_rules)


def chk_levels(state, name):
    """`chkconfig --list NAME`'s columns: on in 2-5 when enabled."""
    on = state["services"].get(name, {}).get("enabled")
    return "\t".join("%d:%s" % (k, "on" if on and 2 <= k <= 5 else "off") for k in range(7))


JOB_FAILED = ("Job for %s.service failed because the control process exited with error code. "
              'See "systemctl status %s.service" and "journalctl -xe" for details.')


def systemd_job(state, io, name, verb, check, saved_rules=None):
    """systemctl VERB NAME for a native unit: (exit code, what `check(name)` -> (ok, lines)
    said when the start failed). A failed start leaves the unit failed ("dead"); a failed
    reload leaves it running with the old configuration."""
    if verb == "stop":
        set_running(state, name, False)
        return 0, []
    running = svc(state, name)["running"]
    if verb in ("try-restart", "condrestart") and not running:
        return 0, []
    if verb == "reload" and not running:
        io.err("Job for %s.service invalid." % name)
        return 1, []
    ok, lines = check(name)
    if not ok:
        io.err(JOB_FAILED % (name, name))
        if verb not in ("reload", "force-reload"):
            set_running(state, name, False, dead=True)
        return 1, lines
    set_running(state, name, True, saved_rules=saved_rules)
    return 0, []


CHKCONFIG_USAGE = "usage: chkconfig [--list] [--type <type>] [name]"
SYSV_NOTE = ("\nNote: This output shows SysV services only and does not include native\n"
             "      systemd services. SysV configuration data might be overridden by native\n"
             "      systemd configuration.\n\n      If you want to list systemd services use "
             "'systemctl list-unit-files'.\n      To see services enabled on particular target use\n"
             "      'systemctl list-dependencies [target]'.\n")


def chkconfig(state, io, args, root, el, host):
    """chkconfig ARGS. `host` answers about files: .init_script(name) -> its text or None,
    .has_unit(name), .sysv_names(), .systemctl(args) -> exit code (7 forwards units)."""
    def no_info(n):
        io.fail("error reading information on service %s: No such file or directory" % n, 1)

    if not args or args[0] == "--list":
        names = args[1:2] if len(args) > 1 else sorted(host.sysv_names())
        if el == "7" and len(args) < 2:
            io.out(SYSV_NOTE)
        for n in names:
            if host.init_script(n) is None:
                no_info(n)
            st = state["services"].get(n)
            if st is None or not st.get("added", st.get("enabled")):
                if len(args) > 1:
                    io.fail("service %s supports chkconfig, but is not referenced in any "
                            "runlevel (run 'chkconfig --add %s')" % (n, n), 1)
                continue
            io.out("%-15s\t%s" % (n, chk_levels(state, n)))
        return 0
    if not root:
        io.fail("You do not have enough privileges to perform this operation.", 1)
    if args[0] in ("--add", "--del"):
        if len(args) < 2:
            io.fail(CHKCONFIG_USAGE, 2)
        script = host.init_script(args[1])
        if script is None:
            no_info(args[1])
        st = svc(state, args[1])
        m = re.search(r"#\s*chkconfig:\s*(\S+)", script)
        st["added"] = args[0] == "--add"
        st["enabled"] = st["added"] and (bool(m and m.group(1) != "-") or st.get("enabled", False))
        return 0
    if args[0] == "--level":
        args = args[2:]
    n = args[0]
    if len(args) == 1:
        return 0 if state["services"].get(n, {}).get("enabled") else 1
    action = args[1]
    if host.init_script(n) is None:
        if el == "7" and host.has_unit(n):
            verb = "enable" if action == "on" else "disable"
            io.err("Note: Forwarding request to 'systemctl %s %s.service'." % (verb, n))
            return host.systemctl([verb, n])
        no_info(n)
    if action not in ("on", "off", "reset"):
        io.fail(CHKCONFIG_USAGE, 2)
    st = svc(state, n)
    st["added"], st["enabled"] = True, action == "on"
    return 0


# -- firewalld -----------------------------------------------------------------------------------

FW_SERVICES = {"ssh", "http", "https", "dhcpv6-client", "mysql", "postgresql", "ntp", "dns",
               "smtp", "ftp", "samba", "nfs", "high-availability", "squid", "redis", "snmp",
               "ldap", "ldaps", "kerberos", "vnc-server"}
FW_ZONES = ["block", "dmz", "drop", "external", "home", "internal", "public", "trusted", "work"]
FW_INVALID = {"port": 103, "zone": 112, "service": 101}
NOT_RUNNING = 252


def new_zone(services=("dhcpv6-client", "ssh"), ports=()):
    return {"services": list(services), "ports": list(ports), "rich_rules": []}


def _port(io, p):
    m = re.match(r"^(\d+)(?:-(\d+))?/(tcp|udp|sctp|dccp)$", p)
    if not m or not 0 < int(m.group(1)) < 65536 or (
            m.group(2) and not int(m.group(1)) <= int(m.group(2)) < 65536):
        io.fail("Error: INVALID_PORT: %s" % p, FW_INVALID["port"])
    return p


def firewall_cmd(state, io, args, root):
    """firewall-cmd ARGS; the exit code (io.fail raises for errors). Every option but
    --state and --version needs a running firewalld, --permanent ones too (firewall-cmd
    talks to the daemon over D-Bus; firewall-offline-cmd is another tool)."""
    fw = state["firewall"]
    permanent = "--permanent" in args
    quiet = "-q" in args or "--quiet" in args
    zone = fw["default_zone"]
    for a in args:
        if a.startswith("--zone="):
            zone = a.split("=", 1)[1]
    if "--version" in args:
        io.out("0.6.3")
        return 0
    running = state["services"].get("firewalld", {}).get("running", False)
    if "--state" in args:
        io.out("running" if running else "not running")
        return 0 if running else NOT_RUNNING
    if not running:
        io.fail("FirewallD is not running", NOT_RUNNING)
    if not root:
        io.fail("Authorization failed.\n    Make sure polkit agent is running or run the "
                "application as superuser.", NOT_RUNNING)
    if zone not in FW_ZONES:
        io.fail("Error: INVALID_ZONE: %s" % zone, FW_INVALID["zone"])
    z = fw["permanent" if permanent else "runtime"].setdefault(zone, new_zone((), ()))
    actions = [a for a in args if a not in ("--permanent", "-q", "--quiet")
               and not a.startswith("--zone=")]
    if not actions:
        io.fail("usage: see firewall-cmd man page\nNo option specified.", 2)
    success, rc = False, 0
    for a in actions:
        key, _, val = a.partition("=")
        if key in ("--reload", "--complete-reload"):
            fw["runtime"] = copy.deepcopy(fw["permanent"])
            success = True
        elif key == "--runtime-to-permanent":
            fw["permanent"] = copy.deepcopy(fw["runtime"])
            success = True
        elif key == "--get-default-zone":
            io.out(fw["default_zone"])
        elif key == "--set-default-zone":
            fw["default_zone"] = val
            success = True
        elif key == "--get-zones":
            io.out(" ".join(FW_ZONES))
        elif key == "--get-active-zones":
            io.out("%s\n  interfaces: eth0" % fw["default_zone"])
        elif key[:6] in ("--add-", "--remo", "--quer"):
            what = key.split("-", 3)[-1]             # port, service, rich-rule
            items = {"port": "ports", "service": "services", "rich-rule": "rich_rules"}.get(what)
            if items is None:
                io.fail("usage: see firewall-cmd man page\nfirewall-cmd: error: unrecognized "
                        "arguments: %s" % a, 2)
            if what == "port":
                _port(io, val)
            elif what == "service" and val not in FW_SERVICES:
                io.fail("Error: INVALID_SERVICE: %s" % val, FW_INVALID["service"])
            have = val in z[items]
            shown = val.replace("/", ":") if what == "port" else val
            if key.startswith("--query-"):
                if not quiet:
                    io.out("yes" if have else "no")
                rc = rc or (0 if have else 1)
                continue
            if key.startswith("--add-"):
                io.err("Warning: ALREADY_ENABLED: %s" % shown) if have else z[items].append(val)
            else:
                io.err("Warning: NOT_ENABLED: %s" % shown) if not have else z[items].remove(val)
            success = True
        elif key in ("--list-ports", "--list-services"):
            io.out(" ".join(z[key[7:]]))
        elif key == "--list-rich-rules":
            for r in z["rich_rules"]:
                io.out(r)
        elif key == "--list-all":
            io.out("%s%s\n  target: default\n  icmp-block-inversion: no\n  interfaces: %s\n"
                   "  sources: \n  services: %s\n  ports: %s\n  protocols: \n  masquerade: no\n"
                   "  forward-ports: \n  source-ports: \n  icmp-blocks: \n  rich rules: \n%s" % (
                       zone, " (active)" if zone == fw["default_zone"] and not permanent else "",
                       "eth0" if zone == fw["default_zone"] else "", " ".join(z["services"]),
                       " ".join(z["ports"]), "".join("\t%s\n" % r for r in z["rich_rules"])),
                   end="")
        else:
            io.fail("usage: see firewall-cmd man page\nfirewall-cmd: error: unrecognized "
                    "arguments: %s" % a, 2)
    if success and not quiet:
        io.out("success")
    return rc


# -- iptables ------------------------------------------------------------------------------------

IPT_TABLES = {"filter": ["INPUT", "FORWARD", "OUTPUT"],
              "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
              "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
              "raw": ["PREROUTING", "OUTPUT"]}
CENTOS6_INPUT = ["-m state --state RELATED,ESTABLISHED -j ACCEPT", "-p icmp -j ACCEPT",
                 "-i lo -j ACCEPT", "-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT",
                 "-j REJECT --reject-with icmp-host-prohibited"]
CENTOS6_FORWARD = ["-j REJECT --reject-with icmp-host-prohibited"]
IPT_LONG = {"--protocol": "-p", "--source": "-s", "--src": "-s", "--destination": "-d",
            "--dst": "-d", "--jump": "-j", "--goto": "-g", "--in-interface": "-i",
            "--out-interface": "-o", "--match": "-m", "--fragment": "-f",
            "--destination-port": "--dport", "--source-port": "--sport",
            "--destination-ports": "--dports", "--source-ports": "--sports"}
IPT_COMMANDS = {"append": "A", "check": "C", "delete": "D", "insert": "I", "replace": "R",
                "list": "L", "list-rules": "S", "flush": "F", "new-chain": "N",
                "delete-chain": "X", "policy": "P", "zero": "Z", "rename-chain": "E"}
PORT_NAMES = {"ssh": "22", "http": "80", "https": "443", "smtp": "25", "domain": "53",
              "mysql": "3306", "ftp": "21"}


def iptables_version(el):
    return "v1.4.7" if el == "6" else "v1.4.21"


def new_iptables(el, rules=None):
    """Empty tables with ACCEPT policies; `rules` {chain: [rule text]} for filter (default:
    what CentOS 6 ships; CentOS 7 runs firewalld and starts with empty chains)."""
    ipt = {t: {"policy": {c: "ACCEPT" for c in chains}, "rules": {c: [] for c in chains}}
           for t, chains in IPT_TABLES.items()}
    if el == "6":
        for part in ("policy", "rules"):
            ipt["nat"][part].pop("INPUT")            # 2.6.32: no nat INPUT chain
        rules = {"INPUT": CENTOS6_INPUT, "FORWARD": CENTOS6_FORWARD} if rules is None else rules
    for chain, texts in (rules or {}).items():
        ipt["filter"]["rules"][chain] = [shlex.split(r) for r in texts]
    return ipt


def rule_key(tokens):
    """Canonical, order-insensitive form of a rule for -C/-D matching."""
    groups, cur, neg = [], None, False
    for t in tokens:
        if t == "!":
            neg = True
            continue
        if t.startswith("-") and not re.match(r"^-\d", t):
            t = IPT_LONG.get(t, t)
            cur = ["!" + t if neg else t]
            groups.append(cur)
            neg = False
        elif cur is not None:
            opt = cur[0].lstrip("!")
            if opt in ("-s", "-d") and "/" not in t and re.match(r"^[\d.]+$", t):
                t += "/32"
            if opt in ("--dport", "--sport"):
                t = PORT_NAMES.get(t, t)
            cur.append(t.lower() if opt in ("-p", "-m") else t)
    return sorted(tuple(g) for g in groups     # the implicit match -p adds is not a difference
                  if not (g[0] == "-m" and len(g) == 2 and g[1] in ("tcp", "udp", "icmp")))


def _ipt_parse(io, args, el):
    """(table, flags, command letter, its arguments, rule tokens) of an iptables call."""
    ver = iptables_version(el)
    usage = "\nTry `iptables -h' or 'iptables --help' for more information."
    table, flags, cmd, cmd_args, rule = "filter", set(), None, [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-t", "--table"):
            table, i = (args[i + 1] if i + 1 < len(args) else ""), i + 2
            continue
        if a in ("-w", "--wait"):
            if el == "6":                               # 1.4.7 has no -w
                io.fail("iptables %s: unknown option `%s'%s" % (ver, a, usage), 2)
            i += 2 if i + 1 < len(args) and args[i + 1].isdigit() else 1
            continue
        if a in ("-n", "--numeric", "-v", "--verbose", "--line-numbers", "-x", "--exact"):
            flags.add(a)
            i += 1
            continue
        m = re.match(r"^-([ACDIRLSFNXPZE])$", a) or re.match(
            r"^--(%s)$" % "|".join(IPT_COMMANDS), a)
        if m and cmd is None:
            if m.group(1) in ("C", "check") and el == "6":               # 1.4.7 has no -C
                io.fail("iptables %s: unknown option `%s'%s" % (ver, a, usage), 2)
            cmd = IPT_COMMANDS.get(m.group(1), m.group(1))
            i += 1
            limit = 2 if cmd in ("I", "R", "D", "P", "E") else 1
            while i < len(args) and not args[i].startswith("-") and len(cmd_args) < limit:
                if cmd_args and cmd in ("I", "D") and not args[i].isdigit():
                    break
                cmd_args.append(args[i])
                i += 1
            continue
        rule.append(a)
        i += 1
    if cmd is None:
        io.fail("iptables %s: no command specified%s" % (ver, usage), 2)
    if cmd in ("A", "I", "C", "R") and not rule:
        io.fail("iptables %s: -%s requires a rule%s" % (ver, cmd, usage), 2)
    return table, flags, cmd, cmd_args, rule


def iptables(state, io, args, root, el):
    """iptables ARGS on the state's tables; the exit code (io.fail raises for errors)."""
    ver = iptables_version(el)
    if args and args[0] in ("-V", "--version"):
        io.out("iptables %s" % ver)
        return 0
    table, flags, cmd, cmd_args, rule = _ipt_parse(io, args, el)
    kernel = "\nPerhaps iptables or your kernel needs to be upgraded."
    if not root:
        io.fail("iptables %s: can't initialize iptables table `%s': Permission denied (you "
                "must be root)%s" % (ver, table, kernel), 3)
    if table not in state["iptables"]:
        io.fail("iptables %s: can't initialize iptables table `%s': Table does not exist (do "
                "you need to insmod?)%s" % (ver, table, kernel), 3)
    t = state["iptables"][table]
    rules = t["rules"]
    chain = cmd_args[0] if cmd_args else None
    if chain and chain not in rules and cmd != "N":
        io.fail("iptables: No chain/target/match by that name.", 1)

    def position(what, room):
        pos = int(cmd_args[1]) if len(cmd_args) > 1 else 1
        if pos < 1 or pos > len(rules[chain]) + room:
            io.fail("iptables: Index of %s too big." % what, 1)
        return pos - 1

    if cmd == "A":
        rules[chain].append(rule)
    elif cmd == "I":
        rules[chain].insert(position("insertion", 1), rule)
    elif cmd == "R":
        rules[chain][position("replacement", 0)] = rule
    elif cmd == "D" and len(cmd_args) > 1:
        rules[chain].pop(position("deletion", 0))
    elif cmd in ("C", "D"):
        hit = [k for k, r in enumerate(rules[chain]) if rule_key(r) == rule_key(rule)]
        if not hit:
            io.fail("iptables: Bad rule (does a matching rule exist in that chain?).", 1)
        if cmd == "D":
            rules[chain].pop(hit[0])
    elif cmd == "N":
        if chain in rules:
            io.fail("iptables: Chain already exists.", 1)
        rules[chain] = []
    elif cmd == "E":
        rules[cmd_args[1]] = rules.pop(chain)
    elif cmd == "X":
        for c in ([chain] if chain else [c for c in rules if c not in t["policy"]]):
            if c in t["policy"]:
                io.fail("iptables: Invalid argument. Run `dmesg' for more information.", 1)
            rules.pop(c, None)
    elif cmd == "F":
        for c in ([chain] if chain else list(rules)):
            rules[c] = []
    elif cmd == "P":
        if chain not in t["policy"]:
            io.fail("iptables: Bad built-in chain name.", 1)
        t["policy"][chain] = cmd_args[1]
    elif cmd == "S":
        chains = [chain] if chain else list(rules)
        for c in chains:
            io.out("-P %s %s" % (c, t["policy"][c]) if c in t["policy"] else "-N %s" % c)
        for c in chains:
            for r in rules[c]:
                io.out("-A %s %s" % (c, " ".join(shlex.quote(x) for x in r)))
    elif cmd == "L":
        _ipt_list(io, t, [chain] if chain else list(rules), flags)
    return 0


def _ipt_list(io, t, chains, flags):
    anyw = "0.0.0.0/0" if "-n" in flags or "--numeric" in flags else "anywhere"
    ln = "--line-numbers" in flags
    for k, c in enumerate(chains):
        if k:
            io.out("")
        pol = t["policy"].get(c)
        io.out("Chain %s (%s)" % (c, "policy %s" % pol if pol else "0 references"))
        io.out(("num  " if ln else "") + "target     prot opt source               destination         ")
        for n, r in enumerate(t["rules"][c], 1):
            d, extra, j = {}, [], 0
            while j < len(r):
                o = IPT_LONG.get(r[j], r[j])
                if o in ("-j", "-p", "-s", "-d") and j + 1 < len(r):
                    d[o], j = r[j + 1], j + 2
                elif o == "--dport" and j + 1 < len(r):
                    extra.append(("dpts:%s" if ":" in r[j + 1] else "dpt:%s") % r[j + 1])
                    j += 2
                elif o == "-m" and j + 1 < len(r):
                    extra += [r[j + 1]] if r[j + 1] in ("tcp", "udp") else []
                    j += 2
                else:
                    extra.append(r[j].lstrip("-") if r[j].startswith("--") else r[j])
                    j += 1
            io.out(("%-4d " % n if ln else "") + ("%-10s %-4s --  %-20s %-20s %s" % (
                d.get("-j", ""), d.get("-p", "all"), d.get("-s", anyw), d.get("-d", anyw),
                " ".join(extra))).rstrip())


def iptables_save_text(state, el, now=None):
    """What iptables-save prints (and `service iptables save` writes)."""
    now = now or time.strftime("%a %b %d %H:%M:%S %Y")
    lines = []
    for name in ("filter", "nat", "mangle", "raw"):
        t = state["iptables"][name]
        if name != "filter" and not any(t["rules"].values()):
            continue
        lines += ["# Generated by iptables-save %s on %s" % (iptables_version(el), now), "*" + name]
        lines += [":%s %s [0:0]" % (c, t["policy"].get(c, "-")) for c in t["rules"]]
        lines += ["-A %s %s" % (c, " ".join(shlex.quote(x) for x in r))
                  for c, rs in t["rules"].items() for r in rs]
        lines += ["COMMIT", "# Completed on %s" % now]
    return "\n".join(lines) + "\n"


def iptables_load(state, text):
    """iptables-restore of a saved text: each table named in it is replaced."""
    cur = None
    for line in text.splitlines():
        if line.startswith("*"):
            cur = state["iptables"].get(line[1:].strip())
            if cur is not None:
                cur["rules"] = {c: [] for c in cur["rules"]}
        elif cur is not None and line.startswith(":"):
            c, pol = line[1:].split()[:2]
            cur["rules"].setdefault(c, [])
            if pol != "-":
                cur["policy"][c] = pol
        elif cur is not None and line.startswith("-A "):
            w = shlex.split(line)
            cur["rules"].setdefault(w[1], []).append(w[2:])


def iptables_save(state, io, root, el):
    """The iptables-save command."""
    if not root:
        io.fail("iptables-save %s: Cannot initialize: Permission denied (you must be root)"
                % iptables_version(el), 1)
    io.out(iptables_save_text(state, el), end="")
    return 0


def service_iptables_save(state, io, root, el):
    """`service iptables save`: the text to write to /etc/sysconfig/iptables (the caller
    writes it), or None after io.fail. On 7 only with iptables-services installed."""
    if el == "7" and "iptables-services" not in state["packages"]:
        io.fail("The service command supports only basic LSB actions (start, stop, restart, "
                "try-restart, reload, force-reload, status). For other actions, please try "
                "to use systemctl.", 2)
    if not root:
        io.fail("iptables: Permission denied", 4)
    io.out("%-60s[  OK  ]" % "iptables: Saving firewall rules to /etc/sysconfig/iptables:")
    return iptables_save_text(state, el)
