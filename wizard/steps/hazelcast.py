"""Section 3: the chat servers join the Hazelcast cluster, on every member at once.

Cluster members are the hosts with role DATA, TEL or WEB. In each member's hazelcast.xml
the chat servers become `<member>`s of the tcp-ip join, and the CHAT ringbuffer and the
CHATCOUNTERS map are added where missing (wizard.hazelcast_xml splices only those lines;
existing CHAT entries with other values are shown as notes and changed only with
`hazelcast.fix_conflicts`). The result is validated against the XSD of the file's own
Hazelcast version, which Hazelcast itself does at start.

Where the file is (`hazelcast.layout`, `auto` decides per host):
- shared: the master copy `<portal.shared_dir>/hazelcast.xml` (newer installs). The
  shared folder is often ONE network share mounted on every host: hosts whose /proc/mounts
  show the same network-fs source for it have one file between them, edited once (on the
  first DATA host among them) — a second write would find the file changed since the
  preview. A local folder (the test hosts) is edited on each host.
- legacy: each member's own copy, `hazelcast.legacy_paths` (keys: an inventory host name
  or a role; the host wins, then DATA, TEL, WEB), default LEGACY_PATH: the config of the
  Platform UDP listener, installed with `cp -a …/Utils/Install/PlatformUDPlistener/
  /home/jtel/` on the platform's servers.

Per role, only on a host whose configuration changed: DATA runs updatepl.sh, TEL
restarts PlatformUDPListener, WEB runs updatejb.sh. The scripts are looked up at plan
time with /usr/local/bin on PATH (sudo's secure_path lacks it) and run by full path.
Hosts that share the edited file first wait until the editing host has written it
(hosts of a section run in parallel). Every CHAT host gets the cluster's file (the first
DATA host's, as planned) as `<clientmessenger.target>/conf/hazelcast.xml`, owned by jtel.
"""
from __future__ import annotations

import codecs
import hashlib
import ipaddress
import posixpath
import re
import shlex
from dataclasses import dataclass, field

from .. import hazelcast_xml as hx
from ..errors import PlanError
from ..facts import SHARED
from ..plan import Action, Command, NoOp, SectionPlan
from ..transport.base import HostSpec
from .hazelcast_schema import also_in_file, check_schema
from ..i18n import N_, _, ngettext

NAME = "hazelcast"
TITLE = N_("3. Hazelcast cluster")
ROLES = ("DATA", "TEL", "WEB", "CHAT")
MEMBER_ROLES = ("DATA", "TEL", "WEB")

LEGACY_PATH = "/home/jtel/PlatformUDPlistener/conf/hazelcast.xml"
CHAT_COPY_REL = "conf/hazelcast.xml"
TEL_SERVICE = "PlatformUDPListener"
SCRIPTS = {"DATA": "updatepl.sh", "WEB": "updatejb.sh"}
SCRIPT_PATH = "/usr/local/sbin:/usr/local/bin"      # prepended: sudo's secure_path lacks them
WAIT_SECONDS = 300
# file systems whose mount source may be mounted by several hosts (one file for all)
NETWORK_FS = ("cifs", "smb3", "smbfs", "nfs", "nfs4", "glusterfs", "fuse.glusterfs", "ceph",
              "fuse.sshfs", "afs", "9p")

_DECL = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


# ---------------------------------------------------------------- pure helpers

def mount_of(mounts: str, path: str) -> tuple[str, str, str] | None:
    """/proc/mounts → (source, mount point, fs type) of the mount holding `path`."""
    best = None
    for line in mounts.splitlines():
        f = line.split()
        if len(f) < 3:
            continue
        src, mnt = (_unescape(x) for x in f[:2])
        if path == mnt or path.startswith(mnt.rstrip("/") + "/"):
            if best is None or len(mnt) >= len(best[1]):     # later mounts hide earlier ones
                best = (src, mnt, f[2])
    return best


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def share_key(mounts: str, path: str) -> str | None:
    """A name for `path` that is the same on every host mounting the same network share
    (`//fs/jtel/hazelcast.xml`), or None when it is on a local file system."""
    m = mount_of(mounts, path)
    if m is None or m[2].lower() not in NETWORK_FS:
        return None
    src, mnt, _rest = m
    rel = path[len(mnt.rstrip("/")):].lstrip("/")
    src = src.replace("\\", "/")
    if src.startswith("//"):                       # cifs: //server/share[/sub], any case
        base = "//" + src[2:].strip("/").lower()
    elif ":" in src:                               # nfs: server:/export
        server, export = src.split(":", 1)
        base = server.lower() + ":" + (posixpath.normpath("/" + export.lstrip("/")))
    else:
        base = src.rstrip("/")
    return posixpath.join(base, rel) if rel else base


def decode(data: bytes, where: str) -> tuple[str, str]:
    """(text, codec) of an XML file: the encoding its declaration names, else UTF-8."""
    m = _DECL.match(data)
    name = m.group(1).decode("ascii") if m else "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise PlanError(_("{where}: declares encoding {name}, which Python does not know").format(
            where=where, name=repr(name))) from None
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise PlanError(_("{where}:{line}: not valid {name} (byte {byte})").format(
            where=where, line=line, name=name, byte=e.start)) from None


def legacy_path(cfg: dict, host: HostSpec) -> str:
    """The member's own hazelcast.xml for the legacy layout."""
    paths = cfg.get("legacy_paths") or {}
    for key in (host.name, *[r for r in MEMBER_ROLES if r in host.roles]):
        if paths.get(key):
            if not str(paths[key]).startswith("/"):
                raise PlanError(_("hazelcast.legacy_paths.{key}: {path} is not an absolute path").format(
                    key=key, path=repr(paths[key])))
            return paths[key]
    return LEGACY_PATH


def chat_addresses(ctx, chats: list[HostSpec]) -> list[str]:
    """The addresses the members list for the chat servers."""
    explicit = ctx.section(NAME).get("member_address")
    if explicit:
        if len(chats) > 1:
            raise PlanError(_(
                "hazelcast.member_address ({address}) names one chat server, but the inventory "
                "has {n} CHAT hosts ({hosts}); remove it so that each CHAT host's inventory "
                "address is used, or give each host the address the cluster reaches it by as its "
                "inventory address").format(
                    address=explicit, n=len(chats), hosts=", ".join(h.name for h in chats)))
        return [explicit]
    return [h.address for h in chats]


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address.split("%")[0])
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- planning

@dataclass
class _Member:
    """One member host: its file, how it is edited, and whether its config changes."""

    host: HostSpec
    path: str
    layout: str                      # "shared" | "legacy"
    share: str | None = None         # share_key of the file (shared layout on a network fs)
    editor: "_Member | None" = None  # the member that edits the one file (None: itself)
    actions: list[Action] = field(default_factory=list)
    final: bytes | None = None       # content after this section
    changed: bool = False


def plan_section(ctx) -> SectionPlan:
    cfg = ctx.section(NAME)
    sp = SectionPlan(NAME, _(TITLE))
    hosts = ctx.answers.hosts
    chats = [h for h in hosts if "CHAT" in h.roles]
    if not chats:
        sp.notes.append(_("no CHAT host in the inventory: no chat server to add to the cluster"))
        return sp
    addresses = chat_addresses(ctx, chats)
    shared_dir = (ctx.section("portal").get("shared_dir") or SHARED).rstrip("/")
    master = f"{shared_dir}/hazelcast.xml"

    members = [_locate(ctx, cfg, h, master) for h in hosts if set(h.roles) & set(MEMBER_ROLES)]
    _group_shares(ctx, members)
    for m in members:                                   # editors first: others copy their result
        if m.editor is None:
            _edit(ctx, cfg, m, addresses)
    # hosts that write come first: the runner starts a section's hosts in this order with a
    # bounded pool, and a host waiting for a shared file must not hold the writer's place
    for m in sorted(members, key=lambda m: m.editor is not None):
        if m.editor is not None:
            _follow_editor(ctx, m)
        _follow_ups(ctx, m)
        sp.for_host(m.host.name).actions.extend(m.actions)

    source = _cluster_source(members)
    for h in chats:
        hp = sp.for_host(h.name)
        hp.actions.extend(_chat_copy(ctx, cfg, h, source, addresses))
    _compare_members(ctx, members)
    if any(m.changed for m in members):
        for a in addresses:
            if not _is_ip(a):
                ctx.notes.append(_("the cluster members will list a chat server as {address}: every "
                                   "member must resolve that name (or set "
                                   "hazelcast.member_address)").format(address=repr(a)))
    return sp


def _locate(ctx, cfg: dict, host: HostSpec, master: str) -> _Member:
    layout = cfg.get("layout", "auto")
    own = legacy_path(cfg, host)
    if layout == "shared":
        candidates = [("shared", master)]
    elif layout == "legacy":
        candidates = [("legacy", own)]
    else:
        candidates = [("shared", master), ("legacy", own)]
    for kind, path in candidates:
        if ctx.exists(host, path):
            return _Member(host, path, kind)
    tried = (_("{path} does not exist").format(path=candidates[0][1]) if len(candidates) == 1 else
             _("neither {first} nor {second} exists").format(first=candidates[0][1],
                                                             second=candidates[1][1]))
    hint = {"shared": _("is {folder} mounted there?"),
            "legacy": _("name the file with hazelcast.legacy_paths.{host}"),
            "auto": _("set hazelcast.layout, or name the file with hazelcast.legacy_paths.{host}")}[layout]
    raise PlanError(_("host {host}: no hazelcast.xml: {tried} (hazelcast.layout: {layout}); {hint}").format(
        host=host.name, tried=tried, layout=layout,
        hint=hint.format(folder=posixpath.dirname(master), host=host.name)))


def _group_shares(ctx, members: list[_Member]) -> None:
    """Members whose master file is one file on a network share get one editor."""
    groups: dict[str, list[_Member]] = {}
    for m in members:
        if m.layout != "shared":
            continue
        mounts = ctx.transport(m.host).read_file("/proc/mounts")
        m.share = share_key(mounts.decode("utf-8", "replace") if mounts else "", m.path)
        if m.share is not None:
            groups.setdefault(m.share, []).append(m)
    for key, group in groups.items():
        if len(group) < 2:
            continue
        editor = next((m for m in group if "DATA" in m.host.roles), group[0])
        for m in group:
            if m is not editor:
                m.editor = editor
        ctx.notes.append(_("{hosts} mount the same share ({share}): its hazelcast.xml is edited once, "
                           "on {editor}").format(hosts=", ".join(m.host.name for m in group), share=key,
                                                 editor=editor.host.name))


def _edit(ctx, cfg: dict, m: _Member, addresses: list[str], *,
          owner: tuple[str, str] | None = None) -> None:
    """Plan the edit of m's file (a FileChange or a NoOp); `owner` overrides the file's own."""
    host, path = m.host, m.path
    where = f"host {host.name}: {path}"
    old, _planned = ctx.read(host, path)
    if old is None:
        raise PlanError(_("{where}: cannot be read").format(where=where))
    text, codec = decode(old, where)
    fix = bool(cfg.get("fix_conflicts"))
    try:
        result = hx.edit(text, addresses, fix_conflicts=fix, source=path)
    except hx.HazelcastError as e:
        raise PlanError(f"host {host.name}: {e}" + also_in_file(text, addresses, path, e)) from None
    for c in result.conflicts:
        line = f":{c.line}" if c.line else ""
        todo = (_("rewritten (hazelcast.fix_conflicts is true)") if fix else
                _("left as is; set hazelcast.fix_conflicts: true to rewrite it"))
        ctx.notes.append(_("{where}: {setting} is {found}, the procedure wants {expected}: {todo}").format(
            where=f"{host.name}:{path}{line}", setting=c.path, found=c.found, expected=c.expected,
            todo=todo))
    check_schema(ctx, host, path, result.text, text if result.changed else None, addresses)
    try:
        new = result.text.encode(codec)
    except UnicodeEncodeError as e:
        raise PlanError(_("{where}: the edited file cannot be written as {codec}: {reason}").format(
            where=where, codec=codec, reason=e.reason)) from None
    _old, planned = ctx.read(host, path)
    st = None if planned else ctx.transport(host).stat(path)
    mode = st.mode if st is not None and st.mode is not None else 0o644
    user, group = owner or ((st.owner, st.group) if st is not None else (None, None))
    parts = [_("add {entries}").format(entries=", ".join(result.added))] if result.added else []
    if fix and result.conflicts:
        parts.append(ngettext("fix {n} CHAT setting", "fix {n} CHAT settings",
                              len(result.conflicts)).format(n=len(result.conflicts)))
    what = "; ".join(parts)
    fc = ctx.file_change(host, _("hazelcast.xml: {what}").format(what=what), path, new, mode=mode,
                         owner=user, group=group)
    if fc is None:
        m.actions.append(NoOp(_("{path} already lists {addresses} and has the CHAT ringbuffer and "
                                "CHATCOUNTERS map").format(path=path, addresses=", ".join(addresses))))
    else:
        m.actions.append(fc)
        m.changed = True
    m.final = new


def _follow_editor(ctx, m: _Member) -> None:
    """A member that shares the editor's file: nothing to write, same result."""
    ed = m.editor
    m.final, m.changed = ed.final, ed.changed
    if ed.final is not None:
        ctx.overlay(m.host).files[m.path] = ed.final      # later reads see the edited share
    if not ed.changed:
        m.actions.append(NoOp(_("{path} (the share {share}) is up to date").format(
            path=m.path, share=m.share)))
        return
    digest = _sha256(ed.final)
    q = shlex.quote(m.path)
    m.actions.append(Command(
        _("Wait until {editor} has written {path} (the same share)").format(editor=ed.host.name, path=m.path),
        f"i=0; until [ \"$(sha256sum < {q} 2>/dev/null | cut -d' ' -f1)\" = {digest} ]; do "
        f"i=$((i+1)); if [ $i -ge {WAIT_SECONDS} ]; then "
        f"echo {shlex.quote(f'{m.path} still not as planned after {WAIT_SECONDS} s (written by {ed.host.name})')} >&2; "
        "exit 1; fi; sleep 1; done",
        changes=False, timeout=WAIT_SECONDS + 60))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _follow_ups(ctx, m: _Member) -> None:
    if not (m.changed or _interrupted(ctx, m)):
        return
    host = m.host
    for role in MEMBER_ROLES:
        if role not in host.roles:
            continue
        if role == "TEL":
            m.actions.append(_restart_listener(ctx, host))
        else:
            script = _find_script(ctx, host, SCRIPTS[role])
            m.actions.append(Command(_("Run {script} so that the {role} host loads the new "
                                       "hazelcast.xml").format(script=SCRIPTS[role], role=role),
                                     shlex.quote(script), timeout=1800))


def _interrupted(ctx, m: _Member) -> bool:
    """An interrupted apply changed m's configuration but its follow-ups never ran: m wrote
    the file itself, or (sharing the editor's file) had waited for it and not finished."""
    if m.editor is None:
        return m.path in ctx.pending_writes(m.host, NAME)
    return NAME in ctx.unfinished_sections(m.host)


def _find_script(ctx, host: HostSpec, name: str) -> str:
    t = ctx.transport(host)
    r = t.run(f"PATH={SCRIPT_PATH}:$PATH; export PATH; command -v {name}", sudo=True, timeout=60)
    found = r.stdout.strip().splitlines()[-1].strip() if r.exit_code == 0 and r.stdout.strip() else ""
    if not found.startswith("/"):
        raise PlanError(_("host {host}: {name} not found (PATH and {path}); section 3 runs it after "
                          "changing hazelcast.xml: install it, or skip the section and run the steps "
                          "by hand").format(
                              host=host.name, name=name, path=SCRIPT_PATH))
    return found


def _restart_listener(ctx, host: HostSpec) -> Command:
    major = ctx.facts[host.name].os.major
    service = ctx.section(NAME).get("tel_service") or TEL_SERVICE
    t = ctx.transport(host)
    places = [f"/etc/rc.d/init.d/{service}", f"/etc/init.d/{service}"]
    if major >= 7:
        places += [f"{d}/{service}.service" for d in ("/etc/systemd/system", "/usr/lib/systemd/system")]
    if not any(t.stat(p).exists for p in places):
        raise PlanError(_("host {host}: the {service} service is not installed (none of {places}); "
                          "section 3 restarts it after changing hazelcast.xml").format(
                              host=host.name, service=service, places=", ".join(places)))
    cmd = (f"systemctl restart {service}" if major >= 7 else f"service {service} restart")
    return Command(_("Restart {service} so that it loads the new hazelcast.xml").format(service=service),
                   cmd, timeout=300)


def _cluster_source(members: list[_Member]) -> _Member | None:
    """The member whose file the chat servers copy: the first DATA host, else TEL, WEB."""
    for role in MEMBER_ROLES:
        for m in members:
            if role in m.host.roles:
                return m
    return None


def _chat_copy(ctx, cfg: dict, host: HostSpec, source: _Member | None,
               addresses: list[str]) -> list[Action]:
    cm = ctx.section("clientmessenger")
    path = f"{cm['target'].rstrip('/')}/{CHAT_COPY_REL}"
    if source is None:                        # no member in the inventory: edit its own copy
        m = _Member(host, path, "legacy")
        if not ctx.exists(host, path):
            raise PlanError(_("host {host}: {path} does not exist and no DATA/TEL/WEB host "
                              "is in the inventory to copy hazelcast.xml from").format(
                                  host=host.name, path=path))
        _edit(ctx, cfg, m, addresses, owner=(cm["owner"], cm["group"]))
        return m.actions
    if not ctx.exists(host, posixpath.dirname(path)):
        raise PlanError(_("host {host}: {folder} does not exist and no "
                          "earlier step creates it: is ClientMessenger installed (section 2)?").format(
                              host=host.name, folder=posixpath.dirname(path)))
    data = source.final
    _old, planned = ctx.read(host, path)
    st = None if planned else ctx.transport(host).stat(path)
    mode = st.mode if st is not None and st.exists and st.mode is not None else 0o644
    fc = ctx.file_change(host, _("Copy the cluster's hazelcast.xml (from {source})").format(
                             source=f"{source.host.name}:{source.path}"), path, data, mode=mode,
                         owner=cm["owner"], group=cm["group"],
                         copy_of=f"{source.host.name}:{source.path}")
    if fc is None:
        return [NoOp(_("{path} is already the cluster's hazelcast.xml ({source})").format(
            path=path, source=f"{source.host.name}:{source.path}"))]
    return [fc]


def _compare_members(ctx, members: list[_Member]) -> None:
    """A note when members end up with different member lists (the copies drifted)."""
    lists = {}
    for m in members:
        if m.final is None or m.editor is not None:
            continue
        try:
            lists[m.host.name] = set(hx.members(decode(m.final, m.path)[0]))
        except (hx.HazelcastError, PlanError):
            continue
    if len({frozenset(v) for v in lists.values()}) > 1:
        ctx.notes.append(_("the members' hazelcast.xml files list different cluster members: "
                           "{lists}").format(lists="; ".join(
                               f"{h}: {', '.join(sorted(v))}" for h, v in lists.items())))
