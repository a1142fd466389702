"""Text commands of the training host: echo printf sed grep head tail wc base64 sha256sum
md5sum sha1sum cut sort uniq tr (GNU behaviour, the options scripts actually use)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re

from .fs import FsError
from .shell import Cmd, command, raw, text

# -- escapes and regular expressions -------------------------------------------------------------

_ESC = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\",
        '"': '"', "'": "'", "e": "\x1b"}


def unescape(s: str, *, stop_at_c: bool = False) -> str:
    """Backslash escapes as printf/echo -e read them (\\n, \\t, \\0NNN, \\xHH, ...)."""
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch != "\\" or i + 1 == len(s):
            out.append(ch)
            i += 1
            continue
        nx = s[i + 1]
        if nx in _ESC:
            out.append(_ESC[nx])
            i += 2
        elif nx == "c" and stop_at_c:
            break
        elif nx == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", s[i + 2:])
            if m:
                out.append(chr(int(m.group(0), 16)))
                i += 2 + m.end()
            else:
                out.append("\\x")
                i += 2
        elif nx in "01234567":
            m = re.match(r"0?[0-7]{0,3}" if nx == "0" else r"[0-7]{1,3}", s[i + 1:])
            digits = m.group(0)
            out.append(chr(int(digits.lstrip("0") or "0", 8) & 0xFF))
            i += 1 + len(digits)
        else:
            out.append("\\" + nx)
            i += 2
    return "".join(out)


_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
            "space": r" \t\n\r\f\v", "blank": r" \t", "xdigit": "0-9A-Fa-f",
            "punct": r"!-/:-@\[-`{-~", "print": r" -~", "graph": r"!-~", "cntrl": r"\x00-\x1f\x7f"}


def posix_regex(pat: str, extended: bool = False) -> str:
    """A POSIX basic (or extended) regular expression as a Python one."""
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        ch = pat[i]
        if ch == "\\" and i + 1 < n:
            nx = pat[i + 1]
            if not extended and nx in "(){}|+?":
                out.append(nx)
            elif nx in "<>":
                out.append(r"\b")
            elif nx in "ntrf" or nx.isdigit() or nx in "wWsSbB":
                out.append("\\" + nx)
            elif nx == "`":
                out.append(r"\A")
            elif nx == "'":
                out.append(r"\Z")
            else:
                out.append(re.escape(nx))
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and pat[j] == "^":
                j += 1
            if j < n and pat[j] == "]":
                j += 1
            while j < n and pat[j] != "]":
                if pat[j] == "[" and j + 1 < n and pat[j + 1] in ":.=":
                    end = pat.find(pat[j + 1] + "]", j + 2)
                    j = end + 2 if end >= 0 else j + 1
                else:
                    j += 1
            if j >= n:
                raise re.error("unterminated [")
            body = pat[i + 1:j]
            neg = body.startswith("^")
            body = body[1:] if neg else body
            body = body.replace("\\", "\\\\")
            body = re.sub(r"\[:(\w+):\]", lambda m: _CLASSES.get(m.group(1), ""), body)
            if body.startswith("]"):
                body = "\\]" + body[1:]
            body = body.replace("[", "\\[")
            out.append("[" + ("^" if neg else "") + body + "]")
            i = j + 1
            continue
        if not extended and ch in "(){}|+?":
            out.append("\\" + ch)
        elif ch == "*" and not extended and (not out or out[-1] in ("^", "(", "|")):
            out.append(r"\*")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _lines(data: str) -> list[str]:
    """Lines with their newline (the last may lack one)."""
    return data.splitlines(True) if "\r" not in data else re.findall(r"[^\n]*\n|[^\n]+$", data)


# -- echo, printf --------------------------------------------------------------------------------

@command("echo", builtin=True)
def _echo(c: Cmd) -> int:
    args = list(c.args)
    newline, esc = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        a = args.pop(0)
        newline = newline and "n" not in a
        for ch in a[1:]:
            esc = True if ch == "e" else False if ch == "E" else esc
    s = " ".join(args)
    if esc:
        full = unescape(s, stop_at_c=True)
        if "\\c" in s:
            c.out(full, end="")
            return 0
        s = full
    c.out(s, end="\n" if newline else "")
    return 0


_SPEC = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXfFeEgGcsbq%])")


@command("printf", builtin=True)
def _printf(c: Cmd) -> int:
    args = list(c.args)
    if args and args[0] == "--":
        args.pop(0)
    if not args:
        c.fail("printf: usage: printf [-v var] format [arguments]", 2)
    fmt, args = args[0], args[1:]
    rc = 0
    out = []
    while True:
        used = 0

        def conv(m: re.Match) -> str:
            nonlocal rc
            flags, width, prec, kind = m.groups()
            if kind == "%":
                return "%"

            def nxt() -> str:
                nonlocal used
                v = args[used] if used < len(args) else None
                used += 1
                return v

            if width == "*":
                width = nxt() or "0"
            if prec == "*":
                prec = nxt() or "0"
            v = nxt()
            spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
            if kind in "diouxX":
                try:
                    num = int(v, 0) if v not in (None, "") else 0
                except ValueError:
                    if v and v[0] in "'\"":
                        num = ord(v[1]) if len(v) > 1 else 0
                    else:
                        c.err(f"{c.sh.name}: printf: {v}: invalid number")
                        rc, num = 1, 0
                return (spec + ("d" if kind in "iu" else kind)) % num
            if kind in "fFeEgG":
                try:
                    num = float(v) if v not in (None, "") else 0.0
                except ValueError:
                    c.err(f"{c.sh.name}: printf: {v}: invalid number")
                    rc, num = 1, 0.0
                return (spec + kind) % num
            s = v or ""
            if kind == "b":
                s = unescape(s)
            elif kind == "q":
                s = s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"
            elif kind == "c":
                s = s[:1]
            return (spec + "s") % s

        out.append(_SPEC.sub(conv, unescape(fmt.replace("%%", "\0pct\0"))).replace("\0pct\0", "%"))
        args = args[used:]
        if not args or used == 0:
            break
    c.out("".join(out), end="")
    return rc


# -- sed -----------------------------------------------------------------------------------------

class _SedError(Exception):
    pass


def _sed_until(script: str, i: int, delim: str) -> tuple[str, int]:
    """Text up to the next unescaped `delim` (an escaped delimiter becomes the plain character)."""
    buf = []
    while i < len(script):
        ch = script[i]
        if ch == "\\" and i + 1 < len(script):
            nx = script[i + 1]
            buf.append(nx if nx == delim and delim not in "&" else "\\" + nx)
            if nx == "n" and delim != "n":
                buf[-1] = "\\n"
            i += 2
            continue
        if ch == delim:
            return "".join(buf), i + 1
        if ch == "\n" and delim != "\n":
            break
        buf.append(ch)
        i += 1
    raise _SedError("unterminated")


def _sed_parse(script: str, extended: bool) -> list[dict]:
    cmds, i, n = [], 0, len(script)

    def address(i):
        if i < n and script[i].isdigit():
            m = re.match(r"\d+", script[i:])
            return ("line", int(m.group(0))), i + m.end()
        if i < n and script[i] == "$":
            return ("last",), i + 1
        if i < n and script[i] in "/\\":
            delim = "/"
            if script[i] == "\\":
                delim, i = script[i + 1], i + 1
            pat, i = _sed_until(script, i + 1, delim)
            flags = 0
            while i < n and script[i] in "I":
                flags, i = re.I, i + 1
            return ("re", re.compile(posix_regex(pat, extended), flags)), i
        return None, i

    while i < n:
        while i < n and script[i] in " \t\n;":
            i += 1
        if i >= n:
            break
        start = i
        a1, i = address(i)
        a2 = None
        if a1 is not None and i < n and script[i] == ",":
            a2, i = address(i + 1)
            if a2 is None:
                raise _SedError(f"char {i + 1}: unexpected `,'")
        while i < n and script[i] in " \t":
            i += 1
        neg = False
        if i < n and script[i] == "!":
            neg, i = True, i + 1
        if i >= n:
            raise _SedError(f"char {i}: missing command")
        op = script[i]
        i += 1
        cmd = {"a1": a1, "a2": a2, "neg": neg, "op": op, "active": False}
        if op == "s":
            if i >= n:
                raise _SedError(f"char {i}: unterminated `s' command")
            delim = script[i]
            try:
                pat, i = _sed_until(script, i + 1, delim)
                repl, i = _sed_until(script, i, delim)
            except _SedError:
                raise _SedError(f"char {n}: unterminated `s' command")
            m = re.match(r"[gpiIe0-9]*", script[i:])
            fl = m.group(0)
            i += m.end()
            try:
                cmd["re"] = re.compile(posix_regex(pat, extended), re.I if ("i" in fl or "I" in fl) else 0)
            except re.error as e:
                raise _SedError(f"char {i}: {e}")
            cmd["repl"], cmd["g"], cmd["p"] = repl, "g" in fl, "p" in fl
            nth = re.search(r"\d+", fl)
            cmd["nth"] = int(nth.group(0)) if nth else 1
        elif op == "y":
            delim = script[i]
            src, i = _sed_until(script, i + 1, delim)
            dst, i = _sed_until(script, i, delim)
            if len(unescape(src)) != len(unescape(dst)):
                raise _SedError(f"char {i}: strings for `y' command are different lengths")
            cmd["table"] = str.maketrans(unescape(src), unescape(dst))
        elif op in "aic":
            if script[i:i + 2] == "\\\n":
                i += 2
            elif script[i:i + 1] == "\\":
                i += 1
            while i < n and script[i] in " \t":
                i += 1
            end = script.find("\n", i)
            end = n if end < 0 else end
            cmd["text"] = unescape(script[i:end])
            i = end
        elif op in "dpqQ=":
            if op in "qQ":
                m = re.match(r"\s*(\d*)", script[i:])
                cmd["code"] = int(m.group(1) or 0)
                i += m.end()
        else:
            raise _SedError(f"char {start + 1}: unknown command: `{op}'")
        cmds.append(cmd)
    return cmds


def _sed_repl(template: str, m: re.Match) -> str:
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch == "&":
            out.append(m.group(0))
        elif ch == "\\" and i + 1 < len(template):
            nx = template[i + 1]
            if nx.isdigit():
                out.append(m.group(int(nx)) or "" if int(nx) <= (m.re.groups or 0) else "")
            else:
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nx, nx))
            i += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _sed_run(cmds: list[dict], lines: list[str], quiet: bool) -> tuple[str, int | None]:
    out: list[str] = []
    total = len(lines)
    for k, line in enumerate(lines, 1):
        nl = "\n" if line.endswith("\n") else ""
        ps = line[:-1] if nl else line
        deleted, append, quit_code = False, [], None

        def match(a) -> bool:
            if a[0] == "line":
                return k == a[1]
            if a[0] == "last":
                return k == total
            return bool(a[1].search(ps))

        for cmd in cmds:
            if cmd["a1"] is None:
                hit = True
            elif cmd["a2"] is None:
                hit = match(cmd["a1"])
            elif cmd["active"]:
                hit = True
                a2 = cmd["a2"]
                if (a2[0] == "line" and k >= a2[1]) or (a2[0] != "line" and match(a2)):
                    cmd["active"] = False
            else:
                hit = match(cmd["a1"])
                if hit:
                    a2 = cmd["a2"]
                    cmd["active"] = not (a2[0] == "line" and a2[1] <= k)
            if hit == cmd["neg"]:
                continue
            op = cmd["op"]
            if op == "s":
                count = 0

                def sub(m):
                    nonlocal count
                    count += 1
                    if count < cmd["nth"] or (count > cmd["nth"] and not cmd["g"]):
                        return m.group(0)
                    return _sed_repl(cmd["repl"], m)
                new = cmd["re"].sub(sub, ps)
                if count >= cmd["nth"]:
                    ps = new
                    if cmd["p"]:
                        out.append(ps + "\n")
            elif op == "y":
                ps = ps.translate(cmd["table"])
            elif op == "d":
                deleted = True
                break
            elif op == "p":
                out.append(ps + "\n")
            elif op == "=":
                out.append(f"{k}\n")
            elif op == "a":
                append.append(cmd["text"] + "\n")
            elif op == "i":
                out.append(cmd["text"] + "\n")
            elif op == "c":
                deleted = True
                if cmd["a2"] is None or not cmd["active"]:
                    out.append(cmd["text"] + "\n")
                break
            elif op in "qQ":
                quit_code = cmd["code"]
                if op == "Q":
                    deleted = True
                break
        if not deleted and not quiet:
            out.append(ps + nl)
        out.extend(append)
        if quit_code is not None:
            return "".join(out), quit_code
    return "".join(out), None


@command("sed")
def _sed(c: Cmd) -> int:
    args = list(c.args)
    scripts, files, inplace, quiet, extended, suffix = [], [], False, False, False, ""
    while args:
        a = args.pop(0)
        if a == "--":
            files.extend(args)
            break
        if a in ("-e", "--expression"):
            scripts.append(args.pop(0) if args else c.fail("sed: option requires an argument -- 'e'"))
        elif a.startswith("--expression="):
            scripts.append(a.split("=", 1)[1])
        elif a == "-f":
            scripts.append(text(c.read(args.pop(0))))
        elif a.startswith("--in-place"):
            inplace, suffix = True, a.partition("=")[2]
        elif a in ("-n", "--quiet", "--silent"):
            quiet = True
        elif a in ("-E", "-r", "--regexp-extended"):
            extended = True
        elif a in ("--follow-symlinks", "-u", "--posix", "-s", "--separate"):
            pass
        elif a.startswith("-") and len(a) > 1 and not a.startswith("--"):
            body = a[1:]
            while body:
                ch, body = body[0], body[1:]
                if ch == "i":
                    inplace, suffix, body = True, body, ""
                elif ch == "n":
                    quiet = True
                elif ch in "Er":
                    extended = True
                elif ch == "e":
                    scripts.append(body or (args.pop(0) if args else ""))
                    body = ""
                elif ch in "us":
                    pass
                else:
                    c.fail(f"sed: invalid option -- '{ch}'")
        elif not scripts and not files:
            scripts.append(a)
        else:
            files.append(a)
    if not scripts:
        c.fail("Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...", 1)
    try:
        cmds = _sed_parse("\n".join(scripts), extended)
    except _SedError as e:
        c.fail(f"sed: -e expression #1, {e}")
    if inplace:
        if not files:
            c.fail("sed: no input files", 4)
        rc = 0
        for f in files:
            try:
                real, node = c.lookup(f)
                if node is None:
                    raise FsError("ENOENT")
                data = text(c.read(f))
                if not c.root:
                    c.fs.parent_writable(real, c.user, f)
            except FsError as e:
                c.err(f"sed: can't read {f}: {e.strerror}")
                rc = 2
                continue
            for cmd in cmds:
                cmd["active"] = False
            result, code = _sed_run(cmds, _lines(data), quiet)
            if suffix:
                from .fs import Node
                bak = real + suffix if "*" not in suffix else suffix.replace("*", real)
                c.fs.put(bak, Node("f", node.data, node.mode, node.owner, node.group))
            node.data = raw(result)
            c.fs.changes += 1
            if code is not None:
                return code
        return rc
    data, rc = [], 0
    for f in files or ["-"]:
        try:
            data.append(text(c.read(f)))
        except FsError as e:
            c.err(f"sed: can't read {f}: {e.strerror}")
            rc = 2
    result, code = _sed_run(cmds, _lines("".join(data)), quiet)
    c.out(result, end="")
    return code if code is not None else rc


# -- grep ----------------------------------------------------------------------------------------

@command("grep", "egrep", "fgrep")
def _grep(c: Cmd) -> int:
    args = list(c.args)
    fl, patterns, files = set("E" if c.name == "egrep" else "F" if c.name == "fgrep" else ""), [], []
    maxcount = None
    after = before = 0
    longs = {"quiet": "q", "silent": "q", "count": "c", "fixed-strings": "F", "invert-match": "v",
             "ignore-case": "i", "line-number": "n", "extended-regexp": "E", "line-regexp": "x",
             "word-regexp": "w", "files-with-matches": "l", "files-without-match": "L",
             "no-filename": "h", "with-filename": "H", "no-messages": "s", "only-matching": "o",
             "recursive": "r", "basic-regexp": "G"}
    while args:
        a = args.pop(0)
        if a == "--":
            files.extend(args)
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            if name == "regexp":
                patterns.append(val if eq else args.pop(0))
            elif name == "max-count":
                maxcount = int(val if eq else args.pop(0))
            elif name in ("after-context", "before-context", "context"):
                n = int(val if eq else args.pop(0))
                after = n if name != "before-context" else after
                before = n if name != "after-context" else before
            elif name in longs:
                fl.add(longs[name])
            elif name in ("color", "colour", "binary-files"):
                pass
            else:
                c.fail(f"grep: unrecognized option '{a}'\nUsage: grep [OPTION]... PATTERN [FILE]...", 2)
        elif a.startswith("-") and len(a) > 1:
            body = a[1:]
            while body:
                ch, body = body[0], body[1:]
                if ch in "ef":
                    val = body or (args.pop(0) if args else c.fail(f"grep: option requires an argument -- '{ch}'", 2))
                    if ch == "e":
                        patterns.append(val)
                    else:
                        patterns.extend(text(c.read(val)).splitlines())
                    body = ""
                elif ch == "m":
                    maxcount = int(body or args.pop(0))
                    body = ""
                elif ch in "ABC":
                    n = int(body or args.pop(0))
                    after = n if ch in "AC" else after
                    before = n if ch in "BC" else before
                    body = ""
                elif ch.isdigit():
                    after = before = int(ch + body)
                    body = ""
                elif ch in "qcFviInExwlLhHsorRGa":
                    fl.add("r" if ch == "R" else ch)
                else:
                    c.fail(f"grep: invalid option -- '{ch}'\nUsage: grep [OPTION]... PATTERN [FILE]...", 2)
        elif not patterns and "pat_given" not in fl:
            patterns.append(a)
            fl.add("pat_given")
        else:
            files.append(a)
    if not patterns and "pat_given" not in fl:
        c.fail("Usage: grep [OPTION]... PATTERN [FILE]...\nTry 'grep --help' for more information.", 2)
    pats = [p for pat in patterns for p in pat.split("\n")]
    try:
        rx = [re.escape(p) if "F" in fl else posix_regex(p, "E" in fl) for p in pats]
        if "x" in fl:
            rx = [f"(?:{r})\\Z" for r in rx]
        elif "w" in fl:
            rx = [f"(?<!\\w)(?:{r})(?!\\w)" for r in rx]
        regex = re.compile("|".join(f"(?:{r})" for r in rx) if rx else "(?!)", re.I if "i" in fl else 0)
    except re.error as e:
        c.fail(f"grep: {e}", 2)
    if "r" in fl and not files:
        files = ["."]
    sources = []
    rc_err = 0
    for f in files or ["-"]:
        if f == "-":
            sources.append(("(standard input)", raw(c.stdin())))
            continue
        try:
            real, node = c.lookup(f)
            if node is None:
                raise FsError("ENOENT")
            if node.kind == "d":
                if "r" not in fl:
                    c.err(f"grep: {f}: Is a directory")
                    continue
                for sub, n in c.fs.walk(real):
                    if n.kind == "f":
                        shown = f.rstrip("/") + sub[len(real):] if f != "." else "." + sub[len(real):]
                        if c.fs.allowed(n, c.user, "r"):
                            sources.append((shown, n.data))
                        else:
                            c.err(f"grep: {shown}: Permission denied")
                            rc_err = 2
                continue
            sources.append((f, c.read(f)))
        except FsError as e:
            if "s" not in fl:
                c.err(f"grep: {f}: {e.strerror}")
            rc_err = 2
    show_name = ("H" in fl or len(sources) > 1 or "r" in fl) and "h" not in fl
    found = False
    last_printed = None
    for name, data in sources:
        binary = b"\0" in data
        count = 0
        pending_after = 0
        s = text(data)
        lines = s.split("\n")[:-1] if s.endswith("\n") else (s.split("\n") if s else [])
        for k, line in enumerate(lines, 1):
            hit = bool(regex.search(line))
            if hit == ("v" in fl):
                if pending_after and not (fl & {"c", "l", "L", "q"}) and not binary:
                    c.out((f"{name}-" if show_name else "") + (f"{k}-" if "n" in fl else "") + line)
                    last_printed, pending_after = (name, k), pending_after - 1
                continue
            count += 1
            found = True
            if "q" in fl:
                return 0
            if fl & {"c", "l", "L"} or binary:
                if maxcount and count >= maxcount:
                    break
                continue
            if before or after:
                first = max(1, k - before)
                if last_printed is not None and (last_printed[0] != name or last_printed[1] < first - 1):
                    c.out("--")
                start = first if last_printed is None or last_printed[0] != name else max(first, last_printed[1] + 1)
                for j in range(start, k):
                    c.out((f"{name}-" if show_name else "") + (f"{j}-" if "n" in fl else "") + lines[j - 1])
                last_printed, pending_after = (name, k), after
            prefix = (f"{name}:" if show_name else "") + (f"{k}:" if "n" in fl else "")
            if "o" in fl and "v" not in fl:
                for m in regex.finditer(line):
                    c.out(prefix + m.group(0))
            else:
                c.out(prefix + line)
            if maxcount and count >= maxcount:
                break
        if "c" in fl:
            c.out((f"{name}:" if show_name else "") + str(count))
        elif "l" in fl and count:
            c.out(name)
        elif "L" in fl and not count:
            c.out(name)
        elif binary and count:
            c.out(f"Binary file {name} matches")
    if rc_err and not ("q" in fl and found):
        return 2
    return 0 if found else 1


# -- head, tail, wc ------------------------------------------------------------------------------

def _count_opts(c: Cmd, default: int = 10) -> tuple[str, str, list[str]]:
    args, files = list(c.args), []
    unit, n = "n", str(default)
    while args:
        a = args.pop(0)
        if re.fullmatch(r"-\d+", a):
            n = a[1:]
        elif a in ("-n", "-c", "--lines", "--bytes"):
            unit, n = ("c" if a in ("-c", "--bytes") else "n"), (args.pop(0) if args else "")
        elif re.fullmatch(r"-[nc][-+]?\d+", a):
            unit, n = a[1], a[2:]
        elif a.startswith("--lines=") or a.startswith("--bytes="):
            unit, n = ("c" if a.startswith("--bytes") else "n"), a.split("=", 1)[1]
        elif a in ("-q", "-v", "-f", "-F", "--quiet", "--silent", "--follow"):
            pass
        else:
            files.append(a)
    if not re.fullmatch(r"[-+]?\d+", n or ""):
        c.fail(f"{c.name}: invalid number of {'bytes' if unit == 'c' else 'lines'}: \u2018{n}\u2019")
    return unit, n, files


def _head_tail(c: Cmd, head: bool) -> int:
    unit, n, files = _count_opts(c)
    rc = 0
    for k, f in enumerate(files or ["-"]):
        try:
            data = c.read(f)
        except FsError as e:
            verb = "reading" if head else "open"
            c.err(f"{c.name}: cannot {verb} \u2018{f}\u2019 for reading: {e.strerror}" if head
                  else f"{c.name}: cannot open \u2018{f}\u2019 for reading: {e.strerror}")
            rc = 1
            continue
        if len(files) > 1:
            c.out(("\n" if k else "") + f"==> {f} <==")
        num = int(n)
        if unit == "c":
            if head:
                part = data[:num] if num >= 0 else data[:num]
            else:
                part = data[num - 1:] if n.startswith("+") else (data[-num:] if num else b"")
            c.out(text(part), end="")
            continue
        lines = text(data).splitlines(True)
        if head:
            part = lines[:num] if not n.startswith("-") else lines[:num]
        else:
            part = lines[num - 1:] if n.startswith("+") else (lines[-abs(num):] if num else [])
        c.out("".join(part), end="")
    return rc


@command("head")
def _head(c: Cmd) -> int:
    return _head_tail(c, True)


@command("tail")
def _tail(c: Cmd) -> int:
    return _head_tail(c, False)


@command("wc")
def _wc(c: Cmd) -> int:
    args = [a for a in c.args]
    fl, files = set(), []
    for a in args:
        if a.startswith("--"):
            fl.add({"--lines": "l", "--words": "w", "--bytes": "c", "--chars": "m",
                    "--max-line-length": "L"}.get(a, ""))
        elif a.startswith("-") and len(a) > 1:
            fl.update(a[1:])
        else:
            files.append(a)
    order = [x for x in "lwmcL" if x in fl] or ["l", "w", "c"]
    rows, rc = [], 0
    for f in files or ["-"]:
        try:
            data = c.read(f)
        except FsError as e:
            c.err(f"wc: {f}: {e.strerror}")
            rc = 1
            continue
        s = text(data)
        vals = {"l": s.count("\n"), "w": len(s.split()), "c": len(data), "m": len(s),
                "L": max((len(x) for x in s.split("\n")), default=0)}
        rows.append(([vals[x] for x in order], "" if f == "-" and not files else f))
    if len(rows) > 1:
        rows.append(([sum(r[0][i] for r in rows) for i in range(len(order))], "total"))
    width = 1 if len(order) == 1 and len(rows) == 1 else max(
        [len(str(v)) for r in rows for v in r[0]] + [1 if files else 7])
    for vals, name in rows:
        c.out(" ".join(f"{v:>{width}}" for v in vals) + (f" {name}" if name else ""))
    return rc


# -- encodings and checksums ---------------------------------------------------------------------

@command("base64")
def _base64(c: Cmd) -> int:
    args = list(c.args)
    decode, wrap, files = False, 76, []
    while args:
        a = args.pop(0)
        if a in ("-d", "--decode", "-D"):
            decode = True
        elif a in ("-i", "--ignore-garbage"):
            pass
        elif a == "-w":
            wrap = int(args.pop(0))
        elif a.startswith("--wrap="):
            wrap = int(a.split("=", 1)[1])
        elif re.fullmatch(r"-w\d+", a):
            wrap = int(a[2:])
        else:
            files.append(a)
    try:
        data = c.read(files[0] if files else "-")
    except FsError as e:
        c.fail(f"base64: {files[0]}: {e.strerror}")
    if decode:
        try:
            out = base64.b64decode(re.sub(rb"\s", b"", data), validate=True)
        except (binascii.Error, ValueError):
            c.fail("base64: invalid input")
        c.out(text(out), end="")
        return 0
    enc = base64.b64encode(data).decode("ascii")
    if wrap:
        enc = "\n".join(enc[i:i + wrap] for i in range(0, len(enc), wrap))
    c.out(enc, end="\n" if enc else "")
    return 0


@command("sha256sum", "md5sum", "sha1sum", "sha512sum")
def _sum(c: Cmd) -> int:
    algo = c.name[:-3]
    files = [a for a in c.args if not a.startswith("-") or a == "-"]
    check = "-c" in c.args or "--check" in c.args
    rc = 0
    if check:
        bad = 0
        for f in files or ["-"]:
            for line in text(c.read(f)).splitlines():
                m = re.match(r"([0-9a-fA-F]+) [ *](.+)", line)
                if not m:
                    continue
                try:
                    ok = hashlib.new(algo, c.read(m.group(2))).hexdigest() == m.group(1).lower()
                except FsError as e:
                    c.err(f"{c.name}: {m.group(2)}: {e.strerror}")
                    ok = False
                c.out(f"{m.group(2)}: {'OK' if ok else 'FAILED'}")
                bad += not ok
        if bad:
            c.err(f"{c.name}: WARNING: {bad} computed checksum{'s' if bad > 1 else ''} did NOT match")
        return 1 if bad else 0
    for f in files or ["-"]:
        try:
            data = c.read(f)
        except FsError as e:
            c.err(f"{c.name}: {f}: {e.strerror}")
            rc = 1
            continue
        c.out(f"{hashlib.new(algo, data).hexdigest()}  {f}")
    return rc


# -- cut, sort, uniq, tr -------------------------------------------------------------------------

def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        a, sep, b = part.partition("-")
        lo = int(a) if a else 1
        hi = (int(b) if b else 10 ** 9) if sep else lo
        out.append((lo, hi))
    return out


@command("cut")
def _cut(c: Cmd) -> int:
    args, delim, fields, chars, files = list(c.args), "\t", None, None, []
    while args:
        a = args.pop(0)
        if a.startswith("-d"):
            delim = a[2:] or args.pop(0)
        elif a.startswith("-f"):
            fields = _ranges(a[2:] or args.pop(0))
        elif a.startswith("-c") or a.startswith("-b"):
            chars = _ranges(a[2:] or args.pop(0))
        elif a == "-s":
            pass
        else:
            files.append(a)
    if fields is None and chars is None:
        c.fail("cut: you must specify a list of bytes, characters, or fields")
    for f in files or ["-"]:
        for line in text(c.read(f)).splitlines():
            if chars is not None:
                c.out("".join(ch for k, ch in enumerate(line, 1) if any(lo <= k <= hi for lo, hi in chars)))
            elif delim not in line:
                c.out(line)
            else:
                parts = line.split(delim)
                c.out(delim.join(p for k, p in enumerate(parts, 1) if any(lo <= k <= hi for lo, hi in fields)))
    return 0


@command("sort")
def _sort(c: Cmd) -> int:
    fl = set("".join(a[1:] for a in c.args if a.startswith("-") and len(a) > 1))
    files = [a for a in c.args if not a.startswith("-") or a == "-"]
    lines = []
    for f in files or ["-"]:
        lines.extend(text(c.read(f)).splitlines())
    key = (lambda s: (float(m.group(0)) if (m := re.match(r"\s*-?\d+(\.\d+)?", s)) else 0.0, s)) if "n" in fl else None
    lines.sort(key=key, reverse="r" in fl)
    if "u" in fl:
        lines = list(dict.fromkeys(lines))
    c.out("".join(x + "\n" for x in lines), end="")
    return 0


@command("uniq")
def _uniq(c: Cmd) -> int:
    fl = set("".join(a[1:] for a in c.args if a.startswith("-") and len(a) > 1))
    files = [a for a in c.args if not a.startswith("-")]
    groups: list[list] = []
    for line in text(c.read(files[0] if files else "-")).splitlines():
        if groups and groups[-1][0] == line:
            groups[-1][1] += 1
        else:
            groups.append([line, 1])
    for line, n in groups:
        if "d" in fl and n < 2 or "u" in fl and n > 1:
            continue
        c.out(f"{n:7d} {line}" if "c" in fl else line)
    return 0


def _tr_set(s: str) -> str:
    s = re.sub(r"\[:(\w+):\]", lambda m: {"lower": "a-z", "upper": "A-Z", "digit": "0-9",
                                          "space": " \t\n\r\f\v", "blank": " \t",
                                          "alpha": "a-zA-Z", "alnum": "a-zA-Z0-9"}.get(m.group(1), ""), s)
    s = unescape(s)
    out, i = [], 0
    while i < len(s):
        if i + 2 < len(s) and s[i + 1] == "-":
            out.extend(chr(x) for x in range(ord(s[i]), ord(s[i + 2]) + 1))
            i += 3
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@command("tr")
def _tr(c: Cmd) -> int:
    fl = set("".join(a[1:] for a in c.args if re.fullmatch(r"-[dsc]+", a)))
    sets = [a for a in c.args if not re.fullmatch(r"-[dsc]+", a)]
    if not sets:
        c.fail("tr: missing operand\nTry 'tr --help' for more information.")
    data = c.stdin()
    s1 = _tr_set(sets[0])
    if "d" in fl:
        data = "".join(ch for ch in data if ch not in s1)
    elif len(sets) > 1:
        s2 = _tr_set(sets[1])
        s2 = (s2 + s2[-1:] * len(s1))[:len(s1)]
        data = data.translate(str.maketrans(s1, s2))
    if "s" in fl:
        squeeze = _tr_set(sets[-1])
        data = re.sub("([" + re.escape(squeeze) + "])\\1+", r"\1", data) if squeeze else data
    c.out(data, end="")
    return 0
