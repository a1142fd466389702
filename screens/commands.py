"""The command palette's commands, in the wizard's order and matched word by word.

Textual's own provider lists commands alphabetically ("Go to: 1. Java 8", "Go to: 10.
WhatsApp", "Go to: 2. …") and scores a query by fuzzy letters, so "save as" scored
"Save answers" (s-a-v-e, a…s in "answers") as high as the command meant, and Enter ran
the first. Here the pages keep the procedure's order, and a query is matched word by word
first: a whole word beats the start of one, a skipped word costs; fuzzy letters only when
the words do not match.
"""
from __future__ import annotations

import re
from functools import lru_cache

from textual.command import DiscoveryHit, Hit, Hits
from textual.system_commands import SystemCommandsProvider

WHOLE, START, SKIP, LEFT_OVER = 3.0, 2.0, 0.5, 0.1
WORDS = 10.0        # any word match ranks above any fuzzy one (those score below 1)


def words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.casefold()))


@lru_cache(maxsize=4096)
def _align(query: tuple[str, ...], title: tuple[str, ...]) -> float | None:
    """The best score of the query's words, in order, against the title's words (None: no match)."""
    if not query:
        return -LEFT_OVER * len(title)
    best = None
    for k, word in enumerate(title):
        if word == query[0]:
            gain = WHOLE
        elif word.startswith(query[0]):
            gain = START
        else:
            continue
        rest = _align(query[1:], title[k + 1:])
        if rest is not None:
            total = gain - SKIP * k + rest
            best = total if best is None else max(best, total)
    return best


def score(query: str, title: str, fuzzy=None) -> float:
    """How well `query` names the command `title` (0: not at all)."""
    q = words(query)
    if not q:
        return 1.0
    aligned = _align(q, words(title))
    if aligned is not None:
        return WORDS + aligned
    found = fuzzy.match(title) if fuzzy is not None else 0
    return found / (found + 100.0) if found > 0 else 0.0


class WizardCommands(SystemCommandsProvider):
    """The app's commands (`WizardApp.get_system_commands`) as the palette offers them."""

    async def discover(self) -> Hits:
        for name, help_text, callback, discover in self.app.get_system_commands(self.screen):
            if discover:
                yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback, *_ in self.app.get_system_commands(self.screen):
            found = score(query, name, matcher)
            if found > 0:
                yield Hit(found, matcher.highlight(name), callback, help=help_text)
