"""YAML text → data, with the line of every key and the YAML-level problems (duplicate
keys, odd keys, bad tags, recursive aliases)."""
from __future__ import annotations

from typing import Any

import yaml

from ..errors import AnswersError
from ..i18n import _
from .schema import Path_, _fmt, _show


class _Loader(yaml.SafeLoader):
    """SafeLoader whose node tree we convert ourselves, recording lines and duplicate keys."""


def _parse(text: str, source: str) -> tuple[Any, dict[Path_, int], list[tuple[int, str]]]:
    """(data, {path: line}, problems). Problems here are YAML-level (duplicates, odd keys)."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as e:          # a raw control character (ESC, NUL, ...)
        line = text[:e.position].count("\n") + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise AnswersError(_fmt(source, line, (), _(
            "YAML error: the control character {char} is not allowed in YAML text (no answers "
            "value may hold one)").format(char=f"U+{e.character:04X}"), column)) from None
    lines: dict[Path_, int] = {}
    problems: list[tuple[int, str]] = []
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            what = e.problem or _("cannot parse")                     # never the snippet
            if e.context:
                what += f" ({e.context})"
            if "\t" in what or "'\\t'" in what:
                what += _("; YAML indents with spaces, not tabs")
            raise AnswersError(_fmt(source, mark and mark.line + 1, (),
                                    _("YAML syntax error: {problem}").format(problem=what),
                                    mark and mark.column + 1)) from None
        except yaml.YAMLError as e:
            raise AnswersError(_fmt(source, None, (), _("YAML error: {problem}").format(problem=e))) from None
        if root is None:
            raise AnswersError(_fmt(source, 1, (), _(
                "the file is empty; it must start with `version: 1` (see docs/answers-format.md)")))

        def msg(node, path, text):
            problems.append((node.start_mark.line + 1, _fmt(source, node.start_mark.line + 1, path, text)))

        def convert(node, path: Path_, stack: frozenset):
            if id(node) in stack:
                msg(node, path, _("recursive YAML alias"))
                return None
            stack = stack | {id(node)}
            if isinstance(node, yaml.MappingNode):
                explicit, merged = [], []
                for k, v in node.value:
                    if k.tag == "tag:yaml.org,2002:merge":
                        for m in (v.value if isinstance(v, yaml.SequenceNode) else [v]):
                            if isinstance(m, yaml.MappingNode):
                                merged.append(convert(m, path, stack))   # its lines: where it is written
                            else:
                                msg(m, path, _("a `<<` merge needs a mapping"))
                    else:
                        explicit.append((k, v))
                out: dict = {}
                first: dict[str, int] = {}
                for k, v in explicit:
                    key = convert_key(k, path)
                    if key is None:
                        continue
                    line = k.start_mark.line + 1
                    if key in first:
                        msg(k, path + (key,), _("duplicate key (first at line {line}); YAML would "
                                                "silently keep only the last one").format(line=first[key]))
                        continue
                    first[key] = line
                    lines[path + (key,)] = line
                    out[key] = convert(v, path + (key,), stack)
                for m in merged:                    # explicit keys win; earlier merges win
                    for key, value in m.items():
                        out.setdefault(key, value)
                return out
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    lines[path + (i,)] = item.start_mark.line + 1
                    items.append(convert(item, path + (i,), stack))
                return items
            try:
                return loader.construct_object(node, deep=True)
            except yaml.YAMLError as e:
                msg(node, path, _("cannot read this value ({reason})").format(
                    reason=getattr(e, "problem", None) or _("bad tag")))
                return None

        def convert_key(k, path):
            if not isinstance(k, yaml.ScalarNode):
                msg(k, path, _("a key must be a plain name, not a list or mapping"))
                return None
            try:
                key = loader.construct_object(k)
            except yaml.YAMLError:
                msg(k, path, _("a key must be a plain name"))
                return None
            if isinstance(key, str) and key:
                return key
            hint = " " + _("(YAML reads yes/no/on/off as true/false: quote it)") if isinstance(key, bool) else ""
            msg(k, path, _("key {key} is not a name").format(key=_show(key)) + hint)
            return None

        lines[()] = root.start_mark.line + 1
        data = convert(root, (), frozenset())
    finally:
        loader.dispose()
    return data, lines, problems

