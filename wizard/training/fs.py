"""The training host's file system: an in-memory tree of files, folders and symlinks.

Paths are absolute POSIX strings. Lookups resolve symlinks the way the kernel does
(`/etc/init.d/x` reaches `/etc/rc.d/init.d/x`), and permission checks follow the
owner/group/other bits, so a non-root login meets "Permission denied" where a real
CentOS 7 would give it.
"""
from __future__ import annotations

import base64
import posixpath
import time
from dataclasses import dataclass, field

UMASK = 0o022

_MESSAGES = {"ENOENT": "No such file or directory", "ENOTDIR": "Not a directory",
             "EISDIR": "Is a directory", "EACCES": "Permission denied", "EEXIST": "File exists",
             "ENOTEMPTY": "Directory not empty", "ELOOP": "Too many levels of symbolic links",
             "EPERM": "Operation not permitted", "EINVAL": "Invalid argument",
             "EXDEV": "Invalid cross-device link"}


class FsError(Exception):
    """A failed file operation; `strerror` is the C library's text for `code`."""

    def __init__(self, code: str, path: str = ""):
        self.code, self.path = code, path
        super().__init__(f"{path}: {self.strerror}" if path else self.strerror)

    @property
    def strerror(self) -> str:
        return _MESSAGES.get(self.code, self.code)


@dataclass
class Node:
    """One inode: kind "f" (file), "d" (folder), "l" (symlink) or "c" (device such as /dev/null)."""

    kind: str
    data: bytes = b""
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    mtime: float = field(default_factory=time.time)
    target: str = ""

    def copy(self) -> "Node":
        return Node(self.kind, self.data, self.mode, self.owner, self.group, self.mtime, self.target)

    @property
    def is_dir(self) -> bool:
        return self.kind == "d"

    def to_json(self) -> dict:
        d = {"k": self.kind, "mode": self.mode, "owner": self.owner, "group": self.group,
             "mtime": round(self.mtime, 3)}
        if self.kind == "l":
            d["target"] = self.target
        elif self.kind == "f":
            try:
                d["text"] = self.data.decode("utf-8")
            except UnicodeDecodeError:
                d["b64"] = base64.b64encode(self.data).decode("ascii")
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Node":
        data = d["text"].encode("utf-8") if "text" in d else base64.b64decode(d.get("b64", ""))
        return cls(d["k"], data, d["mode"], d["owner"], d["group"], d.get("mtime", 0.0),
                   d.get("target", ""))


def abspath(path: str, cwd: str = "/") -> str:
    """`path` made absolute against cwd, without resolving symlinks or '..'."""
    return path if path.startswith("/") else posixpath.join(cwd, path)


class FileSystem:
    """Nodes by canonical path, plus an index of each folder's entries."""

    def __init__(self, groups_of=lambda user: ()):
        self.nodes: dict[str, Node] = {"/": Node("d", mode=0o555)}
        self.kids: dict[str, set[str]] = {"/": set()}
        self.groups_of = groups_of        # user -> group names (for permission checks)
        self.changes = 0                  # bumped by every mutation (persistence watches it)

    # -- resolution ---------------------------------------------------------------------
    def resolve(self, path: str, *, cwd: str = "/", user: str = "root", follow: bool = True) -> str:
        """The canonical path of `path`; symlinks in folder components are always followed,
        the last one only when `follow`. The last component need not exist. Raises FsError."""
        full = abspath(path, cwd)
        if full.endswith("/") and full != "/":
            follow = True
        todo = [p for p in full.split("/") if p]
        cur, hops = "/", 0
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                cur = posixpath.dirname(cur) or "/"
                continue
            dnode = self.nodes[cur]
            if user != "root" and not self.allowed(dnode, user, "x"):
                raise FsError("EACCES", path)
            nxt = posixpath.join(cur, name)
            node = self.nodes.get(nxt)
            last = not todo
            if node is None:
                if last:
                    return nxt
                raise FsError("ENOENT", path)
            if node.kind == "l" and (follow or not last):
                hops += 1
                if hops > 40:
                    raise FsError("ELOOP", path)
                if node.target.startswith("/"):
                    cur = "/"
                todo = [p for p in node.target.split("/") if p] + todo
                continue
            if not last and node.kind != "d":
                raise FsError("ENOTDIR", path)
            cur = nxt
        if full.endswith("/") and cur in self.nodes and self.nodes[cur].kind != "d":
            raise FsError("ENOTDIR", path)
        return cur

    def lookup(self, path: str, *, cwd: str = "/", user: str = "root",
               follow: bool = True) -> tuple[str, Node | None]:
        """(canonical path, node or None when absent); raises FsError for a broken path."""
        real = self.resolve(path, cwd=cwd, user=user, follow=follow)
        return real, self.nodes.get(real)

    def get(self, path: str, *, follow: bool = True) -> Node | None:
        """The node at `path`, None when absent or unreachable (no permission check)."""
        try:
            return self.nodes.get(self.resolve(path, follow=follow))
        except FsError:
            return None

    def children(self, real: str) -> list[str]:
        return sorted(self.kids.get(real, ()))

    def walk(self, real: str):
        """(path, node) of `real` and everything below it, parents first; symlinks not followed."""
        node = self.nodes.get(real)
        if node is None:
            return
        yield real, node
        if node.kind == "d":
            for name in self.children(real):
                yield from self.walk(posixpath.join(real, name))

    # -- permissions ----------------------------------------------------------------------
    def allowed(self, node: Node, user: str, perm: str) -> bool:
        if user == "root":
            return perm != "x" or node.kind == "d" or bool(node.mode & 0o111)
        bit = {"r": 4, "w": 2, "x": 1}[perm]
        if node.owner == user:
            return bool((node.mode >> 6) & bit)
        if node.group in self.groups_of(user):
            return bool((node.mode >> 3) & bit)
        return bool(node.mode & bit)

    def need(self, real: str, user: str, perm: str, shown: str | None = None) -> Node:
        node = self.nodes.get(real)
        if node is None:
            raise FsError("ENOENT", shown or real)
        if not self.allowed(node, user, perm):
            raise FsError("EACCES", shown or real)
        return node

    def parent_writable(self, real: str, user: str, shown: str | None = None) -> None:
        parent = posixpath.dirname(real) or "/"
        pnode = self.nodes.get(parent)
        if pnode is None:
            raise FsError("ENOENT", shown or real)
        if pnode.kind != "d":
            raise FsError("ENOTDIR", shown or real)
        if not self.allowed(pnode, user, "w"):
            raise FsError("EACCES", shown or real)

    # -- mutations (canonical paths) ------------------------------------------------------
    def put(self, real: str, node: Node) -> None:
        """Place `node` at `real` (the parent folder must exist), replacing a non-folder."""
        parent = posixpath.dirname(real) or "/"
        if self.nodes.get(parent) is None or self.nodes[parent].kind != "d":
            raise FsError("ENOENT" if parent not in self.nodes else "ENOTDIR", real)
        old = self.nodes.get(real)
        if old is not None and old.kind == "d" and node.kind != "d":
            raise FsError("EISDIR", real)
        if old is not None and old.kind == "d" and node.kind == "d":
            node_kids = self.kids.get(real, set())
        else:
            node_kids = set()
        self.nodes[real] = node
        self.kids[parent].add(posixpath.basename(real))
        if node.kind == "d":
            self.kids[real] = node_kids
        self.changes += 1

    def write(self, real: str, data: bytes, *, mode: int = 0o644, owner: str = "root",
              group: str = "root", keep_meta: bool = True) -> Node:
        """Create or overwrite a regular file; an existing file keeps its owner/mode when keep_meta."""
        old = self.nodes.get(real)
        if old is not None and old.kind == "d":
            raise FsError("EISDIR", real)
        if old is not None and old.kind in ("f", "c") and keep_meta:
            if old.kind == "f":
                old.data, old.mtime = data, time.time()
                self.changes += 1
            return old
        node = Node("f", data, mode, owner, group)
        self.put(real, node)
        return node

    def mkdir(self, real: str, *, mode: int = 0o755, owner: str = "root", group: str = "root") -> Node:
        if real in self.nodes:
            raise FsError("EEXIST", real)
        node = Node("d", mode=mode, owner=owner, group=group)
        self.put(real, node)
        return node

    def makedirs(self, real: str, *, mode: int = 0o755, owner: str = "root", group: str = "root") -> None:
        cur = "/"
        for part in [p for p in real.split("/") if p]:
            cur = posixpath.join(cur, part)
            node = self.nodes.get(cur)
            if node is None:
                self.mkdir(cur, mode=mode, owner=owner, group=group)
            elif node.kind == "l":
                cur = self.resolve(cur)
            elif node.kind != "d":
                raise FsError("ENOTDIR", real)

    def remove(self, real: str) -> None:
        """Remove a file, symlink or empty folder."""
        node = self.nodes.get(real)
        if node is None:
            raise FsError("ENOENT", real)
        if node.kind == "d" and self.kids.get(real):
            raise FsError("ENOTEMPTY", real)
        del self.nodes[real]
        self.kids.pop(real, None)
        self.kids[posixpath.dirname(real) or "/"].discard(posixpath.basename(real))
        self.changes += 1

    def rmtree(self, real: str) -> None:
        for p, _ in reversed(list(self.walk(real))):
            self.remove(p)

    def rename(self, src: str, dst: str) -> None:
        """Move a node (and its subtree) to `dst` (replacing a file or an empty folder there)."""
        if dst == src:
            return
        if dst.startswith(src.rstrip("/") + "/"):
            raise FsError("EINVAL", dst)
        old = self.nodes.get(dst)
        if old is not None:
            self.remove(dst)
        moved = [(p, n) for p, n in self.walk(src)]
        for p, _ in reversed(moved):
            self.remove(p)
        for p, n in moved:
            self.put(dst + p[len(src):], n)

    # -- persistence ----------------------------------------------------------------------
    def to_json(self) -> dict:
        return {p: n.to_json() for p, n in sorted(self.nodes.items())}

    def load_json(self, data: dict) -> None:
        self.nodes = {"/": Node("d", mode=0o555)}
        self.kids = {"/": set()}
        for p in sorted(data, key=lambda s: (s.count("/"), s)):
            if p == "/":
                self.nodes["/"] = Node.from_json(data[p])
                continue
            self.put(p, Node.from_json(data[p]))
