"""File commands of the training host, with coreutils 8.22 (CentOS 7) semantics and messages:
cp mv rm mkdir rmdir chown chgrp chmod touch ln ls stat find install mktemp cat readlink
realpath basename dirname tee cmp."""
from __future__ import annotations

import fnmatch
import posixpath
import random
import re
import stat as stat_mod
import string
import time

from .fs import FsError, Node, UMASK
from .shell import Cmd, command, q, text

# -- option parsing ------------------------------------------------------------------------------


def opts(c: Cmd, flags: str, valued: str = "", long: dict | None = None,
         stop_at_operand: bool = False) -> tuple[set[str], dict[str, str], list[str]]:
    """Short flags (combinable), valued short options, long options mapped to short letters
    (`--recursive` -> "R", `--mode=` -> "m"). Returns (flags, values, operands)."""
    long = long or {}
    got, vals, ops = set(), {}, []
    args = list(c.args)
    while args:
        a = args.pop(0)
        if a == "--":
            ops.extend(args)
            break
        if a.startswith("--") and len(a) > 2:
            name, eq, val = a[2:].partition("=")
            key = long.get(name)
            if key is None:
                c.fail(f"{c.name}: unrecognized option '{a}'\nTry '{c.name} --help' for more information.")
            if key in valued:
                vals[key] = val if eq else (args.pop(0) if args else "")
            elif key:
                got.add(key)
            continue
        if a.startswith("-") and len(a) > 1:
            k = 1
            while k < len(a):
                ch = a[k]
                if ch in valued:
                    vals[ch] = a[k + 1:] or (args.pop(0) if args else c.fail(
                        f"{c.name}: option requires an argument -- '{ch}'\n"
                        f"Try '{c.name} --help' for more information."))
                    break
                if ch not in flags:
                    c.fail(f"{c.name}: invalid option -- '{ch}'\nTry '{c.name} --help' for more information.")
                got.add(ch)
                k += 1
            continue
        ops.append(a)
        if stop_at_operand:
            ops.extend(args)
            break
    return got, vals, ops


def missing_operand(c: Cmd, after: str | None = None):
    what = "missing operand" if c.name not in ("cp", "mv", "ln", "install") else "missing file operand"
    if after is not None:
        what = f"missing destination file operand after {q(after)}"
    c.fail(f"{c.name}: {what}\nTry '{c.name} --help' for more information.")


def new_node_owner(c: Cmd) -> tuple[str, str]:
    return c.user, c.primary_group()


def _basename(p: str) -> str:
    s = p.rstrip("/")
    return posixpath.basename(s) if s else "/"


def _join(a: str, b: str) -> str:
    return a + b if a.endswith("/") else f"{a}/{b}"


# -- cp ------------------------------------------------------------------------------------------

@command("cp")
def _cp(c: Cmd) -> int:
    fl, vals, ops = opts(c, "rRpafnvTdPLHiu", "t", {
        "recursive": "R", "archive": "a", "force": "f", "no-clobber": "n", "verbose": "v",
        "no-target-directory": "T", "target-directory": "t", "preserve": "p", "no-dereference": "P",
        "dereference": "L", "interactive": "i", "update": "u"})
    recursive = bool(fl & {"r", "R", "a"})
    preserve = bool(fl & {"p", "a"})
    follow_top = "L" in fl or "H" in fl or not recursive and "P" not in fl and "d" not in fl
    follow_in = "L" in fl
    if "t" in vals:
        target, sources = vals["t"], ops
        if not sources:
            missing_operand(c)
    else:
        if not ops:
            missing_operand(c)
        if len(ops) == 1:
            missing_operand(c, ops[0])
        sources, target = ops[:-1], ops[-1]
    if "T" in fl and len(sources) > 1:
        c.fail(f"cp: extra operand {q(ops[2])}\nTry 'cp --help' for more information.")
    try:
        _, tnode = c.lookup(target)
    except FsError:
        tnode = None
    into = tnode is not None and tnode.kind == "d" and "T" not in fl
    if (len(sources) > 1 or "t" in vals) and not into:
        c.fail(f"cp: target {q(target)} is not a directory")
    st = {"rc": 0}

    class IntoItself(Exception):
        pass

    def err(msg: str) -> None:
        c.err(f"cp: {msg}")
        st["rc"] = 1

    def copy(src: str, dst: str, follow: bool, skip: set[str]) -> None:
        try:
            sreal, snode = c.lookup(src, follow=follow)
        except FsError as e:
            return err(f"cannot stat {q(src)}: {e.strerror}")
        if snode is None:
            return err(f"cannot stat {q(src)}: No such file or directory")
        if sreal in skip:
            raise IntoItself()          # the copy being made is inside its source: stop there
        if snode.kind == "d":
            if not recursive:
                return err(f"omitting directory {q(src)}")
            if not c.fs.allowed(snode, c.user, "r") or not c.fs.allowed(snode, c.user, "x"):
                return err(f"cannot access {q(src)}: Permission denied")
            try:
                dreal, dnode = c.lookup(dst)
            except FsError as e:
                return err(f"cannot create directory {q(dst)}: {e.strerror}")
            if dnode is not None and dnode.kind != "d":
                return err(f"cannot overwrite non-directory {q(dst)} with directory {q(src)}")
            if dreal == sreal:
                return err(f"{q(src)} and {q(dst)} are the same file")
            if dnode is None:
                try:
                    c.fs.parent_writable(dreal, c.user, dst)
                except FsError as e:
                    return err(f"cannot create directory {q(dst)}: {e.strerror}")
                u, g = (snode.owner, snode.group) if preserve and c.root else new_node_owner(c)
                c.fs.put(dreal, Node("d", mode=snode.mode if preserve else snode.mode & ~UMASK,
                                     owner=u, group=g, mtime=snode.mtime if preserve else time.time()))
                if "v" in fl:
                    c.out(f"{q(src)} -> {q(dst)}")
            elif preserve:
                _meta(c, dnode, snode)
            skip = skip or {dreal}
            # coreutils reads a folder in inode order: the copy it just made (the newest inode)
            # comes last, so everything else is copied before "into itself" stops it
            for name in sorted(c.fs.children(sreal), key=lambda n: _join(sreal, n) in skip):
                copy(_join(src, name), _join(dst, name), follow_in, skip)
            return None
        if dst.endswith("/"):
            try:
                _, dn = c.lookup(dst)
            except FsError:
                dn = None
            if dn is None or dn.kind != "d":
                return err(f"cannot create regular file {q(dst)}: Not a directory")
        try:
            dreal, dnode = c.lookup(dst)
        except FsError as e:
            return err(f"cannot create regular file {q(dst)}: {e.strerror}")
        if dnode is not None and dnode.kind == "d":
            return err(f"cannot overwrite directory {q(dst)} with non-directory")
        if dnode is not None and dreal == sreal:
            return err(f"{q(src)} and {q(dst)} are the same file")
        if snode.kind != "l" and not c.fs.allowed(snode, c.user, "r"):
            return err(f"cannot open {q(src)} for reading: Permission denied")
        if dnode is not None and "n" in fl:
            return None
        if snode.kind == "l":
            if dnode is not None:
                c.fs.remove(dreal)
            u, g = new_node_owner(c)
            c.fs.put(dreal, Node("l", mode=0o777, owner=u, group=g, target=snode.target))
        elif dnode is not None and dnode.kind != "c":
            if not c.fs.allowed(dnode, c.user, "w"):
                if "f" not in fl:
                    return err(f"cannot create regular file {q(dst)}: Permission denied")
                c.fs.remove(dreal)
                dnode = None
            else:
                dnode.data, dnode.mtime = snode.data, time.time()
                if preserve:
                    _meta(c, dnode, snode)
                c.fs.changes += 1
        if dnode is None and snode.kind != "l":
            try:
                c.fs.parent_writable(dreal, c.user, dst)
            except FsError as e:
                return err(f"cannot create regular file {q(dst)}: {e.strerror}")
            u, g = (snode.owner, snode.group) if preserve and c.root else new_node_owner(c)
            c.fs.put(dreal, Node("f" if snode.kind == "f" else snode.kind, snode.data,
                                 snode.mode if preserve else snode.mode & ~UMASK, u, g,
                                 snode.mtime if preserve else time.time()))
        if "v" in fl:
            c.out(f"{q(src)} -> {q(dst)}")
        return None

    for src in sources:
        dst = _join(target, _basename(src)) if into else target
        try:
            copy(src, dst, follow_top, set())
        except IntoItself:
            err(f"cannot copy a directory, {q(src)}, into itself, {q(dst)}")
    return st["rc"]


def _meta(c: Cmd, dnode: Node, snode: Node) -> None:
    dnode.mode, dnode.mtime = snode.mode, snode.mtime
    if c.root:
        dnode.owner, dnode.group = snode.owner, snode.group
    c.fs.changes += 1


# -- mv, rm, mkdir, rmdir ------------------------------------------------------------------------

@command("mv")
def _mv(c: Cmd) -> int:
    fl, vals, ops = opts(c, "fnvTiu", "t", {"force": "f", "no-clobber": "n", "verbose": "v",
                                           "no-target-directory": "T", "target-directory": "t"})
    if "t" in vals:
        target, sources = vals["t"], ops
    else:
        if len(ops) < 2:
            missing_operand(c, ops[0] if ops else None) if ops else missing_operand(c)
        sources, target = ops[:-1], ops[-1]
    try:
        _, tnode = c.lookup(target)
    except FsError:
        tnode = None
    into = tnode is not None and tnode.kind == "d" and "T" not in fl
    if len(sources) > 1 and not into:
        c.fail(f"mv: target {q(target)} is not a directory")
    rc = 0
    for src in sources:
        dst = _join(target, _basename(src)) if into else target
        try:
            sreal, snode = c.lookup(src, follow=False)
            if snode is None:
                raise FsError("ENOENT")
        except FsError as e:
            c.err(f"mv: cannot stat {q(src)}: {e.strerror}")
            rc = 1
            continue
        try:
            dreal, dnode = c.lookup(dst, follow=False)
        except FsError as e:
            c.err(f"mv: cannot move {q(src)} to {q(dst)}: {e.strerror}")
            rc = 1
            continue
        msg = None
        if dreal == sreal:
            msg = f"{q(src)} and {q(dst)} are the same file"
        elif snode.kind == "d" and dreal.startswith(sreal + "/"):
            msg = f"cannot move {q(src)} to a subdirectory of itself, {q(dst)}"
        elif dnode is not None and dnode.kind == "d" and snode.kind != "d":
            msg = f"cannot overwrite directory {q(dst)} with non-directory"
        elif dnode is not None and dnode.kind != "d" and snode.kind == "d":
            msg = f"cannot overwrite non-directory {q(dst)} with directory {q(src)}"
        elif dnode is not None and dnode.kind == "d" and c.fs.children(dreal):
            msg = f"cannot move {q(src)} to {q(dst)}: Directory not empty"
        if msg is None and not c.root:
            try:
                c.fs.parent_writable(sreal, c.user, src)
                c.fs.parent_writable(dreal, c.user, dst)
            except FsError as e:
                msg = f"cannot move {q(src)} to {q(dst)}: {e.strerror}"
        if msg:
            c.err(f"mv: {msg}")
            rc = 1
            continue
        if dnode is not None and "n" in fl:
            continue
        c.fs.rename(sreal, dreal)
        if "v" in fl:
            c.out(f"{q(src)} -> {q(dst)}")
    return rc


@command("rm")
def _rm(c: Cmd) -> int:
    fl, _, ops = opts(c, "frRidvI", "", {"force": "f", "recursive": "R", "dir": "d", "verbose": "v",
                                         "no-preserve-root": "N", "interactive": ""})
    rec = bool(fl & {"r", "R"})
    if not ops and "f" not in fl:
        missing_operand(c)
    rc = 0
    for p in ops:
        if rec and c.abspath(p) == "/" and "N" not in fl:
            c.err("rm: it is dangerous to operate recursively on \u2018/\u2019\n"
                  "rm: use --no-preserve-root to override this failsafe")
            rc = 1
            continue
        if _basename(p) in (".", ".."):
            c.err(f"rm: cannot remove directory: {q(p)}")
            rc = 1
            continue
        try:
            real, node = c.lookup(p, follow=False)
            if node is None:
                raise FsError("ENOENT")
        except FsError as e:
            if not ("f" in fl and e.code == "ENOENT"):
                c.err(f"rm: cannot remove {q(p)}: {e.strerror}")
                rc = 1
            continue
        if node.kind == "d" and not rec and not ("d" in fl and not c.fs.children(real)):
            c.err(f"rm: cannot remove {q(p)}: Is a directory")
            rc = 1
            continue
        try:
            if not c.root:
                c.fs.parent_writable(real, c.user, p)
                for sub, n in c.fs.walk(real):
                    if n.kind == "d" and c.fs.children(sub) and not c.fs.allowed(n, c.user, "w"):
                        raise FsError("EACCES", sub)
        except FsError as e:
            c.err(f"rm: cannot remove {q(e.path or p)}: {e.strerror}")
            rc = 1
            continue
        if "v" in fl:
            for sub, n in reversed(list(c.fs.walk(real))):
                shown = p + sub[len(real):]
                c.out(f"removed directory: {q(shown)}" if n.kind == "d" else f"removed {q(shown)}")
        c.fs.rmtree(real)
    return rc


def _mode_arg(c: Cmd, spec: str, base: int, is_dir: bool) -> int:
    m = parse_mode(spec, base, is_dir)
    if m is None:
        c.fail(f"{c.name}: invalid mode: {q(spec)}\nTry '{c.name} --help' for more information.")
    return m


@command("mkdir")
def _mkdir(c: Cmd) -> int:
    fl, vals, ops = opts(c, "pv", "m", {"parents": "p", "verbose": "v", "mode": "m"})
    if not ops:
        missing_operand(c)
    mode = _mode_arg(c, vals["m"], 0o777 & ~UMASK, True) if "m" in vals else 0o777 & ~UMASK
    u, g = new_node_owner(c)
    rc = 0
    for p in ops:
        try:
            if "p" in fl:
                full = c.abspath(p)
                cur = "/"
                for part in [x for x in full.split("/") if x]:
                    cur = _join(cur, part)
                    real, node = c.lookup(cur)
                    if node is None:
                        c.fs.parent_writable(real, c.user, p)
                        c.fs.put(real, Node("d", mode=mode if cur == full else 0o755, owner=u, group=g))
                        if "v" in fl:
                            c.out(f"mkdir: created directory {q(cur)}")
                    elif node.kind != "d":
                        raise FsError("EEXIST" if cur == full else "ENOTDIR", p)
                continue
            real, node = c.lookup(p)
            if node is not None:
                raise FsError("EEXIST", p)
            c.fs.parent_writable(real, c.user, p)
            c.fs.put(real, Node("d", mode=mode, owner=u, group=g))
            if "v" in fl:
                c.out(f"mkdir: created directory {q(p)}")
        except FsError as e:
            c.err(f"mkdir: cannot create directory {q(p)}: {e.strerror}")
            rc = 1
    return rc


@command("rmdir")
def _rmdir(c: Cmd) -> int:
    fl, _, ops = opts(c, "pv", "", {"parents": "p", "ignore-fail-on-non-empty": ""})
    rc = 0
    for p in ops:
        try:
            real, node = c.lookup(p, follow=False)
            if node is None:
                raise FsError("ENOENT")
            if node.kind != "d":
                raise FsError("ENOTDIR")
            if not c.root:
                c.fs.parent_writable(real, c.user, p)
            c.fs.remove(real)
        except FsError as e:
            c.err(f"rmdir: failed to remove {q(p)}: {e.strerror}")
            rc = 1
    return rc


# -- chown, chgrp, chmod -------------------------------------------------------------------------

def _targets(c: Cmd, paths: list[str], recursive: bool, what: str):
    """(shown path, node) of each operand (and, with -R, everything below); errors reported."""
    rc = 0
    out = []
    for p in paths:
        try:
            real, node = c.lookup(p, follow=not recursive)
            if node is not None and node.kind == "l" and recursive:
                real, node = c.lookup(p)
            if node is None:
                raise FsError("ENOENT")
        except FsError as e:
            c.err(f"{c.name}: cannot access {q(p)}: {e.strerror}")
            rc = 1
            continue
        if recursive:
            for sub, n in c.fs.walk(real):
                out.append((p + sub[len(real):], n))
        else:
            out.append((p, node))
    return out, rc


@command("chown", "chgrp")
def _chown(c: Cmd) -> int:
    fl, vals, ops = opts(c, "RhvcfHLP", "", {"recursive": "R", "verbose": "v", "changes": "c",
                                            "silent": "f", "quiet": "f", "no-dereference": "h",
                                            "dereference": "", "reference": "r"}, )
    if len(ops) < 2:
        if not ops:
            missing_operand(c)
        c.fail(f"{c.name}: missing operand after {q(ops[0])}\nTry '{c.name} --help' for more information.")
    spec, paths = ops[0], ops[1:]
    users, groups = c.host.state["users"], c.host.state["groups"]
    uid_name = {str(v[0]): k for k, v in users.items()}
    gid_name = {str(v[0]): k for k, v in groups.items()}
    if c.name == "chgrp":
        user, group = None, spec
    else:
        m = re.fullmatch(r"([^:.]*)(?:([:.])(.*))?", spec)
        user, sep, group = m.group(1) or None, m.group(2), m.group(3)
        if sep and group == "" and user:
            group = users[user][1] if user in users else None
        elif not group:
            group = None
    if user is not None:
        user = uid_name.get(user, user)
        if user not in users:
            c.fail(f"{c.name}: invalid user: {q(spec)}")
    if group is not None:
        group = gid_name.get(group, group)
        if group not in groups:
            c.fail(f"{c.name}: invalid group: {q(spec)}")
    targets, rc = _targets(c, paths, "R" in fl, "ownership")
    for shown, node in targets:
        if not c.root and (user not in (None, node.owner) or node.owner != c.user
                           or group is not None and group not in c.host.groups_of(c.user)):
            if "f" not in fl:
                c.err(f"{c.name}: changing {'group' if c.name == 'chgrp' else 'ownership'} of "
                      f"{q(shown)}: Operation not permitted")
            rc = 1
            continue
        old = (node.owner, node.group)
        node.owner = user or node.owner
        node.group = group or node.group
        if "v" in fl or ("c" in fl and old != (node.owner, node.group)):
            c.out(f"changed ownership of {q(shown)} from {old[0]}:{old[1]} to {node.owner}:{node.group}")
    c.fs.changes += 1
    return rc


def parse_mode(spec: str, mode: int, is_dir: bool) -> int | None:
    """chmod's MODE (octal or symbolic, comma-separated clauses) applied to `mode`; None if invalid."""
    if re.fullmatch(r"[0-7]{1,4}", spec):
        new = int(spec, 8)
        if is_dir and len(spec) < 4:
            new |= mode & 0o6000            # GNU keeps a folder's setuid/setgid bits here
        return new
    for clause in spec.split(","):
        m = re.fullmatch(r"([ugoa]*)((?:[-+=][rwxXstugo]*)+)", clause)
        if not m:
            return None
        who = m.group(1)
        if not who:
            mask = 0o7777 & ~UMASK
        else:
            mask = 0
            for w in who:
                mask |= {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}[w]
        for op, perms in re.findall(r"([-+=])([rwxXstugo]*)", m.group(2)):
            bits = 0
            for p in perms:
                if p in "ugo":
                    shift = {"u": 6, "g": 3, "o": 0}[p]
                    v = (mode >> shift) & 7
                    bits |= v << 6 | v << 3 | v
                else:
                    bits |= {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000,
                             "X": 0o111 if is_dir or mode & 0o111 else 0}[p]
            if op == "+":
                mode |= bits & mask
            elif op == "-":
                mode &= ~(bits & mask)
            else:
                full = mask if who else 0o7777
                mode = (mode & ~full) | (bits & mask)
    return mode


@command("chmod")
def _chmod(c: Cmd) -> int:
    fl, spec, paths = set(), None, []
    args = list(c.args)
    while args:
        a = args.pop(0)
        if a == "--":
            if spec is None and args:
                spec = args.pop(0)
            paths.extend(args)
            break
        if spec is None and re.fullmatch(r"-[rwxXst]+(,.*)?", a):
            spec = a
        elif a.startswith("--"):
            long_ = {"--recursive": "R", "--verbose": "v", "--changes": "c", "--silent": "f",
                     "--quiet": "f"}.get(a)
            if long_ is None:
                c.fail(f"chmod: unrecognized option '{a}'\nTry 'chmod --help' for more information.")
            fl.add(long_)
        elif a.startswith("-") and len(a) > 1:
            for ch in a[1:]:
                if ch not in "Rvcf":
                    c.fail(f"chmod: invalid option -- '{ch}'\nTry 'chmod --help' for more information.")
                fl.add(ch)
        elif spec is None:
            spec = a
        else:
            paths.append(a)
    if spec is None:
        missing_operand(c)
    if not paths:
        c.fail(f"chmod: missing operand after {q(spec)}\nTry 'chmod --help' for more information.")
    if parse_mode(spec, 0o644, False) is None:
        c.fail(f"chmod: invalid mode: {q(spec)}\nTry 'chmod --help' for more information.")
    targets, rc = _targets(c, paths, "R" in fl, "permissions")
    for shown, node in targets:
        if node.kind == "l":
            continue
        if not c.root and node.owner != c.user:
            c.err(f"chmod: changing permissions of {q(shown)}: Operation not permitted")
            rc = 1
            continue
        old = node.mode
        node.mode = parse_mode(spec, node.mode, node.kind == "d")
        if "v" in fl:
            c.out(f"mode of {q(shown)} changed from {old:04o} ({_perm_string(node.kind, old)[1:]}) "
                  f"to {node.mode:04o} ({_perm_string(node.kind, node.mode)[1:]})")
    c.fs.changes += 1
    return rc


# -- touch, ln, install, mktemp ------------------------------------------------------------------

@command("touch")
def _touch(c: Cmd) -> int:
    fl, vals, ops = opts(c, "acmh", "dtr", {"no-create": "c", "date": "d", "reference": "r"})
    if not ops:
        missing_operand(c)
    rc = 0
    for p in ops:
        try:
            real, node = c.lookup(p)
            if node is None:
                if "c" in fl:
                    continue
                c.fs.parent_writable(real, c.user, p)
                u, g = new_node_owner(c)
                c.fs.put(real, Node("f", b"", 0o666 & ~UMASK, u, g))
            else:
                if not c.root and node.owner != c.user and not c.fs.allowed(node, c.user, "w"):
                    raise FsError("EACCES")
                node.mtime = time.time()
                c.fs.changes += 1
        except FsError as e:
            c.err(f"touch: cannot touch {q(p)}: {e.strerror}")
            rc = 1
    return rc


@command("ln")
def _ln(c: Cmd) -> int:
    fl, vals, ops = opts(c, "sfnvTr", "t", {"symbolic": "s", "force": "f", "no-dereference": "n",
                                           "verbose": "v", "target-directory": "t"})
    if "s" not in fl:
        c.fail("training host: hard links (ln without -s) are not simulated")
    if "t" in vals:
        target_dir, targets = vals["t"], ops
    elif len(ops) == 1:
        target_dir, targets = ".", ops
    elif len(ops) >= 2:
        target_dir, targets = ops[-1], ops[:-1]
    else:
        missing_operand(c)
    _, dnode = c.lookup(target_dir, follow="n" not in fl)
    into = dnode is not None and dnode.kind == "d" and "T" not in fl
    if len(targets) > 1 and not into:
        c.fail(f"ln: target {q(target_dir)} is not a directory")
    rc = 0
    for t in targets:
        name = _join(target_dir, _basename(t)) if into else target_dir
        try:
            real, node = c.lookup(name, follow=False)
            if node is not None:
                if "f" not in fl:
                    raise FsError("EEXIST")
                if node.kind == "d":
                    raise FsError("EISDIR")
                c.fs.remove(real)
            c.fs.parent_writable(real, c.user, name)
            u, g = new_node_owner(c)
            c.fs.put(real, Node("l", mode=0o777, owner=u, group=g, target=t))
            if "v" in fl:
                c.out(f"{q(name)} -> {q(t)}")
        except FsError as e:
            c.err(f"ln: failed to create symbolic link {q(name)}: {e.strerror}")
            rc = 1
    return rc


@command("install")
def _install(c: Cmd) -> int:
    fl, vals, ops = opts(c, "dDpvCcsb", "mogtS", {"directory": "d", "mode": "m", "owner": "o",
                                                 "group": "g", "target-directory": "t", "verbose": "v",
                                                 "preserve-timestamps": "p", "compare": "C"})
    mode = _mode_arg(c, vals["m"], 0o755, False) if "m" in vals else 0o755
    users, groups = c.host.state["users"], c.host.state["groups"]
    owner = vals.get("o", c.user)
    group = vals.get("g", users.get(owner, [0, c.primary_group()])[1])
    if owner not in users:
        c.fail(f"install: invalid user {q(owner)}")
    if group not in groups:
        c.fail(f"install: invalid group {q(group)}")
    if ("o" in vals or "g" in vals) and not c.root:
        c.fail("install: cannot change ownership: Operation not permitted")
    if "d" in fl:
        for p in ops:
            c.fs.makedirs(c.fs.resolve(p, cwd=c.cwd), owner=owner, group=group)
            c.fs.nodes[c.fs.resolve(p, cwd=c.cwd)].mode = mode
        return 0
    if "t" in vals:
        dest_dir, sources = vals["t"], ops
    elif len(ops) >= 2:
        sources, dest_dir = ops[:-1], ops[-1]
    else:
        missing_operand(c, ops[0] if ops else None) if ops else missing_operand(c)
    if "D" in fl:
        c.fs.makedirs(posixpath.dirname(c.fs.resolve(dest_dir, cwd=c.cwd)) or "/")
    _, dnode = c.lookup(dest_dir)
    into = dnode is not None and dnode.kind == "d"
    if len(sources) > 1 and not into:
        c.fail(f"install: target {q(dest_dir)} is not a directory")
    rc = 0
    for s in sources:
        dst = _join(dest_dir, _basename(s)) if into else dest_dir
        try:
            data = c.read(s)
            real, node = c.lookup(dst)
            if node is not None:
                c.fs.remove(real)
            c.fs.parent_writable(real, c.user, dst)
            c.fs.put(real, Node("f", data, mode, owner, group))
            if "v" in fl:
                c.out(f"{q(s)} -> {q(dst)}")
        except FsError as e:
            c.err(f"install: cannot install {q(s)} to {q(dst)}: {e.strerror}")
            rc = 1
    return rc


@command("mktemp")
def _mktemp(c: Cmd) -> int:
    fl, vals, ops = opts(c, "dtuq", "p", {"directory": "d", "tmpdir": "p", "dry-run": "u", "quiet": "q"})
    template = ops[0] if ops else "tmp.XXXXXXXXXX"
    n = len(template) - len(template.rstrip("X"))
    if n < 3:
        c.fail(f"mktemp: too few X's in template {q(template)}")
    name = template[:-n] + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(n))
    if "/" not in template or "p" in vals or "t" in fl:
        name = _join(vals.get("p") or c.sh.vars.get("TMPDIR") or "/tmp", name)
    real, _ = c.lookup(name)
    u, g = new_node_owner(c)
    if "u" not in fl:
        c.fs.parent_writable(real, c.user, name)
        c.fs.put(real, Node("d", mode=0o700, owner=u, group=g) if "d" in fl
                 else Node("f", b"", 0o600, u, g))
    c.out(name)
    return 0


# -- reading -------------------------------------------------------------------------------------

@command("cat")
def _cat(c: Cmd) -> int:
    fl, _, ops = opts(c, "nAvetsbETu", "", {"number": "n", "show-all": "A"})
    rc = 0
    for p in ops or ["-"]:
        try:
            data = text(c.read(p))
        except FsError as e:
            c.err(f"cat: {p}: {e.strerror}")
            rc = 1
            continue
        if "n" in fl:
            lines = data.splitlines(True)
            data = "".join(f"{k:6d}\t{line}" for k, line in enumerate(lines, 1))
        if fl & {"A", "E", "e"}:
            data = data.replace("\r", "^M").replace("\n", "$\n")
        c.out(data, end="")
    return rc


@command("readlink", "realpath")
def _readlink(c: Cmd) -> int:
    fl, _, ops = opts(c, "femnqsvz", "", {"canonicalize": "f", "canonicalize-existing": "e",
                                         "canonicalize-missing": "m", "no-newline": "n"})
    if not ops:
        missing_operand(c)
    rc = 0
    for p in ops:
        try:
            if c.name == "realpath" or fl & {"f", "e", "m"}:
                real, node = c.lookup(p)
                if node is None and ("e" in fl or c.name == "realpath" and "m" not in fl):
                    raise FsError("ENOENT")
                c.out(real, end="" if "n" in fl else "\n")
            else:
                _, node = c.lookup(p, follow=False)
                if node is None or node.kind != "l":
                    rc = 1
                    continue
                c.out(node.target, end="" if "n" in fl else "\n")
        except FsError as e:
            if c.name == "realpath":
                c.err(f"realpath: {p}: {e.strerror}")
            rc = 1
    return rc


@command("basename")
def _basename_cmd(c: Cmd) -> int:
    args = [a for a in c.args if a != "--"]
    if not args:
        missing_operand(c)
    b = _basename(args[0])
    if len(args) > 1 and b.endswith(args[1]) and b != args[1]:
        b = b[:-len(args[1])]
    c.out(b)
    return 0


@command("dirname")
def _dirname(c: Cmd) -> int:
    if not c.args:
        missing_operand(c)
    for a in c.args:
        s = a.rstrip("/") or "/"
        d = posixpath.dirname(s).rstrip("/") if "/" in s else "."
        c.out(d or "/")
    return 0


@command("tee")
def _tee(c: Cmd) -> int:
    fl, _, ops = opts(c, "ai", "", {"append": "a"})
    data = c.stdin()
    rc = 0
    for p in ops:
        try:
            sink = c.sh.open_out(p, append="a" in fl, fds={1: c.io.out, 2: c.io.err})
            sink.write(data)
            sink.close()
        except Exception as e:          # _RedirError carries "path: reason"
            c.err(f"tee: {e}")
            rc = 1
    c.out(data, end="")
    return rc


@command("cmp")
def _cmp(c: Cmd) -> int:
    fl, _, ops = opts(c, "sl", "", {"silent": "s", "quiet": "s"})
    if len(ops) < 2:
        c.fail(f"cmp: missing operand after {q(ops[0]) if ops else ''}", 2)
    try:
        a, b = c.read(ops[0]), c.read(ops[1])
    except FsError as e:
        c.fail(f"cmp: {e}", 2)
    if a == b:
        return 0
    if "s" not in fl:
        n = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        if n >= min(len(a), len(b)):
            c.err(f"cmp: EOF on {ops[0] if len(a) < len(b) else ops[1]}")
        else:
            line_no = a[:n].count(b"\n") + 1
            c.out(f"{ops[0]} {ops[1]} differ: byte {n + 1}, line {line_no}")
    return 1


# -- ls, stat ------------------------------------------------------------------------------------

def _perm_string(kind: str, mode: int) -> str:
    t = {"d": "d", "l": "l", "c": "c"}.get(kind, "-")
    out = ""
    for shift, special, ch in ((6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")):
        bits = (mode >> shift) & 7
        x = bits & 1
        xs = (ch if x else ch.upper()) if mode & special else ("x" if x else "-")
        out += ("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + xs
    return t + out


def _size(node: Node) -> int:
    return {"d": 4096, "l": len(node.target), "c": 0}.get(node.kind, len(node.data))


def _uid(c: Cmd, user: str) -> int:
    return c.host.state["users"].get(user, [0])[0]


def _gid(c: Cmd, group: str) -> int:
    return c.host.state["groups"].get(group, [0])[0]


@command("ls")
def _ls(c: Cmd) -> int:
    fl, _, ops = opts(c, "laAd1hrtFRiZn", "", {"all": "a", "directory": "d", "almost-all": "A",
                                               "color": "", "human-readable": "h"})
    long_ = "l" in fl or "n" in fl
    rc = 0

    def line(name: str, node: Node) -> str:
        if not long_:
            return name
        when = time.strftime("%b %e %H:%M", time.localtime(node.mtime))
        owner = str(_uid(c, node.owner)) if "n" in fl else node.owner
        group = str(_gid(c, node.group)) if "n" in fl else node.group
        tail = f" -> {node.target}" if node.kind == "l" else ""
        return (f"{_perm_string(node.kind, node.mode)}. 1 {owner} {group} {_size(node):>5} "
                f"{when} {name}{tail}")

    files, dirs = [], []
    for p in ops or ["."]:
        try:
            real, node = c.lookup(p, follow="d" not in fl and "l" not in fl or p.endswith("/"))
            if node is not None and node.kind == "l" and not long_:
                real, node = c.lookup(p)
            if node is None:
                raise FsError("ENOENT")
        except FsError as e:
            c.err(f"ls: cannot access {p}: {e.strerror}")
            rc = 2
            continue
        (dirs if node.kind == "d" and "d" not in fl else files).append((p, real, node))
    for p, _, node in files:
        c.out(line(p, node))
    for k, (p, real, node) in enumerate(dirs):
        if len(ops) > 1:
            c.out(("\n" if files or k else "") + f"{p}:")
        if not c.fs.allowed(node, c.user, "r"):
            c.err(f"ls: cannot open directory {p}: Permission denied")
            rc = 2
            continue
        names = c.fs.children(real)
        if "a" in fl:
            names = [".", ".."] + names
        elif "A" not in fl:
            names = [n for n in names if not n.startswith(".")]
        if long_:
            c.out(f"total {sum(-(-_size(c.fs.nodes.get(_join(real, n), node)) // 4096) * 4 for n in names)}")
        for n in names:
            child = node if n in (".", "..") else c.fs.nodes[_join(real, n)]
            c.out(line(n, child))
    return rc


_FILE_TYPE = {"f": "regular file", "d": "directory", "l": "symbolic link", "c": "character special file"}


def stat_format(c: Cmd, fmt: str, shown: str, node: Node) -> str:
    def field(m: re.Match) -> str:
        f = m.group(1)
        return {
            "a": f"{node.mode & 0o7777:o}", "A": _perm_string(node.kind, node.mode),
            "U": node.owner, "G": node.group, "u": str(_uid(c, node.owner)), "g": str(_gid(c, node.group)),
            "n": shown, "N": q(shown) + (f" -> {q(node.target)}" if node.kind == "l" else ""),
            "s": str(_size(node)),
            "F": "regular empty file" if node.kind == "f" and not node.data else _FILE_TYPE[node.kind],
            "Y": str(int(node.mtime)), "X": str(int(node.mtime)), "Z": str(int(node.mtime)),
            "y": time.strftime("%Y-%m-%d %H:%M:%S.000000000 +0000", time.gmtime(node.mtime)),
            "h": "1", "i": str(abs(hash(shown)) % 100000000), "f": f"{_raw_mode(node):x}",
            "b": str(-(-_size(node) // 512)), "B": "512", "o": "4096", "C": "unconfined_u:object_r:default_t:s0",
            "%": "%",
        }.get(f, "?")
    return re.sub(r"%([a-zA-Z%])", field, fmt)


def _raw_mode(node: Node) -> int:
    return {"f": stat_mod.S_IFREG, "d": stat_mod.S_IFDIR, "l": stat_mod.S_IFLNK,
            "c": stat_mod.S_IFCHR}[node.kind] | node.mode


@command("stat")
def _stat(c: Cmd) -> int:
    fl, vals, ops = opts(c, "Lft", "c", {"format": "c", "printf": "P", "dereference": "L"})
    fmt, printf = vals.get("c"), vals.get("P")
    if not ops:
        missing_operand(c)
    rc = 0
    for p in ops:
        try:
            _, node = c.lookup(p, follow="L" in fl)
            if node is None:
                raise FsError("ENOENT")
        except FsError as e:
            c.err(f"stat: cannot stat {q(p)}: {e.strerror}")
            rc = 1
            continue
        if printf is not None:
            from .text import unescape
            c.out(stat_format(c, unescape(printf), p, node), end="")
        elif fmt is not None:
            c.out(stat_format(c, fmt, p, node))
        else:
            when = time.strftime("%Y-%m-%d %H:%M:%S.000000000 +0000", time.gmtime(node.mtime))
            c.out(f"  File: {stat_format(c, '%N', p, node)}\n"
                  f"  Size: {_size(node):<10}\tBlocks: {-(-_size(node) // 512):<10} IO Block: 4096   "
                  f"{stat_format(c, '%F', p, node)}\n"
                  f"Device: fd00h/64768d\tInode: {stat_format(c, '%i', p, node):<11} Links: 1\n"
                  f"Access: ({node.mode & 0o7777:04o}/{_perm_string(node.kind, node.mode)})  "
                  f"Uid: ({_uid(c, node.owner):5d}/{node.owner:>8})   Gid: ({_gid(c, node.group):5d}/{node.group:>8})\n"
                  f"Context: unconfined_u:object_r:default_t:s0\n"
                  f"Access: {when}\nModify: {when}\nChange: {when}\n Birth: -")
    return rc


# -- find ----------------------------------------------------------------------------------------

class _Quit(Exception):
    pass


_ACTIONS = {"-print", "-print0", "-exec", "-execdir", "-ok", "-delete", "-ls", "-quit", "-fprint", "-printf"}


@command("find")
def _find(c: Cmd) -> int:
    args = list(c.args)
    while args and args[0] in ("-H", "-L", "-P"):
        args.pop(0)
    starts = []
    while args and not args[0].startswith("-") and args[0] not in ("(", "!", ")"):
        starts.append(args.pop(0))
    starts = starts or ["."]
    opt = {"maxdepth": None, "mindepth": 0, "depth": False}
    toks = []
    while args:
        a = args.pop(0)
        if a in ("-maxdepth", "-mindepth"):
            if not args or not args[0].isdigit():
                c.fail(f"find: Expected a positive decimal integer argument to {a}, but got {q(args[0] if args else '')}")
            opt[a[1:]] = int(args.pop(0))
        elif a in ("-depth", "-d"):
            opt["depth"] = True
        elif a in ("-xdev", "-mount", "-noleaf", "-follow", "-ignore_readdir_race"):
            pass
        else:
            toks.append(a)
    if "-delete" in toks:
        opt["depth"] = True
    users, groups = c.host.state["users"], c.host.state["groups"]
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        if pos > len(toks):
            c.fail(f"find: missing argument to {q(toks[-1])}")
        return toks[pos - 1]

    def arg(name):
        if pos >= len(toks):
            c.fail(f"find: missing argument to {q(name)}")
        return take()

    def primary():
        t = take()
        if t in ("!", "-not"):
            inner = primary()
            return lambda e: not inner(e)
        if t == "(":
            inner = expr()
            if peek() != ")":
                c.fail("find: invalid expression; you have too many '('")
            take()
            return inner
        if t in ("-name", "-iname"):
            pat = arg(t)
            if t == "-iname":
                return lambda e: fnmatch.fnmatchcase(_basename(e[0]).lower(), pat.lower())
            return lambda e: fnmatch.fnmatchcase(_basename(e[0]) if e[0] != "/" else "/", pat)
        if t in ("-path", "-wholename"):
            pat = arg(t)
            return lambda e: fnmatch.fnmatchcase(e[0], pat)
        if t == "-type":
            ty = arg(t)
            want = {"f": "f", "d": "d", "l": "l", "c": "c"}.get(ty)
            if want is None:
                c.fail(f"find: Unknown argument to -type: {ty}")
            return lambda e: e[2].kind == want
        if t == "-user":
            u = arg(t)
            name = {str(v[0]): k for k, v in users.items()}.get(u, u)
            if name not in users:
                c.fail(f"find: {q(u)} is not the name of a known user")
            return lambda e: e[2].owner == name
        if t == "-group":
            g = arg(t)
            name = {str(v[0]): k for k, v in groups.items()}.get(g, g)
            if name not in groups:
                c.fail(f"find: {q(g)} is not the name of an existing group")
            return lambda e: e[2].group == name
        if t == "-nouser":
            return lambda e: e[2].owner not in users
        if t == "-nogroup":
            return lambda e: e[2].group not in groups
        if t == "-perm":
            spec = arg(t)
            kind, digits = (spec[0], spec[1:]) if spec[:1] in "-/" else ("=", spec)
            if not re.fullmatch(r"[0-7]{1,4}", digits):
                c.fail(f"find: invalid mode {q(spec)}")
            m = int(digits, 8)
            if kind == "-":
                return lambda e: e[2].mode & m == m
            if kind == "/":
                return lambda e: bool(e[2].mode & m) or m == 0
            return lambda e: e[2].mode & 0o7777 == m
        if t == "-empty":
            return lambda e: (not e[2].data) if e[2].kind == "f" else (
                e[2].kind == "d" and not c.fs.children(e[1]))
        if t == "-newer":
            ref = c.fs.get(c.abspath(arg(t)))
            if ref is None:
                c.fail(f"find: {q(toks[pos - 1])}: No such file or directory")
            return lambda e: e[2].mtime > ref.mtime
        if t in ("-readable", "-writable", "-executable"):
            return lambda e: c.fs.allowed(e[2], c.user, t[1])
        if t == "-true":
            return lambda e: True
        if t == "-false":
            return lambda e: False
        if t == "-prune":
            return lambda e: e[3].__setitem__("prune", True) or True
        if t == "-print":
            return lambda e: c.out(e[0]) or True
        if t == "-print0":
            return lambda e: c.out(e[0], end="\0") or True
        if t == "-ls":
            return lambda e: c.out(f"{stat_format(c, '%i', e[0], e[2]):>9} {_size(e[2]) // 1024:>6} "
                                   f"{_perm_string(e[2].kind, e[2].mode)}   1 {e[2].owner:<8} "
                                   f"{e[2].group:<8} {_size(e[2]):>8} "
                                   f"{time.strftime('%b %e %H:%M', time.localtime(e[2].mtime))} {e[0]}") or True
        if t == "-quit":
            def quit_(e):
                raise _Quit()
            return quit_
        if t == "-delete":
            def delete(e):
                try:
                    c.fs.remove(e[1])
                    return True
                except FsError as err:
                    c.err(f"find: cannot delete {q(e[0])}: {err.strerror}")
                    state["rc"] = 1
                    return False
            return delete
        if t in ("-exec", "-execdir", "-ok"):
            cmd = []
            while peek() not in (";", "+", None):
                cmd.append(take())
            if peek() is None:
                c.fail(f"find: missing argument to {q(t)}")
            end = take()
            if end == "+":
                batch = state.setdefault("batches", [])
                entry = (cmd, [])
                batch.append(entry)
                return lambda e: entry[1].append(e[0]) or True
            return lambda e: c.run([x.replace("{}", e[0]) for x in cmd]) == 0
        c.fail(f"find: unknown predicate {q(t)}")

    def conj():
        left = primary()
        while peek() not in (None, "-o", "-or", ")", ","):
            if peek() in ("-a", "-and"):
                take()
            right = primary()
            left = (lambda l, r: lambda e: l(e) and r(e))(left, right)
        return left

    def expr():
        left = conj()
        while peek() in ("-o", "-or"):
            take()
            right = conj()
            left = (lambda l, r: lambda e: l(e) or r(e))(left, right)
        return left

    state: dict = {"rc": 0}
    test = expr() if toks else (lambda e: True)
    if pos < len(toks):
        c.fail(f"find: paths must precede expression: {toks[pos]}" if toks[pos] != ")"
               else "find: invalid expression; you have used a binary operator ')' with nothing before it.")
    if not _ACTIONS & set(toks):
        inner = test
        test = lambda e: inner(e) and (c.out(e[0]) or True)

    def visit(shown: str, real: str, node: Node, depth: int) -> None:
        flags: dict = {}
        entry = (shown, real, node, flags)
        if not opt["depth"] and depth >= opt["mindepth"]:
            test(entry)
        if node.kind == "d" and (opt["maxdepth"] is None or depth < opt["maxdepth"]) and not flags.get("prune"):
            if not c.fs.allowed(node, c.user, "r") or not c.fs.allowed(node, c.user, "x"):
                c.err(f"find: {q(shown)}: Permission denied")
                state["rc"] = 1
            else:
                for name in c.fs.children(real):
                    child = c.fs.nodes.get(_join(real, name))
                    if child is not None:
                        visit(_join(shown, name), _join(real, name), child, depth + 1)
        if opt["depth"] and depth >= opt["mindepth"]:
            test(entry)

    try:
        for s in starts:
            try:
                real, node = c.lookup(s, follow=False)
                if node is not None and node.kind == "l" and s.endswith("/"):
                    real, node = c.lookup(s)
                if node is None:
                    raise FsError("ENOENT")
            except FsError as e:
                c.err(f"find: {q(s)}: {e.strerror}")
                state["rc"] = 1
                continue
            visit(s, real, node, 0)
    except _Quit:
        pass
    for cmd, items in state.get("batches", []):
        if items:
            argv = []
            for x in cmd:
                argv.extend(items if x == "{}" else [x])
            if c.run(argv) != 0:
                state["rc"] = 1
    return state["rc"]
