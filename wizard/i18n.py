"""The languages the wizard speaks: English, German, French (gettext catalogs).

Everything the engineer reads goes through `_()` (or `ngettext`) from here:

    from .i18n import _, N_
    raise WizardError(_("{host}: no such file {path}").format(host=h, path=p))

Rules that keep the catalogs complete and the switch instant:
- The msgid is the English text; placeholders are named (`{host}`), never positional,
  so a translation may reorder them. Format *after* translating.
- Text built at import time (module constants, class attributes) is marked with `N_()`
  and translated where it is shown with `_()`: the language can change at any time
  (palette), so nothing may keep a translation captured at import.
- Never translate what a machine parses (commands, file contents, log keys, the answers
  file's keys); translate only what a person reads.

The catalogs live in wizard/locale/<lang>/LC_MESSAGES/<domain>.po (source) and .mo
(compiled by `python scripts/i18n.py update`); tests/test_i18n.py fails when a message is missing in
any of the three, or a .mo is older than its .po.
"""
from __future__ import annotations

import gettext as _gettext
import os
import threading
from pathlib import Path

# One catalog per area, so the step texts, the core's messages and the TUI's texts can be
# translated (and reviewed) apart; a message is looked up in each, first hit wins.
# The paths each area extracts from are in scripts/i18n.py (AREAS).
DOMAINS = ("chatwizard-tui", "chatwizard-steps", "chatwizard-core")
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch", "fr": "Français"}
DEFAULT = "en"

_lock = threading.Lock()
_current = DEFAULT
_flag: str | None = None        # --lang of this run: beats the answers file's ui.language
_catalogs: dict[str, _gettext.NullTranslations] = {}


def _catalog(lang: str) -> _gettext.NullTranslations:
    cat = _catalogs.get(lang)
    if cat is None:
        with _lock:
            cat = _catalogs.get(lang)
            if cat is None:
                cat = _gettext.NullTranslations()
                # English is the msgid itself: its catalogs (kept for the completeness check)
                # need not be read at every start
                for domain in reversed(DOMAINS) if lang != DEFAULT else ():
                    t = _gettext.translation(domain, LOCALE_DIR, languages=[lang], fallback=True)
                    if type(t) is not _gettext.NullTranslations:
                        t.add_fallback(cat)
                        cat = t
                _catalogs[lang] = cat
    return cat


def normalize(value: str | None) -> str | None:
    """'de_DE.UTF-8', 'de-AT', 'DE', 'fr' → 'de' / 'fr'; None when not one we speak."""
    if not value:
        return None
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


def from_environment(environ: dict[str, str] | None = None) -> str:
    """The language of the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if not value:
            continue
        for part in value.split(":"):          # LANGUAGE may list several
            lang = normalize(part)
            if lang:
                return lang
        if var != "LANGUAGE":                  # the first set LC_* / LANG decides
            break
    return DEFAULT


def choose(explicit: str | None = None, answers_language: str | None = None,
           environ: dict[str, str] | None = None) -> str:
    """--lang beats the answers file's ui.language beats the locale."""
    return normalize(explicit) or normalize(answers_language) or from_environment(environ)


def set_language(lang: str) -> str:
    """Switch every later `_()` call to LANG ('de', 'de_DE.UTF-8' …); returns the code."""
    global _current
    code = normalize(lang)
    if code is None:
        raise ValueError(_("unknown language {lang}: choose one of {choices}").format(
            lang=repr(lang), choices=", ".join(LANGUAGES)))
    _catalog(code)
    _current = code
    return code


def current_language() -> str:
    return _current


def start(flag: str | None = None, environ: dict[str, str] | None = None) -> str:
    """At program start: --lang (kept for the whole run, see follow_answers) else the locale."""
    global _flag
    _flag = normalize(flag)
    return set_language(choose(_flag, None, environ))


def follow_answers(answers_language: str | None) -> str:
    """Answers were just loaded: switch to their ui.language unless --lang was given.
    Answers without one leave the language as it is (the locale, or what was chosen)."""
    if _flag is None and normalize(answers_language):
        return set_language(answers_language)
    return _current


def forget_flag() -> None:
    """The run is over: a later start (tests run several in one process) begins afresh."""
    global _flag
    _flag = None


def _(message: str) -> str:
    return _catalog(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(_current).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return _catalog(_current).pgettext(context, message)


def N_(message: str) -> str:
    """Mark for extraction only; translate with `_()` where it is shown."""
    return message


gettext = _

__all__ = ["_", "N_", "ngettext", "pgettext", "gettext", "set_language", "current_language",
           "start", "follow_answers", "forget_flag", "choose", "normalize", "from_environment",
           "LANGUAGES", "DEFAULT", "DOMAINS",
           "LOCALE_DIR"]
