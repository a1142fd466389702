"""Shell builtins of the training host (cd, set, test, sh -c, sudo, ...)."""
from __future__ import annotations

import re

from .fs import FsError
from .shell import BUILTINS, Cmd, ExitShell, Input, ReturnFunc, command


def builtin(*names: str):
    def deco(f):
        for n in names:
            BUILTINS[n] = f
        return f
    return deco


@command("true", builtin=True)
@builtin(":")
def _true(c: Cmd) -> int:
    return 0


@command("false", builtin=True)
def _false(c: Cmd) -> int:
    return 1


@builtin("cd")
def _cd(c: Cmd) -> int:
    target = c.args[0] if c.args else c.sh.vars.get("HOME", "/")
    if target == "-":
        target = c.sh.vars.get("OLDPWD", c.cwd)
    try:
        real, node = c.lookup(target)
        if node is None:
            raise FsError("ENOENT", target)
        if node.kind != "d":
            raise FsError("ENOTDIR", target)
        if not c.fs.allowed(node, c.user, "x"):
            raise FsError("EACCES", target)
    except FsError as e:
        c.fail(f"{c.sh.name}: cd: {target}: {e.strerror}")
    c.sh.vars["OLDPWD"] = c.cwd
    c.sh.cwd = c.abspath(target)
    c.sh.vars["PWD"] = c.sh.cwd
    return 0


@command("pwd", builtin=True)
def _pwd(c: Cmd) -> int:
    c.out(c.cwd)
    return 0


@builtin("export", "readonly", "local", "declare", "typeset")
def _export(c: Cmd) -> int:
    for a in c.args:
        if a.startswith("-"):
            continue
        name, eq, val = a.partition("=")
        if eq:
            c.sh.vars[name] = val
    return 0


@builtin("unset")
def _unset(c: Cmd) -> int:
    for a in c.args:
        if not a.startswith("-"):
            c.sh.vars.pop(a, None)
    return 0


@builtin("set")
def _set(c: Cmd) -> int:
    args = list(c.args)
    while args:
        a = args.pop(0)
        if a == "--":
            c.sh.args = args
            return 0
        if a in ("-o", "+o"):
            opt = args.pop(0) if args else ""
            if opt == "pipefail":
                c.sh.pipefail = a == "-o"
            elif opt == "errexit":
                c.sh.errexit = a == "-o"
            continue
        if re.fullmatch(r"[-+][euxvfhnbkmCT]+", a):
            on = a[0] == "-"
            if "e" in a:
                c.sh.errexit = on
            if "o" in a:
                pass
            continue
        c.sh.args = [a] + args
        return 0
    if not c.args:
        for k, v in sorted(c.sh.vars.items()):
            c.out(f"{k}={v}")
    return 0


@builtin("shift")
def _shift(c: Cmd) -> int:
    n = int(c.args[0]) if c.args else 1
    if n > len(c.sh.args):
        return 1
    c.sh.args = c.sh.args[n:]
    return 0


@builtin("exit", "return")
def _exit(c: Cmd) -> int:
    code = c.sh.last
    if c.args:
        try:
            code = int(c.args[0]) & 0xFF
        except ValueError:
            c.err(f"{c.sh.name}: {c.name}: {c.args[0]}: numeric argument required")
            code = 2
    if c.name == "return" and c.sh.in_func:
        raise ReturnFunc(code)
    raise ExitShell(code)


@builtin("source", ".")
def _source(c: Cmd) -> int:
    if not c.args:
        c.fail(f"{c.sh.name}: {c.name}: filename argument required", 2)
    try:
        data = c.read(c.args[0])
    except FsError as e:
        c.fail(f"{c.sh.name}: {c.args[0]}: {e.strerror}")
    saved = c.sh.args
    if len(c.args) > 1:
        c.sh.args = c.args[1:]
    try:
        from .shell import Parser, ShellSyntax, lex
        try:
            ast = Parser(lex(data.decode("utf-8", "surrogateescape"))).program()
        except ShellSyntax as e:
            c.fail(f"{c.args[0]}: line 0: {e}", 2)
        try:
            return c.sh.exec(ast, c.io)
        except ExitShell as e:
            return e.code
    finally:
        c.sh.args = saved


@builtin("eval")
def _eval(c: Cmd) -> int:
    from .shell import Parser, ShellSyntax, lex
    try:
        ast = Parser(lex(" ".join(c.args))).program()
    except ShellSyntax as e:
        c.fail(f"{c.sh.name}: eval: {e}", 2)
    return c.sh.exec(ast, c.io)


@builtin("exec")
def _exec(c: Cmd) -> int:
    if not c.args:
        return 0
    raise ExitShell(c.sh.invoke(c.args, c.io, {}))


@builtin("command", "type")
def _command(c: Cmd) -> int:
    args = list(c.args)
    mode = "type" if c.name == "type" else None
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a in ("-v", "-V"):
            mode = a
        elif a == "--":
            break
    if mode is None:
        return c.sh.invoke(args, c.io, {}) if args else 0
    rc = 0
    for n in args:
        path = None if n in BUILTINS else (n if "/" in n and c.fs.get(c.abspath(n)) else c.sh.which(n))
        if n in BUILTINS:
            c.out(n if mode == "-v" else f"{n} is a shell builtin")
        elif path:
            c.out(path if mode == "-v" else f"{n} is {path}")
        else:
            if mode != "-v":
                c.err(f"{c.sh.name}: {c.name}: {n}: not found")
            rc = 1
    return rc


@command("which")
def _which(c: Cmd) -> int:
    rc = 0
    for n in [a for a in c.args if not a.startswith("-")]:
        p = c.sh.which(n)
        if p:
            c.out(p)
        else:
            c.err(f"/usr/bin/which: no {n} in ({c.sh.vars.get('PATH', '')})")
            rc = 1
    return rc


@builtin("read")
def _read(c: Cmd) -> int:
    names = [a for a in c.args if not a.startswith("-")] or ["REPLY"]
    line = c.io.stdin.readline()
    if not line:
        return 1
    line = line.rstrip("\n")
    fields = line.split(None, len(names) - 1) if names != ["REPLY"] else [line]
    for k, n in enumerate(names):
        c.sh.vars[n] = fields[k] if k < len(fields) else ""
    return 0


@builtin("umask")
def _umask(c: Cmd) -> int:
    if not c.args:
        c.out("0022")
    return 0


@builtin("wait", "hash", "trap", "shopt", "ulimit", "alias", "unalias")
def _noop(c: Cmd) -> int:
    return 0


# -- test / [ ------------------------------------------------------------------------------

class _TestError(Exception):
    pass


def _file_test(c: Cmd, op: str, path: str) -> bool:
    try:
        _, node = c.lookup(path, follow=op not in ("-L", "-h"))
    except FsError:
        return False
    if node is None:
        return False
    if op == "-e":
        return True
    if op == "-f":
        return node.kind == "f"
    if op == "-d":
        return node.kind == "d"
    if op in ("-L", "-h"):
        return node.kind == "l"
    if op == "-c":
        return node.kind == "c"
    if op == "-s":
        return node.kind == "f" and len(node.data) > 0 or node.kind == "d"
    if op in ("-r", "-w", "-x"):
        return c.fs.allowed(node, c.user, op[1])
    if op == "-O":
        return node.owner == c.user
    if op == "-G":
        return node.group == c.primary_group()
    if op in ("-u", "-g", "-k"):
        return bool(node.mode & {"-u": 0o4000, "-g": 0o2000, "-k": 0o1000}[op])
    return False


_UNARY_FILE = {"-e", "-f", "-d", "-L", "-h", "-c", "-s", "-r", "-w", "-x", "-O", "-G", "-u", "-g", "-k",
               "-b", "-p", "-S"}
_BINARY = {"=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot", "-ef"}


def _int(s: str) -> int:
    try:
        return int(s.strip())
    except ValueError:
        raise _TestError(f"{s}: integer expression expected")


def _binary(c: Cmd, a: str, op: str, b: str) -> bool:
    if op in ("=", "=="):
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op in ("-nt", "-ot", "-ef"):
        na, nb = c.fs.get(c.abspath(a)), c.fs.get(c.abspath(b))
        if op == "-ef":
            return na is not None and na is nb
        if na is None or nb is None:
            return (na is not None) if op == "-nt" else (nb is not None)
        return na.mtime > nb.mtime if op == "-nt" else na.mtime < nb.mtime
    x, y = _int(a), _int(b)
    return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}[op]


def _evaluate(c: Cmd, args: list[str]) -> bool:
    pos = 0

    def peek():
        return args[pos] if pos < len(args) else None

    def take():
        nonlocal pos
        pos += 1
        return args[pos - 1]

    def primary() -> bool:
        a = peek()
        if a is None:
            raise _TestError("argument expected")
        rest = len(args) - pos
        if a == "!" and rest > 1:
            take()
            return not primary()
        if a == "(" and rest > 1:
            take()
            v = expr()
            if take_if(")") is None:
                raise _TestError("')' expected")
            return v
        if rest >= 3 and args[pos + 1] in _BINARY:
            x, op, y = take(), take(), take()
            return _binary(c, x, op, y)
        if a in _UNARY_FILE and rest >= 2:
            take()
            return _file_test(c, a, take())
        if a in ("-z", "-n") and rest >= 2:
            take()
            v = take()
            return (v == "") if a == "-z" else (v != "")
        take()
        return a != ""

    def take_if(tok):
        if peek() == tok:
            return take()
        return None

    def conj() -> bool:
        v = primary()
        while peek() == "-a":
            take()
            w = primary()
            v = v and w
        return v

    def expr() -> bool:
        v = conj()
        while peek() == "-o":
            take()
            w = conj()
            v = v or w
        return v

    if not args:
        return False
    result = expr()
    if pos != len(args):
        raise _TestError(f"{args[pos]}: unexpected operator" if pos < len(args) else "too many arguments")
    return result


@command("test", "[", builtin=True)
def _test(c: Cmd) -> int:
    args = list(c.args)
    if c.name == "[":
        if not args or args[-1] != "]":
            c.fail(f"{c.sh.name}: [: missing `]'", 2)
        args = args[:-1]
    try:
        return 0 if _evaluate(c, args) else 1
    except _TestError as e:
        c.fail(f"{c.sh.name}: {c.name}: {e}", 2)


# -- shells and wrappers --------------------------------------------------------------------

@command("sh", "bash")
def _sh(c: Cmd) -> int:
    args = list(c.args)
    errexit = noexec = False
    script = None
    while args and args[0][:1] in "-+" and args[0] not in ("-", "+"):
        a = args.pop(0)
        if a == "--":
            break
        if a in ("-o", "+o"):
            opt = args.pop(0) if args else ""
            errexit = errexit or (opt == "errexit" and a == "-o")
            noexec = noexec or (opt == "noexec" and a == "-o")
            continue
        if a.startswith("+"):
            continue
        if "c" in a[1:]:
            if not args:
                c.fail(f"{c.name}: {a}: option requires an argument", 2)
            script = args.pop(0)
        errexit = errexit or "e" in a[1:]
        noexec = noexec or "n" in a[1:]
    if script is not None:
        sub = c.sh.child(name=args[0] if args else c.name, args=args[1:])
    elif args and args[0] in ("/dev/stdin", "/proc/self/fd/0"):   # `bash -n /dev/stdin` (planning)
        script, sub = c.stdin(), c.sh.child(name=args[0], args=args[1:])
    elif args:
        try:
            script = c.read(args[0]).decode("utf-8", "surrogateescape")
        except FsError as e:
            c.fail(f"{c.name}: {args[0]}: {e.strerror}", 127)
        sub = c.sh.child(name=args[0], args=args[1:])
    else:
        script, sub = c.stdin(), c.sh.child(name=c.name)
    sub.errexit, sub.noexec = errexit, noexec
    return sub.run(script, c.io)


@command("sudo")
def _sudo(c: Cmd) -> int:
    from .host import SUDO_PATH
    args = list(c.args)
    user = "root"
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a == "--":
            break
        if a in ("-u", "-g", "-p", "-C", "-h"):
            val = args.pop(0) if args else ""
            if a == "-u":
                user = val
        elif a.startswith("-u") and len(a) > 2:
            user = a[2:]
    if c.user != "root" and c.user not in c.host.state["groups"].get("wheel", [0, []])[1]:
        c.fail(f"{c.user} is not in the sudoers file.  This incident will be reported.")
    if user not in c.host.state["users"]:
        c.fail(f"sudo: unknown user: {user}")
    if not args:
        c.fail("usage: sudo -h | -K | -k | -V", 1)
    sub = c.sh.child(user=user, path_var=SUDO_PATH)
    found = args[0] if "/" in args[0] else sub.which(args[0])
    if found is None:
        c.fail(f"sudo: {args[0]}: command not found")
    return sub.invoke([found] + args[1:], c.io, {})


@command("nohup", "nice", "timeout", "stdbuf", "time")
def _wrapper(c: Cmd) -> int:
    args = list(c.args)
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if c.name == "nice" and a == "-n" or c.name == "stdbuf" and a in ("-o", "-e", "-i"):
            args.pop(0) if args else None
    if c.name == "timeout" and args:
        args.pop(0)
    if not args:
        c.fail(f"{c.name}: missing operand", 125 if c.name == "timeout" else 1)
    return c.sh.invoke(args, c.io, {})


@command("env")
def _env(c: Cmd) -> int:
    args = list(c.args)
    env = {}
    while args and ("=" in args[0] or args[0].startswith("-")):
        a = args.pop(0)
        if "=" in a and not a.startswith("-"):
            k, _, v = a.partition("=")
            env[k] = v
    if not args:
        for k, v in sorted({**c.sh.vars, **env}.items()):
            c.out(f"{k}={v}")
        return 0
    sub = c.sh.child()
    sub.vars.update(env)
    return sub.invoke(args, c.io, env)


@command("xargs")
def _xargs(c: Cmd) -> int:
    args = [a for a in c.args if not a.startswith("-")] or ["echo"]
    items = c.stdin().split()
    if not items and "-r" in c.args:
        return 0
    return c.sh.invoke(args + items, type(c.io)(Input(""), c.io.out, c.io.err), {})

