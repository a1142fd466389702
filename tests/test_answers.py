"""The answers file: schema, samples, line-numbered messages, defaults, dump/save round trip."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from wizard import answers
from wizard.answers import Answers, load, loads
from wizard.errors import EXIT_ANSWERS, AnswersError
from wizard.transport.base import HostSpec

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "answers").glob("*.yaml"))
BAD = Path(__file__).parent / "data" / "answers_bad"

# values planted in bad files under secret-bearing keys: no message may show them
SECRET_VALUES = ["Sup3r-Secret!", "hunter2-Secret", "Tyn-ApiKey-123", "31415926535"]

MINIMAL = """\
version: 1
inventory:
  hosts:
    chat1: {address: 10.0.0.21, roles: [CHAT]}
    acd-dbm: {address: 10.0.0.10, roles: [DATA]}
    acd-lb1: {address: 10.0.0.2, roles: [LB]}
portal:
  scheme: https
  load_balancer: jtel-portal
daemon:
  db_password: keyring:db/root
"""

# file -> a fragment of the expected message: "file:line: key.path: problem"
EXPECTED = {
    "unknown_key.yaml": "unknown_key.yaml:8: inventory.hosts.chat1.pasword: unknown key 'pasword' (did you mean 'password'?)",
    "unknown_section.yaml": "unknown_section.yaml:18: firewal: unknown key",
    "wrong_type.yaml": "wrong_type.yaml:7: inventory.hosts.chat1.port: 'twenty-two' is not an integer",
    "bad_port_range.yaml": "bad_port_range.yaml:7: inventory.hosts.chat1.port: 70000 is above the maximum 65535",
    "bad_hostname.yaml": "bad_hostname.yaml:6: inventory.hosts.chat1.address: 'chat 1.example' is not a valid host name",
    "bad_ipv4.yaml": "bad_ipv4.yaml:6: inventory.hosts.chat1.address: '10.0.0.300' looks like an IPv4 address",
    "bad_lb_name.yaml": "bad_lb_name.yaml:14: portal.load_balancer: '-jtel-portal' is not a valid host name",
    "bad_inventory_name.yaml": "bad_inventory_name.yaml:11: inventory.hosts.-chat3: '-chat3' is not a valid inventory name",
    "bad_e164_format.yaml": "bad_e164_format.yaml:21: whatsapp.phone_number: '+49 89 123456789' is not an E.164 number",
    "bad_e164_number.yaml": "bad_e164_number.yaml:21: whatsapp.phone_number: '+441234' is not a valid phone number in E.164",
    "phone_unquoted.yaml": "phone_unquoted.yaml:21: whatsapp.phone_number: 4989123456789 is not a string; write it in quotes",
    "missing_chat_host.yaml": "missing_chat_host.yaml:4: inventory.hosts: no host has role CHAT",
    "missing_lb_host.yaml": "missing_lb_host.yaml:4: inventory.hosts: no host has role LB, but the load_balancer section runs",
    "missing_data_host.yaml": "missing_data_host.yaml:4: inventory.hosts: no host has role DATA, but the hazelcast section runs",
    "missing_db_password.yaml": "missing_db_password.yaml:16: daemon.db_password: required when the daemon section runs",
    "missing_address.yaml": "missing_address.yaml:5: inventory.hosts.chat1.address: required key missing",
    "missing_portal.yaml": "missing_portal.yaml:1: portal: required key missing",
    "plaintext_password.yaml": "plaintext_password.yaml:17: daemon.db_password: a plaintext value where a keyring reference is required (value not shown); put the secret in the keyring: chatwizard secret set db/root",
    "plaintext_ssh_password.yaml": "plaintext_ssh_password.yaml:8: inventory.hosts.chat1.password: a plaintext value where a keyring reference is required (value not shown); put the secret in the keyring: chatwizard secret set ssh/chat1",
    "plaintext_api_key.yaml": "plaintext_api_key.yaml:20: whatsapp.api_key: a plaintext value where a keyring reference is required (value not shown); put the secret in the keyring: chatwizard secret set tyntec/apikey",
    "secret_wrong_type.yaml": "secret_wrong_type.yaml:17: daemon.db_password: a plaintext value",
    "secret_section_string.yaml": "secret_section_string.yaml:16: daemon: the value is not a mapping (value not shown",
    "bad_keyring_ref.yaml": "bad_keyring_ref.yaml:17: daemon.db_password: not a valid keyring reference",
    "whatsapp_http.yaml": "whatsapp_http.yaml:19: whatsapp.enabled: WhatsApp needs portal.scheme https: TynTec",
    "duplicate_key.yaml": "duplicate_key.yaml:9: inventory.hosts.chat1.port: duplicate key (first at line 7)",
    "duplicate_section.yaml": "duplicate_section.yaml:18: daemon: duplicate key (first at line 16)",
    "duplicate_address.yaml": "duplicate_address.yaml:11: inventory.hosts.chat2.address: same address as inventory.hosts.chat1.address (line 6)",
    "tab_indent.yaml": "tab_indent.yaml:3:1: YAML syntax error: found character '\\t' that cannot start any token",
    "syntax_error.yaml": "syntax_error.yaml:9:12: YAML syntax error: expected ',' or ']'",
    "wrong_version.yaml": "wrong_version.yaml:1: version: format version 2 is newer than this wizard reads (1)",
    "version_string.yaml": "version_string.yaml:1: version: '1' is not a format version",
    "empty.yaml": "empty.yaml:1: the file is empty",
    "only_comments.yaml": "only_comments.yaml:1: the file is empty",
    "not_a_mapping.yaml": "not_a_mapping.yaml:1: the file must be a mapping",
    "portal_version_float.yaml": "portal_version_float.yaml:15: portal.version: 3.1 is not a string; write it in quotes",
    "bad_portal_version.yaml": "bad_portal_version.yaml:15: portal.version: '4.0' is not a portal release",
    "bad_role.yaml": "bad_role.yaml:8: inventory.hosts.chat1.roles[1]: 'CHATT' is not one of: CHAT, DATA, TEL, WEB, LB",
    "bad_scheme.yaml": "bad_scheme.yaml:13: portal.scheme: 'wss' is not one of: https, http",
    "become_root_not_root.yaml": "become_root_not_root.yaml:8: inventory.hosts.chat1.become: become: root means the login user is root",
    "rpm_without_path.yaml": "rpm_without_path.yaml:19: java.rpm_path: required when java.source is rpm",
    "yes_no_language.yaml": "yes_no_language.yaml:20: whatsapp.language: false is not a string; YAML reads yes/no/on/off",
    "bad_timezone.yaml": "bad_timezone.yaml:18: daemon.timezone: 'Europe/Berln' is not a known time zone (did you mean 'Europe/Berlin'?)",
    "bad_skip.yaml": "bad_skip.yaml:19: sections.skip[1]: 'chat' is not one of",
}


def _problems(path: Path) -> list[str]:
    with pytest.raises(AnswersError) as ei:
        load(path)
    assert ei.value.exit_code == EXIT_ANSWERS
    return ei.value.problems


# ---------------------------------------------------------------- schema and samples

def test_schema_is_valid_2020_12_and_shipped_in_the_package():
    s = json.loads(resources.files("answers").joinpath("schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["properties"]["version"] == {"description": "Format version of this file.", "const": 1}
    assert answers.schema() == s


def test_every_object_in_the_schema_forbids_unknown_keys():
    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                assert node.get("additionalProperties") is False, where
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")
    walk(answers.schema(), "#")


def test_schema_patterns():
    d = answers.schema()["$defs"]
    ref = d["secret_ref"]["pattern"]
    assert ref == "^keyring:[A-Za-z0-9_./@:-]+$"
    assert answers.schema()["properties"]["portal"]["properties"]["version"]["pattern"] == r"^3\.\d+(\.\d+)?$"
    assert d["role"]["enum"] == ["CHAT", "DATA", "TEL", "WEB", "LB"]
    v = jsonschema.Draft202012Validator({"$ref": "#/$defs/address", "type": "string", "$defs": d})
    for good in ["10.0.0.21", "chat1", "chat1.example.com", "fe80::1", "my_alias", "::1", "training.invalid"]:
        assert v.is_valid(good), good
    for bad in ["chat 1", "-chat", "chat..example", "http://chat1", "chat1:22", ""]:
        assert not v.is_valid(bad), bad


def test_there_are_the_four_samples():
    assert {p.name for p in SAMPLES} >= {"centos7-https-whatsapp.yaml", "centos6-http.yaml",
                                         "second-chat-server.yaml", "training.yaml"}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_validates_and_round_trips(path, tmp_path):
    assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json\n")
    a = load(path)
    assert a.source == str(path)
    again = loads(a.dump(), "dumped")
    assert again.data == a.data
    assert loads(again.dump()).data == a.data            # stable
    assert again.dump() == a.dump()
    for kp, ref in a.secret_refs(include_unused=True).items():
        assert ref.startswith("keyring:"), kp
    # dump() also validates against the plain schema (editors see the same thing)
    jsonschema.Draft202012Validator(answers.schema()).validate(yaml.safe_load(a.dump()))


def test_training_sample():
    a = load(ROOT / "answers" / "training.yaml")
    assert [h.name for h in a.hosts] == ["sim"]
    sim = a.hosts[0]
    assert sim.address == "training.invalid"
    assert sim.roles == ("CHAT", "DATA", "TEL", "WEB", "LB")
    assert a.data["portal"]["scheme"] == "http"


def test_second_chat_server_has_both_chat_hosts():
    first = load(ROOT / "answers" / "centos7-https-whatsapp.yaml")
    second = load(ROOT / "answers" / "second-chat-server.yaml")
    assert [h.name for h in second.hosts_with_role("CHAT")] == ["chat1", "chat2"]
    for name in ("portal", "daemon", "whatsapp", "hazelcast"):
        assert second.section(name) == first.section(name)


# ---------------------------------------------------------------- bad inputs

def test_there_are_enough_bad_inputs_and_each_is_in_the_table():
    files = {p.name for p in BAD.glob("*.yaml")}
    assert len(files) >= 15
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_message(name):
    problems = _problems(BAD / name)
    text = "\n".join(problems)
    assert EXPECTED[name] in text
    for p in problems:                      # every message names the file (and usually a line)
        assert p.startswith(str(BAD / name) + ":"), p


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_message_shows_a_secret_value(name):
    text = "\n".join(_problems(BAD / name))
    for secret in SECRET_VALUES:
        assert secret not in text


def test_all_problems_are_reported_at_once():
    text = MINIMAL.replace("{address: 10.0.0.21, roles: [CHAT]}",
                           "{address: 10.0.0.300, port: x, roles: [CHAT], colour: red}")
    text = text.replace("scheme: https", "scheme: http") + (
        'whatsapp: {enabled: true, api_key: "keyring:tyntec/apikey", phone_number: "+1"}\n')
    with pytest.raises(AnswersError) as ei:
        loads(text, "multi.yaml")
    got = ei.value.problems
    for fragment in ["multi.yaml:4: inventory.hosts.chat1.address: '10.0.0.300'",
                     "multi.yaml:4: inventory.hosts.chat1.port: 'x' is not an integer",
                     "multi.yaml:4: inventory.hosts.chat1.colour: unknown key",
                     "multi.yaml:12: whatsapp.enabled: WhatsApp needs portal.scheme https",
                     "multi.yaml:12: whatsapp.phone_number:"]:
        assert any(fragment in p for p in got), (fragment, got)
    lines = [int(p.split(":")[1]) for p in got]
    assert lines == sorted(lines)


def test_plaintext_secrets_are_never_echoed_whatever_the_mistake():
    secret = "Pa55-w0rd&more"
    variants = [
        MINIMAL.replace("keyring:db/root", secret),
        MINIMAL.replace("keyring:db/root", f"[{secret}]"),
        MINIMAL.replace("keyring:db/root", f"{{x: {secret}}}"),
        MINIMAL.replace("daemon:\n  db_password: keyring:db/root", f"daemon: {secret}"),
        MINIMAL.replace("keyring:db/root", f'"keyring:{secret} x"'),
        MINIMAL.replace("{address: 10.0.0.21,", f"{{address: 10.0.0.21, password: {secret},"),
        MINIMAL + f"whatsapp: {{api_key: {secret}}}\n",
    ]
    for text in variants:
        with pytest.raises(AnswersError) as ei:
            loads(text, "s.yaml")
        assert secret not in str(ei.value), str(ei.value)
        assert "Pa55" not in str(ei.value)


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(AnswersError, match="no such file"):
        load(tmp_path / "nope.yaml")
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"version: 1\nportal: {load_balancer: \xe9}\n")
    with pytest.raises(AnswersError, match="not UTF-8"):
        load(p)


def test_yaml_anchors_and_merge_keys_work():
    text = MINIMAL.replace(
        "    chat1: {address: 10.0.0.21, roles: [CHAT]}\n",
        "    chat1: &chat {address: 10.0.0.21, user: admin, roles: [CHAT]}\n"
        "    chat2:\n      <<: *chat\n      address: 10.0.0.22\n")
    a = loads(text)
    assert a.host("chat2") == HostSpec("chat2", "10.0.0.22", user="admin", become="sudo", roles=("CHAT",))


# ---------------------------------------------------------------- the object

def test_defaults_are_filled_in():
    a = loads(MINIMAL)
    d = a.data
    assert d["java"] == {"source": "url", "url": "https://cdn.jtel.de/downloads/java/jdk-8u202-linux-x64.rpm",
                         "rpm_path": None}
    assert d["clientmessenger"]["source"] == "/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
    assert d["daemon"]["db_host"] == "acd-dbm" and d["daemon"]["timezone"] == "Europe/Berlin"
    assert d["hazelcast"] == {"layout": "auto", "fix_conflicts": False, "member_address": None,
                              "legacy_paths": {}, "tel_service": "PlatformUDPListener"}
    assert d["whatsapp"]["enabled"] is False
    assert d["whatsapp"]["portal_url"] == "https://jtel-portal:3003"
    assert d["agents"]["max_parallel_chats"] == 3
    assert d["sections"] == {"skip": []}
    assert d["portal"]["version"] is None and d["portal"]["shared_dir"] == "/home/jtel/shared"
    assert list(d) == list(answers.schema()["properties"])      # stable order


def test_derived_defaults_follow_their_source():
    a = loads(MINIMAL.replace("  load_balancer: jtel-portal\n",
                              "  load_balancer: lb.example\n  shared_dir: /srv/jtel/shared/\n"))
    assert a.section("clientmessenger")["source"] == "/srv/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger"
    assert a.section("whatsapp")["portal_url"] == "https://lb.example:3003"


def test_hosts_and_become():
    a = loads(MINIMAL.replace("{address: 10.0.0.10, roles: [DATA]}",
                              "{address: 10.0.0.10, user: admin, port: 2222, key_file: ~/.ssh/k, "
                              "password: 'keyring:ssh/dbm', roles: [DATA, TEL]}"))
    assert a.hosts[0] == HostSpec("chat1", "10.0.0.21", become="root", roles=("CHAT",))
    dbm = a.host("acd-dbm")
    assert dbm == HostSpec("acd-dbm", "10.0.0.10", port=2222, user="admin", key_file="~/.ssh/k",
                           password_ref="ssh/dbm", become="sudo", roles=("DATA", "TEL"))
    assert [h.name for h in a.hosts_with_role("TEL")] == ["acd-dbm"]
    assert a.hosts_with_role("WEB") == []
    with pytest.raises(ValueError):
        a.hosts_with_role("CHATT")
    assert loads(MINIMAL.replace("roles: [CHAT]}", "roles: [CHAT], user: root}")).hosts[0].become == "root"


def test_secret_refs_only_what_the_run_needs():
    text = MINIMAL.replace("{address: 10.0.0.21,", "{address: 10.0.0.21, password: 'keyring:ssh/chat1',")
    text += "whatsapp: {api_key: 'keyring:tyntec/apikey'}\n"
    a = loads(text)
    assert a.secret_refs() == {"inventory.hosts.chat1.password": "keyring:ssh/chat1",
                               "daemon.db_password": "keyring:db/root"}
    assert a.secret_refs(include_unused=True)["whatsapp.api_key"] == "keyring:tyntec/apikey"
    skipped = loads(text.replace("daemon:\n  db_password: keyring:db/root\n", "")
                    + "sections: {skip: [daemon]}\n")
    assert "daemon.db_password" not in skipped.secret_refs()
    assert not skipped.runs("daemon") and skipped.runs("java") and not skipped.runs("whatsapp")


def test_section_is_a_copy():
    a = loads(MINIMAL)
    s = a.section("daemon")
    s["db_host"] = "elsewhere"
    assert a.section("daemon")["db_host"] == "acd-dbm"
    with pytest.raises(KeyError):
        a.section("nope")


def test_line_of():
    a = load(ROOT / "answers" / "centos6-http.yaml")
    text = (ROOT / "answers" / "centos6-http.yaml").read_text().splitlines()
    line = a.line_of("inventory.hosts.chat1.password")
    assert text[line - 1].strip().startswith("password: keyring:ssh/chat1")
    assert a.line_of(("java", "rpm_path")) == a.line_of("java.rpm_path")
    assert text[a.line_of("inventory.hosts.chat1.roles[0]") - 1].strip() == "roles: [CHAT]"
    assert a.line_of("whatsapp.enabled") is None                  # a default, not in the file
    assert Answers.from_data(a.data).line_of("java.rpm_path") is None


def test_keypath_quotes_names_with_dots():
    assert answers.keypath(("inventory", "hosts", "web.example", "address")) == \
        "inventory.hosts['web.example'].address"
    text = MINIMAL.replace("acd-dbm:", "acd-dbm.example:").replace("10.0.0.10, roles", "10.0.0.10, port: x, roles")
    with pytest.raises(AnswersError, match=r"inventory\.hosts\['acd-dbm\.example'\]\.port"):
        loads(text, "d.yaml")
    a = loads(MINIMAL.replace("acd-dbm:", "acd-dbm.example:"))
    assert a.line_of("inventory.hosts['acd-dbm.example'].address") == 5


def test_from_data_validates_without_lines():
    a = loads(MINIMAL)
    assert Answers.from_data(a.data, "ui") == a
    bad = a.data | {"portal": {"scheme": "ftp", "load_balancer": "x"}}
    with pytest.raises(AnswersError) as ei:
        Answers.from_data(bad, "ui")
    assert ei.value.problems == ["ui: portal.scheme: 'ftp' is not one of: https, http"]


def test_with_section_revalidates_and_keeps_derived_defaults_live():
    a = loads(MINIMAL)
    portal = a.section("portal") | {"shared_dir": "/srv/shared"}
    b = a.with_section("portal", portal)
    assert b.source == a.source
    assert b.section("clientmessenger")["source"].startswith("/srv/shared/")
    # a screen hands back its whole section, defaults included: they stay out of the file
    c = b.with_section("clientmessenger", b.section("clientmessenger") | {"owner": "chat"})
    assert "source:" not in c.dump() and "owner: chat" in c.dump()
    d = c.with_section("portal", c.section("portal") | {"shared_dir": "/home/jtel/shared"})
    assert d.section("clientmessenger")["source"].startswith("/home/jtel/shared/")
    with pytest.raises(AnswersError, match="whatsapp.enabled: WhatsApp needs portal.scheme https"):
        a.with_changes(portal=a.section("portal") | {"scheme": "http"},
                       whatsapp={"enabled": True, "api_key": "keyring:k", "phone_number": "+4989123456789"})


def test_dump_has_header_order_and_no_defaults():
    a = loads("daemon: {db_password: 'keyring:db/root'}\n" + MINIMAL.replace(
        "daemon:\n  db_password: keyring:db/root\n", ""))
    text = a.dump()
    assert text.startswith("# chatwizard answers file, format version 1")
    keys = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert keys == ["version", "inventory", "portal", "daemon"]
    assert "roles: [CHAT]" in text


def test_save_is_atomic_and_private(tmp_path):
    a = loads(MINIMAL, str(tmp_path / "site.yaml"))
    (tmp_path / "site.yaml").write_text("old")
    (tmp_path / "site.yaml").chmod(0o644)
    path = a.save()
    assert path == tmp_path / "site.yaml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load(path) == a
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.yaml"]     # no temp file left
    other = a.save(tmp_path / "copy.yaml")
    assert load(other).data == a.data


def test_save_failure_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "site.yaml"
    target.write_text("old\n")
    a = loads(MINIMAL, str(target))

    def boom(*_a, **_k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        a.save()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.yaml"]


def test_core_does_not_import_textual():
    code = "import sys, wizard.answers, wizard.secrets; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
