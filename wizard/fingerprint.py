"""Fingerprint on replay: what an install found on each chat server, kept beside the answers
file, and how a replay's server differs from it — shown before anything runs.

    fp = record(answers, facts, transports)          # after detection (planner.detect)
    save(sidecar_path(answers_path), fp)              # <stem>.fingerprint.yaml, temp + rename
    recorded = load(sidecar_path(answers_path))       # None when there is none
    for d in compare(recorded, record(answers, facts, transports)):
        print(d.line); d.diff and print(d.diff)

Recorded per chat server: OS and version, Java 8, portal version, Windows-hosted repository,
Hazelcast layout and version, sha256 of every file of the ClientMessenger repository
(`clientmessenger.source`, one `sha256sum` over a sorted file list, run on the host) and the
repository's init script text with the connection password masked. Read-only.
"""
from __future__ import annotations

import difflib
import os
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from . import atomic, hazelcast_xml as hx
from .facts import INIT_SCRIPT_REL, version_tuple
from .i18n import N_, _

VERSION = 1
_PASSWORD_VALUE = re.compile(r"([?&]password=)((?:\\[^&]|[^\s\\&\"'])*)")


@dataclass(frozen=True)
class Difference:
    host: str             # the replay's chat server
    what: str             # "os", "java", "portal", "windows", "hazelcast", "files", "init script"
    line: str             # one readable line
    diff: str | None = None   # a unified diff (init script) when both texts are known


def sidecar_path(answers_path: str | os.PathLike) -> Path:
    """`site.yaml` -> `site.fingerprint.yaml` beside it."""
    p = Path(answers_path)
    return p.with_name(f"{p.stem}.fingerprint.yaml")


def mask_init_script(text: str) -> str:
    """The init script with the value of every `password=` in the connection URL hidden."""
    return _PASSWORD_VALUE.sub(lambda m: m.group(1) + ("********" if m.group(2) else ""), text)


def checksum_command(folder: str) -> str:
    """sha256 of every file under `folder`, sorted by path (one command, on the host)."""
    q = shlex.quote(folder)
    return f"cd {q} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum"


def parse_checksums(out: str) -> dict[str, str]:
    sums = {}
    for line in out.splitlines():
        digest, _, path = line.partition("  ")
        if len(digest.lstrip("\\")) == 64 and path:
            sums[path[2:] if path.startswith("./") else path] = digest.lstrip("\\")
    return sums


def _paths(answers) -> dict:
    """Where record() looks on a chat server."""
    cm = answers.section("clientmessenger")
    src, dest = cm["source"].rstrip("/"), cm["target"].rstrip("/")
    shared = answers.section("portal").get("shared_dir", "/home/jtel/shared").rstrip("/")
    return {"source": cm["source"], "shared_hz": f"{shared}/hazelcast.xml",
            "hz": (f"{dest}/conf/hazelcast.xml", f"{src}/conf/hazelcast.xml"),
            "init": f"{src}/{INIT_SCRIPT_REL}", "shared": shared}


def _host_record(answers, facts, t, spec) -> dict:
    hz = answers.section("hazelcast")
    where = _paths(answers)
    f = facts.get(spec.name)
    rec: dict = {}
    if f is not None:
        rec["os"] = {"name": f.os.name, "version": f.os.version, "major": f.os.major}
        if f.java is not None:
            rec["java"] = {"java8": f.java.java8, "detail": f.java.detail}
        if f.portal is not None:
            rec["portal"] = f.portal.version
        rec["windows_repo"] = {"yes": f.windows_repo, "reasons": list(f.windows_reasons)}
    layout = hz.get("layout", "auto")
    if layout == "auto":
        layout = "shared" if t.stat(where["shared_hz"]).exists else "legacy"
    data = t.read_file(where["hz"][0], sudo=True) or t.read_file(where["hz"][1], sudo=True)
    version = hx.detect_version(data.decode("utf-8", errors="replace")) if data else None
    rec["hazelcast"] = {"layout": layout, "version": version}
    res = t.run(checksum_command(where["source"]), sudo=True, timeout=120)
    rec["repository"] = {"path": where["source"],
                         "files": parse_checksums(res.stdout) if res.exit_code == 0 else {}}
    script = t.read_file(where["init"], sudo=True)
    rec["init_script"] = None if script is None else mask_init_script(script.decode("utf-8", errors="replace"))
    return rec


def record(answers, facts: dict, transports: dict) -> dict:
    """What this install finds on each chat server (read-only), with `facts` from detection
    (planner.detect); each transport may be detection's reader (wizard.transport.batched),
    which serves what its batch holds."""
    return {"fingerprint": VERSION,
            "recorded": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hosts": {spec.name: _host_record(answers, facts, transports[spec.name], spec)
                      for spec in answers.hosts_with_role("CHAT")}}


def items(answers) -> list:
    """Everything record() and the facts it keeps read on a chat server, for one batch."""
    from . import facts as F
    from .batch import CmdItem, FileItem
    where = _paths(answers)
    files = [*F.chat_fact_paths(where["shared"]), where["shared_hz"], *where["hz"], where["init"]]
    return [FileItem(p) for p in dict.fromkeys(files)] + [
        CmdItem(F.JAVA_RPM_QUERY), CmdItem(F.JAVA_VERSION_QUERY),
        CmdItem(checksum_command(where["source"]), sudo=True)]


def read(answers, transports: dict) -> dict:
    """record() without a detection of the whole site: each chat server (and only they) read
    in one round trip (wizard.batch), all at once. Used after an install, whose run changed
    what detection had read."""
    from . import batch, facts as F
    from .planner import batched, each_host
    from .transport.batched import BatchedTransport
    shared = _paths(answers)["shared"] or F.SHARED
    hosts = list(answers.hosts_with_role("CHAT"))

    def one(spec):
        t = transports[spec.name]
        if batched():
            try:
                t = BatchedTransport(t, batch.fetch(t, items(answers)))
            except batch.BatchError:        # read the ordinary way
                pass
        f = F.gather(t, roles=("CHAT",), shared=shared)
        return t, f

    got = each_host(hosts, one, transports)
    facts = {spec.name: f for spec, (_t, f) in zip(hosts, got)}
    readers = {spec.name: t for spec, (t, _f) in zip(hosts, got)}
    return record(answers, facts, readers)


def save(path: str | os.PathLike, fp: dict) -> Path:
    """Write the sidecar atomically (temp file + rename, mode 0600 like the answers)."""
    path = Path(path)
    text = "# chatwizard fingerprint: what the install found (written by the wizard)\n" + \
        yaml.safe_dump(fp, sort_keys=True, allow_unicode=True, width=100)
    atomic.write_text(path, text)
    return path


def load(path: str | os.PathLike) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    data = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(data, dict) or data.get("fingerprint") != VERSION or not isinstance(data.get("hosts"), dict):
        raise ValueError(_("{path}: not a chatwizard fingerprint (version {version})").format(
            path=path, version=VERSION))
    return data


# ------------------------------------------------------------------ compare

def _os_text(o: dict | None) -> str:
    return f"{o['name']} {o['version']}" if o else _("unknown OS")


def _os_consequence(major: int | None) -> str:
    text = {6: N_("firewall via iptables, services via service/chkconfig"),
            7: N_("firewall via firewalld, services via systemctl")}.get(major or 0)
    return _(text) if text else ""


def _compare_host(name: str, ref_name: str, ref: dict, cur: dict) -> list[Difference]:
    out = []
    ro, co = ref.get("os"), cur.get("os")
    if ro != co and (ro or co):
        line = _("{host}: {now}, {ref} was {was}").format(host=name, now=_os_text(co), ref=ref_name,
                                                          was=_os_text(ro))
        if (ro or {}).get("major") != (co or {}).get("major") and _os_consequence((co or {}).get("major")):
            line += f": {_os_consequence(co['major'])}"
        out.append(Difference(name, "os", line))
    rj, cj = ref.get("java") or {}, cur.get("java") or {}
    if rj.get("java8") != cj.get("java8"):
        now = (_("Java 8 installed ({detail})").format(detail=cj.get('detail')) if cj.get("java8")
               else _("no Java 8 (section 1 installs it)"))
        was = (_("had Java 8 ({detail})").format(detail=rj.get('detail')) if rj.get("java8")
               else _("had no Java 8"))
        out.append(Difference(name, "java", _("{host}: {now}, {ref} {was}").format(
            host=name, now=now, ref=ref_name, was=was)))
    rp, cp = ref.get("portal"), cur.get("portal")
    if rp != cp:
        line = _("{host}: portal {now}, {ref} was {was}").format(
            host=name, now=cp or _("unknown"), ref=ref_name, was=rp or _("unknown"))
        try:
            if rp and cp and (version_tuple(rp) >= (3, 25)) != (version_tuple(cp) >= (3, 25)):
                line += ": " + (_("the connection URL gets serverTimezone") if version_tuple(cp) >= (3, 25)
                                else _("the connection URL has no serverTimezone"))
        except ValueError:
            pass
        out.append(Difference(name, "portal", line))
    rw, cw = (ref.get("windows_repo") or {}), (cur.get("windows_repo") or {})
    if bool(rw.get("yes")) != bool(cw.get("yes")):
        if cw.get("yes"):
            line = _("{host}: repository hosted on Windows ({reasons}): CRs are stripped from the "
                     "init script; {ref}'s was not").format(
                         host=name, reasons="; ".join(cw.get('reasons') or []), ref=ref_name)
        else:
            line = _("{host}: repository not hosted on Windows; {ref}'s was ({reasons})").format(
                host=name, ref=ref_name, reasons="; ".join(rw.get('reasons') or []))
        out.append(Difference(name, "windows", line))
    rh, ch = ref.get("hazelcast") or {}, cur.get("hazelcast") or {}
    for key, label in (("layout", _("Hazelcast layout")), ("version", _("Hazelcast version"))):
        if rh.get(key) != ch.get(key):
            out.append(Difference(name, "hazelcast", _("{host}: {label} {now}, {ref} was {was}").format(
                host=name, label=label, now=ch.get(key) or _("unknown"), ref=ref_name,
                was=rh.get(key) or _("unknown"))))
    rf = (ref.get("repository") or {}).get("files") or {}
    cf = (cur.get("repository") or {}).get("files") or {}
    if rf != cf:
        changed = sorted(p for p in rf.keys() & cf.keys() if rf[p] != cf[p])
        only_cur, only_ref = sorted(cf.keys() - rf.keys()), sorted(rf.keys() - cf.keys())
        parts = []
        for label, items in ((_("{n} differ ({files})"), changed),
                             (_("{n} only on {host} ({files})"), only_cur),
                             (_("{n} only on {ref} ({files})"), only_ref)):
            if items:
                shown = ", ".join(items[:4]) + (_(" and {n} more").format(n=len(items) - 4)
                                                if len(items) > 4 else "")
                parts.append(label.format(n=len(items), host=name, ref=ref_name, files=shown))
        out.append(Difference(name, "files", _("{host}: ClientMessenger repository differs from "
                                               "{ref}'s: {parts}").format(
                                                   host=name, ref=ref_name, parts="; ".join(parts))))
    ri, ci = ref.get("init_script"), cur.get("init_script")
    if ri is not None and ci is not None:
        a, b = ri.replace("\r", ""), ci.replace("\r", "")     # CRs: reported as "windows" above
        diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                            f"{ref_name}/{INIT_SCRIPT_REL}", f"{name}/{INIT_SCRIPT_REL}"))
        if diff:
            out.append(Difference(name, "init script", _("{host}: init script differs from {ref}'s").format(
                host=name, ref=ref_name), diff))
    elif ri != ci:
        out.append(Difference(name, "init script",
                              (_("{host}: no init script in the repository; {ref} had one") if ci is None
                               else _("{host}: an init script in the repository; {ref} had none")).format(
                                   host=name, ref=ref_name)))
    return out


def compare(recorded: dict, current: dict) -> list[Difference]:
    """Every difference of the current chat servers against the recorded ones: a server is
    compared with the recorded server of the same name, else with the first recorded one."""
    rec_hosts = (recorded or {}).get("hosts") or {}
    if not rec_hosts:
        return []
    first = next(iter(rec_hosts))
    out: list[Difference] = []
    for name, cur in ((current or {}).get("hosts") or {}).items():
        ref_name = name if name in rec_hosts else first
        out += _compare_host(name, ref_name, rec_hosts[ref_name], cur)
    return out
