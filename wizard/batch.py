"""Detection in one round trip: one read-only script per host prints every file (stat and
content) and every check command the plan needs; a pure parser turns its output back into
what `stat`, `read_file` and `run` would have returned.

The script is plain POSIX sh (dash, bash 4.1 on CentOS 6, the training host's shell): `[ -e ]`,
`stat -L -c` (coreutils 8.4 has it), `head -c`, `base64`, `$(…)`. Nothing in it writes.
Every value in it (paths, commands) is quoted by wizard.shell. Every byte that comes from the
host (file contents, stat lines, command output) is base64-encoded under a header line that
starts with `#` and a random token: `#` is not in the base64 alphabet, so no content, however
hostile, can forge or end a record. Sizes are bounded (FILE_LIMIT per file, OUTPUT_LIMIT per
command); a larger file is marked `large` and read the ordinary way when a step asks for it.

A command's stderr is merged into its stdout (as `sudo` on a pty does for every command of a
non-root login), and trailing newlines are normalised to one.
"""
from __future__ import annotations

import base64
import binascii
import re
import secrets as _random
from dataclasses import dataclass, field

from .shell import quote
from .transport.base import CommandResult, FileStat

FILE_LIMIT = 4 * 1024 * 1024        # bytes of one file's content carried in the batch
OUTPUT_LIMIT = 256 * 1024           # bytes of one command's output


class BatchError(Exception):
    """The batch's output cannot be trusted (truncated, malformed): read the ordinary way."""


@dataclass(frozen=True)
class FileItem:
    """A path: its stat, and its content when it is a readable regular file."""

    path: str


@dataclass(frozen=True)
class CmdItem:
    """A read-only check command, run as the step would run it (sudo as asked)."""

    command: str
    sudo: bool = False


Item = FileItem | CmdItem


@dataclass
class FileEntry:
    """What the batch saw at one path. state: ok (content holds the bytes), missing, dir,
    large (over FILE_LIMIT), unreadable, special (not a regular file), unknown. A path the
    batch could not look at (a folder on the way not to be entered) has no entry at all."""

    stat: FileStat
    state: str
    content: bytes | None = None


@dataclass
class Batch:
    """Files and command results of one host, as the steps would have read them."""

    files: dict[str, FileEntry] = field(default_factory=dict)
    commands: dict[tuple[str, bool], CommandResult] = field(default_factory=dict)
    round_trips: int = 0

    def merge(self, other: "Batch") -> "Batch":
        self.files.update(other.files)
        self.commands.update(other.commands)
        self.round_trips += other.round_trips
        return self


# -- the script ----------------------------------------------------------------------------

def script(items: list[Item], token: str) -> str:
    """The sh script that prints every item as `#TOKEN KIND INDEX [CODE]` header lines, each
    followed by the base64 of its data, and `#TOKEN Z` at the very end."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", token):
        raise ValueError("token: hex digits")
    out = [f"T='#{token}'", "s=", "o="]
    for i, item in enumerate(items):
        if isinstance(item, FileItem):
            p = quote(item.path)
            out.append(
                f"p={p}; s=$(LC_ALL=C stat -L -c '%U %G %a %s %F' -- \"$p\" 2>&1); r=$?; "
                f"printf '%s S {i} %s\\n' \"$T\" \"$r\"; printf '%s' \"$s\" | head -c 4096 | base64; "
                f"if [ \"$r\" = 0 ] && [ -f \"$p\" ]; then if [ -r \"$p\" ]; then "
                f"printf '%s B {i}\\n' \"$T\"; head -c {FILE_LIMIT + 1} < \"$p\" | base64; "
                f"else printf '%s U {i}\\n' \"$T\"; fi; fi")
        else:
            out.append(
                f"o=$(sh -c {quote(item.command)} </dev/null 2>&1); "
                f"printf '%s C {i} %s\\n' \"$T\" \"$?\"; "
                f"printf '%s' \"$o\" | head -c {OUTPUT_LIMIT + 1} | base64")
    out.append("printf '%s Z\\n' \"$T\"")
    return "\n".join(out) + "\n"


def new_token() -> str:
    return _random.token_hex(8)


# -- the parser ------------------------------------------------------------------------------

_B64 = re.compile(r"[A-Za-z0-9+/=]*")


def parse(output: str, token: str, items: list[Item]) -> Batch:
    """The batch output → Batch (pure). BatchError when it is incomplete or malformed."""
    head = f"#{token} "
    records: list[tuple[list[str], list[str]]] = []
    done = False
    for raw in output.split("\n"):
        line = raw.rstrip("\r")
        if line.startswith(head):
            fields = line[len(head):].split(" ")
            if fields == ["Z"]:
                done = True
                break
            records.append((fields, []))
        elif records:
            if not _B64.fullmatch(line):
                raise BatchError("unexpected text in the batch output")
            records[-1][1].append(line)
        # text before the first header (a login banner, sudo's lecture) is not ours
    if not done:
        raise BatchError("the batch output ended early")
    batch = Batch(round_trips=1)
    stats: dict[int, tuple[int, bytes]] = {}
    bodies: dict[int, bytes] = {}
    flags: dict[int, str] = {}
    for fields, body in records:
        if len(fields) < 2 or not fields[1].isdigit() or int(fields[1]) >= len(items):
            raise BatchError(f"bad record header {' '.join(fields)[:40]!r}")
        kind, i = fields[0], int(fields[1])
        try:
            data = base64.b64decode("".join(body), validate=True)
        except (binascii.Error, ValueError):
            raise BatchError("bad base64 in the batch output") from None
        if kind == "S" and len(fields) == 3 and fields[2].isdigit():
            stats[i] = (int(fields[2]), data)
        elif kind == "B":
            bodies[i] = data
        elif kind == "U":
            flags[i] = kind
        elif kind == "C" and len(fields) == 3 and fields[2].isdigit():
            item = items[i]
            if not isinstance(item, CmdItem):
                raise BatchError(f"record {i} is not a command")
            text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
            if len(data) > OUTPUT_LIMIT:
                continue                   # bounded: the step runs it the ordinary way
            text = text.rstrip("\n") + "\n" if text.strip("\n") else ""
            batch.commands[(item.command, item.sudo)] = CommandResult(
                item.command, int(fields[2]), text, "")
        else:
            raise BatchError(f"bad record {kind!r}")
    for i, item in enumerate(items):
        if isinstance(item, FileItem):
            entry = _file_entry(item.path, stats.get(i), bodies.get(i), flags.get(i))
            if entry is not None:
                batch.files[item.path] = entry
    return batch


_STAT = re.compile(r"(?P<owner>\S+) (?P<group>\S+) (?P<mode>[0-7]{1,4}) (?P<size>\d+) (?P<kind>[a-z ]+)")


def _file_entry(path: str, stat: tuple[int, bytes] | None, body: bytes | None,
                flag: str | None) -> FileEntry | None:
    if stat is None:
        return None                                   # not reported: ask the ordinary way
    rc, raw = stat
    text = raw.decode("utf-8", errors="replace").strip()
    if rc != 0:
        # absent (a dangling link too, as SSHTransport.stat says); any other failure (a
        # folder on the way that cannot be entered) is left to the ordinary stat
        last = text.splitlines()[-1] if text else ""
        if last.endswith(("No such file or directory", "Not a directory")):
            return FileEntry(FileStat(path, False), "missing")
        return None
    m = _STAT.fullmatch(text)
    if m is None:
        return None
    kind = m["kind"]
    st = FileStat(path, True, kind == "directory", int(m["mode"], 8), m["owner"], m["group"])
    if kind == "directory":
        return FileEntry(st, "dir")
    if not kind.startswith("regular"):
        return FileEntry(st, "special")
    if flag == "U":
        return FileEntry(st, "unreadable")
    if body is None:
        return FileEntry(st, "unknown")
    if len(body) > FILE_LIMIT:
        return FileEntry(st, "large")
    return FileEntry(st, "ok", body)


# -- running it ------------------------------------------------------------------------------

def fetch(t, items: list[Item], *, sudo: bool = True, timeout: float = 300) -> Batch:
    """Run the batch on transport `t` in one round trip (as root when `sudo` and the login is
    not root: /home/jtel is often 0700). A transport with its own `probe_items` (the fake
    one of the unit tests) answers the items itself. BatchError when the output is bad."""
    items = list(dict.fromkeys(items))
    if not items:
        return Batch()
    own = getattr(t, "probe_items", None)
    if own is not None:
        return own(items)
    token = new_token()
    text = script(items, token)
    limit = 64 * 1024 * 1024           # characters of output kept: more is a BatchError
    raw = getattr(t, "run_raw", None)
    if raw is not None:
        out = raw(text, sudo=sudo, timeout=timeout, keep=limit,
                  display=f"read {len(items)} files and checks at once (read-only)")
    else:
        out = t.run(text, sudo=sudo, timeout=timeout,
                    display=f"read {len(items)} files and checks at once (read-only)").stdout
    b = parse(out, token, items)
    from .masking import mask          # as run() shows them: registered secrets masked
    for key, r in b.commands.items():
        b.commands[key] = CommandResult(mask(r.command), r.exit_code, mask(r.stdout), "")
    return b
