"""The training host's shell: enough of bash to run what the wizard and an engineer type.

Supported: words with '', "", \\ quoting; $VAR ${VAR} ${VAR:-x} $? $1 "$@" $(...) `...`;
~; globbing (* ? [..]) against the simulated files; ; && || | ! & (run in the
foreground); redirections < > >> 2> 2>&1 >&2 &> to files and /dev/null; if/elif/else,
for, while/until, { }, ( ); assignments; set -e / -o pipefail; scripts with a
#!/bin/sh or #!/bin/bash line; case; functions; $((integer arithmetic)); $"..." and
$'...'. Not supported (stated, never faked): here-documents, arrays, [[ ]].

Commands live in COMMANDS (filled by coreutils, text, admin through
@command) and are found through $PATH in the simulated file system, so a command a
package brings (java, haproxy) exists only once that package is installed.
"""
from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from typing import Callable

from .fs import FsError, Node, UMASK, abspath


def text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def raw(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def q(s: str) -> str:
    """A name quoted the way CentOS 7's coreutils 8.22 quotes it in messages."""
    return f"\u2018{s}\u2019"


# -- command registry ------------------------------------------------------------------------

@dataclass
class CommandSpec:
    func: Callable[["Cmd"], int | None]
    path: str | None                    # its executable in the simulated file system
    package: tuple[str, ...] | None     # present only when one of these packages is installed


COMMANDS: dict[str, CommandSpec] = {}
BUILTINS: dict[str, Callable[["Cmd"], int | None]] = {}


def command(*names: str, path: str | None = "/usr/bin", package: tuple[str, ...] | str | None = None,
            builtin: bool = False):
    """Register a simulated command. `path`: folder of its executable (None: the file comes from
    the starting content, e.g. /usr/local/bin/updatepl.sh); `package`: who provides it."""
    pk = (package,) if isinstance(package, str) else package

    def deco(f):
        for n in names:
            COMMANDS[n] = CommandSpec(f, None if path is None else posixpath.join(path, n), pk)
            if builtin:
                BUILTINS[n] = f
        return f
    return deco


class CmdExit(Exception):
    def __init__(self, code: int):
        self.code = code


class ExitShell(Exception):
    def __init__(self, code: int):
        self.code = code


class ShellSyntax(Exception):
    pass


class ReturnFunc(Exception):
    def __init__(self, code: int):
        self.code = code


# -- input and output ------------------------------------------------------------------------

class Input:
    """A command's stdin: text read once (a closed stdin is empty)."""

    def __init__(self, data: str = ""):
        self.data, self.pos = data, 0

    def read(self) -> str:
        s, self.pos = self.data[self.pos:], len(self.data)
        return s

    def readline(self) -> str:
        end = self.data.find("\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        s, self.pos = self.data[self.pos:end], end
        return s


class Sink:
    def write(self, s: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Buffer(Sink):
    def __init__(self):
        self.parts: list[str] = []

    def write(self, s: str) -> None:
        self.parts.append(s)

    def value(self) -> str:
        return "".join(self.parts)


class Null(Sink):
    def write(self, s: str) -> None:
        pass


class Lines(Buffer):
    """The top-level stdout/stderr: collected, and passed on line by line as it comes."""

    def __init__(self, stream: str, cb):
        super().__init__()
        self.stream, self.cb, self.pending = stream, cb, ""

    def write(self, s: str) -> None:
        self.parts.append(s)
        if self.cb is None:
            return
        self.pending += s
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.cb(self.stream, line)

    def close(self) -> None:
        if self.cb is not None and self.pending:
            self.cb(self.stream, self.pending)
        self.pending = ""


class FileOut(Sink):
    def __init__(self, fs, node: Node):
        self.fs, self.node = fs, node

    def write(self, s: str) -> None:
        if self.node.kind == "f":
            self.node.data += raw(s)

    def close(self) -> None:
        self.fs.changes += 1


@dataclass
class IO:
    stdin: Input
    out: Sink
    err: Sink


# -- lexer -----------------------------------------------------------------------------------
# token: ("w", parts) | ("op", text) | ("redir", fd, op, dup)
# part: ("lit", text, quoted) | ("var", expr, quoted) | ("cmd", source, quoted)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _matching(src: str, i: int, open_: str, close: str) -> int:
    """Index of the `close` that ends the group opened just before i (quotes respected)."""
    depth, n = 1, len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = src.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c == '"':
            i += 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == "\\" else 1
            i += 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntax(f"unexpected EOF while looking for matching `{close}'")


def _dollar(src: str, i: int, quoted: bool) -> tuple[tuple | None, int]:
    """The part a '$' at i starts, and the index after it (None: a literal '$')."""
    nxt = src[i + 1:i + 2]
    if src.startswith("$((", i):
        j = _matching(src, i + 3, "(", ")")
        if src[j + 1:j + 2] != ")":
            raise ShellSyntax("unexpected EOF while looking for matching `))'")
        return ("arith", src[i + 3:j], quoted), j + 2
    if nxt == "(":
        j = _matching(src, i + 2, "(", ")")
        return ("cmd", src[i + 2:j], quoted), j + 1
    if nxt == "{":
        j = src.find("}", i + 2)
        if j < 0:
            raise ShellSyntax("unexpected EOF while looking for matching `}'")
        return ("var", src[i + 2:j], quoted), j + 1
    m = _NAME.match(src, i + 1)
    if m:
        return ("var", m.group(0), quoted), m.end()
    if nxt and nxt in "0123456789?#@*$!-":
        return ("var", nxt, quoted), i + 2
    return None, i + 1


def lex(src: str) -> list[tuple]:
    toks: list[tuple] = []
    parts: list[tuple] = []
    started = False
    i, n = 0, len(src)

    def lit(s: str, quoted: bool) -> None:
        if parts and parts[-1][0] == "lit" and parts[-1][2] == quoted:
            parts[-1] = ("lit", parts[-1][1] + s, quoted)
        else:
            parts.append(("lit", s, quoted))

    def flush() -> None:
        nonlocal parts, started
        if started:
            toks.append(("w", parts))
        parts, started = [], False

    while i < n:
        c = src[i]
        if c in " \t":
            flush()
            i += 1
        elif c == "\n":
            flush()
            toks.append(("op", "\n"))
            i += 1
        elif c == "#" and not started:
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c in "<>" or (c == "&" and src[i + 1:i + 2] == ">"):
            fd = None
            if started and len(parts) == 1 and parts[0][0] == "lit" and not parts[0][2] \
                    and parts[0][1].isdigit():
                fd = int(parts[0][1])
                parts, started = [], False
            flush()
            if src.startswith("<<", i):
                raise ShellSyntax("here-documents (<<) are not simulated on the training host")
            for op in ("&>>", "&>", ">>", ">&", ">|", "<&", ">", "<"):
                if src.startswith(op, i):
                    break
            i += len(op)
            dup = None
            if op in (">&", "<&"):
                m = re.match(r"\d+|-", src[i:])
                if m:
                    dup, i = m.group(0), i + m.end()
                elif op == ">&":
                    op = "&>"           # `>& file` is `&> file`
            toks.append(("redir", fd, op, dup))
        elif c in ";&|()":
            flush()
            two = src[i:i + 2]
            op = two if two in ("&&", "||", ";;") else c
            toks.append(("op", op))
            i += len(op)
        elif c == "'":
            j = src.find("'", i + 1)
            if j < 0:
                raise ShellSyntax("unexpected EOF while looking for matching `''")
            lit(src[i + 1:j], True)
            started, i = True, j + 1
        elif c == '"':
            started, i = True, i + 1
            buf = ""
            while True:
                if i >= n:
                    raise ShellSyntax("unexpected EOF while looking for matching `\"'")
                d = src[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\" and src[i + 1:i + 2] in ("$", "`", '"', "\\", "\n"):
                    if src[i + 1] != "\n":
                        buf += src[i + 1]
                    i += 2
                elif d == "$":
                    part, i2 = _dollar(src, i, True)
                    if part is None:
                        buf += "$"
                    else:
                        if buf:
                            lit(buf, True)
                            buf = ""
                        parts.append(part)
                    i = i2
                elif d == "`":
                    j = src.find("`", i + 1)
                    if j < 0:
                        raise ShellSyntax("unexpected EOF while looking for matching ``'")
                    if buf:
                        lit(buf, True)
                        buf = ""
                    parts.append(("cmd", src[i + 1:j], True))
                    i = j + 1
                else:
                    buf += d
                    i += 1
            if buf or not parts or parts[-1][0] != "lit":
                lit(buf, True)
        elif c == "\\":
            if src[i + 1:i + 2] == "\n":
                i += 2
                continue
            lit(src[i + 1:i + 2] or "\\", True)
            started, i = True, i + 2
        elif c == "$" and src[i + 1:i + 2] == '"':
            i += 1                                  # $"..." (translated string) is "..."
        elif c == "$" and src[i + 1:i + 2] == "'":
            j = i + 2
            while j < n and src[j] != "'":
                j += 2 if src[j] == "\\" else 1
            if j >= n:
                raise ShellSyntax("unexpected EOF while looking for matching `''")
            from .text import unescape
            lit(unescape(src[i + 2:j]), True)
            started, i = True, j + 1
        elif c == "$":
            part, i = _dollar(src, i, False)
            started = True
            if part is None:
                lit("$", False)
            else:
                parts.append(part)
        elif c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise ShellSyntax("unexpected EOF while looking for matching ``'")
            parts.append(("cmd", src[i + 1:j], False))
            started, i = True, j + 1
        elif c == "~" and not started and (i + 1 == n or src[i + 1] in "/ \t\n;|&)"):
            parts.append(("var", "HOME", True))
            started, i = True, i + 1
        else:
            lit(c, False)
            started, i = True, i + 1
    flush()
    return toks


# -- parser ----------------------------------------------------------------------------------

def _word_text(tok) -> str | None:
    """The literal text of an unquoted plain word token (for reserved words)."""
    if tok is None or tok[0] != "w" or len(tok[1]) != 1:
        return None
    p = tok[1][0]
    return p[1] if p[0] == "lit" and not p[2] else None


_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


class Parser:
    def __init__(self, toks: list[tuple]):
        self.t, self.i = toks, 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def unexpected(self, tok=None):
        tok = tok if tok is not None else self.peek()
        if tok is None:
            raise ShellSyntax("syntax error: unexpected end of file")
        shown = {"op": lambda: "newline" if tok[1] == "\n" else tok[1],
                 "w": lambda: "".join(p[1] for p in tok[1] if p[0] == "lit"),
                 "redir": lambda: tok[2]}[tok[0]]()
        raise ShellSyntax(f"syntax error near unexpected token `{shown}'")

    def is_op(self, *ops) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "op" and tok[1] in ops

    def skip_newlines(self) -> None:
        while self.is_op("\n"):
            self.i += 1

    def expect_word(self, word: str) -> None:
        self.skip_newlines()
        if _word_text(self.peek()) != word:
            self.unexpected()
        self.i += 1

    def program(self):
        node = self.list(stop=())
        if self.peek() is not None:
            self.unexpected()
        return node

    def list(self, stop: tuple[str, ...], allow_empty: bool = False):
        items = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok is None or _word_text(tok) in stop or (tok[0] == "op" and tok[1] == ")" and ")" in stop) \
                    or (tok[0] == "op" and tok[1] == ";;" and "esac" in stop):
                break
            ao = self.andor()
            bg = False
            if self.is_op(";", "\n", "&"):
                bg = self.next()[1] == "&"
                items.append((ao, bg))
                continue
            items.append((ao, bg))
            break
        if not items and stop and not allow_empty:
            self.unexpected()
        return ("list", items)

    def andor(self):
        first = self.pipeline()
        rest = []
        while self.is_op("&&", "||"):
            op = self.next()[1]
            self.skip_newlines()
            rest.append((op, self.pipeline()))
        return ("andor", first, rest)

    def pipeline(self):
        negate = False
        if _word_text(self.peek()) == "!":
            negate = True
            self.i += 1
        cmds = [self.command()]
        while self.is_op("|"):
            self.i += 1
            self.skip_newlines()
            cmds.append(self.command())
        return ("pipe", negate, cmds)

    def command(self):
        tok = self.peek()
        word = _word_text(tok)
        if word == "if":
            self.i += 1
            branches = []
            cond = self.list(stop=("then",))
            self.expect_word("then")
            body = self.list(stop=("elif", "else", "fi"))
            branches.append((cond, body))
            els = None
            while True:
                w = _word_text(self.peek())
                if w == "elif":
                    self.i += 1
                    cond = self.list(stop=("then",))
                    self.expect_word("then")
                    branches.append((cond, self.list(stop=("elif", "else", "fi"))))
                elif w == "else":
                    self.i += 1
                    els = self.list(stop=("fi",))
                else:
                    break
            self.expect_word("fi")
            return ("if", branches, els, self.redirs())
        if word == "for":
            self.i += 1
            name = _word_text(self.next())
            if not name or not _NAME.fullmatch(name):
                self.unexpected()
            self.skip_newlines()
            words = None
            if _word_text(self.peek()) == "in":
                self.i += 1
                words = []
                while self.peek() is not None and self.peek()[0] == "w":
                    words.append(self.next()[1])
            if self.is_op(";", "\n"):
                self.i += 1
            self.expect_word("do")
            body = self.list(stop=("done",))
            self.expect_word("done")
            return ("for", name, words, body, self.redirs())
        if word in ("while", "until"):
            self.i += 1
            cond = self.list(stop=("do",))
            self.expect_word("do")
            body = self.list(stop=("done",))
            self.expect_word("done")
            return ("while", word == "until", cond, body, self.redirs())
        if word == "{":
            self.i += 1
            body = self.list(stop=("}",))
            self.expect_word("}")
            return ("group", body, self.redirs())
        if tok is not None and tok[0] == "op" and tok[1] == "(":
            self.i += 1
            body = self.list(stop=(")",))
            self.skip_newlines()
            if not self.is_op(")"):
                self.unexpected()
            self.i += 1
            return ("subshell", body, self.redirs())
        if word == "case":
            self.i += 1
            tok = self.next()
            if tok is None or tok[0] != "w":
                self.unexpected(tok)
            subject = tok[1]
            self.skip_newlines()
            if _word_text(self.peek()) != "in":
                self.unexpected()
            self.i += 1
            items = []
            while True:
                self.skip_newlines()
                if _word_text(self.peek()) == "esac":
                    self.i += 1
                    break
                if self.is_op("("):
                    self.i += 1
                pats = []
                while True:
                    tok = self.next()
                    if tok is None or tok[0] != "w":
                        self.unexpected(tok)
                    pats.append(tok[1])
                    if self.is_op("|"):
                        self.i += 1
                        continue
                    break
                if not self.is_op(")"):
                    self.unexpected()
                self.i += 1
                body = self.list(stop=("esac",), allow_empty=True)
                items.append((pats, body))
                if self.is_op(";;"):
                    self.i += 1
                elif _word_text(self.peek()) != "esac":
                    self.unexpected()
            return ("case", subject, items, self.redirs())
        if word == "function" or (word and _NAME.fullmatch(word) and self.i + 2 < len(self.t) + 1
                                  and self.t[self.i + 1:self.i + 3] == [("op", "("), ("op", ")")]):
            if word == "function":
                self.i += 1
                name = _word_text(self.next())
                if not name:
                    self.unexpected()
                if self.t[self.i:self.i + 2] == [("op", "("), ("op", ")")]:
                    self.i += 2
            else:
                name = word
                self.i += 3
            self.skip_newlines()
            body = self.command()
            return ("funcdef", name, body, [])
        if word in ("then", "else", "elif", "fi", "do", "done", "}", "esac"):
            self.unexpected()
        return self.simple()

    def redirs(self) -> list:
        out = []
        while self.peek() is not None and self.peek()[0] == "redir":
            out.append(self.redir())
        return out

    def redir(self):
        _, fd, op, dup = self.next()
        if fd is None:
            fd = 0 if op.startswith("<") else 1
        if dup is not None:
            return (fd, op, dup)
        tok = self.peek()
        if tok is None or tok[0] != "w":
            self.unexpected(tok if tok is not None else ("op", "\n"))
        self.i += 1
        return (fd, op, tok[1])

    def simple(self):
        assigns, words, redirs = [], [], []
        while True:
            tok = self.peek()
            if tok is None or tok[0] == "op":
                break
            if tok[0] == "redir":
                redirs.append(self.redir())
                continue
            parts = tok[1]
            first = parts[0] if parts else None
            if not words and first and first[0] == "lit" and not first[2] and _ASSIGN.match(first[1]):
                name, _, rest = first[1].partition("=")
                assigns.append((name, ([("lit", rest, True)] if rest else []) + parts[1:]))
            else:
                words.append(parts)
            self.i += 1
        if not (assigns or words or redirs):
            self.unexpected()
        return ("simple", assigns, words, redirs)


# -- the command context -----------------------------------------------------------------------

class Cmd:
    """What a simulated command sees: its argv, stdin/stdout/stderr, the host and the user."""

    def __init__(self, sh: "Shell", argv: list[str], io: IO, env: dict[str, str]):
        self.sh, self.argv, self.io, self.env = sh, argv, io, env
        self.name = posixpath.basename(argv[0])
        self.args = argv[1:]
        self.host, self.fs, self.user = sh.host, sh.fs, sh.user

    @property
    def root(self) -> bool:
        return self.user == "root"

    @property
    def cwd(self) -> str:
        return self.sh.cwd

    def stdin(self) -> str:
        return self.io.stdin.read()

    def out(self, s: str = "", end: str = "\n") -> None:
        self.io.out.write(s + end)

    def err(self, s: str = "", end: str = "\n") -> None:
        self.io.err.write(s + end)

    def fail(self, msg: str | None = None, rc: int = 1):
        if msg:
            self.err(msg)
        raise CmdExit(rc)

    def lookup(self, path: str, follow: bool = True) -> tuple[str, Node | None]:
        return self.fs.lookup(path, cwd=self.sh.cwd, user=self.user, follow=follow)

    def abspath(self, path: str) -> str:
        return posixpath.normpath(abspath(path, self.sh.cwd))

    def read(self, path: str) -> bytes:
        """A file's bytes as this user may read them (FsError otherwise)."""
        if path == "-":
            return raw(self.stdin())
        real, node = self.lookup(path)
        if node is None:
            raise FsError("ENOENT", path)
        if node.kind == "d":
            raise FsError("EISDIR", path)
        if not self.fs.allowed(node, self.user, "r"):
            raise FsError("EACCES", path)
        return node.data

    def primary_group(self, user: str | None = None) -> str:
        return self.host.state["users"].get(user or self.user, [0, "root"])[1]

    def run(self, argv: list[str], *, user: str | None = None) -> int:
        """Run another command (as `user`) with this command's streams."""
        sh = self.sh if user in (None, self.user) else self.sh.child(user=user)
        return sh.invoke(argv, self.io, {})


# -- the shell -------------------------------------------------------------------------------

class Shell:
    def __init__(self, host, user: str, *, cwd: str | None = None, vars: dict | None = None,
                 args: list[str] | None = None, name: str = "bash", calls: list | None = None,
                 path_var: str | None = None, depth: int = 0):
        from .host import HOSTNAME, ROOT_PATH
        self.host, self.fs, self.user = host, host.fs, user
        home = host.home(user)
        upath = f"/usr/local/bin:/usr/bin:/usr/local/sbin:/usr/sbin:{home}/.local/bin:{home}/bin"
        self.vars = {"HOME": home, "USER": user, "LOGNAME": user, "SHELL": "/bin/bash",
                     "HOSTNAME": HOSTNAME, "LANG": "en_US.UTF-8",
                     "PATH": path_var or (ROOT_PATH if user == "root" else upath)}
        if vars:
            self.vars.update(vars)
        if cwd is None:
            try:
                real, node = self.fs.lookup(home, user=user)
                cwd = home if node is not None and node.kind == "d" else "/"
            except FsError:
                cwd = "/"
        self.cwd = cwd
        self.vars["PWD"] = cwd
        self.args = list(args or [])
        self.name = name
        self.calls = calls if calls is not None else []
        self.last = 0
        self.errexit = False
        self.pipefail = False
        self.cond = 0
        self.depth = depth
        self.funcs: dict[str, tuple] = {}
        self.subst_rc: int | None = None
        self.in_func = 0
        self.noexec = False

    def child(self, *, user: str | None = None, name: str | None = None, args=None,
              path_var: str | None = None) -> "Shell":
        sh = Shell(self.host, user or self.user, cwd=self.cwd,
                   vars=None if user not in (None, self.user) else dict(self.vars),
                   args=self.args if args is None else args, name=name or self.name,
                   calls=self.calls, path_var=path_var, depth=self.depth + 1)
        if user in (None, self.user):
            sh.errexit, sh.pipefail = self.errexit, self.pipefail
            if name is None:
                sh.funcs = dict(self.funcs)
        sh.last = self.last
        return sh

    # -- entry ------------------------------------------------------------------------------
    def run(self, src: str, io: IO) -> int:
        if self.depth > 30:
            io.err.write(f"{self.name}: maximum nesting level exceeded (training host)\n")
            return 1
        try:
            ast = Parser(lex(src)).program()
        except ShellSyntax as e:
            where = "-c: line 0" if self.name in ("bash", "sh") else "line 0"
            io.err.write(f"{self.name}: {where}: {e}\n")
            if str(e).startswith("syntax error near"):
                io.err.write(f"{self.name}: -c: line 0: `{src.strip()}'\n")
            self.last = 2
            return 2
        if self.noexec:
            return 0
        try:
            return self.exec(ast, io)
        except ExitShell as e:
            self.last = e.code
            return e.code
        except ShellSyntax as e:                     # met while expanding, e.g. ${x:-'oops}
            io.err.write(f"{self.name}: {e}\n")
            self.last = 2
            return 2

    # -- execution --------------------------------------------------------------------------
    def exec(self, node, io: IO) -> int:
        kind = node[0]
        if kind == "list":
            rc = 0
            for ao, _bg in node[1]:
                rc = self.exec(ao, io)
            return rc
        if kind == "andor":
            _, first, rest = node
            rc = self.pipeline(first, io, last=not rest)
            for k, (op, pl) in enumerate(rest):
                if (op == "&&") == (rc == 0):
                    rc = self.pipeline(pl, io, last=k == len(rest) - 1)
            return rc
        return self.command(node, io)

    def pipeline(self, node, io: IO, *, last: bool) -> int:
        _, negate, cmds = node
        if negate:
            self.cond += 1
        try:
            if len(cmds) == 1:
                rc = self.command(cmds[0], io) if last else self._cond(cmds[0], io)
            else:
                data, rcs = io.stdin, []
                for k, c in enumerate(cmds):
                    end = k == len(cmds) - 1
                    out = io.out if end else Buffer()
                    sub = self.child()
                    sub.cond = self.cond + (0 if end and last else 1)
                    try:
                        rcs.append(sub.command(c, IO(data, out, io.err)))
                    except ExitShell as e:
                        rcs.append(e.code)
                    if not end:
                        data = Input(out.value())
                rc = rcs[-1]
                if self.pipefail:
                    rc = next((r for r in reversed(rcs) if r), 0)
        finally:
            if negate:
                self.cond -= 1
        if negate:
            rc = 0 if rc else 1
        self.last = rc
        if rc and last and not negate and self.errexit and self.cond == 0 and len(cmds) > 1:
            raise ExitShell(rc)
        return rc

    def _cond(self, node, io: IO) -> int:
        self.cond += 1
        try:
            return self.command(node, io)
        finally:
            self.cond -= 1

    def command(self, node, io: IO) -> int:
        kind = node[0]
        if kind == "simple":
            rc = self.simple(node, io)
        else:
            try:
                rio, sinks = self.redirect(node[-1], io)
            except _RedirError as e:
                io.err.write(f"{self.name}: {e}\n")
                self.last = 1
                return 1
            try:
                rc = self.compound(node, rio)
            finally:
                for s in sinks:
                    s.close()
        self.last = rc
        if rc and self.errexit and self.cond == 0:
            raise ExitShell(rc)
        return rc

    def compound(self, node, io: IO) -> int:
        kind = node[0]
        if kind == "if":
            for cond, body in node[1]:
                self.cond += 1
                try:
                    c = self.exec(cond, io)
                finally:
                    self.cond -= 1
                if c == 0:
                    return self.exec(body, io)
            return self.exec(node[2], io) if node[2] is not None else 0
        if kind == "for":
            _, name, words, body, _r = node
            items = self.args if words is None else [w for parts in words for w in self.expand(parts, io)]
            rc = 0
            for it in items:
                self.vars[name] = it
                rc = self.exec(body, io)
            return rc
        if kind == "while":
            _, until, cond, body, _r = node
            rc, rounds = 0, 0
            while True:
                self.cond += 1
                try:
                    c = self.exec(cond, io)
                finally:
                    self.cond -= 1
                if (c == 0) == until:
                    return rc
                rc = self.exec(body, io)
                rounds += 1
                if rounds > 10000:
                    io.err.write(f"{self.name}: training host: loop stopped after 10000 rounds\n")
                    return 1
        if kind == "group":
            return self.exec(node[1], io)
        if kind == "case":
            _, subject, items, _r = node
            word = self.expand_one(subject, io)
            for pats, body in items:
                for pat in pats:
                    if fnmatch.fnmatchcase(word, self.expand_one(pat, io)):
                        return self.exec(body, io)
            return 0
        if kind == "funcdef":
            self.funcs[node[1]] = node[2]
            return 0
        if kind == "subshell":
            sub = self.child()
            try:
                return sub.exec(node[1], io)
            except ExitShell as e:
                return e.code
        raise AssertionError(kind)

    def simple(self, node, io: IO) -> int:
        _, assigns, words, redirs = node
        self.subst_rc = None
        argv = []
        for parts in words:
            argv.extend(self.expand(parts, io))
        values = {n: self.expand_one(parts, io) for n, parts in assigns}
        try:
            rio, sinks = self.redirect(redirs, io)
        except _RedirError as e:
            io.err.write(f"{self.name}: {e}\n")
            return 1
        try:
            if not argv:
                self.vars.update(values)
                return self.subst_rc or 0
            return self.invoke(argv, rio, values)
        finally:
            for s in sinks:
                s.close()

    # -- finding and running commands ---------------------------------------------------------
    def which(self, name: str, path_var: str | None = None) -> str | None:
        for d in (path_var or self.vars.get("PATH", "")).split(":"):
            if not d:
                continue
            cand = posixpath.join(d, name)
            try:
                _, node = self.fs.lookup(cand, user=self.user)
            except FsError:
                continue
            if node is not None and node.kind == "f" and self.fs.allowed(node, self.user, "x"):
                return cand
        return None

    def invoke(self, argv: list[str], io: IO, env: dict[str, str]) -> int:
        name = argv[0]
        if name in self.funcs:
            rc = self.call_function(name, argv, io)
        elif name in BUILTINS:
            rc = self.call(BUILTINS[name], argv, io, env)
        elif "/" in name:
            rc = self.exec_path(name, argv, io, env)
        else:
            found = self.which(name, env.get("PATH"))
            if found:
                rc = self.exec_path(found, argv, io, env)
            elif name in COMMANDS:
                io.err.write(f"{self.name}: {name}: command not found\n")
                rc = 127
            else:
                io.err.write(f"training host: `{name}` is not simulated\n")
                rc = 127
        self.calls.append((list(argv), rc))
        return rc

    def call_function(self, name: str, argv: list[str], io: IO) -> int:
        if self.in_func >= 100:
            io.err.write(f"{self.name}: {name}: maximum function nesting level exceeded (100)\n")
            raise ExitShell(1)
        saved = self.args
        self.args, self.in_func = argv[1:], self.in_func + 1
        try:
            return self.command(self.funcs[name], io)
        except ReturnFunc as r:
            return r.code
        finally:
            self.args, self.in_func = saved, self.in_func - 1

    def call(self, func, argv: list[str], io: IO, env: dict[str, str]) -> int:
        cmd = Cmd(self, argv, io, env)
        try:
            rc = func(cmd)
            return 0 if rc is None else rc
        except CmdExit as e:
            return e.code
        except FsError as e:
            io.err.write(f"{cmd.name}: {e}\n")
            return 1
        except (ExitShell, ShellSyntax, ReturnFunc):
            raise
        except (ValueError, IndexError) as e:       # a bad or missing option value
            io.err.write(f"{cmd.name}: invalid or missing argument (training host: {e})\n")
            return 2
        except Exception as e:          # a bug in the simulation must be loud, never a success
            io.err.write(f"training host: internal error in simulated `{cmd.name}`: {e!r}\n")
            return 70

    def exec_path(self, path: str, argv: list[str], io: IO, env: dict[str, str]) -> int:
        try:
            real, node = self.fs.lookup(path, cwd=self.cwd, user=self.user)
        except FsError as e:
            io.err.write(f"{self.name}: {path}: {e.strerror}\n")
            return 126 if e.code == "EACCES" else 127
        if node is None:
            io.err.write(f"{self.name}: {path}: No such file or directory\n")
            return 127
        if node.kind == "d":
            io.err.write(f"{self.name}: {path}: Is a directory\n")
            return 126
        if not self.fs.allowed(node, self.user, "x"):
            io.err.write(f"{self.name}: {path}: Permission denied\n")
            return 126
        if posixpath.dirname(real) == "/etc/rc.d/init.d":
            from .admin import run_init_script
            return self.call(lambda c: run_init_script(c, posixpath.basename(real), argv[1:]),
                             argv, io, env)
        spec = COMMANDS.get(posixpath.basename(real))
        if spec is not None and (spec.path is None or node.data.startswith(b"# training host")):
            return self.call(spec.func, argv, io, env)
        data = node.data
        first = data.split(b"\n", 1)[0]
        if data.startswith(b"#!"):
            if first.endswith(b"\r"):
                interp = text(first[2:].rstrip(b"\r")).strip()
                io.err.write(f"{self.name}: {path}: {interp}^M: bad interpreter: No such file or directory\n")
                return 126
            words = text(first[2:]).split()
            prog = [posixpath.basename(w) for w in words[:2]]
            if not (prog[:1] in (["sh"], ["bash"]) or prog == ["env", "bash"] or prog == ["env", "sh"]):
                io.err.write(f"training host: `{path}` ({text(first)}) is not simulated\n")
                return 127
        elif b"\0" in data or not data:
            io.err.write(f"training host: `{path}` is not simulated\n")
            return 127
        sub = self.child(name=path, args=argv[1:])
        sub.errexit = False
        if data.startswith(b"#!") and "-e" in text(first).split()[1:]:
            sub.errexit = True
        return sub.run(text(data), io)

    # -- expansion ------------------------------------------------------------------------
    def param(self, expr: str, io: IO) -> str:
        special = {"?": str(self.last), "$": "4242", "#": str(len(self.args)), "!": "",
                   "@": " ".join(self.args), "*": " ".join(self.args), "0": self.name,
                   "-": "e" if self.errexit else ""}
        if expr in special:
            return special[expr]
        if expr.isdigit():
            k = int(expr)
            return self.args[k - 1] if 0 < k <= len(self.args) else ""
        m = re.fullmatch(r"(#?)([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*$!-])(?:(:?[-=+?])(.*))?", expr, re.S)
        if not m:
            raise _ExpandError(f"${{{expr}}}: bad substitution")
        length, name, op, word = m.groups()
        val = self.param(name, io) if not _NAME.fullmatch(name) else self.vars.get(name)
        if length:
            return str(len(val or ""))
        if op:
            unset = val is None or (op.startswith(":") and val == "")
            w = self.expand_one(lex(word)[0][1], io) if word and lex(word) else ""
            if op.endswith("-"):
                return w if unset else val
            if op.endswith("="):
                if unset:
                    self.vars[name] = w
                return w if unset else val
            if op.endswith("+"):
                return "" if unset else w
            if op.endswith("?") and unset:
                raise _ExpandError(f"{name}: {w or 'parameter null or not set'}")
        return val or ""

    def arith(self, expr: str, io: IO) -> str:
        """$((expr)): integer arithmetic over shell variables."""
        import ast
        import operator as op

        def var(m: re.Match) -> str:
            v = self.param(m.group(1) or m.group(2), io) if m.group(1) or m.group(2) else ""
            return v.strip() or "0"
        text_ = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9#?$])\}?|\b([A-Za-z_][A-Za-z0-9_]*)\b", var, expr)
        ops = {ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Mod: lambda a, b: int(a - b * int(a / b)),
               ast.FloorDiv: lambda a, b: int(a / b), ast.Div: lambda a, b: int(a / b),
               ast.Lt: op.lt, ast.Gt: op.gt, ast.LtE: op.le, ast.GtE: op.ge, ast.Eq: op.eq, ast.NotEq: op.ne,
               ast.USub: op.neg, ast.UAdd: op.pos, ast.Not: lambda a: not a}

        def ev(n):
            if isinstance(n, ast.Expression):
                return ev(n.body)
            if isinstance(n, ast.Constant) and isinstance(n.value, int):
                return n.value
            if isinstance(n, ast.BinOp) and type(n.op) in ops:
                return int(ops[type(n.op)](ev(n.left), ev(n.right)))
            if isinstance(n, ast.UnaryOp) and type(n.op) in ops:
                return int(ops[type(n.op)](ev(n.operand)))
            if isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]) in ops:
                return int(ops[type(n.ops[0])](ev(n.left), ev(n.comparators[0])))
            if isinstance(n, ast.BoolOp):
                vals = [ev(v) for v in n.values]
                return int(all(vals) if isinstance(n.op, ast.And) else any(vals))
            raise ValueError(n)
        py = text_.replace("&&", " and ").replace("||", " or ").replace("/", "//")
        py = re.sub(r"!(?!=)", " not ", py)
        try:
            return str(ev(ast.parse(py.strip() or "0", mode="eval")))
        except (SyntaxError, ValueError, ZeroDivisionError) as e:
            raise _ExpandError(f"{expr}: syntax error in expression (training host: {type(e).__name__})")

    def subst(self, src: str, io: IO) -> str:
        buf = Buffer()
        sub = self.child()
        try:
            rc = sub.run(src, IO(Input(""), buf, io.err))
        except ExitShell as e:
            rc = e.code
        self.last = self.subst_rc = rc
        return buf.value().rstrip("\n")

    def expand(self, parts, io: IO, *, split: bool = True, glob: bool = True) -> list[str]:
        fields: list[list] = [[[], False]]
        for p in parts:
            if p[0] == "lit":
                fields[-1][0].append((p[1], not p[2]))
                fields[-1][1] |= p[2]
                continue
            quoted = p[2]
            if p[0] == "var" and p[1] == "@" and quoted:
                for k, a in enumerate(self.args):
                    if k:
                        fields.append([[], True])
                    fields[-1][0].append((a, False))
                    fields[-1][1] = True
                continue
            try:
                val = (self.param(p[1], io) if p[0] == "var" else self.arith(p[1], io) if p[0] == "arith"
                       else self.subst(p[1], io))
            except _ExpandError as e:
                io.err.write(f"{self.name}: {e}\n")
                raise ExitShell(1)
            if quoted or not split:
                fields[-1][0].append((val, False))
                fields[-1][1] = True
                continue
            for k, piece in enumerate(re.split(r"[ \t\n]+", val)):
                if k:
                    fields.append([[], False])
                if piece:
                    fields[-1][0].append((piece, True))
        out = []
        for segs, quoted in fields:
            if not segs and not quoted:
                continue
            word = "".join(t for t, _ in segs)
            if glob and any(active and re.search(r"[*?\[]", t) for t, active in segs):
                pattern = "".join(t if active else re.sub(r"([*?\[])", r"[\1]", t) for t, active in segs)
                matches = self.glob(pattern)
                if matches:
                    out.extend(matches)
                    continue
            out.append(word)
        return out

    def expand_one(self, parts, io: IO) -> str:
        return "".join(self.expand(parts, io, split=False, glob=False)) if parts else ""

    def glob(self, pattern: str) -> list[str]:
        comps = [c for c in pattern.split("/") if c]
        bases = ["/"] if pattern.startswith("/") else [""]
        for comp in comps:
            new = []
            for b in bases:
                if re.search(r"[*?\[]", comp):
                    try:
                        real, node = self.fs.lookup(b or ".", cwd=self.cwd, user=self.user)
                    except FsError:
                        continue
                    if node is None or node.kind != "d":
                        continue
                    for n in self.fs.children(real):
                        if n.startswith(".") and not comp.startswith("."):
                            continue
                        if fnmatch.fnmatchcase(n, comp):
                            new.append(posixpath.join(b, n) if b else n)
                else:
                    cand = posixpath.join(b, comp) if b else comp
                    try:
                        _, node = self.fs.lookup(cand, cwd=self.cwd, user=self.user, follow=False)
                    except FsError:
                        continue
                    if node is not None:
                        new.append(cand)
            bases = new
        if pattern.endswith("/"):
            bases = [b + "/" for b in bases if self.fs.get(abspath(b, self.cwd)) is not None
                     and self.fs.get(abspath(b, self.cwd)).kind == "d"]
        return sorted(bases)

    # -- redirections ---------------------------------------------------------------------
    def redirect(self, redirs, io: IO) -> tuple[IO, list[Sink]]:
        fds: dict[int, object] = {0: io.stdin, 1: io.out, 2: io.err}
        opened: list[Sink] = []
        for fd, op, target in redirs:
            if isinstance(target, str):
                if target == "-":
                    fds[fd] = Null() if fd else Input("")
                elif int(target) not in fds:
                    raise _RedirError(f"{target}: Bad file descriptor")
                else:
                    fds[fd] = fds[int(target)]
                continue
            words = self.expand(target, io)
            if len(words) != 1:
                raise _RedirError(f"{''.join(p[1] for p in target if p[0] == 'lit')}: ambiguous redirect")
            path = words[0]
            if op == "<":
                try:
                    fds[fd] = Input(text(Cmd(self, ["sh"], io, {}).read(path)))
                except FsError as e:
                    raise _RedirError(f"{path}: {e.strerror}")
                continue
            sink = self.open_out(path, append=op.endswith(">>"), fds=fds)
            if not isinstance(sink, (Null,)) and sink not in (io.out, io.err):
                opened.append(sink)
            if op.startswith("&"):
                fds[1] = fds[2] = sink
            else:
                fds[fd] = sink
        return IO(fds[0], fds[1], fds[2]), opened

    def open_out(self, path: str, *, append: bool, fds: dict) -> Sink:
        if path == "/dev/null":
            return Null()
        if path in ("/dev/stdout", "/dev/stderr"):
            return fds[1 if path.endswith("out") else 2]
        try:
            real, node = self.fs.lookup(path, cwd=self.cwd, user=self.user)
            if node is None:
                self.fs.parent_writable(real, self.user, path)
                grp = self.host.state["users"].get(self.user, [0, "root"])[1]
                node = Node("f", b"", 0o666 & ~UMASK, self.user, grp)
                self.fs.put(real, node)
            elif node.kind == "d":
                raise FsError("EISDIR", path)
            elif not self.fs.allowed(node, self.user, "w"):
                raise FsError("EACCES", path)
            elif node.kind == "c":
                return Null()
            elif not append:
                node.data = b""
                self.fs.changes += 1
        except FsError as e:
            raise _RedirError(f"{path}: {e.strerror}")
        return FileOut(self.fs, node)


class _RedirError(Exception):
    pass


class _ExpandError(Exception):
    pass


def run_command(host, command: str, *, user: str, stdin: bytes | None, on_output, path_var: str | None,
                calls: list, merge: bool = False) -> tuple[int, str, str]:
    """One command line as the SSH transport would run it: (exit code, stdout, stderr).
    merge: stderr goes into stdout (what sudo over a pty does to the real transport's output)."""
    out = Lines("out", on_output)
    err = out if merge else Lines("err", on_output)
    sh = Shell(host, user, path_var=path_var, calls=calls)
    try:
        rc = sh.run(command, IO(Input(text(stdin) if stdin else ""), out, err))
    except (ReturnFunc, RecursionError, Exception) as e:   # a bug in the simulation: loud, never a success
        err.write(f"training host: internal error of the simulation: {e!r}\n")
        rc = 70
    out.close()
    err.close()
    return rc, out.value(), "" if merge else err.value()


from . import shbuiltins as _b, coreutils as _c, text as _t, admin as _a, procs as _p  # noqa: E402,F401,I001  (register commands)
