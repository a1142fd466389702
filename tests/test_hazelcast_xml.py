"""wizard.hazelcast_xml: edits that add only lines, on reference and site files of 3.8-3.12."""
from __future__ import annotations

import difflib
import re
import subprocess
import sys
from collections import Counter
from dataclasses import astuple
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from wizard import hazelcast_xml as hx
from wizard.hazelcast_xml import Conflict, HazelcastError, NS

DATA = Path(__file__).parent / "data" / "hazelcast"

SITE = {   # fixture -> the version its schemaLocation names
    "site-3.8-no-chat.xml": "3.8",
    "site-3.9-windows.xml": "3.9",
    "site-3.10-conflict.xml": "3.10",
    "site-3.11-with-chat.xml": "3.11",
    "site-3.12-prefixed.xml": "3.12",
}
REFERENCE = {
    "hazelcast-default-3.10.4.xml": "3.10",
    "hazelcast-default-3.12-SNAPSHOT.xml": "3.12",
    "hazelcast-full-example-3.10.4.xml": "3.10",
    "hazelcast-full-example-3.8.9.xml": "3.8",
}
# the upstream full examples do not validate against their own XSD, before any edit
INVALID_UPSTREAM = {"hazelcast-full-example-3.10.4.xml", "hazelcast-full-example-3.8.9.xml"}

RINGBUFFER_LINES = ['<ringbuffer name="CHAT">', "<in-memory-format>BINARY</in-memory-format>",
                    "<backup-count>1</backup-count>", "<async-backup-count>0</async-backup-count>",
                    "<time-to-live-seconds>60</time-to-live-seconds>", "<capacity>500</capacity>",
                    "</ringbuffer>"]
MAP_LINES = ['<map name="CHATCOUNTERS">', "<backup-count>0</backup-count>",
             "<async-backup-count>1</async-backup-count>",
             "<time-to-live-seconds>600</time-to-live-seconds>",
             "<eviction-policy>LRU</eviction-policy>",
             '<max-size policy="PER_NODE">5000</max-size>', "</map>"]
CHAT = "10.1.1.20"


def read(name: str) -> str:
    """A fixture exactly as stored: no newline translation, in its declared encoding."""
    raw = (DATA / name).read_bytes()
    return raw.decode("iso-8859-1" if b'encoding="ISO-8859-1"' in raw else "utf-8")


def enabled_tcp_ip(text: str) -> str:
    """The reference files ship with multicast; a cluster the chat server joins uses tcp-ip."""
    return text.replace('<tcp-ip enabled="false">', '<tcp-ip enabled="true">', 1)


def lines(text: str) -> list[str]:
    return [line for line in re.split(r"(?<=\n)", text) if line]


def inserted(old: str, new: str) -> list[str]:
    """The lines new adds to old; fails unless every other byte of old is kept."""
    a, b = lines(old), lines(new)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    assert [op for op in ops if op[0] not in ("equal", "insert")] == [], "not only insertions"
    out = [line for op, _, _, j1, j2 in ops if op == "insert" for line in b[j1:j2]]
    # the same through the unified diff a user sees: only '+' lines
    diff = list(difflib.unified_diff(a, b, n=0))[2:]
    assert not [d for d in diff if d.startswith("-")]
    assert sorted(d[1:] for d in diff if d.startswith("+")) == sorted(out)
    return out


def stripped(added: list[str], prefix: str = "") -> list[str]:
    return [a.strip().replace("<" + prefix, "<").replace("</" + prefix, "</")
            for a in added if a.strip()]


def schema_errors(text: str, version: str) -> Counter:
    try:
        hx.validate(text, version)
    except HazelcastError as e:
        return Counter(message for _, message in e.errors)
    return Counter()


def all_files():
    return [(name, version, read(name)) for name, version in SITE.items()] + [
        (name, version, enabled_tcp_ip(read(name))) for name, version in REFERENCE.items()]


FILES = all_files()
FILE_IDS = [name for name, _, _ in FILES]


# ------------------------------------------------------------------ packaging, layering

def test_xsds_ship_as_package_data():
    shipped = {p.name for p in resources.files("wizard.data.xsd").iterdir()}
    assert {"hazelcast-config-%s.xsd" % v for v in hx.SCHEMA_VERSIONS} <= shipped
    for version in hx.SCHEMA_VERSIONS:   # each loads as a schema
        hx._schema(version)


def test_core_is_headless():
    code = "import sys, wizard.hazelcast_xml; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


# ------------------------------------------------------------------ detect_version, members

@pytest.mark.parametrize("name,version", list(SITE.items()) + list(REFERENCE.items()))
def test_detect_version_of_fixtures(name, version):
    assert hx.detect_version(read(name)) == version


def test_detect_version_others():
    assert hx.detect_version(read("site-3.4-old.xml")) == "3.4"
    bare = '<hazelcast xmlns="%s"><group/></hazelcast>' % NS
    assert hx.detect_version(bare) is None
    commented = '<!-- hazelcast-config-3.9.xsd -->\n' + bare
    assert hx.detect_version(commented) is None
    broken = ('<hazelcast xmlns="%s" xsi:schemaLocation="%s hazelcast-config-3.11.xsd"\n'
              '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><group>' % (NS, NS))
    assert hx.detect_version(broken) == "3.11"   # still found in a file that does not parse


@pytest.mark.parametrize("name,expected", [
    ("site-3.8-no-chat.xml", ["10.1.1.10", "10.1.1.11", "10.1.1.12"]),
    ("site-3.9-windows.xml", ["ACD-DBM", "acd-tel1", "acd-web1"]),
    ("site-3.10-conflict.xml", ["10.2.0.11", "10.2.0.12", "10.2.0.13", "10.2.0.20-29"]),
    ("site-3.11-with-chat.xml", ["10.1.1.10", "10.1.1.11", "10.1.1.12"]),
    ("site-3.12-prefixed.xml", ["10.3.0.10", "10.3.0.11:5701"]),
    ("hazelcast-default-3.10.4.xml", ["127.0.0.1", "127.0.0.1"]),
])
def test_members(name, expected):
    assert hx.members(read(name)) == expected


def test_members_without_tcp_ip():
    assert hx.members('<hazelcast xmlns="%s"><network/></hazelcast>' % NS) == []


# ------------------------------------------------------------------ edit: the whole contract

@pytest.mark.parametrize("name,version,text", FILES, ids=FILE_IDS)
def test_edit_adds_only_lines(name, version, text):
    result = hx.edit(text, [CHAT])
    prefix = "hz:" if "prefixed" in name else ""
    added = stripped(inserted(text, result.text), prefix)
    expected = ["<member>%s</member>" % CHAT]
    if "ringbuffer CHAT" in result.added:
        expected += RINGBUFFER_LINES
    if "map CHATCOUNTERS" in result.added:
        expected += MAP_LINES
    assert sorted(added) == sorted(expected)
    assert result.changed
    assert result.added[0] == "member %s" % CHAT
    assert CHAT in hx.members(result.text)


@pytest.mark.parametrize("name,version,text", FILES, ids=FILE_IDS)
def test_edit_is_idempotent(name, version, text):
    first = hx.edit(text, [CHAT])
    second = hx.edit(first.text, [CHAT])
    assert (second.changed, second.added, second.text) == (False, (), first.text)
    # the same conflicts, lines moved by the added lines
    assert [c[:4] for c in map(astuple, second.conflicts)] == [
        c[:4] for c in map(astuple, first.conflicts)]


@pytest.mark.parametrize("name,version,text", FILES, ids=FILE_IDS)
def test_result_validates_against_its_version(name, version, text):
    for fix in (False, True):
        result = hx.edit(text, [CHAT, "acd-chat2"], fix_conflicts=fix)
        if name in INVALID_UPSTREAM:   # nothing new is wrong
            assert schema_errors(result.text, version) == schema_errors(text, version) != Counter()
        else:
            hx.validate(text, version)
            hx.validate(result.text, version)


@pytest.mark.parametrize("name,version,text", FILES, ids=FILE_IDS)
def test_chat_entries_have_the_procedures_values(name, version, text):
    root = etree.fromstring(hx.edit(text, [CHAT], fix_conflicts=True).text.encode(),
                            etree.XMLParser(encoding="utf-8"))
    q = lambda local: "{%s}%s" % (NS, local)  # noqa: E731
    rb = [e for e in root.iterchildren(q("ringbuffer")) if e.get("name") == "CHAT"]
    mp = [e for e in root.iterchildren(q("map")) if e.get("name") == "CHATCOUNTERS"]
    assert len(rb) == len(mp) == 1
    got = {etree.QName(c).localname: c.text.strip() for c in rb[0].iterchildren(tag=etree.Element)}
    assert got.get("capacity") == "500" and got.get("time-to-live-seconds") == "60"
    assert got.get("backup-count") == "1" and got.get("async-backup-count", "0") == "0"
    assert got.get("in-memory-format", "BINARY") == "BINARY"
    got = {etree.QName(c).localname: c for c in mp[0].iterchildren(tag=etree.Element)}
    assert {k: got[k].text for k in ("backup-count", "async-backup-count", "time-to-live-seconds",
                                      "eviction-policy", "max-size")} == {
        "backup-count": "0", "async-backup-count": "1", "time-to-live-seconds": "600",
        "eviction-policy": "LRU", "max-size": "5000"}
    assert got["max-size"].get("policy") == "PER_NODE"


# ------------------------------------------------------------------ shape of the file

def test_crlf_file_keeps_crlf_declaration_comments_and_missing_final_newline():
    text = read("site-3.9-windows.xml")
    assert not text.endswith("\n") and text.count("\n") == text.count("\r\n")
    result = hx.edit(text, [CHAT])
    new = result.text
    assert new.count("\n") == new.count("\r\n")          # no bare LF slipped in
    assert new.endswith("</hazelcast>")                   # still no final newline
    assert new.startswith('<?xml version="1.0" encoding="ISO-8859-1"?>\r\n')
    assert "Übersicht: Wiki » Cluster" in new
    new.encode("iso-8859-1")
    inserted(text, new)


def test_indentation_copied_from_siblings_tabs_and_spaces():
    text = read("site-3.9-windows.xml")
    new_lines = inserted(text, hx.edit(text, [CHAT]).text)
    # members: exactly like the sibling <member> lines ("\t" + 8 spaces)
    assert "\t        <member>%s</member>\r\n" % CHAT in new_lines
    # the map goes after the existing map, which is indented with 4 spaces
    assert '    <map name="CHATCOUNTERS">\r\n' in new_lines
    assert "        <backup-count>0</backup-count>\r\n" in new_lines
    # the ringbuffer goes last, indented like the first top-level element (tabs)
    assert '\t<ringbuffer name="CHAT">\r\n' in new_lines
    assert "\t\t<capacity>500</capacity>\r\n" in new_lines


@pytest.mark.parametrize("name,indent", [("site-3.10-conflict.xml", "\t\t\t\t"),
                                         ("site-3.12-prefixed.xml", "          "),
                                         ("site-3.11-with-chat.xml", " " * 16)])
def test_member_indentation(name, indent):
    text = read(name)
    new_lines = inserted(text, hx.edit(text, [CHAT]).text)
    p = "hz:" if "prefixed" in name else ""
    assert "%s<%smember>%s</%smember>\n" % (indent, p, CHAT, p) in new_lines


def test_prefixed_namespace_and_two_space_indent():
    text = read("site-3.12-prefixed.xml")
    new_lines = inserted(text, hx.edit(text, [CHAT]).text)
    assert '  <hz:map name="CHATCOUNTERS">\n' in new_lines
    assert '    <hz:max-size policy="PER_NODE">5000</hz:max-size>\n' in new_lines


def test_single_quoted_file_gets_single_quotes():
    text = read("site-3.10-conflict.xml").replace(
        "\t<map name='CHATCOUNTERS'>", "\t<map name='OTHER'>")
    new_lines = inserted(text, hx.edit(text, []).text)
    assert "\t<map name='CHATCOUNTERS'>\n" in new_lines
    assert "\t\t<max-size policy='PER_NODE'>5000</max-size>\n" in new_lines


def test_new_entries_follow_the_last_of_their_kind():
    text = read("hazelcast-default-3.10.4.xml")
    new = hx.edit(text, []).text
    old_lines, new_lines = lines(text), lines(new)
    last_map_end = max(i for i, l in enumerate(old_lines) if l.strip() == "</map>")
    at = new_lines.index('    <map name="CHATCOUNTERS">\n')
    # after the old map's end and the blank line that separates top-level elements
    assert new_lines[:at - 1] == old_lines[:last_map_end + 1] and new_lines[at - 1] == "\n"
    last_rb_end = max(i for i, l in enumerate(old_lines) if l.strip() == "</ringbuffer>")
    rb_at = new_lines.index('    <ringbuffer name="CHAT">\n')
    assert new_lines[rb_at - 2].strip() == "</ringbuffer>"
    assert old_lines[last_rb_end + 1].strip() == ""


def test_without_existing_entries_they_go_before_the_end_tag():
    text = read("site-3.8-no-chat.xml")
    new_lines = lines(hx.edit(text, [CHAT]).text)
    assert new_lines[-1] == "</hazelcast>\n"
    assert new_lines[-2].strip() == "</map>" and new_lines[-9].strip() == "</ringbuffer>"
    assert new_lines[-16].strip() == "</topic>"


def test_bom_is_kept():
    text = "\ufeff" + read("site-3.8-no-chat.xml")
    new = hx.edit(text, [CHAT]).text
    assert new.startswith("\ufeff<?xml")
    inserted(text, new)


# ------------------------------------------------------------------ members

@pytest.mark.parametrize("name,present", [
    ("site-3.9-windows.xml", ["acd-dbm", "ACD-TEL1", "Acd-Web1"]),       # any case
    ("site-3.10-conflict.xml", ["10.2.0.12", "10.2.0.13", "10.2.0.25"]),  # <members> list, range
    ("site-3.11-with-chat.xml", ["10.1.1.10", "10.1.1.12"]),             # <members> list
    ("site-3.12-prefixed.xml", ["10.3.0.10", "10.3.0.11", "10.3.0.11:5701"]),  # member-list
    ("hazelcast-full-example-3.10.4.xml", ["127.0.0.1"]),                # <interface>
])
def test_members_already_present_add_nothing(name, present):
    text = read(name)
    text = enabled_tcp_ip(text)
    before = hx.edit(text, [])
    result = hx.edit(before.text, present)
    assert (result.changed, result.added, result.text) == (False, (), before.text)


def test_member_matching_rules():
    assert hx._covers("10.0.0.*", "10.0.0.77")
    assert hx._covers("10.0.0.5-9", "10.0.0.9") and not hx._covers("10.0.0.5-9", "10.0.0.10")
    assert not hx._covers("10.0.1.*", "10.0.0.7")
    assert hx._covers("Host-A:5701", "host-a") and hx._covers("host-a:5701", "HOST-A:5701")
    assert not hx._covers("host-a", "host-a:5702") and not hx._covers("host-a:5701", "host-a:5702")
    assert hx._covers("[FE80::1]:5701", "[fe80::1]") and hx._covers("fe80::1", "FE80::1")


def test_members_added_in_order_once_each():
    text = read("site-3.8-no-chat.xml")
    result = hx.edit(text, ["10.0.0.9", " 10.0.0.8", "10.0.0.9", "10.1.1.11", "ACD-CHAT"])
    assert result.added[:3] == ("member 10.0.0.9", "member 10.0.0.8", "member ACD-CHAT")
    assert hx.members(result.text)[-3:] == ["10.0.0.9", "10.0.0.8", "ACD-CHAT"]


@pytest.mark.parametrize("bad", ["", "  ", "10.0.0.1,10.0.0.2", "a b", "<x>", "a&b", None, 5])
def test_bad_member_addresses(bad):
    with pytest.raises(HazelcastError):
        hx.edit(read("site-3.8-no-chat.xml"), [bad])


def test_members_must_be_a_list():
    with pytest.raises(TypeError):
        hx.edit(read("site-3.8-no-chat.xml"), "10.0.0.5")


def test_no_members_needs_no_tcp_ip():
    text = read("hazelcast-default-3.10.4.xml")   # multicast
    result = hx.edit(text, [])
    assert result.added == ("ringbuffer CHAT", "map CHATCOUNTERS")
    hx.validate(result.text, "3.10")


# ------------------------------------------------------------------ odd shapes

def wrap(body: str, version: str = "3.10") -> str:
    return ('<hazelcast xmlns="%s"\n'
            '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
            '    xsi:schemaLocation="%s hazelcast-config-%s.xsd">\n%s</hazelcast>\n'
            % (NS, NS, version, body))


@pytest.mark.parametrize("body", [
    '  <network>\n    <join>\n      <tcp-ip enabled="true"/>\n    </join>\n  </network>\n',
    '  <network>\n    <join>\n      <tcp-ip enabled="true" />\n    </join>\n  </network>\n',
    '  <network>\n    <join>\n      <tcp-ip enabled="true"></tcp-ip>\n    </join>\n  </network>\n',
    '  <network>\n    <join>\n      <tcp-ip enabled="true">\n      </tcp-ip>\n'
    '    </join>\n  </network>\n',
    '  <network><join><tcp-ip enabled="true"><member>a</member></tcp-ip></join></network>\n',
    '  <network><join><tcp-ip enabled="true"><member>a</member></tcp-ip></join></network>'
    '<map name="x"/>',
    '  <network>\n    <join>\n      <tcp-ip enabled="true">\n'
    '        <member>a</member> <!-- first --> <!-- node -->\n'
    '      </tcp-ip>\n    </join>\n  </network>\n'
    '  <ringbuffer name="CHAT"/>\n  <map name="CHATCOUNTERS"></map>\n',
])
def test_odd_shapes_stay_valid_and_idempotent(body):
    text = wrap(body)
    for fix in (False, True):
        result = hx.edit(text, [CHAT], fix_conflicts=fix)
        hx.validate(result.text, "3.10")
        assert CHAT in hx.members(result.text)
        again = hx.edit(result.text, [CHAT], fix_conflicts=fix)
        assert (again.changed, again.text) == (False, result.text)


def test_one_line_document():
    text = ('<hazelcast xmlns="%s"><network><join><tcp-ip enabled="true">'
            '<member>a</member></tcp-ip></join></network></hazelcast>' % NS)
    result = hx.edit(text, [CHAT])
    assert hx.members(result.text) == ["a", CHAT]
    hx.validate(result.text, "3.12")
    assert not result.text.endswith("\n")


def test_wildcard_map_config_is_not_the_chat_map():
    text = read("site-3.8-no-chat.xml").replace(
        "    <topic", '    <map name="CHAT*">\n        <backup-count>2</backup-count>\n'
        '    </map>\n    <topic', 1)
    result = hx.edit(text, [])
    assert "map CHATCOUNTERS" in result.added and result.conflicts == ()


# ------------------------------------------------------------------ conflicts

def test_conflicts_are_reported_and_nothing_else_changes():
    text = read("site-3.10-conflict.xml")
    result = hx.edit(text, [CHAT])
    assert result.conflicts == (
        Conflict("/hazelcast/ringbuffer[@name='CHAT']/time-to-live-seconds",
                 "time-to-live-seconds", "60", "(absent, default 0)", 26),
        Conflict("/hazelcast/map[@name='CHATCOUNTERS']/backup-count", "backup-count", "0", "1", 20),
        Conflict("/hazelcast/map[@name='CHATCOUNTERS']/max-size", "max-size", "5000", "1000", 24),
        Conflict("/hazelcast/map[@name='CHATCOUNTERS']/max-size/@policy", "max-size/@policy",
                 "PER_NODE", "PER_PARTITION", 24),
    )
    assert result.added == ("member %s" % CHAT,)
    assert stripped(inserted(text, result.text)) == ["<member>%s</member>" % CHAT]


def test_fix_conflicts_rewrites_only_those_lines():
    text = read("site-3.10-conflict.xml")
    result = hx.edit(text, [], fix_conflicts=True)
    assert len(result.conflicts) == 4 and result.added == () and result.changed
    diff = list(difflib.unified_diff(lines(text), lines(result.text), n=0))[2:]
    assert sorted(d for d in diff if d[0] in "+-") == sorted([
        "-\t\t<backup-count>1</backup-count>\n", "+\t\t<backup-count>0</backup-count>\n",
        "-\t\t<max-size policy='PER_PARTITION'>1000</max-size>\n",
        "+\t\t<max-size policy='PER_NODE'>5000</max-size>\n",
        "+\t\t<time-to-live-seconds>60</time-to-live-seconds>\n"])
    hx.validate(result.text, "3.10")
    again = hx.edit(result.text, [])
    assert (again.changed, again.conflicts) == (False, ())


def test_defaults_count_for_absent_settings():
    # absent in-memory-format/backup-count/async-backup-count: their defaults are the
    # procedure's values; absent capacity/ttl are not
    body = ('  <ringbuffer name="CHAT">\n    <capacity>500</capacity>\n'
            '    <time-to-live-seconds> 60 </time-to-live-seconds>\n  </ringbuffer>\n')
    result = hx.edit(wrap(body), [])
    assert [c for c in result.conflicts if "ringbuffer" in c.path] == []
    result = hx.edit(wrap('  <ringbuffer name="CHAT"/>\n'), [])
    assert {c.element for c in result.conflicts if "ringbuffer" in c.path} == {
        "capacity", "time-to-live-seconds"}


def test_case_insensitive_policy_is_no_conflict():
    text = read("site-3.11-with-chat.xml").replace('policy="PER_NODE">5000',
                                                   'policy="per_node">5000')
    assert hx.edit(text, []).conflicts == ()


# ------------------------------------------------------------------ errors

def error(text: str, members=(CHAT,), source="hazelcast.xml") -> HazelcastError:
    with pytest.raises(HazelcastError) as info:
        hx.edit(text, list(members), source=source)
    return info.value


def test_malformed_xml_names_source_and_line():
    text = read("site-3.8-no-chat.xml").replace("</executor-service>", "</executor>")
    e = error(text, source="/home/jtel/shared/hazelcast.xml")
    assert e.line == 28 and "not well-formed" in e.reason
    assert str(e).startswith("/home/jtel/shared/hazelcast.xml:28: ")


@pytest.mark.parametrize("text,line,words", [
    ("<hazelcast>\n<group/></hazelcast>", 1, "without a namespace"),
    ('<?xml version="1.0"?>\n<hazelcast xmlns="http://www.hazelcast.com/schema/config/">'
     "</hazelcast>", 2, "in namespace http://www.hazelcast.com/schema/config/"),
    ('<hazelcast-client xmlns="%s"/>' % NS, 1, "<hazelcast-client>"),
    ("", 1, "well-formed"),
])
def test_wrong_root_or_namespace(text, line, words):
    e = error(text)
    assert e.line == line and words in e.reason


def test_tcp_ip_absent_is_refused():
    e = error(wrap('  <network>\n    <join>\n      <multicast enabled="true"/>\n    </join>\n'
                   '  </network>\n'))
    assert e.line == 5 and "multicast" in e.reason and "will not guess" in e.reason
    e = error(wrap('  <import resource="cluster-network.xml"/>\n  <group/>\n'))
    assert e.line == 1 and "cluster-network.xml" in e.reason


@pytest.mark.parametrize("attrs", ['enabled="false"', "", 'enabled="1"'])
def test_tcp_ip_disabled_is_refused(attrs):
    e = error(wrap('  <network>\n    <join>\n      <tcp-ip %s>\n        <member>a</member>\n'
                   '      </tcp-ip>\n    </join>\n  </network>\n' % attrs))
    assert e.line == 6 and "not enabled" in e.reason and "multicast" in e.reason


def test_reference_defaults_are_multicast():
    e = error(read("hazelcast-default-3.10.4.xml"))
    assert e.line == 48


def test_hazelcast_before_3_5_has_no_ringbuffer():
    e = error(read("site-3.4-old.xml"))
    assert e.line == 2 and "3.5" in e.reason
    assert "3.4" in str(e)


def test_hazelcast_4_is_refused():
    e = error(wrap('  <group/>\n', version="4.0"))
    assert "3.x" in e.reason


def test_unmatched_entity_is_refused_rather_than_guessed():
    text = ('<!DOCTYPE hazelcast [<!ENTITY m "<member>x</member>">]>\n'
            + wrap('  <network><join><tcp-ip enabled="true">&m;</tcp-ip></join></network>\n'))
    e = error(text)
    assert e.line == 5 and "entities" in e.reason


# ------------------------------------------------------------------ validate

@pytest.mark.parametrize("version,key", [("3.10", "3.10"), ("3.10.4", "3.10"),
                                         ("3.12-SNAPSHOT", "3.12"), ("3.8.9", "3.8"),
                                         (" 3.11.2 ", "3.11")])
def test_validate_accepts_known_versions(version, key):
    hx.validate(read("site-3.12-prefixed.xml").replace(
        "hazelcast-config-3.12.xsd", "hazelcast-config-%s.xsd" % key), version)


@pytest.mark.parametrize("version", ["3.4", "3.7", "3.13", "4.0", "2.6", "", "latest"])
def test_validate_refuses_unknown_versions(version):
    with pytest.raises(HazelcastError, match="no schema"):
        hx.validate(read("site-3.8-no-chat.xml"), version)


def test_validate_reports_line_and_all_errors():
    text = read("site-3.8-no-chat.xml").replace(
        "<pool-size>16</pool-size>", "<pool-size>sixteen</pool-size>").replace(
        "<queue-capacity>0</queue-capacity>", "<queue-capacity>0</queue-capacity><bogus/>")
    with pytest.raises(HazelcastError) as info:
        hx.validate(text, "3.8", source="node1:hazelcast.xml")
    e = info.value
    assert e.line == 26 and str(e).startswith("node1:hazelcast.xml:26: not valid for Hazelcast 3.8")
    assert len(e.errors) == 2 and "(and 1 more)" in e.reason
    assert "{http" not in e.reason


def test_random_eviction_exists_from_3_9():
    text = read("site-3.11-with-chat.xml").replace(
        "<eviction-policy>NONE</eviction-policy>", "<eviction-policy>RANDOM</eviction-policy>")
    hx.validate(text, "3.9")
    with pytest.raises(HazelcastError, match="RANDOM"):
        hx.validate(text, "3.8")


def test_added_entries_are_valid_in_every_schema():
    text = read("site-3.8-no-chat.xml")
    result = hx.edit(text, [CHAT])
    for version in hx.SCHEMA_VERSIONS:
        hx.validate(result.text, version)


# ------------------------------------------------------------------ generated files

host = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
ipv4 = st.ip_addresses(v=4).map(str)
address = st.one_of(host, ipv4)


def recase(draw, a: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in a)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), unit=st.sampled_from(["\t", "  ", "    ", "   "]),
       eol=st.sampled_from(["\n", "\r\n"]), final_eol=st.booleans(),
       existing=st.lists(address, min_size=1, max_size=4, unique_by=str.lower),
       new=st.lists(address, max_size=4), with_map=st.booleans(), with_chat=st.booleans(),
       version=st.sampled_from(hx.SCHEMA_VERSIONS))
def test_generated_site_files(data, unit, eol, final_eol, existing, new, with_map, with_chat,
                              version):
    u = unit
    src = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<hazelcast xmlns="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' % NS,
           u + 'xsi:schemaLocation="%s hazelcast-config-%s.xsd">' % (NS, version),
           u + "<!-- generated -->", u + "<network>", u * 2 + "<join>",
           u * 3 + '<multicast enabled="false"/>', u * 3 + '<tcp-ip enabled="true">']
    src += [u * 4 + "<member>%s</member>" % m for m in existing]
    src += [u * 3 + "</tcp-ip>", u * 2 + "</join>", u + "</network>"]
    if with_map:
        src += [u + '<map name="default">', u * 2 + "<backup-count>1</backup-count>", u + "</map>"]
    if with_chat:
        src += [u + '<ringbuffer name="CHAT">', u * 2 + "<capacity>500</capacity>",
                u * 2 + "<time-to-live-seconds>60</time-to-live-seconds>", u + "</ringbuffer>"]
    src.append("</hazelcast>")
    text = eol.join(src) + (eol if final_eol else "")
    again = [recase(data.draw, m) for m in data.draw(st.lists(st.sampled_from(existing)))]
    wanted = data.draw(st.permutations(new + again))

    result = hx.edit(text, wanted)
    expected = []
    for w in wanted:
        if not any(w.lower() == x.lower() for x in existing + expected):
            expected.append(w)
    assert [a for a in result.added if a.startswith("member ")] == ["member " + m for m in expected]
    added = inserted(text, result.text)
    assert all(a.endswith(eol) and "\n" not in a[:-1] for a in added)
    assert [a for a in added if "<member>" in a] == [
        u * 4 + "<member>%s</member>%s" % (m, eol) for m in expected]
    for a in added:
        if a.strip().startswith(("<map", "<ringbuffer", "</map", "</ringbuffer")):
            assert a.startswith(u) and not a.startswith(u * 2)
        elif a.strip() and "<member>" not in a:
            assert a.startswith(u * 2) and not a.startswith(u * 3)
    assert result.text.endswith(eol) == final_eol
    assert hx.members(result.text) == existing + expected
    hx.validate(result.text, version)
    second = hx.edit(result.text, wanted)
    assert (second.changed, second.text) == (False, result.text)


# ------------------------------------------------------------------ every finding at once

BAD = Path(__file__).parent / "data" / "bad" / "hazelcast"


def all_at_once_text() -> str:
    """A file with every kind of finding: tcp-ip disabled (line 29), the CHAT ringbuffer with
    another capacity, and an element its XSD rejects (line 63, time-to-live-second)."""
    text = (BAD / "invalid_for_xsd.xml").read_text()
    assert '<tcp-ip enabled="true">' in text and "    <serialization>" in text
    return (text.replace('<tcp-ip enabled="true">', '<tcp-ip enabled="false">')
                .replace("    <serialization>", '    <ringbuffer name="CHAT">\n        <capacity>100</capacity>\n'
                         "    </ringbuffer>\n    <serialization>"))


def test_review_lists_every_finding_in_line_order():
    text = all_at_once_text()
    found = hx.review(text, ["10.0.0.21"], source="hz.xml")
    assert [(f.line, f.refuses) for f in found] == sorted((f.line, f.refuses) for f in found)
    msgs = {f.message: f for f in found}
    tcp = next(f for f in found if f.message.startswith('<tcp-ip enabled="false"> is not enabled'))
    assert tcp.refuses and tcp.line == 29
    cap = msgs["/hazelcast/ringbuffer[@name='CHAT']/capacity is 100, the procedure wants 500"]
    assert not cap.refuses and cap.line is not None
    xsd = [f for f in found if f.message.startswith("not valid for Hazelcast 3.10: ")]
    assert xsd and all(f.refuses for f in xsd) and xsd[0].line == 63
    with pytest.raises(HazelcastError, match=r'^hz\.xml:29: <tcp-ip enabled="false">'):
        hx.edit(text, ["10.0.0.21"], source="hz.xml")     # edit still refuses at the first one


def test_review_of_a_good_file_and_an_unreadable_one():
    good = (BAD / "invalid_for_xsd.xml").read_text().replace(
        "        <time-to-live-second>3600</time-to-live-second>\n", "")
    assert hx.review(good, ["10.0.0.21"]) == []
    (only,) = hx.review("<hazelcast", ["10.0.0.21"])
    assert only.refuses and only.message.startswith("not well-formed XML")
