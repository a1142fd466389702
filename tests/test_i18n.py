"""The three catalogs are complete and compiled; the language is chosen and switched as documented."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from wizard import i18n

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["i18n_tool"] = mod
    spec.loader.exec_module(mod)
    return mod


TOOL = _tool()


@pytest.mark.parametrize("area", list(TOOL.AREAS))
def test_every_message_has_a_translation_in_every_language(area):
    problems = TOOL.problems(area)
    assert not problems, f"{len(problems)} catalog problem(s):\n" + "\n".join(problems[:60])


def test_areas_cover_the_sources_once():
    seen: dict[Path, str] = {}
    for area in TOOL.AREAS:
        for path in TOOL.files_of(area):
            assert path not in seen, f"{path} is in {seen[path]} and {area}"
            seen[path] = area
    assert ROOT / "wizard" / "cli.py" in seen and ROOT / "screens" / "app.py" in seen


def test_the_tool_reports_a_message_without_translation(tmp_path, monkeypatch):
    src = tmp_path / "screens" / "x.py"
    src.parent.mkdir(parents=True)
    src.write_text("from wizard.i18n import _\n_('Only in English')\n")
    monkeypatch.setattr(TOOL, "ROOT", tmp_path)
    monkeypatch.setattr(TOOL, "LOCALE", tmp_path / "wizard" / "locale")
    TOOL.update("tui")
    found = TOOL.problems("tui")
    assert any("de" in p and "Only in English" in p for p in found)
    assert any("fr" in p and "Only in English" in p for p in found)
    assert not any("/en/" in p for p in found)          # English is the msgid itself


@pytest.mark.parametrize("env,want", [
    ({"LANG": "de_DE.UTF-8"}, "de"), ({"LC_ALL": "fr_FR.UTF-8", "LANG": "de_DE"}, "fr"),
    ({"LANGUAGE": "xx:fr_CH", "LANG": "de_DE"}, "fr"), ({"LANG": "C.UTF-8"}, "en"), ({}, "en"),
    ({"LANG": "es_ES.UTF-8"}, "en"),
])
def test_language_from_the_locale(env, want):
    assert i18n.from_environment(env) == want


def test_flag_beats_answers_beats_locale():
    env = {"LANG": "fr_FR.UTF-8"}
    assert i18n.choose("de", "en", env) == "de"
    assert i18n.choose(None, "de", env) == "de"
    assert i18n.choose(None, None, env) == "fr"


def test_switching_changes_the_next_lookup():
    before = i18n.current_language()
    try:
        i18n.set_language("de_DE.UTF-8")
        assert i18n.current_language() == "de"
        with pytest.raises(ValueError, match="unbekannte Sprache 'xx'"):
            i18n.set_language("xx")
        assert i18n.current_language() == "de"
        i18n.set_language("fr")
        with pytest.raises(ValueError, match="langue inconnue 'xx'"):
            i18n.set_language("xx")
    finally:
        i18n.set_language(before)


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_a_message_in_two_areas_reads_the_same_in_both(lang):
    """The areas' catalogs are asked in turn (tui first), so a msgid in two of them is shown
    with the first one's translation wherever it is used: two different translations would
    make a steps text (the CLI preview) read the TUI's wording. Keep them equal."""
    seen: dict[tuple, dict[str, str]] = {}
    for area in TOOL.AREAS:
        for m in TOOL.load(TOOL.po_path(area, lang), lang):
            if m.id:
                seen.setdefault((m.id, m.context), {})[area] = str(m.string)
    differ = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert not differ, "\n".join(f"{k[0]!r}: {v}" for k, v in differ.items())
