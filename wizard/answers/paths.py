"""Paths, service names and URLs from the answers file, made safe before anything connects.

The schema's patterns (answers/schema.json `$defs`: abs_path, service_name, url chars)
reject the forms no value should take; the functions here say precisely why (the
messages of validate.py use them) and add what a pattern cannot say: a path the wizard
writes must not be a system file the procedure does not name, a folder it copies into and
`chown -R`s must not be `/`, `/usr` or another system folder.

Every check is about the value only; quoting happens where commands are built
(`shlex.quote`), so these checks are a second wall, not the first.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any

from ..i18n import N_, _
from .schema import Path_

MAX_PATH = 4096              # PATH_MAX on Linux

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# files the procedure never writes: writing one (as root) would take the machine over
SYSTEM_FILES = frozenset({
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers",
    "/etc/hosts", "/etc/hosts.allow", "/etc/hosts.deny", "/etc/fstab", "/etc/crontab",
    "/etc/profile", "/etc/bashrc", "/etc/environment", "/etc/resolv.conf",
    "/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/nsswitch.conf", "/etc/inittab",
    "/etc/rc.local", "/etc/rc.d/rc.local", "/etc/login.defs", "/etc/securetty",
    "/etc/ssh/sshd_config", "/etc/ssh/ssh_config", "/etc/selinux/config",
    "/etc/sysconfig/iptables", "/etc/yum.conf", "/root/.bashrc", "/root/.bash_profile",
    "/root/.profile",
})
# folders whose files the procedure never writes (the daemon step writes its own init script
# into /etc/init.d; nothing else may land there)
SYSTEM_DIRS = ("/etc/sudoers.d", "/etc/pam.d", "/etc/security", "/etc/cron.d", "/etc/cron.daily",
               "/etc/cron.hourly", "/etc/cron.weekly", "/etc/cron.monthly", "/etc/profile.d",
               "/etc/init.d", "/etc/rc.d", "/etc/systemd", "/etc/ld.so.conf.d", "/etc/yum.repos.d",
               "/etc/ssh", "/root/.ssh", "/var/spool/cron", "/boot", "/proc", "/sys", "/dev", "/run",
               "/bin", "/sbin", "/lib", "/lib64", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64",
               "/usr/libexec", "/usr/lib/systemd", "/var/lib/rpm")
# folders a tree copy + `chown -R` must never be (nor any folder above them)
SYSTEM_TREES = frozenset({"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media",
                          "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
                          "/usr", "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib64",
                          "/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/sbin", "/usr/share",
                          "/var", "/var/lib", "/var/log", "/var/tmp", "/home/jtel",
                          "/home/jtel/shared"})

# which answers keys are written files, trees, or only read
WRITTEN_FILES: tuple[Path_, ...] = (("update_script", "path"), ("load_balancer", "config"),
                                    ("hazelcast", "legacy_paths", "*"))
TREES: tuple[Path_, ...] = (("clientmessenger", "target"),)
READ_FILES: tuple[Path_, ...] = (("load_balancer", "cert"), ("java", "rpm_path"),
                                 ("clientmessenger", "source"), ("portal", "shared_dir"))


def path_problem(value: str) -> str | None:
    """Why `value` is not a safe absolute path, or None."""
    if not value.startswith("/"):
        return _("not an absolute path (it must start with /)")
    if len(value) > MAX_PATH:
        return _("longer than {n} characters").format(n=MAX_PATH)
    if m := _CONTROL.search(value):
        what = {"\x00": N_("a NUL byte"), "\n": N_("a newline"), "\r": N_("a carriage return"),
                "\x1b": N_("an ESC (terminal escape)")}.get(m.group(0))
        what = _(what) if what else _("the control character {char}").format(char=repr(m.group(0)))
        return _("holds {what}").format(what=what)
    for bad, what in (("$(", N_("`$(` (command substitution)")), ("`", N_("a backtick")),
                      ('"', N_("a double quote")), ("'", N_("a single quote")), ("\\", N_("a backslash"))):
        if bad in value:
            return _("holds {what}").format(what=_(what))
    if ".." in value.split("/"):
        return _("holds a `..` segment (write the folder it means)")
    if value.strip("/") == "":
        return _("is / itself")
    return None


def _norm(value: str) -> str:
    return posixpath.normpath(value).replace("//", "/")


def system_file_problem(value: str) -> str | None:
    """Why the wizard must not write (or hand haproxy) the file `value`, or None."""
    p = _norm(value)
    if p in SYSTEM_FILES:
        return _("is a system file the procedure never writes")
    if p in SYSTEM_TREES or any(p == d for d in SYSTEM_DIRS):
        return _("is a system folder, not a file")
    for d in SYSTEM_DIRS:
        if p.startswith(d + "/"):
            return _("is under {folder}, where the procedure writes nothing").format(folder=d)
    return None


def tree_problem(value: str) -> str | None:
    """Why `value` cannot be a folder the wizard copies into and `chown -R`s, or None."""
    p = _norm(value).rstrip("/") or "/"
    if p in SYSTEM_TREES:
        return _("is a system folder: the wizard would `chown -R` it; name the ClientMessenger "
                 "folder itself, e.g. /home/jtel/ClientMessenger")
    for d in SYSTEM_DIRS + ("/etc", "/root", "/usr/share", "/usr/include", "/var/log"):
        if p == d or p.startswith(d + "/"):
            return _("is under {folder}: the wizard would `chown -R` a system folder").format(folder=d)
    return None


def service_problem(value: str) -> str | None:
    """Why `value` is not a service name (an /etc/init.d file name), or None."""
    if value in (".", ".."):
        return _(". and .. are folders, not services")
    if value.startswith("-"):
        return _("starts with -, which commands would read as an option")
    if value.startswith("."):
        return _("starts with a dot (a hidden file, not a service)")
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,100}", value):
        return _("only letters, digits and _ . @ - (at most 100)")
    return None


def url_problem(value: str, schemes: tuple[str, ...] = ("https",)) -> str | None:
    """Why `value` is not a plain URL with one of `schemes`, or None."""
    if m := _CONTROL.search(value):
        return _("holds a control character") + (" " + _("(ESC: a terminal escape)") if m.group(0) == "\x1b"
                                                 else " (NUL)" if m.group(0) == "\x00" else "")
    for bad, what in (('"', N_("a double quote")), ("'", N_("a single quote")), ("`", N_("a backtick")),
                      ("\\", N_("a backslash")), ("$(", "`$(`")):
        if bad in value:
            return _("holds {what}").format(what=_(what))
    if re.search(r"\s", value):
        return _("holds a blank")
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in schemes:
        return _("must start with {schemes}").format(schemes=_(" or ").join(s + "://" for s in schemes))
    return None


def problems(data: Any, get) -> list[tuple[Path_, str]]:
    """(key path, problem) for the written files and trees of `data` whose path form passed
    the schema (the caller filters those with schema errors)."""
    out: list[tuple[Path_, str]] = []

    def each(pattern: Path_):
        if pattern[-1] == "*":
            parent = get(data, *pattern[:-1])
            if isinstance(parent, dict):
                for k, v in parent.items():
                    yield pattern[:-1] + (k,), v
        else:
            yield pattern, get(data, *pattern)

    for pattern in WRITTEN_FILES + READ_FILES:
        for path, v in each(pattern):
            if isinstance(v, str) and (why := system_file_problem(v)):
                if pattern in READ_FILES and pattern != ("load_balancer", "cert"):
                    continue          # read from: a system file there is odd but harmless
                if pattern == ("load_balancer", "cert"):
                    why = _("is a system file, not haproxy's certificate")
                out.append((path, f"{v!r} {why}"))
    for pattern in TREES:
        for path, v in each(pattern):
            if isinstance(v, str) and (why := tree_problem(v)):
                out.append((path, f"{v!r} {why}"))
    return out
