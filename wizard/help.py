"""Each page's help (F1 in the TUI), as Markdown files in wizard/help/<lang>/<page>.md.

A page's help has a title (`# …`) and three sections, in this order and with the headings
of HEADINGS in its language: what the section does, why, and where the vendor's page is
wrong or silent there and what the wizard does instead. Pure: no Textual, no screens.

    from wizard import help
    help.markdown("firewall")            # in the current language (wizard.i18n)
    help.markdown("firewall", "de")      # German; English with a visible note when missing
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import i18n
from .i18n import _

HELP_DIR = Path(__file__).with_name("help")

# the three section headings every page's help has, per language (tests/test_help.py)
HEADINGS: dict[str, tuple[str, str, str]] = {
    "en": ("What it does", "Why", "Where the vendor page is wrong or silent"),
    "de": ("Was dieser Schritt tut", "Warum", "Wo die Herstellerseite irrt oder schweigt"),
    "fr": ("Ce que fait cette étape", "Pourquoi", "Où la page du fabricant se trompe ou se tait"),
}

_PAGE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class PageHelp:
    page: str
    language: str           # the language the text is in
    text: str               # Markdown, as in the file
    fallback: bool          # another language was asked for; this is the English text


def path_of(page: str, lang: str) -> Path:
    if not _PAGE.fullmatch(page) or lang not in i18n.LANGUAGES:
        raise ValueError(f"no help for page {page!r} in {lang!r}")
    return HELP_DIR / lang / f"{page}.md"


def load(page: str, lang: str | None = None) -> PageHelp | None:
    """The help of `page` in `lang` (default: the current language), else in English
    (fallback=True); None when there is none at all."""
    lang = lang or i18n.current_language()
    for candidate in dict.fromkeys((lang, i18n.DEFAULT)):
        path = path_of(page, candidate)
        if path.is_file():
            return PageHelp(page, candidate, path.read_text(encoding="utf-8"), candidate != lang)
    return None


def markdown(page: str, lang: str | None = None) -> str:
    """What the help screen shows: the page's help, with a note on top when it had to fall
    back to English (or when the page has no help at all)."""
    lang = lang or i18n.current_language()
    found = load(page, lang)
    if found is None:
        return "> " + _("This page has no help yet.") + "\n"
    if not found.fallback:
        return found.text
    note = _("This page's help is not available in {language} yet: shown in English.").format(
        language=i18n.LANGUAGES.get(lang, lang))
    return f"> {note}\n\n{found.text}"


def pages(lang: str = i18n.DEFAULT) -> list[str]:
    """The pages that have help in `lang`."""
    folder = HELP_DIR / lang
    return sorted(p.stem for p in folder.glob("*.md")) if folder.is_dir() else []


def title(text: str) -> str:
    """The `# ` title of a help text ('' when it has none)."""
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def headings(text: str) -> list[str]:
    """The `## ` section headings of a help text, in order."""
    return [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]
