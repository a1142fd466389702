"""`chatwizard export pyinfra ANSWERS DIR`: the previewed plan as a pyinfra deploy.

Connects read-only, detects and plans exactly as `chatwizard plan` does, then writes

    DIR/inventory.py   the inventory, one group per role (chat, data, tel, web, lb)
    DIR/deploy.py      one block per planned action, in the plan's order
    DIR/files/HOST/    the planned content of every file (secrets as placeholders)
    DIR/README.md      how to run it, the secrets it reads, what it leaves to a person

so that a service provider runs the CHAT role with pyinfra (`pyinfra inventory.py
deploy.py`): its parallelism, inventory groups, CI. How each action maps:

- FileChange → ``install_file``: the content is checked against the host at prepare time
  (as planned, or already done; anything else stops the deploy), uploaded as a candidate
  with owner and mode, validated with the plan's check (haproxy -c, bash -n), the old file
  backed up, the candidate renamed over it. Hazelcast's XSD check is the planner's (the
  content is fixed: it was validated when it was planned).
- Command → ``server.shell`` with the planner's own check for it as a fact
  (firewall-cmd --query-port, rpm -q, chkconfig --list, service status, [ -e DIR ], …);
  a follow-up (updatepl.sh, a restart or reload) runs with ``_if`` on its file's operation.
- HttpRequest (TynTec) → ``python.call`` on the control machine while the webhooks differ.
- NoOp and Checklist → comments (a checklist is for a person, in README.md too).

A command the exporter knows no check for is refused (ExportError): without it a second
run would not be a no-op. Secrets are never written: the init script's password is a
placeholder the deploy fills from $CHATWIZARD_SECRET_<KEY> or the keyring.
"""
from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import masking
from .errors import WizardError
from .i18n import _
from .initscript import percent_encode
from .plan import Checklist, Command, FileChange, HttpRequest, NoOp, Plan, sha256

ROLE_GROUPS = {"CHAT": "chat", "DATA": "data", "TEL": "tel", "WEB": "web", "LB": "lb"}
# paramiko signs with SHA-2 RSA first; OpenSSH 5.3 (CentOS 6) knows only ssh-rsa (SHA-1)
CENTOS6_PARAMIKO = {"disabled_algorithms": {"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]}}
FOLLOW_UP_SECTIONS = ("hazelcast", "daemon", "load_balancer", "whatsapp")


class ExportError(WizardError):
    """The plan holds something the export cannot turn into an idempotent pyinfra deploy."""


@dataclass
class _HostState:
    """What the blocks written so far for one host and section hand to later blocks."""

    last_op: str | None = None          # the variable of the last changing operation
    file_op: str | None = None          # the last file operation (for follow-ups)
    fw_added: list[str] = field(default_factory=list)
    ipt_added: list[str] = field(default_factory=list)


class _Writer:
    def __init__(self, plan: Plan, answers, secrets: dict[str, str], out: Path):
        self.plan, self.answers, self.secrets, self.out = plan, answers, secrets, out
        self.lines: list[str] = []
        self.n = 0
        self.hosts = {h.name: h for h in answers.hosts}
        self.unmapped: list[str] = []
        self.checklists: list[str] = []
        self.chains = self._chains()

    # -- helpers -------------------------------------------------------------------------
    def var(self) -> str:
        self.n += 1
        return f"op{self.n}"

    def emit(self, line: str = "", indent: int = 0) -> None:
        self.lines.append("    " * indent + line if line else "")

    def _chains(self) -> dict[tuple[str, str], list[FileChange]]:
        out: dict[tuple[str, str], list[FileChange]] = {}
        for _section, hp, a in self.plan.actions():
            if isinstance(a, FileChange):
                out.setdefault((hp.host, a.path), []).append(a)
        return out

    def _placeholders(self, data: bytes) -> tuple[bytes, bool]:
        """`data` with every secret replaced by its placeholder (percent-encoded forms first)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data, False
        had = False
        for ref, value in sorted(self.secrets.items(), key=lambda kv: -len(kv[1])):
            if not value:
                continue
            key = ref[len("keyring:"):] if ref.startswith("keyring:") else ref
            for form, kind in ((percent_encode(value), "percent"), (value, "raw")):
                if form in text:
                    text = text.replace(form, f"@@chatwizard-secret:{key}:{kind}@@")
                    had = True
        return text.encode("utf-8"), had

    # -- actions ---------------------------------------------------------------------------
    def file(self, section: str, host: str, fc: FileChange, st: _HostState, idx: int) -> None:
        chain = self.chains[(host, fc.path)]
        index = chain.index(fc)
        data, secret = self._placeholders(fc.new)
        if secret and len(chain) > 1:
            raise ExportError(_("host {host}: {path} holds a secret and changes {n} times in the "
                                "plan; the export handles one such change per file").format(
                host=host, path=fc.path, n=len(chain)))
        rel = f"files/{host}/{idx:03d}-{fc.path.strip('/').replace('/', '_')}" + (".tmpl" if secret else "")
        dest = self.out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        shas = [sha256(chain[0].old), *(sha256(c.new) for c in chain)]
        if secret:   # a hash of secret-bearing content is not written either
            shas = [None, None]
        v = self.var()
        args = [f"path={fc.path!r}", f"src={rel!r}", f"index={index}", f"shas={shas!r}",
                f"mode=0o{fc.mode:o}", f"user={fc.owner!r}", f"group={fc.group!r}"]
        if fc.validate:
            args.append(f"validate={fc.validate!r}")
        if chain[0].base_unknown or secret:
            args.append("base_unknown=True")
        if secret:
            args.append("secrets=True")
        self.emit(f"{v} = install_file({_name(fc.description)},", 1)
        self.emit(", ".join(args) + ")", 5)
        st.file_op = st.last_op = v

    def command(self, section: str, host: str, cmd: Command, st: _HostState) -> None:
        c = cmd.command
        timeout = f", _timeout={int(cmd.timeout)}" if cmd.timeout else ""
        op = f"server.shell(name={_name(cmd.description)}, commands=[{c!r}]{timeout}"
        guard = self.guard(section, host, c)
        v = self.var()
        if guard is not None:
            self.emit(f"{v} = None", 1)
            self.emit(f"if not check({guard!r}):", 1)
            self.emit(f"{v} = {op})", 2)
            if c.startswith("firewall-cmd") and "--add-port=" in c:
                st.fw_added.append(v)
            if c.startswith("iptables "):
                st.ipt_added.append(v)
            st.last_op = v
            return
        if c == "firewall-cmd --reload":
            ports = self.ports(host)
            live = " && ".join(f"firewall-cmd --zone=public --query-port={p}/tcp" for p in ports)
            self.emit(f"if {' or '.join(st.fw_added) or 'False'} or not check({live!r}):", 1)
            self.emit(f"{op})", 2)
            return
        if c in ("service iptables save", "service iptables restart"):
            self.emit(f"if {' or '.join(st.ipt_added) or 'False'}:", 1)
            self.emit(f"{op})", 2)
            return
        after = st.file_op if section in FOLLOW_UP_SECTIONS else None
        if not cmd.changes and after is None:
            after = st.last_op
        if after is not None:
            self.emit(f"if {after}:", 1)
            self.emit(f"{v} = {op}, _if={after}.did_change)", 2)
            if not cmd.changes:
                return
            st.last_op = v
            return
        if not cmd.changes:
            self.emit(f"# (read-only check, nothing to gate it on: not run) $ {c}", 1)
            return
        raise ExportError(_("host {host}: section {section}: no check is known for `{command}`; "
                            "a second pyinfra run would repeat it").format(
            host=host, section=section, command=masking.mask(c)))

    def guard(self, section: str, host: str, c: str) -> str | None:
        """The planner's check that makes `c` unnecessary, as shell (exit 0 = done)."""
        q = shlex.quote
        m = re.fullmatch(r"yum -y install (\S+)", c)
        if m and section == "java":
            return ("rpm -q jdk1.8 || rpm -q jdk1.8.0_202 || rpm -q java-1.8.0-openjdk || "
                    "java -version 2>&1 | grep -q 'version \"1\\.8\\.'")
        m = re.fullmatch(r"mkdir -p (\S+) && cp -R (\S+)/\. (\S+)/", c)
        if m:
            return f"[ -e {m.group(1)} ]"
        m = re.fullmatch(r"chown -R (\S+) (\S+)", c)
        if m and section == "clientmessenger":
            user, _sep, group = shlex.split(m.group(1))[0].partition(":")
            d = m.group(2)
            return (f"[ -d {d} ] && [ -z \"$(find {d} \\( ! -user {q(user)} -o ! -group "
                    f"{q(group or user)} \\) -print -quit)\" ]")
        m = re.fullmatch(r"firewall-cmd --zone=public --add-port=(\S+) --permanent", c)
        if m:
            return f"firewall-cmd --permanent --zone=public --query-port={m.group(1)}"
        m = re.fullmatch(r"iptables -[IA] INPUT (?:\d+ )?(.+)", c)
        if m:
            return f"iptables -S INPUT | grep -qxF -- {q('-A INPUT ' + m.group(1))}"
        m = re.fullmatch(r"chkconfig (\S+) on", c)
        if m:
            s = shlex.split(m.group(1))[0]
            return (f"chkconfig --list {q(s)} 2>/dev/null | grep -Eq "
                    f"{q('^' + re.escape(s) + '[[:space:]].*[[:space:]]3:on([[:space:]]|$)')}")
        m = re.fullmatch(r"service (\S+) start", c)
        if m and section == "daemon":
            return f"service {m.group(1)} status"
        m = re.fullmatch(r"i=0; until \[ \"\$\(sha256sum < (\S+) 2>/dev/null \| cut -d' ' -f1\)\" = "
                         r"([0-9a-f]{64}) \]; do .*", c, re.S)
        if m:
            return f"[ \"$(sha256sum < {m.group(1)} 2>/dev/null | cut -d' ' -f1)\" = {m.group(2)} ]"
        return None

    def ports(self, host: str) -> list[str]:
        from .steps.firewall import ports_for
        return ports_for(self.hosts[host].roles, self.answers.section("portal")["scheme"])

    def http(self, req: HttpRequest, runner: str) -> None:
        if req.method != "PATCH" or not req.secret_headers:
            raise ExportError(_("no pyinfra form for {request}").format(request=f"{req.method} {req.url}"))
        (_header, ref), = req.secret_headers
        self.emit(f"if host.name == {runner!r}:   # from the control machine, once")
        self.emit(f"tyntec_webhooks({_name(req.description)}, url={req.url!r},", 1)
        self.emit(f"body={req.body!r}, key_ref={ref!r})", 4)

    # -- the whole deploy ------------------------------------------------------------------
    def deploy(self) -> str:
        idx = 0
        inventory = [h.name for h in self.answers.hosts]
        for sp in self.plan.sections:
            self.emit("")
            self.emit(f"# {'-' * 66}")
            self.emit(f"# {sp.title}")
            for note in sp.notes:
                self.emit(f"# note: {_comment(note)}")
            for hp in sp.hosts:
                real = hp.host in self.hosts
                st = _HostState()
                if real:
                    self.emit(f"if host.name == {hp.host!r}:")
                for a in hp.actions:
                    idx += 1
                    if isinstance(a, NoOp):
                        self.emit(f"# = {_comment(a.description)}", 1 if real else 0)
                    elif isinstance(a, Checklist):
                        self.checklists.append(a.render())
                        self.emit(f"# [ ] {_comment(a.description)} (by hand, see README.md)")
                    elif isinstance(a, HttpRequest):
                        lbs = [h.name for h in self.answers.hosts_with_role("LB")] or inventory
                        self.http(a, lbs[0])
                    elif not real:
                        raise ExportError(_("{host}: {kind} has no host to run on").format(
                            host=hp.host, kind=a.kind))
                    elif isinstance(a, FileChange):
                        self.file(sp.name, hp.host, a, st, idx)
                    elif isinstance(a, Command):
                        self.command(sp.name, hp.host, a, st)
                    else:
                        raise ExportError(_("host {host}: no pyinfra form for {kind}").format(
                            host=hp.host, kind=a.kind))
                if real and self.lines[-1] == f"if host.name == {hp.host!r}:":
                    self.emit("pass", 1)
        head = [
            f'"""The CHAT role for {self.answers.source}, as `chatwizard plan` previewed it.',
            "",
            f"Written by `chatwizard export pyinfra` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            "Run: pyinfra inventory.py deploy.py   (README.md: secrets, what is left to a person)",
            '"""',
            "from pyinfra import host",
            "from pyinfra.operations import server",
            "",
            "from wizard.pyinfra_runtime import check, install_file, tyntec_webhooks  # noqa: F401",
        ]
        return "\n".join(head + self.lines) + "\n"


def _name(text: str) -> str:
    return repr(masking.mask(" ".join(text.split()))[:200])


def _comment(text: str) -> str:
    return " ".join(masking.mask(text).split())


def inventory(answers, facts: dict) -> str:
    groups: dict[str, list[str]] = {g: [] for g in ROLE_GROUPS.values()}
    lines = ['"""Inventory of the CHAT role site (chatwizard export pyinfra): one group per role."""',
             "from wizard.pyinfra_runtime import secret  # noqa: F401  (passwords at deploy time)", ""]
    for h in answers.hosts:
        data: dict = {"ssh_hostname": h.address}
        if h.port:
            data["ssh_port"] = h.port
        if h.user:
            data["ssh_user"] = h.user
        if h.key_file:
            data["ssh_key"] = h.key_file
        f = facts.get(h.name)
        if f is not None and f.os.major < 7:
            data["ssh_paramiko_connect_kwargs"] = CENTOS6_PARAMIKO
        extra = ""
        if h.password_ref:
            extra += f", ssh_password=secret({h.password_ref!r})"
        if h.become == "sudo":
            data["_sudo"] = True
            if h.password_ref:
                extra += f", _sudo_password=secret({h.password_ref!r})"
        for r in h.roles:
            groups[ROLE_GROUPS[r]].append(f"    ({h.name!r}, dict({_kw(data)}{extra})),")
    for g, rows in groups.items():
        lines += [f"{g} = [", *rows, "]"]
    return "\n".join(lines) + "\n"


def _kw(d: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in d.items())


def write(plan: Plan, answers, facts: dict, secrets: dict[str, str], out: Path) -> dict:
    """Write the deploy into `out` (created; must be empty or absent). Returns a summary."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportError(_("{folder}: not empty; export into a new folder").format(folder=out))
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(plan, answers, secrets, out)
    deploy = w.deploy()
    texts = {"deploy.py": deploy, "inventory.py": inventory(answers, facts),
             "README.md": readme(answers, secrets, w.checklists)}
    for name, text in texts.items():
        _atomic(out / name, text.encode("utf-8"))
    leaked = [p for p in out.rglob("*") if p.is_file() and _holds_secret(p.read_bytes())]
    if leaked:
        for p in sorted(out.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        raise ExportError(_("a secret would be written to {file}; nothing was exported").format(
            file=leaked[0].name))
    return {"operations": w.n, "files": sum(1 for f in (out / "files").rglob("*") if f.is_file())
            if (out / "files").exists() else 0, "checklists": len(w.checklists)}


def env_name(ref: str) -> str:
    """The environment variable a deploy reads a secret from: keyring:db/root → CHATWIZARD_SECRET_DB_ROOT."""
    key = ref[len("keyring:"):] if ref.startswith("keyring:") else ref
    return "CHATWIZARD_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", key).upper()


def _holds_secret(data: bytes) -> bool:
    text = data.decode("utf-8", "replace")
    return any(len(f) >= 3 and f in text for f in masking.known())


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def readme(answers, secrets: dict[str, str], checklists: list[str]) -> str:
    rows = "\n".join(f"- `{ref}`: `${env_name(ref)}`, else the keyring" for ref in sorted(secrets))
    todo = "\n\n".join(f"```\n{c}\n```" for c in checklists) or "(none)"
    return f"""# CHAT role deploy for {answers.source}

Written by `chatwizard export pyinfra`: the plan `chatwizard plan` previews, as pyinfra
operations. Run it from this folder with the wizard installed (`pip install
'chat-role-wizard[pyinfra]'`):

    pyinfra inventory.py deploy.py            # all hosts
    pyinfra inventory.py deploy.py --limit lb # one group (chat, data, tel, web, lb)

A second run changes nothing. A file that changed on a host since the export stops the
deploy for that host: export again.

## Secrets (read at deploy time, never written here)

{rows or '(none)'}

The keyring is the wizard's (`CHATWIZARD_KEYRING`, `CHATWIZARD_KEYRING_FILE`, … as for
`chatwizard`).

## By hand (portal UI)

{todo}
"""


def run(args) -> int:
    """The `export` subcommand: connect read-only, detect, plan, write the deploy."""
    from . import secrets
    from .cli import _ask_host_key
    from .logs import start_run_log
    from .session import Session

    if args.target != "pyinfra":
        raise ExportError(_("export {target}: only pyinfra is supported").format(target=args.target))
    start_run_log("export")
    session = Session(keyring_mode=args.keyring, ask_host_key=_ask_host_key,
                      accept=tuple(args.accept_host_key))
    ans = session.load(args.answers)
    session.secrets_ready()
    values = secrets.resolve_all(ans)
    try:
        facts = session.ensure_facts()
        plan = session.plan(only=set(args.only) if args.only else None)
    finally:
        session.shutdown()
    summary = write(plan, ans, facts, values, Path(args.dir))
    print(_("wrote {folder}: inventory.py, deploy.py ({operations} operation blocks), {files} "
            "file(s), README.md ({checklists} checklist(s) by hand)").format(
        folder=args.dir, operations=summary["operations"], files=summary["files"],
        checklists=summary["checklists"]))
    command = f"cd {shlex.quote(str(args.dir))} && pyinfra inventory.py deploy.py"
    print(_("run: {command}").format(command=command))
    return 0
