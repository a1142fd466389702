"""Editing hazelcast.xml for the CHAT role (procedure section 3), without a UI.

Text in, text out. lxml parses and locates; the new lines are spliced into the original
text, so every other byte (comments, order, indentation, quoting, XML declaration, line
endings, trailing newline) stays as it was and the diff a user sees holds only the lines
that were added. The only I/O is reading the XSDs shipped in ``wizard/data/xsd``.
"""
from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

from lxml import etree
from .i18n import _

__all__ = ["Conflict", "Finding", "HazelcastEdit", "HazelcastError", "detect_version", "edit",
           "review", "validate", "members", "NS", "SCHEMA_VERSIONS", "RINGBUFFER", "MAP"]

NS = "http://www.hazelcast.com/schema/config"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_VERSIONS = ("3.8", "3.9", "3.10", "3.11", "3.12")   # XSDs in wizard/data/xsd

# (child, value the procedure wants, value Hazelcast uses when the child is absent)
RINGBUFFER = ("CHAT", (("in-memory-format", "BINARY", "BINARY"), ("backup-count", "1", "1"),
                       ("async-backup-count", "0", "0"), ("time-to-live-seconds", "60", "0"),
                       ("capacity", "500", "10000")))
MAP = ("CHATCOUNTERS", (("backup-count", "0", "1"), ("async-backup-count", "1", "0"),
                        ("time-to-live-seconds", "600", "0"), ("eviction-policy", "LRU", "NONE"),
                        ("max-size", "5000", "0")))
_MAX_SIZE_POLICY = "PER_NODE"          # also the XSD default of max-size/@policy
_NUMERIC = {"backup-count", "async-backup-count", "time-to-live-seconds", "capacity", "max-size"}
_MEMBER_TAGS = ("member", "members", "interface")   # all three are members in Hazelcast 3.x

_XSD_NAME = re.compile(r"hazelcast-config-(\d+\.\d+(?:\.\d+)?)(?:-SNAPSHOT)?\.xsd", re.I)
_ADDRESS = re.compile(r"[A-Za-z0-9._\-:\[\]%]+\Z")
_TOKEN = re.compile(r"""
    <!--.*?-->
  | <!\[CDATA\[.*?\]\]>
  | <\?.*?\?>
  | <!DOCTYPE(?:[^\[>]|\[.*?\])*>
  | </(?P<end>[^\s>]+)\s*>
  | <(?P<start>[^\s/>]+)(?P<attrs>(?:\s+[^\s=]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(?P<empty>/?)>
""", re.S | re.X)
_TRAILING_COMMENTS = re.compile(r"(?:\s|<!--.*?-->)*", re.S)


class HazelcastError(ValueError):
    """hazelcast.xml (or the request) cannot be handled; names the file and the line."""

    def __init__(self, reason: str, *, source: str = "hazelcast.xml", line: int | None = None,
                 errors: tuple[tuple[int, str], ...] = (), head: str | None = None):
        self.reason = reason
        self.head = head or reason    # the first finding alone (without "(and N more)")
        self.source = source
        self.line = line          # 1-based line in source, None when not about one line
        self.errors = errors      # every (line, message) of a schema validation
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else "%s:%d" % (self.source, self.line)
        return "%s: %s" % (where, self.reason)


@dataclass(frozen=True)
class Conflict:
    """An existing CHAT entry whose value differs from the procedure's."""
    path: str          # e.g. "/hazelcast/map[@name='CHATCOUNTERS']/max-size"
    element: str       # "max-size", or "max-size/@policy" for the attribute
    expected: str
    found: str         # the value in the file, or "(absent, default N)"
    line: int | None = None


@dataclass(frozen=True)
class HazelcastEdit:
    """The edited text and what changed; conflicts are listed whether fixed or not."""
    text: str                 # new content, same line endings as the input
    changed: bool
    added: tuple[str, ...]    # "member 10.0.0.5", "ringbuffer CHAT", "map CHATCOUNTERS"
    conflicts: tuple[Conflict, ...]


# ---------------------------------------------------------------- public functions

def detect_version(text: str) -> str | None:
    """The version named by xsi:schemaLocation ("hazelcast-config-3.10.xsd" -> "3.10")."""
    try:
        root = _parse(text, "hazelcast.xml")
    except HazelcastError:
        m = _XSD_NAME.search(re.sub(r"<!--.*?-->", "", text, flags=re.S))
        return m.group(1) if m else None
    return _root_version(root)


def members(text: str) -> list[str]:
    """Addresses listed in network/join/tcp-ip, in file order (enabled or not)."""
    tcp = _find_path(_parse(text, "hazelcast.xml"), "network", "join", "tcp-ip")
    return [] if tcp is None else [a for _, a in _listed_members(tcp)]


def validate(text: str, version: str, *, source: str = "hazelcast.xml") -> None:
    """Raise HazelcastError unless text is valid for the XSD of that Hazelcast version."""
    key = _schema_key(version, source)
    root = _parse(text, source)
    schema, lock = _schema(key)
    with lock:   # an XMLSchema keeps its error log on itself
        ok = schema.validate(root.getroottree())
        log = [(e.line, e.message.replace("{%s}" % NS, "")) for e in schema.error_log]
    if not ok:
        line, message = log[0]
        head = _("not valid for Hazelcast {version}: {message}").format(version=key, message=message)
        more = _(" (and {n} more)").format(n=len(log) - 1) if len(log) > 1 else ""
        raise HazelcastError(head + more, source=source, line=line, errors=tuple(log), head=head)


def edit(text: str, members: Sequence[str], *, fix_conflicts: bool = False,
         source: str = "hazelcast.xml") -> HazelcastEdit:
    """Ensure members in tcp-ip, the CHAT ringbuffer and the CHATCOUNTERS map.

    Only missing things are added; an existing CHAT entry with other values is reported
    as a Conflict and rewritten only with fix_conflicts. An empty members list skips the
    tcp-ip part. A member counts as present when the same host (any case) is listed with
    the same port, or without a port when none is asked, or inside a last-octet range
    ("10.0.0.1-9", "10.0.0.*"); host names are not resolved.
    """
    if isinstance(members, str):
        raise TypeError("members must be a sequence of addresses, not one string")
    wanted = _clean_members(members, source)
    result = _edit(text, wanted, fix_conflicts, source)
    if result.changed:   # the spliced text must parse and need nothing more
        try:
            again = _edit(result.text, wanted, fix_conflicts, source)
        except HazelcastError as e:
            raise HazelcastError(_("internal error, the edited text is broken: {reason}").format(
                reason=e.reason), source=source, line=e.line) from e
        if again.changed or (fix_conflicts and again.conflicts):
            raise HazelcastError(_("internal error, the edit is incomplete: {what}").format(
                what=", ".join(again.added or tuple(c.path for c in again.conflicts))), source=source)
    return result


def _edit(text: str, wanted: list[str], fix_conflicts: bool, source: str) -> HazelcastEdit:
    doc = _Doc(text, source)
    _check_version(doc)
    added: list[str] = []
    conflicts: list[Conflict] = []
    if wanted:
        added += doc.add_members(wanted)
    for kind, (name, settings) in (("ringbuffer", RINGBUFFER), ("map", MAP)):
        found = [el for el in doc.root.iterchildren(_q(kind)) if el.get("name") == name]
        if not found:
            doc.add_top_level(kind, name, settings)
            added.append("%s %s" % (kind, name))
        for el in found:
            conflicts += doc.compare(el, kind, name, settings, fix=fix_conflicts)
    new_text = doc.apply()
    return HazelcastEdit(new_text, new_text != text, tuple(added), tuple(conflicts))


@dataclass(frozen=True)
class Finding:
    """One thing found in a hazelcast.xml: refuses=True when the wizard will not edit it."""
    line: int | None
    message: str
    refuses: bool


def review(text: str, members: Sequence[str], *, source: str = "hazelcast.xml") -> list[Finding]:
    """Every finding in the file at once, in line order: a version without <ringbuffer>, a
    missing or disabled tcp-ip join, CHAT entries with other values, and every problem its
    own version's XSD reports. An unreadable file gives its one parse error."""
    try:
        doc = _Doc(text, source)
    except HazelcastError as e:
        return [Finding(e.line, e.reason, True)]
    doc.collect = []
    _check_version(doc)
    wanted = _clean_members(members, source)
    if wanted:
        doc.add_members(wanted)
    out = [Finding(e.line, e.reason, True) for e in doc.collect]
    for kind, (name, settings) in (("ringbuffer", RINGBUFFER), ("map", MAP)):
        for el in doc.root.iterchildren(_q(kind)):
            if el.get("name") == name:
                out += [Finding(c.line, _("{setting} is {found}, the procedure wants {expected}").format(
                                    setting=c.path, found=c.found, expected=c.expected), False)
                        for c in doc.compare(el, kind, name, settings, fix=False)]
    version = _root_version(doc.root)
    vt = _version_tuple(version or "")
    key = "%d.%d" % vt if vt else None
    if key in SCHEMA_VERSIONS:
        try:
            validate(text, key, source=source)
        except HazelcastError as e:
            out += [Finding(line, _("not valid for Hazelcast {version}: {message}").format(
                        version=key, message=message), True) for line, message in e.errors]
    return sorted(out, key=lambda f: (f.line or 0))


# ---------------------------------------------------------------- parsing and versions

def _q(local: str) -> str:
    return "{%s}%s" % (NS, local)


def _parse(text: str, source: str) -> etree._Element:
    if not isinstance(text, str):
        raise TypeError("text must be str, not %s" % type(text).__name__)
    # the declared encoding is overridden: text is already decoded
    parser = etree.XMLParser(encoding="utf-8", resolve_entities=False, no_network=True,
                             load_dtd=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except UnicodeEncodeError as e:
        raise HazelcastError(_("not text: {reason}").format(reason=e.reason), source=source) from None
    except etree.XMLSyntaxError as e:
        raise HazelcastError(_("not well-formed XML: {error}").format(error=e.msg), source=source,
                             line=e.lineno) from None
    if root is None:
        raise HazelcastError(_("empty document"), source=source)
    qn = etree.QName(root)
    if qn.localname != "hazelcast" or qn.namespace != NS:
        got = (_("<{name}> in namespace {namespace}") if qn.namespace else
               _("<{name}> without a namespace")).format(name=qn.localname, namespace=qn.namespace)
        # libxml2's sourceline is where a start tag ends; say where it begins
        first = next((m.start() for m in _TOKEN.finditer(text) if m.group("start")), None)
        raise HazelcastError(_('the root element is {got}; expected <hazelcast xmlns="{ns}">').format(
                             got=got, ns=NS), source=source, line=root.sourceline if first is None
                             else text.count("\n", 0, first) + 1)
    return root


def _root_version(root: etree._Element) -> str | None:
    loc = (root.get("{%s}schemaLocation" % _XSI) or "") + " " + (
        root.get("{%s}noNamespaceSchemaLocation" % _XSI) or "")
    m = _XSD_NAME.search(loc)
    return m.group(1) if m else None


def _version_tuple(version: str) -> tuple[int, int] | None:
    m = re.match(r"\s*(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _check_version(doc: _Doc) -> None:
    version = _root_version(doc.root)
    vt = _version_tuple(version) if version else None
    if vt is None:
        return
    if vt < (3, 5):
        doc.fail(_("the file is for Hazelcast {version}; <ringbuffer>, which the chat server needs, "
                   "exists only from 3.5: upgrade the cluster first").format(version=version), doc.root)
        return
    if vt[0] != 3:
        doc.fail(_("the file is for Hazelcast {version}; only the 3.x format is supported (4.x "
                   "configures map eviction differently)").format(version=version), doc.root)


def _schema_key(version: str, source: str) -> str:
    vt = _version_tuple(version or "")
    key = "%d.%d" % vt if vt else None
    if key not in SCHEMA_VERSIONS:
        raise HazelcastError(_("no schema for Hazelcast {version}: known are {known}").format(
            version=repr(version), known=", ".join(SCHEMA_VERSIONS)), source=source)
    return key


@lru_cache(maxsize=None)
def _schema(key: str) -> tuple[etree.XMLSchema, threading.Lock]:
    data = resources.files("wizard.data.xsd").joinpath(
        "hazelcast-config-%s.xsd" % key).read_bytes()
    return etree.XMLSchema(etree.fromstring(data)), threading.Lock()


# ---------------------------------------------------------------- members

def _clean_members(requested: Sequence[str], source: str) -> list[str]:
    out: list[str] = []
    for raw in requested:
        address = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(address, str) or not _ADDRESS.match(address):
            raise HazelcastError(_("{address} is not a member address (host, IP or host:port)").format(
                address=repr(raw)), source=source)
        if not any(_covers(a, address) and _covers(address, a) for a in out):
            out.append(address)
    return out


def _listed_members(tcp: etree._Element) -> list[tuple[etree._Element, str]]:
    """(element, address) for <member>, <members>a,b</members>, <interface>, member-list."""
    found = []
    for el in tcp.iterchildren(tag=etree.Element):
        local = etree.QName(el).localname
        if local == "member-list":
            children = [c for c in el.iterchildren(_q("member"))]
        elif local in _MEMBER_TAGS:
            children = [el]
        else:
            continue
        for c in children:
            # Hazelcast splits every member text on commas
            found += [(c, part.strip()) for part in (c.text or "").split(",") if part.strip()]
    return found


def _split_address(address: str) -> tuple[str, str]:
    a = address.strip().lower()
    if a.startswith("["):
        host, _sep, rest = a[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if a.count(":") == 1:
        host, port = a.split(":")
        return host, port
    return a, ""


def _covers(entry: str, wanted: str) -> bool:
    """Does a listed entry already name the wanted member?"""
    eh, ep = _split_address(entry)
    wh, wp = _split_address(wanted)
    if wp and wp != ep:
        return False
    if eh == wh:
        return True
    m = re.fullmatch(r"(\d+\.\d+\.\d+)\.(\*|(\d+)-(\d+))", eh)
    w = re.fullmatch(r"(\d+\.\d+\.\d+)\.(\d+)", wh)
    if not (m and w and m.group(1) == w.group(1)):
        return False
    return m.group(2) == "*" or int(m.group(3)) <= int(w.group(2)) <= int(m.group(4))


def _find_path(el: etree._Element, *path: str) -> etree._Element | None:
    for local in path:
        el = el.find(_q(local))
        if el is None:
            return None
    return el


# ---------------------------------------------------------------- the document

@dataclass
class _Span:
    """Where an element sits in the text."""
    qname: str            # as written, with its prefix
    start: int            # offset of "<"
    start_end: int        # offset after the start tag's ">"
    close: int            # offset of "</"; == start_end for <empty/>
    end: int              # offset after the end tag
    empty: bool
    attrs: str


class _Doc:
    """The text, its lxml tree, each element's span, and the edits waiting to be spliced."""

    def __init__(self, text: str, source: str):
        self.text, self.source = text, source
        self.root = _parse(text, source)
        if any(True for _ in self.root.iter(etree.Entity)):
            # Hazelcast would expand them; we could miss or break what they hold
            raise HazelcastError(_("the file uses entities declared in a DTD; edit it by hand"),
                                 source=source, line=next(self.root.iter(etree.Entity)).sourceline)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.span = self._scan()
        self.edits: list[tuple[int, int, str]] = []
        crlf = text.count("\r\n")
        self.eol = "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"
        self.unit = self._indent_unit()
        attrs = "".join(s.attrs for s in self.span.values())
        self.quote = "'" if attrs.count("='") > attrs.count('="') else '"'

    collect: list[HazelcastError] | None = None   # review(): gather findings instead of raising

    def fail(self, reason: str, el: etree._Element | None = None) -> None:
        error = HazelcastError(reason, source=self.source, line=self.line_of(el))
        if self.collect is None:
            raise error
        self.collect.append(error)

    def line_of(self, el: etree._Element | None) -> int | None:
        """The line where el's start tag begins (lxml gives where it ends)."""
        if el is None or not hasattr(self, "span"):
            return None if el is None else el.sourceline
        return bisect.bisect_right(self.line_starts, self.span[el].start)

    def _scan(self) -> dict[etree._Element, _Span]:
        spans: list[_Span] = []
        stack: list[_Span] = []
        for m in _TOKEN.finditer(self.text):
            if m.group("start"):
                s = _Span(m.group("start"), m.start(), m.end(), m.end(), m.end(),
                          bool(m.group("empty")), m.group("attrs"))
                spans.append(s)
                if not s.empty:
                    stack.append(s)
            elif m.group("end"):
                if not stack or stack[-1].qname != m.group("end"):
                    self.fail(_("cannot locate </{name}> in the text").format(name=m.group("end")))
                s = stack.pop()
                s.close, s.end = m.start(), m.end()
        elements = list(self.root.iter(tag=etree.Element))
        if len(elements) != len(spans) or any(
                etree.QName(e).localname != s.qname.rpartition(":")[2]
                for e, s in zip(elements, spans)):
            self.fail(_("the text cannot be matched to its elements (entities or DTD?); "
                        "edit it by hand"))
        return dict(zip(elements, spans))

    # -- lines and indentation

    def line_start(self, pos: int) -> int:
        return self.line_starts[bisect.bisect_right(self.line_starts, pos) - 1]

    def line_end(self, pos: int) -> tuple[int, str]:
        """Offset where the line holding pos ends (before its EOL), and that EOL."""
        i = self.text.find("\n", pos)
        if i < 0:
            return len(self.text), ""
        return (i - 1, "\r\n") if i and self.text[i - 1] == "\r" else (i, "\n")

    def indent_of(self, el: etree._Element) -> str | None:
        """The whitespace before el when el starts its line, else None."""
        start = self.span[el].start
        lead = self.text[self.line_start(start):start]
        return lead if re.fullmatch(r"[ \t]*", lead) else None

    def _indent_unit(self) -> str:
        seen: Counter[str] = Counter()
        for el in self.span:
            parent = el.getparent()
            if parent is None:
                continue
            ci, pi = self.indent_of(el), self.indent_of(parent)
            if ci is not None and pi is not None and len(ci) > len(pi) and ci.startswith(pi):
                seen[ci[len(pi):]] += 1
        return seen.most_common(1)[0][0] if seen else "    "

    def child_indent(self, parent: etree._Element) -> str:
        for child in parent.iterchildren(tag=etree.Element):
            ci = self.indent_of(child)
            if ci is not None:
                return ci
        return self.outer_indent(parent) + self.unit

    def outer_indent(self, el: etree._Element) -> str:
        start = self.span[el].start
        ls = self.line_start(start)
        return re.match(r"[ \t]*", self.text[ls:start]).group(0)

    def inner_unit(self, el: etree._Element | None) -> str:
        """The indent step used inside el (for a new element shaped like it)."""
        if el is not None:
            oi = self.indent_of(el)
            ci = next((i for i in map(self.indent_of, el.iterchildren(tag=etree.Element))
                       if i is not None), None)
            if oi is not None and ci is not None and len(ci) > len(oi) and ci.startswith(oi):
                return ci[len(oi):]
        return self.unit

    def blank_line_before(self, el: etree._Element) -> bool:
        ls = self.line_start(self.span[el].start)
        return ls > 0 and self.text[self.line_start(ls - 1):ls].strip() == ""

    # -- splicing

    def insert_after(self, anchor: etree._Element, lines: list[tuple[int, str]], *,
                     unit: str, separate: bool = False) -> None:
        """Put lines (level, text) right after anchor's end, indented like anchor."""
        sp = self.span[anchor]
        base = self.indent_of(anchor)
        if base is None:
            base = self.child_indent(anchor.getparent())
        le, eol = self.line_end(sp.end)
        rendered = [base + unit * level + t for level, t in lines]
        if eol and _TRAILING_COMMENTS.fullmatch(self.text, sp.end, le):
            nxt = le + len(eol)
            separate = separate and self.text[nxt:self.line_end(nxt)[0]].strip() == ""
            block = "".join(r + eol for r in ([""] if separate else []) + rendered)
            self.edits.append((nxt, nxt, block))
        else:   # something else follows on that line (or it is the last line)
            eol = eol or self.eol
            self.edits.append((sp.end, sp.end, "".join(eol + r for r in rendered)))

    def insert_into(self, parent: etree._Element, lines: list[tuple[int, str]], *,
                    unit: str, separate: bool = False) -> None:
        """Put lines (level, text) as parent's last children."""
        sp = self.span[parent]
        outer = self.outer_indent(parent)
        if sp.empty:   # <x .../>  ->  <x ...> lines </x>
            eol = self.line_end(sp.start)[1] or self.eol
            base = outer + self.unit
            body = "".join(eol + base + unit * level + t for level, t in lines)
            cut = sp.start_end - len(re.search(r"\s*/>\Z", self.text[:sp.start_end]).group(0))
            self.edits.append((cut, sp.start_end, ">%s%s%s</%s>" % (body, eol, outer, sp.qname)))
            return
        base = self.child_indent(parent)
        ls = self.line_start(sp.close)
        rendered = [base + unit * level + t for level, t in lines]
        if ls > sp.start_end and self.text[ls:sp.close].strip() == "":
            eol = self.line_end(ls - 1)[1] or self.eol
            last = [c for c in parent.iterchildren(tag=etree.Element)]
            if separate and last and self.blank_line_before(last[-1]):
                rendered.insert(0, "")
            self.edits.append((ls, ls, "".join(r + eol for r in rendered)))
        else:   # the end tag shares its line with other content
            eol = self.line_end(sp.close)[1] or self.eol
            self.edits.append((sp.close, sp.close,
                               "".join(eol + r for r in rendered) + eol + outer))

    def apply(self) -> str:
        out, pos = [], 0
        for start, end, new in sorted(self.edits, key=lambda e: e[0]):   # stable: keeps order
            if start < pos:
                raise AssertionError("overlapping edits")
            out += [self.text[pos:start], new]
            pos = end
        out.append(self.text[pos:])
        return "".join(out)

    # -- the three things the procedure wants

    def prefix(self, el: etree._Element) -> str:
        return el.prefix + ":" if el.prefix else ""

    def add_members(self, wanted: list[str]) -> list[str]:
        join = _find_path(self.root, "network", "join")
        tcp = None if join is None else join.find(_q("tcp-ip"))
        if tcp is None:
            where = join if join is not None else _find_path(self.root, "network")
            imports = [i.get("resource") for i in self.root.iterchildren(_q("import"))]
            self.fail(_("no <network><join><tcp-ip> here: the cluster finds its members by "
                        "multicast or discovery, and the chat server cannot join a multicast "
                        "cluster. Configure a tcp-ip join listing the cluster's members on every "
                        "node first; the wizard will not guess them")
                      + (_(" (this file imports {files}; is the join there?)").format(
                          files=", ".join(imports)) if imports else ""),
                      where if where is not None else self.root)
            return []
        enabled = tcp.get("enabled")
        if (enabled or "").strip().lower() != "true":
            self.fail(_('<tcp-ip {how}> is not enabled: the cluster joins by multicast or discovery '
                        'and the chat server cannot join a multicast cluster. Switch every node '
                        'to a tcp-ip join (enabled="true") listing the cluster\'s members first; '
                        'the wizard will not guess them').format(
                          how='enabled="%s"' % enabled if enabled is not None
                          else _("without enabled= (default false)")), tcp)
            return []
        listed = _listed_members(tcp)
        missing = [w for w in wanted if not any(_covers(a, w) for _, a in listed)]
        if not missing:
            return []
        anchors = [el for el, _ in listed]
        anchor = max(anchors, key=lambda e: self.span[e].start) if anchors else None
        p = self.prefix(anchor if anchor is not None else tcp)
        lines = [(0, "<%smember>%s</%smember>" % (p, a, p)) for a in missing]
        if anchor is not None:
            self.insert_after(anchor, lines, unit=self.unit)
        else:
            self.insert_into(tcp, lines, unit=self.unit)
        return ["member %s" % a for a in missing]

    def element_lines(self, kind: str, name: str, settings) -> list[tuple[int, str]]:
        p = self.prefix(self.root)
        lines = [(0, "<%s%s name=%s%s%s>" % (p, kind, self.quote, name, self.quote))]
        lines += [(1, self.setting(p, child, value)) for child, value, _ in settings]
        return lines + [(0, "</%s%s>" % (p, kind))]

    def setting(self, p: str, child: str, value: str) -> str:
        attr = (" policy=%s%s%s" % (self.quote, _MAX_SIZE_POLICY, self.quote)
                if child == "max-size" else "")
        return "<%s%s%s>%s</%s%s>" % (p, child, attr, value, p, child)

    def add_top_level(self, kind: str, name: str, settings) -> None:
        same = list(self.root.iterchildren(_q(kind)))
        if same:
            anchor = same[-1]
            self.insert_after(anchor, self.element_lines(kind, name, settings),
                              unit=self.inner_unit(anchor), separate=True)
        else:   # indent its body like the first top-level element that has a body
            base = self.child_indent(self.root)
            units = [self.inner_unit(c) for c in self.root.iterchildren(tag=etree.Element)
                     if self.indent_of(c) == base and c.find("*") is not None]
            self.insert_into(self.root, self.element_lines(kind, name, settings),
                             unit=units[0] if units else self.unit, separate=True)

    def compare(self, el, kind: str, name: str, settings, *, fix: bool) -> list[Conflict]:
        """Conflicts of one existing entry; with fix, edits that make it as wanted."""
        path = "/hazelcast/%s[@name='%s']" % (kind, name)
        conflicts, missing = [], []
        p = self.prefix(el)
        for child, expected, default in settings:
            c = el.find(_q(child))
            found = None if c is None else (c.text or "").strip()
            if not _same(child, found if c is not None else default, expected):
                conflicts.append(Conflict("%s/%s" % (path, child), child, expected,
                                          found if c is not None
                                          else _("(absent, default {value})").format(value=default),
                                          self.line_of(c if c is not None else el)))
                if fix and c is None:
                    missing.append((0, self.setting(p, child, expected)))
                elif fix:
                    self.replace_text(c, expected)
            policy = None if c is None or child != "max-size" else c.get("policy")
            if policy is not None and policy.strip().upper() != _MAX_SIZE_POLICY:
                conflicts.append(Conflict("%s/%s/@policy" % (path, child), child + "/@policy",
                                          _MAX_SIZE_POLICY, policy, self.line_of(c)))
                if fix:
                    self.replace_policy(c)
        if missing:
            self.insert_into(el, missing, unit=self.unit)
        return conflicts

    def replace_text(self, el: etree._Element, value: str) -> None:
        sp = self.span[el]
        if sp.empty:
            self.edits.append((sp.start, sp.end, "<%s%s>%s</%s>" % (
                sp.qname, sp.attrs, value, sp.qname)))
        else:
            self.edits.append((sp.start_end, sp.close, value))

    def replace_policy(self, el: etree._Element) -> None:
        sp = self.span[el]
        m = re.search(r"""(?<![\w.:-])policy\s*=\s*(["'])(.*?)\1""", sp.attrs, re.S)
        at = sp.start + 1 + len(sp.qname) + m.start(2)
        self.edits.append((at, at + len(m.group(2)), _MAX_SIZE_POLICY))


def _same(child: str, found: str | None, expected: str) -> bool:
    if found is None:
        return False
    if child in _NUMERIC:
        try:
            return int(found) == int(expected)
        except ValueError:
            return False
    return found == expected

