"""The session's language (wizard.i18n): followed from the answers' ui.language, switched by
the TUI's palette through Session.set_language, which keeps it in the answers."""
from __future__ import annotations

from . import i18n


class SessionLanguage:
    """Mixed into wizard.session.Session (uses its lock, answers and edited)."""

    edited = False                  # the answers were changed here (set_language) since use()

    @property
    def language(self) -> str:
        """The language the wizard speaks now: en, de or fr."""
        return i18n.current_language()

    def set_language(self, code: str) -> str:
        """Speak `code` (en/de/fr) from now on, and keep it in the answers' ui.language
        (the answers are then edited: saving writes it). ValueError for another code."""
        code = i18n.set_language(code)
        with self.lock:
            ans = self.answers
            if ans is not None and ans.data.get("ui", {}).get("language") != code:
                self.answers = ans.with_changes(ui={**ans.section("ui"), "language": code})
                self.edited = True
        return code

    def _follow_language(self, answers) -> None:
        """New answers (not edited here yet): their ui.language, unless --lang was given."""
        self.edited = False
        i18n.follow_answers(answers.data.get("ui", {}).get("language"))
