"""Paths, service names and URLs are checked as such before anything connects (issue 9):
one message per problem, `FILE:LINE: key: problem`, naming what is wrong."""
from __future__ import annotations

import pytest

from wizard.answers import loads
from wizard.answers.paths import path_problem, service_problem, system_file_problem, tree_problem, url_problem
from wizard.errors import AnswersError

BASE = """\
version: 1
inventory:
  hosts:
    chat1: {address: 10.0.0.21, roles: [CHAT, DATA, LB]}
portal: {scheme: https, load_balancer: jtel-portal}
daemon: {db_password: "keyring:db/root"}
"""

CASES = [
    ('update_script: {path: "/usr/local/bin/new$(id -un > pwned)/updatesc.sh"}',
     "site.yaml:7: update_script.path: '/usr/local/bin/new$(id -un > pwned)/updatesc.sh' is not a safe path: holds `$(`"),
    ('update_script: {path: "/usr/local/bin/`id`.sh"}', "update_script.path: '/usr/local/bin/`id`.sh' is not a safe path: holds a backtick"),
    ('update_script: {path: "/usr/local/bin/a\\"b.sh"}', "is not a safe path: holds a double quote"),
    ("update_script: {path: \"/usr/local/bin/a'b.sh\"}", "is not a safe path: holds a single quote"),
    ('update_script: {path: "/usr/local/bin/x.sh\\n"}', "update_script.path: '/usr/local/bin/x.sh\\n' is not a safe path: holds a newline"),
    ('update_script: {path: "/usr/local/\\tbin/x.sh"}', "is not a safe path: holds the control character '\\t'"),
    ('update_script: {path: "/usr/local/bin/\\e[2Jx.sh"}', "is not a safe path: holds an ESC"),
    ('update_script: {path: "/usr/local/bin/\\0x.sh"}', "is not a safe path: holds a NUL byte"),
    ("update_script: {path: /usr/local/../../etc/passwd}", "is not a safe path: holds a `..` segment"),
    ("update_script: {path: /}", "update_script.path: '/' is not a safe path: is / itself"),
    ("update_script: {path: /etc/passwd}", "update_script.path: '/etc/passwd' is a system file the procedure never writes"),
    ("update_script: {path: /etc/shadow}", "'/etc/shadow' is a system file"),
    ("update_script: {path: /etc/sudoers}", "'/etc/sudoers' is a system file"),
    ("update_script: {path: /etc/sudoers.d/jtel}", "is under /etc/sudoers.d, where the procedure writes nothing"),
    ("update_script: {path: /etc/init.d/network}", "is under /etc/init.d"),
    ("load_balancer: {config: /etc/pam.d/sshd}", "load_balancer.config: '/etc/pam.d/sshd' is under /etc/pam.d"),
    ("load_balancer: {cert: /etc/shadow}", "load_balancer.cert: '/etc/shadow' is a system file, not haproxy's certificate"),
    ("hazelcast: {layout: legacy, legacy_paths: {DATA: /root/.ssh/authorized_keys}}", "hazelcast.legacy_paths.DATA: '/root/.ssh/authorized_keys' is under /root/.ssh"),
    ('clientmessenger: {target: "/"}', "clientmessenger.target: '/' is not a safe path: is / itself"),
    ("clientmessenger: {target: /usr}", "clientmessenger.target: '/usr' is a system folder: the wizard would `chown -R` it"),
    ("clientmessenger: {target: /home/jtel}", "'/home/jtel' is a system folder"),
    ("clientmessenger: {target: /etc/x}", "clientmessenger.target: '/etc/x' is under /etc"),
    ('daemon: {service: "..", db_password: "keyring:db/root"}', None),   # duplicate key: see below
    ('hazelcast: {tel_service: ".."}', "hazelcast.tel_service: '..' is not a service name: . and .. are folders"),
    ('hazelcast: {tel_service: "-x"}', "hazelcast.tel_service: '-x' is not a service name: starts with -"),
    ('hazelcast: {tel_service: "x\\n"}', "hazelcast.tel_service: 'x\\n' is not a service name"),
    ('java: {url: "https://cdn/x\\e]0;T\\a.rpm"}', "java.url: 'https://cdn/x\\x1b]0;T\\x07.rpm' is not a plain URL: holds a control character (ESC"),
    ('java: {url: "https://cdn/x\\".rpm"}', "java.url: 'https://cdn/x\".rpm' is not a plain URL: holds a double quote"),
    ('java: {url: "file:///etc/passwd"}', "java.url: 'file:///etc/passwd' is not a plain URL: must start with"),
    ('whatsapp: {api_base: "https://api.tyntec.com/v2\\0"}', "whatsapp.api_base: 'https://api.tyntec.com/v2\\x00' is not a plain URL: holds a control character (NUL)"),
    ('whatsapp: {api_base: "http://api.tyntec.com/v2"}', "whatsapp.api_base: 'http://api.tyntec.com/v2' is not a plain URL: must start with https://"),
    ("whatsapp: {portal_url: \"https://jtel-portal:3003'\"}", "whatsapp.portal_url: \"https://jtel-portal:3003'\" is not a plain URL: holds a single quote"),
    ('agents: {chat_status: "Chat\\e]0;TITLE\\a"}', "agents.chat_status: 'Chat\\x1b]0;TITLE\\x07' is not a status name: it holds a control character"),
]


@pytest.mark.parametrize("extra,expected", [c for c in CASES if c[1]], ids=lambda v: v[:40] if isinstance(v, str) else "")
def test_hostile_value_is_named(extra, expected):
    with pytest.raises(AnswersError) as e:
        loads(BASE + extra + "\n", "site.yaml")
    assert expected in str(e.value), str(e.value)
    assert "site.yaml:" in str(e.value)


def test_defaults_and_ordinary_values_pass():
    a = loads(BASE + "update_script: {path: /opt/jtel/bin/updatesc.sh}\n"
                     "clientmessenger: {target: /opt/jtel/ClientMessenger}\n"
                     "hazelcast: {tel_service: jtel-listener@1}\n", "site.yaml")
    assert a.section("update_script")["path"] == "/opt/jtel/bin/updatesc.sh"
    loads(BASE, "site.yaml")


def test_raw_escape_in_the_yaml_text_is_an_answers_error_with_line_and_column():
    with pytest.raises(AnswersError) as e:
        loads(BASE + "agents: {chat_status: Chat\x1b[2J}\n", "site.yaml")
    assert str(e.value).startswith("site.yaml:7:27: YAML error: the control character U+001B")


def test_huge_value_is_refused_without_echoing_it():
    with pytest.raises(AnswersError) as e:
        loads(BASE + f"update_script: {{path: /usr/local/{'a' * 100_000}}}\n", "site.yaml")
    assert "update_script.path: is too long (100011 characters; at most 4096)" in str(e.value)
    assert len(str(e.value)) < 500


@pytest.mark.parametrize("fn,value,ok", [
    (path_problem, "/home/jtel/ClientMessenger", True), (path_problem, "/a/..b/c", True),
    (path_problem, "relative/x", False), (path_problem, "//", False),
    (system_file_problem, "/etc/haproxy/haproxy.cfg", True), (system_file_problem, "/usr/local/bin/updatesc.sh", True),
    (system_file_problem, "/etc//passwd", False),
    (tree_problem, "/home/jtel/ClientMessenger", True), (tree_problem, "/usr/", False), (tree_problem, "/var/lib/", False),
    (service_problem, "jtel-clientmessenger", True), (service_problem, ".x", False),
    (url_problem, "https://api.tyntec.com/chat-api/v2", True), (url_problem, "https://a b", False),
])
def test_checks(fn, value, ok):
    assert (fn(value) is None) is ok
