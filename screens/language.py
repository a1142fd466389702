"""Switching the language at any time: the palette's language commands, and showing the
screen again in the new language without losing what was typed or the current page.

The commands are found by what a person of any of the three languages would type:
"lang", "language", "Sprache", "langue", the language's own name ("Deutsch", "Français",
"English") or its name in another language ("German", "französisch", "anglais").
"""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from wizard.i18n import LANGUAGES, _, current_language

# what each language is called, in the three languages (and without accents), so that
# anyone finds it; the command shows the language's own name
NAMES = {
    "en": "English Englisch Anglais",
    "de": "Deutsch German Allemand",
    "fr": "Français Francais French Französisch Franzoesisch",
}
WORDS = "Language Sprache Langue"


def command_title(code: str) -> str:
    return _("Language: {name}").format(name=LANGUAGES[code])


def command_help(code: str) -> str:
    if code == current_language():
        return _("The language in use")
    return _("Show every text in {name} from now on; what you typed stays").format(name=LANGUAGES[code])


class LanguageCommands(Provider):
    """The palette's commands that switch the language (App.COMMANDS)."""

    async def discover(self) -> Hits:
        for code in LANGUAGES:
            yield DiscoveryHit(command_title(code), partial(self.app.switch_language, code),
                               help=command_help(code))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for code in LANGUAGES:
            title = command_title(code)
            score = max(matcher.match(title), matcher.match(f"{WORDS} {NAMES[code]}"))
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.switch_language, code),
                          text=title, help=command_help(code))


async def relabel(app) -> None:
    """Show every page on the stack again in the current language: each recomposes with
    what was typed (WizardScreen.language_changed); the header follows."""
    from .base import WizardScreen
    app.sub_title = app.subtitle()
    for screen in list(app.screen_stack):
        if isinstance(screen, WizardScreen):
            await screen.language_changed()
