"""Each page's help (wizard/help/<lang>/<page>.md, wizard.help): complete in the three
languages, the same structure everywhere, commands never translated, a visible English
fallback, and no Textual in the loader."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from screens.pages import PAGES
from wizard import help, i18n

ROOT = Path(__file__).resolve().parent.parent
LANGS = list(i18n.LANGUAGES)


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_has_help_and_no_other_file_exists(lang):
    assert sorted(help.pages(lang)) == sorted(PAGES)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
def test_each_help_has_a_title_and_the_three_sections(page, lang):
    found = help.load(page, lang)
    assert found is not None and not found.fallback and found.language == lang
    assert help.title(found.text), f"{page} ({lang}): no '# title'"
    assert tuple(help.headings(found.text)) == help.HEADINGS[lang]
    bodies = re.split(r"^## .*$", found.text, flags=re.M)[1:]
    assert len(bodies) == 3 and all(len(b.split()) >= 8 for b in bodies), f"{page} ({lang}): a section is empty"


@pytest.mark.parametrize("lang", ["de", "fr"])
@pytest.mark.parametrize("page", PAGES)
def test_translations_are_translated_but_keep_every_command_as_it_is(page, lang):
    en, other = help.load(page, "en").text, help.load(page, lang).text
    assert help.headings(other) != help.headings(en)
    # what is in backticks is typed or read by a machine: never translated, never dropped
    spans = re.compile(r"`([^`]+)`")
    assert sorted(set(spans.findall(other))) == sorted(set(spans.findall(en)))


def test_the_vendor_page_section_names_what_it_gets_wrong():
    # spot checks against docs/procedure.md: the errata each page must carry
    wrong = {
        "portal_settings": ["http://<load-balancer>:3000/gui/"],
        "update_script": ["jtel:jtelcp … -r"],
        "clientmessenger": ["/home/jtel/ClientMessenger/ClientMessenger"],
        "firewall": ["-I INPUT 4", "iptables -S INPUT"],
        "daemon": ["Connector/J", "0700 root:root"],
        "load_balancer": ["haproxy -c -f"],
        "hazelcast": ["tcp-ip"],
        "whatsapp": ["/delivery"],
    }
    for lang in LANGS:
        for page, needles in wrong.items():
            vendor = re.split(r"^## .*$", help.load(page, lang).text, flags=re.M)[3]
            for needle in needles:
                assert needle in vendor, f"{page} ({lang}): {needle!r} not in the vendor-page section"


def test_current_language_is_the_default():
    i18n.set_language("de")
    assert help.markdown("firewall").startswith("# 6. Firewall")
    assert "## Wo die Herstellerseite irrt oder schweigt" in help.markdown("firewall")
    i18n.set_language("fr")
    assert "## Où la page du fabricant se trompe ou se tait" in help.markdown("firewall")


def test_a_missing_translation_falls_back_to_english_and_says_so(tmp_path, monkeypatch):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "extra.md").write_text("# Extra\n\n## What it does\nEnglish only.\n")
    monkeypatch.setattr(help, "HELP_DIR", tmp_path)
    found = help.load("extra", "de")
    assert found.fallback and found.language == "en"
    i18n.set_language("de")
    shown = help.markdown("extra")
    assert shown.startswith("> Die Hilfe zu dieser Seite gibt es noch nicht in der Sprache Deutsch")
    assert "English only." in shown
    assert help.markdown("extra", "en") == "# Extra\n\n## What it does\nEnglish only.\n"
    assert help.load("nothing", "de") is None
    assert "noch keine Hilfe" in help.markdown("nothing")


@pytest.mark.parametrize("page,lang", [("../etc/passwd", "en"), ("firewall", "xx"), ("Firewall", "en")])
def test_a_bad_page_or_language_is_refused(page, lang):
    with pytest.raises(ValueError):
        help.path_of(page, lang)


def test_the_loader_does_not_import_textual():
    code = "import sys, wizard.help as h; h.markdown('hosts', 'de'); print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
