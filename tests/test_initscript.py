"""Tests for wizard.initscript (procedure sections 4 and 5)."""
from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wizard.initscript import (
    CONNECTION_PROPERTY,
    MASK,
    ConfiguredScript,
    InitScriptError,
    configure,
    datadir_for,
    jdbc_url,
    masked,
    parse_portal_version,
    percent_encode,
    render_updatesc,
    shell_word_for_line,
    strip_cr,
)

DATA = Path(__file__).parent / "data" / "initscript"
ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
DASH = shutil.which("dash")
SHELLS = [s for s in (BASH, DASH) if s]

PROP_NAME = CONNECTION_PROPERTY[2:-1]  # de.jtel.platform.clientmessenger.connection


def read(name: str) -> str:
    # newline="" keeps CRLF as is
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return fh.read()


def url_for(password: str, version="3.24", user="root") -> str:
    return jdbc_url(host="acd-dbm", schema="JTELWeb", user=user, password=password, portal_version=version)


# ----------------------------------------------------------------- Connector/J model


def java_urldecode(s: str) -> str:
    """java.net.URLDecoder.decode(s, "UTF-8"), strict about malformed input."""
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "+":
            out.append(" ")
            i += 1
        elif c == "%":
            buf = bytearray()
            while i < len(s) and s[i] == "%":
                h = s[i + 1 : i + 3]
                if len(h) < 2 or not all(ch in string.hexdigits for ch in h):
                    raise ValueError(f"URLDecoder: illegal hex characters in escape (%) pattern at {i}")
                buf.append(int(h, 16))
                i += 3
            out.append(buf.decode("utf-8"))  # strict: our encoder only emits valid UTF-8
        else:
            out.append(c)
            i += 1
    return "".join(out)


def java_trim(s: str) -> str:
    return s.strip("".join(chr(i) for i in range(0x21)))


def cj51_properties(url: str) -> dict[str, str]:
    """Connector/J 5.1 NonRegisteringDriver.parseURL, query part."""
    q = url[url.index("?") + 1 :]
    props: dict[str, str] = {}
    for tok in q.split("&"):  # StringTokenizer: empty tokens skipped
        if not tok or "=" not in tok:
            continue
        k, v = tok.split("=", 1)
        if k and v:
            props[k] = java_urldecode(v)
    return props


_CJ8_PROPS = re.compile(r"[&\s]*(?P<key>[\w.\-\s%]*)(?:=(?P<value>[^&]*))?", re.ASCII)


def cj8_properties(url: str) -> dict[str, str]:
    """Connector/J 8.x ConnectionUrlParser: query = [^#]*, key/value = decode(trim(x))."""
    assert "#" not in url
    q = url[url.index("?") + 1 :]
    props: dict[str, str] = {}
    p = 0
    for m in _CJ8_PROPS.finditer(q):
        if m.start() != p:
            raise ValueError("ConnectionString.4")
        key = m.group("key")
        value = m.group("value")
        key = java_urldecode(java_trim(key)) if key else key
        value = java_urldecode(java_trim(value)) if value else value
        if key:
            props[key] = value
        elif value:
            raise ValueError("ConnectionString.4")
        p = m.end()
    if p != len(q):
        raise ValueError("ConnectionString.4")
    return props


def check_url_carries(url: str, *, user: str, password: str, with_tz: bool) -> None:
    assert url.startswith("jdbc:mysql://acd-dbm/JTELWeb?")
    for props in (cj51_properties(url), cj8_properties(url)):
        assert props.get("password", "") == password          # 5.1 drops an empty value
        assert props["user"] == user
        assert props["characterEncoding"] == "utf8"
        if with_tz:
            assert props["serverTimezone"] == "Europe/Berlin"
        else:
            assert "serverTimezone" not in props


# ------------------------------------------------------------------------- jdbc_url


@pytest.mark.parametrize(
    "version, with_tz",
    [("3.24", False), ((3, 24), False), ("3.25", True), ((3, 25), True), ("3.26.1", True),
     ((3, 26, 1), True), ("3.11", False), ("4.0", True), ("3.25.0-rc1", True), ("2.99", False)],
)
def test_jdbc_url_versions(version, with_tz):
    url = url_for("secret", version)
    base = "jdbc:mysql://acd-dbm/JTELWeb?user=root&password=secret&characterEncoding=utf8"
    assert url == (base + "&serverTimezone=Europe%2FBerlin" if with_tz else base)
    check_url_carries(url, user="root", password="secret", with_tz=with_tz)


@pytest.mark.parametrize("bad", ["", "3", "three.25", (3,), ("3", "25"), None, 3.25])
def test_portal_version_rejects(bad):
    with pytest.raises(ValueError, match="portal version"):
        parse_portal_version(bad)


def test_jdbc_url_encodes_every_special_character():
    pw = "a&b%c+d#e f=g?h/i'j\"k$l\\m~n*o"
    url = url_for(pw)
    value = url.split("&password=")[1].split("&")[0]
    assert value == ("a%26b%25c%2Bd%23e%20f%3Dg%3Fh%2Fi%27j%22k%24l%5Cm%7En%2Ao")
    # at least as strict as urllib.parse.quote(value, safe="")
    literal = re.sub(r"%[0-9A-F]{2}", "", value)
    for ch in pw:
        if quote(ch, safe="") != ch:
            assert ch not in literal
    check_url_carries(url, user="root", password=pw, with_tz=False)


def test_jdbc_url_non_ascii_is_utf8_and_url_is_ascii():
    pw = "Pässwört€😀"
    url = url_for(pw)
    assert url.isascii()
    assert "P%C3%A4ssw%C3%B6rt%E2%82%AC%F0%9F%98%80" in url
    check_url_carries(url, user="root", password=pw, with_tz=False)


def test_jdbc_url_blanks_survive_connectorj8_trim():
    pw = "  padded\t\n"
    url = url_for(pw)
    check_url_carries(url, user="root", password=pw, with_tz=False)


def test_jdbc_url_user_encoded_and_timezone():
    url = jdbc_url(host="db1.example.com:3307", schema="JTEL_Web", user="jtel user&x", password="p",
                   portal_version="3.25", timezone="America/Argentina/Buenos_Aires")
    assert url.startswith("jdbc:mysql://db1.example.com:3307/JTEL_Web?user=jtel%20user%26x&")
    assert url.endswith("&serverTimezone=America%2FArgentina%2FBuenos_Aires")


def test_jdbc_url_refuses_lone_surrogate_clearly():
    with pytest.raises(ValueError, match=r"database password: .*surrogate"):
        url_for("ab\ud800cd")


@pytest.mark.parametrize("host", ["", "acd dbm", "acd-dbm/x", "a?b", "user@host", "host;rm", "-host"])
def test_jdbc_url_rejects_bad_host(host):
    with pytest.raises(ValueError, match="database host"):
        jdbc_url(host=host, schema="JTELWeb", user="root", password="p", portal_version="3.25")


@pytest.mark.parametrize("host", ["acd-dbm", "10.0.0.5", "10.0.0.5:3306", "[::1]", "[fe80::1]:3306", "acd_dbm.local"])
def test_jdbc_url_accepts_hosts(host):
    assert jdbc_url(host=host, schema="JTELWeb", user="root", password="p", portal_version="3.25").startswith(
        f"jdbc:mysql://{host}/JTELWeb?")


@pytest.mark.parametrize("schema", ["", "JTEL Web", "a/b", "a?b", "a&b"])
def test_jdbc_url_rejects_bad_schema(schema):
    with pytest.raises(ValueError, match="schema"):
        jdbc_url(host="acd-dbm", schema=schema, user="root", password="p", portal_version="3.25")


def test_jdbc_url_rejects_empty_user():
    with pytest.raises(ValueError, match="user"):
        jdbc_url(host="acd-dbm", schema="JTELWeb", user="", password="p", portal_version="3.25")


def test_percent_encode_keeps_only_unreserved():
    assert percent_encode("Az09-._~ +") == "Az09-._%7E%20%2B"


# ------------------------------------------------------------------ shell word


def test_shell_word_vendor_convention():
    url = url_for("secret")
    assert shell_word_for_line(url) == (
        r"jdbc:mysql://acd-dbm/JTELWeb\?user=root\&password=secret\&characterEncoding=utf8")


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b", "é", "a\tb", "\x7f"])
def test_shell_word_refuses_unsafe(bad):
    with pytest.raises(ValueError, match="cannot be written safely"):
        shell_word_for_line(bad)


def run_shells(script: str, *, cwd: Path) -> dict[str, bytes]:
    """Run *script* with bash (failglob on), bash --posix (CentOS's sh) and dash."""
    out = {}
    variants = []
    if BASH:
        variants += [("bash", [BASH, "-c", "shopt -s failglob\n" + script]),
                     ("bash-posix", [BASH, "--posix", "-c", script])]
    if DASH:
        variants.append(("dash", [DASH, "-c", script]))
    for name, argv in variants:
        proc = subprocess.run(argv, capture_output=True, cwd=cwd, timeout=30,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"})
        assert proc.returncode == 0, (name, proc.stderr.decode(errors="replace"))
        out[name] = proc.stdout
    assert out
    return out


@pytest.mark.skipif(not SHELLS, reason="no shell")
def test_shell_word_every_printable_ascii(tmp_path):
    printable = "".join(chr(c) for c in range(0x20, 0x7F))
    words = [printable, "~" + printable, "#x", "*", "?", "[a]", "{a,b}", "-n", "a b", "'", '"', "\\"]
    script = "printf '%s\\0' " + " ".join(shell_word_for_line(w) for w in words) + "\n"
    for name, stdout in run_shells(script, cwd=tmp_path).items():
        assert stdout.split(b"\0")[:-1] == [w.encode() for w in words], name


# ------------------------------------------------------------------- strip_cr


def test_strip_cr():
    assert strip_cr("a\r\nb\r\n") == "a\nb\n"
    assert strip_cr("a\rb") == "ab"          # like sed 's/\r//g': every CR
    assert strip_cr("plain\n") == "plain\n"


# ------------------------------------------------------------------- configure

VENDOR = read("jtel-clientmessenger.vendor")
CONN_LINE_NO = 39  # 1-based, in the vendor file


def test_vendor_fixture_is_what_the_page_shows():
    line = VENDOR.split("\n")[CONN_LINE_NO - 1]
    assert line == (" " * 24 + "-Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://acd-dbm/JTELWeb"
                    "?user=root\\&password=<password>\\&characterEncoding=utf8 \\")
    assert "\r" in read("jtel-clientmessenger.crlf")
    assert strip_cr(read("jtel-clientmessenger.crlf")) == VENDOR


@pytest.mark.parametrize("version, tail", [
    ("3.24", "\\&characterEncoding=utf8 \\"),
    ("3.25", "\\&characterEncoding=utf8\\&serverTimezone=Europe%2FBerlin \\"),
    ("3.26.1", "\\&characterEncoding=utf8\\&serverTimezone=Europe%2FBerlin \\"),
])
def test_configure_vendor_script(version, tail):
    url = url_for("Se cr&t", version)
    res = configure(VENDOR, url=url, datadir=None)
    assert isinstance(res, ConfiguredScript)
    assert res.changed
    old, new = VENDOR.split("\n"), res.text.split("\n")
    assert len(old) == len(new)
    diff = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    assert diff == [CONN_LINE_NO - 1]                            # every other byte kept
    line = new[CONN_LINE_NO - 1]
    assert line.startswith(" " * 24 + CONNECTION_PROPERTY)       # indentation kept
    assert line.endswith(tail)                                    # continuation kept
    assert line == " " * 24 + CONNECTION_PROPERTY + shell_word_for_line(url) + " \\"
    assert any("line 39: connection URL set" in n for n in res.notes)
    assert any("<password>" in n for n in res.notes)
    assert not any("Se cr" in n or "Se%20cr" in n for n in res.notes)   # no secret in notes
    # DATADIR untouched without datadir
    assert 'DATADIR="/home/jtel/shared/Data/clients/"' in res.text


def test_configure_is_idempotent():
    url = url_for("x&y", "3.25")
    first = configure(VENDOR, url=url, datadir=datadir_for("local"))
    assert first.changed
    second = configure(first.text, url=url, datadir=datadir_for("local"))
    assert not second.changed
    assert second.text == first.text
    assert any("already" in n for n in second.notes)


def test_configure_crlf_script():
    crlf = read("jtel-clientmessenger.crlf")
    url = url_for("pw", "3.25")
    res = configure(crlf, url=url, datadir=None)
    assert "\r" not in res.text
    assert res.changed
    assert res.text == configure(VENDOR, url=url, datadir=None).text
    assert any("CR" in n for n in res.notes)
    # CR stripping alone counts as a change, and is noted
    res2 = configure(res.text.replace("\n", "\r\n"), url=url, datadir=None)
    assert res2.changed and res2.text == res.text
    assert configure(res.text, url=url, datadir=None).changed is False


def test_configure_already_configured_fixture():
    text = read("jtel-clientmessenger.configured")
    url = url_for("Gr&at pa$$ #1+%", "3.25")
    res = configure(text, url=url, datadir=datadir_for("local"))
    assert res.changed is False and res.text == text
    # another password changes exactly that line
    res2 = configure(text, url=url_for("other", "3.25"), datadir=datadir_for("local"))
    assert res2.changed
    assert [i for i, (a, b) in enumerate(zip(text.split("\n"), res2.text.split("\n"))) if a != b] == [38]


def test_configure_no_connection_line_names_source():
    text = read("jtel-clientmessenger.noconnection")
    with pytest.raises(InitScriptError) as ei:
        configure(text, url=url_for("pw"), datadir=None, source="chat1:/home/jtel/ClientMessenger/init.d/jtel-clientmessenger")
    err = ei.value
    assert isinstance(err, ValueError)
    assert err.line is None
    assert "no -Dde.jtel.platform.clientmessenger.connection= line" in err.reason
    assert str(err).startswith("chat1:/home/jtel/ClientMessenger/init.d/jtel-clientmessenger: ")


@pytest.mark.parametrize("name, via", [("jtel-clientmessenger.su-quoted", "su -c"),
                                       ("jtel-clientmessenger.daemon", "daemon (runuser/bash -c)")])
def test_configure_double_parsed_forms(name, via):
    """Inside `su -c "…"` / `daemon "…"` the shell parses the line twice: the percent-encoded
    URL's `\\&`/`\\?` word is the same as in the unquoted form, and only that line changes."""
    text = read(name)
    url = url_for('p"$`\\ &x', "3.25")
    res = configure(text, url=url, datadir=None)
    old, new = text.split("\n"), res.text.split("\n")
    assert [i for i, (a, b) in enumerate(zip(old, new)) if a != b] == [CONN_LINE_NO - 1]
    assert new[CONN_LINE_NO - 1] == " " * 24 + CONNECTION_PROPERTY + shell_word_for_line(url) + " \\"
    assert any(f"given to {via}, parsed twice" in n for n in res.notes)
    assert configure(res.text, url=url, datadir=None).changed is False


def test_configure_quoted_java_argument_parsed_once():
    """`nohup java … "-D…connection=…"`: double quotes parsed once, so no backslash at all."""
    text = VENDOR.replace(CONNECTION_PROPERTY + "jdbc:mysql://acd-dbm/JTELWeb?user=root\\&password=<password>"
                          "\\&characterEncoding=utf8", '"' + CONNECTION_PROPERTY + 'jdbc:x"')
    url = url_for("a&b", "3.25")
    res = configure(text, url=url, datadir=None)
    assert f'"{CONNECTION_PROPERTY}{url}" \\' in res.text
    assert any("inside double-quoted text, parsed once" in n for n in res.notes)


@pytest.mark.parametrize("line, reason", [
    (f'JAVA_OPTS="-server {CONNECTION_PROPERTY}x"', "double-quoted text assigned to a variable"),
    (f"export JAVA_OPTS='{CONNECTION_PROPERTY}x'", "single-quoted text assigned to a variable"),
    (f'echo "{CONNECTION_PROPERTY}x"', "double-quoted text given to `echo`; the wizard cannot tell"),
    (f"java $'{CONNECTION_PROPERTY}x'", "ansi-quoted text"),
    (f"su - jtel -c \"java '{CONNECTION_PROPERTY}x'\"", "quoted again (single) inside the "
                                                      "double-quoted command given to su -c"),
    (f'java "-server {CONNECTION_PROPERTY}x"', "holds more than the connection argument"),
])
def test_configure_refuses_unsafe_forms_with_the_reason(line, reason):
    text = f"#!/bin/bash\nstart() {{\n    {line}\n}}\n"
    with pytest.raises(InitScriptError) as ei:
        configure(text, url=url_for("pw"), datadir=None)
    assert ei.value.line == 3
    assert reason in ei.value.reason, ei.value.reason


def test_configure_commented_out_only():
    text = VENDOR.replace("                        -Dde.jtel", "#                        -Dde.jtel")
    with pytest.raises(InitScriptError) as ei:
        configure(text, url=url_for("pw"), datadir=None, source="x")
    assert ei.value.line == CONN_LINE_NO
    assert str(ei.value).startswith("x, line 39: ") and "commented out" in str(ei.value)


def test_configure_skips_commented_copy_and_updates_active_one():
    lines = VENDOR.split("\n")
    java_at = next(i for i, ln in enumerate(lines) if "nohup java" in ln)
    commented = "        # For jtel portal version >= 3.25:  " + lines[CONN_LINE_NO - 1].strip()
    lines.insert(java_at, commented)
    text = "\n".join(lines)
    res = configure(text, url=url_for("pw"), datadir=None)
    new = res.text.split("\n")
    assert new[java_at] == commented                                 # comment untouched
    assert "password=pw" in new[CONN_LINE_NO]


def test_configure_commented_line_inside_command_breaks_it():
    # a comment inside a continued command ends the command: the next -D lines would run
    # as commands of their own, so the active connection line is refused
    lines = VENDOR.split("\n")
    lines.insert(CONN_LINE_NO - 1, "#" + lines[CONN_LINE_NO - 1])
    with pytest.raises(InitScriptError) as ei:
        configure("\n".join(lines), url=url_for("pw"), datadir=None)
    assert ei.value.line == CONN_LINE_NO + 1
    assert "not part of a command" in ei.value.reason


def test_configure_quote_not_starting_word():
    text = VENDOR.replace("                        -Dde.jtel.platform.clientmessenger.connection=",
                          "                        X-Dde.jtel.platform.clientmessenger.connection=")
    with pytest.raises(InitScriptError, match="line 39"):
        configure(text, url=url_for("pw"), datadir=None)


def test_configure_single_line_command_and_glued_continuation():
    text = ("#!/bin/sh\n"
            "java -Dde.jtel.platform.clientmessenger.connection='jdbc:mysql://h/JTELWeb?user=root&password=a b' -jar x.jar &\n"
            "\tjava -Xmx1g \\\n"
            "\t\t-Dde.jtel.platform.clientmessenger.connection=jdbc:mysql://h/JTELWeb?user=root\\&password=x\\\n"
            "\t\t-jar y.jar\n")
    url = url_for("n&w")
    res = configure(text, url=url, datadir=None)
    lines = res.text.split("\n")
    w = shell_word_for_line(url)
    assert lines[1] == f"java {CONNECTION_PROPERTY}{w} -jar x.jar &"
    assert lines[3] == f"\t\t{CONNECTION_PROPERTY}{w}\\"
    assert any("several connection lines" in n for n in res.notes)


def test_configure_unclosed_quote_in_value():
    text = VENDOR.replace("jdbc:mysql://acd-dbm/JTELWeb?user=root", "'jdbc:mysql://acd-dbm/JTELWeb?user=root")
    with pytest.raises(InitScriptError, match="line 39.*quote"):
        configure(text, url=url_for("pw"), datadir=None)


def test_configure_rejects_non_jdbc_url():
    with pytest.raises(ValueError):
        configure(VENDOR, url="http://x", datadir=None)


@pytest.mark.parametrize("layout, expected", [
    ("local", "/srv/jtel/shared/Data/Clients/"),
    ("mounted", "/home/jtel/shared/Data/clients/"),
])
def test_datadir_for(layout, expected):
    assert datadir_for(layout) == expected


def test_datadir_for_unknown():
    with pytest.raises(ValueError):
        datadir_for("nfs")


def test_configure_replaces_datadir():
    res = configure(VENDOR, url=url_for("pw"), datadir=datadir_for("local"))
    lines = res.text.split("\n")
    assert lines[23] == 'DATADIR="/srv/jtel/shared/Data/Clients/"'
    assert 'DATADIR="/home/jtel' not in res.text
    assert any("line 24: DATADIR set" in n for n in res.notes)
    # mounted equals the vendor's default: only the connection line changes
    res2 = configure(VENDOR, url=url_for("pw"), datadir=datadir_for("mounted"))
    assert any("DATADIR already" in n for n in res2.notes)


def test_configure_adds_datadir_when_missing():
    text = VENDOR.replace('DATADIR="/home/jtel/shared/Data/clients/"\n', "")
    res = configure(text, url=url_for("pw"), datadir=datadir_for("local"))
    lines = res.text.split("\n")
    i = lines.index('DATADIR="/srv/jtel/shared/Data/Clients/"')
    assert lines[i - 1].startswith("LOGFILE=")       # after the last setting ...
    assert lines[i + 2].startswith("start()")         # ... before the functions
    assert any("added" in n for n in res.notes)
    assert configure(res.text, url=url_for("pw"), datadir=datadir_for("local")).changed is False


def test_configure_datadir_escaped_for_double_quotes():
    res = configure(VENDOR, url=url_for("pw"), datadir='/data/a"b$c`d\\e/')
    assert 'DATADIR="/data/a\\"b\\$c\\`d\\\\e/"' in res.text


@pytest.mark.parametrize("bad", ["relative/", "/a\nb", ""])
def test_configure_datadir_rejects(bad):
    with pytest.raises(ValueError, match="DATADIR"):
        configure(VENDOR, url=url_for("pw"), datadir=bad)


def test_configure_keeps_missing_final_newline():
    text = VENDOR.rstrip("\n")
    res = configure(text, url=url_for("pw"), datadir=None)
    assert not res.text.endswith("\n")


# ---------------------------------------------------------------------- masked


def test_masked_all_forms():
    pw = "Gr&at pa$$ #1+%"
    text = read("jtel-clientmessenger.configured")
    out = masked(text, pw)
    assert "password=" + MASK + "\\&" in out
    assert percent_encode(pw) not in out
    # lower-case hex, urllib forms, raw and hand-written shell forms
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), percent_encode(pw))
    assert lower_hex != percent_encode(pw)
    for form in (lower_hex, quote(pw, safe=""), pw, shell_word_for_line(pw),
                 "Gr\\&at\\ pa\\$\\$\\ \\#1+%"):
        assert masked(f"x={form};", pw) == f"x={MASK};", form


def test_masked_empty_secret_and_no_secret():
    assert masked("abc", "") == "abc"
    assert masked("abc", "zzz") == "abc"


@settings(max_examples=150, deadline=None)
@given(pw=st.text(min_size=3).filter(lambda s: "*" not in s))
def test_masked_property(pw):
    url = url_for(pw, "3.25")
    text = configure(VENDOR, url=url, datadir=None).text
    out = masked(text, pw)
    for form in {pw, percent_encode(pw), quote(pw, safe="")}:
        assert form not in out
    assert MASK in out


# ----------------------------------------------------- the real shells, property

PW_SPECIALS = "&'\"$\\%#+!;|<>()*?[]{}~` \t\n\r=/@:,^-._aZ9é€😀\x00\x7f"
passwords = st.one_of(st.text(), st.text(alphabet=PW_SPECIALS))
users = st.one_of(st.just("root"), st.text(alphabet=PW_SPECIALS, min_size=1), st.text(min_size=1))
versions = st.sampled_from(["3.24", "3.25", "3.26.1", (3, 11), (3, 25)])
datadirs = st.text(alphabet=st.characters(blacklist_characters="\n\r\0", blacklist_categories=("Cs",))).map(
    lambda s: "/" + s)


def java_block(configured: str, marker: str) -> str:
    """The configured java command, `java` -> printf of argv, no redirection/background;
    inside `daemon "…"` / `su -c "…"` the quotes stay (SECOND_PARSE runs them)."""
    lines = configured.split("\n")
    idx = next(i for i, ln in enumerate(lines) if CONNECTION_PROPERTY in ln and not ln.lstrip().startswith("#"))
    start = idx
    while lines[start - 1].endswith("\\"):
        start -= 1
    end = idx
    while lines[end].endswith("\\"):
        end += 1
    block = lines[start : end + 1]
    assert re.search(r"(nohup |\")java ", block[0])
    block[0] = re.sub(r"(nohup )?java ", f"printf '%s\\\\0' {marker} ", block[0], count=1)
    block[-1] = re.sub(r'\s*(")?\s*>> \$LOGFILE 2>&1 &(")?\s*$', lambda m: m.group(1) or m.group(2) or "",
                       block[-1])
    return "\n".join(block)


# what the shell does with a quoted command in each double-parse form: `daemon` as in CentOS's
# /etc/init.d/functions (options, then `runuser -s /bin/bash USER -c "…; $*"`), and
# `su - USER -c CMD` (jtel's login shell, bash)
SECOND_PARSE = r"""
daemon() {
    while [ "$1" != "${1##[-+]}" ]; do
        case $1 in --user|--pidfile|--check) shift 2 ;; *) shift ;; esac
    done
    /bin/bash -c "ulimit -S -c 0 >/dev/null 2>&1 ; $*"
}
su() { while [ $# -gt 1 ]; do shift; done; /bin/bash -c "$1"; }
"""
FORMS = {"unquoted": "jtel-clientmessenger.vendor", "daemon": "jtel-clientmessenger.daemon",
         "su -c": "jtel-clientmessenger.su-quoted"}


EXPECTED_ARGS = ["-server", "-Xms256m", "-Xmx1024m", "-Dhazelcast.config=/b/conf/hazelcast.xml",
                 "-Dlog4j.configurationFile=/b/conf/log4j2.xml", None,
                 "-Dde.jtel.platform.clientmessenger.datadir=/d", "-jar", "/b/bin/ClientMessenger.jar"]


@pytest.mark.skipif(not SHELLS, reason="no shell")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases=st.lists(st.tuples(passwords, users, versions, datadirs, st.sampled_from(sorted(FORMS)),
                                st.booleans()), min_size=1, max_size=10))
@example(cases=[(c, "root", "3.25", "/srv/jtel/shared/Data/Clients/", sorted(FORMS)[i % 3], i % 2 == 1)
                for i, c in enumerate(PW_SPECIALS)]
         + [(PW_SPECIALS, "ro ot&", "3.24", "/x y/$HOME/`id`/\\\"'/", "daemon", True),
            ("", "root", "3.25", "/", "su -c", False),
            ("  lead and trail  ", "root", "3.24", "/", "unquoted", True), ("-n", "-e", "3.25", "/-n", "daemon", False)])
def test_configured_line_through_real_shells(tmp_path_factory, cases):
    """For any password, in each form (unquoted; inside `daemon "…"` and `su -c "…"`, parsed
    twice), with LF or CRLF line ends, the configured line, parsed by bash / bash --posix /
    dash (then bash for the second parse), gives the JVM exactly one -D argument whose URL
    Connector/J (5.1 and 8.x) decodes back to the password, user and characterEncoding;
    DATADIR assigns exactly the given path."""
    tmp = tmp_path_factory.mktemp("sh")
    script = [SECOND_PARSE]
    expected = []
    for n, (pw, user, version, ddir, form, crlf) in enumerate(cases):
        url = jdbc_url(host="acd-dbm", schema="JTELWeb", user=user, password=pw, portal_version=version)
        text = read(FORMS[form])
        res = configure(text.replace("\n", "\r\n") if crlf else text, url=url, datadir=ddir)
        assert "\r" not in res.text
        dd_line = next(ln for ln in res.text.split("\n") if ln.startswith("DATADIR="))
        script.append(dd_line)
        script.append(f"printf '%s\\0' @@dd-{n} \"$DATADIR\"")
        script.append("BASEDIR=/b; DATADIR=/d")
        script.append(java_block(res.text, f"@@case-{n}"))
        expected.append((url, pw, user, parse_portal_version(version) >= (3, 25), ddir))
    full = "\n".join(script) + "\n"

    for shell, stdout in run_shells(full, cwd=tmp).items():
        items = [b.decode("utf-8") for b in stdout.split(b"\0")[:-1]]
        # group argv by marker
        groups: dict[str, list[str]] = {}
        cur = None
        for it in items:
            if it.startswith("@@"):
                cur = it
                groups[cur] = []
            else:
                groups[cur].append(it)
        for n, (url, pw, user, with_tz, ddir) in enumerate(expected):
            assert groups[f"@@dd-{n}"] == [ddir], shell
            argv = groups[f"@@case-{n}"]
            assert len(argv) == len(EXPECTED_ARGS), (shell, argv)
            for got, want in zip(argv, EXPECTED_ARGS):
                if want is not None:
                    assert got == want, shell
            conn = argv[5]
            name, _, value = conn[2:].partition("=")       # the JVM splits -Dname=value at the first '='
            assert name == PROP_NAME
            assert value == url, shell
            check_url_carries(value, user=user, password=pw, with_tz=with_tz)


# ------------------------------------------------------------------ updatesc.sh


def test_render_updatesc_body():
    out = render_updatesc()
    assert out.startswith("#!/bin/bash\n")
    assert out.endswith("\n")
    assert "\nset -e\n" in out
    body = [ln for ln in out.split("\n") if ln and not ln.startswith("#")]
    assert body == [
        "set -e",
        "SERVICE=jtel-clientmessenger",
        "SRC=/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger",
        "TARGET=/home/jtel/ClientMessenger",
        "OWNER=jtel:jtel",
        "service \"$SERVICE\" stop || echo \"updatesc.sh: 'service $SERVICE stop' failed (not running?), continuing\" >&2",
        'cp "$SRC"/bin/* "$TARGET"/bin',
        'cp -r "$SRC"/public "$TARGET"/',
        'chown -R "$OWNER" "$TARGET"',
        'service "$SERVICE" start',
    ]
    assert "jtelcp" not in out and " -r\n" not in out   # not the garbled English line


@pytest.mark.skipif(not BASH, reason="no bash")
@pytest.mark.parametrize("kwargs", [{}, {"source": "/mnt/my share/CM", "target": "/opt/it's here", "owner": "a b:c"}])
def test_render_updatesc_bash_n(tmp_path, kwargs):
    path = tmp_path / "updatesc.sh"
    path.write_text(render_updatesc(**kwargs))
    proc = subprocess.run([BASH, "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not BASH, reason="no bash")
def test_render_updatesc_runs(tmp_path):
    """Run it against a scratch tree with `service` and `chown` stubbed: copies, no nesting on re-run."""
    src = tmp_path / "share dir" / "ClientMessenger"
    (src / "bin").mkdir(parents=True)
    (src / "public" / "js").mkdir(parents=True)
    (src / "bin" / "ClientMessenger.jar").write_text("v2")
    (src / "public" / "js" / "chat.js").write_text("js2")
    dst = tmp_path / "Client Messenger"
    (dst / "bin").mkdir(parents=True)
    (dst / "bin" / "ClientMessenger.jar").write_text("v1")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log = tmp_path / "log"
    for name in ("service", "chown"):
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
        stub.chmod(0o755)
    script = tmp_path / "updatesc.sh"
    script.write_text(render_updatesc(service="jtel-clientmessenger", source=str(src), target=str(dst)))
    env = {"PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    for _ in range(2):
        proc = subprocess.run([BASH, str(script)], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
    assert (dst / "bin" / "ClientMessenger.jar").read_text() == "v2"
    assert (dst / "public" / "js" / "chat.js").read_text() == "js2"
    assert not (dst / "public" / "public").exists()
    assert log.read_text().split("\n")[:3] == [
        "service jtel-clientmessenger stop", f"chown -R jtel:jtel {dst}", "service jtel-clientmessenger start"]

    # a failed copy aborts and leaves the service stopped
    shutil.rmtree(src / "bin")
    log.write_text("")
    proc = subprocess.run([BASH, str(script)], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "start" not in log.read_text()


def test_render_updatesc_rejects_newline():
    with pytest.raises(ValueError):
        render_updatesc(target="/a\nrm -rf /")


def test_core_does_not_import_textual():
    code = "import sys, wizard.initscript as m; m.render_updatesc(); assert 'textual' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
