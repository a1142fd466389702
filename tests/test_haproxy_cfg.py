"""wizard.haproxy_cfg: the haproxy.cfg splice for the CHAT role (procedure sections 7, 10).

Three layers: pure unit tests on the text (only added lines, idempotent, notes, errors);
the real `haproxy -c` on every edited site file; and a real haproxy on loopback carrying
websockets (ws and wss) to two echo backends, plus the WhatsApp paths of the portal frontend.
"""
import difflib
import importlib.util
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.haproxy_cfg import (ChatServer, HaproxyConfigError, HaproxyEdit, check_command,
                                edit)

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "haproxy"
FILES = sorted(p.name for p in DATA.glob("*.cfg"))
WITH_PORTAL_HTTPS = ["crlf.cfg", "portal_lb.cfg", "portal_lb_with_chat.cfg", "tabs_comments.cfg"]
A = ChatServer("chat-a", "10.1.1.31")
B = ChatServer("chat-b", "10.1.1.32")
SECTION_WORDS = ("global", "defaults", "frontend", "backend", "listen", "userlist", "peers",
                 "resolvers")
HAPROXY = shutil.which("haproxy") or next(
    (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None)
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="haproxy binary not installed")


def read(name):
    return (DATA / name).read_bytes().decode("utf-8")     # keeps CRLF as it is


def added_lines(before, after):
    """The lines `after` adds to `before`; fails when anything else changed."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    bad = [op for op in ops if op[0] not in ("equal", "insert")]
    assert not bad, "".join(difflib.unified_diff(a, b))
    return [ln for op, _, _, j1, j2 in ops if op == "insert" for ln in b[j1:j2]]


def body(text, kind, name):
    """(indent, words) of each non-blank, non-comment line of one section, in order."""
    out, inside = [], False
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if words and words[0] in SECTION_WORDS:
            inside = words[:2] == [kind, name]
            continue
        if inside and words:
            out.append((raw[:len(raw) - len(raw.lstrip())], words))
    return out


def index(lines, *words):
    return [i for i, (_, w) in enumerate(lines) if w[:len(words)] == list(words)]


# --- the splice ------------------------------------------------------------------------------

def test_http_on_centos_stock_appends_the_procedures_sections():
    before = read("centos7_stock.cfg")
    r = edit(before, scheme="http", servers=[A, B])
    assert isinstance(r, HaproxyEdit) and r.changed
    assert "".join(added_lines(before, r.text)) == (
        "\n"
        "frontend acdportal_chat_ws\n"
        "    bind :3000\n"
        "    mode http\n"
        "    timeout client 1d\n"
        "    default_backend backend_chat_ws\n"
        "\n"
        "backend backend_chat_ws\n"
        "    mode http\n"
        "    balance leastconn\n"
        "    timeout server 1d\n"
        "    timeout tunnel 1d\n"
        "    server chatserver1 10.1.1.31:3000 weight 1 check inter 1m\n"
        "    server chatserver2 10.1.1.32:3000 weight 1 check inter 1m\n")
    assert r.text.startswith(before)
    assert any("added frontend acdportal_chat_ws" in n for n in r.notes)
    assert any("chat-b" in n and "chatserver2" in n for n in r.notes)


def test_centos_1_5_frontend_header_with_address_is_understood():
    """CentOS's own file says `frontend  main *:5000` (1.5 grammar); the name is still `main`."""
    before = read("centos7_stock.cfg").replace("frontend  main\n    bind *:5000\n",
                                               "frontend  main *:5000\n")
    r = edit(before, scheme="http", servers=[A])
    assert r.text.startswith(before) and not any("WARNING" in n for n in r.notes)
    assert not edit(r.text, scheme="http", servers=[A]).changed
    old = before.replace("main *:5000", "main *:3000")
    assert any(n.startswith("WARNING") and "frontend main" in n
               for n in edit(old, scheme="http", servers=[A]).notes)


def test_https_binds_3003_with_the_given_certificate():
    r = edit(read("portal_lb.cfg"), scheme="https", servers=[A], cert="/etc/pki/lb/chat.pem")
    fe = body(r.text, "frontend", "acdportal_chat_wss")
    assert [w for _, w in fe] == [["bind", ":3003", "ssl", "crt", "/etc/pki/lb/chat.pem"],
                                  ["mode", "http"], ["timeout", "client", "1d"],
                                  ["default_backend", "backend_chat_ws"]]
    assert "acdportal_chat_ws\n" not in r.text


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("scheme,whatsapp", [("http", False), ("https", False), ("https", True)])
def test_every_site_file_only_gains_lines_and_a_rerun_changes_nothing(name, scheme, whatsapp):
    before = read(name)
    if whatsapp and name not in WITH_PORTAL_HTTPS:
        with pytest.raises(HaproxyConfigError):
            edit(before, scheme=scheme, servers=[A, B], whatsapp=True, source=name)
        return
    r = edit(before, scheme=scheme, servers=[A, B], whatsapp=whatsapp, source=name)
    assert r.changed and added_lines(before, r.text)
    again = edit(r.text, scheme=scheme, servers=[A, B], whatsapp=whatsapp, source=name)
    assert (again.text, again.changed) == (r.text, False)
    assert again.notes and not any(n.startswith("added") for n in again.notes)


def test_second_chat_server_replay_adds_exactly_one_server_line():
    first = edit(read("portal_lb.cfg"), scheme="https", servers=[A])
    second = edit(first.text, scheme="https", servers=[A, B])
    assert added_lines(first.text, second.text) == [
        "    server chatserver2 10.1.1.32:3000 weight 1 check inter 1m\n"]
    servers = index(body(second.text, "backend", "backend_chat_ws"), "server")
    assert len(servers) == 2
    # the order of the list does not matter, nor does the wizard's name for a server
    third = edit(second.text, scheme="https", servers=[ChatServer("renamed", "10.1.1.32"), A])
    assert not third.changed


def test_a_server_with_the_same_address_under_another_name_counts_as_present():
    before = read("portal_lb_with_chat.cfg")           # has `server chat1 10.1.1.31:3000`
    r = edit(before, scheme="https", servers=[A])
    assert not r.changed and r.text == before
    assert any("already present as chat1" in n for n in r.notes)


@pytest.mark.parametrize("existing,given", [
    ("2001:db8:0:0::5:3000", "2001:db8::5"),
    ("2001:db8::5:3000", "[2001:db8::5]"),
    ("Chat1.Example.COM:3000", "chat1.example.com"),
    ("chat1.example.com.:3000", "chat1.example.com"),
    ("ipv4@10.0.0.7:3000", "10.0.0.7"),
])
def test_addresses_compare_in_canonical_form(existing, given):
    cfg = ("backend backend_chat_ws\n    mode http\n    balance leastconn\n"
           "    server old %s weight 1 check inter 1m\n" % existing)
    r = edit(cfg, scheme="http", servers=[ChatServer("c", given)])
    assert added_lines(cfg, r.text)[1:2] == ["frontend acdportal_chat_ws\n"]
    assert r.text.count("    server ") == 1


def test_new_servers_get_the_next_free_chatserver_name():
    cfg = ("backend backend_chat_ws\n"
           "    server chatserver1 10.0.0.1:3000 check\n"
           "    server chatserver3 10.0.0.3:3000 check\n"
           "    server chatserver4x 10.0.0.4:3000 check\n")
    r = edit(cfg, scheme="http", servers=[ChatServer("n", "10.0.0.9"), ChatServer("m", "10.0.0.8")])
    new = [ln for ln in added_lines(cfg, r.text) if ln.strip().startswith("server")]
    assert new == ["    server chatserver4 10.0.0.9:3000 weight 1 check inter 1m\n",
                   "    server chatserver5 10.0.0.8:3000 weight 1 check inter 1m\n"]
    # the new server lines follow the last existing one, not the end of the file
    assert r.text.index("chatserver5") < r.text.index("frontend acdportal_chat_ws")
    assert any("chatserver1" in n and "not among" in n for n in r.notes)


def test_same_host_on_another_port_is_added_and_reported():
    cfg = "backend backend_chat_ws\n    server chat1 10.1.1.31:8080 check\n"
    r = edit(cfg, scheme="http", servers=[A])
    assert "server chatserver1 10.1.1.31:3000" in r.text
    assert any("chat1" in n and "8080" in n for n in r.notes)


def test_lines_that_differ_from_the_procedure_are_left_and_reported():
    before = read("portal_lb_with_chat.cfg")
    r = edit(before, scheme="https", servers=[A, B])
    assert "  balance roundrobin\n" in r.text and "balance leastconn" not in r.text
    notes = "\n".join(r.notes)
    assert "'balance roundrobin' differs from the procedure's 'balance leastconn'" in notes
    assert "timeout tunnel 1d" in notes and "defaults has 'timeout tunnel 1h'" in notes
    # the new server keeps the file's two-space indentation, after the last server line
    assert added_lines(before, r.text) == [
        "  server chatserver1 10.1.1.32:3000 weight 1 check inter 1m\n"]


def test_existing_chat_frontend_with_another_certificate_is_reported():
    cfg = ("frontend acdportal_chat_wss\n    bind *:3003 ssl crt /etc/ssl/old.pem\n"
           "    mode http\n    timeout client 1h\n    default_backend backend_chat_ws\n\n"
           "backend backend_chat_ws\n    mode http\n    balance leastconn\n"
           "    timeout server 1d\n    timeout tunnel 1d\n"
           "    server chatserver1 10.1.1.31:3000 weight 1 check inter 1m\n")
    r = edit(cfg, scheme="https", servers=[A])
    assert not r.changed
    notes = "\n".join(r.notes)
    assert "ssl crt /etc/haproxy/haproxy.pem" in notes and "old.pem" in notes
    assert "'timeout client 1h' differs" in notes


def test_another_proxy_on_the_chat_port_is_a_warning():
    cfg = "listen legacy_chat\n    bind 0.0.0.0:3000\n    server c 10.0.0.1:3000\n"
    r = edit(cfg, scheme="http", servers=[A])
    assert any(n.startswith("WARNING") and "legacy_chat" in n for n in r.notes)


# --- WhatsApp --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", WITH_PORTAL_HTTPS)
def test_whatsapp_rules_sit_before_default_backend_with_the_frontends_indent(name):
    before = read(name)
    r = edit(before, scheme="https", servers=[A], whatsapp=True)
    fe = body(r.text, "frontend", "acdportal_https")
    acls = index(fe, "acl", "whatsapp_req", "path")
    rule = index(fe, "use_backend", "backend_chat_ws", "if", "whatsapp_req")
    assert {tuple(fe[i][1][3:]) for i in acls} == {("/incoming",), ("/delivery",)}
    assert len(rule) == 1 and max(acls) < rule[0]
    assert rule[0] < index(fe, "default_backend")[0]
    assert rule[0] == min(index(fe, "use_backend"))      # no earlier rule takes the paths
    header = [ln for ln in before.splitlines() if ln.split()[:2] == ["bind", ":443"]]
    assert {fe[i][0] for i in acls + rule} == {header[0][:len(header[0]) - len(header[0].lstrip())]}


def test_whatsapp_keeps_comment_with_the_line_it_describes():
    before = read("portal_lb.cfg")
    r = edit(before, scheme="https", servers=[A], whatsapp=True)
    assert ("    use_backend backend_chat_ws if whatsapp_req\n"
            "    # web services and resources have their own pools\n"
            "    use_backend backend_acdportal_ws  if is_webservices\n") in r.text


def test_whatsapp_completes_what_is_there():
    before = read("portal_lb_with_chat.cfg")            # has the /incoming acl only
    r = edit(before, scheme="https", servers=[A], whatsapp=True)
    assert added_lines(before, r.text) == ["  acl whatsapp_req path /delivery\n",
                                           "  use_backend backend_chat_ws if whatsapp_req\n"]


def test_whatsapp_acl_with_both_paths_on_one_line_counts():
    cfg = ("frontend acdportal_https\n    mode http\n    bind :443 ssl crt /x.pem\n"
           "    acl whatsapp_req path /incoming /delivery\n"
           "    use_backend backend_chat_ws if whatsapp_req\n"
           "    default_backend web\n")
    r = edit(cfg, scheme="https", servers=[A], whatsapp=True)
    assert added_lines(cfg, r.text)[0] == "\n"           # only the appended sections
    assert any("already routes WhatsApp" in n for n in r.notes)


def test_whatsapp_missing_acl_goes_before_the_existing_rule():
    cfg = ("frontend acdportal_https\n    mode http\n    bind :443 ssl crt /x.pem\n"
           "    use_backend backend_chat_ws if whatsapp_req\n    default_backend web\n")
    r = edit(cfg, scheme="https", servers=[A], whatsapp=True)
    fe = body(r.text, "frontend", "acdportal_https")
    assert max(index(fe, "acl")) < index(fe, "use_backend")[0]
    assert len(index(fe, "use_backend")) == 1


def test_whatsapp_in_a_frontend_without_backend_rules_goes_after_its_last_line():
    cfg = ("defaults\n    mode http\n\nfrontend acdportal_https\n    bind :443 ssl crt /x.pem\n"
           "\n# the chat part\nbackend web\n    server w 10.0.0.1:80\n")
    r = edit(cfg, scheme="https", servers=[A], whatsapp=True)
    assert ("    bind :443 ssl crt /x.pem\n    acl whatsapp_req path /incoming\n"
            "    acl whatsapp_req path /delivery\n"
            "    use_backend backend_chat_ws if whatsapp_req\n\n# the chat part\n") in r.text


def test_whatsapp_in_a_tcp_frontend_is_a_warning():
    cfg = "frontend acdportal_https\n    mode tcp\n    bind :443\n    default_backend web\n"
    r = edit(cfg, scheme="https", servers=[A], whatsapp=True)
    assert any(n.startswith("WARNING") and "mode http" in n for n in r.notes)


def test_whatsapp_needs_https():
    with pytest.raises(HaproxyConfigError, match="WhatsApp needs https"):
        edit(read("portal_lb.cfg"), scheme="http", servers=[A], whatsapp=True)


def test_whatsapp_needs_the_portal_https_frontend():
    with pytest.raises(HaproxyConfigError) as e:
        edit(read("centos7_stock.cfg"), scheme="https", servers=[A], whatsapp=True,
             source="/etc/haproxy/haproxy.cfg")
    assert str(e.value).startswith("/etc/haproxy/haproxy.cfg: ")
    assert "acdportal_https" in e.value.reason and "missing" in e.value.reason
    assert e.value.line is None


# --- the file's own shape ------------------------------------------------------------------

def test_crlf_file_stays_crlf():
    before = read("crlf.cfg")
    r = edit(before, scheme="https", servers=[A, B], whatsapp=True)
    assert r.text.count("\n") == r.text.count("\r\n") > before.count("\r\n")
    added_lines(before, r.text)


def test_tabs_file_gets_tabs():
    before = read("tabs_comments.cfg")
    r = edit(before, scheme="http", servers=[A])
    new = [ln for ln in added_lines(before, r.text) if ln.strip()]
    assert all(ln.startswith("\t") for ln in new if ln.split()[0] not in SECTION_WORDS)


def test_file_without_final_newline_gets_one_and_nothing_else_changes():
    cfg = "global\n    maxconn 10\n# last line"
    r = edit(cfg, scheme="http", servers=[A])
    assert r.text.startswith(cfg + "\n\nfrontend acdportal_chat_ws\n")
    assert r.text.endswith("\n")
    assert not edit(r.text, scheme="http", servers=[A]).changed


def test_empty_file_and_bom():
    assert edit("", scheme="http", servers=[A]).text.startswith("frontend acdportal_chat_ws\n")
    cfg = "\ufeffbackend backend_chat_ws\n    server x 10.1.1.31:3000\n"
    r = edit(cfg, scheme="http", servers=[A])
    assert r.text.startswith(cfg) and r.text.count("server ") == 1


def test_a_proxy_defined_twice_is_an_error_on_its_line():
    cfg = ("backend backend_chat_ws\n    server a 10.0.0.1:3000\n\n"
           "backend backend_chat_ws\n    server b 10.0.0.2:3000\n")
    with pytest.raises(HaproxyConfigError) as e:
        edit(cfg, scheme="http", servers=[A], source="lb.cfg")
    assert e.value.line == 4 and str(e.value).startswith("lb.cfg:4: ")


# --- inputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "", " ", "chat server", "10.0.0.300", "1.2.3", "-chat.example.com", "chat-.example.com",
    "a..b", "x" * 64, "chat#1", "10.0.0.1:3000", "http://chat1", "::g", "[10.0.0.1]",
    "chat1;reboot", "ch\nat", None, 10])
def test_bad_addresses_are_refused(address):
    with pytest.raises(HaproxyConfigError) as e:
        edit("", scheme="http", servers=[ChatServer("bad", address)])
    assert isinstance(e.value, ValueError) and e.value.line is None


@pytest.mark.parametrize("address,written", [
    ("chat1", "chat1"), ("acd-chat1.example.com", "acd-chat1.example.com"),
    ("acd-chat1.", "acd-chat1."), ("10.0.0.5", "10.0.0.5"), ("2001:DB8:0::5", "2001:db8::5"),
    ("[2001:db8::5]", "2001:db8::5"), ("localhost", "localhost")])
def test_good_addresses_are_written(address, written):
    r = edit("", scheme="http", servers=[ChatServer("ok", address)])
    assert "server chatserver1 %s:3000 weight 1 check inter 1m" % written in r.text


@pytest.mark.parametrize("servers,match", [
    ([], "no chat server"),
    ([ChatServer("a", "10.0.0.1", 0)], "port"),
    ([ChatServer("a", "10.0.0.1", 70000)], "port"),
    ([ChatServer("a", "10.0.0.1", "3000")], "port"),
    ([ChatServer("a", "10.0.0.1"), ChatServer("b", "10.0.0.1")], "same address"),
])
def test_bad_server_lists_are_refused(servers, match):
    with pytest.raises(HaproxyConfigError, match=match):
        edit("", scheme="http", servers=servers)


@pytest.mark.parametrize("kwargs", [dict(scheme="wss"), dict(scheme="HTTP"),
                                    dict(scheme="https", cert="/etc/my cert.pem"),
                                    dict(scheme="https", cert="")])
def test_bad_scheme_or_certificate_is_refused(kwargs):
    with pytest.raises(HaproxyConfigError):
        edit("", servers=[A], **kwargs)


def test_error_text_names_source_and_line():
    e = HaproxyConfigError("bad thing", source="/etc/haproxy/haproxy.cfg", line=12)
    assert (str(e), e.reason, e.line) == ("/etc/haproxy/haproxy.cfg:12: bad thing", "bad thing", 12)
    assert str(HaproxyConfigError("x")) == "haproxy.cfg: x"


def test_check_command_is_shell_quoted():
    import shlex
    assert check_command("/etc/haproxy/haproxy.cfg.new") == \
        "haproxy -c -f /etc/haproxy/haproxy.cfg.new"
    odd = "/tmp/it's a $(file).cfg"
    assert shlex.split(check_command(odd)) == ["haproxy", "-c", "-f", odd]


def test_generated_lines_stay_in_haproxy_1_5_grammar():
    """Only keywords that haproxy 1.5.18's configuration.txt documents for these sections
    (`timeout tunnel` included: defaults/listen/backend since 1.5); nothing 2.x-only."""
    allowed = {("frontend",), ("backend",), ("bind",), ("mode",), ("timeout", "client"),
               ("timeout", "server"), ("timeout", "tunnel"), ("default_backend",),
               ("balance",), ("server",), ("acl",), ("use_backend",)}
    before = read("portal_lb.cfg")
    r = edit(before, scheme="https", servers=[A, ChatServer("v6", "2001:db8::7")], whatsapp=True)
    for ln in added_lines(before, r.text):
        w = ln.split()
        if w:
            assert tuple(w[:2]) in allowed or tuple(w[:1]) in allowed, ln
    tunnel = [s for s in r.text.split("\n\n") if "timeout tunnel" in s]
    assert len(tunnel) == 1 and tunnel[0].startswith("backend ")   # 1.5: not in a frontend


def test_core_does_not_import_textual():
    code = "import sys, wizard.haproxy_cfg; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=HERE.parent)


def test_random_replays_never_duplicate_and_only_add():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    pool = [ChatServer("c%d" % i, a) for i, a in enumerate(
        ["10.0.0.1", "10.0.0.2", "chat3.example.com", "2001:db8::4", "10.0.0.5"])]

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(st.sampled_from(FILES),
                      st.lists(st.lists(st.sampled_from(pool), min_size=1, max_size=5,
                                        unique=True), min_size=1, max_size=4))
    def run(name, rounds):
        text = read(name)
        seen = set()
        for servers in rounds:
            r = edit(text, scheme="https", servers=servers)
            new = [ln for ln in added_lines(text, r.text) if ln.split()[:1] == ["server"]]
            fresh = {s.address for s in servers} - seen
            assert len(new) == len(fresh)
            seen |= fresh
            text = r.text
        assert not edit(text, scheme="https", servers=list(servers)).changed
        be = body(text, "backend", "backend_chat_ws")
        targets = [w[2] for _, w in be if w[0] == "server"]
        assert len(targets) == len(set(targets))

    run()


# --- the real haproxy -c -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def pem(tmp_path_factory):
    """A self-signed certificate + key for 127.0.0.1/localhost, as haproxy's `crt` wants it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    both = d / "haproxy.pem"
    both.write_bytes((d / "cert.pem").read_bytes() + (d / "key.pem").read_bytes())
    return str(both)


def haproxy_check(path):
    env = dict(os.environ, PATH=os.path.dirname(HAPROXY) + os.pathsep + os.environ["PATH"])
    p = subprocess.run(check_command(str(path)), shell=True, capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stdout + p.stderr


@needs_haproxy
@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("scheme,whatsapp", [("http", False), ("https", True)])
def test_haproxy_accepts_site_file_before_and_after(name, scheme, whatsapp, pem, tmp_path):
    # the site's own cert path would have to exist for `-c`: point it at the test one
    before = read(name).replace("/etc/haproxy/haproxy.pem", pem)
    f = tmp_path / "haproxy.cfg"
    f.write_text(before, newline="")
    assert haproxy_check(f)[0] == 0
    whatsapp = whatsapp and name in WITH_PORTAL_HTTPS
    servers = [A, B, ChatServer("v6", "2001:db8::33"), ChatServer("lo", "localhost")]
    r = edit(before, scheme=scheme, servers=servers, whatsapp=whatsapp, cert=pem)
    f.write_text(r.text, newline="")
    rc, out = haproxy_check(f)
    assert rc == 0, out


HAPROXY_1_5 = os.environ.get("HAPROXY_1_5")    # a haproxy 1.5.x binary, e.g. built from source


@pytest.mark.skipif(not HAPROXY_1_5, reason="set HAPROXY_1_5 to a haproxy 1.5 binary")
def test_haproxy_1_5_accepts_site_files_after_edit(tmp_path):
    """Same check against CentOS's haproxy version. A 1.5 built without OpenSSL (1.5 does
    not build against OpenSSL >= 1.1) rejects `ssl`, so the TLS bits are taken out first."""
    import re
    for name in FILES:
        r = edit(read(name), scheme="https", servers=[A, ChatServer("v6", "2001:db8::33")],
                 whatsapp=name in WITH_PORTAL_HTTPS)
        text = re.sub(r" ssl crt \S+", "", r.text)
        text = re.sub(r".*(ssl-default|tune\.ssl|ssl_fc).*\n", "", text)
        f = tmp_path / name
        f.write_text(text, newline="")
        p = subprocess.run([HAPROXY_1_5, "-c", "-f", str(f)], capture_output=True, text=True)
        assert p.returncode == 0, (name, p.stdout + p.stderr)


@needs_haproxy
def test_haproxy_check_rejects_a_broken_candidate(tmp_path):
    r = edit(read("centos7_stock.cfg"), scheme="http", servers=[A])
    f = tmp_path / "bad.cfg"
    f.write_text(r.text.replace("balance leastconn", "balance leastconnx"))
    rc, out = haproxy_check(f)
    assert rc != 0 and "balance only supports" in out


# --- a real haproxy carrying websockets on loopback -------------------------------------------

def _load_ws_echo():
    spec = importlib.util.spec_from_file_location("ws_echo_for_haproxy", HERE / "testhost" / "ws_echo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ws_echo = _load_ws_echo()

LIVE_BASE = """\
global
    maxconn 256

defaults
    mode http
    option http-server-close
    timeout connect 5s
    timeout client 1s
    timeout server 1s

frontend acdportal_https
    bind 127.0.0.1:{portal} ssl crt {pem}
    default_backend backend_acdportal

backend backend_acdportal
    server web1 127.0.0.1:{web} check inter 2s
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("exited early: %r" % (proc.args,))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("127.0.0.1:%d" % port)


@pytest.fixture
def live(tmp_path):
    """Starts echo servers and haproxy on 127.0.0.1 only; stops every one of them after."""
    procs = []

    def start(args, port, log):
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(tmp_path / log, "wb"))
        procs.append(p)
        wait_port(port, p)
        return p

    def echo(name):
        port = free_port()
        start([sys.executable, str(HERE / "testhost" / "ws_echo.py"), "127.0.0.1", str(port), name],
              port, "echo-%s.log" % name)
        return port

    def haproxy(text, port):
        assert "bind :" not in text and "bind *" not in text      # loopback only
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(text)
        assert haproxy_check(cfg)[0] == 0
        start([HAPROXY, "-db", "-f", str(cfg)], port, "haproxy.log")

    yield echo, haproxy
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _greetings(clients):
    return {c.recv()[1].decode() for c in clients}


@needs_haproxy
def test_live_ws_through_edited_config_spreads_and_survives_idle(live, pem):
    echo, haproxy = live
    b1, b2, web, portal, chat = echo("s1"), echo("s2"), echo("portal"), free_port(), free_port()
    base = LIVE_BASE.format(portal=portal, web=web, pem=pem)
    servers = [ChatServer("one", "127.0.0.1", b1), ChatServer("two", "127.0.0.1", b2)]
    r = edit(base, scheme="http", servers=servers)
    haproxy(r.text.replace("bind :3000\n", "bind 127.0.0.1:%d\n" % chat), chat)

    c1, c2 = ws_echo.Client("127.0.0.1", chat), ws_echo.Client("127.0.0.1", chat)
    try:
        assert _greetings([c1, c2]) == {"hello from s1", "hello from s2"}   # leastconn
        time.sleep(1.5)                  # longer than the defaults' 1 s client/server timeouts
        for i, c in enumerate((c1, c2)):
            c.send("after-idle-%d" % i)
            assert c.recv() == (1, b"after-idle-%d" % i)
    finally:
        c1.close()
        c2.close()


@needs_haproxy
def test_live_control_without_the_procedures_timeouts_the_idle_socket_is_cut(live, pem):
    echo, haproxy = live
    b1, web, portal, chat = echo("s1"), echo("portal"), free_port(), free_port()
    r = edit(LIVE_BASE.format(portal=portal, web=web, pem=pem), scheme="http",
             servers=[ChatServer("one", "127.0.0.1", b1)])
    text = r.text.replace("bind :3000\n", "bind 127.0.0.1:%d\n" % chat)
    for line in ("    timeout client 1d\n", "    timeout server 1d\n", "    timeout tunnel 1d\n"):
        text = text.replace(line, "")
    haproxy(text, chat)
    c = ws_echo.Client("127.0.0.1", chat)
    try:
        assert c.recv()[1] == b"hello from s1"
        time.sleep(1.6)
        with pytest.raises((ConnectionError, OSError)):
            c.send("x")
            c.recv()
    finally:
        c.sock.close()


@needs_haproxy
def test_live_wss_and_whatsapp_paths_reach_the_chat_servers(live, pem):
    echo, haproxy = live
    b1, b2, web, portal, chat = echo("s1"), echo("s2"), echo("portal"), free_port(), free_port()
    base = LIVE_BASE.format(portal=portal, web=web, pem=pem)
    servers = [ChatServer("one", "127.0.0.1", b1), ChatServer("two", "127.0.0.1", b2)]
    r = edit(base, scheme="https", servers=servers, whatsapp=True, cert=pem)
    haproxy(r.text.replace("bind :3003 ssl", "bind 127.0.0.1:%d ssl" % chat), chat)
    tls = ssl.create_default_context(cafile=pem)

    c1 = ws_echo.Client("127.0.0.1", chat, ssl_context=tls)
    c2 = ws_echo.Client("127.0.0.1", chat, ssl_context=tls)
    try:
        assert _greetings([c1, c2]) == {"hello from s1", "hello from s2"}
        c1.send("over wss")
        assert c1.recv() == (1, b"over wss")
    finally:
        c1.close()
        c2.close()
    for path, expect in (("/incoming", {"hello from s1", "hello from s2"}),
                         ("/delivery", {"hello from s1", "hello from s2"}),
                         ("/CarrierPortal/", {"hello from portal"}),
                         ("/incoming/x", {"hello from portal"})):
        c = ws_echo.Client("127.0.0.1", portal, path=path, ssl_context=tls)
        try:
            assert c.recv()[1].decode() in expect, path
        finally:
            c.close()
