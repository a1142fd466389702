"""List the backups the wizard made on a host, and plan putting one back.

Every file the wizard replaces is first copied to BACKUP_ROOT/<UTC stamp>/<path> on its
host. A restore is an ordinary plan of FileChanges (previewed as diffs, run by the
Runner, itself backed up), so nothing here writes on its own.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from .errors import PlanError
from .plan import FileChange, Plan, SectionPlan
from .transport.base import BACKUP_ROOT, Transport
from .i18n import _

_STAMP = re.compile(r"^\d{8}T\d{6}Z(\.\d+)?$")


@dataclass(frozen=True)
class Backup:
    """One saved copy: when, of which file, and where it lies."""

    stamp: str           # "20261125T193000Z" (".1" appended when two writes shared a second)
    path: str            # the original file, e.g. /etc/haproxy/haproxy.cfg
    stored: str          # the copy under BACKUP_ROOT


def parse_listing(text: str, root: str = BACKUP_ROOT) -> list[Backup]:
    """`find ROOT -type f` output → backups, oldest first; other files are ignored."""
    out = []
    prefix = root.rstrip("/") + "/"
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith(prefix):
            continue
        stamp, _, rest = line[len(prefix):].partition("/")
        if _STAMP.match(stamp) and rest:
            out.append(Backup(stamp, "/" + rest, line))
    return sorted(out, key=lambda b: (b.stamp.split(".")[0], int(b.stamp.partition(".")[2] or 0), b.path))


def list_backups(t: Transport) -> list[Backup]:
    """Every backup on the host (none when the folder does not exist)."""
    if not t.stat(BACKUP_ROOT).exists:
        return []
    r = t.run(f"find {shlex.quote(BACKUP_ROOT)} -type f", sudo=True, timeout=120)
    if r.exit_code != 0:
        raise PlanError(_("host {host}: cannot list {folder}: {output}").format(
            host=t.spec.name, folder=BACKUP_ROOT, output=r.tail(3)))
    return parse_listing(r.stdout)


def restore_plan(t: Transport, stamp: str, paths: list[str] | None = None, *,
                 training: bool = False) -> Plan:
    """A plan that writes the files saved at `stamp` back to their places (all, or `paths`)."""
    chosen = [b for b in list_backups(t) if b.stamp == stamp and (not paths or b.path in paths)]
    if not chosen:
        raise PlanError((_("host {host}: no backup {stamp} of {paths} under {folder} "
                           "(`chatwizard backups` lists them)") if paths else
                         _("host {host}: no backup {stamp} under {folder} (`chatwizard backups` "
                           "lists them)")).format(host=t.spec.name, stamp=stamp, folder=BACKUP_ROOT,
                                                  paths=", ".join(paths or ())))
    missing = sorted(set(paths or ()) - {b.path for b in chosen})
    if missing:
        raise PlanError(_("host {host}: backup {stamp} holds no copy of {paths}").format(
            host=t.spec.name, stamp=stamp, paths=", ".join(missing)))
    section = SectionPlan("restore", _("Restore backup {stamp}").format(stamp=stamp))
    hp = section.for_host(t.spec.name)
    for b in chosen:
        data = t.read_file(b.stored, sudo=True)
        st = t.stat(b.path)
        saved = t.stat(b.stored)
        hp.actions.append(FileChange(
            _("Put back {path} as it was before {stamp}").format(path=b.path, stamp=stamp), b.path, data, t.read_file(b.path, sudo=True),
            mode=(st.mode if st.exists else saved.mode) or 0o644,
            owner=(st.owner if st.exists else saved.owner), group=(st.group if st.exists else saved.group)))
    return Plan(sections=[section], training=training)


def describe(backups: list[Backup]) -> str:
    """Human listing grouped by stamp."""
    if not backups:
        return _("no backups under {folder}").format(folder=BACKUP_ROOT)
    lines, last = [], None
    for b in backups:
        if b.stamp != last:
            lines.append(b.stamp)
            last = b.stamp
        lines.append(f"  {b.path}    ({posixpath.relpath(b.stored, BACKUP_ROOT)})")
    return "\n".join(lines)
