"""Procedure sections 4 and 5: the ClientMessenger init script and updatesc.sh.

Pure functions (no I/O besides reading the packaged template); the steps call
them and the preview shows their result through :func:`masked`.

The connection URL and the two encodings it goes through
---------------------------------------------------------
The daemon gets its database connection as one JVM argument in the init script
``/etc/init.d/jtel-clientmessenger``::

    -Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://acd-dbm/JTELWeb?user=root\\&password=<password>\\&characterEncoding=utf8 \\

1. **Connector/J** URL-decodes every query value (5.1: ``URLDecoder.decode``
   per ``&``-separated pair; 8.x: ``decode(trim(value))``).  ``URLDecoder``
   turns ``+`` into a space and ``%XX`` into bytes, so every value is
   percent-encoded here, keeping only ``A-Z a-z 0-9 - . _`` literal (stricter
   than ``urllib.parse.quote(value, safe="")``: ``~`` is encoded too).  This
   also protects leading/trailing blanks from 8.x's trim (the trim runs before
   decoding, so ``%20`` survives) and makes the URL pure ASCII, so it does not
   depend on the locale the init script runs under (Java decodes ``argv``
   with the locale's charset; under init's POSIX locale non-ASCII bytes would
   be lost).
2. **The shell** parses the init script's command line once, unquoted (the
   vendor writes ``&`` as ``\\&``), or twice when the java command sits inside
   ``daemon [--user jtel] "…"`` (``/etc/init.d/functions`` hands the string to
   ``runuser``/``bash -c``), ``su -c "…"``, ``runuser -c "…"`` or ``bash -c "…"``.
   :func:`shell_word_for_line` writes the URL for the unquoted parse; inside
   double quotes parsed twice, a ``\\X`` survives the first parse unchanged
   unless X is one of ``$ ` " \\`` (:func:`value_for_form`), so the
   percent-encoded URL's ``\\&``/``\\?`` word is the same in both forms.  A
   quoted argument of java itself (parsed once) gets the URL with no
   backslashes.  Refused: text assigned to a variable (expanded later, split and
   globbed, no quote removal), ``$'…'``, and quoted text given to a command the
   wizard cannot classify; the error says which.

Consequently no password character is refused except lone UTF-16 surrogates,
which have no UTF-8 form and so cannot be carried by Connector/J's UTF-8
``URLDecoder`` at all.  Newlines, NUL, quotes, ``$``, backticks, ... all become
``%XX`` and reach Java exactly.
"""
from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass
from importlib import resources
from .i18n import _

__all__ = [
    "CONNECTION_PROPERTY",
    "ConfiguredScript",
    "InitScriptError",
    "LineForm",
    "MASK",
    "configure",
    "datadir_for",
    "jdbc_url",
    "masked",
    "parse_portal_version",
    "percent_encode",
    "render_updatesc",
    "shell_word_for_line",
    "strip_cr",
    "value_for_form",
]

CONNECTION_PROPERTY = "-Dde.jtel.platform.clientmessenger.connection="
MASK = "********"

# Connector/J's URLDecoder leaves these alone; everything else is %XX (UTF-8).
_URL_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._")

# Characters that need no escaping in an unquoted shell word (bash, bash --posix,
# dash), wherever they sit in the word: no glob (* ? [), no tilde, no brace, no
# metacharacter, no quote, no expansion, no comment, no history (!).
_SHELL_SAFE = frozenset(string.ascii_letters + string.digits + "%+,-./:=@_")

_HOST_RE = re.compile(
    r"""^(?:
        [A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*
        |\[[0-9A-Fa-f:.]+\]
    )(?::[0-9]{1,5})?$""",
    re.VERBOSE,
)
_SCHEMA_RE = re.compile(r"^[A-Za-z0-9_$]+$")

_DATADIRS = {
    "local": "/srv/jtel/shared/Data/Clients/",     # data folder hosted on the chat server
    "mounted": "/home/jtel/shared/Data/clients/",  # data folder mounted (note: lower-case "clients")
}


class InitScriptError(ValueError):
    """The init script cannot be configured safely.

    ``str()`` names the source and, when known, the 1-based line.
    """

    def __init__(self, reason: str, *, source: str = "jtel-clientmessenger", line: int | None = None):
        self.reason = reason
        self.source = source
        self.line = line
        where = _("{source}, line {line}").format(source=source, line=line) if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class ConfiguredScript:
    text: str                 # the new script text (LF line endings)
    changed: bool             # text differs from the input (CR stripping counts)
    notes: tuple[str, ...]    # what was done, for the log/preview; never holds the password


# --------------------------------------------------------------------------- URL


def percent_encode(value: str) -> str:
    """Percent-encode *value* (UTF-8) for a Connector/J query value.

    Only ``A-Z a-z 0-9 - . _`` stay literal.  Raises ValueError for text with
    no UTF-8 form (lone surrogates).
    """
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"character {value[exc.start]!r} at position {exc.start} has no UTF-8 form "
            "(lone surrogate) and cannot be passed to Connector/J"
        ) from None
    return "".join(chr(b) if chr(b) in _URL_UNRESERVED else f"%{b:02X}" for b in data)


def parse_portal_version(version: tuple[int, ...] | str) -> tuple[int, int]:
    """``(3, 25)``, ``"3.25"``, ``"3.26.1"``, ``"3.25.0-rc1"`` -> ``(major, minor)``."""
    if isinstance(version, tuple):
        if len(version) < 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in version):
            raise ValueError(f"portal version {version!r}: expected (major, minor[, ...]) integers")
        return version[0], version[1]
    if isinstance(version, str):
        m = re.match(r"^\s*v?(\d+)\.(\d+)(?:[.\-+_ ].*)?\s*$", version)
        if m:
            return int(m.group(1)), int(m.group(2))
    raise ValueError(f"portal version {version!r}: expected e.g. '3.25' or (3, 25)")


def jdbc_url(
    *,
    host: str,
    schema: str,
    user: str,
    password: str,
    portal_version: tuple[int, int] | str,
    timezone: str = "Europe/Berlin",
) -> str:
    """The JDBC URL for ``-Dde.jtel.platform.clientmessenger.connection=``.

    ``jdbc:mysql://HOST/SCHEMA?user=U&password=P&characterEncoding=utf8``, plus
    ``&serverTimezone=TZ`` for portal >= 3.25.  Query values are percent-encoded
    (see module doc); *host* and *schema* are validated instead (Connector/J 5.1
    does not decode them) and raise ValueError when they hold other characters.
    """
    if not _HOST_RE.match(host or ""):
        raise ValueError(f"database host {host!r}: expected a host name or IP address (optionally :port)")
    if not _SCHEMA_RE.match(schema or ""):
        raise ValueError(f"database schema {schema!r}: only letters, digits, '_' and '$' are allowed")
    if not user:
        raise ValueError("database user must not be empty")
    if password is None:
        raise ValueError("database password is missing")
    major_minor = parse_portal_version(portal_version)
    try:
        user_enc = percent_encode(user)
    except ValueError as exc:
        raise ValueError(f"database user: {exc}") from None
    try:
        password_enc = percent_encode(password)
    except ValueError as exc:
        raise ValueError(f"database password: {exc}") from None
    url = (
        f"jdbc:mysql://{host}/{schema}"
        f"?user={user_enc}&password={password_enc}&characterEncoding=utf8"
    )
    if major_minor >= (3, 25):
        if not timezone:
            raise ValueError("serverTimezone must not be empty for portal >= 3.25")
        url += f"&serverTimezone={percent_encode(timezone)}"
    return url


# ------------------------------------------------------------------------- shell


def shell_word_for_line(url: str) -> str:
    """*url* written for the init script's (unquoted) java command line.

    Every character outside ``A-Z a-z 0-9 % + , - . / : = @ _`` gets a
    backslash.  Why this form:

    * it is the vendor's own convention (``\\&``), so a configured line reads
      like the page and a diff shows only the changed value;
    * each character is escaped on its own: there is no quote state that a
      stray quote could open, and gluing the word to the ``\\``-continuation or
      to neighbouring text cannot change its meaning;
    * it also escapes ``?`` (the vendor does not): an unquoted ``?`` is a glob,
      and with bash's ``nullglob``/``failglob`` the whole argument could vanish
      or abort the start;
    * it means the same in bash, bash as ``sh`` (CentOS) and dash.

    Refused (ValueError): characters outside printable ASCII.  A newline cannot
    be escaped with a backslash (``\\<newline>`` is a line continuation and is
    removed), a CR would be eaten by a later ``sed 's/\\r//g'``, and non-ASCII
    bytes are decoded by Java with the daemon's locale.  URLs from
    :func:`jdbc_url` are always printable ASCII, so this never triggers for them.

    The word must sit in an unquoted context, parsed once by the shell;
    :func:`configure` checks that for the line it edits.
    """
    for i, ch in enumerate(url):
        if not (" " <= ch <= "~"):
            raise ValueError(
                f"URL character {ch!r} at position {i} cannot be written safely on the "
                "init script's command line (only printable ASCII; percent-encode it)"
            )
    return "".join(ch if ch in _SHELL_SAFE else "\\" + ch for ch in url)


def _dq_escape(value: str) -> str:
    """Escape for the inside of a double-quoted shell string."""
    return re.sub(r'([\\"$`])', r"\\\1", value)


def strip_cr(text: str) -> str:
    """Remove every CR, like the page's ``sed -i -e 's/\\r//g'``."""
    return text.replace("\r", "")


# ---------------------------------------------------------------- script lexing

_BLANKS = " \t"
_WORD_BREAK = " \t\n;&|()<>"


def _lex_state(s: str) -> str:
    """Quote state at the end of shell text *s*: none, single, double, ansi, comment."""
    return _lex(s)[0]


def _lex(s: str) -> tuple[str, int]:
    """(quote state at the end of *s*, index of the quote that opened it or -1)."""
    state = "none"
    opened = -1
    word_start = True
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if state == "none":
            if c == "\\":
                if s[i + 1 : i + 2] != "\n":  # backslash-newline vanishes; anything else is a quoted char
                    word_start = False
                i += 2
                continue
            if c == "'":
                state, opened = "single", i
            elif c == '"':
                state, opened = "double", i
            elif c == "$" and s[i + 1 : i + 2] == "'":
                state, opened = "ansi", i
                i += 1
            elif c == "#" and word_start:
                # comment runs to end of line
                j = s.find("\n", i)
                if j < 0:
                    return "comment", i
                i = j
                continue
            word_start = c in _WORD_BREAK
        elif state == "single":
            if c == "'":
                state, opened = "none", -1
                word_start = False
        elif state in ("double", "ansi"):
            if c == "\\":
                i += 2
                continue
            if (state == "double" and c == '"') or (state == "ansi" and c == "'"):
                state, opened = "none", -1
                word_start = False
        i += 1
    return state, opened


def _continues(line: str) -> bool:
    """Line ends with an unescaped backslash (line continuation) outside a comment."""
    m = re.search(r"(\\+)$", line)
    return bool(m) and len(m.group(1)) % 2 == 1 and _lex_state(line) != "comment"


def _command_block(lines: list[str], idx: int) -> tuple[int, int]:
    """First and last line index of the logical (continued) command holding line *idx*."""
    start = idx
    while start > 0 and _continues(lines[start - 1]):
        start -= 1
    end = idx
    while end < len(lines) - 1 and _continues(lines[end]):
        end += 1
    return start, end


def _word_end(line: str, pos: int) -> tuple[int, bool, bool]:
    """Scan the rest of a shell word in *line* from *pos*.

    Returns (end, closed, had_metachar): *end* is the index of the first
    unquoted blank (or len(line), or the index of a final lone continuation
    backslash); *closed* is False when a quote stays open at the end of the
    line; *had_metachar* tells whether unescaped ``;&|()<>`` sat inside (the
    vendor's ``<password>`` placeholder is one).
    """
    state = "none"
    meta = False
    i, n = pos, len(line)
    while i < n:
        c = line[i]
        if state == "none":
            if c in _BLANKS:
                return i, True, meta
            if c == "\\":
                if i == n - 1:  # continuation backslash glued to the word
                    return i, True, meta
                i += 2
                continue
            if c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c in ";&|()<>":
                meta = True
        elif state == "single":
            if c == "'":
                state = "none"
        elif state == "double":
            if c == "\\":
                i += 2
                continue
            if c == '"':
                state = "none"
        i += 1
    return n, state == "none", meta


# ------------------------------------------------------------ connection forms
#
# How the shell hands the connection argument to java.  `configure` rewrites the value in
# each form it can make safe and refuses the others, naming why.


@dataclass(frozen=True)
class LineForm:
    quote: str      # "none", "double" or "single": the quoting around the argument in the script
    parses: int     # how many times a shell parses it before java gets it: 1 or 2
    via: str        # what parses it the second time ("daemon", "su -c", ...) or ""

    def describe(self) -> str:
        if self.quote == "none":
            return _("unquoted, parsed once")
        if self.parses == 1:
            return _("inside {quote}-quoted text, parsed once").format(quote=self.quote)
        return _("inside the {quote}-quoted command given to {via}, parsed twice").format(
            quote=self.quote, via=self.via)


UNQUOTED = LineForm("none", 1, "")

_SEP_WORDS = frozenset({"{", "}", "!", "if", "then", "do", "else", "elif", "while", "until", "time"})
_WRAPPERS = frozenset({"nohup", "exec", "command", "setsid", "nice", "ionice", "env", "stdbuf",
                       "taskset", "chrt"})
_SHELLS = frozenset({"sh", "bash", "dash", "ksh", "zsh"})
_SU = frozenset({"su", "runuser"})
_JAVA_NAMES = frozenset({"java", "JAVA", "JAVA_BIN", "JAVACMD", "JAVA_CMD", "JAVA_EXE"})
_ASSIGN_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")
_DQ_SPECIAL = '$`"\\'


def _simple_command(s: str) -> tuple[list[str], str | None]:
    """Words of the last simple command in shell text *s* (quotes removed) and, when *s*
    ends inside a word, that partial word (else None)."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    state = "none"
    i, n = 0, len(s)

    def flush():
        nonlocal in_word
        if in_word:
            w = "".join(cur)
            if w in _SEP_WORDS:
                words.clear()
            else:
                words.append(w)
        cur.clear()
        in_word = False

    while i < n:
        c = s[i]
        if state == "none":
            if c in " \t\n":
                flush()
            elif c == "\\":
                cur.append(s[i + 1 : i + 2])
                in_word = True
                i += 2
                continue
            elif c in ";&|()`":
                flush()
                words.clear()
            elif c in "<>":
                flush()
                words.append("\0redirect")
            else:
                if c == "'":
                    state = "single"
                elif c == '"':
                    state = "double"
                else:
                    cur.append(c)
                in_word = True
        elif state == "single":
            if c == "'":
                state = "none"
            else:
                cur.append(c)
        else:
            if c == "\\" and s[i + 1 : i + 2] in _DQ_SPECIAL:
                cur.append(s[i + 1])
                i += 2
                continue
            if c == '"':
                state = "none"
            else:
                cur.append(c)
        i += 1
    partial = "".join(cur) if in_word else None
    # drop redirections and their targets
    out: list[str] = []
    skip = False
    for w in words:
        if w == "\0redirect":
            skip = True
        elif skip:
            skip = False
        else:
            out.append(w)
    return out, partial


def _line_form(prefix: str, state: str, opened: int) -> LineForm | str:
    """The form of a connection argument that *prefix* (its logical command up to it, with
    line continuations) leaves in quote *state* opened at *opened*; a str says why it
    cannot be rewritten safely."""
    if state == "none":
        return UNQUOTED
    if state not in ("double", "single"):
        return _("the connection argument is inside {state}-quoted text ($'…'); the wizard does not "
                 "rewrite that form (fix the line by hand to the vendor's unquoted form)").format(state=state)
    before = re.sub(r"\\\n", "", prefix[:opened])
    words, partial = _simple_command(before)
    assignment_cmd = words[:1] in (["export"], ["local"], ["readonly"], ["declare"], ["typeset"])
    if assignment_cmd or (partial is not None and _ASSIGN_WORD.match(partial)
                          and all(_ASSIGN_WORD.match(w) for w in words)):
        return _("the connection argument is inside {state}-quoted text assigned to a variable; "
                 "where the variable is expanded, the shell splits and globs the URL (its '?') but "
                 "removes no quote or backslash, so no form of it is safe there (move the argument "
                 "onto the java command line itself)").format(state=state)
    while words and _ASSIGN_WORD.match(words[0]):
        words = words[1:]
    while words and words[0] in _WRAPPERS:
        words = words[1:]
        while words and (words[0].startswith(("-", "+")) or words[0].isdigit()):
            words = words[1:]
    if not words:
        command = partial or ""
        args: list[str] = []
    else:
        command, args = words[0], words[1:]
    base = command.replace("{", "").replace("}", "").lstrip("$").rsplit("/", 1)[-1]
    last = args[-1] if args else ""
    via = ""
    if base == "daemon":
        via = "daemon (runuser/bash -c)"
    elif base in _SU and (partial in ("--command=",) or (partial is None and last in ("-c", "--command"))):
        via = f"{base} -c"
    elif base in _SHELLS and partial is None and last == "-c":
        via = f"{base} -c"
    elif base in _JAVA_NAMES and words:
        inner = prefix[opened + 1 :]
        if inner:
            return _("the {state}-quoted word on the java command line holds more than the "
                     "connection argument; cannot rewrite it safely (give the argument its own "
                     "word)").format(state=state)
        return LineForm(state, 1, "")
    else:
        shown = command or _("nothing")
        return _("the connection argument is inside {state}-quoted text given to `{command}`; the "
                 "wizard cannot tell whether a shell parses it once (an argument of java) or twice "
                 "(daemon, su -c, runuser -c, bash -c), so it cannot be rewritten safely (fix the line "
                 "by hand: unquoted, or inside daemon/su -c/runuser -c \"…\")").format(
                     state=state, command=shown)
    inner = prefix[opened + 1 :]
    if state == "double":
        inner = re.sub(r"\\(\n|[$`\"\\])", lambda m: "" if m.group(1) == "\n" else m.group(1), inner)
    inner_state = _lex_state(inner)
    if inner_state != "none":
        return _("the connection argument is quoted again ({inner}) inside the {state}-quoted "
                 "command given to {via}; cannot rewrite it safely (remove the inner quotes)").format(
                     inner=inner_state, state=state, via=via)
    if inner and inner[-1] not in _BLANKS + "\n":
        return _("the connection argument does not start a shell word in the command given to "
                 "{via} (preceded by {char}); cannot rewrite it safely").format(
                     via=via, char=repr(inner[-1]))
    return LineForm(state, 2, via)


def _value_end(line: str, pos: int, form: LineForm) -> tuple[int, bool, bool]:
    """Like :func:`_word_end` for the value of a connection argument in *form*."""
    if form.quote == "none":
        return _word_end(line, pos)
    q = '"' if form.quote == "double" else "'"
    meta = False
    inner = None            # second-parse quote inside the outer one
    i, n = pos, len(line)
    while i < n:
        c = line[i]
        if c == "\\" and form.quote == "double" or (c == "\\" and form.parses == 2):
            if i == n - 1:
                return (i, inner is None, meta) if form.parses == 2 else (i, False, meta)
            i += 2
            continue
        if c == q:
            return i, inner is None, meta
        if form.parses == 2:
            if inner is not None:
                if c == inner:
                    inner = None
            elif c in "'\"":
                inner = c
            elif c in _BLANKS:
                return i, True, meta
            elif c in ";&|()<>":
                meta = True
        i += 1
    return n, False, meta


def _dq_second_parse(word: str) -> str:
    """*word*, written for an unquoted (second) parse, escaped for a double-quoted first one:
    ``\\X`` stays where double quotes keep the backslash (``\\&``: the vendor's form)."""
    out: list[str] = []
    i = 0
    while i < len(word):
        c = word[i]
        if c == "\\":
            x = word[i + 1]
            out.append("\\\\\\" + x if x in _DQ_SPECIAL else "\\" + x)
            i += 2
            continue
        out.append("\\" + c if c in _DQ_SPECIAL else c)
        i += 1
    return "".join(out)


def value_for_form(url: str, form: LineForm) -> str:
    """The connection URL written for *form* (ValueError when that form cannot carry it)."""
    word = shell_word_for_line(url)
    if form.quote == "none":
        return word
    if form.quote == "double":
        return _dq_escape(url) if form.parses == 1 else _dq_second_parse(word)
    text = url if form.parses == 1 else word
    if "'" in text:
        raise ValueError("the URL holds a single quote, which single-quoted text cannot carry")
    return text


_FUNC_RE = re.compile(r"^\s*(?:function\s+[A-Za-z_][\w-]*|[A-Za-z_][\w-]*\s*\(\s*\))")
_TOPLEVEL_ASSIGN_RE = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=")
_DATADIR_RE = re.compile(r"^([ \t]*(?:export[ \t]+)?DATADIR=)")


# ------------------------------------------------------------------- configure


def configure(
    text: str,
    *,
    url: str,
    datadir: str | None,
    source: str = "jtel-clientmessenger",
) -> ConfiguredScript:
    """Set the connection URL (and DATADIR) in the init script *text*.

    * CRs are stripped (repositories on Windows), with a note.
    * The value after ``-Dde.jtel.platform.clientmessenger.connection=`` on every
      non-comment line holding it is replaced by ``shell_word_for_line(url)``;
      indentation, a trailing ``\\`` continuation and every other byte stay.
    * *datadir* given: every ``DATADIR=`` assignment gets ``"datadir"``; with
      none, one is added after the script's last top-level assignment before the
      first function (the page only says "the parameter DATADIR must be checked",
      i.e. the vendor script has it among its settings).
    * The value is written for the line's form (:class:`LineForm`): unquoted,
      quoted and parsed once, or inside the quoted command that ``daemon``,
      ``su -c``, ``runuser -c`` or ``sh -c`` hands to a shell (parsed twice).
    * InitScriptError (naming *source* and line) when there is no active
      connection line, when its form cannot be made safe (the reason names the
      form) or when a quote stays open.
    """
    if not url.startswith("jdbc:mysql:"):
        raise ValueError("url must be a jdbc:mysql: URL (see jdbc_url)")
    shell_word_for_line(url)     # ValueError for a URL no form can carry
    notes: list[str] = []

    work = text
    if "\r" in work:
        n_crlf = work.count("\r\n")
        work = strip_cr(work)
        notes.append(
            f"stripped CR line endings ({n_crlf} CRLF line(s)); the script came from a Windows repository"
        )

    lines = work.split("\n")

    # --- connection line(s)
    active: list[int] = []
    commented: list[int] = []
    for idx, line in enumerate(lines):
        pos = line.find(CONNECTION_PROPERTY)
        if pos < 0:
            continue
        start, _end = _command_block(lines, idx)
        prefix = "\n".join(lines[start:idx] + [line[:pos]])
        state, opened = _lex(prefix)
        if state == "comment":
            commented.append(idx)
            continue
        form = _line_form(prefix, state, opened)
        if isinstance(form, str):
            raise InitScriptError(form, source=source, line=idx + 1)
        if not re.sub(r"\\\n", "", prefix).strip():
            raise InitScriptError(
                _("the connection argument is not part of a command (the line before it does not "
                  "continue, e.g. a commented-out line inside the java command)"),
                source=source,
                line=idx + 1,
            )
        if form.quote == "none" and pos > 0 and line[pos - 1] not in _BLANKS:
            raise InitScriptError(
                _("the connection argument does not start a shell word (preceded by {char}); "
                  "cannot rewrite it safely").format(char=repr(line[pos - 1])),
                source=source,
                line=idx + 1,
            )
        active.append((idx, form))

    if not active:
        if commented:
            raise InitScriptError(
                _("the only -Dde.jtel.platform.clientmessenger.connection= line(s) are commented out"),
                source=source,
                line=commented[0] + 1,
            )
        raise InitScriptError(
            _("no -Dde.jtel.platform.clientmessenger.connection= line: this is not the "
              "ClientMessenger init script, or its java command line was changed"),
            source=source,
        )
    if len(active) > 1:
        notes.append(
            "several connection lines ("
            + ", ".join(str(i + 1) for i, _ in active)
            + "): all set to the same URL"
        )

    for idx, form in active:
        line = lines[idx]
        vstart = line.find(CONNECTION_PROPERTY) + len(CONNECTION_PROPERTY)
        vend, closed, meta = _value_end(line, vstart, form)
        if not closed:
            raise InitScriptError(
                _("the connection value opens a quote that does not close on the line"),
                source=source,
                line=idx + 1,
            )
        try:
            value = value_for_form(url, form)
        except ValueError as exc:
            raise InitScriptError(_("the connection argument is {form}: {error}").format(
                form=form.describe(), error=exc),
                                  source=source, line=idx + 1) from None
        old = line[vstart:vend]
        if old == value:
            notes.append(f"line {idx + 1}: connection URL already as requested")
            continue
        lines[idx] = line[:vstart] + value + line[vend:]
        note = f"line {idx + 1}: connection URL set"
        if form != UNQUOTED:
            note += f" ({form.describe()})"
        if meta:
            note += " (the old value held unescaped shell metacharacters, e.g. the <password> placeholder)"
        notes.append(note)

    # --- DATADIR
    if datadir is not None:
        if not datadir.startswith("/") or any(c in datadir for c in "\n\r\0"):
            raise ValueError(f"DATADIR {datadir!r}: expected an absolute path on one line")
        assignment_value = '"' + _dq_escape(datadir) + '"'
        found = False
        for idx, line in enumerate(lines):
            m = _DATADIR_RE.match(line)
            if not m:
                continue
            found = True
            vstart = m.end()
            vend, closed, _meta = _word_end(line, vstart)
            if not closed:
                raise InitScriptError(
                    _("the DATADIR value opens a quote that does not close on the line"),
                    source=source,
                    line=idx + 1,
                )
            if line[vstart:vend] == assignment_value:
                notes.append(f"line {idx + 1}: DATADIR already {assignment_value}")
                continue
            lines[idx] = line[:vstart] + assignment_value + line[vend:]
            notes.append(f"line {idx + 1}: DATADIR set to {assignment_value}")
        if not found:
            at = _datadir_insert_index(lines, active[0][0])
            lines.insert(at, f"DATADIR={assignment_value}")
            notes.append(f"line {at + 1}: DATADIR={assignment_value} added (the script had none)")

    new = "\n".join(lines)
    return ConfiguredScript(text=new, changed=new != text, notes=tuple(notes))


def _datadir_insert_index(lines: list[str], first_connection: int) -> int:
    limit = first_connection
    for idx, line in enumerate(lines[:first_connection]):
        if _FUNC_RE.match(line):
            limit = idx
            break
    last_assign = None
    for idx in range(limit):
        if _TOPLEVEL_ASSIGN_RE.match(lines[idx]) and not _continues(lines[idx]):
            last_assign = idx
    if last_assign is not None:
        return last_assign + 1
    # after the header (shebang, comments, blank lines)
    idx = 0
    while idx < limit and (not lines[idx].strip() or lines[idx].lstrip().startswith("#")):
        idx += 1
    return idx


# ---------------------------------------------------------------------- preview


def _secret_forms(secret: str) -> set[str]:
    forms = {secret}
    try:
        enc = percent_encode(secret)
    except ValueError:
        enc = None
    if enc is not None:
        forms.add(enc)
        forms.add(shell_word_for_line(enc))
    try:
        from urllib.parse import quote, quote_plus

        forms.add(quote(secret, safe=""))
        forms.add(quote_plus(secret, safe=""))
    except UnicodeEncodeError:
        pass
    # how a person may have written it by hand in the script
    try:
        forms.add(shell_word_for_line(secret))
    except ValueError:
        pass
    forms.add(_dq_escape(secret))
    forms.add(secret.replace("'", "'\\''"))
    forms.discard("")
    return forms


def _form_pattern(form: str) -> str:
    # %xx hex digits match in either case
    parts = re.split(r"(%[0-9A-Fa-f]{2})", form)
    out = []
    for p in parts:
        if re.fullmatch(r"%[0-9A-Fa-f]{2}", p):
            out.append("%(?i:" + re.escape(p[1:]) + ")")
        else:
            out.append(re.escape(p))
    return "".join(out)


def masked(text: str, secret: str) -> str:
    """*text* with every raw, percent-encoded or shell-escaped form of *secret*
    replaced by ``********`` (for previews and logs).  An empty secret masks nothing."""
    if not secret:
        return text
    forms = sorted(_secret_forms(secret), key=len, reverse=True)
    pattern = re.compile("|".join(_form_pattern(f) for f in forms))
    return pattern.sub(MASK, text)


# ----------------------------------------------------------------- misc inputs


def datadir_for(layout: str) -> str:
    """DATADIR for the chat data folder layout: ``"local"`` or ``"mounted"``."""
    try:
        return _DATADIRS[layout]
    except KeyError:
        raise ValueError(f"data folder layout {layout!r}: expected 'local' or 'mounted'") from None


# ------------------------------------------------------------------ updatesc.sh


def render_updatesc(
    service: str = "jtel-clientmessenger",
    source: str = "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger",
    target: str = "/home/jtel/ClientMessenger",
    owner: str = "jtel:jtel",
) -> str:
    """``/usr/local/bin/updatesc.sh`` (procedure section 5, the French page's correct body)."""
    import jinja2

    for name, value in (("service", service), ("source", source), ("target", target), ("owner", owner)):
        if not value or any(c in value for c in "\n\r\0"):
            raise ValueError(f"updatesc.sh {name} {value!r}: must be a non-empty single line")
    template_text = resources.files("templates").joinpath("updatesc.sh.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["shq"] = shlex.quote
    return env.from_string(template_text).render(
        service=service,
        source=source.rstrip("/") or "/",
        target=target.rstrip("/") or "/",
        owner=owner,
    )
